"""Web accounts as the CLI (`gpaccess users`) and the web application use them.

Managing users needs the `manage_users` permission over the user's ICB (an ICB administrator manages their
own ICB's users; the installation's operator every ICB's). Signing in, sessions and API tokens are the web
application's: they turn a secret the browser or client holds into the principal every route acts as.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpaccess.access import accounts
from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.access.users import UserOut, get_user
from gpaccess.errors import NotFoundError
from gpaccess.services.app import App


def _require_manage(principal: Principal, icb_code: str | None) -> None:
    principal.require(Permission.MANAGE_USERS)
    if icb_code and not principal.sees_icb(icb_code):
        raise NotFoundError(f"no ICB {icb_code.upper()!r} in the store (see `gpaccess icbs`)")
    if not icb_code and principal.icb_codes is not None:
        raise NotFoundError("only the installation's operator manages national and practice users")


def add_user(
    app: App,
    *,
    principal: Principal,
    username: str,
    display_name: str,
    role: str,
    password: str,
    icb_code: str | None = None,
    practice_code: str | None = None,
) -> UserOut:
    _require_manage(principal, icb_code)
    with app.plan_session() as db:
        return accounts.add_account(
            db,
            username=username,
            display_name=display_name,
            role=role,
            password=password,
            icb_code=icb_code,
            practice_code=practice_code,
            user=principal.actor,
        )


def _existing(app: App, principal: Principal, username: str) -> UserOut:
    with app.plan_session() as db:
        found = get_user(db, username)
    if found is None or (principal.icb_codes is not None and not principal.sees_icb(found.icb_code or "")):
        raise NotFoundError(f"no user {username!r} (see `gpaccess users list`)")
    return found


def remove_user(app: App, *, principal: Principal, username: str) -> None:
    found = _existing(app, principal, username)
    _require_manage(principal, found.icb_code)
    with app.plan_session() as db:
        accounts.remove_account(db, username=username, user=principal.actor)


def set_role(
    app: App,
    *,
    principal: Principal,
    username: str,
    role: str,
    icb_code: str | None = None,
    practice_code: str | None = None,
) -> UserOut:
    found = _existing(app, principal, username)
    _require_manage(principal, icb_code or found.icb_code)
    with app.plan_session() as db:
        return accounts.set_role(
            db, username=username, role=role, icb_code=icb_code, practice_code=practice_code, user=principal.actor
        )


def set_password(app: App, *, principal: Principal, username: str, password: str) -> None:
    found = _existing(app, principal, username)
    _require_manage(principal, found.icb_code)
    with app.plan_session() as db:
        accounts.set_password(db, username=username, password=password, user=principal.actor)


def list_users(app: App, *, principal: Principal) -> list[UserOut]:
    principal.require(Permission.MANAGE_USERS)
    with app.plan_session() as db:
        found = accounts.list_accounts(db)
    return [u for u in found if principal.icb_codes is None or principal.sees_icb(u.icb_code or "")]


def create_api_token(app: App, *, principal: Principal, username: str, label: str) -> str:
    """An API token for the user (printed once): the JSON API then acts as that user, in their role."""
    found = _existing(app, principal, username)
    _require_manage(principal, found.icb_code)
    with app.plan_session() as db:
        return accounts.create_token(db, username=username, label=label, user=principal.actor)


# -- the web application's side ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignedIn:
    account: UserOut
    principal: Principal
    token: str


def sign_in(
    app: App, *, username: str, password: str, client: str, limit: accounts.RateLimit | None = None
) -> SignedIn:
    """Check a password (rate limited per name and per client) and start a session."""
    with app.plan_session() as db:
        account = accounts.authenticate(db, username=username, password=password, client=client, limit=limit)
    if account is None:
        raise accounts.LoginRefusedError("wrong user name or password")
    with app.plan_session() as db:
        token = accounts.start_session(db, username=account.username)
    return SignedIn(account, accounts.principal_for(account), token)


def session_principal(
    app: App, token: str, timeouts: accounts.SessionTimeouts | None = None
) -> tuple[UserOut, Principal] | None:
    with app.plan_session() as db:
        account = accounts.resolve_session(db, token, timeouts)
    return None if account is None else (account, accounts.principal_for(account))


def token_principal(app: App, token: str) -> tuple[UserOut, Principal] | None:
    with app.plan_session() as db:
        account = accounts.resolve_token(db, token)
    return None if account is None else (account, accounts.principal_for(account))


def sign_out(app: App, token: str) -> None:
    with app.plan_session() as db:
        accounts.end_session(db, token)
