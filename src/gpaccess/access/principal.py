"""The principal: who is acting, in which role, over which scope. Every service function takes one.

The CLI's principal is the operating-system user (or `--as USER`, recorded as given and marked unverified)
with the installation's scope: one installation per ICB by default, so every ICB in its store unless
`GPACCESS_SCOPE_ICBS` narrows it. The web application's principal is the signed-in user with their role and
their own ICB or practice.

Scope checks answer an out-of-scope ICB or practice exactly as a missing one (`NotFoundError`), so a user
cannot learn what exists outside their scope; a missing permission is `ForbiddenError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from gpaccess.access.roles import Permission, Role, role
from gpaccess.errors import ForbiddenError, NotFoundError


@dataclass(frozen=True)
class Principal:
    user: str
    role: Role
    icb_codes: frozenset[str] | None = None  # None: every ICB (the installation's operator)
    practice_codes: frozenset[str] | None = None  # a practice user's own practice(s); None: not limited
    verified: bool = True  # False: a name given on the command line (`--as`), not authenticated

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return self.user if self.verified else f"{self.user} (unverified --as)"

    def can(self, permission: Permission) -> bool:
        return permission in self.role.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise ForbiddenError(f"{self.user} ({self.role.title}) may not {permission.value.replace('_', ' ')}")

    def sees_icb(self, icb_code: str) -> bool:
        if self.role.scope == "national":
            return False  # national and regional roles never see named data
        return self.icb_codes is None or icb_code.upper() in self.icb_codes

    def require_icb(self, icb_code: str) -> str:
        """The ICB code (upper case) if this principal may read its named data; otherwise exactly the error a
        missing ICB gives."""
        code = icb_code.strip().upper()
        self.require(Permission.READ_NAMED)
        if not self.sees_icb(code) or self.role.scope == "practice":
            raise NotFoundError(f"no ICB {code!r} in the store (see `gpaccess icbs`)")
        return code

    def sees_practice(self, practice_code: str, icb_code: str | None) -> bool:
        code = practice_code.upper()
        if self.role.scope == "practice":
            return self.practice_codes is not None and code in self.practice_codes
        return icb_code is not None and self.sees_icb(icb_code)

    def require_practice(self, practice_code: str, icb_code: str | None) -> str:
        code = practice_code.strip().upper()
        self.require(Permission.READ_NAMED)
        if not self.sees_practice(code, icb_code):
            raise NotFoundError(
                f"no practice {code!r} in the store (practice codes look like A81001; an ICB's practices: "
                "`gpaccess measures --icb CODE`, ICB codes: `gpaccess icbs`)"
            )
        return code

    def visible_icbs(self, known: Iterable[str]) -> list[str]:
        return sorted(c for c in known if c and self.sees_icb(c))


def operating_system_user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # pragma: no cover - non-POSIX
        return os.environ.get("USER", "unknown")


def cli_principal(as_user: str | None = None, *, scope_icbs: Iterable[str] | None = None) -> Principal:
    """The CLI's principal: the operating-system user, or `--as USER` recorded as given (unverified), acting as
    the installation's administrator over its scope."""
    scope = frozenset(c.strip().upper() for c in scope_icbs if c.strip()) if scope_icbs is not None else None
    return Principal(
        user=as_user.strip() if as_user else operating_system_user(),
        role=role("icb_admin"),
        icb_codes=scope or None,
        verified=not as_user,
    )
