"""Directory events: validated at request time, saved `event_delay` seconds later (core/jobs.py)."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from meetsrv.core.clock import Clock, renderable
from meetsrv.core.errors import Invalid, NotFound
from meetsrv.core.jobs import DelayedSaveService
from meetsrv.core.media import MediaFiles
from meetsrv.core.meetings.organizations import OrganizationService
from meetsrv.store.db import NowOrLater, Row
from meetsrv.store.meetings.directory import DirectoryEventStore
from meetsrv.store.meetings.organizations import OrganizationStore
from meetsrv.store.meetings.pending_events import PendingEventStore


def _found(row: Row | None) -> Row:
    if row is None:
        raise NotFound("event not found")
    return row


class DirectoryEventService:
    def __init__(self, store: DirectoryEventStore, pending: PendingEventStore, organizations: OrganizationService,
                 org_store: OrganizationStore, images: MediaFiles, jobs: DelayedSaveService, clock: Clock,
                 delay: float):
        self.store = store
        self.pending = pending
        self.organizations = organizations
        self.org_store = org_store
        self.images = images
        self.jobs = jobs
        self.clock = clock
        self.delay = delay

    async def create(self, creator_id: int, event: dict[str, Any], image: bytes | None = None) -> dict[str, Any]:
        """Write the pending event and arm its save. `event`: title, description, date (ISO day or
        None), starts_at (epoch seconds or None), organizations (ids). Returns {"id", "due_at"}.
        Invalid(time_range) for a start outside years 1-9999 (UTC)."""
        starts_at = event.get("starts_at")
        if starts_at is not None and not renderable(starts_at):
            raise Invalid("Date is out of range: years 1 to 9999 (UTC).", fields={"date": ["time_range"]})
        orgs = sorted(set(event.get("organizations") or ()))
        await self.organizations.check_exist(orgs)
        path = None
        if image is not None:
            path = await self.images.save_image(image, "directory/events")
        now = self.clock.seconds()
        payload = {
            "title": event["title"],
            "description": event.get("description") or "",
            "date": event.get("date"),
            "starts_at": event.get("starts_at"),
            "organizations": orgs,
            "image": path,
            "creator_id": creator_id,
        }
        due_at = now + self.delay
        # this process holds the row's lease: it arms the timer (core/jobs.py)
        owner, until = self.jobs.lease()
        pending_id = await self.pending.insert(creator_id, payload, due_at, now, owner, until)
        self.jobs.schedule(pending_id, due_at)
        return {"id": pending_id, "due_at": due_at}

    async def page(self, limit: int, offset: int, ordering: str | None = None,
                   **filters: Any) -> tuple[int, list[Row]]:
        """(count, events with their organizations)."""
        return await self.store.page(limit, offset, ordering, **filters)

    def get(self, event_id: int) -> NowOrLater[Row]:
        """The event with its organizations, each with its members; NotFound. The value at once
        when the read cache has it, else a Deferred; shared, not to be changed."""
        found = self.store.detail(event_id)
        if isinstance(found, defer.Deferred):
            return found.addCallback(_found)
        return _found(found)

    async def pending_event(self, pending_id: int) -> Row | None:
        return await self.pending.get(pending_id)
