"""Directory events: rows of `meetings` with kind "directory", and their organizations."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, false, func, insert, literal_column, select
from twisted.internet import defer

from meetsrv.store.accounts.users import like_contains
from meetsrv.store.counts import DIRECTORY_EVENTS, count_txn
from meetsrv.store.db import Database, NowOrLater, Row, Txn
from meetsrv.store.tables import meeting_organizations, meetings, organization_members, organizations, users

KIND = "directory"

_get = select(meetings).where((meetings.c.id == bindparam("id")) & (meetings.c.kind == KIND))
_link = insert(meeting_organizations).values(
    meeting_id=bindparam("meeting_id"), organization_id=bindparam("organization_id")
)
_org_exists = select(organizations.c.id).where(organizations.c.id == bindparam("id"))
_user_exists = select(users.c.id).where(users.c.id == bindparam("id"))
# the detail: the event's organizations by title, then id; their members (id, email, phone) by id
_detail_organizations = (
    select(organizations)
    .join(meeting_organizations, meeting_organizations.c.organization_id == organizations.c.id)
    .where(meeting_organizations.c.meeting_id == bindparam("id"))
    .order_by(organizations.c.title, organizations.c.id)
)
_detail_members = (
    select(organization_members.c.organization_id, users.c.id, users.c.email, users.c.phone)
    .join(users, users.c.id == organization_members.c.user_id)
    .join(meeting_organizations, meeting_organizations.c.organization_id == organization_members.c.organization_id)
    .where(meeting_organizations.c.meeting_id == bindparam("id"))
    .order_by(organization_members.c.organization_id, users.c.id)
)


def detail_txn(t: Txn, event_id: int) -> Row | None:
    """The event with its organizations, each with its members ("users"): three statements
    compiled once, one transaction."""
    row = t.row(_get, id=event_id)
    if row is None:
        return None
    orgs = t.rows(_detail_organizations, id=event_id)
    members: dict[int, list[Row]] = {o["id"]: [] for o in orgs}
    if orgs:
        for m in t.rows(_detail_members, id=event_id):
            members[m.pop("organization_id")].append(m)
    for o in orgs:
        o["users"] = members[o["id"]]
    row["organizations"] = orgs
    return row


def insert_event_txn(t: Txn, now: float, event: dict[str, Any]) -> int:
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
    meeting_id: int = t.scalar(stmt, dynamic=True)
    for org_id in sorted(set(event.get("organizations") or ())):
        if t.scalar(_org_exists, id=org_id) is not None:
            t.execute(_link, meeting_id=meeting_id, organization_id=org_id)
    return meeting_id


# The list's statements, built and compiled once per shape: which filters are present and the
# ordering (values are bound parameters). At most 2**4 * 3 shapes.
FILTERS = ("search", "date", "date_gte", "date_lte")
DATE_FILTERS = frozenset({"date", "date_gte", "date_lte"})
_PAGE_LIMIT_MAX = 100


def _conditions(present: frozenset[str]) -> list[ColumnElement[bool]]:
    conds = [meetings.c.kind == KIND]
    if present & DATE_FILTERS:
        # implied by any date filter; said, so the ordered index's second column is an equality
        # and its range and order serve the filtered page too
        conds.append(meetings.c.date.is_(None) == false())
    if "search" in present:
        conds.append(func.lower(meetings.c.title).like(bindparam("search"), escape="\\"))
    if "date" in present:
        conds.append(meetings.c.date == bindparam("date"))
    if "date_gte" in present:
        conds.append(meetings.c.date >= bindparam("date_gte"))
    if "date_lte" in present:
        conds.append(meetings.c.date <= bindparam("date_lte"))
    return conds


def _ordering(ordering: str | None, dated_only: bool) -> list[Any]:
    """Events without a date come last either way; same day: by time (date-only first), then id.
    Each order is an index's (tables.py: ix_meetings_kind_by_date[_desc], ix_meetings_kind_id);
    with only dated events, "undated last" is no key and either index serves both directions."""
    undated_last = [] if dated_only else [meetings.c.date.is_(None)]
    when = func.coalesce(meetings.c.starts_at, literal_column("0"))  # as the index has it, not a parameter
    if ordering == "-date":
        return [*undated_last, meetings.c.date.desc(), when.desc(), meetings.c.id.desc()]
    if ordering == "date":
        return [*undated_last, meetings.c.date, when, meetings.c.id]
    return [meetings.c.id]


@functools.cache
def _page_statements(present: frozenset[str], ordering: str | None) -> tuple[Select[Any], Select[Any]]:
    conds = _conditions(present)
    dated_only = bool(present & DATE_FILTERS)
    count = select(func.count()).select_from(meetings).where(*conds)
    rows = (
        select(meetings).where(*conds).order_by(*_ordering(ordering, dated_only))
        .limit(bindparam("limit")).offset(bindparam("offset"))
    )
    return count, rows


@functools.cache
def _organizations_of(n: int) -> Select[Any]:
    """Organizations of n meetings (one statement per n, so each is compiled once)."""
    return (
        select(meeting_organizations.c.meeting_id, organizations)
        .join(organizations, organizations.c.id == meeting_organizations.c.organization_id)
        .where(meeting_organizations.c.meeting_id.in_([bindparam(f"m{i}") for i in range(n)]))
        .order_by(meeting_organizations.c.meeting_id, organizations.c.title, organizations.c.id)
    )


def organizations_of_txn(t: Txn, meeting_ids: Iterable[int]) -> dict[int, list[Row]]:
    """{meeting id: [organization rows by title, id]}."""
    ids = sorted(set(meeting_ids))
    out: dict[int, list[Row]] = {mid: [] for mid in ids}
    for start in range(0, len(ids), _PAGE_LIMIT_MAX):
        chunk = ids[start:start + _PAGE_LIMIT_MAX]
        params: dict[str, Any] = {f"m{i}": mid for i, mid in enumerate(chunk)}
        for r in t.rows(_organizations_of(len(chunk)), **params):
            out[r.pop("meeting_id")].append(r)
    return out


class DirectoryEventStore:
    def __init__(self, db: Database):
        self.db = db

    def get(self, event_id: int) -> defer.Deferred[Row | None]:
        return self.db.row("meetings.directory.get", _get, id=event_id)

    def detail(self, event_id: int) -> NowOrLater[Row | None]:
        """The event with its organizations and their members, or None: from the read cache
        when kept (the value at once, shared: not to be changed), else a Deferred."""
        return self.db.cached("meetings.directory.detail", event_id, detail_txn, event_id)

    def page(self, limit: int, offset: int, ordering: str | None = None,
             **filters: Any) -> defer.Deferred[tuple[int, list[Row]]]:
        """(count, rows) of directory events matching filters (search, date, date_gte, date_lte),
        each row with its "organizations": one transaction, statements compiled once. Without a
        filter the count is the kept one (list_counts), not a count of every event."""
        values = {k: v for k, v in filters.items() if k in FILTERS and v is not None and v != ""}
        if "search" in values:
            values["search"] = like_contains(values["search"])
        count, rows = _page_statements(frozenset(values), ordering if ordering in ("date", "-date") else None)

        def run(t: Txn) -> tuple[int, list[Row]]:
            found = t.rows(rows, limit=limit, offset=offset, **values)
            orgs = organizations_of_txn(t, [r["id"] for r in found])
            for r in found:
                r["organizations"] = orgs[r["id"]]
            if values:
                return t.scalar(count, **values), found
            return count_txn(t, DIRECTORY_EVENTS, count), found

        return self.db.interact("meetings.directory.page", run)

    def organizations_of(self, meeting_ids: list[int]) -> defer.Deferred[dict[int, list[Row]]]:
        """{meeting id: [organization rows by title, id]}."""
        if not meeting_ids:
            return defer.succeed({})
        return self.db.interact("meetings.directory.organizations_of", organizations_of_txn, meeting_ids)
