"""Test clients: HTTP through treq, WebSocket through Autobahn, with timeouts so no test hangs."""

from __future__ import annotations

import json
import re

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


class Http:
    def __init__(self):
        from twisted.internet import reactor
        from twisted.web.client import Agent, HTTPConnectionPool
        import treq

        self.pool = HTTPConnectionPool(reactor, persistent=False)
        self.client = treq.client.HTTPClient(Agent(reactor, pool=self.pool))

    async def request(self, method: str, url: str, json_body=None, data=None, headers=None,
                      files=None, params=None) -> Response:
        headers = dict(headers or {})
        kwargs = {}
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


class HandshakeRefused(Exception):
    def __init__(self, status: int | None, reason: str):
        super().__init__(f"WebSocket handshake refused: {status} {reason}")
        self.status = status
        self.reason = reason


class _ClientProtocol(WebSocketClientProtocol):
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

        class Proto(_ClientProtocol):
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
