"""The JSON API's writes and the reads beside them, as each role uses them, on the module's own copy of the web
world: running the cohort, overrides, local uploads, support plans. Each write is checked for its effect, its
audit event, its refusal for the wrong role, and for another ICB's or practice's data answering exactly as
data that does not exist."""

from __future__ import annotations

import pytest
from web_helpers import sign_in

from gpaccess.access.principal import cli_principal
from gpaccess.services import audit as audit_service
from gpaccess.services.app import App

NOWHERE_ICB = "QZZ"
NOWHERE_PRACTICE = "Z99999"


def _events(api_world, action: str) -> list:
    app = App.from_settings(api_world.world.settings)
    try:
        events = audit_service.audit_log(app, principal=cli_principal("check"), icb_code=api_world.world.icb)
    finally:
        app.close()
    return [e for e in events if e.action == action]


def _same(a, b) -> bool:
    return a.status_code == b.status_code and a.content == b.content


def _store_files(home) -> list[tuple[str, int]]:
    root = home / "store"
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size)
        for p in root.rglob("*")
        if p.is_file() and "tmp" not in p.relative_to(root).parts and p.name != "write.lock"
    )


# -- the cohort --------------------------------------------------------------------------------------------------


def test_api_runs_the_cohort_stores_it_and_lists_it(api_world):
    w = api_world.world
    analyst = api_world.client("analyst")
    before = analyst.get(f"/api/v1/icb/{w.icb}/cohort/runs")
    assert before.status_code == 200
    ran = analyst.post(f"/api/v1/icb/{w.icb}/cohort/runs")
    assert ran.status_code == 201, ran.text[:300]
    run = ran.json()
    assert run["icb_code"] == w.icb and run["run_id"] not in {r["run_id"] for r in before.json()}
    assert sum(m["selected"] for m in run["members"]) <= run["cap"]
    after = analyst.get(f"/api/v1/icb/{w.icb}/cohort/runs").json()
    assert len(after) == len(before.json()) + 1
    assert after[0]["run_id"] == run["run_id"] and after[0]["created_by"] == "analyst"
    assert analyst.get(f"/api/v1/icb/{w.icb}/cohort").json()["run_id"] == run["run_id"]
    assert any(e.object_id == str(run["run_id"]) for e in _events(api_world, "cohort_run.recorded"))


def test_api_cohort_run_is_refused_for_other_roles_and_browser_sessions(api_world):
    w = api_world.world
    runs = len(api_world.client("analyst").get(f"/api/v1/icb/{w.icb}/cohort/runs").json())
    for user in ("pm", "nat", "reg"):
        got = api_world.client(user).post(f"/api/v1/icb/{w.icb}/cohort/runs")
        assert got.status_code == 403, (user, got.text)
    assert api_world.client().post(f"/api/v1/icb/{w.icb}/cohort/runs").status_code == 401
    # A signed-in browser (session cookie, no bearer token) cannot write through the API: nothing to forge.
    browser = api_world.client()
    assert sign_in(browser, "analyst").status_code == 303
    got = browser.post(f"/api/v1/icb/{w.icb}/cohort/runs")
    assert got.status_code == 401 and "bearer" in got.json()["detail"].lower()
    assert browser.get(f"/api/v1/icb/{w.icb}/cohort/runs").status_code == 200  # reads still work
    assert len(api_world.client("analyst").get(f"/api/v1/icb/{w.icb}/cohort/runs").json()) == runs


def test_api_cohort_run_of_another_icb_answers_as_a_missing_one(api_world):
    w = api_world.world
    analyst = api_world.client("analyst")
    theirs = analyst.post(f"/api/v1/icb/{w.other_icb}/cohort/runs")
    nowhere = analyst.post(f"/api/v1/icb/{NOWHERE_ICB}/cohort/runs")
    assert theirs.status_code == 404 and _same(theirs, nowhere)
    assert _same(
        analyst.get(f"/api/v1/icb/{w.other_icb}/cohort/runs"), analyst.get(f"/api/v1/icb/{NOWHERE_ICB}/cohort/runs")
    )


# -- overrides ---------------------------------------------------------------------------------------------------


def test_api_override_is_added_listed_and_revoked_with_audit(api_world):
    w = api_world.world
    admin = api_world.client("admin")
    body = {"practice_code": w.sibling.lower(), "action": "add", "reason": "a new list of 4,000 patients"}
    added = admin.post(f"/api/v1/icb/{w.icb}/overrides", json=body)
    assert added.status_code == 201, added.text
    oid = added.json()["id"]
    assert added.json()["practice_code"] == w.sibling
    listed = admin.get(f"/api/v1/icb/{w.icb}/cohort").json()["overrides"]
    assert {"id": oid, "practice_code": w.sibling, "reason": body["reason"]}.items() <= next(
        o for o in listed if o["id"] == oid
    ).items()
    again = admin.post(f"/api/v1/icb/{w.icb}/overrides", json=body)
    assert again.status_code == 409  # one active override per practice: revoke it first
    revoked = admin.post(f"/api/v1/icb/{w.icb}/overrides/{oid}/revoke", json={"reason": "list merged"})
    assert revoked.status_code == 200 and revoked.json() == {"id": oid, "revoked": True}
    assert oid not in {o["id"] for o in admin.get(f"/api/v1/icb/{w.icb}/cohort").json()["overrides"]}
    assert admin.post(f"/api/v1/icb/{w.icb}/overrides/{oid}/revoke").status_code == 409  # already revoked
    assert any(e.object_id == str(oid) for e in _events(api_world, "cohort_override.added"))
    assert any(e.object_id == str(oid) for e in _events(api_world, "cohort_override.revoked"))


def test_api_override_needs_the_admin_role_a_reason_and_a_practice_of_the_icb(api_world):
    w = api_world.world
    url = f"/api/v1/icb/{w.icb}/overrides"
    body = {"practice_code": w.sibling, "action": "remove", "reason": "merging"}
    assert api_world.client("analyst").post(url, json=body).status_code == 403
    assert api_world.client("pm").post(url, json=body).status_code == 403
    admin = api_world.client("admin")
    assert admin.post(url, json=body | {"reason": "   "}).status_code == 422
    assert admin.post(url, json=body | {"action": "promote"}).status_code == 422
    theirs = admin.post(url, json=body | {"practice_code": w.other_practice})
    assert theirs.status_code == 400 and "is not one of ICB" in theirs.json()["detail"]


def test_api_override_of_another_icb_answers_as_a_missing_one(api_world):
    w = api_world.world
    admin = api_world.client("admin")
    body = {"practice_code": w.other_practice, "action": "add", "reason": "x"}
    theirs = admin.post(f"/api/v1/icb/{w.other_icb}/overrides", json=body)
    nowhere = admin.post(f"/api/v1/icb/{NOWHERE_ICB}/overrides", json=body)
    assert theirs.status_code == 404 and _same(theirs, nowhere)
    theirs = admin.post(f"/api/v1/icb/{w.other_icb}/overrides", json={"not": "a valid body"})
    assert theirs.status_code == 404 and _same(theirs, nowhere)  # scope before the body
    revoke_theirs = admin.post(f"/api/v1/icb/{w.other_icb}/overrides/1/revoke")
    assert _same(revoke_theirs, admin.post(f"/api/v1/icb/{NOWHERE_ICB}/overrides/1/revoke"))
    assert revoke_theirs.status_code == 404


# -- local data ----------------------------------------------------------------------------------------------------


def _upload(client, icb: str, name: str, body: bytes, **data):
    return client.post(f"/api/v1/icb/{icb}/local", files={"file": (name, body, "text/csv")}, data=data)


def test_api_upload_stores_local_data_and_the_local_view_shows_it(api_world):
    w = api_world.world
    analyst = api_world.client("analyst")
    csv = (
        f"practice_code,indicator,period,value\n{w.practice},api_waits,2025-10,12.5\n{w.sibling},api_waits,2025-10,7\n"
    )
    got = _upload(analyst, w.icb, "waits.csv", csv.encode())
    assert got.status_code == 200, got.text
    assert got.json()["status"] == "uploaded" and got.json()["rows"] == 2
    assert got.json()["indicators"] == ["api_waits"]
    view = analyst.get(f"/api/v1/icb/{w.icb}/local").json()
    assert "api_waits" in view["local"]
    values = {r["practice_code"]: r["api_waits"] for r in view["practices"]}
    assert values[w.practice] == 12.5 and values[w.sibling] == 7
    again = _upload(analyst, w.icb, "waits.csv", csv.encode())
    assert again.status_code == 200 and again.json()["status"] == "already uploaded"
    assert _events(api_world, "local.uploaded")


def test_api_upload_with_errors_lists_every_problem_and_stores_nothing(api_world):
    w = api_world.world
    analyst = api_world.client("analyst")
    view = analyst.get(f"/api/v1/icb/{w.icb}/local").json()
    files = _store_files(w.home)
    bad = f"practice_code,indicator,period,value\n{w.practice},waits,2025-10,abc\n{w.other_practice},waits,2025-10,3\n"
    got = _upload(analyst, w.icb, "bad.csv", bad.encode())
    assert got.status_code == 422
    body = got.json()
    assert "nothing was stored" in body["detail"]
    located = {(p["file"], p["line"], p["column"]) for p in body["problems"]}
    assert ("bad.csv", 2, "value") in located
    assert any(p["line"] == 3 and p["column"] == "practice_code" for p in body["problems"])
    wrong = _upload(analyst, w.icb, "notes.txt", b"practice_code\n")
    assert wrong.status_code == 422 and wrong.json()["problems"][0]["expected"] == "a .csv or .xlsx file"
    assert analyst.get(f"/api/v1/icb/{w.icb}/local").json() == view
    assert _store_files(w.home) == files
    assert _events(api_world, "local.refused")


def test_api_upload_over_the_size_limit_is_refused_as_json(api_world):
    w = api_world.world
    got = _upload(api_world.client("analyst"), w.icb, "big.csv", b"x" * (11 * 1024 * 1024))
    assert got.status_code == 413
    assert "at most 10 MB" in got.json()["detail"]


def test_api_upload_is_refused_for_other_roles_and_other_icbs(api_world):
    w = api_world.world
    csv = f"practice_code,indicator,period,value\n{w.other_practice},waits,2025-10,3\n".encode()
    for user in ("pm", "nat"):
        assert _upload(api_world.client(user), w.icb, "x.csv", csv).status_code == 403
    analyst = api_world.client("analyst")
    theirs = _upload(analyst, w.other_icb, "x.csv", csv)
    assert theirs.status_code == 404 and _same(theirs, _upload(analyst, NOWHERE_ICB, "x.csv", csv))


# -- support plans ---------------------------------------------------------------------------------------------------


def _plan(client, practice: str) -> dict:
    plans = client.get(f"/api/v1/practice/{practice}/plans")
    assert plans.status_code == 200, plans.text
    return plans.json()[-1]


def test_api_reads_a_practices_plans_with_titles(api_world):
    w = api_world.world
    plan = _plan(api_world.client("analyst"), w.practice)
    assert plan["practice_code"] == w.practice and plan["version"] >= 1 and plan["actions"]
    for a in plan["actions"]:
        assert a["outcome_title"] and a["outcome_title"] != a["outcome_measure"]
    assert plan["progress"] and all(p["title"] != p["measure"] for p in plan["progress"])
    assert _plan(api_world.client("pm"), w.practice)["id"] == plan["id"]  # the practice reads its own
    assert api_world.client("analyst").get(f"/api/v1/practice/{w.sibling}/plans").json() == []  # no plan yet


def test_api_plans_of_another_practice_answer_as_a_missing_one(api_world):
    w = api_world.world
    for user, theirs in (("analyst", w.other_practice), ("pm", w.sibling), ("pm", w.other_practice)):
        c = api_world.client(user)
        got = c.get(f"/api/v1/practice/{theirs}/plans")
        assert got.status_code == 404 and _same(got, c.get(f"/api/v1/practice/{NOWHERE_PRACTICE}/plans"))
    assert api_world.client("nat").get(f"/api/v1/practice/{w.practice}/plans").status_code == 403


def test_api_plan_action_update_saves_a_version_and_an_unchanged_one_does_not(api_world):
    w = api_world.world
    analyst = api_world.client("analyst")
    plan = _plan(analyst, w.practice)
    action = plan["actions"][0]
    url = f"/api/v1/practice/{w.practice}/plans/{plan['id']}/actions/{action['id']}"
    change = {"status": "in_progress", "owner": "ICB lead and practice manager", "notes": "Rota agreed"}
    saved = analyst.patch(url, json={"expected_version": plan["version"], **change})
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["changed"] is True and body["version"] == plan["version"] + 1 == body["plan"]["version"]
    now = next(a for a in body["plan"]["actions"] if a["id"] == action["id"])
    assert {k: now[k] for k in change} == change
    updates = len(_events(api_world, "plan.updated"))
    same = analyst.patch(url, json={"expected_version": body["version"], **change})
    assert same.status_code == 200 and same.json()["changed"] is False
    assert same.json()["version"] == body["version"] == _plan(analyst, w.practice)["version"]
    assert len(_events(api_world, "plan.updated")) == updates  # nothing saved, nothing audited
    cleared = analyst.patch(url, json={"expected_version": body["version"], "notes": None, "due": None})
    assert cleared.status_code == 200 and cleared.json()["changed"] is True
    now = next(a for a in cleared.json()["plan"]["actions"] if a["id"] == action["id"])
    assert now["notes"] is None and now["due"] is None and now["owner"] == change["owner"]
    audited = {e.detail["version"] for e in _events(api_world, "plan.updated") if e.object_id == str(plan["id"])}
    assert {body["version"], cleared.json()["version"]} <= audited


def test_api_plan_update_from_a_stale_version_is_a_conflict_with_the_current_version(api_world):
    w = api_world.world
    analyst = api_world.client("analyst")
    plan = _plan(analyst, w.practice)
    url = f"/api/v1/practice/{w.practice}/plans/{plan['id']}/actions/{plan['actions'][0]['id']}"
    first = analyst.patch(url, json={"expected_version": plan["version"], "owner": "Saved first"})
    assert first.status_code == 200
    clash = analyst.patch(url, json={"expected_version": plan["version"], "owner": "Saved second"})
    assert clash.status_code == 409
    body = clash.json()
    assert body["current_version"] == first.json()["version"] == body["plan"]["version"]
    assert "nothing of yours was stored" in body["detail"]
    assert body["plan"]["actions"][0]["owner"] == "Saved first"


def test_api_plan_update_refusals(api_world):
    w = api_world.world
    analyst = api_world.client("analyst")
    plan = _plan(analyst, w.practice)
    action = plan["actions"][0]
    url = f"/api/v1/practice/{w.practice}/plans/{plan['id']}/actions/{action['id']}"
    v = plan["version"]
    assert api_world.client("pm").patch(url, json={"expected_version": v, "owner": "x"}).status_code == 403
    assert api_world.client("nat").patch(url, json={"expected_version": v, "owner": "x"}).status_code == 403
    early = analyst.patch(url, json={"expected_version": v, "due": "2001-01-01"})
    assert early.status_code == 422 and "before it starts" in early.json()["detail"]
    assert analyst.patch(url, json={"expected_version": v, "status": "finished"}).status_code == 422
    assert analyst.patch(url, json={"expected_version": v, "owner": ""}).status_code == 422
    missing_action = f"/api/v1/practice/{w.practice}/plans/{plan['id']}/actions/999999"
    assert analyst.patch(missing_action, json={"expected_version": v, "owner": "x"}).status_code == 404
    assert _plan(analyst, w.practice)["version"] == v


@pytest.mark.parametrize("user", ["analyst", "other-analyst", "admin"])
def test_api_plan_update_of_another_practice_answers_as_a_missing_one(api_world, user):
    w = api_world.world
    c = api_world.client(user)
    own, theirs = (w.other_practice, w.practice) if user.startswith("other-") else (w.practice, w.other_practice)
    their_plan = _plan(api_world.client("other-pm" if not user.startswith("other-") else "pm"), theirs)
    body = {"expected_version": their_plan["version"], "owner": "not mine"}
    tail = f"plans/{their_plan['id']}/actions/{their_plan['actions'][0]['id']}"
    got = c.patch(f"/api/v1/practice/{theirs}/{tail}", json=body)
    nowhere = c.patch(f"/api/v1/practice/{NOWHERE_PRACTICE}/{tail}", json=body)
    assert got.status_code == 404 and _same(got, nowhere)
    under_own = c.patch(f"/api/v1/practice/{own}/{tail}", json=body)  # their plan's id under one's own practice
    assert under_own.status_code == 404 and _same(under_own, nowhere)
    assert _plan(api_world.client("other-pm" if not user.startswith("other-") else "pm"), theirs) == their_plan
