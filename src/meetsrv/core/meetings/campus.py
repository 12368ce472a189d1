"""Campus events: named, timed events that users join; the rules of upstream's events API."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Awaitable, Callable
from typing import Any

from meetsrv.core.clock import LAST_INSTANT, Clock
from meetsrv.core.errors import AlreadyExists, Invalid, NotFound, NotPermitted
from meetsrv.store.db import Conflict, Row
from meetsrv.store.meetings.campus import CampusEventStore

MAX_NAME = 32  # upstream's CharField(32, unique=True)
MIN_SEARCH = 3
# unix seconds accepted for event times (1970 to the end of year 9999, what every output renders)
MAX_TIME = int(LAST_INSTANT)

# the door-neutral view of an event: id, uuid, name, starts_at, ends_at, creator_id
EventView = dict[str, Any]


class EventNotFound(NotFound):
    code = "event_not_found"


class EventRefused(NotPermitted):
    """Joining, leaving or deleting refused by the event's state or the caller's role."""


class NameTooShort(Invalid):
    code = "name_too_short"


def parse_uuid(raw: object) -> str | None:
    """The canonical form of a UUID string, or None when it is not one."""
    if not isinstance(raw, str) or len(raw) > 64 or not raw.isascii():  # UUID() also reads '١' as 1
        return None
    try:
        return str(uuidlib.UUID(raw))
    except ValueError:
        return None


def event_view(row: Row) -> EventView:
    """The door-neutral view of an event row."""
    return {
        "id": row["id"],
        "uuid": row["uuid"],
        "name": row["title"],
        "starts_at": int(row["starts_at"]),
        "ends_at": int(row["ends_at"]),
        "creator_id": row["creator_id"],
    }


class CampusEventService:
    def __init__(self, store: CampusEventStore, clock: Clock):
        self.store = store
        self.clock = clock
        # what a deleted event takes with it besides its rows: fn(event) -> awaitable
        # (services.py adds the marking state's forget)
        self._deleted: list[Callable[[EventView], Awaitable[None]]] = []

    def when_deleted(self, fn: Callable[[EventView], Awaitable[None]]) -> None:
        """Call fn(event) as part of every delete (state kept outside the database)."""
        self._deleted.append(fn)

    async def create(self, caller: int, name: str, starts_at: int, ends_at: int) -> str:
        if not name.strip():
            raise Invalid("Name is empty")
        if len(name) > MAX_NAME:
            raise Invalid("Name is too long")
        for value in (starts_at, ends_at):
            if not 0 <= value <= MAX_TIME:
                raise Invalid("Time is out of range")
        if starts_at > ends_at:
            raise Invalid("time_from comes after time_to")
        if starts_at < self.clock.seconds():
            raise Invalid("time_from has passed")
        event_uuid = str(uuidlib.uuid4())
        try:
            await self.store.create(event_uuid, name, float(starts_at), float(ends_at), caller, self.clock.seconds())
        except Conflict:
            raise AlreadyExists("Could not create new event")
        return event_uuid

    async def get(self, raw_uuid: object) -> EventView:
        """The event view, or EventNotFound (also for a malformed id)."""
        event_uuid = parse_uuid(raw_uuid)
        row = None if event_uuid is None else (await self.store.by_uuid(event_uuid))
        if row is None:
            raise EventNotFound("Event does not exist")
        return event_view(row)

    async def search(self, name: str | None) -> list[EventView]:
        """Every event, or those whose name contains `name` (case-insensitive, Cyrillic too)."""
        if name is not None and len(name) < MIN_SEARCH:
            raise NameTooShort("Name is too short")
        rows = await self.store.all()
        if name is not None:
            folded = name.casefold()
            rows = [r for r in rows if folded in r["title"].casefold()]
        return [event_view(r) for r in rows]

    async def join(self, caller: int, raw_uuid: object) -> None:
        event = await self.get(raw_uuid)
        now = self.clock.seconds()
        if event["starts_at"] < now:
            raise EventRefused("Event already began")
        if event["ends_at"] < now:
            raise EventRefused("Event already over")
        try:
            added = await self.store.join(event["id"], caller, now)
        except Conflict:
            added = False  # a simultaneous join of the same user won
        if not added:
            raise EventRefused("Already joined the event")

    async def leave(self, caller: int, raw_uuid: object) -> None:
        event = await self.get(raw_uuid)
        if event["ends_at"] < self.clock.seconds():
            raise EventRefused("Event already over")
        removed = await self.store.leave(event["id"], caller)
        if not removed:
            raise EventRefused("You are not in the event")

    async def delete(self, caller: int, raw_uuid: object) -> EventView:
        """Delete the caller's event before it starts, with everything it takes along (its
        marking state: who asked and who waits to be marked)."""
        event = await self.get(raw_uuid)
        if event["creator_id"] != caller:
            raise EventRefused("Only the creator can delete the event")
        if event["starts_at"] < self.clock.seconds():
            raise EventRefused("Event has already started")
        await self.store.delete(event["id"])
        for forget in self._deleted:
            await forget(event)
        return event

    async def created(self, caller: int) -> list[EventView]:
        rows = await self.store.created_by(caller)
        return [event_view(r) for r in rows]

    async def joined(self, caller: int) -> list[EventView]:
        rows = await self.store.joined_by(caller)
        return [event_view(r) for r in rows]
