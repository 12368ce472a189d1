"""Blocks and phone-book contacts between users (the phone door's social graph)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, bindparam, delete, exists, insert, select, update
from twisted.internet import defer

from meetsrv.store.db import Database, Row, Txn
from meetsrv.store.tables import blocks, contacts, users

_blocked_users = (
    select(users).join(blocks, blocks.c.blocked_id == users.c.id)
    .where(blocks.c.user_id == bindparam("user_id")).order_by(blocks.c.blocked_id)  # = users.id, in the index
)
_is_blocked = select(exists().where(
    (blocks.c.user_id == bindparam("user_id")) & (blocks.c.blocked_id == bindparam("blocked_id"))
))
_block = insert(blocks).values(user_id=bindparam("user_id"), blocked_id=bindparam("blocked_id"))
_unblock = delete(blocks).where(
    (blocks.c.user_id == bindparam("user_id")) & (blocks.c.blocked_id == bindparam("blocked_id"))
)
_contact_users = (
    select(users).join(contacts, contacts.c.contact_user_id == users.c.id)
    .where(contacts.c.owner_id == bindparam("owner_id")).order_by(contacts.c.contact_user_id)  # = users.id
)
_contact_by_phone = select(contacts.c.id).where(
    (contacts.c.owner_id == bindparam("owner_id")) & (contacts.c.phone == bindparam("phone"))
)
_insert_contact = insert(contacts).values(
    owner_id=bindparam("owner_id"), phone=bindparam("phone"), name=bindparam("name"),
    contact_user_id=bindparam("contact_user_id"),
)
_update_contact = update(contacts).where(contacts.c.id == bindparam("c_id")).values(
    name=bindparam("c_name"), contact_user_id=bindparam("c_user_id")
)
_user_id_by_phone = select(users.c.id).where(users.c.phone == bindparam("phone"))


def block_txn(t: Txn, user_id: int, blocked_id: int) -> bool:
    if t.scalar(_is_blocked, user_id=user_id, blocked_id=blocked_id):
        return False
    t.execute(_block, user_id=user_id, blocked_id=blocked_id)
    return True


def import_contacts_txn(t: Txn, owner_id: int, pairs: list[tuple[str, str]]) -> list[int]:
    """Add or rename the owner's contacts [(name, phone)]; the ids of the users among them."""
    found = []
    for name, phone in pairs:
        user_id = t.scalar(_user_id_by_phone, phone=phone)
        existing = t.scalar(_contact_by_phone, owner_id=owner_id, phone=phone)
        if existing is None:
            t.execute(_insert_contact, owner_id=owner_id, phone=phone, name=name, contact_user_id=user_id)
        else:
            t.execute(_update_contact, c_id=existing, c_name=name, c_user_id=user_id)
        if user_id is not None:
            found.append(user_id)
    return found


class GraphStore:
    def __init__(self, db: Database):
        self.db = db

    # -- blocks ------------------------------------------------------------------------------
    def blocked_users(self, user_id: int) -> defer.Deferred[list[Row]]:
        return self.db.rows("people.graph.blocked_users", _blocked_users, user_id=user_id)

    def block(self, user_id: int, blocked_id: int) -> defer.Deferred[bool]:
        return self.db.interact("people.graph.block", block_txn, user_id, blocked_id)

    def unblock(self, user_id: int, blocked_id: int) -> defer.Deferred[int]:
        return self.db.execute("people.graph.unblock", _unblock, user_id=user_id, blocked_id=blocked_id)

    def blockers_of(self, viewer: int, user_ids: Iterable[int]) -> defer.Deferred[set[int]]:
        """The ids among user_ids of users who have blocked viewer."""
        ids = sorted(set(user_ids))
        if not ids:
            return defer.succeed(set())
        stmt = select(blocks.c.user_id).where(and_(blocks.c.blocked_id == viewer, blocks.c.user_id.in_(ids)))
        return self.db.rows("people.graph.blockers_of", stmt, dynamic=True).addCallback(lambda rows: {r["user_id"] for r in rows})

    # -- contacts ----------------------------------------------------------------------------
    def contact_users(self, owner_id: int) -> defer.Deferred[list[Row]]:
        return self.db.rows("people.graph.contact_users", _contact_users, owner_id=owner_id)

    def contact_names(self, owner_id: int, user_ids: Iterable[int]) -> defer.Deferred[dict[int, str | None]]:
        """{user_id: contact name} for the users among user_ids in owner's contacts."""
        ids = sorted(set(user_ids))
        if not ids:
            return defer.succeed({})
        stmt = select(contacts.c.contact_user_id, contacts.c.name).where(
            and_(contacts.c.owner_id == owner_id, contacts.c.contact_user_id.in_(ids))
        )
        return self.db.rows("people.graph.contact_names", stmt, dynamic=True).addCallback(
            lambda rows: {r["contact_user_id"]: r["name"] for r in rows}
        )

    def import_contacts(self, owner_id: int, pairs: Iterable[tuple[str, str]]) -> defer.Deferred[list[int]]:
        return self.db.interact("people.graph.import_contacts", import_contacts_txn, owner_id, list(pairs))

    def delete_contacts(self, owner_id: int, phones: Iterable[str]) -> defer.Deferred[int]:
        wanted = sorted(set(phones))
        if not wanted:
            return defer.succeed(0)
        stmt = delete(contacts).where(and_(contacts.c.owner_id == owner_id, contacts.c.phone.in_(wanted)))
        return self.db.execute("people.graph.delete_contacts", stmt, dynamic=True)
