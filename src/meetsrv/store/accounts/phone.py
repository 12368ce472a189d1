"""Phone-door accounts: users found by phone, signed up with a phone, deleted with their relations."""

from __future__ import annotations

import random

from sqlalchemy import bindparam, delete, insert, select, update
from twisted.internet.defer import Deferred

from meetsrv.store.accounts.users import USER_COLUMNS, User, fold, user_record
from meetsrv.store.db import Database, Txn
from meetsrv.store.tables import contacts, meeting_members, users

_by_phone = select(*USER_COLUMNS).where(users.c.phone == bindparam("phone"))
_insert_user = (
    insert(users)
    .values(
        phone=bindparam("phone"), name=bindparam("name"), name_folded=bindparam("name_folded"),
        avatar=bindparam("avatar"), created=bindparam("created"), door="phone",
    )
    .returning(users.c.id)
)
_link_contacts = (
    update(contacts)
    .where(contacts.c.phone == bindparam("c_phone"))
    .values(contact_user_id=bindparam("c_user_id"))
)
_kinged = select(meeting_members.c.meeting_id).where(
    (meeting_members.c.user_id == bindparam("user_id")) & meeting_members.c.king
)
_others = (
    select(meeting_members.c.user_id)
    .where((meeting_members.c.meeting_id == bindparam("meeting_id")) & (meeting_members.c.user_id != bindparam("user_id")))
    .order_by(meeting_members.c.user_id)
)
_crown = (
    update(meeting_members)
    .where((meeting_members.c.meeting_id == bindparam("m_id")) & (meeting_members.c.user_id == bindparam("u_id")))
    .values(king=True)
)
_delete_user = delete(users).where(users.c.id == bindparam("id"))


def pass_crown_txn(t: Txn, meeting_id: int, leaving_user: int) -> int | None:
    """Crown a random other member of the meeting (the leaving king's successor); their id."""
    others: list[int] = [r["user_id"] for r in t.rows(_others, meeting_id=meeting_id, user_id=leaving_user)]
    if not others:
        return None
    heir = random.choice(others)
    t.execute(_crown, m_id=meeting_id, u_id=heir)
    return heir


def sign_up_txn(t: Txn, now: float, phone: str, name: str, avatar: str | None) -> int:
    """A new user with this phone; contacts that name the phone now point at the user."""
    user_id: int = t.scalar(_insert_user, phone=phone, name=name, name_folded=fold(name), avatar=avatar, created=now)
    t.execute(_link_contacts, c_phone=phone, c_user_id=user_id)
    return user_id


def delete_user_txn(t: Txn, user_id: int) -> None:
    """Pass the crowns of the user's meetings on, then delete the user: memberships, blocks,
    own contacts and credentials go with the row (ON DELETE CASCADE); other people's contacts
    keep the phone and lose the link (SET NULL)."""
    for row in t.rows(_kinged, user_id=user_id):
        pass_crown_txn(t, row["meeting_id"], user_id)
    t.execute(_delete_user, id=user_id)


class PhoneAccountStore:
    def __init__(self, db: Database):
        self.db = db

    def by_phone(self, phone: str) -> Deferred[User | None]:
        return self.db.row("accounts.phone.by_phone", _by_phone, phone=phone).addCallback(user_record)

    def sign_up(self, now: float, phone: str, name: str, avatar: str | None) -> Deferred[int]:
        return self.db.interact("accounts.phone.sign_up", sign_up_txn, now, phone, name, avatar)

    def delete(self, user_id: int) -> Deferred[None]:
        return self.db.interact("accounts.phone.delete", delete_user_txn, user_id)
