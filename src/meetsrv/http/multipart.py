"""multipart/form-data bodies: parsed once, on a thread, with a cap on parts.

Twisted parses a multipart POST into request.args by itself, on the reactor thread and with no
limit (the site turns that off); one body of 20,000 tiny parts stalled every door for seconds.
Here a body is parsed only for a route that takes a file (the doors say which), by the
`multipart` library's streaming parser, which stops at the first part over the cap, in the
reactor's thread pool. The result waits on the request for the door's body reader (`parsed`).
"""

from __future__ import annotations

from dataclasses import dataclass

import multipart as _multipart
from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool

from meetsrv.http.body import BodyError, Upload

MEDIA_TYPE = "multipart/form-data"
# A part's header lines: RFC 7578 needs at most three.
MAX_PART_HEADERS = 8
MAX_PART_HEADER_SIZE = 4096
_CHUNK = 64 * 1024


class TooManyParts(BodyError):
    """More parts than the site allows."""


class NotAccepted(BodyError):
    """A multipart body sent where no file is expected (the route was not declared)."""


@dataclass
class Multipart:
    fields: dict  # name -> value, or [values] for a repeated name
    files: dict  # name -> Upload (the last one of a repeated name)


def is_multipart(header) -> bool:
    """Whether a raw Content-Type header value names multipart/form-data."""
    if not header:
        return False
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    return header.split(";", 1)[0].strip().lower() == MEDIA_TYPE


def _add(out: dict, name: str, value) -> None:
    if name in out:
        if not isinstance(out[name], list):
            out[name] = [out[name]]
        out[name].append(value)
    else:
        out[name] = value


def parse(stream, header: str, max_parts: int) -> Multipart:
    """Read a multipart/form-data body from a file object; BodyError when it is malformed,
    TooManyParts past max_parts. Blocking: runs on a thread."""
    _, options = _multipart.parse_options_header(header)
    boundary = options.get("boundary")
    if not boundary or len(boundary) > 200:
        raise BodyError("Invalid boundary in multipart: None" if not boundary else "Invalid boundary")
    fields: dict = {}
    files: dict = {}
    segment, chunks = None, []
    try:
        parser = _multipart.PushMultipartParser(
            boundary, max_header_size=MAX_PART_HEADER_SIZE, max_header_count=MAX_PART_HEADERS,
            max_segment_count=max_parts,
        )
        with parser:
            while not parser.closed:
                data = stream.read(_CHUNK)
                for event in parser.parse(data):
                    if isinstance(event, _multipart.MultipartSegment):
                        segment, chunks = event, []
                    elif event:
                        chunks.append(event)
                    else:  # the end of the segment
                        payload = b"".join(chunks)
                        if segment.filename is not None:
                            files[segment.name] = Upload(
                                segment.filename, segment.content_type or "application/octet-stream", payload
                            )
                        else:
                            _add(fields, segment.name, _text(payload, segment.charset))
                        segment, chunks = None, []
                if not data:
                    break
    except _multipart.ParserLimitReached as e:
        if "segment count" in str(e):
            raise TooManyParts(f"Too many parts: at most {max_parts} are accepted")
        raise BodyError(str(e))
    except _multipart.MultipartError as e:
        raise BodyError(str(e))
    return Multipart(fields, files)


def _text(payload: bytes, charset: str | None) -> str:
    """A field's text in its charset; UTF-8 when the charset is none, unknown, not a text codec
    ("base64") or one that cannot replace what it cannot read ("idna")."""
    if charset and charset.lower() not in ("utf-8", "utf8"):
        try:
            return payload.decode(charset, "replace")
        except (LookupError, ValueError):
            pass
    return payload.decode("utf-8", "replace")


def _parse_content(content, header: str, max_parts: int) -> Multipart:
    content.seek(0)
    try:
        return parse(content, header, max_parts)
    finally:
        content.seek(0)


def _limit(request) -> int:
    site = getattr(request.channel, "site", None) if request.channel else None
    return getattr(site, "max_multipart_parts", 100)


def prepare(request, reactor) -> defer.Deferred:
    """Parse the request's multipart body on a thread; the Deferred fires (with None) once
    `parsed(request)` can answer. A malformed body is kept as its error, for the door to word."""
    header = (request.getHeader(b"content-type") or b"").decode("latin-1")
    d = deferToThreadPool(reactor, reactor.getThreadPool(), _parse_content, request.content, header,
                          _limit(request))

    def done(result):
        request.meetsrv_multipart = result
        return None

    def failed(failure):
        failure.trap(BodyError)
        request.meetsrv_multipart = failure.value
        return None

    return d.addCallbacks(done, failed)


def parsed(request) -> Multipart:
    """The multipart body parsed by `prepare`; an empty one when the body is empty; BodyError
    when the body was malformed or the route does not take multipart bodies."""
    result = getattr(request, "meetsrv_multipart", None)
    if isinstance(result, Multipart):
        return result
    if isinstance(result, BodyError):
        raise result
    content = request.content
    content.seek(0, 2)
    empty = content.tell() == 0
    content.seek(0)
    if empty:
        return Multipart({}, {})
    raise NotAccepted("multipart bodies are not accepted here")
