"""The web application as each role uses it: signing in, pages, forms with CSRF, uploads, exports, security."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from web_helpers import PASSWORD, csrf_of, sign_in

from gpaccess.access.accounts import RateLimit
from gpaccess.web.app import create_app


def test_sign_in_sets_a_secure_httponly_samesite_cookie(web_world):
    app = create_app(web_world.settings, secure_cookies=True)
    c = TestClient(app, base_url="https://testserver")
    got = sign_in(c, "analyst")
    assert got.status_code == 303
    assert got.headers["location"] == f"/icb/{web_world.icb}"
    cookie = got.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie


def test_wrong_password_is_refused_with_one_message_for_name_and_password(web_app):
    c = TestClient(web_app)
    wrong = sign_in(c, "analyst", "not the password at all")
    nobody = sign_in(c, "nobody-at-all", "not the password at all")
    assert wrong.status_code == nobody.status_code == 401
    assert "wrong user name or password" in wrong.text and "wrong user name or password" in nobody.text


def test_login_is_rate_limited_even_with_the_right_password(web_world):
    app = create_app(web_world.settings, secure_cookies=False, rate_limit=RateLimit(failures=3))
    c = TestClient(app)
    for _ in range(3):
        assert sign_in(c, "reg", "wrong password, again").status_code == 401
    assert sign_in(c, "reg", PASSWORD).status_code == 429


def test_a_form_without_the_csrf_token_is_refused(clients, web_world):
    c = clients["admin"]
    got = c.post(f"/icb/{web_world.icb}/overrides", data={"practice_code": web_world.practice, "reason": "x"})
    assert got.status_code == 403
    assert "did not come from this site" in got.text


def test_dashboard_shows_the_stored_cohort_with_reasons_and_exclusions(clients, web_world):
    page = clients["analyst"].get(f"/icb/{web_world.icb}")
    assert page.status_code == 200
    assert "Stored run" in page.text and "Selected practices" in page.text
    assert "Excluded for data quality" in page.text
    assert "Record the override" not in page.text  # analysts do not override; admins do


def test_admin_adds_an_override_with_its_reason_and_it_is_listed(clients, web_world):
    c = clients["admin"]
    page = c.get(f"/icb/{web_world.icb}")
    got = c.post(
        f"/icb/{web_world.icb}/overrides",
        data={
            "practice_code": web_world.sibling,
            "action": "add",
            "reason": "new list pressures",
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=True,
    )
    assert got.status_code == 200
    assert "new list pressures" in got.text


def test_funnel_search_finds_a_practice_by_code(clients, web_world):
    page = clients["analyst"].get(f"/icb/{web_world.icb}/funnel", params={"q": web_world.practice})
    assert page.status_code == 200
    assert f"/practice/{web_world.practice}" in page.text
    assert "1 of" in page.text


def test_charts_are_svg_images_with_a_table_beside_them(clients, web_world):
    svg = clients["analyst"].get(f"/icb/{web_world.icb}/funnel.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "script-src" not in svg.headers["content-security-policy"]
    page = clients["pm"].get(f"/practice/{web_world.practice}")
    assert page.status_code == 200
    assert "the chart&#39;s table" in page.text or "the chart's table" in page.text


def test_upload_with_errors_lists_every_problem_and_stores_nothing(clients, web_world):
    c = clients["analyst"]
    page = c.get(f"/icb/{web_world.icb}/local/upload")
    body = (
        "practice_code,indicator,period,value\n"
        f"{web_world.practice},waits,2025-10,abc\n"
        f"{web_world.other_practice},waits,2025-10,3\n"
    )
    got = c.post(
        f"/icb/{web_world.icb}/local/upload",
        data={"csrf_token": csrf_of(page.text)},
        files={"file": ("local.csv", body.encode(), "text/csv")},
    )
    assert got.status_code == 422
    assert "line 2" in got.text and "line 3" in got.text
    assert "nothing was stored" in got.text


def test_upload_over_the_size_limit_is_refused(clients, web_world):
    c = clients["analyst"]
    page = c.get(f"/icb/{web_world.icb}/local/upload")
    got = c.post(
        f"/icb/{web_world.icb}/local/upload",
        data={"csrf_token": csrf_of(page.text)},
        files={"file": ("big.csv", b"x" * (11 * 1024 * 1024), "text/csv")},
    )
    assert got.status_code == 413


def test_exports_neutralise_formulas_and_keep_practice_code_order(clients, web_world):
    got = clients["analyst"].get(f"/icb/{web_world.icb}/measures.csv")
    assert got.status_code == 200
    rows = list(csv.DictReader(io.StringIO(got.text)))
    codes = [r["practice_code"] for r in rows]
    assert codes == sorted(codes) and web_world.practice in codes
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values() if v)


def test_security_headers_on_every_page(clients):
    got = clients["anon"].get("/login")
    csp = got.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    assert got.headers["x-content-type-options"] == "nosniff"
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in got.text  # the template's one inline snippet carries it
    assert got.text.count("<script") == 2  # that snippet and the module file


def test_errors_show_no_stack_trace(clients, web_world):
    got = clients["analyst"].get(f"/icb/{web_world.icb}/measures.exe")
    assert got.status_code == 404
    assert "Traceback" not in got.text


def test_public_page_needs_no_sign_in_and_has_no_rank_or_cohort(clients):
    got = clients["anon"].get("/public")
    assert got.status_code == 200
    lowered = got.text.lower()
    for word in ("rank", "cohort", "selected", "league", "percentile"):
        assert f">{word}" not in lowered
    csv_text = clients["anon"].get("/public/gp_access_by_practice.csv").text
    header = csv_text.splitlines()[0]
    assert header.startswith("practice_code,") and "cohort" not in header


def test_idle_session_ends(web_world):
    from datetime import timedelta

    from gpaccess.access.accounts import SessionTimeouts

    app = create_app(web_world.settings, secure_cookies=False, timeouts=SessionTimeouts(idle=timedelta(seconds=-1)))
    c = TestClient(app)
    sign_in(c, "analyst")
    got = c.get(f"/icb/{web_world.icb}", follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"].startswith("/login")


def test_api_with_a_bearer_token_acts_as_its_user(web_app, web_world):
    from gpaccess.access.principal import cli_principal
    from gpaccess.services import accounts
    from gpaccess.services.app import App

    token = accounts.create_api_token(
        App.from_settings(web_world.settings), principal=cli_principal("setup"), username="analyst", label="t"
    )
    c = TestClient(web_app)
    me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "analyst"
    theirs = c.get(f"/api/v1/icb/{web_world.other_icb}/measures", headers={"Authorization": f"Bearer {token}"})
    assert theirs.status_code == 404 and theirs.json() == {"detail": "not found"}
    assert c.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_session_key_is_made_under_home_readable_by_its_owner_only(web_app, web_world):
    import stat

    key = web_world.home / "keys" / "web-session.key"
    assert key.is_file()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_bytes()) == 32


# -- support plans ---------------------------------------------------------------------------------------------


def _plan_form(html: str) -> dict[str, str]:
    """The first action's edit form on the plan page, as the browser would send it unchanged."""
    form = re.search(r'<form method="post" action="/practice/\w+/plan".*?</form>', html, re.S)
    assert form, "the plan page has no edit form"
    text = form.group(0)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', text))
    fields["owner"] = re.search(r'name="owner" type="text" value="([^"]*)"', text).group(1)
    fields["status"] = re.search(r'<option value="(\w+)" selected', text).group(1)
    fields["due"] = re.search(r'name="due" type="text" value="([^"]*)"', text).group(1)
    fields["notes"] = unescape(re.search(r'name="notes" rows="3">(.*?)</textarea>', text, re.S).group(1))
    return {k: unescape(v) for k, v in fields.items()}


def test_practice_page_lists_its_plan_and_actions(web_world, clients):
    page = clients["analyst"].get(f"/practice/{web_world.practice}")
    assert page.status_code == 200
    assert f'href="/practice/{web_world.practice}/plan?cycle=' in page.text
    assert "The plan store holds no support plan" not in page.text
    assert "Progress: " in page.text and "No progress recorded yet" not in page.text  # its verdicts
    other = clients["analyst"].get(f"/practice/{web_world.sibling}")
    assert "The plan store holds no support plan for this practice." in other.text


def test_edit_an_action_saves_a_new_version(web_world, clients):
    analyst = clients["analyst"]
    url = f"/practice/{web_world.practice}/plan"
    page = analyst.get(url)
    assert page.status_code == 200
    form = _plan_form(page.text)
    version = int(form["version"])
    form |= {"status": "in_progress", "owner": "Practice manager and ICB lead", "notes": "Rota agreed"}
    saved = analyst.post(url, data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:500]
    assert saved.headers["location"].endswith(f"saved={version + 1}")
    after = analyst.get(saved.headers["location"])
    assert f"the plan is now version {version + 1}" in after.text
    assert "Practice manager and ICB lead" in after.text and "Rota agreed" in after.text
    assert 'data-field="status">in progress<' in after.text


def test_a_stale_version_is_refused_with_the_current_values(web_world, clients):
    analyst = clients["analyst"]
    url = f"/practice/{web_world.practice}/plan"
    first = _plan_form(analyst.get(url).text)  # tab one opens the plan
    second = dict(first)  # tab two opens the same version
    assert analyst.post(url, data=first | {"owner": "Saved first"}, follow_redirects=False).status_code == 303
    clash = analyst.post(url, data=second | {"owner": "Saved second"}, follow_redirects=False)
    assert clash.status_code == 409
    assert "Someone else saved this plan since you opened it" in clash.text
    assert "Nothing of yours was saved" in clash.text
    assert 'data-field="owner">Saved first<' in clash.text and "Saved second" not in clash.text


def test_an_unchanged_save_says_so_and_keeps_the_version(web_world, clients):
    analyst = clients["analyst"]
    url = f"/practice/{web_world.practice}/plan"
    form = _plan_form(analyst.get(url).text) | {"owner": "Owner before an unchanged save"}
    first = analyst.post(url, data=form, follow_redirects=False)
    assert first.status_code == 303 and "saved=" in first.headers["location"]
    again = _plan_form(analyst.get(url).text)  # the form as saved, sent back as it is
    assert again["owner"] == "Owner before an unchanged save"
    same = analyst.post(url, data=again, follow_redirects=False)
    assert same.status_code == 303
    assert same.headers["location"].endswith(f"unchanged={again['version']}")
    page = analyst.get(same.headers["location"])
    assert f"Nothing changed: the values were already so, and the plan is still version {again['version']}" in page.text
    assert _plan_form(page.text)["version"] == again["version"]


def test_notes_can_be_cleared_from_the_form(web_world, clients):
    analyst = clients["analyst"]
    url = f"/practice/{web_world.practice}/plan"
    form = _plan_form(analyst.get(url).text)
    noted = analyst.post(url, data=form | {"notes": "A note to clear"}, follow_redirects=True)
    assert 'data-field="notes">A note to clear<' in noted.text
    form = _plan_form(noted.text)
    assert form["notes"] == "A note to clear"
    cleared = analyst.post(url, data=form | {"notes": ""}, follow_redirects=False)
    assert cleared.status_code == 303 and "saved=" in cleared.headers["location"]
    page = analyst.get(cleared.headers["location"])
    assert 'data-field="notes">none<' in page.text and "A note to clear" not in page.text


def test_progress_shows_measure_titles_not_keys(web_world, clients):
    from gpaccess.measures.definitions import load_measures

    measures = load_measures()
    plan = clients["analyst"].get(f"/practice/{web_world.practice}/plan").text
    cells = re.findall(r'<td class="nhsuk-table__cell">([^<]*)</td>', plan.split("<h2>Progress</h2>")[1])
    shown = [c for c in cells if c in measures or c in {m.title for m in measures.values()}]
    assert shown, "the plan page shows no progress rows"
    assert not [c for c in shown if c in measures], f"measure keys shown: {shown}"
    practice = clients["analyst"].get(f"/practice/{web_world.practice}").text
    progress = re.search(r"<p>Progress: (.*?)</p>", practice).group(1)
    assert not [k for k in measures if f"{k}:" in progress], progress
    assert any(unescape(m.title) in unescape(progress) for m in measures.values())


def test_practice_user_sees_its_plan_but_cannot_edit_it(web_world, clients):
    pm = clients["pm"]
    page = pm.get(f"/practice/{web_world.practice}/plan")
    assert page.status_code == 200
    assert 'action="/practice/' not in page.text  # no edit form
    form = _plan_form(clients["analyst"].get(f"/practice/{web_world.practice}/plan").text)
    form["csrf_token"] = csrf_of(pm.get("/logout").text)
    assert pm.post(f"/practice/{web_world.practice}/plan", data=form).status_code == 403
    assert pm.get(f"/practice/{web_world.other_practice}/plan").status_code == 404


def test_plan_downloads_come_from_the_service(web_world, clients):
    analyst = clients["analyst"]
    base = f"/practice/{web_world.practice}/plan"
    html = analyst.get(base + ".html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert web_world.practice in html.text
    csv = analyst.get(base + ".csv")
    assert csv.status_code == 200 and csv.text.startswith("plan_id,")
    assert analyst.get(base + ".xlsx").status_code == 404


@pytest.mark.slow
def test_plan_pdf_download(web_world, clients):
    pdf = clients["analyst"].get(f"/practice/{web_world.practice}/plan.pdf")
    assert pdf.status_code == 200, pdf.text[:300]
    assert pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]


def test_what_worked_page_for_the_icb(web_world, clients):
    from gpaccess.publication.guard import league_word_in_html

    page = clients["analyst"].get(f"/icb/{web_world.icb}/evaluation")
    assert page.status_code == 200, page.text[:500]
    assert "What worked" in page.text
    assert league_word_in_html(page.text) is None
    from gpaccess.measures.definitions import load_measures

    visible = re.sub(r"<[^>]+>", " ", page.text.split("<main", 1)[1])
    assert not [k for k in load_measures() if re.search(rf"\b{k}\b", visible)], "a measure key is shown"
    if "Change in " in visible:  # the outcome's title inside the sentence, not capitalised mid-sentence
        assert re.search(r"Change in (?:[a-z]|[A-Z]{2})", visible), visible[:400]
    assert clients["analyst"].get(f"/icb/{web_world.other_icb}/evaluation").status_code == 404
    assert clients["pm"].get(f"/icb/{web_world.icb}/evaluation").status_code in (403, 404)
