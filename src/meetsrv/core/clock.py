"""Time helpers: services read time from an injected IReactorTime (a task.Clock in tests)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, cast

from twisted.internet.interfaces import IReactorTime


class DelayedCall(Protocol):
    def active(self) -> bool: ...

    def cancel(self) -> None: ...


class Clock(Protocol):
    """What services use of an IReactorTime (the reactor, or a task.Clock in tests)."""

    def seconds(self) -> float: ...

    def callLater(self, delay: float, callable: Callable[..., object], *args: object,
                  **kwargs: object) -> DelayedCall: ...


def reactor_time(clock: Clock) -> IReactorTime:
    """The clock, for Twisted's APIs that name IReactorTime (LoopingCall, addTimeout): a zope
    interface, which mypy cannot match a Protocol against."""
    return cast(IReactorTime, clock)


# The instants every output can render (a datetime of years 1 to 9999 in UTC): meeting and
# event times outside them are refused when given, not stored to break every later answer.
FIRST_INSTANT = datetime(1, 1, 1, tzinfo=UTC).timestamp()
LAST_INSTANT = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()


def renderable(ts: object) -> bool:
    """Whether epoch seconds `ts` fall within FIRST_INSTANT..LAST_INSTANT."""
    return isinstance(ts, (int, float)) and FIRST_INSTANT <= ts <= LAST_INSTANT


# isoformat, not strftime: glibc's %Y does not pad a year below 1000 ("1-01-01", which no ISO
# parser reads; Python and DRF write "0001-01-01"), and isoformat is a quarter faster

def utc_iso_seconds(ts: float) -> str:
    """2015-08-05T22:18:45 (UTC, no zone): the rooms door's created_at."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def utc_iso_micro(ts: float) -> str:
    """2016-10-22T18:22:45.121940Z: DRF's default rendering of an aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def utc_date(ts: float) -> str:
    """2016-10-22 (the UTC day)."""
    return datetime.fromtimestamp(ts, UTC).date().isoformat()
