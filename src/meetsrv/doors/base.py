"""What every door has: a Klein app, the services, and its own 404/405 answers."""

from __future__ import annotations

from meetsrv.http.answers import json_answer


class Door:
    """Subclasses define `app = Klein()` with their routes as methods."""

    name = "door"
    app = None
    # paths under these prefixes that no route knows get this door's own 404
    path_prefixes: tuple[str, ...] = ()

    def __init__(self, services):
        self.services = services
        self.settings = services.settings

    def resource(self):
        return self.app.resource()

    def not_found(self, request) -> bytes:
        return json_answer(request, {"detail": "Not found."}, 404)

    def method_not_allowed(self, request) -> bytes:
        return json_answer(request, {"detail": f'Method "{request.method.decode()}" not allowed.'}, 405)
