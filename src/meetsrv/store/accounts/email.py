"""Directory accounts: users found by email; the staff pages' user list."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select

from meetsrv.store.db import Database
from meetsrv.store.tables import users
from meetsrv.store.accounts.users import insert_user_txn, like_contains, update_user_txn

_by_email = select(users).where(users.c.email == bindparam("email"))
_id_by_phone = select(users.c.id).where(users.c.phone == bindparam("phone"))


def _user_filters(query: str | None, staff: bool | None):
    conds = []
    if query:
        pattern = like_contains(query)
        conds.append(
            func.lower(func.coalesce(users.c.email, "")).like(pattern, escape="\\")
            | func.coalesce(users.c.phone, "").like(pattern, escape="\\")
            | users.c.name_folded.like(pattern, escape="\\")
        )
    if staff is not None:
        conds.append(users.c.is_staff == staff)
    return conds


class DirectoryAccountStore:
    def __init__(self, db: Database):
        self.db = db

    def by_email(self, email: str):
        return self.db.row("accounts.email.by_email", _by_email, email=email)

    def id_by_phone(self, phone: str):
        return self.db.scalar("accounts.email.id_by_phone", _id_by_phone, phone=phone)

    def insert(self, now: float, **values):
        # db.compile keeps no None defaults: leave NULL columns out
        values = {k: v for k, v in values.items() if v is not None}
        return self.db.interact("accounts.email.insert", insert_user_txn, now, **values)

    def set_staff(self, user_id: int, password_hash: str):
        return self.db.interact("accounts.email.set_staff", update_user_txn, user_id, is_staff=True, password_hash=password_hash)

    def search(self, query: str | None, staff: bool | None, limit: int, offset: int):
        """(count, rows) of users for the staff pages, newest first."""
        conds = _user_filters(query, staff)
        count = select(func.count()).select_from(users).where(*conds)
        page = (
            select(users.c.id, users.c.email, users.c.phone, users.c.username, users.c.name,
                   users.c.is_staff, users.c.created)
            .where(*conds).order_by(users.c.id.desc()).limit(limit).offset(offset)
        )

        def run(t):
            return t.scalar(count, dynamic=True), t.rows(page, dynamic=True)

        return self.db.interact("accounts.email.search", run)
