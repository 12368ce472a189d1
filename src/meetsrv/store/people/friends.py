"""Friend requests and friendships (campus): a row (from_user -> to_user), accepted or not."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from twisted.internet.defer import Deferred

from meetsrv.store.db import Database, Row, Txn
from meetsrv.store.tables import friendships, users

_pair = select(friendships.c.id, friendships.c.accepted).where(
    (friendships.c.from_user == bindparam("a")) & (friendships.c.to_user == bindparam("b"))
)
_insert = insert(friendships).values(from_user=bindparam("a"), to_user=bindparam("b"), created=bindparam("now"))
_accept = update(friendships).where(friendships.c.id == bindparam("id")).values(accepted=True)
_remove_pair = delete(friendships).where(
    or_(
        and_(friendships.c.from_user == bindparam("a"), friendships.c.to_user == bindparam("b")),
        and_(friendships.c.from_user == bindparam("b"), friendships.c.to_user == bindparam("a")),
    )
)
# my friends (either direction, accepted) and the requests I sent that wait for an answer
_sent = (
    select(users.c.id, users.c.name, friendships.c.accepted)
    .join(friendships, friendships.c.to_user == users.c.id)
    .where(friendships.c.from_user == bindparam("user_id"))
)
_received_accepted = (
    select(users.c.id, users.c.name, friendships.c.accepted)
    .join(friendships, friendships.c.from_user == users.c.id)
    .where((friendships.c.to_user == bindparam("user_id")) & (friendships.c.accepted == True))  # noqa: E712
)
_incoming = (
    select(friendships.c.from_user)
    .where((friendships.c.to_user == bindparam("user_id")) & (friendships.c.accepted == False))  # noqa: E712
    .order_by(friendships.c.id)
)

SENT, ACCEPTED, ALREADY_SENT, ALREADY_FRIENDS = "sent", "accepted", "already_sent", "already_friends"


def _lock_pair(t: Txn, a: int, b: int) -> None:
    """Serialize work on one pair of users (two crossing requests must not both insert)."""
    if t.db.name == "postgresql":
        t.cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", (min(a, b), max(a, b)))


def _send_txn(t: Txn, a: int, b: int, now: float) -> str:
    _lock_pair(t, a, b)
    mine = t.row(_pair, a=a, b=b)
    theirs = t.row(_pair, a=b, b=a)
    if (mine and mine["accepted"]) or (theirs and theirs["accepted"]):
        return ALREADY_FRIENDS
    if theirs is not None:
        # a request sent back is an acceptance
        t.execute(_accept, id=theirs["id"])
        if mine is not None:
            t.execute(delete(friendships).where(friendships.c.id == mine["id"]), dynamic=True)
        return ACCEPTED
    if mine is not None:
        return ALREADY_SENT
    t.execute(_insert, a=a, b=b, now=now)
    return SENT


def _remove_txn(t: Txn, a: int, b: int) -> bool:
    _lock_pair(t, a, b)
    return t.execute(_remove_pair, a=a, b=b) > 0


def _friends_txn(t: Txn, user_id: int) -> list[Row]:
    rows = t.rows(_sent, user_id=user_id) + t.rows(_received_accepted, user_id=user_id)
    return sorted(rows, key=lambda r: r["id"])


class FriendStore:
    def __init__(self, db: Database):
        self.db = db

    def send(self, from_user: int, to_user: int, now: float) -> Deferred[str]:
        """One of SENT, ACCEPTED (the other side had asked first), ALREADY_SENT, ALREADY_FRIENDS."""
        return self.db.interact("people.friends.send", _send_txn, from_user, to_user, now)

    def remove(self, user_id: int, other: int) -> Deferred[bool]:
        """Drop the friendship or request between the two, either direction; True if one existed."""
        return self.db.interact("people.friends.remove", _remove_txn, user_id, other)

    def friends(self, user_id: int) -> Deferred[list[Row]]:
        """[{id, name, accepted}]: friends, and requests the user sent that wait (accepted False)."""
        return self.db.interact("people.friends.friends", _friends_txn, user_id)

    def incoming(self, user_id: int) -> Deferred[list[Row]]:
        return self.db.rows("people.friends.incoming", _incoming, user_id=user_id).addCallback(lambda rows: [r["from_user"] for r in rows])
