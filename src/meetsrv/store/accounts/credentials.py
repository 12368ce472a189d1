"""Credentials: opaque tokens, sessions and refresh tokens, stored as hashes only."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, select

from meetsrv.store.db import Database, Txn
from meetsrv.store.tables import credentials

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


def insert_credential_txn(t: Txn, token_hash, user_id, kind, created, expires=None, single=False) -> list[str]:
    """Insert; with `single`, first remove the user's other credentials of that kind.
    Returns the hashes removed (so caches can drop them)."""
    removed = []
    if single:
        removed = [r["token_hash"] for r in t.rows(_hashes_user_kind, user_id=user_id, kind=kind)]
        t.execute(_delete_user_kind, user_id=user_id, kind=kind)
    t.execute(_insert, token_hash=token_hash, user_id=user_id, kind=kind, created=created, expires=expires)
    return removed


def delete_user_kind_txn(t: Txn, user_id, kind) -> list[str]:
    removed = [r["token_hash"] for r in t.rows(_hashes_user_kind, user_id=user_id, kind=kind)]
    t.execute(_delete_user_kind, user_id=user_id, kind=kind)
    return removed


def delete_user_txn(t: Txn, user_id) -> list[str]:
    removed = [r["token_hash"] for r in t.rows(_hashes_user, user_id=user_id)]
    t.execute(_delete_user, user_id=user_id)
    return removed


def consume_txn(t: Txn, token_hash) -> dict | None:
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

    def lookup(self, token_hash: str):
        return self.db.row("accounts.credentials.lookup", _lookup, token_hash=token_hash)

    def insert(self, token_hash, user_id, kind, created, expires=None, single=False):
        return self.db.interact("accounts.credentials.insert", insert_credential_txn, token_hash, user_id, kind, created, expires, single)

    def delete_user_kind(self, user_id, kind):
        return self.db.interact("accounts.credentials.delete_user_kind", delete_user_kind_txn, user_id, kind)

    def delete_user(self, user_id):
        """Remove every credential of the user; the hashes removed."""
        return self.db.interact("accounts.credentials.delete_user", delete_user_txn, user_id)

    def delete_token(self, token_hash):
        return self.db.execute("accounts.credentials.delete_token", _delete_token, token_hash=token_hash)

    def consume(self, token_hash):
        return self.db.interact("accounts.credentials.consume", consume_txn, token_hash)
