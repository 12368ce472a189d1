"""A socket that stays connected through a Redis outage misses nothing (CONTRACT.md, "Guarantees
of every chat"): when the bus is back, each process delivers what its chats stored meanwhile, in
order, once; a publish tried again after that is dropped as delivered.

The outage is a TCP proxy (tests/support/proxy.py) between one server process and the real Redis, which
the test cuts and restores; the other process keeps its own connection to Redis, as a process on
another machine would."""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import defer, task

from tests.clients.chats import LobbyChat, RoomsChat, frames
from tests.support.backends import PG, REDIS
from tests.support.bus import HeldBus
from tests.support.proxy import proxy_for, through
from tests.support.waiting import until


@pytest_twisted.async_yield_fixture
async def redis_proxy():
    proxy = await proxy_for(REDIS, 6379)
    yield proxy
    await proxy.stop()


def in_id_order(got):
    ids = [i for i, _ in got]
    return ids == sorted(set(ids))


@pytest.mark.skipif(not (PG and REDIS), reason="two processes need MEETSRV_TEST_POSTGRES and MEETSRV_TEST_REDIS")
@pytest.mark.parametrize("door_class", [RoomsChat, LobbyChat], ids=lambda d: d.name)
@pytest_twisted.ensureDeferred
async def test_a_socket_connected_through_a_redis_outage_misses_nothing(
        start_server, clock, http, ws, redis_proxy, door_class):
    # the first process reaches Redis through the proxy; its gap timer and its publish retries
    # run on `clock`, so only the catch-up can deliver what it missed
    one = await start_server(clock=clock, redis=through(REDIS, redis_proxy))
    two = await start_server()
    from twisted.internet import reactor

    door = await door_class().setup(http, two, users=3)
    listener = await ws(door.url(one, 0))
    writer_one, writer_two = await ws(door.url(one, 1)), await ws(door.url(two, 2))
    door.send(writer_two, "before")
    assert [t for _, t in await frames(door, listener, 1)] == ["before"]

    retried = []

    def hook(call, channel, payload, publish):
        if call == 1:
            raise ConnectionError("Redis is away")  # the chat service tries again in 1 s
        d = publish(channel, payload)
        if call == 2:
            retried.append(d)
        return d

    bus = HeldBus(one, hook)
    try:
        redis_proxy.cut()
        await until(lambda: one.services.bus._subscriber is None)
        # stored meanwhile: one message on the cut process (its publish refused), two on the
        # other (published to a Redis the cut process no longer hears)
        door.send(writer_one, "during-1")
        await until(lambda: bus.calls == 1)
        door.send(writer_two, "during-2")
        door.send(writer_two, "during-3")

        while len(await door.history(http, two)) < 4:
            await task.deferLater(reactor, 0.05, lambda: None)
        assert listener.pending() == 0

        redis_proxy.restore()
        # resubscribed (txredisapi backs off up to 10 s between attempts), the feed reads what
        # the chat stored while the bus was away
        got = [door.parse(await listener.next_text(timeout=30))] + await frames(door, listener, 2)
        assert [t for _, t in got] == ["during-1", "during-2", "during-3"]
        assert door.name == "social" or in_id_order(got)

        # the refused publish is tried again now: every feed has delivered it already
        clock.advance(1.0)
        await until(lambda: retried)
        await retried[0]
        door.send(writer_one, "after")
        assert [t for _, t in await frames(door, listener, 1)] == ["after"]
    finally:
        bus.restore()
    assert bus.calls == 3  # during-1, during-1 again, after

    everything = ["before", "during-1", "during-2", "during-3", "after"]
    mine = {writer_one: {"during-1", "after"}, writer_two: {"before", "during-2", "during-3"}}
    for sock in (writer_one, writer_two):
        want = [t for t in everything if door.echo or t not in mine[sock]]
        got = await frames(door, sock, len(want))
        assert [t for _, t in got] == want and in_id_order(got)
    history = await door.history(http, two)
    assert [t for _, t in history] == everything
    # nothing more on any socket: the retried frame was dropped, nothing came twice
    await until(lambda: one.services.hub.feed(door.chat_id).last == history[-1][0])
    for sock in (listener, writer_one, writer_two):
        assert sock.pending() == 0


@pytest_twisted.ensureDeferred
async def test_a_catch_up_asked_while_a_fill_runs_reads_the_database_again(start_server, clock, http, ws):
    """The fill running when the bus came back may have read before the last messages were
    stored: the feed reads once more after it."""
    server = await start_server(clock=clock)
    door = await RoomsChat().setup(http, server)
    writer, listener = await ws(door.url(server, 0)), await ws(door.url(server, 1))
    feed = server.services.hub.feed(door.chat_id)
    chats = feed.chats
    real_history = chats.history
    gate, read = defer.Deferred(), []

    def history(chat_id, limit=50, before=None, after=None, reader=None):
        d = defer.ensureDeferred(real_history(chat_id, limit, before, after, reader))
        if not read:  # the first fill's read completes, and waits before it delivers
            d.addCallback(lambda found: (read.append(found), gate.addCallback(lambda _: found))[1])
        return d

    # no publish reaches the feed: only the database does
    bus = HeldBus(server, lambda call, channel, payload, publish: defer.succeed(None))
    chats.history = history
    try:
        writer.send_json({"text": "m1", "client_id": "c1"})
        assert (await writer.next_json())["ack"] == "c1"
        feed.fill()
        await until(lambda: read)
        assert [m.text for m in read[0]] == ["m1"]
        writer.send_json({"text": "m2", "client_id": "c2"})
        assert (await writer.next_json())["ack"] == "c2"
        server.services.hub.catch_up()  # the bus is back while the fill runs
        gate.callback(None)
        assert [t for _, t in await frames(door, listener, 2)] == ["m1", "m2"]
    finally:
        chats.history = real_history
        bus.restore()
    assert listener.pending() == 0 and writer.pending() == 0
