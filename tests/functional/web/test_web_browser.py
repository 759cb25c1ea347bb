"""In a real browser: Debian's chromium driven by Playwright, with axe-core (npm, pinned in web-assets/) run on
every page visited (WCAG 2.2 AA rules: zero violations). The server is the real application under uvicorn on
loopback, over the web tests' own store."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
from web_helpers import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parents[3] / "web-assets" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(web_app):
    import uvicorn

    if not CHROMIUM.exists():
        pytest.fail("chromium is missing: run scripts/system-packages chromium (make test does)")
    if not AXE.exists():
        pytest.fail("axe-core is missing: run make web-assets (make test does)")
    port = _free_port()
    config = uvicorn.Config(web_app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


def _axe(page) -> list[str]:
    """axe-core's violations on the page as it is (injected through the debugger, so the page's CSP stays on)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(f"axe.run(document, {{runOnly: {json.dumps(AXE_TAGS)}}})")
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in result["violations"]]


def _sign_in(page, base: str, user: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_load_state("load")


def test_analyst_journey_in_a_browser(server, browser, web_world, tmp_path):
    page = browser.new_page()
    blocked: list[str] = []
    page.on(
        "console",
        lambda m: blocked.append(m.text) if "Content Security Policy" in m.text and "font" not in m.text else None,
    )
    _sign_in(page, server, "analyst")
    assert page.url.endswith(f"/icb/{web_world.icb}")
    assert _axe(page) == []
    assert page.locator("h1").inner_text().endswith(f"({web_world.icb})")

    page.click("text=Fair comparison (funnel) with practice search")
    page.fill("#q", web_world.practice)
    page.click("button:has-text('Search')")
    page.wait_for_url(f"**/funnel?q={web_world.practice}")
    page.wait_for_load_state("load")
    found = page.locator(f"a[href='/practice/{web_world.practice}']").count()
    assert found == 1, page.locator("main").inner_text()[:1500]
    assert _axe(page) == []

    page.click(f"a[href='/practice/{web_world.practice}']")
    page.wait_for_url(f"**/practice/{web_world.practice}")
    assert web_world.practice in page.locator(".nhsuk-caption-l").inner_text()
    page.wait_for_load_state("load")
    chart = page.locator("img[src*='/spc/']").first
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0"), "the SPC chart did not load"
    assert _axe(page) == []

    page.goto(f"{server}/icb/{web_world.icb}/local/upload")
    bad = tmp_path / "local.csv"
    bad.write_text(f"practice_code,indicator,period,value\n{web_world.practice},waits,2025-10,lots\n", encoding="utf-8")
    page.set_input_files("#file", str(bad))
    page.click("button:has-text('Upload')")
    page.wait_for_load_state("load")
    summary = page.locator(".nhsuk-error-summary").inner_text()
    assert "line 2" in summary and "nothing was stored" in summary
    assert _axe(page) == []
    assert blocked == [], f"the page's CSP blocked something: {blocked}"
    page.close()


def test_practice_manager_cannot_reach_another_practice(server, browser, web_world):
    page = browser.new_page()
    _sign_in(page, server, "pm")
    assert page.url.endswith(f"/practice/{web_world.practice}")
    assert _axe(page) == []
    page.goto(f"{server}/practice/{web_world.sibling}")
    assert page.locator("h1").inner_text() == "Page not found"
    assert _axe(page) == []
    page.close()


def test_public_page_logged_out_and_national_page(server, browser):
    page = browser.new_page()
    page.goto(server + "/public")
    assert page.locator("h1").inner_text() == "GP access by practice"
    assert _axe(page) == []
    _sign_in(page, server, "nat")
    assert page.url.endswith("/national")
    assert _axe(page) == []
    page.close()


def test_edit_an_action_and_see_a_conflict_from_two_tabs(server, browser, web_world):
    """Edit an action on the plan page; then two tabs of one browser open the plan, the first saves, and the
    second's save is refused with the plan's current values."""
    context = browser.new_context()
    first = context.new_page()
    _sign_in(first, server, "analyst")
    plan_url = f"{server}/practice/{web_world.practice}/plan"
    first.goto(f"{server}/practice/{web_world.practice}")
    with first.expect_navigation():
        first.click("a:has-text('Open the')")
    first.wait_for_load_state("load")
    assert first.locator("h1").inner_text().startswith("Support plan")
    assert _axe(first) == []

    card = first.locator(".nhsuk-card").first
    card.locator("summary").click()
    card.locator("select[name=status]").select_option("in_progress")
    card.locator("input[name=owner]").fill("Practice manager (browser)")
    with first.expect_navigation():
        card.locator("button[type=submit]").click()
    first.wait_for_load_state("load")
    assert "Saved: the plan is now version" in first.locator("main").inner_text()
    assert first.locator(".nhsuk-card").first.locator("[data-field=owner]").inner_text() == "Practice manager (browser)"
    assert _axe(first) == []

    second = context.new_page()  # a second tab on the same version
    second.goto(plan_url)
    first.goto(plan_url)
    for page, owner in ((first, "Saved in tab one"), (second, "Saved in tab two")):
        card = page.locator(".nhsuk-card").first
        card.locator("summary").click()
        card.locator("input[name=owner]").fill(owner)
        with page.expect_navigation():
            card.locator("button[type=submit]").click()
        page.wait_for_load_state("load")
    summary = second.locator(".nhsuk-error-summary").inner_text()
    assert "Someone else saved this plan since you opened it" in summary
    assert "Nothing of yours was saved" in summary
    assert second.locator(".nhsuk-card").first.locator("[data-field=owner]").inner_text() == "Saved in tab one"
    assert _axe(second) == []

    second.goto(f"{server}/icb/{web_world.icb}/evaluation")
    assert second.locator("h1").inner_text() == "What worked"
    assert _axe(second) == []
    context.close()
