"""The typed record of one meeting, as the single-meeting reads return it.

Immutable, so the read cache may keep and share it. List reads still return rows."""

from __future__ import annotations

from dataclasses import dataclass, fields

from meetsrv.store.db import Row
from meetsrv.store.tables import meetings


@dataclass(frozen=True, slots=True)
class Meeting:
    """A meetings row: the columns every kind of meeting has."""
    id: int
    kind: str  # "social", "campus", "phone", "directory"
    uuid: str | None
    title: str
    description: str | None
    starts_at: float | None
    ends_at: float | None
    date: str | None
    lat: float | None
    lng: float | None
    group_type: int | None
    category: int | None
    image: str | None
    creator_id: int | None  # None once the creator's account is gone
    completed: bool
    created: float
    modified: float


MEETING_FIELDS = tuple(f.name for f in fields(Meeting))
MEETING_COLUMNS = [meetings.c[name] for name in MEETING_FIELDS]


@dataclass(frozen=True, slots=True)
class PhoneMeeting(Meeting):
    """A phone-door meeting with its members (by id) and its king."""
    users: tuple[int, ...]
    king: int | None


def meeting_record(row: Row | None) -> Meeting | None:
    """The Meeting of a row of MEETING_COLUMNS, or None."""
    return None if row is None else Meeting(**row)
