"""The Redis bus and ephemeral store (txredisapi), joining several server processes into one.

txredisapi imports the global reactor at import time, so it is imported only when a Redis bus is
built. The subscriber connection reconnects by itself; on every (re)connect we subscribe again to
every channel someone listens on. What is published while Redis is away is lost: clients resume
from the database, and `on_resubscribed` callbacks (the hub's chat feeds) catch up from it.
"""

from __future__ import annotations

from collections import defaultdict

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from meetsrv.bus import IBus, IEphemeral, ISubscription, timed_publish

log = Logger()


@implementer(ISubscription)
class RedisSubscription:
    def __init__(self, bus, channel, callback):
        self.bus = bus
        self.channel = channel
        self.callback = callback
        self.ready = None

    def cancel(self):
        self.bus._remove(self)


def _subscriber_protocol(bus):
    import txredisapi

    class Subscriber(txredisapi.SubscriberProtocol):
        def connectionMade(self):
            d = super().connectionMade()
            self.whenConnected().addCallback(bus._subscriber_connected)
            return d

        def connectionLost(self, why):
            bus._subscriber_lost(self)
            return super().connectionLost(why)

        def messageReceived(self, pattern, channel, message):
            bus._deliver(channel, message)

    return Subscriber


@implementer(IBus)
class RedisBus:
    # fn(seconds) after each publish, when set (metrics)
    publish_observer = None

    def __init__(self, host: str, port: int, dbid: int, prefix: str = "meetsrv:"):
        self.host, self.port, self.dbid, self.prefix = host, port, dbid, prefix
        self._subs: dict[str, list[RedisSubscription]] = defaultdict(list)
        self._subscriber = None  # the live subscriber protocol, when connected
        self._waiting: list[defer.Deferred] = []
        self._publisher = None
        self._sub_factory = None
        # times the subscriber connection came back after the first (the metrics counter)
        self.reconnects = 0
        self._connected_before = False
        self._resubscribed: list = []
        self._subscribed_once = False

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> defer.Deferred:
        import txredisapi
        from twisted.internet import reactor
        from twisted.internet.endpoints import TCP4ClientEndpoint

        # convertNumbers=False: a stored "01234" must come back as "01234", not 1234
        self._publisher = txredisapi.lazyConnection(
            self.host, self.port, self.dbid, reconnect=True, convertNumbers=False
        )
        factory = txredisapi.SubscriberFactory(isLazy=True)
        factory.protocol = _subscriber_protocol(self)
        factory.dbid = self.dbid
        factory.startConnecting(TCP4ClientEndpoint(reactor, self.host, self.port, timeout=10))
        self._sub_factory = factory
        return self._when_subscriber()

    def stop(self) -> defer.Deferred:
        ds = []
        if self._sub_factory is not None:
            ds.append(defer.maybeDeferred(self._sub_factory.disconnect))
        if self._publisher is not None:
            ds.append(defer.maybeDeferred(self._publisher.disconnect))
        return defer.DeferredList(ds, consumeErrors=True)

    def describe(self) -> str:
        return f"redis {self.host}:{self.port}/{self.dbid} prefix {self.prefix}"

    @property
    def redis(self):
        """The command connection (lazy: commands wait for the connection)."""
        return self._publisher

    def _when_subscriber(self) -> defer.Deferred:
        if self._subscriber is not None:
            return defer.succeed(self._subscriber)
        d = defer.Deferred()
        self._waiting.append(d)
        return d

    def on_resubscribed(self, callback) -> None:
        """Call callback() each time the subscriber connection is back after a loss and
        subscribed again to every channel: what was published meanwhile never reached this
        process, so callers catch up (from the database)."""
        self._resubscribed.append(callback)

    def _subscriber_connected(self, proto):
        self._subscriber = proto
        if self._connected_before:
            self.reconnects += 1
            log.info("Redis subscriber connection is back ({n} reconnects)", n=self.reconnects)
        self._connected_before = True
        channels = [self.prefix + c for c in self._subs]
        d = proto.subscribe(channels) if channels else defer.succeed(None)

        def wake(result):
            waiting, self._waiting = self._waiting, []
            for w in waiting:
                w.callback(proto)
            if isinstance(result, Failure):
                return None  # the connection failed again: the next one resubscribes
            if self._subscribed_once:
                for callback in list(self._resubscribed):
                    try:
                        callback()
                    except Exception:
                        log.failure("a Redis resubscribed callback failed")
            self._subscribed_once = True
            return None

        d.addBoth(wake)

    def _subscriber_lost(self, proto):
        if self._subscriber is proto:
            self._subscriber = None
            log.warn("Redis subscriber connection lost; it reconnects and resubscribes")

    # -- pub/sub -----------------------------------------------------------------------------
    def publish(self, channel: str, payload: str) -> defer.Deferred:
        if self.publish_observer is not None:
            return timed_publish(self._publish, channel, payload, self.publish_observer)
        return self._publish(channel, payload)

    def _publish(self, channel: str, payload: str) -> defer.Deferred:
        return self._publisher.publish(self.prefix + channel, payload)

    def subscribe(self, channel: str, callback) -> RedisSubscription:
        sub = RedisSubscription(self, channel, callback)
        first = channel not in self._subs
        self._subs[channel].append(sub)
        if first:
            sub.ready = self._when_subscriber().addCallback(
                lambda proto: proto.subscribe(self.prefix + channel)
            )
            sub.ready.addErrback(lambda f: log.failure("subscribe {c} failed", f, c=channel))
        else:
            sub.ready = defer.succeed(None)
        return sub

    def _remove(self, sub) -> None:
        subs = self._subs.get(sub.channel)
        if not subs or sub not in subs:
            return
        subs.remove(sub)
        if not subs:
            del self._subs[sub.channel]
            if self._subscriber is not None:
                self._subscriber.unsubscribe(self.prefix + sub.channel).addErrback(lambda f: None)

    def _deliver(self, channel, payload) -> None:
        if isinstance(channel, bytes):
            channel = channel.decode()
        if not channel.startswith(self.prefix):
            return
        if isinstance(payload, bytes):
            payload = payload.decode()
        elif not isinstance(payload, str):
            payload = str(payload)  # txredisapi turns numeric strings into numbers
        for sub in tuple(self._subs.get(channel[len(self.prefix):], ())):
            try:
                sub.callback(payload)
            except Exception:
                log.failure("bus subscriber failed on {channel}", channel=channel)


# Values are hashes {v, e}: e is the expiry on the caller's clock (so tests can drive it); a real
# PEXPIRE a minute past it collects the key.
# The expiry is computed in Python and stored as given: Lua's tostring keeps 14 significant digits,
# which rounds a unix time up by as much as 0.05 ms (a value outlived its ttl).
_INCR = """
local now = tonumber(ARGV[1]); local ttl = tonumber(ARGV[2])
local e = tonumber(redis.call('HGET', KEYS[1], 'e'))
if e == nil or e <= now then
  redis.call('HSET', KEYS[1], 'v', 1, 'e', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(ttl * 1000) + 60000)
  return 1
end
return redis.call('HINCRBY', KEYS[1], 'v', 1)
"""
_GET = """
local r = redis.call('HMGET', KEYS[1], 'v', 'e')
if not r[1] or not r[2] or tonumber(r[2]) <= tonumber(ARGV[1]) then return false end
return r[1]
"""
_TAKE = """
local r = redis.call('HMGET', KEYS[1], 'v', 'e')
redis.call('DEL', KEYS[1])
if not r[1] or not r[2] or tonumber(r[2]) <= tonumber(ARGV[1]) then return false end
return r[1]
"""
_SET = """
local now = tonumber(ARGV[1]); local ttl = tonumber(ARGV[3])
if ARGV[4] == '1' then
  local e = tonumber(redis.call('HGET', KEYS[1], 'e'))
  if e ~= nil and e > now then return 0 end
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'e', ARGV[5])
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl * 1000) + 60000)
return 1
"""
_PUSH = """
if redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1
"""


@implementer(IEphemeral)
class RedisEphemeral:
    def __init__(self, bus: RedisBus, clock):
        self.bus = bus
        self.clock = clock

    def _key(self, key: str) -> str:
        return self.bus.prefix + "e:" + key

    def _eval(self, script, key, *args):
        return self.bus.redis.eval(script, [self._key(key)], [str(a) for a in args])

    def _now_and_expiry(self, ttl):
        now = float(self.clock.seconds())
        return repr(now), repr(now + float(ttl))

    def incr(self, key, ttl):
        now, expires = self._now_and_expiry(ttl)
        return self._eval(_INCR, key, now, ttl, expires).addCallback(int)

    def get(self, key):
        d = self._eval(_GET, key, repr(float(self.clock.seconds())))
        return d.addCallback(lambda v: None if v is None else str(v))

    def set(self, key, value, ttl):
        now, expires = self._now_and_expiry(ttl)
        return self._eval(_SET, key, now, value, ttl, "0", expires).addCallback(lambda _: None)

    def set_if_absent(self, key, value, ttl):
        now, expires = self._now_and_expiry(ttl)
        d = self._eval(_SET, key, now, value, ttl, "1", expires)
        return d.addCallback(lambda r: int(r) == 1)

    def take(self, key):
        d = self._eval(_TAKE, key, repr(float(self.clock.seconds())))
        return d.addCallback(lambda v: None if v is None else str(v))

    def delete(self, key):
        return self.bus.redis.delete(self._key(key)).addCallback(lambda _: None)

    def list_push(self, key, value):
        return self._eval(_PUSH, key, value).addCallback(lambda r: int(r) == 1)

    def list_remove(self, key, value):
        return self.bus.redis.lrem(self._key(key), 0, str(value)).addCallback(lambda n: int(n) > 0)

    def list_items(self, key):
        d = self.bus.redis.lrange(self._key(key), 0, -1)
        return d.addCallback(lambda items: [str(i) if not isinstance(i, bytes) else i.decode() for i in items])
