"""The JSON API against its own OpenAPI schema (schemathesis, in pytest, no server): no server errors and no
status code the schema does not document, as an ICB analyst and an ICB administrator (bearer tokens) and as
nobody. The writes are fuzzed too, on the module's own copy of the web world (so the session's world stays as
the other web tests expect it): once with generated path parameters, and once with the user's own ICB,
practice, plan and action, so that generated bodies reach the services."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from web_helpers import api_tokens, copy_world

from gpaccess.access.principal import cli_principal
from gpaccess.services import plans as plan_service
from gpaccess.services.app import App
from gpaccess.web.app import create_app

OPERATIONS = 15  # 7 reads of the first API, the cohort runs, overrides, local data and plans


@pytest.fixture(scope="module")
def fuzz_world(web_world, tmp_path_factory):
    world = copy_world(web_world, tmp_path_factory.mktemp("fuzz") / "home")
    return world, create_app(world.settings, secure_cookies=False), api_tokens(world)


@pytest.fixture(scope="module")
def api_schema(fuzz_world):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_world[1])


@pytest.fixture(scope="module")
def own_parameters(fuzz_world) -> dict[str, object]:
    """Path parameters naming the users' own data: their ICB, practice, its plan and the plan's first action."""
    world = fuzz_world[0]
    app = App.from_settings(world.settings)
    try:
        (view,) = plan_service.practice_plans(app, principal=cli_principal("setup"), practice_code=world.practice)
    finally:
        app.close()
    return {
        "icb_code": world.icb,
        "practice_code": world.practice,
        "plan_id": view.plan.id,
        "action_id": view.plan.actions[0].id,
        "override_id": 1,
    }


def _check_every_operation(schema, headers: dict[str, str], examples: int, pinned: dict | None = None) -> int:
    """Each operation's generated cases (a bounded number), called in-process and validated against the schema;
    with `pinned`, the path parameters it names are set to those values. (The schemathesis pytest plugin's
    fixture loader does not work with this pytest; strategies do.)"""
    checked = 0
    # On real data, a request valid by the schema may still be refused by design (a file whose rows fail
    # their checks, a practice not in the ICB, a due date before its start: 400/422 with the reason), so
    # schemathesis's "valid data is accepted" check is left out there; every other check stays.
    excluded = [] if pinned is None else [positive_data_acceptance]
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy()
        if pinned is not None:
            strategy = strategy.map(lambda case: _pin(case, pinned))

        @given(case=strategy)
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(headers=headers, excluded_checks=excluded)

        check()
        checked += 1
    return checked


def _pin(case, values: dict):
    if case.path_parameters:
        case.path_parameters = {k: values.get(k, v) for k, v in case.path_parameters.items()}
    return case


def _bearer(fuzz_world, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {fuzz_world[2][user]}"}


@pytest.mark.slow
def test_api_matches_its_schema_as_an_analyst(api_schema, fuzz_world):
    assert _check_every_operation(api_schema, _bearer(fuzz_world, "analyst"), 8) >= OPERATIONS


@pytest.mark.slow
def test_api_matches_its_schema_signed_out(api_schema):
    assert _check_every_operation(api_schema, {}, 3) >= OPERATIONS


@pytest.mark.slow
@pytest.mark.parametrize("user", ["analyst", "admin", "pm"])
def test_api_matches_its_schema_on_the_users_own_data(api_schema, fuzz_world, own_parameters, user):
    """Generated bodies against real ICB, practice, plan and action: writes reach the services (cohort runs,
    overrides, uploads, plan changes) and still answer only what the schema documents."""
    assert _check_every_operation(api_schema, _bearer(fuzz_world, user), 6, own_parameters) >= OPERATIONS
