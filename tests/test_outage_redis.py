"""Redis outages, cut with a TCP proxy between the server and the real Redis (other test runs
share that Redis): what needs Redis answers 503 in its door's style within 2 s and never hangs,
what does not keeps working, and no process keeps honouring a revoked credential."""

from __future__ import annotations

import time

import pytest
import pytest_twisted

from tests.clients.base import HandshakeRefused
from tests.clients.directory import member
from tests.support.backends import REDIS
from tests.support.proxy import proxy_for, through
from tests.support.waiting import until

pytestmark = pytest.mark.skipif(not REDIS, reason="Redis outages need MEETSRV_TEST_REDIS")


@pytest_twisted.async_yield_fixture
async def redis_proxy():
    proxy = await proxy_for(REDIS, 6379)
    yield proxy
    await proxy.stop()


async def _register(http, server, login):
    r = await http.post(server.url + "/v1/register", json_body={"login": login, "password": "pw"})
    assert r.code == 200, r
    return r.json["session_id"]


async def _room(http, server, a, b):
    bob = (await http.get(server.url + "/v1/info", headers={"X-Session-Id": b})).json
    room = (await http.post(server.url + "/v1/rooms", json_body={"users": [bob]}, headers={"X-Session-Id": a})).json
    return f"/v1/rooms/{room['id']}/chat"


async def _timed(coro):
    started = time.monotonic()
    result = await coro
    return result, time.monotonic() - started


@pytest.mark.parametrize("mode", ["reset", "blackhole"])
@pytest_twisted.ensureDeferred
async def test_what_needs_redis_fails_fast_with_503_in_the_door_style(start_server, http, ws, redis_proxy, mode):
    server = await start_server(redis=through(REDIS, redis_proxy))
    ann = await _register(http, server, "ann")
    ben = await _register(http, server, "ben")
    chat = await _room(http, server, ann, ben)
    await member(http, server, "dora@example.com")
    assert (await http.get(server.url + "/healthz/ready")).json == {"status": "ok"}

    redis_proxy.cut(mode)
    if mode == "reset":
        await until(lambda: not server.bus.connected)

    # rooms: a login counts attempts in Redis: 503 in the rooms door's style, fast
    r, took = await _timed(http.post(server.url + "/v1/login", json_body={"login": "ann", "password": "pw"}))
    assert r.code == 503 and r.json == {"error": {"code": "service_unavailable"}}, r
    assert took < 2.0 and r.header("retry-after") == "5"
    # directory: a sign-in too, in DRF's style
    r, took = await _timed(http.post(server.url + "/api/user/sign-in/",
                                     json_body={"email": "dora@example.com", "password": "s3cret-pass"}))
    assert r.code == 503 and r.json == {"detail": "Service temporarily unavailable, try again later."}, r
    assert took < 2.0
    # a new socket needs the bus: refused at once, not held until Redis is back
    started = time.monotonic()
    with pytest.raises(HandshakeRefused) as refused:
        await ws(f"{server.ws_url}{chat}?session_id={ben}")
    assert refused.value.status == 503 and time.monotonic() - started < 2.0
    # the process is alive but not ready
    assert (await http.get(server.url + "/healthz")).code == 200
    r, took = await _timed(http.get(server.url + "/healthz/ready"))
    assert r.code == 503 and r.json == {"status": "unavailable", "failing": ["redis"]} and took < 2.5, r
    # what needs only the database works: reading, and a logout (the revocation is stored; its
    # publication waits for Redis)
    assert (await http.get(server.url + "/v1/info", headers={"X-Session-Id": ann})).code == 200
    r, took = await _timed(http.post(server.url + "/v1/logout", headers={"X-Session-Id": ann}))
    assert r.code == 200 and took < 2.0, r
    assert (await http.get(server.url + "/v1/info", headers={"X-Session-Id": ann})).code == 401

    redis_proxy.restore()
    await until(lambda: server.bus.connected)
    await until(lambda: server.services.credentials.unpublished() == 0)
    assert (await http.get(server.url + "/healthz/ready")).code == 200
    r = await http.post(server.url + "/v1/login", json_body={"login": "ann", "password": "pw"})
    assert r.code == 200, r
    sock = await ws(f"{server.ws_url}{chat}?session_id={ben}")
    sock.send_json({"text": "back"})


@pytest_twisted.ensureDeferred
async def test_logout_closes_sockets_on_the_other_process_once_its_redis_is_back(start_server, http, ws, redis_proxy):
    first = await start_server()
    second = await start_server(redis=through(REDIS, redis_proxy))
    ann = await _register(http, first, "ann")
    ben = await _register(http, first, "ben")
    chat = await _room(http, first, ann, ben)
    # ann's credential is cached on the second process
    assert (await http.get(second.url + "/v1/info", headers={"X-Session-Id": ann})).code == 200
    on_second = await ws(f"{second.ws_url}{chat}?session_id={ann}")
    bens = await ws(f"{second.ws_url}{chat}?session_id={ben}")

    redis_proxy.cut()
    await until(lambda: not second.bus.connected)
    assert (await http.post(first.url + "/v1/logout", headers={"X-Session-Id": ann})).code == 200
    # the second process did not hear it, but it trusts no cache while its bus is down
    assert (await http.get(second.url + "/v1/info", headers={"X-Session-Id": ann})).code == 401
    assert not on_second.proto.closed.called

    redis_proxy.restore()
    # back: the second process checks its sockets' credentials; ann's socket closes, ben's stays
    assert await on_second.wait_closed() == 4001
    assert not bens.proto.closed.called


@pytest_twisted.ensureDeferred
async def test_sockets_are_checked_while_redis_is_away(start_server, http, ws, redis_proxy, clock):
    first = await start_server()
    second = await start_server(clock=clock, redis=through(REDIS, redis_proxy), credential_cache_ttl=30)
    ann = await _register(http, first, "ann")
    ben = await _register(http, first, "ben")
    chat = await _room(http, first, ann, ben)
    on_second = await ws(f"{second.ws_url}{chat}?session_id={ann}")

    redis_proxy.cut()
    await until(lambda: not second.bus.connected)
    assert (await http.post(first.url + "/v1/logout", headers={"X-Session-Id": ann})).code == 200
    clock.advance(29)
    assert not on_second.proto.closed.called
    # every check interval while the bus is down, the sockets' credentials are read again
    clock.advance(1)
    assert await on_second.wait_closed() == 4001


@pytest_twisted.ensureDeferred
async def test_a_revocation_that_could_not_be_published_is_published_when_redis_is_back(
        start_server, http, ws, redis_proxy):
    first = await start_server(redis=through(REDIS, redis_proxy))
    second = await start_server()
    ann = await _register(http, second, "ann")
    ben = await _register(http, second, "ben")
    chat = await _room(http, second, ann, ben)
    assert (await http.get(second.url + "/v1/info", headers={"X-Session-Id": ann})).code == 200  # cached
    on_second = await ws(f"{second.ws_url}{chat}?session_id={ann}")

    redis_proxy.cut()
    await until(lambda: not first.bus.connected)
    assert (await http.post(first.url + "/v1/logout", headers={"X-Session-Id": ann})).code == 200
    assert first.services.credentials.unpublished() == 1
    assert not on_second.proto.closed.called

    redis_proxy.restore()
    # the first process publishes it as soon as Redis takes it; the second closes the socket
    assert await on_second.wait_closed() == 4001
    assert first.services.credentials.unpublished() == 0
    assert (await http.get(second.url + "/v1/info", headers={"X-Session-Id": ann})).code == 401


@pytest_twisted.ensureDeferred
async def test_a_socket_connected_through_an_outage_gets_what_was_stored_meanwhile(start_server, http, ws, redis_proxy):
    first = await start_server()
    second = await start_server(redis=through(REDIS, redis_proxy))
    ann = await _register(http, first, "ann")
    ben = await _register(http, first, "ben")
    chat = await _room(http, first, ann, ben)
    listener = await ws(f"{second.ws_url}{chat}?session_id={ben}")
    sender = await ws(f"{first.ws_url}{chat}?session_id={ann}")
    sender.send_json({"text": "before"})
    assert (await listener.next_json())["text"] == "before"

    redis_proxy.cut()
    await until(lambda: not second.bus.connected)
    for text in ("during 1", "during 2"):
        sender.send_json({"text": text, "client_id": text})
        assert (await sender.next_json())["ack"] == text  # stored (and published: the first has Redis)
    assert listener.pending() == 0

    redis_proxy.restore()
    # back: the second process reads what the chat stored meanwhile, in order, once
    assert [(await listener.next_json())["text"] for _ in range(2)] == ["during 1", "during 2"]
    sender.send_json({"text": "after"})
    assert (await listener.next_json())["text"] == "after"
    assert listener.pending() == 0
