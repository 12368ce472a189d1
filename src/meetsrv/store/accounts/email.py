"""Directory accounts: users found by email."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from twisted.internet.defer import Deferred

from meetsrv.store.accounts.users import USER_COLUMNS, User, insert_user_txn, update_user_txn, user_record
from meetsrv.store.db import Database
from meetsrv.store.tables import users

_by_email = select(*USER_COLUMNS).where(users.c.email == bindparam("email"))
_id_by_phone = select(users.c.id).where(users.c.phone == bindparam("phone"))


class DirectoryAccountStore:
    def __init__(self, db: Database):
        self.db = db

    def by_email(self, email: str) -> Deferred[User | None]:
        return self.db.row("accounts.email.by_email", _by_email, email=email).addCallback(user_record)

    def id_by_phone(self, phone: str) -> Deferred[int | None]:
        return self.db.scalar("accounts.email.id_by_phone", _id_by_phone, phone=phone)

    def insert(self, now: float, **values: Any) -> Deferred[int]:
        # db.compile keeps no None defaults: leave NULL columns out
        values = {k: v for k, v in values.items() if v is not None}
        return self.db.interact("accounts.email.insert", insert_user_txn, now, **values)

    def set_staff(self, user_id: int, password_hash: str) -> Deferred[int]:
        return self.db.interact("accounts.email.set_staff", update_user_txn, user_id, is_staff=True, password_hash=password_hash)
