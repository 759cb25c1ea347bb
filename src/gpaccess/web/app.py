"""The web application: `create_app(settings)` builds it once (the services' `App`, templates, security).

Pages are server-rendered Jinja on the NHS.UK frontend (its macros from `nhsuk-frontend-jinja`, its compiled
CSS, JavaScript and images from the pinned npm package, served by the app itself under `/assets`: see
`web.assets`). Core tasks work without JavaScript; every chart is an SVG with a table beside it.

Errors: a `UserError` is answered with its HTTP status and a short page (or JSON under `/api/`); a practice or
ICB outside the user's scope answers exactly as one that does not exist (404, one body for both); anything
else is a 500 with no stack trace.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException as StarletteHTTPException

from gpaccess import __version__
from gpaccess.access.accounts import RateLimit, SessionTimeouts
from gpaccess.access.pseudonym import load_or_create_session_key
from gpaccess.config import Settings
from gpaccess.errors import NotFoundError, UserError
from gpaccess.services.app import App
from gpaccess.web import assets
from gpaccess.web.deps import NotSignedInError, form_token, viewer
from gpaccess.web.security import CSRF_COOKIE, SecurityHeaders

log = logging.getLogger("gpaccess.web")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
NOT_FOUND_TEXT = "Page not found"
NOT_FOUND_DETAIL = "If you typed the web address, check it is correct. You may only see your own ICB or practice."


def templates() -> Environment:
    env = Environment(
        loader=ChoiceLoader([PackageLoader("gpaccess.web"), PackageLoader("nhsuk_frontend_jinja")]),
        autoescape=select_autoescape(("html", "jinja")),
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the package: compiled once, never re-checked on disk per page
    )
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    env.globals["cell"] = table_cell
    env.filters["midsentence"] = _midsentence
    env.filters["measure_title"] = measure_title
    env.globals["version"] = __version__
    env.globals["chrome"] = Chrome(env)
    return env


class Chrome:
    """The site header, footer, skip link and back links, rendered once (per kind of viewer, per link) rather than
    on every page: the NHS.UK header macro took a quarter of a page's rendering, and its output depends only on
    who is signed in; the skip link never changes, and a back link only with where it goes."""

    def __init__(self, env: Environment) -> None:
        self._env = env
        self._headers: dict[tuple[Any, ...], Markup] = {}
        self._footer: Markup | None = None
        self._skip_link: Markup | None = None
        self._back_links: dict[str, Markup] = {}

    def header(self, v: Any) -> Markup:
        # Everything `_header.jinja` reads of the viewer, and nothing else.
        account, principal = v.account, v.principal
        key = (
            v.signed_in,
            principal.role.scope,
            principal.role.title,
            principal.can("read_audit"),
            getattr(account, "icb_code", None),
            getattr(account, "practice_code", None),
            getattr(account, "display_name", None),
        )
        # Bounded: a site has a few kinds of viewer per ICB and practice.
        return _kept(self._headers, key, lambda: Markup(self._env.get_template("_header.jinja").render(viewer=v)))

    def footer(self) -> Markup:
        if self._footer is None:
            self._footer = Markup(self._env.get_template("_footer.jinja").render())
        return self._footer

    def skip_link(self) -> Markup:
        if self._skip_link is None:
            params = {"href": "#maincontent", "text": "Skip to main content"}
            self._skip_link = self._macro("skip-link", "skipLink", params)
        return self._skip_link

    def back_link(self, href: str) -> Markup:
        # Bounded: one per ICB dashboard and plan a page links back to.
        return _kept(
            self._back_links, href, lambda: self._macro("back-link", "backLink", {"href": href, "text": "Back"})
        )

    def _macro(self, component: str, name: str, params: dict[str, Any]) -> Markup:
        """An NHS.UK component's macro called once, as a template would call it."""
        module = self._env.get_template(f"nhsuk/components/{component}/macro.jinja").module
        return Markup(str(getattr(module, name)(params)).strip())


CHROME_ENTRIES = 4096  # rendered pieces kept per kind; past it the kind starts afresh


def _kept(cache: dict[Any, Markup], key: Any, make: Callable[[], Markup]) -> Markup:
    """`cache[key]`, made by `make()` when missing; a full cache is emptied first, so it stays bounded."""
    found = cache.get(key)
    if found is None:
        if len(cache) >= CHROME_ENTRIES:
            cache.clear()
        found = cache[key] = make()
    return found


def _pct(value: Any, digits: int = 1) -> str:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return "not available"
    return "not available" if f != f else f"{f:.{digits}%}"


def measure_title(name: Any) -> str:
    """A measure's title (`appts_per_1000` -> "Appointments per 1,000 …"); anything else as given."""
    from gpaccess.measures.definitions import load_measures

    found = load_measures().get(str(name))
    return found.title if found is not None else str(name)


NOT_AVAILABLE_HTML = '<span class="nhsuk-u-secondary-text-colour">not available</span>'


def table_cell(value: Any) -> Markup:
    """A table cell's value: "not available" for a missing one, floats to 3 decimals below 10 (shares, ratios)
    and to one with thousands separators above. A Python function, not a Jinja macro: pages hold hundreds."""
    return Markup(cell_html(value))


def cell_html(value: Any) -> str:
    """`table_cell` as HTML text, for a caller joining many cells into one `Markup` (a number needs no escaping,
    and a `Markup` object per cell was most of the cost of formatting a table)."""
    if value is None or (isinstance(value, float) and value != value):
        return NOT_AVAILABLE_HTML
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:,.1f}"
    return str(escape(value))


def _midsentence(text: Any) -> str:
    """A title as it reads inside a sentence: "Appointments per 1,000" → "appointments per 1,000"; an initialism
    such as "GP" or "DNA" keeps its capitals."""
    s = str(text)
    return s[0].lower() + s[1:] if len(s) > 1 and s[0].isupper() and s[1].islower() else s


def _num(value: Any, digits: int = 0) -> str:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return "not available"
    return "not available" if f != f else f"{f:,.{digits}f}"


def create_app(
    settings: Settings,
    *,
    home: Path | None = None,
    secure_cookies: bool = True,
    rate_limit: RateLimit | None = None,
    timeouts: SessionTimeouts | None = None,
) -> FastAPI:
    """The application over the installation (or another home, such as the demo's store). `secure_cookies`
    is off only for plain-http on loopback (tests, the demo)."""
    gp_app = App.from_settings(settings, home=home)
    gp_app.reuse_sessions = True
    from gpaccess.web.routes.practice import SPC_MEASURES

    gp_app.shared_series = SPC_MEASURES
    gp_app.ensure_plan_store()
    api = FastAPI(
        title="gpaccess",
        version=__version__,
        description="GP access measures, fair cohort selection and support for England's ICBs. The JSON API "
        "answers under the same scopes as the pages: send `Authorization: Bearer <token>` (`gpaccess users token`).",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    api.state.gp_app = gp_app
    api.state.session_key = load_or_create_session_key(gp_app.home)
    api.state.templates = templates()
    api.state.secure_cookies = secure_cookies
    api.state.rate_limit = rate_limit or RateLimit()
    api.state.timeouts = timeouts or SessionTimeouts()

    folder = assets.folder()
    if folder is not None:
        api.mount("/assets", StaticFiles(directory=folder / "assets"), name="assets")
        api.mount("/static", StaticFiles(directory=folder), name="static")
    else:
        log.warning("the NHS.UK frontend assets are not built: run `make web-assets` (pages will be unstyled)")
    api.mount("/app-static", StaticFiles(packages=[("gpaccess.web", "static")]), name="app-static")

    from gpaccess.web.routes import api as api_routes
    from gpaccess.web.routes import api_local, api_plans, auth, pages, practice, public

    api.include_router(auth.router)
    api.include_router(pages.router)
    api.include_router(practice.router)
    api.include_router(public.router)
    api.include_router(api_routes.router)
    api.include_router(api_local.router)
    api.include_router(api_plans.router)
    _errors(api)
    api.add_middleware(SecurityHeaders, max_body=MAX_UPLOAD_BYTES, secure_cookies=secure_cookies)
    return api


@dataclass(frozen=True)
class ServeOptions:
    """What `gpaccess serve` adds to the settings: another home (the demo's), secure cookies (off only on
    loopback) and requests served at once per process. Passed to worker processes through the environment."""

    home: Path | None = None
    secure_cookies: bool = True
    threads: int = 8

    def to_environment(self) -> dict[str, str]:
        out = {"GPACCESS_SERVE_SECURE_COOKIES": "1" if self.secure_cookies else "0",
               "GPACCESS_SERVE_THREADS": str(self.threads)}  # fmt: skip
        if self.home is not None:
            out["GPACCESS_SERVE_HOME"] = str(self.home)
        return out

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> ServeOptions:
        home = env.get("GPACCESS_SERVE_HOME")
        return cls(
            home=Path(home) if home else None,
            secure_cookies=env.get("GPACCESS_SERVE_SECURE_COOKIES", "1") != "0",
            threads=int(env.get("GPACCESS_SERVE_THREADS", "8")),
        )


def create_served_app(settings: Settings, options: ServeOptions) -> FastAPI:
    """The application as `gpaccess serve` runs it: `options` applied, at most `threads` requests at once (each
    thread keeps its own DuckDB connection)."""
    api = create_app(settings, home=options.home, secure_cookies=options.secure_cookies)

    @api.on_event("startup")
    async def _start() -> None:
        import threading

        import anyio.to_thread

        from gpaccess.services.measures import measure_session

        anyio.to_thread.current_default_thread_limiter().total_tokens = options.threads
        # Compute the store's measures now, not in the first signed-in request (each process has its own).
        threading.Thread(target=_warm, args=(api.state.gp_app, measure_session), daemon=True).start()

    return api


def _warm(gp_app: App, measure_session: Any) -> None:
    try:
        measure_session(gp_app)
    except UserError as exc:  # e.g. an empty store: the pages say so when asked
        log.warning("measures not computed at start: %s", exc)
    finally:
        gp_app.warehouse.forget_thread_connection()  # this thread ends here


def prepare_for_processes(settings: Settings, options: ServeOptions) -> None:
    """Create what every worker process would otherwise race to create: the plan store and the session key."""
    gp_app = App.from_settings(settings, home=options.home)
    gp_app.ensure_plan_store()
    load_or_create_session_key(gp_app.home)
    gp_app.close()


def app_from_environment() -> FastAPI:
    """The application in one of several `gpaccess serve --workers N` processes: the settings and serve options
    from the environment the parent process set (uvicorn starts each worker by this factory's import path)."""
    return create_served_app(Settings.from_env(), ServeOptions.from_environment(os.environ))


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page: the template with the viewer, the CSP nonce and a CSRF token for its forms."""
    v = viewer(request)
    env: Environment = request.app.state.templates
    html = env.get_template(template).render(
        request=request,
        viewer=v,
        cspNonce=request.scope.get("state", {}).get("csp_nonce"),
        csrf_token=form_token(request),
        assets_built=assets.folder() is not None,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    seed = request.state.__dict__.get("new_csrf_seed")
    if seed:
        response.set_cookie(
            CSRF_COOKIE, seed, httponly=True, samesite="strict", secure=request.app.state.secure_cookies, path="/"
        )
    return response


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _errors(api: FastAPI) -> None:
    @api.exception_handler(NotSignedInError)
    async def not_signed_in(request: Request, exc: NotSignedInError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "sign in first: send Authorization: Bearer <token>"}, status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @api.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError) -> Response:
        return _error_response(request, exc.http_status, str(exc), isinstance(exc, NotFoundError))

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_response(request, exc.status_code, str(exc.detail), exc.status_code == 404)

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        if _is_api(request):
            return JSONResponse({"detail": problems}, status_code=422)
        return _error_response(request, 422, "; ".join(problems), False)

    @api.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return _error_response(request, 500, "Something went wrong on our side. It has been logged.", False)


def _error_response(request: Request, status: int, message: str, not_found: bool) -> Response:
    if not_found or status == 404:
        # One body for "does not exist" and "not yours": nothing in it depends on what was asked for.
        if _is_api(request):
            return JSONResponse({"detail": "not found"}, status_code=404)
        return render(request, "error.jinja", 404, title=NOT_FOUND_TEXT, message=NOT_FOUND_DETAIL)
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    title = {403: "You cannot do that", 413: "Too large", 429: "Too many attempts"}.get(status, "There is a problem")
    return render(request, "error.jinja", status, title=title, message=message)
