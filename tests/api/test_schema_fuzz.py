"""Property-based API tests (schemathesis): any input the schema allows, or nearly allows,
gets a documented answer — never a 500, and errors are problem+json."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from lotline.app import create_app
from lotline.uow import Database
from tests.app_fixtures import People
from tests.conftest import FakeClock


@pytest.fixture
def fuzzed_app(db: Database, clock: FakeClock, people: People) -> Iterator[FastAPI]:
    app = create_app(db.settings, db=db, clock=clock, run_sealer=False)
    app.state.fuzz_headers = people.bearer("admin")
    return app


@pytest.fixture
def api_schema(fuzzed_app: FastAPI) -> schemathesis.BaseSchema:  # type: ignore[name-defined]
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.fuzz
@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: schemathesis.Case, fuzzed_app: FastAPI) -> None:
    response = case.call(headers=fuzzed_app.state.fuzz_headers)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/problem+json")
        body = response.json()
        assert body["status"] == response.status_code
        assert body["code"]
    # Schema-valid but refused by a business rule (an unknown time zone, a duplicate code) is a
    # legitimate 4xx; everything else schemathesis checks (documented statuses and media
    # types, response schemas, Allow on 405, negative data rejected) must hold.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
