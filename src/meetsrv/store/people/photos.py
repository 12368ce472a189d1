"""User photos (the social door's gallery); the avatar is mirrored into users.avatar."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, delete, insert, select, update
from twisted.internet import defer

from meetsrv.store.db import Database, Row, Txn
from meetsrv.store.tables import photos, users

_lock_user = select(users.c.id).where(users.c.id == bindparam("user_id")).with_for_update()
_of_user = (
    select(photos)
    .where(photos.c.user_id == bindparam("user_id"))
    .order_by(photos.c.is_avatar.desc(), photos.c.id)
)
_get = select(photos).where(photos.c.id == bindparam("id"))
_has_avatar = select(photos.c.id).where(
    (photos.c.user_id == bindparam("user_id")) & (photos.c.is_avatar == True)  # noqa: E712
).limit(1)
_insert = (
    insert(photos)
    .values(user_id=bindparam("user_id"), path=bindparam("path"), is_avatar=bindparam("is_avatar"),
            created=bindparam("created"))
    .returning(photos.c.id)
)
_unset_avatars = (
    update(photos).where(photos.c.user_id == bindparam("user_id")).values(is_avatar=False)
)
_set_avatar = update(photos).where(photos.c.id == bindparam("id")).values(is_avatar=True)
_delete = delete(photos).where(photos.c.id == bindparam("id"))
_set_user_avatar = update(users).where(users.c.id == bindparam("user_id")).values(avatar=bindparam("avatar"))


def _sync_user_avatar(t: Txn, user_id: int) -> None:
    """users.avatar = the avatar photo, else the first photo, else NULL (upstream's rule)."""
    first = t.row(_of_user, user_id=user_id)
    t.execute(_set_user_avatar, user_id=user_id, avatar=first["path"] if first else None)


def add_txn(t: Txn, user_id: int, path: str, now: float) -> Row:
    """Add a photo; the user's first photo (no avatar yet) becomes the avatar."""
    t.rows(_lock_user, user_id=user_id)
    is_avatar = t.scalar(_has_avatar, user_id=user_id) is None
    photo_id = t.scalar(_insert, user_id=user_id, path=path, is_avatar=is_avatar, created=now)
    _sync_user_avatar(t, user_id)
    return {"id": photo_id, "user_id": user_id, "path": path, "is_avatar": is_avatar}


def set_avatar_txn(t: Txn, user_id: int, photo_id: int) -> bool:
    """Make photo_id the user's avatar; False if it is not the user's photo."""
    t.rows(_lock_user, user_id=user_id)
    photo = t.row(_get, id=photo_id)
    if photo is None or photo["user_id"] != user_id:
        return False
    t.execute(_unset_avatars, user_id=user_id)
    t.execute(_set_avatar, id=photo_id)
    _sync_user_avatar(t, user_id)
    return True


def delete_txn(t: Txn, user_id: int, photo_id: int) -> str | None:
    """Delete the user's photo; its path, or None if it is not the user's photo."""
    t.rows(_lock_user, user_id=user_id)
    photo = t.row(_get, id=photo_id)
    if photo is None or photo["user_id"] != user_id:
        return None
    t.execute(_delete, id=photo_id)
    _sync_user_avatar(t, user_id)
    path: str = photo["path"]
    return path


class PhotoStore:
    def __init__(self, db: Database):
        self.db = db

    def add(self, user_id: int, path: str, now: float) -> defer.Deferred[Row]:
        return self.db.interact("people.photos.add", add_txn, user_id, path, now)

    def set_avatar(self, user_id: int, photo_id: int) -> defer.Deferred[bool]:
        return self.db.interact("people.photos.set_avatar", set_avatar_txn, user_id, photo_id)

    def delete(self, user_id: int, photo_id: int) -> defer.Deferred[str | None]:
        return self.db.interact("people.photos.delete", delete_txn, user_id, photo_id)

    def get(self, photo_id: int) -> defer.Deferred[Row | None]:
        return self.db.row("people.photos.get", _get, id=photo_id)

    def of_user(self, user_id: int) -> defer.Deferred[list[Row]]:
        return self.db.rows("people.photos.of_user", _of_user, user_id=user_id)

    def of_users(self, user_ids: Iterable[int]) -> defer.Deferred[dict[int, list[Row]]]:
        """{user_id: [photos, avatar first]} for several users in one query."""
        ids = sorted(set(int(i) for i in user_ids))
        if not ids:
            return defer.succeed({})
        stmt = (
            select(photos)
            .where(photos.c.user_id.in_(ids))
            .order_by(photos.c.user_id, photos.c.is_avatar.desc(), photos.c.id)
        )

        def group(rows: list[Row]) -> dict[int, list[Row]]:
            out: dict[int, list[Row]] = {i: [] for i in ids}
            for r in rows:
                out[r["user_id"]].append(r)
            return out

        return self.db.rows("people.photos.of_users", stmt, dynamic=True).addCallback(group)
