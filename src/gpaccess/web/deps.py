"""Who is asking: the one dependency every route takes (`viewer`, or `require(permission)`).

A browser is signed in by its HttpOnly session cookie; an API client by `Authorization: Bearer <token>`.
Either way the route gets the signed-in user's `Principal` (their role over their own ICB or practice) and
hands it to the service functions, which check scope: another ICB's or practice's named data is answered
exactly as data that does not exist. A visitor who has not signed in is the anonymous principal (public pages
only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from gpaccess.access.accounts import anonymous
from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.access.users import UserOut
from gpaccess.errors import UserError
from gpaccess.services import accounts as account_service
from gpaccess.services.app import App
from gpaccess.web.security import CSRF_COOKIE, SESSION_COOKIE, csrf_ok, csrf_token


class NotSignedInError(UserError):
    """No live session (or API token): pages send the browser to sign in, the API answers 401."""

    exit_code = 12
    http_status = 401


class CsrfError(UserError):
    exit_code = 12
    http_status = 403


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    account: UserOut | None
    session_token: str | None
    csrf_seed: str | None
    via_token: bool = False

    @property
    def signed_in(self) -> bool:
        return self.account is not None


def get_app(request: Request) -> App:
    return request.app.state.gp_app


def _key(request: Request) -> bytes:
    return request.app.state.session_key


def viewer(request: Request) -> Viewer:
    cached = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    app = get_app(request)
    found = None
    token = None
    via_token = False
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and request.url.path.startswith("/api/"):
        found = account_service.token_principal(app, auth[7:].strip())
        via_token = True
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            found = account_service.session_principal(app, token, request.app.state.timeouts)
    if found is None:
        v = Viewer(anonymous(), None, None, request.cookies.get(CSRF_COOKIE))
    else:
        v = Viewer(found[1], found[0], token, token, via_token)
    request.state.viewer = v
    return v


# The checks below read only the viewer, so they are coroutines: FastAPI runs a plain function dependency in a
# worker thread, and each such hop (a queue put, a thread woken, the result handed back) cost more than the check.
async def signed_in(v: Viewer = Depends(viewer)) -> Viewer:  # noqa: B008 - FastAPI's dependency idiom
    principal_of(v)
    return v


def principal_of(v: Viewer, permission: Permission | None = None) -> Principal:
    """The signed-in viewer's principal, refused (401) when nobody is signed in and (403) without `permission`."""
    if not v.signed_in:
        raise NotSignedInError("sign in first")
    if permission is not None:
        v.principal.require(permission)
    return v.principal


def require(permission: Permission | None = None) -> Callable[..., Any]:
    """The signed-in user's principal, refused (403) without `permission`; scope is the services' to check."""

    async def dependency(v: Viewer = Depends(viewer)) -> Principal:  # noqa: B008
        return principal_of(v, permission)

    return dependency


def form_token(request: Request) -> str:
    """The CSRF token a form on this page carries."""
    v = viewer(request)
    seed = v.csrf_seed or request.state.__dict__.setdefault("new_csrf_seed", _new_seed())
    return csrf_token(_key(request), seed)


def _new_seed() -> str:
    import secrets

    return secrets.token_urlsafe(24)


async def check_csrf(request: Request) -> None:
    """Refuse a form POST whose `csrf_token` is not this browser's (API calls with a bearer token need none)."""
    v = viewer(request)
    if v.via_token:
        return
    form = await request.form()
    given = form.get("csrf_token")
    if not csrf_ok(_key(request), v.csrf_seed, given if isinstance(given, str) else None):
        raise CsrfError("the form has expired or did not come from this site: reload the page and try again")
