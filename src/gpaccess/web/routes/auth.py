"""Signing in and out, and the start page (which sends each role to its own page)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from gpaccess.access.accounts import LoginRefusedError, TooManyAttemptsError
from gpaccess.services import accounts
from gpaccess.web.app import render
from gpaccess.web.deps import Viewer, check_csrf, get_app, signed_in, viewer
from gpaccess.web.security import SESSION_COOKIE

router = APIRouter(include_in_schema=False)


def _home(v: Viewer) -> str:
    if not v.signed_in or v.account is None:
        return "/public"
    scope = v.principal.role.scope
    if scope == "icb":
        return f"/icb/{v.account.icb_code}"
    if scope == "practice":
        return f"/practice/{v.account.practice_code}"
    return "/national"


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (never //host or a scheme): no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/")
def start(v: Viewer = Depends(viewer)) -> Response:  # noqa: B008
    return RedirectResponse(_home(v), status_code=303)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.jinja", title="Sign in", next=_safe_next(next) or "", username="", error=None)


@router.post("/login", dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
) -> Response:
    app = get_app(request)
    client = request.client.host if request.client else "unknown"
    try:
        done = accounts.sign_in(
            app, username=username, password=password, client=client, limit=request.app.state.rate_limit
        )
    except (LoginRefusedError, TooManyAttemptsError) as exc:
        status = 429 if isinstance(exc, TooManyAttemptsError) else 401
        return render(request, "login.jinja", status, title="Sign in", next=next, username=username, error=str(exc))
    response = RedirectResponse(_safe_next(next) or _home(Viewer(done.principal, done.account, None, None)), 303)
    response.set_cookie(
        SESSION_COOKIE,
        done.token,
        httponly=True,
        secure=request.app.state.secure_cookies,
        samesite="strict",
        path="/",
        max_age=int(request.app.state.timeouts.absolute.total_seconds()),
    )
    return response


@router.get("/logout")
def logout_page(request: Request, v: Viewer = Depends(signed_in)) -> Response:  # noqa: B008
    return render(request, "logout.jinja", title="Sign out")


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, v: Viewer = Depends(signed_in)) -> Response:  # noqa: B008
    if v.session_token:
        accounts.sign_out(get_app(request), v.session_token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
