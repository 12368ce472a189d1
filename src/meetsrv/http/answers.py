"""JSON answers and small request helpers shared by the doors."""

from __future__ import annotations

import json


def dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_answer(request, value, status: int = 200) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json; charset=utf-8")
    return dumps(value)


def empty_answer(request, status: int = 204) -> bytes:
    request.setResponseCode(status)
    return b""


def header(request, name: str) -> str | None:
    value = request.getHeader(name.encode())
    if value is None:
        return None
    return value.decode("latin-1") if isinstance(value, bytes) else value


def query_arg(request, name: str) -> str | None:
    values = request.args.get(name.encode())
    if not values:
        return None
    try:
        return values[0].decode("utf-8")
    except UnicodeDecodeError:
        return None


def query_args(request, name: str) -> list[str]:
    out = []
    for v in request.args.get(name.encode(), []):
        try:
            out.append(v.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    return out


def client_host(request) -> str | None:
    """The client's IP address (None on a UNIX socket)."""
    return getattr(request.getClientAddress(), "host", None)


def authorization(request, scheme: str) -> str | None:
    """The credential after `scheme` in the Authorization header (case-insensitive scheme)."""
    value = header(request, "authorization")
    if not value:
        return None
    parts = value.split(None, 1)
    if len(parts) == 2 and parts[0].lower() == scheme.lower():
        return parts[1].strip()
    return None
