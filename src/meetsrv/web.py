"""The root resource: the five doors on one port, plus /media, /admin, /healthz, /metrics, and the
doors' OpenAPI descriptions (/openapi/<door>.json) and pages (/docs/<door>).

The doors' paths do not collide, so the root asks each door's URL map in turn and hands the
request to the first door that knows the path. A path no door knows answers 404 in JSON.
"""

from __future__ import annotations

from twisted.internet import defer
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from twisted.web.static import File
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from meetsrv.http import multipart
from meetsrv.http.answers import json_answer

# what the media folder holds (core/media.py names files by their real format); anything else
# is served as bytes to download, never as something a browser would render
MEDIA_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
               ".webp": "image/webp", ".bmp": "image/bmp"}
GET_HEAD = (b"GET", b"HEAD")


def _method_not_allowed(request, allow: bytes = b"GET, HEAD"):
    request.setHeader(b"allow", allow)
    method = request.method.decode("ascii", "replace")
    return json_answer(request, {"detail": f'Method "{method}" not allowed.'}, 405)


class _NotFoundLeaf(Resource):
    isLeaf = True

    def render(self, request):
        return json_answer(request, {"detail": "Not found."}, 404)


_NOT_FOUND = _NotFoundLeaf()


class _Static(File):
    """Media files: GET and HEAD of files only (no directory listings, no redirects), answers
    in JSON otherwise; image types by extension, octet-stream for anything else, nosniff."""

    contentTypes = MEDIA_TYPES
    contentEncodings: dict = {}
    childNotFound = _NOT_FOUND
    forbidden = _NOT_FOUND

    def __init__(self, path, defaultType="application/octet-stream", *args, **kwargs):
        super().__init__(path, defaultType, *args, **kwargs)

    def directoryListing(self):
        return _NOT_FOUND

    def getChild(self, path, request):
        # a NUL byte made os.stat raise (500); dot files are never ours to serve; no file is
        # named in other than UTF-8 (File logs an error for such a name)
        if b"\x00" in path or path.startswith(b".") or not _utf8(path):
            return _NOT_FOUND
        try:
            return super().getChild(path, request)
        except (OSError, ValueError):
            return _NOT_FOUND

    def render(self, request):
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"content-security-policy", b"default-src 'none'; sandbox")
        if request.method not in GET_HEAD:
            return _method_not_allowed(request)
        try:
            self.restat(False)
            if not self.isfile():
                return _NOT_FOUND.render(request)
        except (OSError, ValueError):
            return _NOT_FOUND.render(request)
        return super().render(request)


class _Health(Resource):
    """/healthz: liveness (a worker of `--workers N` also says which one it is).
    /healthz/ready: readiness, 503 naming the failing parts while the database or Redis is away."""

    isLeaf = True

    def __init__(self, worker_index: int = 0, readiness=None):
        super().__init__()
        self.answer = {"status": "ok", "worker": worker_index} if worker_index else {"status": "ok"}
        self.readiness = readiness

    def render(self, request):
        ready = [p for p in request.postpath if p] == [b"ready"] and self.readiness is not None
        if any(request.postpath) and not ready:
            return _NOT_FOUND.render(request)
        if request.method not in GET_HEAD:
            return _method_not_allowed(request)
        if ready:
            defer.ensureDeferred(self._ready(request))
            return NOT_DONE_YET
        return json_answer(request, self.answer)

    async def _ready(self, request):
        failing = await self.readiness.failing()
        if failing:
            body = json_answer(request, {"status": "unavailable", "failing": failing}, 503)
        else:
            body = json_answer(request, self.answer)
        if not request._disconnected and not request.finished:
            request.write(body)
            request.finish()


class DoorsResource(Resource):
    """Dispatches to the door whose Klein URL map matches the path.

    A multipart body is parsed here, on a thread, before the door's route runs, and only for a
    route its door lists in `multipart_routes`; elsewhere the door refuses it."""

    isLeaf = True
    SEEN_PATHS = 4096

    def __init__(self, doors, reactor=None):
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.doors = doors
        self._adapters = [(door, door.app.url_map.bind("localhost")) for door in doors]
        self._resources = {id(door): door.resource() for door in doors}
        self._door_of = {id(resource): door for door, resource in
                         ((d, self._resources[id(d)]) for d in doors)}
        # (method, path) -> (the door's resource, door name, route pattern), for paths seen
        # before: the door's Klein app matches the path again anyway, so a repeated path is
        # matched once, not twice
        self._seen: dict[tuple[bytes, bytes], tuple] = {}

    def render(self, request):
        key = (request.method, request.path)
        with_body = multipart.is_multipart(request.getHeader(b"content-type"))
        seen = None if with_body else self._seen.get(key)
        if seen is not None and _readable(request):
            resource, request.door, request.route = seen
            request.meetsrv_door = self._door_of[id(resource)]
            return resource.render(request)
        path = request.path.decode("utf-8", "replace")
        method = request.method.decode("ascii", "replace")
        wrong_method = redirected = None
        for door, adapter in self._adapters:
            try:
                rule, _ = adapter.match(path, method=method, return_rule=True)
            except NotFound:
                continue
            except MethodNotAllowed:
                wrong_method = wrong_method or door
                continue
            except RequestRedirect:
                # werkzeug would redirect (308) a path with doubled slashes to the merged one,
                # with an HTML body; as upstream's Django, such a path is not found
                redirected = redirected or door
                continue
            resource = self._resources[id(door)]
            # the route pattern, never the path, names the request in metrics and logs
            request.door, request.route = door.name, rule.rule
            # the door answers a request that meets an outage (http/site.py): 503 in its style
            request.meetsrv_door = door
            if not _readable(request):
                # Klein answers a path or Host that is not UTF-8 with a 400 in plain text
                return door.not_found(request)
            if with_body:
                return self._render_multipart(door, resource, f"{method} {rule.rule}", request)
            if len(request.path) <= 256:
                if len(self._seen) >= self.SEEN_PATHS:
                    self._seen.clear()
                self._seen[key] = (resource, door.name, rule.rule)
            return resource.render(request)
        if wrong_method is None and not path.endswith("/"):
            # werkzeug reports a slash-less path of a strict_slashes=False rule as not found
            # even when only the method is wrong
            wrong_method = self._wrong_method(path + "/", method)
        if wrong_method is not None:
            request.door = wrong_method.name
            return wrong_method.method_not_allowed(request)
        if redirected is not None:
            request.door = redirected.name
            return redirected.not_found(request)
        for door in self.doors:
            if any(path.startswith(p) for p in door.path_prefixes):
                request.door = door.name
                return door.not_found(request)
        return json_answer(request, {"detail": "Not found."}, 404)

    def _render_multipart(self, door, resource, route: str, request):
        """Parse the body on a thread, then let the door's route read it; a door refuses a
        multipart body where it takes no file, unparsed."""
        if not _has_body(request):
            return resource.render(request)
        if route not in door.multipart_routes:
            return door.unsupported_media_type(request)
        d = multipart.prepare(request, self.reactor)

        def render(_):
            if request._disconnected or request.finished:
                return
            body = resource.render(request)
            if body is not NOT_DONE_YET:
                request.write(body)
                request.finish()

        d.addCallback(render)
        d.addErrback(request.processingFailed)
        return NOT_DONE_YET

    def _wrong_method(self, path, method):
        for door, adapter in self._adapters:
            try:
                adapter.match(path, method=method)
            except MethodNotAllowed:
                return door
            except Exception:
                continue
        return None


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _readable(request) -> bool:
    """Whether the path (percent-decoded) and the Host header are UTF-8, as Klein needs, and the
    path holds no NUL (no route's value may: it reached file names and queries)."""
    try:
        path = request.path
        if b"%" in path:
            path = b"/".join(request.prepath + request.postpath)
            path.decode("utf-8")
        if b"\x00" in path:
            return False
        # the Host header as sent (its port is ASCII): getRequestHostname runs a regex
        host = request.getHeader(b"host")
        if host is not None and not host.isascii():
            host.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _has_body(request) -> bool:
    content = request.content
    position = content.tell()
    content.seek(0, 2)
    size = content.tell()
    content.seek(position)
    return size > 0


class Root(Resource):
    def __init__(self, services, doors, extra: dict | None = None):
        super().__init__()
        self.doors_resource = DoorsResource(doors, services.reactor)
        media = services.settings.media
        self.putChild(b"media", _Static(media))
        from meetsrv.health import Readiness

        readiness = Readiness(services.db, services.bus, services.reactor)
        self.putChild(b"healthz", _Health(services.settings.worker_index, readiness))
        if services.metrics.registry is not None and not services.settings.metrics_port:
            from meetsrv.metrics import MetricsResource

            self.putChild(b"metrics", MetricsResource(services.metrics))
        for name, resource in (extra or {}).items():
            self.putChild(name.encode(), resource)

    def getChildWithDefault(self, name, request):
        child = self.children.get(name)
        if child is not None:
            # /media, /healthz, /admin, /metrics: named by their segment in metrics and logs
            request.door = name.decode("ascii")
            request.route = "/" + request.door
            return child
        return self.getChild(name, request)

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
    doors = build_doors(services)
    from meetsrv.admin import AdminResource
    from meetsrv.openapi.pages import DocsResource, OpenApiResource

    return Root(services, doors, extra={"admin": AdminResource(services), "openapi": OpenApiResource(doors),
                                        "docs": DocsResource(doors)})
