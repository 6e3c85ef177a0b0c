"""Schemathesis against the OpenAPI document: generated requests to every operation, with
valid credentials for every kind of caller, must never get a server error (5xx), and every
documented answer must match its schema. SQLite, a bounded number of examples."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from conftest_service import ADMIN, World, bureau_data, fresh_database  # noqa: F401
from openbureau.service import Settings, create_app


@pytest.fixture(scope="module")
def world(bureau_data, tmp_path_factory):  # noqa: F811
    gen = fresh_database("sqlite", tmp_path_factory.mktemp("schema"))
    app = create_app(Settings(database_url=next(gen), admin_key="admin-secret"))
    with TestClient(app) as client:
        w = World(client, bureau_data)
        w.consent("low", "CarCo", "tenancy")
        yield w
    gen.close()


def test_no_server_errors_and_answers_match_the_schema(world):
    """Each operation in turn (schemathesis' lazy pytest fixture does not run on pytest 9,
    so its Hypothesis strategies are driven here)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.c.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    tried: list[str] = []
    for op in operations:

        @given(case=op.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case) -> None:
            headers = {**world.tokens["low"], **world.keys["CarCo"], **ADMIN}
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )
            if case.path == "/auth/logout":  # it ended the session: sign in again
                r = world.c.post("/auth/login", json={"login": "low", "password": "low-password"})
                world.tokens["low"] = {"Authorization": f"Bearer {r.json()['token']}"}

        run()
        tried.append(f"{op.method.upper()} {op.path}")
    assert len(tried) == len(operations)
