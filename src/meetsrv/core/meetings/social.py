"""The social app's meetings: create (at most 3 a day per user), read, the owner's update, and
the search by distance (bounding box in SQL, exact haversine here) and owner filters."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from twisted.internet import defer

from meetsrv.core.clock import Clock
from meetsrv.core.errors import NotFound, NotPermitted, RateLimited
from meetsrv.core.people.photos import PhotoService
from meetsrv.store.accounts.users import UserStore
from meetsrv.store.db import NowOrLater, Row
from meetsrv.store.meetings.records import Meeting
from meetsrv.store.meetings.social import Box, SocialMeetingStore

MAX_MEETINGS = 3  # a day per user
MAX_RADIUS = 30.0  # km
MOSCOW = (55.751244, 37.618423)
# name -> value, in upstream's order
CATEGORIES = {"general": 0, "sport": 1, "bar": 2, "dance": 3}
TYPE_ONE_BY_ONE, TYPE_GROUP = 0, 1
EARTH_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_KM / 180


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lng: float, r_km: float) -> Box:
    """(lat_min, lat_max, lng_min, lng_max) holding every point within r_km; lng bounds are
    None when every longitude is in, and lng_min > lng_max when it crosses the antimeridian."""
    dlat = r_km / KM_PER_DEGREE * 1.01 + 1e-9
    lat_min, lat_max = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    if lat_min <= -90.0 or lat_max >= 90.0:
        return lat_min, lat_max, None, None
    widest = max(abs(lat_min), abs(lat_max))
    dlng = dlat / math.cos(math.radians(widest))
    if dlng >= 180.0:
        return lat_min, lat_max, None, None
    lng_min, lng_max = lng - dlng, lng + dlng
    if lng_min < -180.0:
        lng_min += 360.0
    if lng_max > 180.0:
        lng_max -= 360.0
    return lat_min, lat_max, lng_min, lng_max


def age_on(birth_date: str | None, today: date) -> int | None:
    try:
        born = date.fromisoformat(birth_date)  # type: ignore[arg-type]  # None: TypeError
    except (TypeError, ValueError):
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _found(item: dict[str, Any] | None) -> dict[str, Any]:
    if item is None:
        raise NotFound("meeting does not exist")
    return item


class MeetingService:
    def __init__(self, store: SocialMeetingStore, users: UserStore, photos: PhotoService, clock: Clock):
        self.store = store
        self.users = users
        self.photos = photos
        self.clock = clock

    def today(self) -> date:
        return datetime.fromtimestamp(self.clock.seconds(), UTC).date()

    async def create(self, user_id: int, values: dict[str, Any]) -> Meeting | None:
        """values: title, description, lat, lng, date, group_type, category."""
        now = self.clock.seconds()
        day_start = now - (now % 86400)  # UTC midnight
        meeting_id = await self.store.create(user_id, values, day_start, MAX_MEETINGS, now)
        if meeting_id is None:
            raise RateLimited("user's trying to create more than MAX_MEETINGS meetings")
        return await self.store.get(meeting_id)

    async def get(self, meeting_id: int) -> Meeting:
        row = await self.store.get(meeting_id)
        if row is None:
            raise NotFound("meeting does not exist")
        return row

    def detail(self, viewer: int, meeting_id: int) -> NowOrLater[dict[str, Any]]:
        """The meeting as `describe` shows it to viewer; NotFound. At once when the read cache
        has it, else a Deferred; shared, not to be changed."""
        found = self.store.detail(meeting_id, viewer)
        if isinstance(found, defer.Deferred):
            return found.addCallback(_found)
        return _found(found)

    async def check_owner(self, user_id: int, meeting_id: int) -> Meeting:
        row = await self.store.get(meeting_id)
        if row is None or row.creator_id != user_id:
            raise NotPermitted("only the owner changes a meeting")
        return row

    async def get_many(self, ids: Iterable[int]) -> list[Row]:
        return await self.store.get_many(ids)

    async def update(self, user_id: int, meeting_id: int, values: dict[str, Any]) -> Meeting | None:
        row = await self.store.get(meeting_id)
        if row is None or row.creator_id != user_id:
            raise NotPermitted("only the owner changes a meeting")
        if values:
            await self.store.update(meeting_id, values, self.clock.seconds())
        return await self.store.get(meeting_id)

    async def search(self, near: tuple[float, float, float] | None = None, category: int | None = None,
                     gender: int | None = None, age_from: int | None = None,
                     age_to: int | None = None) -> list[Row]:
        """near = (lat, lng, r_km) or None (then no filter at all, as upstream)."""
        if near is None:
            return await self.store.search()
        lat, lng, r = near
        r = min(r, MAX_RADIUS)
        if r < 0:
            return []
        rows = await self.store.search(bounding_box(lat, lng, r), category, gender)
        rows = [m for m in rows if m["lat"] is not None and m["lng"] is not None
                and haversine_km(lat, lng, m["lat"], m["lng"]) <= r]
        if age_from is not None or age_to is not None:
            owners = await self.users.get_many(m["creator_id"] for m in rows if m["creator_id"])
            today = self.today()
            ages = {u["id"]: age_on(u["birth_date"], today) for u in owners}
            lo = age_from if age_from is not None else 0
            hi = age_to if age_to is not None else 10**6

            def within(age: int | None) -> bool:
                return age is not None and lo <= age <= hi

            rows = [m for m in rows if within(ages.get(m["creator_id"]))]
        return rows

    async def describe(self, viewer: int, rows: list[Row]) -> list[dict[str, Any]]:
        """Each meeting with its owner, the owner's photos and the viewer's color status."""
        owner_ids = {m["creator_id"] for m in rows if m["creator_id"] is not None}
        owners = {u["id"]: u for u in await self.users.get_many(owner_ids)}
        photos = await self.photos.of_users(owner_ids)
        approved = (await self.store.approved_for(viewer)) if rows else set()
        out = []
        for m in rows:
            if m["creator_id"] == viewer:
                color = "mine"
            elif m["id"] in approved:
                color = "approved"
            else:
                color = "disapproved"
            out.append({"meeting": m, "owner": owners.get(m["creator_id"]),
                        "photos": photos.get(m["creator_id"], []), "color": color})
        return out
