"""Idempotency keys: the first answer of a creating request, kept per (user, key)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from twisted.internet.defer import Deferred

from meetsrv.store.db import Conflict, Database, Txn
from meetsrv.store.tables import idempotency_keys as keys

_get = select(keys).where((keys.c.user_id == bindparam("user_id")) & (keys.c.key == bindparam("key")))
_insert = insert(keys).values(
    user_id=bindparam("user_id"), key=bindparam("key"), request=bindparam("request"),
    fingerprint=bindparam("fingerprint"), created=bindparam("created"),
).returning(keys.c.id)
_delete = delete(keys).where(keys.c.id == bindparam("id"))
_delete_unfinished = delete(keys).where((keys.c.id == bindparam("id")) & keys.c.status.is_(None))
# an unfinished claim older than `stale` is taken over (its process died answering it)
_take_over = update(keys).where(
    (keys.c.id == bindparam("id")) & keys.c.status.is_(None) & (keys.c.created < bindparam("stale"))
).values(created=bindparam("now"))
_finish = update(keys).where(keys.c.id == bindparam("id")).values(
    status=bindparam("status"), headers=bindparam("headers"), body=bindparam("body"))
_expire = delete(keys).where(keys.c.created < bindparam("before"))


def claim_txn(t: Txn, user_id: int, key: str, request: str, fingerprint: str, now: float,
              expired: float, stale: float) -> dict[str, Any]:
    """{"state": "new" | "done" | "mismatch" | "busy", "id", "status", "headers", "body"}."""
    row = t.row(_get, user_id=user_id, key=key)
    if row is not None and row["created"] < expired:
        t.execute(_delete, id=row["id"])
        row = None
    if row is None:
        return {"state": "new", "id": t.scalar(_insert, user_id=user_id, key=key, request=request,
                                               fingerprint=fingerprint, created=now)}
    if row["fingerprint"] != fingerprint:
        return {"state": "mismatch", "id": row["id"]}
    if row["status"] is None:
        if t.execute(_take_over, id=row["id"], stale=stale, now=now) == 1:
            return {"state": "new", "id": row["id"]}
        return {"state": "busy", "id": row["id"]}
    body = row["body"]
    return {"state": "done", "id": row["id"], "status": row["status"],
            "headers": json.loads(row["headers"] or "[]"),
            "body": bytes(body) if body is not None else b""}


class IdempotencyStore:
    def __init__(self, db: Database):
        self.db = db

    async def claim(self, user_id: int, key: str, request: str, fingerprint: str, now: float, expired: float,
                    stale: float) -> dict[str, Any]:
        args = (user_id, key, request, fingerprint, now, expired, stale)
        try:
            return await self.db.interact("requests.idempotency.claim", claim_txn, *args)
        except Conflict:
            # the same key sent twice at once: the other request inserted first
            return await self.db.interact("requests.idempotency.claim", claim_txn, *args)

    def finish(self, row_id: int, status: int, headers: list[list[str]], body: bytes) -> Deferred[int]:
        return self.db.execute("requests.idempotency.finish", _finish, id=row_id, status=status,
                               headers=json.dumps(headers), body=body)

    def release(self, row_id: int) -> Deferred[int]:
        """Forget an unfinished claim (the request failed: nothing was created)."""
        return self.db.execute("requests.idempotency.release", _delete_unfinished, id=row_id)

    def expire(self, before: float) -> Deferred[int]:
        return self.db.execute("requests.idempotency.expire", _expire, before=before)
