"""Blocks and contacts, and how a user looks to each viewer (the phone door's social graph).

A user seen by a viewer (upstream meetrack's UserSerializer):
- in the viewer's contacts: named by the viewer's contact name, phone always shown;
- the viewer themself: the full account;
- otherwise: the phone is left out when the user hides it or has blocked the viewer.
A phone is only ever shown for a user who signed up through the phone door: the directory
door's sign-up telephone is its user's, never shown to others.

Field problems are raised as Invalid(fields={field: [code]}); codes: self, no_user, duplicates,
own_phone, length_mismatch, too_many_ids.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from meetsrv.core.errors import Invalid, NotFound
from meetsrv.core.records import row_of
from meetsrv.store.accounts.users import User, UserStore, user_of
from meetsrv.store.db import Conflict, Row
from meetsrv.store.people.graph import GraphStore

P = ParamSpec("P")
T = TypeVar("T")
# a user as one viewer sees them (id, name, avatar[, phone]), or {"account": row} for the viewer
View = dict[str, Any]

# the most users one lookup names (GET /api/users/?users=...)
MAX_LOOKUP = 100


def signed_up_by_phone(row: Row) -> bool:
    """Whether the user signed up through the phone door (with an SMS-checked phone): the only
    other door that stores a phone, the directory, stores it beside the user's email."""
    return row.get("phone") is not None and row.get("email") is None


async def retry_on_race(fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run fn once more when a concurrent request inserted the same row first (the second run
    sees it and does nothing)."""
    try:
        result = await fn(*args, **kwargs)
    except Conflict:
        result = await fn(*args, **kwargs)
    return result


class GraphService:
    def __init__(self, store: GraphStore, users: UserStore):
        self.store = store
        self.users = users

    # -- views -------------------------------------------------------------------------------
    async def views(self, viewer: int, rows: list[Row]) -> list[View]:
        """Each user row as the viewer sees it: {"id","name","avatar"[, "phone"]}, or
        {"account": User} for the viewer themself. Order kept."""
        ids = [r["id"] for r in rows]
        names = await self.store.contact_names(viewer, ids)
        blockers = await self.store.blockers_of(viewer, ids)
        out: list[View] = []
        for row in rows:
            uid = row["id"]
            phone = row["phone"] if signed_up_by_phone(row) else None
            if uid in names:
                name = names[uid] if names[uid] is not None else row["name"]
                view: View = {"id": uid, "name": name, "avatar": row["avatar"]}
                if phone is not None:
                    view["phone"] = phone
                out.append(view)
            elif uid == viewer:
                out.append({"account": user_of(row)})
            else:
                view = {"id": uid, "name": row["name"], "avatar": row["avatar"]}
                if not row["hidden_phone"] and uid not in blockers and phone is not None:
                    view["phone"] = phone
                out.append(view)
        return out

    async def users_by_ids(self, viewer: int, ids: list[int], field: str = "users") -> list[View]:
        """The users of up to MAX_LOOKUP distinct ids, as the viewer sees them (unknown ids are
        left out); Invalid(too_many_ids) for more."""
        if len(set(ids)) > MAX_LOOKUP:
            raise Invalid(f"at most {MAX_LOOKUP} users at once", fields={field: ["too_many_ids"]})
        rows = await self.users.get_many(ids)
        views = await self.views(viewer, rows)
        return views

    async def user(self, viewer: int, user_id: int) -> View:
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("Not found.")
        views = await self.views(viewer, [row_of(user)])
        return views[0]

    async def check_other_user(self, viewer: int, user_id: int, field: str = "user") -> User:
        """Another existing user; Invalid(self / no_user) otherwise."""
        if user_id == viewer:
            raise Invalid("Can not do it with yourself.", fields={field: ["self"]})
        row = await self.users.get(user_id)
        if row is None:
            raise Invalid("User with this id does not exist.", fields={field: ["no_user"]})
        return row

    # -- blocks ------------------------------------------------------------------------------
    async def blacklist(self, viewer: int) -> list[View]:
        rows = await self.store.blocked_users(viewer)
        views = await self.views(viewer, rows)
        return views

    async def block(self, viewer: int, user_id: int) -> list[View]:
        await self.check_other_user(viewer, user_id)
        await retry_on_race(self.store.block, viewer, user_id)
        views = await self.blacklist(viewer)
        return views

    async def unblock(self, viewer: int, user_id: int) -> list[View]:
        await self.check_other_user(viewer, user_id)
        await self.store.unblock(viewer, user_id)
        views = await self.blacklist(viewer)
        return views

    # -- contacts ----------------------------------------------------------------------------
    async def contacts(self, viewer: int) -> list[View]:
        rows = await self.store.contact_users(viewer)
        views = await self.views(viewer, rows)
        return views

    async def import_contacts(self, viewer: int, names: list[str], phones: list[str]) -> list[View]:
        """Save contacts (name, phone), known users or not; the known users among them."""
        me = await self.users.get(viewer)
        if len(set(phones)) != len(phones):
            raise Invalid("Phone list contains duplicates.", fields={"phones": ["duplicates"]})
        if me is not None and me.phone in phones:
            raise Invalid("The phones list contains user phone.", fields={"phones": ["own_phone"]})
        if len(names) != len(phones):
            raise Invalid("length mismatch", fields={"non_field_errors": ["length_mismatch"]})
        found = await retry_on_race(self.store.import_contacts, viewer, list(zip(names, phones)))
        rows = await self.users.get_many(found)
        views = await self.views(viewer, rows)
        return views

    async def delete_contacts(self, viewer: int, phones: list[str]) -> list[View]:
        await self.store.delete_contacts(viewer, phones)
        views = await self.contacts(viewer)
        return views
