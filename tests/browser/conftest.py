"""A live lotline with the demo company, and Debian's Chromium driven by Playwright.

Playwright cannot download its own browser here (TRAPS.md): it drives /usr/bin/chromium.
Where no Chromium exists the tests skip with a message — except in CI (CI=true), where
`.ci/run` installs it and a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from lotline import demo
from lotline.app import create_app
from lotline.audit.sealer import seal_pending
from lotline.uow import Actor, Database
from tests.conftest import DatabaseProvider, make_settings

CHROMIUM = os.environ.get("LOTLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(os.environ.get("LOTLINE_TEST_ARTIFACTS", "artifacts")) / "screenshots"


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    message = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(database_provider: DatabaseProvider) -> Iterator[str]:
    """lotline on a free loopback port, on its own database holding the demo company."""
    url = database_provider.new_database()
    settings = make_settings(url)
    database = Database(settings)
    with database.transaction(actor=Actor(kind="system", user_id=None, name="demo loader")) as uow:
        demo.load(uow)
    seal_pending(database)
    app = create_app(settings, db=database, run_sealer=False)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    database.dispose()
    database_provider.drop_database(url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot into the test artifacts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
