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

from twisted.internet import defer

from meetsrv.core.errors import Invalid, NotFound
from meetsrv.store.accounts.users import UserStore
from meetsrv.store.db import Conflict
from meetsrv.store.people.graph import GraphStore

# the most users one lookup names (GET /api/users/?users=...)
MAX_LOOKUP = 100


def signed_up_by_phone(row) -> bool:
    """Whether the user signed up through the phone door (with an SMS-checked phone): the only
    other door that stores a phone, the directory, stores it beside the user's email."""
    return row.get("phone") is not None and row.get("email") is None


@defer.inlineCallbacks
def retry_on_race(fn, *args):
    """Run fn once more when a concurrent request inserted the same row first (the second run
    sees it and does nothing)."""
    try:
        result = yield fn(*args)
    except Conflict:
        result = yield fn(*args)
    return result


class GraphService:
    def __init__(self, store: GraphStore, users: UserStore):
        self.store = store
        self.users = users

    # -- views -------------------------------------------------------------------------------
    @defer.inlineCallbacks
    def views(self, viewer: int, rows):
        """Each user row as the viewer sees it: {"id","name","avatar"[, "phone"]}, or
        {"account": row} for the viewer themself. Order kept."""
        ids = [r["id"] for r in rows]
        names = yield self.store.contact_names(viewer, ids)
        blockers = yield self.store.blockers_of(viewer, ids)
        out = []
        for row in rows:
            uid = row["id"]
            phone = row["phone"] if signed_up_by_phone(row) else None
            if uid in names:
                name = names[uid] if names[uid] is not None else row["name"]
                view = {"id": uid, "name": name, "avatar": row["avatar"]}
                if phone is not None:
                    view["phone"] = phone
                out.append(view)
            elif uid == viewer:
                out.append({"account": row})
            else:
                view = {"id": uid, "name": row["name"], "avatar": row["avatar"]}
                if not row["hidden_phone"] and uid not in blockers and phone is not None:
                    view["phone"] = phone
                out.append(view)
        return out

    @defer.inlineCallbacks
    def users_by_ids(self, viewer: int, ids, field: str = "users"):
        """The users of up to MAX_LOOKUP distinct ids, as the viewer sees them (unknown ids are
        left out); Invalid(too_many_ids) for more."""
        if len(set(ids)) > MAX_LOOKUP:
            raise Invalid(f"at most {MAX_LOOKUP} users at once", fields={field: ["too_many_ids"]})
        rows = yield self.users.get_many(ids)
        views = yield self.views(viewer, rows)
        return views

    @defer.inlineCallbacks
    def user(self, viewer: int, user_id: int):
        row = yield self.users.get(user_id)
        if row is None:
            raise NotFound("Not found.")
        views = yield self.views(viewer, [row])
        return views[0]

    @defer.inlineCallbacks
    def check_other_user(self, viewer: int, user_id: int, field: str = "user"):
        """The row of another existing user; Invalid(self / no_user) otherwise."""
        if user_id == viewer:
            raise Invalid("Can not do it with yourself.", fields={field: ["self"]})
        row = yield self.users.get(user_id)
        if row is None:
            raise Invalid("User with this id does not exist.", fields={field: ["no_user"]})
        return row

    # -- blocks ------------------------------------------------------------------------------
    @defer.inlineCallbacks
    def blacklist(self, viewer: int):
        rows = yield self.store.blocked_users(viewer)
        views = yield self.views(viewer, rows)
        return views

    @defer.inlineCallbacks
    def block(self, viewer: int, user_id: int):
        yield self.check_other_user(viewer, user_id)
        yield retry_on_race(self.store.block, viewer, user_id)
        views = yield self.blacklist(viewer)
        return views

    @defer.inlineCallbacks
    def unblock(self, viewer: int, user_id: int):
        yield self.check_other_user(viewer, user_id)
        yield self.store.unblock(viewer, user_id)
        views = yield self.blacklist(viewer)
        return views

    # -- contacts ----------------------------------------------------------------------------
    @defer.inlineCallbacks
    def contacts(self, viewer: int):
        rows = yield self.store.contact_users(viewer)
        views = yield self.views(viewer, rows)
        return views

    @defer.inlineCallbacks
    def import_contacts(self, viewer: int, names: list[str], phones: list[str]):
        """Save contacts (name, phone), known users or not; the known users among them."""
        me = yield self.users.get(viewer)
        if len(set(phones)) != len(phones):
            raise Invalid("Phone list contains duplicates.", fields={"phones": ["duplicates"]})
        if me is not None and me["phone"] in phones:
            raise Invalid("The phones list contains user phone.", fields={"phones": ["own_phone"]})
        if len(names) != len(phones):
            raise Invalid("length mismatch", fields={"non_field_errors": ["length_mismatch"]})
        found = yield retry_on_race(self.store.import_contacts, viewer, list(zip(names, phones)))
        rows = yield self.users.get_many(found)
        views = yield self.views(viewer, rows)
        return views

    @defer.inlineCallbacks
    def delete_contacts(self, viewer: int, phones: list[str]):
        yield self.store.delete_contacts(viewer, phones)
        views = yield self.contacts(viewer)
        return views
