"""Campus profiles: confirmation scans waiting for staff, and the profile fields on `users`."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, select, update
from twisted.internet.defer import Deferred

from meetsrv.store.db import Database, Row, Txn
from meetsrv.store.tables import confirmations, users

_old_scans = select(confirmations.c.path).where(confirmations.c.user_id == bindparam("user_id"))
_drop_scans = delete(confirmations).where(confirmations.c.user_id == bindparam("user_id"))
_insert_scan = insert(confirmations).values(
    user_id=bindparam("user_id"), path=bindparam("path"), created=bindparam("now")
)
_unconfirm = update(users).where(users.c.id == bindparam("user_id")).values(confirmed=False)
_pending = select(confirmations).where(confirmations.c.user_id == bindparam("user_id")).order_by(confirmations.c.id)
_review = (
    update(confirmations)
    .where((confirmations.c.user_id == bindparam("user_id")) & confirmations.c.reviewed.is_(None))
    .values(reviewed=bindparam("now"))
)
_set_confirmed = update(users).where(users.c.id == bindparam("user_id")).values(confirmed=bindparam("confirmed"))
_waiting = (
    select(confirmations.c.user_id, confirmations.c.path, confirmations.c.created,
           users.c.name, users.c.username)
    .select_from(confirmations.join(users, users.c.id == confirmations.c.user_id))
    .where(confirmations.c.reviewed.is_(None))
    .order_by(confirmations.c.created, confirmations.c.id)
    .limit(bindparam("limit"))
)
_all_users = select(users.c.id, users.c.name).order_by(users.c.id).limit(bindparam("limit"))


def _replace_scan_txn(t: Txn, user_id: int, path: str, now: float) -> list[str]:
    old = [r["path"] for r in t.rows(_old_scans, user_id=user_id)]
    t.execute(_drop_scans, user_id=user_id)
    t.execute(_insert_scan, user_id=user_id, path=path, now=now)
    t.execute(_unconfirm, user_id=user_id)
    return old


def _review_txn(t: Txn, user_id: int, approved: bool, now: float) -> bool:
    if t.execute(_review, user_id=user_id, now=now) == 0:
        return False
    t.execute(_set_confirmed, user_id=user_id, confirmed=approved)
    return True


class ProfileStore:
    def __init__(self, db: Database):
        self.db = db

    def replace_confirmation(self, user_id: int, path: str, now: float) -> Deferred[list[str]]:
        """The new scan replaces the old ones and the user is unconfirmed until staff review it.
        Returns the paths of the replaced scans."""
        return self.db.interact("people.profiles.replace_confirmation", _replace_scan_txn, user_id, path, now)

    def review_confirmation(self, user_id: int, approved: bool, now: float) -> Deferred[bool]:
        """Staff decision on the user's waiting scan; False when none waits."""
        return self.db.interact("people.profiles.review_confirmation", _review_txn, user_id, approved, now)

    def confirmations(self, user_id: int) -> Deferred[list[Row]]:
        return self.db.rows("people.profiles.confirmations", _pending, user_id=user_id)

    def waiting_confirmations(self, limit: int) -> Deferred[list[Row]]:
        """Scans no staff member has reviewed yet, oldest first, with the user's name."""
        return self.db.rows("people.profiles.waiting_confirmations", _waiting, limit=limit)

    def all_names(self, limit: int) -> Deferred[list[Row]]:
        return self.db.rows("people.profiles.all_names", _all_users, limit=limit)
