"""Directory events: validated at request time, saved `event_delay` seconds later (core/jobs.py)."""

from __future__ import annotations

from twisted.internet import defer

from meetsrv.core.clock import renderable
from meetsrv.core.errors import Invalid, NotFound
from meetsrv.store.meetings.directory import DirectoryEventStore
from meetsrv.store.meetings.organizations import OrganizationStore
from meetsrv.store.meetings.pending_events import PendingEventStore


class DirectoryEventService:
    def __init__(self, store: DirectoryEventStore, pending: PendingEventStore, organizations,
                 org_store: OrganizationStore, images, jobs, clock, delay: float):
        self.store = store
        self.pending = pending
        self.organizations = organizations
        self.org_store = org_store
        self.images = images
        self.jobs = jobs
        self.clock = clock
        self.delay = delay

    @defer.inlineCallbacks
    def create(self, creator_id: int, event: dict, image: bytes | None = None):
        """Write the pending event and arm its save. `event`: title, description, date (ISO day or
        None), starts_at (epoch seconds or None), organizations (ids). Returns {"id", "due_at"}.
        Invalid(time_range) for a start outside years 1-9999 (UTC)."""
        starts_at = event.get("starts_at")
        if starts_at is not None and not renderable(starts_at):
            raise Invalid("Date is out of range: years 1 to 9999 (UTC).", fields={"date": ["time_range"]})
        orgs = sorted(set(event.get("organizations") or ()))
        yield self.organizations.check_exist(orgs)
        path = None
        if image is not None:
            path = yield self.images.save_image(image, "directory/events")
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
        pending_id = yield self.pending.insert(creator_id, payload, due_at, now, owner, until)
        self.jobs.schedule(pending_id, due_at)
        return {"id": pending_id, "due_at": due_at}

    def page(self, limit: int, offset: int, ordering: str | None = None, **filters):
        """(count, events with their organizations)."""
        return self.store.page(limit, offset, ordering, **filters)

    @defer.inlineCallbacks
    def get(self, event_id: int, with_members: bool = True):
        row = yield self.store.get(event_id)
        if row is None:
            raise NotFound("event not found")
        orgs = (yield self.store.organizations_of([event_id]))[event_id]
        if with_members:
            members = yield self.org_store.members_of([o["id"] for o in orgs])
            for o in orgs:
                o["users"] = members[o["id"]]
        row["organizations"] = orgs
        return row

    def pending_event(self, pending_id: int):
        return self.pending.get(pending_id)
