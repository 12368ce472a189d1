"""Marking attendance at campus events (upstream's MarkMe / ReadyToMark sockets), across processes.

Shared state lives in the ephemeral store, so a marker on one process and the marked user on
another meet:
  campus:mark_me:<event>  users waiting to be marked (list_remove is atomic: one marker wins)
  campus:asked:<event>    users who ever asked to be marked (they may not connect again)
Notifications go through the bus: markers listen on the event's channel (user_joined /
user_left), the user to be marked on a channel of their own (was_marked).
Frames are rendered by the door (`frames`: user_joined(id), user_left(id), was_marked(id)).
"""

from __future__ import annotations

from typing import Protocol

from twisted.logger import Logger

from meetsrv.bus import Bus, Ephemeral
from meetsrv.core.chats.service import envelope
from meetsrv.core.clock import Clock
from meetsrv.core.errors import DomainError, NotPermitted
from meetsrv.core.meetings.campus import CampusEventService, EventNotFound, EventView
from meetsrv.store.meetings.markings import MarkingStore

log = Logger()

MARK_ME = "mark_me"
MARKING = "marking"
KARMA_PER_MARKING = 50


class MarkingRefused(NotPermitted):
    """A socket that may not open. code: no_event, invalid_event, not_permitted, past_event,
    not_running (upstream's refusals, in upstream's order)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class MarkingError(DomainError):
    """A marker's request refused. code: missing_user, already_have_user, user_taken,
    nothing_prepared."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class Frames(Protocol):
    """The door's frames of marking news."""

    def user_joined(self, user_id: int) -> str: ...

    def user_left(self, user_id: int) -> str: ...

    def was_marked(self, user_id: int) -> str: ...


def event_channel(event_uuid: str) -> str:
    return f"campus:event:{event_uuid}"


def user_channel(event_uuid: str, user_id: int) -> str:
    return f"campus:marked:{event_uuid}:{user_id}"


def _waiting_key(event_uuid: str) -> str:
    return f"campus:mark_me:{event_uuid}"


def _asked_key(event_uuid: str) -> str:
    return f"campus:asked:{event_uuid}"


class MarkingService:
    def __init__(self, ephemeral: Ephemeral, bus: Bus, store: MarkingStore, events: CampusEventService, clock: Clock):
        self.ephemeral = ephemeral
        self.bus = bus
        self.store = store
        self.events = events
        self.clock = clock

    async def check_open(self, kind: str, raw_event_ids: list[str], user_id: int | None) -> EventView:
        """The event a socket of `kind` may open for user_id; MarkingRefused otherwise. Any
        signed-in user may open either socket, member of the event or not: the MarkAsVisited
        client never joins an event before its student asks to be marked (upstream had no
        membership check either)."""
        if len(raw_event_ids) != 1:
            raise MarkingRefused("no_event")
        try:
            event = await self.events.get(raw_event_ids[0])
        except EventNotFound:
            raise MarkingRefused("invalid_event")
        if user_id is None:
            raise MarkingRefused("not_permitted")
        asked = await self.ephemeral.list_items(_asked_key(event["uuid"]))
        if str(user_id) in asked:
            raise MarkingRefused("not_permitted")
        now = self.clock.seconds()
        if event["ends_at"] < now:
            raise MarkingRefused("past_event")
        if kind == MARKING and not event["starts_at"] <= now:
            raise MarkingRefused("not_running")
        return event

    async def ask_to_be_marked(self, event: EventView, user_id: int, frames: Frames) -> None:
        """Put user_id on the event's list and tell the markers. The caller listens on
        user_channel() first, so a quick marking is not missed."""
        first = await self.ephemeral.list_push(_asked_key(event["uuid"]), str(user_id))
        if not first:
            raise MarkingRefused("not_permitted")  # a second socket raced this one
        added = await self.ephemeral.list_push(_waiting_key(event["uuid"]), str(user_id))
        if added:
            await self.bus.publish(event_channel(event["uuid"]), envelope(frames.user_joined(user_id)))

    async def waiting(self, event: EventView) -> list[int]:
        items = await self.ephemeral.list_items(_waiting_key(event["uuid"]))
        return [int(i) for i in items if str(i).isdigit()]

    async def forget(self, event: EventView) -> None:
        """Drop the marking state of a deleted event."""
        await self.ephemeral.delete(_waiting_key(event["uuid"]))
        await self.ephemeral.delete(_asked_key(event["uuid"]))

    def marker(self, event: EventView, user_id: int, conn_id: str, frames: Frames) -> Marker:
        return Marker(self, event, user_id, conn_id, frames)


class Marker:
    """One marking socket: holds at most one prepared user at a time."""

    def __init__(self, service: MarkingService, event: EventView, user_id: int, conn_id: str, frames: Frames):
        self.service = service
        self.event = event
        self.user_id = user_id
        self.conn_id = conn_id
        self.frames = frames
        self.held: int | None = None

    async def _publish_others(self, frame: str) -> None:
        await self.service.bus.publish(event_channel(self.event["uuid"]), envelope(frame, self.conn_id))

    async def prepare(self, user_id: int) -> None:
        if self.held is not None:
            raise MarkingError("already_have_user")
        if user_id == self.user_id:
            raise MarkingError("user_taken")  # nobody marks themselves
        taken = await self.service.ephemeral.list_remove(_waiting_key(self.event["uuid"]), str(user_id))
        if not taken:
            raise MarkingError("user_taken")
        self.held = user_id
        await self._publish_others(self.frames.user_left(user_id))

    async def confirm(self) -> int:
        """Record the marking, give the marker karma, tell the marked user; the marked id."""
        if self.held is None:
            raise MarkingError("nothing_prepared")
        marked, self.held = self.held, None
        service = self.service
        try:
            await service.store.record(self.event["id"], self.user_id, marked, KARMA_PER_MARKING,
                                       service.clock.seconds())
        except Exception:
            self.held = marked  # not recorded: still held, returned to the list if the socket goes
            raise
        await service.bus.publish(user_channel(self.event["uuid"], marked),
                                  envelope(self.frames.was_marked(self.user_id)))
        return marked

    async def refuse(self) -> None:
        if self.held is None:
            raise MarkingError("nothing_prepared")
        user_id, self.held = self.held, None
        await self._return(user_id)

    async def _return(self, user_id: int) -> None:
        added = await self.service.ephemeral.list_push(_waiting_key(self.event["uuid"]), str(user_id))
        if added:
            await self._publish_others(self.frames.user_joined(user_id))

    async def leave(self) -> None:
        """The socket went away: a held user goes back on the list."""
        if self.held is None:
            return
        user_id, self.held = self.held, None
        await self._return(user_id)
