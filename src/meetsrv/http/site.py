"""The Site, channel and Request every door is served by: a raw UTF-8 request target read as
UTF-8, body limits (size, multipart parts, form fields), deadlines for slow requests (408), a
drain for a clean stop, 503 in the door's style when the database or Redis is away, no Server
banner, a request id on every answer, metrics and an access log line (off by default) once per
finished request."""

from __future__ import annotations

import json
import re
import tempfile
from http import HTTPStatus
from io import BytesIO
from random import getrandbits
from time import perf_counter

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import http, server

from meetsrv.http.outage import is_outage

log = Logger()

access_log = Logger(namespace="meetsrv.access")

# an X-Request-Id a client or proxy sends is kept when it looks like an id (a UUID, a hex or
# base64 token), so one id follows a request through the proxy's and our logs
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:+/=-]{1,128}")

# Bodies up to this size are kept in memory; larger ones spill to a temporary file.
_MEMORY_BODY = 1024 * 1024
# Seconds a connection answered 408 has to read it before it is cut.
_TIMED_OUT_GRACE = 5.0
_TIMEOUT_BODY = json.dumps({"detail": "Request timeout."}).encode()

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

    def write(self, data):
        if not self.startedWriting and self.channel is not None and getattr(self.channel.site, "draining", False):
            # the server is stopping: this answer is the connection's last
            self.setHeader(b"connection", b"close")
            self.channel.persistent = False
        super().write(data)

    def processingFailed(self, reason):
        """An unexpected error: logged, answered as JSON (never an HTML traceback); the database
        or Redis being away is answered 503 in the door's style (web.py notes the door)."""
        unavailable = is_outage(reason.value)
        if unavailable:
            self._log.warn("request failed, a backend is unavailable: {method} {uri}: {error}",
                           method=self.method, uri=self.uri, error=reason.getErrorMessage())
        else:
            self._log.failure("request failed: {method} {uri}", failure=reason,
                              method=self.method, uri=self.uri)
        if self.finished or self._disconnected:
            return reason
        door = getattr(self, "meetsrv_door", None)
        if unavailable and door is not None:
            body = door.unavailable(self)
        else:
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
    """An HTTPChannel that reads a raw UTF-8 request target as its percent-encoded form, and
    gives a slow request deadlines.

    curl and several mobile HTTP stacks send `GET /v1/users/?q=Вася` with the UTF-8 bytes as
    they are; Twisted's request line parser refuses any such byte with an empty 400. The request
    line (the first non-empty line of each request; header lines, whose values may carry such
    bytes, are left alone) is rewritten before Twisted parses it, so the request is answered
    exactly as the percent-encoded one is.

    Twisted's only timeout is reset by every byte, so a request trickled a byte at a time stays
    open for ever. Here a request has `header_timeout` seconds from its first byte to send its
    headers and `body_timeout` seconds after them to send its body; past that it is answered 408
    and the connection closes. The deadlines run on the site's clock."""

    _at_request_line = True
    _deadline = None  # the IDelayedCall of the request being read
    _reading: str | None = None  # "headers" or "body" while a request is being read
    _timed_out = False
    _cut = None  # cuts a connection answered 408 that does not go away

    def connectionMade(self):
        super().connectionMade()
        self.site.channel_opened(self)

    def dataReceived(self, data):
        if self._timed_out:
            return
        if data and self._reading is None and not self._handlingRequest:
            self._read("headers", self.site.header_timeout)  # the first byte of a request
        return super().dataReceived(data)

    def lineReceived(self, line):
        if self._at_request_line and line:  # an empty line before a request is Twisted's to eat
            self._at_request_line = False
            line = percent_encode_target(line)
        return super().lineReceived(line)

    def checkPersistence(self, request, version):
        if self.site.draining:  # the server is stopping: no request after this one
            request.responseHeaders.setRawHeaders(b"connection", [b"close"])
            return False
        return super().checkPersistence(request, version)

    def allHeadersReceived(self):
        super().allHeadersReceived()
        if self.length != 0 and not self._timed_out:  # a body follows (a length, or chunks)
            self._read("body", self.site.body_timeout)

    def allContentReceived(self):
        self._at_request_line = True  # the next line read is the next request's (pipelining)
        self._stop_reading()
        return super().allContentReceived()

    def requestDone(self, request):
        if self.site.draining:
            self.persistent = False  # the server is stopping: the connection closes now
        elif self.persistent and self._dataBuffer:
            # the next request (pipelined) has begun arriving: its headers' deadline runs now
            self._read("headers", self.site.header_timeout)
        super().requestDone(request)
        self.site.channel_changed(self)

    def connectionLost(self, reason):
        self._stop_reading()
        if self._cut is not None and self._cut.active():
            self._cut.cancel()
        super().connectionLost(reason)
        self.site.channel_closed(self)

    # -- deadlines ---------------------------------------------------------------------------
    def _read(self, what: str, seconds: float) -> None:
        self._stop_reading()
        self._reading = what
        self._deadline = self.site.clock.callLater(seconds, self._too_slow, what)

    def _stop_reading(self) -> None:
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None
        self._reading = None

    def _too_slow(self, what: str) -> None:
        self._deadline = None
        self._reading = None
        if self.transport is None:
            return
        self._timed_out = True
        log.info("request {what} not received in time from {peer}: 408", what=what,
                 peer=self.transport.getPeer())
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
        )
        self.loseConnection()
        self._cut = self.site.clock.callLater(_TIMED_OUT_GRACE, self._abort)

    def _abort(self) -> None:
        self._cut = None
        if self.transport is not None:
            self.transport.abortConnection()

    @property
    def busy(self) -> bool:
        """A request is being read or answered (a connection that became a WebSocket is not)."""
        if self.transport is None:
            return False
        return self._reading is not None or bool(self.requests)


class MeetSite(server.Site):
    # Twisted's default protocol is a proxy that can switch to HTTP/2 after a TLS ALPN
    # negotiation; the h2 package is not installed, so a plain HTTP/1.1 channel is the same.
    protocol = MeetChannel
    requestFactory = MeetRequest
    noisy = False

    def __init__(self, resource, max_body: int, access_log: bool = False, max_multipart_parts: int = 100,
                 max_form_fields: int = 1000, metrics=None, clock=None, header_timeout: float = 10.0,
                 body_timeout: float = 60.0, **kwargs):
        kwargs.setdefault("parsePOSTFormSubmission", False)
        super().__init__(resource, **kwargs)
        if clock is None:
            from twisted.internet import reactor as clock
        self.max_body = max_body
        self.access_log = access_log
        self.metrics = metrics
        # read by http.multipart and http.body: the most parts / form fields of a body
        self.max_multipart_parts = max_multipart_parts
        self.max_form_fields = max_form_fields
        # the deadlines of slow requests (MeetChannel), on this clock
        self.clock = clock
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.channels: set[MeetChannel] = set()
        self.draining = False
        self._drained: list[defer.Deferred] = []

    # -- connections and a clean stop ----------------------------------------------------------
    def channel_opened(self, channel) -> None:
        self.channels.add(channel)
        if self.draining:
            channel.loseConnection()

    def channel_closed(self, channel) -> None:
        self.channels.discard(channel)
        self.channel_changed(channel)

    def channel_changed(self, channel) -> None:
        if self.draining and self._drained and not self.busy():
            waiting, self._drained = self._drained, []
            for d in waiting:
                d.callback(None)

    def busy(self) -> list:
        return [c for c in self.channels if c.busy]

    def drain(self, timeout: float, clock=None) -> defer.Deferred:
        """Stopping (the port no longer listens): idle connections close, each request being
        read or answered finishes (its answer says `Connection: close`), for up to `timeout`
        seconds; then what is left is cut. Fires when no request is left."""
        self.draining = True
        for channel in list(self.channels):
            if not channel.busy and channel.transport is not None:
                channel.loseConnection()
        if not self.busy():
            return defer.succeed(None)
        d = defer.Deferred()
        self._drained.append(d)

        def cut(_):
            left = self.busy()
            log.warn("{n} request(s) not finished within {t} s of stopping: closed", n=len(left), t=timeout)
            for channel in left:
                channel.transport.abortConnection()

        d.addTimeout(timeout, clock or self.clock, onTimeoutCancel=lambda result, t: cut(result))
        return d

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
