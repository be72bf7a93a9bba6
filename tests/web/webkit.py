"""Helpers for page tests: sign in through the form, read tokens and messages off pages."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lotline.uow import Database
from tests.app_fixtures import PASSWORD


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page carries no form with a CSRF token"
    return match.group(1)


def sign_in(client: TestClient, username: str, *, language: str = "en", password: str = PASSWORD) -> str:
    """Sign in through the form; returns the CSRF token later forms carry."""
    client.cookies.set("lotline_lang", language)
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


def alerts(page: str) -> list[str]:
    """The texts of error messages shown on a page."""
    return [html.unescape(t).strip() for t in re.findall(r'role="alert">([^<]*)<', page)]


def count(db: Database, model: type) -> int:
    with db.transaction(read_only=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(model)).scalar_one())
