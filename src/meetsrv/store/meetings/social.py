"""The social door's meetings (meetings.kind = "social")."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, insert, select, update
from twisted.internet import defer

from meetsrv.store.db import Database, NowOrLater, Row, Txn
from meetsrv.store.meetings.records import MEETING_COLUMNS, Meeting, meeting_record
from meetsrv.store.tables import join_requests, meetings, photos, users

KIND = "social"

# (lat_min, lat_max, lng_min, lng_max); lng bounds None when every longitude is in
Box = tuple[float, float, float | None, float | None]

_lock_user = select(users.c.id).where(users.c.id == bindparam("user_id")).with_for_update()
_get = select(meetings).where((meetings.c.id == bindparam("id")) & (meetings.c.kind == KIND))
_get_meeting = select(*MEETING_COLUMNS).where((meetings.c.id == bindparam("id")) & (meetings.c.kind == KIND))
_created_since = select(func.count()).select_from(meetings).where(
    (meetings.c.creator_id == bindparam("user_id"))
    & (meetings.c.kind == KIND)
    & (meetings.c.created >= bindparam("since"))
)
_approved = select(join_requests.c.meeting_id).where(
    (join_requests.c.user_id == bindparam("user_id")) & (join_requests.c.approved == True)  # noqa: E712
)
# the detail: the owner, the owner's photos (the avatar first, then by id), whether the viewer's
# request to join was approved
_owner = select(users).where(users.c.id == bindparam("id"))
_owner_photos = (
    select(photos).where(photos.c.user_id == bindparam("user_id")).order_by(photos.c.is_avatar.desc(), photos.c.id)
)
_approved_one = select(join_requests.c.id).where(
    (join_requests.c.user_id == bindparam("user_id")) & (join_requests.c.meeting_id == bindparam("meeting_id"))
    & (join_requests.c.approved == True)  # noqa: E712
)


def detail_txn(t: Txn, meeting_id: int, viewer: int) -> dict[str, Any] | None:
    """The meeting as `MeetingService.describe` gives it to `viewer` ({"meeting", "owner",
    "photos", "color"}), or None: one transaction, statements compiled once."""
    m = t.row(_get, id=meeting_id)
    if m is None:
        return None
    owner_id = m["creator_id"]
    owner = t.row(_owner, id=owner_id) if owner_id is not None else None
    owner_photos = t.rows(_owner_photos, user_id=owner_id) if owner is not None else []
    if owner_id == viewer:
        color = "mine"
    elif t.row(_approved_one, user_id=viewer, meeting_id=meeting_id) is not None:
        color = "approved"
    else:
        color = "disapproved"
    return {"meeting": m, "owner": owner, "photos": owner_photos, "color": color}


@functools.cache
def _search_statement(boxed: bool, lng_mode: str | None, by_category: bool, by_gender: bool) -> Select[Any]:
    """The search's statement for one shape (values are bound parameters), compiled once."""
    where: list[ColumnElement[bool]] = [meetings.c.kind == KIND]
    stmt = select(meetings)
    if boxed:
        where.append(meetings.c.lat.between(bindparam("lat_min"), bindparam("lat_max")))
        if lng_mode == "within":
            where.append(meetings.c.lng.between(bindparam("lng_min"), bindparam("lng_max")))
        elif lng_mode == "across":
            where.append((meetings.c.lng >= bindparam("lng_min")) | (meetings.c.lng <= bindparam("lng_max")))
    if by_category:
        where.append(meetings.c.category == bindparam("category"))
    if by_gender:
        stmt = stmt.join(users, users.c.id == meetings.c.creator_id)
        where.append(users.c.gender == bindparam("gender"))
    return stmt.where(and_(*where)).order_by(meetings.c.id)


def create_txn(t: Txn, user_id: int, values: dict[str, Any], since: float, limit: int, now: float) -> int | None:
    """Insert a meeting unless the user already made `limit` since `since`: its id, or None."""
    t.rows(_lock_user, user_id=user_id)  # one creation at a time per user (PostgreSQL)
    if t.scalar(_created_since, user_id=user_id, since=since) >= limit:
        return None
    stmt = (
        insert(meetings)
        .values(kind=KIND, creator_id=user_id, created=now, modified=now, **values)
        .returning(meetings.c.id)
    )
    meeting_id: int = t.scalar(stmt, dynamic=True)
    return meeting_id


class SocialMeetingStore:
    def __init__(self, db: Database):
        self.db = db

    def create(self, user_id: int, values: dict[str, Any], since: float, limit: int,
               now: float) -> defer.Deferred[int | None]:
        return self.db.interact("meetings.social.create", create_txn, user_id, values, since, limit, now)

    def get(self, meeting_id: int) -> defer.Deferred[Meeting | None]:
        return self.db.row("meetings.social.get", _get_meeting, id=meeting_id).addCallback(meeting_record)

    def detail(self, meeting_id: int, viewer: int) -> NowOrLater[dict[str, Any] | None]:
        """detail_txn's value: from the read cache when kept (at once, shared: not to be
        changed), else a Deferred."""
        return self.db.cached("meetings.social.detail", (meeting_id, viewer), detail_txn, meeting_id, viewer)

    def update(self, meeting_id: int, values: dict[str, Any], now: float) -> defer.Deferred[int]:
        stmt = (
            update(meetings)
            .where((meetings.c.id == meeting_id) & (meetings.c.kind == KIND))
            .values(modified=now, **values)
        )
        return self.db.execute("meetings.social.update", stmt, dynamic=True)

    def search(self, box: Box | None = None, category: int | None = None,
               owner_gender: int | None = None) -> defer.Deferred[list[Row]]:
        """Social meetings in id order; `box` = (lat_min, lat_max, lng_min, lng_max) with
        lng bounds None when the box spans every longitude. A box is read from the index
        ix_meetings_kind_lat (its latitudes, then its longitudes in the index), then sorted."""
        params: dict[str, Any] = {}
        lng_mode = None
        if box is not None:
            lat_min, lat_max, lng_min, lng_max = box
            params.update(lat_min=lat_min, lat_max=lat_max)
            if lng_min is not None and lng_max is not None:
                lng_mode = "within" if lng_min <= lng_max else "across"  # across the antimeridian
                params.update(lng_min=lng_min, lng_max=lng_max)
        if category is not None:
            params["category"] = category
        if owner_gender is not None:
            params["gender"] = owner_gender
        stmt = _search_statement(box is not None, lng_mode, category is not None, owner_gender is not None)
        return self.db.rows("meetings.social.search", stmt, **params)

    def approved_for(self, user_id: int) -> defer.Deferred[set[int]]:
        """Ids of the meetings user_id has an approved join request for."""
        return self.db.rows("meetings.social.approved_for", _approved, user_id=user_id).addCallback(lambda rows: {r["meeting_id"] for r in rows})

    def get_many(self, ids: Iterable[int]) -> defer.Deferred[list[Row]]:
        wanted = sorted(set(int(i) for i in ids))
        if not wanted:
            return defer.succeed([])
        stmt = select(meetings).where(meetings.c.id.in_(wanted) & (meetings.c.kind == KIND)).order_by(meetings.c.id)
        return self.db.rows("meetings.social.get_many", stmt, dynamic=True)
