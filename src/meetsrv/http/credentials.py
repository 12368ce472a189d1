"""Reading a request's credential: one module for every door and its WebSockets.

A door picks its extractors (in order); the first that finds a credential wins. Checking it is
the core's job (core/accounts/credentials.py, jwt.py): the door passes `check(credential)`,
which answers the user id or None. `authenticate` is the one place that records the user id on
the request (`request.meetsrv_user_id`, read by the access log).

Extractors take a Twisted request or an Autobahn ConnectionRequest (a WebSocket handshake).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from autobahn.websocket.types import ConnectionRequest

from meetsrv.http.answers import query_arg

SAFE_METHODS = (b"GET", b"HEAD", b"OPTIONS")


@dataclass(frozen=True)
class Credential:
    token: str
    source: str  # the extractor's name: "token", "bearer", "header", "query", "cookie"
    # sent by a browser on its own (a cookie): an unsafe method must also pass the CSRF check
    csrf: CsrfCheck | None = None


class CredentialMissing(Exception):
    """No credential of the door's kinds was sent."""


class CredentialRefused(Exception):
    """A credential was sent but is malformed, unknown or expired. `detail` is DRF's wording
    (TokenAuthentication), which the DRF doors answer with; the others use their own."""

    def __init__(self, detail: str = "Invalid token."):
        super().__init__(detail)
        self.detail = detail


class CsrfRefused(Exception):
    """A cookie-authenticated unsafe request without the matching CSRF token."""


class SocketHandshake(ConnectionRequest):
    """A WebSocket handshake that keeps the credential read from it: the socket is counted and
    closed under it (ws/registry.py). ws/protocol.py hands one to every socket's `authorize`."""

    __slots__ = ("credential",)

    @classmethod
    def of(cls, request: ConnectionRequest) -> SocketHandshake:
        handshake = cls(request.peer, request.headers, request.host, request.path, request.params,
                        request.version, request.origin, request.protocols, request.extensions)
        handshake.credential = None
        return handshake


# -- reading a request or a handshake ------------------------------------------------------------

def header(request, name: str) -> str | None:
    """A header's value; `name` lower-case."""
    if isinstance(request, ConnectionRequest):
        return request.headers.get(name)
    value = request.getHeader(name.encode())
    if value is None:
        return None
    return value.decode("latin-1") if isinstance(value, bytes) else value


def query_value(request, name: str) -> str | None:
    """The first value of a query parameter (None when absent or not UTF-8)."""
    if isinstance(request, ConnectionRequest):
        values = request.params.get(name)
        return values[0] if values else None
    return query_arg(request, name)


def cookie(request, name: str) -> str | None:
    if isinstance(request, ConnectionRequest):
        for part in (request.headers.get("cookie") or "").split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                return value.strip().strip('"')
        return None
    value = request.getCookie(name.encode())
    return value.decode("latin-1") if value else None


def method(request) -> bytes:
    return b"GET" if isinstance(request, ConnectionRequest) else request.method


# -- extractors: request -> Credential | None (CredentialRefused when malformed) -----------------

class TokenHeader:
    """`Authorization: Token <key>`. Strict (DRF's TokenAuthentication): another scheme is no
    credential, `Token` alone or with spaces in the key is refused. Lenient: the rest of the
    header after `Token` is the key, and `Token` alone is no credential."""

    def __init__(self, strict: bool = True):
        self.strict = strict

    def __call__(self, request) -> Credential | None:
        value = header(request, "authorization")
        if not value:
            return None
        if not self.strict:
            parts = value.split(None, 1)
            if len(parts) == 2 and parts[0].lower() == "token":
                return Credential(parts[1].strip(), "token")
            return None
        parts = value.split()
        if not parts or parts[0].lower() != "token":
            return None
        if len(parts) == 1:
            raise CredentialRefused("Invalid token header. No credentials provided.")
        if len(parts) > 2:
            raise CredentialRefused("Invalid token header. Token string should not contain spaces.")
        return Credential(parts[1], "token")


class BearerHeader:
    """`Authorization: Bearer <jwt>` (or `JWT <jwt>`); with `bare`, a lone `<jwt>` too. Another
    Authorization value is refused, or with `skip_other` left to the next extractor."""

    def __init__(self, bare: bool = False, skip_other: bool = False):
        self.bare = bare
        self.skip_other = skip_other

    def __call__(self, request) -> Credential | None:
        value = header(request, "authorization")
        if not value:
            return None
        parts = value.strip().split(None, 1)
        if len(parts) == 2 and parts[0].lower() in ("bearer", "jwt"):
            return Credential(parts[1].strip(), "bearer")
        if len(parts) == 1 and self.bare:
            return Credential(parts[0], "bearer")
        if self.skip_other:
            return None
        raise CredentialRefused()


class Header:
    """A header that holds the credential alone, such as `X-Session-Id`."""

    def __init__(self, name: str):
        self.name = name.lower()

    def __call__(self, request) -> Credential | None:
        value = header(request, self.name)
        return Credential(value, "header") if value else None


class Query:
    """A query parameter, such as `?session_id=` or `?token=` (WebSockets)."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, request) -> Credential | None:
        value = query_value(request, self.name)
        return Credential(value, "query") if value else None


@dataclass(frozen=True)
class CsrfCheck:
    """Django's double submit: the CSRF cookie must equal the header."""

    cookie: str = "csrftoken"
    header: str = "x-csrftoken"

    def passes(self, request) -> bool:
        sent_cookie = (cookie(request, self.cookie) or "").encode("latin-1")
        sent = (header(request, self.header) or "").encode("latin-1")
        return bool(sent_cookie) and hmac.compare_digest(sent_cookie, sent)


class SessionCookie:
    """A session cookie; unsafe methods must also pass `csrf` once the session is known."""

    def __init__(self, name: str, csrf: CsrfCheck | None = None):
        self.name = name
        self.csrf = csrf

    def __call__(self, request) -> Credential | None:
        value = cookie(request, self.name)
        return Credential(value, "cookie", self.csrf) if value else None


Extractor = Callable[[object], "Credential | None"]


def read(request, extractors) -> Credential | None:
    """The first credential one of `extractors` finds; CredentialRefused when it is malformed."""
    for extract in extractors:
        found = extract(request)
        if found is not None:
            if isinstance(request, SocketHandshake):
                request.credential = found
            return found
    return None


def record_user(request, user_id: int | None) -> None:
    """The one place the authenticated user is noted on the request (the access log reads it).
    A WebSocket handshake has no room for it: its protocol keeps `user_id`."""
    if not isinstance(request, ConnectionRequest):
        request.meetsrv_user_id = user_id


async def authenticate(request, extractors, check: Callable[[Credential], Awaitable | int | None],
                       required: bool = True) -> int | None:
    """The user id of the request's credential.

    No credential: CredentialMissing, or None when not `required`. A malformed or unknown one:
    CredentialRefused. A cookie session on an unsafe method without the CSRF token: CsrfRefused.
    `check` may answer at once or with a Deferred / coroutine."""
    credential = read(request, extractors)
    if credential is None:
        if required:
            raise CredentialMissing()
        return None
    user_id = check(credential)
    if user_id is not None and not isinstance(user_id, int):
        user_id = await user_id
    if user_id is None:
        raise CredentialRefused()
    if credential.csrf is not None and method(request) not in SAFE_METHODS and not credential.csrf.passes(request):
        raise CsrfRefused()
    record_user(request, user_id)
    return user_id
