"""The Redis bus and ephemeral store (txredisapi), joining several server processes into one.

txredisapi imports the global reactor at import time, so it is imported only when a Redis bus is
built. Two connections: one for commands and one subscriber; both reconnect by themselves, and on
every (re)connect the subscriber subscribes again to every channel someone listens on.

Redis may go away. No call waits for it: a command is refused at once while its connection is
down, and fails after `timeout` seconds when Redis does not answer (BusUnavailable, which the
doors answer with 503). What is published while Redis is away is lost: when both connections are
back, `on_restored` callbacks catch up (clients resume from the database, caches are cleared).
"""

from __future__ import annotations

from collections import defaultdict

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from meetsrv.bus import BusUnavailable, IBus, IEphemeral, ISubscription, timed_publish

log = Logger()


def as_unavailable(failure):
    """A lost connection, a Redis that did not answer in time or a timed-out wait, as
    BusUnavailable; any other failure (a script error) as it is."""
    import txredisapi

    if failure.check(txredisapi.ConnectionError, defer.TimeoutError, defer.CancelledError, ConnectionError):
        if failure.check(BusUnavailable):
            return failure
        raise BusUnavailable(f"Redis unavailable: {failure.getErrorMessage() or failure.type.__name__}")
    return failure


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


def _command_factory(bus):
    """txredisapi's factory and protocol for the command connection, telling the bus when a
    connection comes and goes. txredisapi stops reconnecting for good when its SELECT fails (a
    Redis that did not answer in time, say); here that connection is dropped and tried again."""
    import txredisapi

    class Commands(txredisapi.RedisProtocol):
        def connectionMade(self):
            return defer.ensureDeferred(self._answered())

        async def _answered(self):
            # a connection is usable once Redis has answered on it (a SELECT, else a PING): a
            # TCP connection that nothing answers (a partition) is not counted as Redis back
            dbid, self.dbid = self.dbid, None
            try:
                await (self.select(dbid) if dbid else self.ping())
            except Exception as e:
                log.warn("Redis did not answer a new connection ({error}); reconnecting", error=e)
                if self.transport is not None:
                    self.transport.abortConnection()
                return
            await txredisapi.RedisProtocol.connectionMade(self)

    class Factory(txredisapi.RedisFactory):
        protocol = Commands

        def addConnection(self, conn):
            super().addConnection(conn)
            bus._check_connected()

        def delConnection(self, conn):
            super().delConnection(conn)
            bus._check_connected()

    return Factory


@implementer(IBus)
class RedisBus:
    # fn(seconds) after each publish, when set (metrics)
    publish_observer = None
    # txredisapi backs off up to 10 s between attempts; a Redis that is back is wanted at once
    reconnect_initial = 0.5
    reconnect_max = 2.0

    def __init__(self, host: str, port: int, dbid: int, prefix: str = "meetsrv:", timeout: float = 1.5):
        self.host, self.port, self.dbid, self.prefix = host, port, dbid, prefix
        self.timeout = timeout
        self._subs: dict[str, list[RedisSubscription]] = defaultdict(list)
        self._subscriber = None  # the live subscriber protocol, once subscribed to every channel
        self._publisher = None
        self._publisher_factory = None
        self._sub_factory = None
        # times the subscriber connection came back after the first (the metrics counter)
        self.reconnects = 0
        self._connected_before = False
        self._reactor = None
        self._connected = False
        self._was_connected = False
        self._up_waiting: list[defer.Deferred] = []
        self._restored: list = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> defer.Deferred:
        """Connect; fires once both connections are up (the caller checked Redis is reachable)."""
        import txredisapi
        from twisted.internet import reactor
        from twisted.internet.endpoints import TCP4ClientEndpoint

        self._reactor = reactor
        connect_timeout = max(1, int(round(self.timeout)))
        # convertNumbers=False: a stored "01234" must come back as "01234", not 1234
        factory = _command_factory(self)(
            f"{self.host}:{self.port}", self.dbid, 1, isLazy=True, replyTimeout=self.timeout,
            convertNumbers=False,
        )
        factory.reconnect = True
        factory.initialDelay, factory.maxDelay = self.reconnect_initial, self.reconnect_max
        factory.startConnecting(TCP4ClientEndpoint(reactor, self.host, self.port, timeout=connect_timeout))
        self._publisher_factory = factory
        self._publisher = factory.handler

        sub_factory = txredisapi.SubscriberFactory(isLazy=True)
        sub_factory.protocol = _subscriber_protocol(self)
        # channels are not in a database: no SELECT on the subscriber connection
        sub_factory.dbid = None
        sub_factory.initialDelay, sub_factory.maxDelay = self.reconnect_initial, self.reconnect_max
        sub_factory.startConnecting(TCP4ClientEndpoint(reactor, self.host, self.port, timeout=connect_timeout))
        self._sub_factory = sub_factory
        if self._connected:
            return defer.succeed(None)
        d = defer.Deferred()
        self._up_waiting.append(d)
        return d

    def stop(self) -> defer.Deferred:
        ds = []
        self._restored = []
        if self._sub_factory is not None:
            ds.append(defer.maybeDeferred(self._sub_factory.disconnect))
        if self._publisher_factory is not None:
            ds.append(defer.maybeDeferred(self._publisher_factory.disconnect))
        return defer.DeferredList(ds, consumeErrors=True)

    def describe(self) -> str:
        return f"redis {self.host}:{self.port}/{self.dbid} prefix {self.prefix}"

    # -- health ------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected

    def on_restored(self, callback) -> None:
        self._restored.append(callback)

    def _check_connected(self) -> None:
        up = (self._subscriber is not None and self._publisher_factory is not None
              and self._publisher_factory.size > 0)
        if up == self._connected:
            return
        self._connected = up
        if not up:
            log.warn("Redis is unreachable: what needs it answers 503 until it is back")
            return
        if not self._was_connected:
            self._was_connected = True
            waiting, self._up_waiting = self._up_waiting, []
            for d in waiting:
                d.callback(None)
            return
        log.info("Redis is back")
        for callback in list(self._restored):
            try:
                callback()
            except Exception:
                log.failure("a Redis restored callback failed")

    def ping(self) -> defer.Deferred:
        """Both connections up and a PING answered within the timeout; else BusUnavailable."""
        if self._subscriber is None:
            return defer.fail(BusUnavailable("Redis subscriber connection is down"))
        return self.command("ping").addCallback(lambda _: None)

    def command(self, name: str, *args) -> defer.Deferred:
        """Run a Redis command on the command connection: refused at once while it is down,
        failed after `timeout` seconds without an answer (txredisapi's replyTimeout, which also
        drops the connection that did not answer, so that it is opened again)."""
        if self._publisher_factory is None or self._publisher_factory.size == 0:
            return defer.fail(BusUnavailable("Redis is not connected"))
        return getattr(self._publisher, name)(*args).addErrback(as_unavailable)

    def _subscriber_connected(self, proto):
        if self._connected_before:
            self.reconnects += 1
            log.info("Redis subscriber connection is back ({n} reconnects)", n=self.reconnects)
        self._connected_before = True
        channels = [self.prefix + c for c in self._subs]
        d = proto.subscribe(channels) if channels else defer.succeed(None)
        d.addTimeout(self.timeout, self._reactor)

        def subscribed(_):
            if proto.connected:
                self._subscriber = proto
                self._check_connected()

        def failed(failure):
            log.warn("Redis subscriber did not resubscribe ({error}); reconnecting",
                     error=failure.getErrorMessage())
            if proto.transport is not None:
                proto.transport.abortConnection()

        d.addCallbacks(subscribed, failed)

    def _subscriber_lost(self, proto):
        if self._subscriber is proto:
            self._subscriber = None
            self._check_connected()

    # -- pub/sub -----------------------------------------------------------------------------
    def publish(self, channel: str, payload: str) -> defer.Deferred:
        if self.publish_observer is not None:
            return timed_publish(self._publish, channel, payload, self.publish_observer)
        return self._publish(channel, payload)

    def _publish(self, channel: str, payload: str) -> defer.Deferred:
        return self.command("publish", self.prefix + channel, payload)

    def subscribe(self, channel: str, callback) -> RedisSubscription:
        """`ready` fails with BusUnavailable when the subscriber connection is down or Redis does
        not confirm in time; the subscription stays (it is renewed when Redis is back) until
        cancelled."""
        sub = RedisSubscription(self, channel, callback)
        first = channel not in self._subs
        self._subs[channel].append(sub)
        proto = self._subscriber
        if proto is None:
            sub.ready = defer.fail(BusUnavailable("Redis subscriber connection is down"))
        elif first:
            d = proto.subscribe(self.prefix + channel)
            d.addTimeout(self.timeout, self._reactor)

            def stuck(failure):
                # a subscriber that does not answer is of no use: reconnect (and resubscribe)
                if failure.check(defer.TimeoutError) and proto.transport is not None:
                    proto.transport.abortConnection()
                return failure

            sub.ready = d.addErrback(stuck).addErrback(as_unavailable).addCallback(lambda _: None)
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
        return self.bus.command("eval", script, [self._key(key)], [str(a) for a in args])

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
        return self.bus.command("delete", self._key(key)).addCallback(lambda _: None)

    def list_push(self, key, value):
        return self._eval(_PUSH, key, value).addCallback(lambda r: int(r) == 1)

    def list_remove(self, key, value):
        return self.bus.command("lrem", self._key(key), 0, str(value)).addCallback(lambda n: int(n) > 0)

    def list_items(self, key):
        d = self.bus.command("lrange", self._key(key), 0, -1)
        return d.addCallback(lambda items: [str(i) if not isinstance(i, bytes) else i.decode() for i in items])
