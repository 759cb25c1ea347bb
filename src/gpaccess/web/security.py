"""Security plumbing: response headers with a per-response CSP nonce, CSRF tokens, request size limits.

- Content-Security-Policy (DESIGN "Charts and CSP"): scripts only from the app itself, plus the NHS.UK
  template's one inline snippet, which carries the response's nonce; no `unsafe-eval`, no other inline script;
  styles and images from the app; `frame-ancestors 'none'`. Charts are server-rendered SVG with a table beside
  each, so nothing needs more.
- CSRF: every form carries `csrf_token`, an HMAC (the installation's session key under GPACCESS_HOME) of the
  browser's session secret, or before sign-in of a random `gpaccess_csrf` cookie: a page from another site
  can neither read nor make it. POSTs without the right token are refused (403).
- Bodies over the limit are refused (413) before they are read whole (as JSON `{"detail": ...}` under `/api/`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "gpaccess_session"
CSRF_COOKIE = "gpaccess_csrf"


def content_security_policy(nonce: str) -> str:
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def csrf_token(key: bytes, seed: str) -> str:
    return hmac.new(key, b"csrf:" + seed.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, seed: str | None, given: str | None) -> bool:
    return bool(seed and given) and hmac.compare_digest(csrf_token(key, seed or ""), given or "")


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


class SecurityHeaders:
    """ASGI middleware: a nonce per request (`scope["state"]["csp_nonce"]`) and the security headers on every
    response; the body size limit on every request."""

    def __init__(self, app: ASGIApp, *, max_body: int, secure_cookies: bool) -> None:
        self.app = app
        self.max_body = max_body
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = new_nonce()
        scope.setdefault("state", {})["csp_nonce"] = nonce
        length = dict(scope.get("headers") or []).get(b"content-length")
        api = str(scope.get("path", "")).startswith("/api/")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _too_large(send, self.max_body, nonce, api=api)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLargeError
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                _add_headers(headers, nonce)
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLargeError:
            await _too_large(send, self.max_body, nonce, api=api)


class BodyTooLargeError(Exception):
    pass


CHART_CSP_HEADER = "x-chart-csp"  # a chart image's own, stricter-for-scripts policy (web.charts)


def _add_headers(headers: MutableHeaders, nonce: str) -> None:
    chart_policy = headers.get(CHART_CSP_HEADER)
    if chart_policy:
        del headers[CHART_CSP_HEADER]
    headers["Content-Security-Policy"] = chart_policy or content_security_policy(nonce)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    headers.setdefault("Cache-Control", "no-store")


async def _too_large(send: Send, limit: int, nonce: str, *, api: bool = False) -> None:
    import json

    text = f"The upload is too large: at most {limit // (1024 * 1024)} MB."
    body = json.dumps({"detail": text}).encode() if api else text.encode()
    headers = MutableHeaders(raw=[])
    headers["content-type"] = "application/json" if api else "text/plain; charset=utf-8"
    headers["content-length"] = str(len(body))
    _add_headers(headers, nonce)
    await send({"type": "http.response.start", "status": 413, "headers": headers.raw})
    await send({"type": "http.response.body", "body": body})
