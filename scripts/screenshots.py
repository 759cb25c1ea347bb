"""Screenshots of the main pages (`make screenshots`), written to docs/screenshots/, over the demo store.

Serves the web application on a free loopback port in this process, signs in as the demo users (fresh
passwords) and captures each page with Debian's chromium. Run `make demo` first.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from gpaccess.access.principal import cli_principal
from gpaccess.config import Settings
from gpaccess.services.app import App
from gpaccess.services.demo_users import ensure_demo_users
from gpaccess.web.app import create_app

OUT = Path(__file__).parents[1] / "docs" / "screenshots"


def main() -> int:
    settings = Settings.from_env()
    home = settings.home / "demo"
    if not (home / "store" / "manifest.json").exists():
        print("no demo store: run `make demo` first", file=sys.stderr)
        return 1
    users = {u.role if u.username != "demo-analyst-2" else "other": u for u in ensure_demo_users(
        App.from_settings(settings, home=home), principal=cli_principal())}  # fmt: skip
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, home=home, secure_cookies=False), port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    analyst = users["icb_analyst"]
    icb = analyst.scope.split()[-1]
    practice = users["practice"].scope.split()[-1]
    shots = [
        (None, "/public", "public"),
        ("icb_analyst", f"/icb/{icb}", "icb-dashboard"),
        ("icb_analyst", f"/icb/{icb}/funnel?q=SURGERY", "funnel-search"),
        ("icb_analyst", f"/practice/{practice}", "practice"),
        ("icb_analyst", f"/icb/{icb}/local", "local-data"),
        ("icb_analyst", f"/icb/{icb}/local/upload", "upload"),
        ("icb_analyst", f"/icb/{icb}/evaluation", "what-worked"),
        ("icb_admin", f"/icb/{icb}/audit", "audit-log"),
        ("national", "/national", "national"),
        (None, "/login", "login"),
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        pages = {}
        for role, path, name in shots:
            if role not in pages:
                pages[role] = browser.new_page(viewport={"width": 1280, "height": 1000})
                if role:
                    pages[role].goto(base + "/login")
                    pages[role].fill("#username", users[role].username)
                    pages[role].fill("#password", users[role].password)
                    pages[role].click("button[type=submit]")
            page = pages[role]
            page.goto(base + path)
            page.wait_for_load_state("load")
            page.screenshot(path=str(OUT / f"{name}.png"))
            print(f"wrote {OUT / name}.png")
        browser.close()
    server.should_exit = True
    return 0


if __name__ == "__main__":
    sys.exit(main())
