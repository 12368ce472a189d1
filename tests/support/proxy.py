"""A TCP relay between the server under test and a real PostgreSQL or Redis, which a test cuts
(an outage) and restores, without touching the real servers other test runs share.

`cut("reset")`: every relayed connection is dropped and new ones are dropped at once (a stopped
server). `cut("blackhole")`: connections stay open but carry nothing, and new ones are accepted
and left silent (a network partition: nothing answers, nothing fails). `restore()` relays again:
paused connections carry what they held; silent ones are dropped, so clients reconnect.
"""

from __future__ import annotations

from twisted.internet import defer, protocol


class _Upstream(protocol.Protocol):
    def __init__(self, downstream):
        self.downstream = downstream

    def connectionMade(self):
        self.downstream.upstream_ready(self)

    def dataReceived(self, data):
        self.downstream.transport.write(data)

    def connectionLost(self, reason):
        if self.downstream.transport is not None:
            self.downstream.transport.loseConnection()


class _Downstream(protocol.Protocol):
    def __init__(self, proxy):
        self.proxy = proxy
        self.upstream = None
        self.held: list[bytes] = []
        self.silent = False

    def connectionMade(self):
        self.proxy.connections.add(self)
        if self.proxy.mode == "reset":
            self.transport.abortConnection()
            return
        if self.proxy.mode == "blackhole":
            self.silent = True
            return
        self.connect_upstream()

    def connect_upstream(self):
        from twisted.internet import reactor
        from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

        d = connectProtocol(TCP4ClientEndpoint(reactor, self.proxy.host, self.proxy.port), _Upstream(self))
        d.addErrback(lambda _: self.transport.abortConnection())

    def upstream_ready(self, upstream):
        self.upstream = upstream
        for data in self.held:
            upstream.transport.write(data)
        self.held = []
        if self.proxy.mode == "blackhole":
            self.pause()

    def dataReceived(self, data):
        if self.upstream is None:
            self.held.append(data)
        else:
            self.upstream.transport.write(data)

    def pause(self):
        self.transport.pauseProducing()
        if self.upstream is not None:
            self.upstream.transport.pauseProducing()

    def resume(self):
        self.transport.resumeProducing()
        if self.upstream is not None:
            self.upstream.transport.resumeProducing()

    def abort(self):
        self.transport.abortConnection()
        if self.upstream is not None:
            self.upstream.transport.abortConnection()

    def connectionLost(self, reason):
        self.proxy.connections.discard(self)
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.loseConnection()


class TcpProxy(protocol.Factory):
    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self.mode = "relay"
        self.connections: set[_Downstream] = set()
        self.listening = None

    def buildProtocol(self, addr):
        return _Downstream(self)

    async def start(self) -> TcpProxy:
        from twisted.internet import reactor

        self.listening = reactor.listenTCP(0, self, interface="127.0.0.1")
        return self

    @property
    def listen_port(self) -> int:
        return self.listening.getHost().port

    def cut(self, mode: str = "reset") -> None:
        self.mode = mode
        for conn in list(self.connections):
            if mode == "reset":
                conn.abort()
            else:
                conn.pause()

    def restore(self) -> None:
        self.mode = "relay"
        for conn in list(self.connections):
            if conn.silent:
                conn.abort()
            else:
                conn.resume()

    async def stop(self) -> None:
        for conn in list(self.connections):
            conn.abort()
        if self.listening is not None:
            await defer.maybeDeferred(self.listening.stopListening)


def through(url: str, proxy: TcpProxy) -> str:
    """The URL with its host and port replaced by the proxy's."""
    from urllib.parse import urlparse, urlunparse

    parsed = urlparse(url)
    netloc = f"127.0.0.1:{proxy.listen_port}"
    if parsed.username:
        auth = parsed.username + (f":{parsed.password}" if parsed.password else "")
        netloc = f"{auth}@{netloc}"
    return urlunparse(parsed._replace(netloc=netloc))


async def proxy_for(url: str, default_port: int) -> TcpProxy:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    return await TcpProxy(parsed.hostname or "127.0.0.1", parsed.port or default_port).start()
