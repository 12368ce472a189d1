"""Organizations: a title, a description, an address and a postcode, and member users."""

from __future__ import annotations

from collections.abc import Iterable

from meetsrv.core.clock import Clock
from meetsrv.core.errors import Invalid, NotFound
from meetsrv.store.db import Row
from meetsrv.store.meetings.organizations import OrganizationStore


def full_address(org: Row) -> str:
    """The postcode joined with the address."""
    return " ".join(p for p in (org.get("postcode") or "", org.get("address") or "") if p)


class OrganizationService:
    def __init__(self, store: OrganizationStore, clock: Clock):
        self.store = store
        self.clock = clock

    async def create(self, title: str, description: str = "", address: str = "", postcode: str = "",
                     user_ids: Iterable[int] = ()) -> Row:
        wanted = sorted(set(user_ids))
        found = await self.store.existing_user_ids(wanted)
        missing = [u for u in wanted if u not in found]
        if missing:
            raise Invalid("unknown user", field="users", missing=missing)
        values = dict(title=title, description=description or "", address=address or "", postcode=postcode or "")
        org_id = await self.store.create(self.clock.seconds(), values, wanted)
        org = await self.get(org_id)
        return org

    async def get(self, org_id: int) -> Row:
        org = await self.store.get(org_id)
        if org is None:
            raise NotFound("organization not found")
        members = await self.store.members_of([org_id])
        org["users"] = members[org_id]
        return org

    async def page(self, limit: int, offset: int, query: str | None = None) -> tuple[int, list[Row]]:
        count, rows = await self.store.page(limit, offset, query)
        members = await self.store.members_of([r["id"] for r in rows])
        for r in rows:
            r["users"] = members[r["id"]]
        return count, rows

    async def check_exist(self, org_ids: Iterable[int]) -> None:
        found = await self.store.existing_ids(org_ids)
        missing = [o for o in sorted(set(org_ids)) if o not in found]
        if missing:
            raise Invalid("unknown organization", field="organizations", missing=missing)
