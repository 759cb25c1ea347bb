"""Helpers shared by the web tests (a module of its own name, so no other folder's conftest shadows it)."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text), "next": ""},
        follow_redirects=False,
    )


def copy_world(world, folder: Path):
    """The world's whole home (store, plan store, keys) as it was built, copied, for tests that write: the
    session's world stays as the other web tests expect it, and the copy never holds what other test files
    wrote in the session's world before (their order differs when the tests run on several CPUs)."""
    from gpaccess.config import Settings

    source = world.pristine or world.home
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("write.lock", "tmp"))
    return dataclasses.replace(world, home=folder, settings=Settings(home=folder))


def api_tokens(world) -> dict[str, str]:
    """A bearer token for each of the world's users."""
    from gpaccess.access.principal import cli_principal
    from gpaccess.services import accounts
    from gpaccess.services.app import App

    app = App.from_settings(world.settings)
    try:
        admin = cli_principal("web-test-setup")
        return {u: accounts.create_api_token(app, principal=admin, username=u, label="tests") for u in world.users}
    finally:
        app.close()
