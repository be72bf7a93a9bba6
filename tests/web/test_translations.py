"""Every page a user can reach renders in Chinese with nothing left untranslated."""

from __future__ import annotations

import re
from collections import deque

import pytest
from fastapi.testclient import TestClient

from lotline import i18n
from tests.app_fixtures import People
from tests.web.webkit import sign_in

SKIP = ("/logout", "/lang/", "/docs", "/static/", "/openapi", "/api/")
LIMIT = 200


def crawl(client: TestClient, start: str = "/") -> dict[str, int]:
    """GET every same-site page reachable by links from ``start``; path → status."""
    seen: dict[str, int] = {}
    queue = deque([start])
    while queue and len(seen) < LIMIT:
        path = queue.popleft()
        if path in seen:
            continue
        response = client.get(path)
        seen[path] = response.status_code
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        for href in re.findall(r'href="(/[^"#]*)"', response.text):
            href = href.replace("&amp;", "&")
            if not href.startswith(SKIP) and "cursor=" not in href and href not in seen:
                queue.append(href)
    return seen


@pytest.mark.parametrize("who", ["admin", "qa", "warehouse"])
def test_every_reachable_page_is_fully_translated_into_chinese(
    client: TestClient, people: People, stock: dict[str, int], who: str
) -> None:
    i18n.MISSING.clear()
    sign_in(client, who, language="zh_CN")
    pages = crawl(client)
    pages.update(crawl(client, f"/lots/{stock['a']}"))
    pages[f"/lots/{stock['b']}"] = client.get(f"/lots/{stock['b']}").status_code  # 404 page for qa
    client.cookies.delete("lotline_session")
    pages["/login"] = client.get("/login").status_code
    assert len(pages) >= 5
    assert all(status < 500 for status in pages.values()), pages
    assert not i18n.MISSING, f"shown in English on a Chinese page: {sorted(i18n.MISSING)}"
