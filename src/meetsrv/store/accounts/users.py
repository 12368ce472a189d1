"""Users: the people behind every door.

The single-user reads (by id, by username; by email and by phone in their stores) return a
typed, immutable `User`; reads of other column sets (search hits, get_many) stay rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, column, insert, select, table, update
from twisted.internet import defer
from twisted.internet.defer import Deferred

from meetsrv.store.db import USERS_SEARCH_FTS, Database, NowOrLater, Row, Txn
from meetsrv.store.tables import users


@dataclass(frozen=True, slots=True)
class User:
    """A users row as the core reads it (the folded search copies left out). Immutable, so the
    read cache may keep and share it."""
    id: int
    username: str | None
    name: str
    email: str | None
    phone: str | None
    password_hash: str | None
    about: str
    birth_date: str | None
    gender: int | None
    avatar: str | None
    karma: int
    confirmed: bool
    hidden_phone: bool
    is_staff: bool
    active: bool
    door: str | None
    sessions_ended: float | None
    created: float


USER_FIELDS = tuple(f.name for f in fields(User))
USER_COLUMNS = [users.c[name] for name in USER_FIELDS]


def user_of(row: Row) -> User:
    """The User of a row holding at least the users columns (a select(users) row)."""
    return User(**{name: row[name] for name in USER_FIELDS})


def user_record(row: Row | None) -> User | None:
    """The User for a row of USER_COLUMNS, or None."""
    return None if row is None else User(**row)


_by_id = select(*USER_COLUMNS).where(users.c.id == bindparam("id"))


def _get_txn(t: Txn, user_id: int) -> User | None:
    return user_record(t.row(_by_id, id=user_id))


_by_username = select(*USER_COLUMNS).where(users.c.username == bindparam("username"))
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

# The SQLite FTS5 trigram table over the folded columns (migration 0001; rowid = users.id). Its
# LIKE '%term%' is answered from the trigram index; the LIKE ... ESCAPE on users is the same test
# as the plain scan, so both paths return the same rows. Ordered by the FTS rowid (= users.id),
# which FTS5 delivers in order, so LIMIT stops early for common terms.
_fts = table(USERS_SEARCH_FTS, column("rowid"), column("username_folded"), column("name_folded"))


def _fts_search(result_column: ColumnElement[Any], folded_column: ColumnElement[str],
                fts_column: ColumnElement[Any]) -> Select[Any]:
    return (
        select(users.c.id, result_column)
        .select_from(_fts.join(users, users.c.id == _fts.c.rowid))
        .where(fts_column.like(bindparam("fts_pattern")))
        .where(folded_column.like(bindparam("pattern"), escape="\\"))
        .order_by(_fts.c.rowid)
        .limit(bindparam("limit"))
    )


_fts_search_username = _fts_search(users.c.username, users.c.username_folded, _fts.c.username_folded)
_fts_search_name = _fts_search(users.c.name, users.c.name_folded, _fts.c.name_folded)


def fts_term(text: str) -> str | None:
    """The folded term if the trigram index can answer it (3+ characters, nothing LIKE would
    read as a wildcard or escape: FTS5 takes only a LIKE without ESCAPE); else None."""
    folded = fold(text)
    if len(folded) < 3 or any(ch in folded for ch in "%_\\"):
        return None
    return folded


def fold(text: str) -> str:
    """The case-insensitive form used for search (Cyrillic included)."""
    return text.casefold()


def like_contains(text: str) -> str:
    escaped = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def insert_user_txn(t: Txn, /, now: float, **values: Any) -> int:
    """Insert a user; fills the folded search columns. Returns the id."""
    if values.get("username") is not None:
        values["username_folded"] = fold(values["username"])
    values["name_folded"] = fold(values.get("name") or "")
    values.setdefault("name", "")
    stmt = insert(users).values(created=now, **values).returning(users.c.id)
    user_id: int = t.scalar(stmt, dynamic=True)
    return user_id


def update_user_txn(t: Txn, /, user_id: int, **values: Any) -> int:
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

    def insert(self, now: float, **values: Any) -> Deferred[int]:
        return self.db.interact("accounts.users.insert", insert_user_txn, now, **values)

    def update(self, user_id: int, **values: Any) -> Deferred[int]:
        return self.db.interact("accounts.users.update", update_user_txn, user_id, **values)

    def get(self, user_id: int) -> Deferred[User | None]:
        return self.db.row("accounts.users.get", _by_id, id=user_id).addCallback(user_record)

    def get_cached(self, user_id: int) -> NowOrLater[User | None]:
        """The user, or None: from the read cache when kept (the value at once, shared: it is
        immutable), else a Deferred. For answers that only show the user."""
        return self.db.cached("accounts.users.get", user_id, _get_txn, user_id)

    def get_by_username(self, username: str) -> Deferred[User | None]:
        return self.db.row("accounts.users.get_by_username", _by_username, username=username).addCallback(user_record)

    def id_by_username(self, username: str) -> Deferred[int | None]:
        return self.db.scalar("accounts.users.id_by_username", _id_by_username, username=username)

    def get_many(self, ids: Iterable[int]) -> Deferred[list[Row]]:
        wanted = sorted(set(int(i) for i in ids))
        if not wanted:
            return defer.succeed([])
        return self.db.rows("accounts.users.get_many", select(users).where(users.c.id.in_(wanted)).order_by(users.c.id), dynamic=True)

    def _search(self, scan: Select[Any], fts: Select[Any], query: str, limit: int) -> Deferred[list[Row]]:
        """Users whose folded column contains the folded query, by id, up to limit. Through the
        SQLite trigram table when it exists and can answer; else LIKE (on PostgreSQL the
        pg_trgm GIN indexes serve that LIKE)."""
        term = fts_term(query)
        if term is not None and USERS_SEARCH_FTS in self.db.search_indexes:
            return self.db.rows("accounts.users._search", fts, fts_pattern=f"%{term}%", pattern=like_contains(query), limit=limit)
        return self.db.rows("accounts.users._search", scan, pattern=like_contains(query), limit=limit)

    def search_username(self, query: str, limit: int = 100) -> Deferred[list[Row]]:
        return self._search(_search_username, _fts_search_username, query, limit)

    def search_name(self, query: str, limit: int = 100) -> Deferred[list[Row]]:
        return self._search(_search_name, _fts_search_name, query, limit)
