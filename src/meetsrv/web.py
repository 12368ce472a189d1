"""The root resource: the five doors on one port, plus /media, /admin and /healthz.

The doors' paths do not collide, so the root asks each door's URL map in turn and hands the
request to the first door that knows the path. A path no door knows answers 404 in JSON.
"""

from __future__ import annotations

from twisted.web.resource import Resource
from twisted.web.static import File
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from meetsrv.http.answers import json_answer


class _Static(File):
    """Media files: no directory listings."""

    def directoryListing(self):
        return _NotFoundLeaf()


class _NotFoundLeaf(Resource):
    isLeaf = True

    def render(self, request):
        return json_answer(request, {"detail": "Not found."}, 404)


class _Health(Resource):
    """Liveness; a worker of `--workers N` also says which one it is."""

    isLeaf = True

    def __init__(self, worker_index: int = 0):
        super().__init__()
        self.answer = {"status": "ok", "worker": worker_index} if worker_index else {"status": "ok"}

    def render_GET(self, request):
        return json_answer(request, self.answer)


class DoorsResource(Resource):
    """Dispatches to the door whose Klein URL map matches the path."""

    isLeaf = True
    SEEN_PATHS = 4096

    def __init__(self, doors):
        super().__init__()
        self.doors = doors
        self._adapters = [(door, door.app.url_map.bind("localhost")) for door in doors]
        self._resources = {id(door): door.resource() for door in doors}
        # (method, path) -> the door's resource, for paths seen before: the door's Klein app
        # matches the path again anyway, so a repeated path is matched once, not twice
        self._seen: dict[tuple[bytes, bytes], object] = {}

    def render(self, request):
        key = (request.method, request.path)
        resource = self._seen.get(key)
        if resource is not None:
            return resource.render(request)
        path = request.path.decode("utf-8", "replace")
        method = request.method.decode("ascii", "replace")
        wrong_method = None
        for door, adapter in self._adapters:
            try:
                adapter.match(path, method=method)
            except NotFound:
                continue
            except MethodNotAllowed:
                wrong_method = wrong_method or door
                continue
            except RequestRedirect:
                pass
            resource = self._resources[id(door)]
            if len(request.path) <= 256:
                if len(self._seen) >= self.SEEN_PATHS:
                    self._seen.clear()
                self._seen[key] = resource
            return resource.render(request)
        if wrong_method is None and not path.endswith("/"):
            # werkzeug reports a slash-less path of a strict_slashes=False rule as not found
            # even when only the method is wrong
            wrong_method = self._wrong_method(path + "/", method)
        if wrong_method is not None:
            return wrong_method.method_not_allowed(request)
        for door in self.doors:
            if any(path.startswith(p) for p in door.path_prefixes):
                return door.not_found(request)
        return json_answer(request, {"detail": "Not found."}, 404)

    def _wrong_method(self, path, method):
        for door, adapter in self._adapters:
            try:
                adapter.match(path, method=method)
            except MethodNotAllowed:
                return door
            except Exception:
                continue
        return None


class Root(Resource):
    def __init__(self, services, doors, extra: dict | None = None):
        super().__init__()
        self.doors_resource = DoorsResource(doors)
        media = services.settings.media
        self.putChild(b"media", _Static(media))
        self.putChild(b"healthz", _Health(services.settings.worker_index))
        for name, resource in (extra or {}).items():
            self.putChild(name.encode(), resource)

    def getChild(self, name, request):
        # not a fixed child: give the segment back and let the doors route the whole path
        request.postpath.insert(0, name)
        request.prepath.pop()
        return self.doors_resource


def build_doors(services):
    from meetsrv.doors.campus import CampusDoor
    from meetsrv.doors.directory import DirectoryDoor
    from meetsrv.doors.phone import PhoneDoor
    from meetsrv.doors.rooms import RoomsDoor
    from meetsrv.doors.social import SocialDoor

    # campus before directory: both live under /api/events/ (campus owns /api/events/<Method>)
    return [RoomsDoor(services), PhoneDoor(services), SocialDoor(services), CampusDoor(services),
            DirectoryDoor(services)]


def build_root(services):
    """The site's root resource, with every door mounted."""
    doors = []
    doors = build_doors(services)
    from meetsrv.admin import AdminResource

    return Root(services, doors, extra={"admin": AdminResource(services)})
