"""Every role × every route and export, with path parameters for own and other ICBs and practices.

Generated from the application's own route table, so a new route joins the matrix without anyone listing it
(a route whose parameters the matrix cannot fill fails the completeness test). For each (user, route):
- another ICB's or practice's named data is never shown: the answer is exactly (status and body) the answer
  for an ICB or practice that does not exist;
- a user's own data answers 200 only where their role allows it.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from web_helpers import api_tokens, csrf_of

NOWHERE_ICB = "QZZ"
NOWHERE_PRACTICE = "Z99999"
# Parameters the matrix fills besides ICB and practice codes (a plan and its action: the practice's own, when
# it has one, so that another practice's real plan is asked for; see `_fill`).
FIXED = {"fmt": "csv", "measure": "f2f_gp", "override_id": "999999", "plan_id": "999999", "action_id": "999999"}
API_ROLES = {  # who may do what through the API on their own data (the roles' data, restated)
    "run_cohort": {"admin", "analyst", "other-analyst"},
    "override": {"admin"},
    "upload_local": {"admin", "analyst", "other-analyst"},
    "edit_plans": {"admin", "analyst", "other-analyst"},
}
# Who may read what (the roles' data, restated as the answer each should see for their own data).
NAMED_ICB_ROLES = {"admin", "analyst"}


def _api_routes(routes, prefix: str = ""):
    for r in routes:
        if isinstance(r, APIRoute):
            yield prefix, r
        elif hasattr(r, "original_router"):  # FastAPI's included routers
            yield from _api_routes(r.original_router.routes, prefix + (r.include_context.prefix or ""))


def _routes(app) -> list[tuple[str, str]]:
    out = [(m, prefix + r.path) for prefix, r in _api_routes(app.routes) for m in sorted(r.methods - {"HEAD"})]
    assert len(out) > 25, "the matrix found too few routes: has FastAPI changed how it keeps them?"
    return out


def _fill(path: str, *, icb: str, practice: str, plans: dict[str, tuple[int, int]] | None = None) -> str:
    plan = (plans or {}).get(practice)
    values = {"icb_code": icb, "practice_code": practice, **FIXED}
    if plan is not None:
        values |= {"plan_id": str(plan[0]), "action_id": str(plan[1])}
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


def _ask(client, method: str, url: str):
    if method == "GET":
        return client.get(url, follow_redirects=False)
    token = csrf_of(client.get("/logout").text) if client.cookies.get("gpaccess_session") else ""
    return client.request(
        method, url, data={"csrf_token": token, "reason": "matrix", "practice_code": "A00000"}, follow_redirects=False
    )


API_BODY = {"reason": "matrix", "practice_code": "A00000", "action": "add", "expected_version": 1, "owner": "m"}


def _ask_api(client, method: str, url: str, token: str, body: dict | None = None):
    headers = {"Authorization": f"Bearer {token}"}
    if method == "GET":
        return client.get(url, headers=headers)
    return client.request(method, url, headers=headers, json=API_BODY if body is None else body)


@pytest.fixture(scope="module")
def tokens(web_world) -> dict[str, str]:
    return api_tokens(web_world)


@pytest.fixture(scope="module")
def plans(web_world) -> dict[str, tuple[int, int]]:
    """Each practice with a plan: (its plan's id, the plan's first action's id)."""
    from gpaccess.access.principal import cli_principal
    from gpaccess.services import plans as plan_service
    from gpaccess.services.app import App

    app = App.from_settings(web_world.settings)
    try:
        out = {}
        for practice in (web_world.practice, web_world.other_practice):
            view = plan_service.practice_plans(app, principal=cli_principal("matrix"), practice_code=practice)[-1]
            out[practice] = (view.plan.id, view.plan.actions[0].id)
        return out
    finally:
        app.close()


VARIES = re.compile(rb'(nonce="|name="csrf_token" value=")[^"]+"')  # per response / per browser, not per data


def _same(a, b) -> bool:
    return a.status_code == b.status_code and VARIES.sub(rb"\1-", a.content) == VARIES.sub(rb"\1-", b.content)


def test_matrix_covers_every_route(web_app):
    """Every route's parameters are ones the matrix knows how to fill."""
    for _, path in _routes(web_app):
        for name in re.findall(r"{(\w+)}", path):
            assert name in {"icb_code", "practice_code", *FIXED}, f"{path}: the matrix cannot fill {{{name}}}"


@pytest.mark.slow
def test_no_user_sees_another_icbs_or_practices_data(web_app, web_world, clients):
    """Other ICB/practice == non-existent, for every user and route with a code in its path."""
    w = web_world
    checked = 0
    for method, path in _routes(web_app):
        if "{icb_code}" not in path and "{practice_code}" not in path:
            continue
        for user, client in clients.items():
            theirs_icb, theirs_practice = (
                (w.icb, w.practice) if user.startswith("other-") else (w.other_icb, w.other_practice)
            )
            nowhere = _ask(client, method, _fill(path, icb=NOWHERE_ICB, practice=NOWHERE_PRACTICE))
            others = [theirs_practice] + ([w.sibling] if user == "pm" and "{practice_code}" in path else [])
            for practice in others:
                theirs = _ask(client, method, _fill(path, icb=theirs_icb, practice=practice))
                assert _same(theirs, nowhere), f"{user} {method} {path} ({practice}): unlike a missing one"
                assert theirs.status_code in (303, 401, 403, 404), f"{user} {method} {path}: {theirs.status_code}"
                checked += 1
    assert checked > 50


@pytest.mark.slow
def test_own_data_answers_only_for_roles_that_may_read_it(web_app, web_world, clients):
    w = web_world
    for method, path in _routes(web_app):
        if method != "GET" or "{icb_code}" not in path or path.endswith("/audit"):
            continue
        for user, client in clients.items():
            own_icb = {"other-analyst": w.other_icb}.get(user, w.icb)
            got = client.get(_fill(path, icb=own_icb, practice=w.practice), follow_redirects=False)
            if user in NAMED_ICB_ROLES or user == "other-analyst":
                assert got.status_code == 200, f"{user} {path}: {got.status_code} {got.text[:200]}"
            else:
                assert got.status_code in (303, 401, 403, 404), f"{user} {path}: {got.status_code}"


def _api(web_app) -> list[tuple[str, str]]:
    return [
        (m, p) for m, p in _routes(web_app) if p.startswith("/api/") and ("{icb_code}" in p or "{practice_code}" in p)
    ]


@pytest.mark.slow
def test_no_token_user_sees_or_changes_another_icbs_or_practices_data(web_app, web_world, clients, tokens, plans):
    """Through the API with each user's bearer token, every route with a code in its path, reads and writes
    alike: another ICB's or practice's data (with its real plan and action ids) == data that does not exist."""
    w = web_world
    c = clients["anon"]
    checked = 0
    for method, path in _api(web_app):
        for user, token in tokens.items():
            theirs_icb, theirs_practice = (
                (w.icb, w.practice) if user.startswith("other-") else (w.other_icb, w.other_practice)
            )
            nowhere = _ask_api(c, method, _fill(path, icb=NOWHERE_ICB, practice=NOWHERE_PRACTICE), token)
            others = [theirs_practice] + ([w.sibling] if user == "pm" and "{practice_code}" in path else [])
            for practice in others:
                theirs = _ask_api(c, method, _fill(path, icb=theirs_icb, practice=practice, plans=plans), token)
                assert _same(theirs, nowhere), f"{user} {method} {path} ({practice}): unlike a missing one"
                assert theirs.status_code in (403, 404), f"{user} {method} {path}: {theirs.status_code}"
                checked += 1
    assert checked > 60


def _permission_of(method: str, path: str) -> str | None:
    if method == "GET":
        return None
    for key, fragment in (("run_cohort", "/cohort/runs"), ("override", "/overrides"), ("upload_local", "/local")):
        if path.endswith(fragment) or fragment + "/" in path:
            return key
    return "edit_plans" if "/plans/" in path else "unknown"


@pytest.mark.slow
def test_api_on_own_data_answers_only_for_roles_that_may(web_app, web_world, tokens, clients, plans):
    """Own ICB or practice through the API: reads answer 200 for the roles that read it; writes pass
    permission and scope only for the roles that may make them (shown with a body refused as invalid, so
    nothing is written), every other role is refused (403) or told it is not found (404)."""
    w = web_world
    c = clients["anon"]
    for method, path in _api(web_app):
        permission = _permission_of(method, path)
        assert permission != "unknown", f"{method} {path}: the matrix does not know who may do this"
        for user, token in tokens.items():
            own_icb = w.other_icb if user.startswith("other-") else w.icb
            own_practice = w.other_practice if user.startswith("other-") else w.practice
            if "{icb_code}" in path and user in ("pm", "other-pm"):
                own_practice = w.practice  # a practice user has no ICB of their own: refused either way
            url = _fill(path, icb=own_icb, practice=own_practice, plans=plans)
            if permission is None:
                got = _ask_api(c, method, url, token)
                readers = (
                    NAMED_ICB_ROLES | {"other-analyst"} | ({"pm", "other-pm"} if "{icb_code}" not in path else set())
                )
                if user in readers:
                    assert got.status_code == 200, f"{user} {method} {path}: {got.status_code} {got.text[:200]}"
                else:
                    assert got.status_code in (403, 404), f"{user} {method} {path}: {got.status_code}"
                continue
            if permission == "run_cohort" and user in API_ROLES[permission]:
                continue  # no body to make invalid: running the cohort is tested on its own world
            got = _ask_api(c, method, url, token, body={"reason": 5, "expected_version": "not a number"})
            if user in API_ROLES[permission]:
                assert got.status_code == 422, f"{user} {method} {path}: {got.status_code} {got.text[:200]}"
            else:
                assert got.status_code in (403, 404), f"{user} {method} {path}: {got.status_code}"


def test_practice_user_reads_own_practice_only(web_world, clients):
    pm = clients["pm"]
    assert pm.get(f"/practice/{web_world.practice}").status_code == 200
    assert pm.get(f"/api/v1/practice/{web_world.practice}").status_code == 200
    sibling = pm.get(f"/practice/{web_world.sibling}")
    missing = pm.get(f"/practice/{NOWHERE_PRACTICE}")
    assert sibling.status_code == 404
    assert _same(sibling, missing)
    assert pm.get(f"/icb/{web_world.icb}").status_code == 404


def test_national_roles_see_aggregates_and_no_named_data(web_world, clients):
    for user in ("nat", "reg"):
        page = clients[user].get("/national")
        assert page.status_code == 200
        assert web_world.practice not in page.text
        assert clients[user].get(f"/icb/{web_world.icb}").status_code == 403
        assert clients[user].get(f"/api/v1/practice/{web_world.practice}").status_code == 403


def test_audit_log_is_for_icb_admins_of_their_own_icb(web_world, clients):
    assert clients["admin"].get(f"/icb/{web_world.icb}/audit").status_code == 200
    assert clients["analyst"].get(f"/icb/{web_world.icb}/audit").status_code == 403
    theirs = clients["admin"].get(f"/icb/{web_world.other_icb}/audit")
    assert theirs.status_code == 404
