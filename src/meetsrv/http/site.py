"""The Site, channel and Request every door is served by: a raw UTF-8 request target read as
UTF-8, body limits (size, multipart parts, form fields), no Server banner, a request id on every
answer, metrics and an access log line (off by default) once per finished request."""

from __future__ import annotations

import json
import re
import tempfile
from http import HTTPStatus
from io import BytesIO
from random import getrandbits
from time import perf_counter

from twisted.logger import Logger
from twisted.web import http, server

from meetsrv.store.db import is_unavailable

access_log = Logger(namespace="meetsrv.access")

# an X-Request-Id a client or proxy sends is kept when it looks like an id (a UUID, a hex or
# base64 token), so one id follows a request through the proxy's and our logs
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:+/=-]{1,128}")

# Bodies up to this size are kept in memory; larger ones spill to a temporary file.
_MEMORY_BODY = 1024 * 1024


def _redis_unavailable(exc) -> bool:
    import txredisapi  # imported once a request has failed: never at start (it imports the reactor)

    return isinstance(exc, txredisapi.ConnectionError)

def _reason_phrases() -> dict[int, bytes]:
    phrases = {int(s): s.phrase.encode("ascii") for s in HTTPStatus}
    # the names the clients' libraries know (RFC 4918 / RFC 9110 renamed 422 later)
    phrases[422] = b"Unprocessable Entity"
    phrases[413] = b"Request Entity Too Large"
    return phrases


REASONS = _reason_phrases()


def new_request_id() -> bytes:
    # 64 random bits from the process's PRNG: unique enough to find a request, no system call
    return b"%016x" % getrandbits(64)


class MeetRequest(server.Request):
    """The Request of every door: refuses (413) a body larger than the site's max_body without
    buffering it; leaves form and multipart bodies to the doors (Twisted would parse them into
    request.args on the reactor thread, with no limit on parts); sends no Server banner; gives
    every status its reason phrase.

    What the metrics and the access log say about it is set while it is handled: `door` and
    `route` by the root (web.py), `meetsrv_user_id` by http.credentials once a door has
    authenticated the caller."""

    _too_large = False
    _received = 0
    started: float | None = None
    request_id: bytes = b""
    door: str | None = None
    route: str | None = None
    meetsrv_user_id: int | None = None

    def __init__(self, channel, *args, **kwargs):
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(channel, *args, **kwargs)

    def setHeader(self, name, value):
        # Twisted sets `Server: TwistedWeb/<version>` on every answer: no banner
        if name.lower() in (b"server", "server"):
            return
        super().setHeader(name, value)

    def setResponseCode(self, code, message=None):
        if message is None:
            message = REASONS.get(code)
        super().setResponseCode(code, message)

    def gotLength(self, length):
        limit = self.channel.site.max_body if self.channel and self.channel.site else None
        if limit is not None and length is not None and length > limit:
            self._too_large = True
            self.content = BytesIO()
            return
        if length is not None and length < _MEMORY_BODY:
            self.content = BytesIO()
        else:
            self.content = tempfile.TemporaryFile()

    def handleContentChunk(self, data):
        if self._too_large:
            return
        self._received += len(data)
        limit = self.channel.site.max_body if self.channel and self.channel.site else None
        if limit is not None and self._received > limit:
            self._too_large = True
            self.content.close()
            self.content = BytesIO()
            return
        self.content.write(data)

    def process(self):
        self.started = perf_counter()
        sent = self.requestHeaders.getRawHeaders(b"x-request-id")
        if sent and _REQUEST_ID.fullmatch(sent[0]):
            self.request_id = sent[0]
        else:
            self.request_id = new_request_id()
        self.responseHeaders.setRawHeaders(b"x-request-id", [self.request_id])
        if self._too_large:
            self.setResponseCode(413)
            self.setHeader(b"content-type", b"application/json")
            self.setHeader(b"connection", b"close")
            self.write(json.dumps({"detail": "Request body is too large."}).encode())
            self.finish()
            return
        super().process()


    def processingFailed(self, reason):
        """An unexpected error: logged, answered as JSON (never an HTML traceback)."""
        self._log.failure("request failed: {method} {uri}", failure=reason,
                          method=self.method, uri=self.uri)
        if self.finished or self._disconnected:
            return reason
        unavailable = is_unavailable(reason.value) or _redis_unavailable(reason.value)
        body = json.dumps(
            {"detail": "Service temporarily unavailable." if unavailable else "Internal server error."}
        ).encode()
        self.setResponseCode(503 if unavailable else 500)
        self.setHeader(b"content-type", b"application/json")
        self.setHeader(b"content-length", b"%d" % len(body))
        self.write(body)
        self.finish()
        return reason


_NON_ASCII = re.compile(rb"[\x80-\xff]")


def percent_encode_target(request_line: bytes) -> bytes:
    """The request line with every non-ASCII byte of its request target percent-encoded
    (`GET /v1/users/?q=Вася HTTP/1.1` -> `...?q=%D0%92%D0%B0%D1%81%D1%8F...`); any other line
    unchanged, for Twisted to judge."""
    parts = request_line.split(b" ")
    if len(parts) != 3 or parts[1].isascii():
        return request_line
    target = _NON_ASCII.sub(lambda m: b"%%%02X" % m.group()[0], parts[1])
    return b" ".join((parts[0], target, parts[2]))


class MeetChannel(http.HTTPChannel):
    """An HTTPChannel that reads a raw UTF-8 request target as its percent-encoded form.

    curl and several mobile HTTP stacks send `GET /v1/users/?q=Вася` with the UTF-8 bytes as
    they are; Twisted's request line parser refuses any such byte with an empty 400. The request
    line (the first non-empty line of each request; header lines, whose values may carry such
    bytes, are left alone) is rewritten before Twisted parses it, so the request is answered
    exactly as the percent-encoded one is."""

    _at_request_line = True

    def lineReceived(self, line):
        if self._at_request_line and line:  # an empty line before a request is Twisted's to eat
            self._at_request_line = False
            line = percent_encode_target(line)
        return super().lineReceived(line)

    def allContentReceived(self):
        self._at_request_line = True  # the next line read is the next request's (pipelining)
        return super().allContentReceived()


class MeetSite(server.Site):
    # Twisted's default protocol is a proxy that can switch to HTTP/2 after a TLS ALPN
    # negotiation; the h2 package is not installed, so a plain HTTP/1.1 channel is the same.
    protocol = MeetChannel
    requestFactory = MeetRequest
    noisy = False

    def __init__(self, resource, max_body: int, access_log: bool = False, max_multipart_parts: int = 100,
                 max_form_fields: int = 1000, metrics=None, **kwargs):
        kwargs.setdefault("parsePOSTFormSubmission", False)
        super().__init__(resource, **kwargs)
        self.max_body = max_body
        self.access_log = access_log
        self.metrics = metrics
        # read by http.multipart and http.body: the most parts / form fields of a body
        self.max_multipart_parts = max_multipart_parts
        self.max_form_fields = max_form_fields

    def log(self, request):
        """Called once by Request.finish: the one place a request is measured and logged.
        (Twisted's own access log line halved throughput; ours is an option too.)"""
        started = request.started
        if started is None:
            return
        seconds = perf_counter() - started
        door = request.door or "none"
        route = request.route or "unmatched"
        if self.metrics is not None:
            self.metrics.observe_request(door, route, request.method, request.code, seconds)
        if self.access_log:
            access_log.info(
                "{client} {method} {path} {status} {duration_ms}ms door={door} user={user_id} request_id={request_id}",
                method=request.method.decode("latin-1"),
                path=request.path.decode("utf-8", "replace"),
                status=request.code,
                duration_ms=round(seconds * 1000, 3),
                door=door,
                route=route,
                user_id=request.meetsrv_user_id,
                request_id=request.request_id.decode("ascii"),
                client=_client(request),
            )


def _client(request) -> str | None:
    address = request.getClientAddress()
    return getattr(address, "host", None)
