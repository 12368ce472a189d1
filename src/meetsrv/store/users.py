"""Users: the people behind every door."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update

from meetsrv.store.db import Database, Txn
from meetsrv.store.tables import users

_by_id = select(users).where(users.c.id == bindparam("id"))
_by_username = select(users).where(users.c.username == bindparam("username"))
_id_by_username = select(users.c.id).where(users.c.username == bindparam("username"))
_search_username = (
    select(users.c.id, users.c.username)
    .where(users.c.username_folded.like(bindparam("pattern"), escape="\\"))
    .order_by(users.c.id)
    .limit(bindparam("limit"))
)
_search_name = (
    select(users.c.id, users.c.name)
    .where(users.c.name_folded.like(bindparam("pattern"), escape="\\"))
    .order_by(users.c.id)
    .limit(bindparam("limit"))
)


def fold(text: str) -> str:
    """The case-insensitive form used for search (Cyrillic included)."""
    return text.casefold()


def like_contains(text: str) -> str:
    escaped = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def insert_user_txn(t: Txn, now: float, **values) -> int:
    """Insert a user; fills the folded search columns. Returns the id."""
    if values.get("username") is not None:
        values["username_folded"] = fold(values["username"])
    values["name_folded"] = fold(values.get("name") or "")
    values.setdefault("name", "")
    stmt = insert(users).values(created=now, **values).returning(users.c.id)
    return t.scalar(stmt, dynamic=True)


def update_user_txn(t: Txn, user_id: int, **values) -> int:
    if "username" in values and values["username"] is not None:
        values["username_folded"] = fold(values["username"])
    if "name" in values:
        values["name_folded"] = fold(values["name"] or "")
    if not values:
        return 0
    return t.execute(update(users).where(users.c.id == user_id).values(**values), dynamic=True)


class UserStore:
    def __init__(self, db: Database):
        self.db = db

    def insert(self, now: float, **values):
        return self.db.interact(insert_user_txn, now, **values)

    def update(self, user_id: int, **values):
        return self.db.interact(update_user_txn, user_id, **values)

    def get(self, user_id: int):
        return self.db.row(_by_id, id=user_id)

    def get_by_username(self, username: str):
        return self.db.row(_by_username, username=username)

    def id_by_username(self, username: str):
        return self.db.scalar(_id_by_username, username=username)

    def get_many(self, ids) -> "Deferred[list[dict]]":
        ids = sorted(set(int(i) for i in ids))
        if not ids:
            from twisted.internet import defer

            return defer.succeed([])
        return self.db.rows(select(users).where(users.c.id.in_(ids)).order_by(users.c.id), dynamic=True)

    def search_username(self, query: str, limit: int = 100):
        return self.db.rows(_search_username, pattern=like_contains(query), limit=limit)

    def search_name(self, query: str, limit: int = 100):
        return self.db.rows(_search_name, pattern=like_contains(query), limit=limit)
