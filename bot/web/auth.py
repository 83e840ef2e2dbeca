"""Who may look: nobody is asked on 127.0.0.1; with a token (JIELONG_WEB_TOKEN) every request
needs the login cookie or `Authorization: Bearer <token>`.

The cookie holds an HMAC of the token, never the token, and the token only ever arrives in a
POST body or a header: it is in no URL, so in no access log.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from urllib.parse import quote

from starlette.datastructures import Headers
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "jielong_login"
MIN_TOKEN_LENGTH = 16


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: only this machine can connect."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_problem(token: str | None) -> str | None:
    """Why this token cannot guard the dashboard, or None when it can."""
    if token is None:
        return None
    if len(token) < MIN_TOKEN_LENGTH or token != token.strip():
        return f"JIELONG_WEB_TOKEN must be at least {MIN_TOKEN_LENGTH} characters, without surrounding spaces"
    return None


def cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"jielong dashboard login", hashlib.sha256).hexdigest()


def token_matches(token: str, given: str) -> bool:
    return hmac.compare_digest(token.encode(), given.encode())


def safe_next(path: str | None) -> str:
    """Where to go after logging in: a path of this site only (no //host, no scheme)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


class LoginRequired:
    """ASGI middleware: without a valid cookie or bearer token, pages redirect to /login."""

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.token = token
        self.cookie = cookie_value(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "/")
        if path.startswith("/charts/") or scope.get("method") != "GET":
            response: Response = Response("login required", status_code=401, media_type="text/plain")
        else:
            query = scope.get("query_string", b"").decode("latin-1")
            target = path + ("?" + query if query else "")
            response = RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
        await response(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        path = scope.get("path", "/")
        if path == "/login" or path.startswith("/static/"):
            return True
        headers = Headers(scope=scope)
        authorization = headers.get("authorization", "")
        if authorization.startswith("Bearer ") and token_matches(self.token, authorization[7:].strip()):
            return True
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and hmac.compare_digest(value.encode(), self.cookie.encode()):
                return True
        return False
