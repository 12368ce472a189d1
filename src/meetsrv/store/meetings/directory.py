"""Directory events: rows of `meetings` with kind "directory", and their organizations."""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, select
from twisted.internet import defer

from meetsrv.store.db import Database, Txn
from meetsrv.store.tables import meeting_organizations, meetings, organizations, users
from meetsrv.store.accounts.users import like_contains

KIND = "directory"

_get = select(meetings).where((meetings.c.id == bindparam("id")) & (meetings.c.kind == KIND))
_link = insert(meeting_organizations).values(
    meeting_id=bindparam("meeting_id"), organization_id=bindparam("organization_id")
)
_org_exists = select(organizations.c.id).where(organizations.c.id == bindparam("id"))
_user_exists = select(users.c.id).where(users.c.id == bindparam("id"))


def insert_event_txn(t: Txn, now: float, event: dict) -> int:
    """Insert a directory event (a validated payload) and link its organizations that still exist."""
    creator_id = event.get("creator_id")
    if creator_id is not None and t.scalar(_user_exists, id=creator_id) is None:
        creator_id = None  # the account was deleted while the event waited
    values = dict(
        kind=KIND,
        title=event["title"],
        description=event.get("description") or "",
        date=event.get("date"),
        starts_at=event.get("starts_at"),
        image=event.get("image"),
        creator_id=creator_id,
        created=now,
        modified=now,
    )
    # db.compile keeps no None defaults: leave NULL columns out
    stmt = insert(meetings).values(**{k: v for k, v in values.items() if v is not None}).returning(meetings.c.id)
    meeting_id = t.scalar(stmt, dynamic=True)
    for org_id in sorted(set(event.get("organizations") or ())):
        if t.scalar(_org_exists, id=org_id) is not None:
            t.execute(_link, meeting_id=meeting_id, organization_id=org_id)
    return meeting_id


def _conditions(search=None, date=None, date_gte=None, date_lte=None):
    conds = [meetings.c.kind == KIND]
    if search:
        conds.append(func.lower(meetings.c.title).like(like_contains(search), escape="\\"))
    if date is not None:
        conds.append(meetings.c.date == date)
    if date_gte is not None:
        conds.append(meetings.c.date >= date_gte)
    if date_lte is not None:
        conds.append(meetings.c.date <= date_lte)
    return conds


def _ordering(ordering: str | None):
    """Events without a date come last either way; same day: by time (date-only first), then id."""
    nulls_last = meetings.c.date.is_(None)
    when = func.coalesce(meetings.c.starts_at, 0)
    if ordering == "-date":
        return [nulls_last, meetings.c.date.desc(), when.desc(), meetings.c.id.desc()]
    if ordering == "date":
        return [nulls_last, meetings.c.date, when, meetings.c.id]
    return [meetings.c.id]


class DirectoryEventStore:
    def __init__(self, db: Database):
        self.db = db

    def get(self, event_id: int):
        return self.db.row("meetings.directory.get", _get, id=event_id)

    def page(self, limit: int, offset: int, ordering: str | None = None, **filters):
        """(count, rows) of directory events matching filters (search, date, date_gte, date_lte)."""
        conds = _conditions(**filters)
        count = select(func.count()).select_from(meetings).where(*conds)
        rows = select(meetings).where(*conds).order_by(*_ordering(ordering)).limit(limit).offset(offset)

        def run(t):
            return t.scalar(count, dynamic=True), t.rows(rows, dynamic=True)

        return self.db.interact("meetings.directory.page", run)

    def organizations_of(self, meeting_ids) -> defer.Deferred:
        """{meeting id: [organization rows by title, id]} in one query."""
        meeting_ids = sorted(set(meeting_ids))
        if not meeting_ids:
            return defer.succeed({})
        stmt = (
            select(meeting_organizations.c.meeting_id, organizations)
            .join(organizations, organizations.c.id == meeting_organizations.c.organization_id)
            .where(meeting_organizations.c.meeting_id.in_(meeting_ids))
            .order_by(meeting_organizations.c.meeting_id, organizations.c.title, organizations.c.id)
        )

        def group(rows):
            out = {mid: [] for mid in meeting_ids}
            for r in rows:
                out[r.pop("meeting_id")].append(r)
            return out

        return self.db.rows("meetings.directory.organizations_of", stmt, dynamic=True).addCallback(group)
