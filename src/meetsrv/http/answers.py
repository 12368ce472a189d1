"""JSON answers shared by the doors, and reading one query parameter."""

from __future__ import annotations

import json

# one encoder for every answer (json.dumps with options builds a new one on every call)
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(value) -> bytes:
    # a lone surrogate has no UTF-8 form: written as its JSON escape (\\ud800), as ensure_ascii would
    return _encode(value).encode("utf-8", "backslashreplace")


def json_answer(request, value, status: int = 200) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json; charset=utf-8")
    return dumps(value)


class KeptAnswers:
    """JSON answers rendered once per kept read (store/cache.py hands the same value object to
    every caller until it is dropped, and no caller changes it): `answer(request, value,
    shape)` renders dumps(shape(value)) the first time a value object is seen, then sends the
    same bytes. `shape` may depend on nothing but the value (and what never changes in the
    process). A value that is not kept (a fresh object per request) is rendered every time."""

    def __init__(self, size: int = 1024):
        self.size = size
        # id(value) -> (value, body): the value is held, so its id is not reused while here
        self._bodies: dict[int, tuple] = {}

    def answer(self, request, value, shape) -> bytes:
        request.setResponseCode(200)
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        kept = self._bodies.get(id(value))
        if kept is not None and kept[0] is value:
            return kept[1]
        body = dumps(shape(value))
        if len(self._bodies) >= self.size:
            self._bodies.clear()
        self._bodies[id(value)] = (value, body)
        return body


def empty_answer(request, status: int = 204) -> bytes:
    request.setResponseCode(status)
    return b""


def query_arg(request, name: str) -> str | None:
    values = request.args.get(name.encode())
    if not values:
        return None
    try:
        return values[0].decode("utf-8")
    except UnicodeDecodeError:
        return None


def client_host(request) -> str | None:
    """The client's IP address (None on a UNIX socket)."""
    return getattr(request.getClientAddress(), "host", None)
