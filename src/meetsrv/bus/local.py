"""The in-process bus and ephemeral store (the default, one process)."""

from __future__ import annotations

from collections import defaultdict

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from meetsrv.bus import IBus, IEphemeral, ISubscription, timed_publish

log = Logger()


@implementer(ISubscription)
class Subscription:
    def __init__(self, bus, channel, callback):
        self.bus = bus
        self.channel = channel
        self.callback = callback
        self.ready = defer.succeed(None)

    def cancel(self):
        self.bus._remove(self)


@implementer(IBus)
class LocalBus:
    # fn(seconds) after each publish, when set (metrics)
    publish_observer = None
    # in one process nothing can be cut between a publisher and its subscribers
    connected = True
    is_local = True

    def __init__(self):
        self._subs: dict[str, list[Subscription]] = defaultdict(list)

    def ping(self) -> defer.Deferred:
        return defer.succeed(None)

    def on_restored(self, callback) -> None:
        """Never called: the in-process bus has no outages."""

    def publish(self, channel: str, payload: str) -> defer.Deferred:
        if self.publish_observer is not None:
            return timed_publish(self._publish, channel, payload, self.publish_observer)
        return self._publish(channel, payload)

    def _publish(self, channel: str, payload: str) -> defer.Deferred:
        self.deliver(channel, payload)
        return defer.succeed(None)

    def deliver(self, channel: str, payload: str) -> None:
        for sub in tuple(self._subs.get(channel, ())):
            try:
                sub.callback(payload)
            except Exception:
                log.failure("bus subscriber failed on {channel}", channel=channel)

    def subscribe(self, channel: str, callback) -> Subscription:
        sub = Subscription(self, channel, callback)
        self._subs[channel].append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.channel)
        if subs and sub in subs:
            subs.remove(sub)
            if not subs:
                del self._subs[sub.channel]

    def describe(self) -> str:
        return "in-process"

    def channels(self) -> list[str]:
        return list(self._subs)

    def start(self) -> defer.Deferred:
        return defer.succeed(None)

    def stop(self) -> defer.Deferred:
        return defer.succeed(None)


@implementer(IEphemeral)
class LocalEphemeral:
    """Values with expiry times read from the injected clock; expired ones are swept lazily."""

    def __init__(self, clock):
        self.clock = clock
        self._values: dict[str, tuple[str, float]] = {}
        self._lists: dict[str, list[str]] = {}

    def _live(self, key: str):
        item = self._values.get(key)
        if item is None:
            return None
        if item[1] <= self.clock.seconds():
            del self._values[key]
            return None
        return item

    def _sweep(self) -> None:
        if len(self._values) > 10000:
            now = self.clock.seconds()
            for key in [k for k, (_, exp) in self._values.items() if exp <= now]:
                del self._values[key]

    def incr(self, key, ttl):
        item = self._live(key)
        if item is None:
            self._sweep()
            value, expires = 1, self.clock.seconds() + ttl
        else:
            value, expires = int(item[0]) + 1, item[1]
        self._values[key] = (str(value), expires)
        return defer.succeed(value)

    def get(self, key):
        item = self._live(key)
        return defer.succeed(None if item is None else item[0])

    def set(self, key, value, ttl):
        self._sweep()
        self._values[key] = (str(value), self.clock.seconds() + ttl)
        return defer.succeed(None)

    def set_if_absent(self, key, value, ttl):
        if self._live(key) is not None:
            return defer.succeed(False)
        self._values[key] = (str(value), self.clock.seconds() + ttl)
        return defer.succeed(True)

    def take(self, key):
        item = self._live(key)
        self._values.pop(key, None)
        return defer.succeed(None if item is None else item[0])

    def delete(self, key):
        self._values.pop(key, None)
        self._lists.pop(key, None)
        return defer.succeed(None)

    def list_push(self, key, value):
        items = self._lists.setdefault(key, [])
        if value in items:
            return defer.succeed(False)
        items.append(value)
        return defer.succeed(True)

    def list_remove(self, key, value):
        items = self._lists.get(key)
        if not items or value not in items:
            return defer.succeed(False)
        items.remove(value)
        if not items:
            del self._lists[key]
        return defer.succeed(True)

    def list_items(self, key):
        return defer.succeed(list(self._lists.get(key, ())))
