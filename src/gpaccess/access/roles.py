"""Roles as data (`roles.toml`), permissions as an enum: what each kind of user may do.

Scope — which ICB's or practice's named data — is not part of a role: it comes with the user (their ICB code or
practice code) and is carried by the `Principal` every service function takes.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Literal


class Permission(StrEnum):
    READ_NAMED = "read_named"  # named practice data within the user's scope
    INGEST = "ingest"  # put published files into the analytical store, roll releases back
    RUN_COHORT = "run_cohort"  # run and store a cohort selection
    OVERRIDE = "override"  # add or remove a practice from a cohort, with a reason
    UPLOAD_LOCAL = "upload_local"  # upload the ICB's local indicators
    EDIT_PLANS = "edit_plans"  # draw up and track support plans
    COMMENT_PLANS = "comment_plans"  # comment on the actions of one's own practice's plan
    READ_AGGREGATES = "read_aggregates"  # aggregates and pseudonymised returns, never named cohorts
    MANAGE_USERS = "manage_users"
    READ_AUDIT = "read_audit"


Scope = Literal["national", "icb", "practice"]


@dataclass(frozen=True)
class Role:
    name: str
    title: str
    scope: Scope
    permissions: frozenset[Permission]


@cache
def roles() -> dict[str, Role]:
    raw = tomllib.loads(resources.files("gpaccess.access").joinpath("roles.toml").read_text(encoding="utf-8"))
    return {
        name: Role(name, body["title"], body["scope"], frozenset(Permission(p) for p in body["permissions"]))
        for name, body in raw.items()
    }


def role(name: str) -> Role:
    try:
        return roles()[name]
    except KeyError:
        from gpaccess.errors import UserError

        raise UserError(f"no role {name!r}: roles are {', '.join(sorted(roles()))}") from None
