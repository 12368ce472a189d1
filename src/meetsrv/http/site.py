"""The Site and Request every door is served by: a request body limit, no access log by default."""

from __future__ import annotations

import json
import tempfile
from io import BytesIO

from twisted.web import server

# Bodies up to this size are kept in memory; larger ones spill to a temporary file.
_MEMORY_BODY = 1024 * 1024


class MeetRequest(server.Request):
    """A Request that refuses (413) a body larger than the site's max_body, without buffering it."""

    _too_large = False
    _received = 0

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
        unavailable = type(reason.value).__name__ in ("OperationalError", "InterfaceError", "ConnectionError")
        body = json.dumps(
            {"detail": "Service temporarily unavailable." if unavailable else "Internal server error."}
        ).encode()
        self.setResponseCode(503 if unavailable else 500)
        self.setHeader(b"content-type", b"application/json")
        self.setHeader(b"content-length", b"%d" % len(body))
        self.write(body)
        self.finish()
        return reason


class MeetSite(server.Site):
    requestFactory = MeetRequest
    noisy = False

    def __init__(self, resource, max_body: int, access_log: bool = False, **kwargs):
        super().__init__(resource, **kwargs)
        self.max_body = max_body
        self.access_log = access_log

    def log(self, request):
        # The default access log halves throughput; it is an option.
        if self.access_log:
            super().log(request)
