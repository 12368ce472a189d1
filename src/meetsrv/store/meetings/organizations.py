"""Organizations and their members (the directory door, the staff pages)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select
from twisted.internet import defer

from meetsrv.store.accounts.users import like_contains
from meetsrv.store.counts import ORGANIZATIONS, count_txn
from meetsrv.store.db import Database, Row, Txn
from meetsrv.store.tables import organization_members, organizations, users

_get = select(organizations).where(organizations.c.id == bindparam("id"))
_add_member = insert(organization_members).values(
    organization_id=bindparam("organization_id"), user_id=bindparam("user_id")
)
_member_columns = (users.c.id, users.c.email, users.c.phone)


def create_organization_txn(t: Txn, now: float, values: dict[str, Any], user_ids: Iterable[int]) -> int:
    stmt = insert(organizations).values(created=now, **values).returning(organizations.c.id)
    org_id: int = t.scalar(stmt, dynamic=True)
    for user_id in sorted(set(user_ids)):
        t.execute(_add_member, organization_id=org_id, user_id=user_id)
    return org_id


@functools.cache
def _page_statements(searched: bool) -> tuple[Select[Any], Select[Any]]:
    """(count, page) of the directory's organizations list, compiled once per shape."""
    conds = [func.lower(organizations.c.title).like(bindparam("search"), escape="\\")] if searched else []
    count = select(func.count()).select_from(organizations).where(*conds)
    rows = (
        select(organizations).where(*conds)
        .order_by(organizations.c.title, organizations.c.id)
        .limit(bindparam("limit")).offset(bindparam("offset"))
    )
    return count, rows


class OrganizationStore:
    def __init__(self, db: Database):
        self.db = db

    def create(self, now: float, values: dict[str, Any], user_ids: Iterable[int]) -> defer.Deferred[int]:
        return self.db.interact("meetings.organizations.create", create_organization_txn, now, values, user_ids)

    def get(self, org_id: int) -> defer.Deferred[Row | None]:
        return self.db.row("meetings.organizations.get", _get, id=org_id)

    def page(self, limit: int, offset: int, query: str | None = None) -> defer.Deferred[tuple[int, list[Row]]]:
        """(count, rows) ordered by title, then id (the index ix_organizations_title_id); without
        a query the count is the kept one (list_counts)."""
        count, rows = _page_statements(bool(query))
        params: dict[str, Any] = {"search": like_contains(query)} if query else {}

        def run(t: Txn) -> tuple[int, list[Row]]:
            found = t.rows(rows, limit=limit, offset=offset, **params)
            total: int = t.scalar(count, **params) if query else count_txn(t, ORGANIZATIONS, count)
            return total, found

        return self.db.interact("meetings.organizations.page", run)

    def existing_ids(self, ids: Iterable[int]) -> defer.Deferred[set[int]]:
        wanted = sorted(set(ids))
        if not wanted:
            return defer.succeed(set())
        stmt = select(organizations.c.id).where(organizations.c.id.in_(wanted))
        return self.db.rows("meetings.organizations.existing_ids", stmt, dynamic=True).addCallback(lambda rows: {r["id"] for r in rows})

    def existing_user_ids(self, ids: Iterable[int]) -> defer.Deferred[set[int]]:
        wanted = sorted(set(ids))
        if not wanted:
            return defer.succeed(set())
        stmt = select(users.c.id).where(users.c.id.in_(wanted))
        return self.db.rows("meetings.organizations.existing_user_ids", stmt, dynamic=True).addCallback(lambda rows: {r["id"] for r in rows})

    def members_of(self, org_ids: Iterable[int]) -> defer.Deferred[dict[int, list[Row]]]:
        """{organization id: [user rows (id, email, phone) by id]} in one query."""
        wanted = sorted(set(org_ids))
        if not wanted:
            return defer.succeed({})
        stmt = (
            select(organization_members.c.organization_id, *_member_columns)
            .join(users, users.c.id == organization_members.c.user_id)
            .where(organization_members.c.organization_id.in_(wanted))
            .order_by(organization_members.c.organization_id, users.c.id)
        )

        def group(rows: list[Row]) -> dict[int, list[Row]]:
            out: dict[int, list[Row]] = {oid: [] for oid in wanted}
            for r in rows:
                out[r.pop("organization_id")].append(r)
            return out

        return self.db.rows("meetings.organizations.members_of", stmt, dynamic=True).addCallback(group)
