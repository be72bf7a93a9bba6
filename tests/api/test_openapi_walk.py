"""Every route in the OpenAPI document is guarded: anonymous → 401, viewer on a write → 403."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lotline.domain.permissions import Permission, is_write
from tests.app_fixtures import People

WRITE_METHODS = {"post", "put", "patch", "delete"}


def operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    spec = client.get("/openapi.json").json()
    found = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            found.append((method, path, operation))
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_declares_its_permission(client: TestClient) -> None:
    known = {p.value for p in Permission} | {"public", "authenticated"}
    for method, path, operation in operations(client):
        assert operation.get("x-permission") in known, f"{method.upper()} {path} declares no permission"


def test_openapi_documents_problem_responses_and_schemas(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "Problem" in spec["components"]["schemas"]
    for method, path, operation in operations(client):
        if operation["x-permission"] != "public":
            assert "401" in operation["responses"], f"{method.upper()} {path} does not document 401"


def test_anonymous_gets_401_problem_on_every_protected_route(client: TestClient, people: People) -> None:
    walked = 0
    for method, path, operation in operations(client):
        if operation["x-permission"] == "public":
            continue
        response = client.request(method.upper(), concrete(path), json={})
        assert response.status_code == 401, f"{method.upper()} {path}: {response.status_code}"
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["code"] == "auth.required"
        assert body["status"] == 401
        walked += 1
    assert walked >= 15


def test_viewer_gets_403_on_every_write(client: TestClient, people: People) -> None:
    walked = 0
    for method, path, operation in operations(client):
        permission = operation["x-permission"]
        if permission in ("public", "authenticated"):
            continue
        if method not in WRITE_METHODS and not is_write(Permission(permission)):
            continue
        if method in WRITE_METHODS and not is_write(Permission(permission)):
            pytest.fail(f"{method.upper()} {path} writes under a read permission ({permission})")
        response = client.request(method.upper(), concrete(path), json={}, headers=people.bearer("viewer"))
        assert response.status_code == 403, f"{method.upper()} {path}: {response.status_code}"
        assert response.json()["code"] == "auth.forbidden"
        walked += 1
    assert walked >= 8


def test_a_bad_or_revoked_token_is_401(client: TestClient, people: People) -> None:
    response = client.get("/api/v1/sites", headers={"Authorization": "Bearer llt_not-a-real-token"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
