"""The bus and the ephemeral store, in-process or over Redis (whichever this run uses)."""

from __future__ import annotations

import pytest_twisted
from twisted.internet import defer

from tests.support.backends import REDIS


async def make_bus(settings, clock):
    from meetsrv.config import redis_address

    if settings.redis:
        from meetsrv.bus.redis import RedisBus, RedisEphemeral

        bus = RedisBus(*redis_address(settings.redis), prefix=settings.redis_prefix)
        await bus.start()
        return bus, RedisEphemeral(bus, clock)
    from meetsrv.bus.local import LocalBus, LocalEphemeral

    return LocalBus(), LocalEphemeral(clock)


@pytest_twisted.ensureDeferred
async def test_publish_reaches_every_subscriber_of_the_channel_only(make_settings, clock):
    bus, _ = await make_bus(make_settings(), clock)
    try:
        got_a, got_b, other = defer.DeferredQueue(), defer.DeferredQueue(), []
        s1 = bus.subscribe("chat:1", got_a.put)
        s2 = bus.subscribe("chat:1", got_b.put)
        s3 = bus.subscribe("chat:2", other.append)
        await s1.ready
        await s2.ready
        await s3.ready
        await bus.publish("chat:1", "x\n{\"n\": 1}")
        assert await got_a.get() == "x\n{\"n\": 1}"
        assert await got_b.get() == "x\n{\"n\": 1}"
        s1.cancel()
        await bus.publish("chat:1", "second")
        assert await got_b.get() == "second"
        assert got_a.pending == [] and other == []
    finally:
        await bus.stop()


@pytest_twisted.ensureDeferred
async def test_ephemeral_counters_expire_on_the_injected_clock(make_settings, clock):
    bus, eph = await make_bus(make_settings(), clock)
    try:
        assert await eph.incr("attempts:+7", 300) == 1
        assert await eph.incr("attempts:+7", 300) == 2
        clock.advance(299)
        assert await eph.incr("attempts:+7", 300) == 3
        clock.advance(2)
        assert await eph.incr("attempts:+7", 300) == 1  # a new window

        await eph.set("code:+7", "01234", 300)
        assert await eph.get("code:+7") == "01234"  # a digit string stays a string
        assert await eph.set_if_absent("code:+7", "99999", 300) is False
        clock.advance(301)
        assert await eph.get("code:+7") is None
        assert await eph.set_if_absent("code:+7", "99999", 300) is True
        await eph.delete("code:+7")
        assert await eph.get("code:+7") is None

        # take: one taker gets a value, once; an expired value is nobody's
        await eph.set("state:a", "0123", 60)
        taken = await defer.gatherResults([eph.take("state:a"), eph.take("state:a")])
        assert sorted(taken, key=lambda v: v is None) == ["0123", None]  # a digit string stays a string
        assert await eph.get("state:a") is None
        await eph.set("state:b", "x", 60)
        clock.advance(61)
        assert await eph.take("state:b") is None

        assert await eph.list_items("mark_me:1") == []
        assert await eph.list_push("mark_me:1", "5") is True
        assert await eph.list_push("mark_me:1", "6") is True
        assert await eph.list_push("mark_me:1", "5") is False
        assert await eph.list_items("mark_me:1") == ["5", "6"]
        # two takers of one item: exactly one wins
        results = await defer.gatherResults([eph.list_remove("mark_me:1", "5"), eph.list_remove("mark_me:1", "5")])
        assert sorted(results) == [False, True]
        assert await eph.list_items("mark_me:1") == ["6"]
    finally:
        await bus.stop()


@pytest_twisted.ensureDeferred
async def test_ephemeral_values_expire_exactly_at_their_ttl(make_settings):
    from twisted.internet import task

    clock = task.Clock()
    # a time whose sum with the ttl Redis's Lua would print rounded up (1761235467.1235)
    clock.advance(1761234567.123456)
    bus, eph = await make_bus(make_settings(), clock)
    try:
        assert await eph.incr("attempts:+7", 900) == 1
        await eph.set("code:+7", "01234", 900)
        clock.advance(900)
        assert await eph.incr("attempts:+7", 900) == 1
        assert await eph.get("code:+7") is None
        assert await eph.set_if_absent("code:+7", "99999", 900) is True
    finally:
        await bus.stop()


if REDIS:

    @pytest_twisted.ensureDeferred
    async def test_redis_bus_resubscribes_after_the_connection_drops(make_settings, clock):
        bus, _ = await make_bus(make_settings(), clock)
        try:
            got = defer.DeferredQueue()
            sub = bus.subscribe("room", got.put)
            await sub.ready
            from twisted.internet import reactor

            restored = defer.Deferred()
            bus.on_restored(lambda: restored.called or restored.callback(None))
            old = bus._subscriber
            lost = old.whenDisconnected()
            old.transport.loseConnection()
            await lost
            assert not bus.connected
            # txredisapi reconnects by itself (within a second); the bus subscribes again
            await restored.addTimeout(15, reactor)
            assert bus.connected and bus._subscriber is not old and bus.reconnects == 1
            await bus.publish("room", "after reconnect")
            assert await got.get().addTimeout(10, reactor) == "after reconnect"
        finally:
            await bus.stop()
