"""The web application over its own copy of the synthetic store: two ICBs with stored cohort runs, one user
of each role (and of each role in a second ICB and practice, for the scope matrix)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web tests need the web extra: pip install -e '.[web,dev]'")

from fastapi.testclient import TestClient
from web_helpers import PASSWORD, api_tokens, copy_world, sign_in

from gpaccess.access.principal import cli_principal
from gpaccess.config import Settings
from gpaccess.services import accounts, cohort, profiles, progress
from gpaccess.services import plans as plan_service
from gpaccess.services.app import App
from gpaccess.services.measures import measure_session
from gpaccess.web.app import create_app


@dataclass(frozen=True)
class WebWorld:
    home: Path
    settings: Settings
    icb: str  # the users' own ICB
    other_icb: str
    practice: str  # a practice of `icb` (the practice user's own)
    sibling: str  # another practice of `icb`
    other_practice: str  # a practice of `other_icb`
    users: dict[str, str]  # user name -> role
    pristine: Path | None = None  # the home as built, before any test wrote in it


@pytest.fixture(scope="session")
def web_world(synthetic_store, tmp_path_factory) -> WebWorld:
    home, _ = synthetic_store
    own = tmp_path_factory.mktemp("web") / "home"
    shutil.copytree(home / "store", own / "store", ignore=shutil.ignore_patterns("write.lock", "tmp"))
    settings = Settings(home=own)
    app = App.from_settings(settings)
    admin = cli_principal("web-test-setup")
    directory = measure_session(app).directory().dropna(subset=["icb_code"]).sort_values("practice_code")
    icbs = sorted(directory.icb_code.unique())
    icb, other = icbs[0], icbs[1]
    mine = list(directory[directory.icb_code == icb].practice_code)
    theirs = list(directory[directory.icb_code == other].practice_code)
    for code in (icb, other):
        cohort.run_cohort(app, principal=admin, icb_code=code)
    cycle = plan_service.list_cycles(app, principal=admin)[0][0].name
    for code, practice in ((icb, mine[0]), (other, theirs[0])):  # a plan for the practice user's practice and one
        (found,) = profiles.suggest_for_icb(  # in the other ICB, so the scope matrix reaches plan pages
            app, principal=admin, icb_code=code, cycle=cycle, practice_codes=[practice]
        )
        plan_service.create_plan(
            app, principal=admin, icb_code=code, practice=found, cycle=cycle,
            extra=() if found.suggestions else ("care_navigation",),
        )  # fmt: skip
    progress.recompute(app, principal=admin)  # the plans' verdicts, as after an ingest
    users = {
        "nat": ("national", None, None),
        "reg": ("regional", None, None),
        "admin": ("icb_admin", icb, None),
        "analyst": ("icb_analyst", icb, None),
        "other-analyst": ("icb_analyst", other, None),
        "pm": ("practice", None, mine[0]),
        "other-pm": ("practice", None, theirs[0]),
    }
    for name, (role, code, practice) in users.items():
        accounts.add_user(
            app, principal=admin, username=name, display_name=name.title(), role=role, password=PASSWORD,
            icb_code=code, practice_code=practice,
        )  # fmt: skip
    app.close()
    pristine = own.parent / "pristine"  # as built, before any test writes: what `copy_world` copies
    shutil.copytree(own, pristine, ignore=shutil.ignore_patterns("write.lock", "tmp"))
    return WebWorld(
        own, settings, icb, other, mine[0], mine[1], theirs[0], {k: v[0] for k, v in users.items()}, pristine
    )


@pytest.fixture(scope="session")
def web_app(web_world):
    return create_app(web_world.settings, secure_cookies=False)


@pytest.fixture(scope="session")
def clients(web_app, web_world) -> dict[str, TestClient]:
    """A signed-in client per user (and `anon`), kept for the session."""
    out = {"anon": TestClient(web_app)}
    for name in web_world.users:
        c = TestClient(web_app)
        assert sign_in(c, name).status_code == 303
        out[name] = c
    return out


@dataclass(frozen=True)
class ApiWorld:
    world: WebWorld
    app: object  # the FastAPI application over the world's copy
    tokens: dict[str, str]  # user name -> bearer token

    def client(self, user: str | None = None) -> TestClient:
        c = TestClient(self.app)  # type: ignore[arg-type]
        if user is not None:
            c.headers["Authorization"] = f"Bearer {self.tokens[user]}"
        return c


@pytest.fixture(scope="module")
def api_world(web_world, tmp_path_factory) -> ApiWorld:
    """A copy of the web world for one module's API writes (cohort runs, overrides, uploads, plan changes)."""
    world = copy_world(web_world, tmp_path_factory.mktemp("api") / "home")
    return ApiWorld(world, create_app(world.settings, secure_cookies=False), api_tokens(world))
