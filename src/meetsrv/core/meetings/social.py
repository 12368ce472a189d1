"""The social app's meetings: create (at most 3 a day per user), read, the owner's update, and
the search by distance (bounding box in SQL, exact haversine here) and owner filters."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from twisted.internet import defer

from meetsrv.core.errors import NotFound, NotPermitted, RateLimited
from meetsrv.store.meetings.social import SocialMeetingStore

MAX_MEETINGS = 3  # a day per user
MAX_RADIUS = 30.0  # km
MOSCOW = (55.751244, 37.618423)
# name -> value, in upstream's order
CATEGORIES = {"general": 0, "sport": 1, "bar": 2, "dance": 3}
TYPE_ONE_BY_ONE, TYPE_GROUP = 0, 1
EARTH_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_KM / 180


def haversine_km(lat1, lng1, lat2, lng2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lng: float, r_km: float):
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


def age_on(birth_date: str | None, today: date):
    try:
        born = date.fromisoformat(birth_date)
    except (TypeError, ValueError):
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class MeetingService:
    def __init__(self, store: SocialMeetingStore, users, photos, clock):
        self.store = store
        self.users = users
        self.photos = photos
        self.clock = clock

    def today(self) -> date:
        return datetime.fromtimestamp(self.clock.seconds(), UTC).date()

    @defer.inlineCallbacks
    def create(self, user_id: int, values: dict):
        """values: title, description, lat, lng, date, group_type, category."""
        now = self.clock.seconds()
        day_start = now - (now % 86400)  # UTC midnight
        meeting_id = yield self.store.create(user_id, values, day_start, MAX_MEETINGS, now)
        if meeting_id is None:
            raise RateLimited("user's trying to create more than MAX_MEETINGS meetings")
        return (yield self.store.get(meeting_id))

    @defer.inlineCallbacks
    def get(self, meeting_id: int):
        row = yield self.store.get(meeting_id)
        if row is None:
            raise NotFound("meeting does not exist")
        return row

    @defer.inlineCallbacks
    def check_owner(self, user_id: int, meeting_id: int):
        row = yield self.store.get(meeting_id)
        if row is None or row["creator_id"] != user_id:
            raise NotPermitted("only the owner changes a meeting")
        return row

    def get_many(self, ids):
        return self.store.get_many(ids)

    @defer.inlineCallbacks
    def update(self, user_id: int, meeting_id: int, values: dict):
        row = yield self.store.get(meeting_id)
        if row is None or row["creator_id"] != user_id:
            raise NotPermitted("only the owner changes a meeting")
        if values:
            yield self.store.update(meeting_id, values, self.clock.seconds())
        return (yield self.store.get(meeting_id))

    @defer.inlineCallbacks
    def search(self, near=None, category=None, gender=None, age_from=None, age_to=None):
        """near = (lat, lng, r_km) or None (then no filter at all, as upstream)."""
        if near is None:
            return (yield self.store.search())
        lat, lng, r = near
        r = min(r, MAX_RADIUS)
        if r < 0:
            return []
        rows = yield self.store.search(bounding_box(lat, lng, r), category, gender)
        rows = [m for m in rows if m["lat"] is not None and m["lng"] is not None
                and haversine_km(lat, lng, m["lat"], m["lng"]) <= r]
        if age_from is not None or age_to is not None:
            owners = yield self.users.get_many(m["creator_id"] for m in rows if m["creator_id"])
            today = self.today()
            ages = {u["id"]: age_on(u["birth_date"], today) for u in owners}
            lo = age_from if age_from is not None else 0
            hi = age_to if age_to is not None else 10**6
            rows = [m for m in rows if ages.get(m["creator_id"]) is not None and lo <= ages[m["creator_id"]] <= hi]
        return rows

    @defer.inlineCallbacks
    def describe(self, viewer: int, rows):
        """Each meeting with its owner, the owner's photos and the viewer's color status."""
        owner_ids = {m["creator_id"] for m in rows if m["creator_id"] is not None}
        owners = yield self.users.get_many(owner_ids)
        owners = {u["id"]: u for u in owners}
        photos = yield self.photos.of_users(owner_ids)
        approved = (yield self.store.approved_for(viewer)) if rows else set()
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
