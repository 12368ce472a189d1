"""No process keeps honouring a credential revoked while its Redis was away (CONTRACT.md): the
revocation published meanwhile never reached it, so when its subscriber is back it forgets every
cached credential and reads the sessions ended meanwhile (their sockets close).

One process reaches Redis through a TCP proxy (tests/support/proxy.py) that the test cuts and restores;
the other revokes, with its own connection to Redis."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import task

from tests.clients.rooms import auth, register
from tests.support.backends import PG, REDIS
from tests.support.proxy import proxy_for, through
from tests.support.waiting import until

pytestmark = pytest.mark.skipif(not (PG and REDIS), reason="two processes need MEETSRV_TEST_POSTGRES and MEETSRV_TEST_REDIS")


@pytest_twisted.async_yield_fixture
async def redis_proxy():
    proxy = await proxy_for(REDIS, 6379)
    yield proxy
    await proxy.stop()


async def eventually_refused(http, server, session, timeout: float = 30.0) -> None:
    """Real time: the subscriber reconnects on txredisapi's backoff (up to 10 s between tries)."""
    from twisted.internet import reactor

    waited = 0.0
    while (await http.get(server.url + "/v1/info", headers=auth(session))).code != 401:
        assert waited < timeout, "the revoked session is still accepted"
        await task.deferLater(reactor, 0.2, lambda: None)
        waited += 0.2


@pytest_twisted.ensureDeferred
async def test_a_logout_while_redis_was_away_is_honoured_nowhere_once_it_is_back(start_server, http, redis_proxy):
    one = await start_server()
    two = await start_server(redis=through(REDIS, redis_proxy))
    ann = await register(http, one, "ann")
    assert (await http.get(two.url + "/v1/info", headers=auth(ann))).code == 200  # cached on two

    redis_proxy.cut()
    await until(lambda: two.services.bus._subscriber is None)
    # published to a Redis the second process no longer hears
    assert (await http.post(one.url + "/v1/logout", headers=auth(ann))).code == 200
    assert (await http.get(one.url + "/v1/info", headers=auth(ann))).code == 401

    redis_proxy.restore()
    await eventually_refused(http, two, ann)


@pytest_twisted.ensureDeferred
async def test_sessions_ended_while_redis_was_away_close_their_sockets_once_it_is_back(
        start_server, http, ws, redis_proxy):
    one = await start_server()
    two = await start_server(redis=through(REDIS, redis_proxy))
    ann, bob = await register(http, one, "ann"), await register(http, one, "bob")
    ann_id = (await http.get(one.url + "/v1/info", headers=auth(ann))).json["id"]
    bob_user = (await http.get(one.url + "/v1/info", headers=auth(bob))).json
    room = (await http.post(one.url + "/v1/rooms", json_body={"users": [bob_user]}, headers=auth(ann))).json
    on_two = await ws(f"{two.ws_url}/v1/rooms/{room['id']}/chat?session_id={ann}")

    redis_proxy.cut()
    await until(lambda: two.services.bus._subscriber is None)
    await one.services.credentials.revoke_all(ann_id)  # staff ended all of ann's sessions

    redis_proxy.restore()
    assert await on_two.wait_closed(timeout=30) == 4001
    await eventually_refused(http, two, ann)
