"""Credentials: opaque tokens, sessions and refresh tokens, stored as hashes only."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, insert, select, update
from twisted.internet.defer import Deferred

from meetsrv.store.db import Database, Row, Txn
from meetsrv.store.tables import credentials, users

_lookup = select(credentials.c.user_id, credentials.c.kind, credentials.c.expires).where(
    credentials.c.token_hash == bindparam("token_hash")
)
_insert = insert(credentials).values(
    token_hash=bindparam("token_hash"),
    user_id=bindparam("user_id"),
    kind=bindparam("kind"),
    created=bindparam("created"),
    expires=bindparam("expires"),
)
_delete_user_kind = delete(credentials).where(
    (credentials.c.user_id == bindparam("user_id")) & (credentials.c.kind == bindparam("kind"))
)
_delete_user = delete(credentials).where(credentials.c.user_id == bindparam("user_id"))
_delete_token = delete(credentials).where(credentials.c.token_hash == bindparam("token_hash"))
_hashes_user = select(credentials.c.token_hash).where(credentials.c.user_id == bindparam("user_id"))
_hashes_user_kind = select(credentials.c.token_hash).where(
    (credentials.c.user_id == bindparam("user_id")) & (credentials.c.kind == bindparam("kind"))
)
# FOR SHARE on PostgreSQL: a deactivation (UPDATE users) waits for this transaction to commit, and
# this one waits for a deactivation in progress, so a credential is never issued past one
_user_active = select(users.c.active).where(users.c.id == bindparam("user_id")).with_for_update(read=True)
_set_sessions_ended = update(users).where(users.c.id == bindparam("user_id")).values(
    sessions_ended=bindparam("ended"))
_recent_ends = select(users.c.id, users.c.sessions_ended).where(users.c.sessions_ended > bindparam("since"))
_kinds_of_user = (
    select(credentials.c.kind, func.count().label("count"), func.max(credentials.c.created).label("newest"),
           func.max(credentials.c.expires).label("expires"))
    .where(credentials.c.user_id == bindparam("user_id"))
    .group_by(credentials.c.kind)
    .order_by(credentials.c.kind)
)


def insert_credential_txn(t: Txn, token_hash: str, user_id: int, kind: str, created: float,
                          expires: float | None = None, single: bool = False) -> list[str] | None:
    """Insert; with `single`, first remove the user's other credentials of that kind.
    Returns the hashes removed (so caches can drop them), or None, inserting nothing, when the
    user is deactivated or gone."""
    if not t.scalar(_user_active, user_id=user_id):
        return None
    removed: list[str] = []
    if single:
        removed = [r["token_hash"] for r in t.rows(_hashes_user_kind, user_id=user_id, kind=kind)]
        t.execute(_delete_user_kind, user_id=user_id, kind=kind)
    t.execute(_insert, token_hash=token_hash, user_id=user_id, kind=kind, created=created, expires=expires)
    return removed


def delete_user_kind_txn(t: Txn, user_id: int, kind: str) -> list[str]:
    removed = [r["token_hash"] for r in t.rows(_hashes_user_kind, user_id=user_id, kind=kind)]
    t.execute(_delete_user_kind, user_id=user_id, kind=kind)
    return removed


def delete_user_txn(t: Txn, user_id: int) -> list[str]:
    removed = [r["token_hash"] for r in t.rows(_hashes_user, user_id=user_id)]
    t.execute(_delete_user, user_id=user_id)
    return removed


def end_all_txn(t: Txn, user_id: int, now: float) -> list[str]:
    """Remove every credential of the user and note when (stateless tokens issued until then are
    refused); the hashes removed."""
    removed = delete_user_txn(t, user_id)
    t.execute(_set_sessions_ended, user_id=user_id, ended=now)
    return removed


def consume_txn(t: Txn, token_hash: str) -> Row | None:
    """Delete a credential and return what it was: the one caller that gets it back wins."""
    row = t.row(_lookup, token_hash=token_hash)
    if row is None:
        return None
    if t.execute(_delete_token, token_hash=token_hash) != 1:
        return None
    return row


class CredentialStore:
    def __init__(self, db: Database):
        self.db = db

    def lookup(self, token_hash: str) -> Deferred[Row | None]:
        return self.db.row("accounts.credentials.lookup", _lookup, token_hash=token_hash)

    def lookup_many(self, hashes: list[str], batch: int = 500) -> Deferred[list[Row]]:
        """(token_hash, expires) of the hashes that are stored."""
        def run(t: Txn) -> list[Row]:
            found: list[Row] = []
            for i in range(0, len(hashes), batch):
                stmt = select(credentials.c.token_hash, credentials.c.expires).where(
                    credentials.c.token_hash.in_(hashes[i:i + batch]))
                found.extend(t.rows(stmt, dynamic=True))
            return found

        return self.db.interact("accounts.credentials.lookup_many", run)

    def insert(self, token_hash: str, user_id: int, kind: str, created: float, expires: float | None = None,
               single: bool = False) -> Deferred[list[str] | None]:
        return self.db.interact("accounts.credentials.insert", insert_credential_txn, token_hash, user_id, kind, created, expires, single)

    def delete_user_kind(self, user_id: int, kind: str) -> Deferred[list[str]]:
        return self.db.interact("accounts.credentials.delete_user_kind", delete_user_kind_txn, user_id, kind)

    def delete_user(self, user_id: int) -> Deferred[list[str]]:
        """Remove every credential of the user; the hashes removed."""
        return self.db.interact("accounts.credentials.delete_user", delete_user_txn, user_id)

    def end_all(self, user_id: int, now: float) -> Deferred[list[str]]:
        """Remove every credential of the user, noting the time; the hashes removed."""
        return self.db.interact("accounts.credentials.end_all", end_all_txn, user_id, now)

    def recent_ends(self, since: float) -> Deferred[list[Row]]:
        """(user id, when) of every user whose sessions were all ended after `since`."""
        return self.db.rows("accounts.credentials.recent_ends", _recent_ends, since=since)

    def kinds_of(self, user_id: int) -> Deferred[list[Row]]:
        """The user's credentials counted by kind (kind, count, newest, expires): no tokens."""
        return self.db.rows("accounts.credentials.kinds_of", _kinds_of_user, user_id=user_id)

    def delete_token(self, token_hash: str) -> Deferred[int]:
        return self.db.execute("accounts.credentials.delete_token", _delete_token, token_hash=token_hash)

    def consume(self, token_hash: str) -> Deferred[Row | None]:
        return self.db.interact("accounts.credentials.consume", consume_txn, token_hash)
