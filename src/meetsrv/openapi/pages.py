"""Serving the descriptions: /openapi/<door>.json, and a Swagger UI page per door at
/docs/<door> whose scripts and styles come from this server (/docs/static/, the swagger-ui
files the swagger-ui-py package ships): the page needs no other site."""

from __future__ import annotations

import html
import importlib.util
import json
from functools import cache
from pathlib import Path

from twisted.web.resource import Resource
from twisted.web.static import File
from twisted.web.util import Redirect

from meetsrv.http.answers import json_answer
from meetsrv.openapi.generator import describe

HERE = Path(__file__).parent
# what the page loads of swagger-ui's distribution (nothing else of it is served)
SWAGGER_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png")
# the page may load from this server only; swagger-ui sets inline styles
PAGE_POLICY = (b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               b"object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def swagger_ui_dir() -> Path:
    """swagger-ui's dist files, as the swagger-ui-py package ships them (found without importing
    the package, which would import its web framework handlers)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@cache
def document_bytes(door_cls) -> bytes:
    """The door's description as JSON, built once per process."""
    return json.dumps(describe(door_cls), ensure_ascii=False, indent=1).encode("utf-8")


class _NotFound(Resource):
    isLeaf = True

    def render(self, request):
        return json_answer(request, {"detail": "Not found."}, 404)


class _Bytes(Resource):
    isLeaf = True

    def __init__(self, body, content_type: bytes, policy: bytes | None = None):
        super().__init__()
        self.body = body
        self.content_type = content_type
        self.policy = policy

    def render_GET(self, request):
        if request.postpath:  # /docs/rooms/ would load its relative URLs from /docs/rooms/static/
            return json_answer(request, {"detail": "Not found."}, 404)
        request.setHeader(b"content-type", self.content_type)
        request.setHeader(b"x-content-type-options", b"nosniff")
        if self.policy:
            request.setHeader(b"content-security-policy", self.policy)
        return self.body() if callable(self.body) else self.body


class _Files(Resource):
    """Named files only: no listing, and this door's 404 for any other name."""

    def getChild(self, name, request):
        return _NotFound()

    def render(self, request):
        return _NotFound().render(request)


class OpenApiResource(Resource):
    """/openapi/<door>.json"""

    def __init__(self, doors):
        super().__init__()
        self.doors = {door.name: type(door) for door in doors}

    def getChild(self, name, request):
        door = name.decode("ascii", "replace")
        if not door.endswith(".json") or door[:-5] not in self.doors:
            return _NotFound()
        door_cls = self.doors[door[:-5]]
        return _Bytes(lambda: document_bytes(door_cls), b"application/json; charset=utf-8")

    def render(self, request):
        return _NotFound().render(request)


def page(door: str) -> bytes:
    template = (HERE / "docs.html").read_text("utf-8")
    return template.replace("{door}", html.escape(door)).encode("utf-8")


def index(doors) -> bytes:
    items = "\n".join(f'<li><a href="{html.escape(d)}">{html.escape(d)}</a> '
                      f'(<a href="../openapi/{html.escape(d)}.json">{html.escape(d)}.json</a>)</li>'
                      for d in doors)
    template = (HERE / "docs-index.html").read_text("utf-8")
    return template.replace("{items}", items).encode("utf-8")


class DocsResource(Resource):
    """/docs/ (the doors), /docs/<door> (its page) and /docs/static/ (the page's files)."""

    def __init__(self, doors):
        super().__init__()
        names = [door.name for door in doors]
        static = _Files()
        base = swagger_ui_dir()
        for name in SWAGGER_FILES:
            static.putChild(name.encode(), File(str(base / name)))
        static.putChild(b"docs.js", File(str(HERE / "docs.js")))
        self.putChild(b"static", static)
        self.putChild(b"", _Bytes(index(names), b"text/html; charset=utf-8", PAGE_POLICY))
        for name in names:
            self.putChild(name.encode(), _Bytes(page(name), b"text/html; charset=utf-8", PAGE_POLICY))

    def getChild(self, name, request):
        return _NotFound()

    def render(self, request):
        return Redirect(b"/docs/").render(request)
