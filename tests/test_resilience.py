"""Resilience on every backend: revoked credentials close their sockets, sockets per credential
are capped, a client that does not read is closed, slow requests meet deadlines, readiness, the
file limit."""

from __future__ import annotations

import resource
import socket
import time

import pytest
import pytest_twisted
from twisted.internet import defer, protocol

from tests.clients.base import (
    HandshakeRefused,
    http,  # noqa: F401  (no shared cookie jar)
    parse_responses,
)
from tests.clients.campus import create_event, signup
from tests.clients.phone import PHONES
from tests.clients.phone import auth as phone_auth
from tests.clients.phone import sign_up as phone_sign_up
from tests.support.backends import REDIS
from tests.support.waiting import until


async def _register(http, server, login):
    r = await http.post(server.url + "/v1/register", json_body={"login": login, "password": "pw"})
    assert r.code == 200, r
    return r.json["session_id"]


async def _room(http, server, a, b):
    bob = (await http.get(server.url + "/v1/info", headers={"X-Session-Id": b})).json
    room = (await http.post(server.url + "/v1/rooms", json_body={"users": [bob]}, headers={"X-Session-Id": a})).json
    return f"/v1/rooms/{room['id']}/chat"


# -- revoked credentials close their sockets ------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_logout_closes_that_credentials_sockets_on_every_process_within_a_second(start_server, http, ws):
    first = await start_server()
    # with Redis, a second process on the same database; in-process, the same one twice
    second = await start_server() if REDIS else first
    ann = await _register(http, first, "ann")
    ben = await _register(http, first, "ben")
    chat = await _room(http, first, ann, ben)
    anns = [await ws(f"{server.ws_url}{chat}?session_id={ann}") for server in (first, second)]
    bens = await ws(f"{second.ws_url}{chat}?session_id={ben}")

    started = time.monotonic()
    assert (await http.post(first.url + "/v1/logout", headers={"X-Session-Id": ann})).code == 200
    for sock in anns:
        assert await sock.wait_closed(timeout=1.0) == 4001
    assert time.monotonic() - started < 1.0
    # the other credential's socket stays, and works
    assert not bens.proto.closed.called
    bens.send_json({"text": "still here"})
    # a new login ends the earlier session (one at a time): its socket closes too
    ann2 = (await http.post(first.url + "/v1/login", json_body={"login": "ben", "password": "pw"})).json["session_id"]
    assert await bens.wait_closed(timeout=1.0) == 4001
    assert ann2 != ben


@pytest_twisted.ensureDeferred
async def test_a_revoked_session_and_a_deleted_account_close_their_sockets(start_server, http, ws, clock):
    server = await start_server(clock=clock)
    creator = await signup(http, server, "creator")
    student = await signup(http, server, "student")
    now = int(clock.seconds())
    event_id = await create_event(creator, "Алгебра", now + 60, now + 3600)
    url = f"{server.ws_url}/ws/mark_me?event_id={event_id}"
    # a campus session (cookie), and a phone door's token, which the campus door takes too
    by_cookie = await ws(url, headers=student.ws_headers())
    _, phone_token = await phone_sign_up(http, server, PHONES[0])
    by_token = await ws(url, headers=phone_auth(phone_token))
    creators = await ws(url, headers=creator.ws_headers())

    # campus logout revokes the session token
    assert await student.post("/accounts/logout/", {}) == {"error": 0, "error_msg": ""}
    assert await by_cookie.wait_closed() == 4001
    # a deleted phone account revokes all its credentials
    r = await http.delete(server.url + "/api/account/", headers=phone_auth(phone_token))
    assert r.code == 204, r
    assert await by_token.wait_closed() == 4001
    assert not creators.proto.closed.called


# -- limits ---------------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_sockets_per_credential_are_capped(start_server, http, ws):
    server = await start_server(ws_per_credential=3)
    ann = await _register(http, server, "ann")
    ben = await _register(http, server, "ben")
    chat = f"{server.ws_url}{await _room(http, server, ann, ben)}"
    held = [await ws(f"{chat}?session_id={ann}") for _ in range(3)]
    with pytest.raises(HandshakeRefused) as refused:
        await ws(f"{chat}?session_id={ann}")
    assert refused.value.status == 429
    # another credential has its own count
    await ws(f"{chat}?session_id={ben}")
    # one closed, one more may open
    await held[0].close()
    await until(lambda: server.services.credential_sockets.count(_hash(ann)) == 2)
    await ws(f"{chat}?session_id={ann}")


def _hash(token):
    from meetsrv.core.accounts.credentials import token_hash

    return token_hash(token)


async def _slow_reader(server, url):
    """A WebSocket client whose socket has a small receive buffer (set before it connects, so
    the kernel does not grow it), opened; the test stops it reading."""
    from autobahn.twisted.websocket import WebSocketClientFactory
    from twisted.internet import reactor

    from tests.clients.base import ClientProtocol, WsClient

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port.getHost().port))
    sock.setblocking(False)
    factory = WebSocketClientFactory(url)
    factory.opened = defer.Deferred()

    class Proto(ClientProtocol):
        def __init__(self):
            super().__init__()
            self.messages = defer.DeferredQueue()
            self.closed = defer.Deferred()

    factory.protocol = Proto
    reactor.adoptStreamConnection(sock.fileno(), socket.AF_INET, factory)
    sock.close()  # the reactor holds its own duplicate
    return WsClient(await factory.opened.addTimeout(10, reactor))


@pytest_twisted.ensureDeferred
async def test_a_socket_that_does_not_read_is_closed_with_1008(start_server, http, ws):
    from meetsrv.ws.protocol import unsent_bytes

    limit = 128 * 1024
    server = await start_server(ws_max_buffer=limit)
    ann = await _register(http, server, "ann")
    ben = await _register(http, server, "ben")
    chat = f"{server.ws_url}{await _room(http, server, ann, ben)}"
    sender = await ws(f"{chat}?session_id={ann}")
    reader = await _slow_reader(server, f"{chat}?session_id={ben}")
    reader.proto.transport.pauseProducing()  # ben's client stops reading
    bens = [s for s in server.services.hub._open.values() if s.credential_hash == _hash(ben)]
    assert len(bens) == 1
    # 6 MB: more than the kernel's buffers take (the server's send buffer grows to 4 MB)
    for _ in range(150):
        sender.send_json({"text": "x" * 40_000})
    await until(lambda: bens[0]._closed, timeout=20)
    # what the server kept for ben stayed near the limit (one frame past it at most)
    assert unsent_bytes(bens[0].transport) < limit + 64 * 1024
    # ben reads again: everything sent before, then the close frame
    reader.proto.transport.resumeProducing()
    assert await reader.wait_closed() == 1008
    assert not sender.proto.closed.called


# -- slow requests --------------------------------------------------------------------------------

class _Raw(protocol.Protocol):
    def __init__(self):
        self.received = b""
        self.closed = defer.Deferred()

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.closed.callback(self.received)


async def _connect(server) -> _Raw:
    from twisted.internet import reactor
    from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

    raw = _Raw()
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", server.port.getHost().port), raw)
    return raw


def _reading(server, what):
    return lambda: any(c._reading == what for c in server.site.channels)


@pytest_twisted.ensureDeferred
async def test_slow_request_headers_are_answered_408(start_server, clock):
    server = await start_server(clock=clock, header_timeout=10)
    raw = await _connect(server)
    raw.transport.write(b"GET /healthz HTTP/1.1\r\nHo")
    await until(_reading(server, "headers"))
    clock.advance(9)
    raw.transport.write(b"st: x\r\n")  # a byte now and then does not move the deadline
    clock.advance(1)
    (answer,) = parse_responses(await raw.closed)
    assert answer.code == 408 and answer.json == {"detail": "Request timeout."}
    assert answer.header("connection") == "close"


@pytest_twisted.ensureDeferred
async def test_slow_request_body_is_answered_408_and_a_patient_one_is_served(start_server, clock):
    server = await start_server(clock=clock, header_timeout=10, body_timeout=60)
    raw = await _connect(server)
    raw.transport.write(b"POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 40\r\n\r\n{")
    await until(_reading(server, "body"))
    clock.advance(59)
    assert not raw.closed.called
    clock.advance(1)
    (answer,) = parse_responses(await raw.closed)
    assert answer.code == 408

    # within both deadlines: answered as usual
    raw = await _connect(server)
    raw.transport.write(b"GET /healthz HTTP/1.1\r\n")
    await until(_reading(server, "headers"))
    clock.advance(9)
    raw.transport.write(b"Host: x\r\nConnection: close\r\n\r\n")
    (answer,) = parse_responses(await raw.closed)
    assert answer.code == 200 and answer.json == {"status": "ok"}


# -- readiness, file limit -------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_readiness_and_liveness(server, http):
    r = await http.get(server.url + "/healthz/ready")
    assert r.code == 200 and r.json == {"status": "ok"}
    assert (await http.get(server.url + "/healthz")).json == {"status": "ok"}
    assert (await http.get(server.url + "/healthz/other")).code == 404
    assert (await http.post(server.url + "/healthz/ready")).code == 405


def test_the_open_file_limit_is_raised_to_the_hard_limit():
    from meetsrv.service import raise_file_limit

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.skip("the hard limit is too low to lower the soft one")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        before, after = raise_file_limit()
        assert before == 256 and after > 256
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (after, hard)
        assert hard == resource.RLIM_INFINITY or after == hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]), hard))
