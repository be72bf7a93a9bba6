"""The sign-in page: bilingual, CSRF-protected, throttled like the API."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.app_fixtures import PASSWORD, People


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the form carries no CSRF token"
    return match.group(1)


def test_the_sign_in_page_speaks_chinese_and_english(client: TestClient) -> None:
    zh = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    en = client.get("/login", headers={"Accept-Language": "en-GB"})
    assert zh.status_code == en.status_code == 200
    assert 'lang="zh-CN"' in zh.text
    assert "登录" in zh.text
    assert 'lang="en"' in en.text
    assert "Sign in" in en.text


def test_the_language_switch_is_remembered(client: TestClient) -> None:
    client.get("/lang/en")
    page = client.get("/login", headers={"Accept-Language": "zh-CN"})
    assert 'lang="en"' in page.text


def test_signing_in_through_the_form_opens_the_start_page(client: TestClient, people: People) -> None:
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "qa", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "httponly" in response.headers["set-cookie"].lower()
    home = client.get("/")
    assert home.status_code == 200
    assert "Qa User" in home.text
    out = client.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_a_form_posted_without_its_csrf_token_is_refused(client: TestClient, people: People) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "qa", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_wrong_password_shows_the_message_and_keeps_the_name(client: TestClient, people: People) -> None:
    form = client.get("/login", headers={"Accept-Language": "en"})
    response = client.post(
        "/login",
        data={"username": "qa", "password": "nope nope", "csrf_token": csrf_of(form.text)},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 401
    assert "Wrong user name or password." in response.text
    assert 'value="qa"' in response.text


def test_pages_carry_security_headers(client: TestClient) -> None:
    page = client.get("/login")
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-request-id"]
