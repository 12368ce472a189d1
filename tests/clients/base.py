"""What every door's client is made of: HTTP through treq, WebSocket through Autobahn, raw
HTTP bytes for requests no client library would send, all with timeouts so no test hangs.

`http` here is a fixture: a module that imports it gets an HTTP client without a shared cookie
jar (conftest's `http` keeps the cookies it is given, as treq does by default)."""

from __future__ import annotations

import json
import re

import pytest_twisted
from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol, connectWS
from twisted.internet import defer

TIMEOUT = 10.0


class Response:
    def __init__(self, code: int, headers, body: bytes):
        self.code = code
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def header(self, name: str):
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None

    def __repr__(self):
        return f"<Response {self.code} {self.body[:300]!r}>"


class _NoCookieJar:
    """treq keeps cookies by default; tests that use this jar send each user's cookies themselves."""

    def __new__(cls):
        from http.cookiejar import CookieJar

        class Jar(CookieJar):
            def extract_cookies(self, response, request):
                return None

            def set_cookie(self, cookie):
                return None

        return Jar()


class Http:
    """An HTTP client over a non-persistent pool (no connections left behind); `keep_cookies`
    False: it keeps no cookie the server sets."""

    def __init__(self, keep_cookies: bool = True):
        import treq
        from twisted.internet import reactor
        from twisted.web.client import Agent, HTTPConnectionPool

        self.pool = HTTPConnectionPool(reactor, persistent=False)
        jar = None if keep_cookies else _NoCookieJar()
        self.client = treq.client.HTTPClient(Agent(reactor, pool=self.pool), cookiejar=jar)

    async def request(self, method: str, url: str, json_body=None, data=None, headers=None,
                      files=None, params=None, follow_redirects=True) -> Response:
        headers = dict(headers or {})
        kwargs = {"allow_redirects": follow_redirects}
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif data is not None:
            kwargs["data"] = data
        if files is not None:
            kwargs["files"] = files
        if params is not None:
            kwargs["params"] = params
        d = self.client.request(method, url, headers={k: [v] for k, v in headers.items()}, **kwargs)
        from twisted.internet import reactor

        d.addTimeout(TIMEOUT, reactor)
        resp = await d
        body = await resp.content()
        return Response(resp.code, resp.headers, body)

    async def get(self, url, **kw):
        return await self.request("GET", url, **kw)

    async def post(self, url, **kw):
        return await self.request("POST", url, **kw)

    async def put(self, url, **kw):
        return await self.request("PUT", url, **kw)

    async def patch(self, url, **kw):
        return await self.request("PATCH", url, **kw)

    async def delete(self, url, **kw):
        return await self.request("DELETE", url, **kw)

    async def close(self):
        await self.pool.closeCachedConnections()


@pytest_twisted.async_yield_fixture
async def http():
    """The harness's HTTP client without a shared cookie jar (a module importing this overrides
    conftest's `http`): each user sends its own cookies."""
    client = Http(keep_cookies=False)
    yield client
    await client.close()


class NoRedirects:
    """The test HTTP client without following redirects (treq follows them by default)."""

    def __init__(self, http):
        self.http = http.http if isinstance(http, NoRedirects) else http

    async def request(self, method, url, data=None, headers=None):
        from twisted.internet import reactor

        d = self.http.client.request(method, url, data=data, headers={k: [v] for k, v in (headers or {}).items()},
                                     allow_redirects=False)
        d.addTimeout(TIMEOUT, reactor)
        resp = await d
        return Response(resp.code, resp.headers, await resp.content())

    async def get(self, url, **kw):
        return await self.request("GET", url, **kw)

    async def post(self, url, **kw):
        return await self.request("POST", url, **kw)


class RawExchange:
    """A Twisted protocol that writes the given bytes as they are and collects everything the
    server sends until it closes the connection."""

    def __init__(self, data: bytes):
        from twisted.internet import protocol

        exchange = self

        class Proto(protocol.Protocol):
            def connectionMade(self):
                self.transport.write(data)

            def dataReceived(self, chunk):
                exchange.received.append(chunk)

            def connectionLost(self, reason):
                if not exchange.done.called:
                    exchange.done.callback(b"".join(exchange.received))

        self.received: list[bytes] = []
        self.protocol = Proto()
        self.done = defer.Deferred(lambda d: self.protocol.transport.abortConnection())


def parse_responses(raw: bytes) -> list[Response]:
    """HTTP/1.1 responses one after another (Content-Length, chunked, or to the end)."""
    from twisted.web.http_headers import Headers

    out = []
    while raw:
        head, sep, raw = raw.partition(b"\r\n\r\n")
        assert sep, f"no end of headers in {head[:200]!r}"
        status_line, *lines = head.split(b"\r\n")
        code = int(status_line.split(b" ")[1])
        headers = Headers()
        for line in lines:
            name, _, value = line.partition(b":")
            headers.addRawHeader(name.strip(), value.strip())
        length = headers.getRawHeaders(b"content-length")
        if headers.getRawHeaders(b"transfer-encoding") == [b"chunked"]:
            body = b""
            while True:
                size_line, _, raw = raw.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    assert raw.startswith(b"\r\n"), "trailers are not expected"
                    raw = raw[2:]
                    break
                body, raw = body + raw[:size], raw[size + 2:]
        elif length:
            body, raw = raw[:int(length[0])], raw[int(length[0]):]
        else:
            body, raw = raw, b""
        out.append(Response(code, headers, body))
    return out


async def raw_http(port: int, data: bytes) -> list[Response]:
    """Send `data` byte for byte (no client library re-encodes the request line) to
    127.0.0.1:port and read the responses until the server closes the connection; end the last
    request with `Connection: close`."""
    from twisted.internet import reactor
    from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

    exchange = RawExchange(data)
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=TIMEOUT), exchange.protocol)
    exchange.done.addTimeout(TIMEOUT, reactor)
    return parse_responses(await exchange.done)


class HandshakeRefused(Exception):
    def __init__(self, status: int | None, reason: str):
        super().__init__(f"WebSocket handshake refused: {status} {reason}")
        self.status = status
        self.reason = reason


class ClientProtocol(WebSocketClientProtocol):
    def onConnect(self, response):
        self.http_status = 101

    def onOpen(self):
        self.factory.opened.callback(self)

    def onMessage(self, payload, isBinary):
        self.messages.put(payload.decode("utf-8") if not isBinary else payload)

    def onClose(self, wasClean, code, reason):
        # the code the server sent, even when it then dropped the connection
        code = getattr(self, "remoteCloseCode", None) or code
        self.close_code = code
        self.close_reason = reason
        if not self.factory.opened.called:
            status = None
            m = re.search(r"upgrade failed \[(\d{3})\]|\((\d{3}) - ", reason or "")
            if m:
                status = int(m.group(1) or m.group(2))
            self.factory.opened.errback(HandshakeRefused(status, reason or ""))
        if not self.closed.called:
            self.closed.callback(code)


class WsClient:
    """An open socket: `send_json`, `next_json()`, `close()`; `messages` is a DeferredQueue."""

    def __init__(self, proto):
        self.proto = proto

    def send_json(self, value) -> None:
        self.proto.sendMessage(json.dumps(value).encode("utf-8"))

    def send_text(self, text: str) -> None:
        self.proto.sendMessage(text.encode("utf-8"))

    async def next_text(self, timeout: float = TIMEOUT):
        from twisted.internet import reactor

        d = self.proto.messages.get()
        d.addTimeout(timeout, reactor)
        return await d

    async def next_json(self, timeout: float = TIMEOUT):
        return json.loads(await self.next_text(timeout))

    def pending(self) -> int:
        return len(self.proto.messages.pending)

    async def wait_closed(self, timeout: float = TIMEOUT):
        from twisted.internet import reactor

        d = defer.Deferred()
        self.proto.closed.addBoth(lambda r: (d.called or d.callback(r), r)[1])
        d.addTimeout(timeout, reactor)
        return await d

    async def close(self):
        if not self.proto.closed.called:
            self.proto.sendClose()
            try:
                await self.wait_closed()
            except defer.TimeoutError:
                self.proto.dropConnection()


class WsClients:
    def __init__(self):
        self.clients: list[WsClient] = []

    async def connect(self, url: str, headers: dict | None = None) -> WsClient:
        from twisted.internet import reactor

        factory = WebSocketClientFactory(url, headers=headers or {})
        factory.opened = defer.Deferred()

        class Proto(ClientProtocol):
            def __init__(self):
                super().__init__()
                self.messages = defer.DeferredQueue()
                self.closed = defer.Deferred()

        factory.protocol = Proto
        connectWS(factory, timeout=TIMEOUT)
        factory.opened.addTimeout(TIMEOUT, reactor)
        proto = await factory.opened
        client = WsClient(proto)
        self.clients.append(client)
        return client

    async def close_all(self):
        for client in self.clients:
            await client.close()
