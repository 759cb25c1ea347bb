"""One demo user per role over the demo store (`gpaccess serve --demo`), with fresh passwords each start."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from gpaccess.access import accounts
from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.access.users import get_user
from gpaccess.services.app import App
from gpaccess.services.measures import measure_session


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    scope: str
    password: str


def ensure_demo_users(app: App, *, principal: Principal) -> list[DemoUser]:
    """Create (or reset the passwords of) demo users: national, regional, an ICB admin and analyst of the first
    ICB, an analyst of the second, and the manager of the first ICB's first practice."""
    principal.require(Permission.MANAGE_USERS)
    directory = measure_session(app).directory().dropna(subset=["icb_code"]).sort_values("practice_code")
    icbs = sorted(directory.icb_code.unique())
    first = icbs[0]
    second = icbs[1] if len(icbs) > 1 else icbs[0]
    practice = str(directory[directory.icb_code == first].practice_code.iloc[0])
    wanted = [
        ("demo-national", "national", None, None),
        ("demo-regional", "regional", None, None),
        ("demo-admin", "icb_admin", first, None),
        ("demo-analyst", "icb_analyst", first, None),
        ("demo-analyst-2", "icb_analyst", second, None),
        ("demo-practice", "practice", None, practice),
    ]
    made = []
    with app.plan_session() as db:
        for username, role, icb, prac in wanted:
            password = secrets.token_urlsafe(12)
            if get_user(db, username) is None:
                accounts.add_account(
                    db, username=username, display_name=username, role=role, password=password,
                    icb_code=icb, practice_code=prac, user=principal.actor,
                )  # fmt: skip
            else:
                accounts.set_role(
                    db, username=username, role=role, icb_code=icb, practice_code=prac, user=principal.actor
                )
                accounts.set_password(db, username=username, password=password, user=principal.actor)
            made.append(
                DemoUser(
                    username, role, f"practice {prac}" if prac else f"ICB {icb}" if icb else "aggregates", password
                )
            )
    return made
