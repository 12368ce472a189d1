"""What every door has: a Klein app, the services, and its own 404/405/415/426/503 answers."""

from __future__ import annotations

from klein import Klein
from werkzeug.routing import IntegerConverter

from meetsrv.http.answers import json_answer


class AsciiIntegerConverter(IntegerConverter):
    """`<int:...>` of ASCII digits only: werkzeug's `\\d+` also matches '٣', which int() reads as 3."""

    regex = r"[0-9]+"


class RememberingMatcher:
    """Werkzeug's URL matcher, remembering the rule and values of the paths it matched before.

    Klein matches every request's path against its door's rules again (web.DoorsResource has
    picked the door); a path with a variable (`/api/events/7/`) costs a walk of the rules with
    a regular expression per variable part. The same paths come again and again, so a path
    matched once is answered from here (what did not match is never remembered: it raises)."""

    SIZE = 4096

    def __init__(self, matcher):
        self._matcher = matcher
        self._seen: dict[tuple, tuple] = {}

    def match(self, domain, path, method, websocket):
        key = (domain, path, method, websocket)
        seen = self._seen.get(key)
        if seen is not None:
            return seen[0], dict(seen[1])
        rule, values = self._matcher.match(domain, path, method, websocket)
        if len(path) <= 256:
            if len(self._seen) >= self.SIZE:
                self._seen.clear()
            self._seen[key] = (rule, dict(values))
        return rule, values

    def add(self, rule) -> None:
        self._seen.clear()
        self._matcher.add(rule)

    def __getattr__(self, name):
        return getattr(self._matcher, name)


def door_app() -> Klein:
    """A door's Klein app (its routes are declared on it, so its converters are set first)."""
    app = Klein()
    app.url_map.converters["int"] = AsciiIntegerConverter
    url_map = app.url_map
    if hasattr(url_map, "_matcher"):  # werkzeug's Map keeps its matcher there (2.2 and later)
        url_map._matcher = RememberingMatcher(url_map._matcher)
    return app


class Door:
    """Subclasses define `app = door_app()` with their routes as methods."""

    name = "door"
    app = None
    # paths under these prefixes that no route knows get this door's own 404
    path_prefixes: tuple[str, ...] = ()
    # "METHOD /rule" of the routes that take a file: only these read a multipart body (parsed
    # on a thread before the route runs); anywhere else one is refused unread
    multipart_routes: frozenset[str] = frozenset()

    def __init__(self, services):
        self.services = services
        self.settings = services.settings

    def resource(self):
        return self.app.resource()

    def not_found(self, request) -> bytes:
        return json_answer(request, {"detail": "Not found."}, 404)

    def method_not_allowed(self, request) -> bytes:
        return json_answer(request, {"detail": f'Method "{request.method.decode()}" not allowed.'}, 405)

    def unsupported_media_type(self, request) -> bytes:
        """A body of a type the route does not read (a multipart body where no file is taken)."""
        header = (request.getHeader(b"content-type") or b"").decode("latin-1")
        return json_answer(request, {"detail": f'Unsupported media type "{header}" in request.'}, 415)

    def problem(self, request, status: int, code: str, text: str) -> bytes:
        """An error answer in this door's style: DRF's `{"detail": text}` here; a door with
        another style overrides it (`code` names the problem for doors that answer codes)."""
        return json_answer(request, {"detail": text}, status)

    def unavailable(self, request) -> bytes:
        """The database or Redis is away (http/outage.py): 503, worth trying again shortly."""
        request.setHeader(b"retry-after", b"5")
        return self.problem(request, 503, "service_unavailable", "Service temporarily unavailable, try again later.")

    def upgrade_required(self, request) -> bytes:
        """A plain HTTP request to a WebSocket path."""
        return json_answer(request, {"detail": "Upgrade Required: this path serves a WebSocket."}, 426)
