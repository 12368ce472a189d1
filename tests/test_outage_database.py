"""PostgreSQL outages, cut with a TCP proxy between the server and the real database (other
test runs share that server): every door answers 503 in its own style, WebSocket handshakes
503, /healthz stays live while /healthz/ready names the database; all is well once it is back."""

from __future__ import annotations

import time

import pytest
import pytest_twisted
from twisted.internet import task

from tests.clients.base import HandshakeRefused
from tests.clients.directory import auth, member
from tests.support.backends import PG, REDIS
from tests.support.proxy import proxy_for, through

pytestmark = pytest.mark.skipif(not PG, reason="database outages need MEETSRV_TEST_POSTGRES")

UNAVAILABLE = "Service temporarily unavailable, try again later."


@pytest_twisted.async_yield_fixture
async def pg_proxy():
    proxy = await proxy_for(PG, 5432)
    yield proxy
    await proxy.stop()


async def _until_ok(http, url, timeout=15.0):
    from twisted.internet import reactor

    started = time.monotonic()
    while True:
        r = await http.get(url)
        if r.code == 200:
            return r
        assert time.monotonic() - started < timeout, r
        await task.deferLater(reactor, 0.2, lambda: None)


@pytest_twisted.ensureDeferred
async def test_every_door_answers_503_while_the_database_is_away(start_server, db_url, http, ws, pg_proxy):
    server = await start_server(db=through(db_url, pg_proxy))
    ann = (await http.post(server.url + "/v1/register", json_body={"login": "ann", "password": "pw"})).json["session_id"]
    ben = (await http.post(server.url + "/v1/register", json_body={"login": "ben", "password": "pw"})).json["session_id"]
    bob = (await http.get(server.url + "/v1/info", headers={"X-Session-Id": ben})).json
    room = (await http.post(server.url + "/v1/rooms", json_body={"users": [bob]}, headers={"X-Session-Id": ann})).json
    _, access = await member(http, server, "dora@example.com")

    pg_proxy.cut()
    # liveness is the process; readiness names what is missing
    assert (await http.get(server.url + "/healthz")).code == 200
    started = time.monotonic()
    r = await http.get(server.url + "/healthz/ready")
    assert r.code == 503 and r.json == {"status": "unavailable", "failing": ["database"]}, r
    assert time.monotonic() - started < 2.5

    r = await http.get(server.url + "/v1/rooms", headers={"X-Session-Id": ann})
    assert r.code == 503 and r.json == {"error": {"code": "service_unavailable"}}, r
    r = await http.get(server.url + "/api/events/", headers=auth(access))
    assert r.code == 503 and r.json == {"detail": UNAVAILABLE}, r
    r = await http.get(server.url + "/meeting-types/", headers={"Authorization": "Token " + "a" * 40})
    assert r.code == 503 and r.json == {"detail": UNAVAILABLE}, r
    r = await http.get(server.url + "/api/account/", headers={"Authorization": "Token " + "b" * 40})
    assert r.code == 503 and r.json == {"detail": UNAVAILABLE}, r
    r = await http.get(server.url + "/api/events/GetEvents", params={"name": "Физика"})
    assert r.code == 503 and r.json == {"error": -1, "error_msg": UNAVAILABLE}, r
    # a WebSocket handshake: 503, not 500
    with pytest.raises(HandshakeRefused) as refused:
        await ws(f"{server.ws_url}/v1/rooms/{room['id']}/chat?session_id={ann}")
    assert refused.value.status == 503

    pg_proxy.restore()
    r = await _until_ok(http, server.url + "/healthz/ready")
    assert r.json == {"status": "ok"}
    assert (await http.get(server.url + "/v1/rooms", headers={"X-Session-Id": ann})).code == 200
    sock = await ws(f"{server.ws_url}/v1/rooms/{room['id']}/chat?session_id={ann}")
    sock.send_json({"text": "back"})


@pytest.mark.skipif(not REDIS, reason="needs MEETSRV_TEST_REDIS too")
@pytest_twisted.ensureDeferred
async def test_readiness_names_both_parts_when_both_are_away(start_server, db_url, http, pg_proxy):
    redis_proxy = await proxy_for(REDIS, 6379)
    try:
        server = await start_server(db=through(db_url, pg_proxy), redis=through(REDIS, redis_proxy))
        pg_proxy.cut()
        redis_proxy.cut("blackhole")
        r = await http.get(server.url + "/healthz/ready")
        assert r.code == 503 and r.json == {"status": "unavailable", "failing": ["database", "redis"]}, r
        pg_proxy.restore()
        redis_proxy.restore()
        await _until_ok(http, server.url + "/healthz/ready")
    finally:
        await redis_proxy.stop()
