"""JSON answers shared by the doors, and reading one query parameter."""

from __future__ import annotations

import json


def dumps(value) -> bytes:
    # a lone surrogate has no UTF-8 form: written as its JSON escape (\\ud800), as ensure_ascii would
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


def json_answer(request, value, status: int = 200) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json; charset=utf-8")
    return dumps(value)


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
