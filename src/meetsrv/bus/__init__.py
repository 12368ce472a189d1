"""The bus: publish/subscribe and short-lived shared state, in-process or across processes (Redis).

Chat messages reach sockets only through the bus, even in a single process, so one process and
ten behave the same. The ephemeral store holds what may expire (SMS codes, attempt counters,
marking lists); expiry is computed from the injected clock so tests drive it with task.Clock.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Protocol

from twisted.internet.defer import Deferred
from zope.interface import Attribute, Interface


def timed_publish(publish, channel: str, payload: str, observer):
    """publish(channel, payload), then observer(seconds) once its Deferred fires (metrics)."""
    started = perf_counter()

    def done(result):
        observer(perf_counter() - started)
        return result

    return publish(channel, payload).addBoth(done)
class BusUnavailable(ConnectionError):
    """The bus (Redis) cannot be reached, or did not answer in time. What needs it answers 503
    (a ConnectionError: store.db.is_unavailable counts it as an outage too)."""


class IBus(Interface):
    connected = Attribute(
        "True while messages published anywhere reach this process (Redis: both connections up).")

    def ping():
        """A Deferred that fires when the bus answers, or fails with BusUnavailable (readiness)."""

    def on_restored(callback):
        """Call callback() each time the bus is back after an outage: whatever was published
        meanwhile is lost, so callers catch up (caches cleared, credentials checked again)."""

    def publish(channel: str, payload: str):
        """Deliver payload to every subscriber of channel in every process. Returns a Deferred."""

    def subscribe(channel: str, callback):
        """Call callback(payload) for each message on channel; returns an ISubscription whose
        `ready` Deferred fires once messages published from now on will arrive."""


class ISubscription(Interface):
    channel = Attribute("The channel subscribed to.")
    ready = Attribute("A Deferred that fires when the subscription is live.")

    def cancel():
        """Stop receiving."""


class IEphemeral(Interface):
    """Shared short-lived values. Every method returns a Deferred."""

    def incr(key: str, ttl: float):
        """Add one to key (starting a new window of ttl seconds if absent/expired); the new value."""

    def get(key: str):
        """The value (str) or None when absent or expired."""

    def set(key: str, value: str, ttl: float):
        """Set key to value for ttl seconds."""

    def set_if_absent(key: str, value: str, ttl: float):
        """Set key only if absent or expired; True if this call set it."""

    def take(key: str):
        """The value (str) or None, and remove key (atomic: one caller gets the value)."""

    def delete(key: str):
        """Remove key."""

    def list_push(key: str, value: str):
        """Append value to the list at key unless it is already there; True if appended."""

    def list_remove(key: str, value: str):
        """Remove value from the list at key; True if it was there (atomic: one caller wins)."""

    def list_items(key: str):
        """The list at key, oldest first."""


# -- the same seams as typing Protocols: what the core's annotations name (mypy reads these; the
# zope interfaces above stay for the implementations' declarations)


class Subscription(Protocol):
    channel: str
    ready: Deferred[None]

    def cancel(self) -> None: ...


class Bus(Protocol):
    connected: bool

    def on_restored(self, callback: Callable[[], object]) -> None: ...

    def publish(self, channel: str, payload: str) -> Deferred[None]: ...

    def subscribe(self, channel: str, callback: Callable[[str], object]) -> Subscription: ...


class Ephemeral(Protocol):
    def incr(self, key: str, ttl: float) -> Deferred[int]: ...

    def get(self, key: str) -> Deferred[str | None]: ...

    def set(self, key: str, value: str, ttl: float) -> Deferred[None]: ...

    def set_if_absent(self, key: str, value: str, ttl: float) -> Deferred[bool]: ...

    def take(self, key: str) -> Deferred[str | None]: ...

    def delete(self, key: str) -> Deferred[None]: ...

    def list_push(self, key: str, value: str) -> Deferred[bool]: ...

    def list_remove(self, key: str, value: str) -> Deferred[bool]: ...

    def list_items(self, key: str) -> Deferred[list[str]]: ...
