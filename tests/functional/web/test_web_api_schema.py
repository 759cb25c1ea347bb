"""The JSON API against its own OpenAPI schema (schemathesis, in pytest, no server): no server errors and no
status code the schema does not document, as an ICB analyst (with a bearer token) and as nobody."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from gpaccess.access.principal import cli_principal
from gpaccess.services import accounts
from gpaccess.services.app import App


@pytest.fixture(scope="module")
def api_schema(web_app):
    return schemathesis.openapi.from_asgi("/openapi.json", web_app)


@pytest.fixture(scope="module")
def analyst_token(web_world) -> str:
    app = App.from_settings(web_world.settings)
    try:
        return accounts.create_api_token(app, principal=cli_principal("setup"), username="analyst", label="schema")
    finally:
        app.close()


def _check_every_operation(schema, headers: dict[str, str], examples: int) -> int:
    """Each operation's generated cases (a bounded number), called in-process and validated against the schema.
    (The schemathesis pytest plugin's fixture loader does not work with this pytest; strategies do.)"""
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(headers=headers)

        check()
        checked += 1
    return checked


@pytest.mark.slow
def test_api_matches_its_schema_as_an_analyst(api_schema, analyst_token):
    assert _check_every_operation(api_schema, {"Authorization": f"Bearer {analyst_token}"}, 8) >= 7


@pytest.mark.slow
def test_api_matches_its_schema_signed_out(api_schema):
    assert _check_every_operation(api_schema, {}, 3) >= 7
