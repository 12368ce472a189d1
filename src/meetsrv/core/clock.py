"""Time helpers: services read time from an injected IReactorTime (a task.Clock in tests)."""

from datetime import datetime, timezone


def utc_iso_seconds(ts: float) -> str:
    """2015-08-05T22:18:45 (UTC, no zone): the rooms door's created_at."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def utc_iso_micro(ts: float) -> str:
    """2016-10-22T18:22:45.121940Z: DRF's default rendering of an aware UTC datetime."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")
