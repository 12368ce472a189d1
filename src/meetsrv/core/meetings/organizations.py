"""Organizations: a title, a description, an address and a postcode, and member users."""

from __future__ import annotations

from twisted.internet import defer

from meetsrv.core.errors import Invalid, NotFound
from meetsrv.store.meetings.organizations import OrganizationStore


def full_address(org: dict) -> str:
    """The postcode joined with the address."""
    return " ".join(p for p in (org.get("postcode") or "", org.get("address") or "") if p)


class OrganizationService:
    def __init__(self, store: OrganizationStore, clock):
        self.store = store
        self.clock = clock

    @defer.inlineCallbacks
    def create(self, title: str, description: str = "", address: str = "", postcode: str = "", user_ids=()):
        user_ids = sorted(set(user_ids))
        found = yield self.store.existing_user_ids(user_ids)
        missing = [u for u in user_ids if u not in found]
        if missing:
            raise Invalid("unknown user", field="users", missing=missing)
        values = dict(title=title, description=description or "", address=address or "", postcode=postcode or "")
        org_id = yield self.store.create(self.clock.seconds(), values, user_ids)
        org = yield self.get(org_id)
        return org

    @defer.inlineCallbacks
    def get(self, org_id: int):
        org = yield self.store.get(org_id)
        if org is None:
            raise NotFound("organization not found")
        members = yield self.store.members_of([org_id])
        org["users"] = members[org_id]
        return org

    @defer.inlineCallbacks
    def page(self, limit: int, offset: int, query: str | None = None):
        count, rows = yield self.store.page(limit, offset, query)
        members = yield self.store.members_of([r["id"] for r in rows])
        for r in rows:
            r["users"] = members[r["id"]]
        return count, rows

    @defer.inlineCallbacks
    def check_exist(self, org_ids):
        found = yield self.store.existing_ids(org_ids)
        missing = [o for o in sorted(set(org_ids)) if o not in found]
        if missing:
            raise Invalid("unknown organization", field="organizations", missing=missing)
