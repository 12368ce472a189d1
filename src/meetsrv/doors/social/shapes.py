"""The social door's JSON shapes (upstream's DRF serializers) and answers."""

from __future__ import annotations

from meetsrv.core.clock import utc_iso_micro
from meetsrv.http.answers import json_answer


def envelope(request, status: int, msg: str, data=None) -> bytes:
    """Upstream's JsonResponse: HTTP 200 with the logical status in the body."""
    return json_answer(request, {"status": status, "msg": msg, "data": data}, 200)


def detail(request, text: str, status: int) -> bytes:
    return json_answer(request, {"detail": text}, status)


class Urls:
    """Absolute URLs under services.base_url (read at each use: it is known once listening)."""

    def __init__(self, services):
        self.services = services

    @property
    def base(self) -> str:
        return self.services.base_url.rstrip("/")

    def media(self, path: str | None) -> str:
        return f"{self.base}/media/{path}" if path else ""

    def user(self, user_id: int) -> str:
        return f"{self.base}/user-detail/{user_id}/"

    def meeting(self, meeting_id: int) -> str:
        return f"{self.base}/meeting-detail/{meeting_id}/"


def user_short(urls: Urls, row) -> dict | None:
    """UserSerializer."""
    if row is None:
        return None
    return {
        "id": row["id"],
        "gender": row["gender"],
        "birth_date": row["birth_date"],
        "first_name": row["name"] or "",
        "about": row["about"] or "",
        "avatar": urls.media(row["avatar"]),
        "href": urls.user(row["id"]),
    }


def photo(urls: Urls, row) -> dict:
    base = urls.base
    return {
        "id": row["id"],
        "photo": urls.media(row["path"]),
        "set_avatar": f"{base}/set-avatar/{row['id']}/",
        "delete_photo": f"{base}/delete-photo/{row['id']}/",
    }


def user_extended(urls: Urls, row, photos) -> dict | None:
    """UserSerializerExtended: avatar is the avatar photo, else the first photo, else ""."""
    if row is None:
        return None
    avatar = ""
    if photos:
        avatar = urls.media(photos[0]["path"])  # ordered avatar first
    return {
        "id": row["id"],
        "first_name": row["name"] or "",
        "about": row["about"] or "",
        "birth_date": row["birth_date"],
        "gender": row["gender"],
        "avatar": avatar,
        "photos": [photo(urls, p) for p in photos],
        "href": urls.user(row["id"]),
    }


def meeting(urls: Urls, item: dict, with_confirms: bool = True) -> dict:
    """MeetingSerializer. `confirms` always rendered as {} upstream (a non-many nested
    serializer over a manager); kept for clients that read the key."""
    m = item["meeting"]
    out = {
        "id": m["id"],
        "title": m["title"],
        "meeting_date": m["date"],
        "description": m["description"] or "",
        "group_type": m["group_type"],
        "category": m["category"],
        "owner": user_extended(urls, item["owner"], item["photos"]),
        "coordinates": {"lat": m["lat"], "lng": m["lng"]},
        "subway": None,
        "href": urls.meeting(m["id"]),
    }
    if with_confirms:
        out["confirms"] = {}
    out["color_status"] = item["color"]
    return out


def confirm(urls: Urls, row, user_row, meeting_item=None) -> dict:
    out = {
        "id": row["id"],
        "user": user_short(urls, user_row),
        "date_create": utc_iso_micro(row["created"]),
        "is_approved": bool(row["approved"]),
        "is_rejected": bool(row["rejected"]),
    }
    if meeting_item is not None:
        out["meeting"] = meeting(urls, meeting_item, with_confirms=False)
    else:
        out["is_read"] = bool(row["read"])
    return out


def message(urls: Urls, m, author) -> dict:
    return {
        "id": m.id,
        "text": m.text,
        "author": user_short(urls, author),
        "is_read": m.is_read,
        "is_received": m.is_received,
        "date_create": utc_iso_micro(m.created),
    }


def no_message(urls: Urls, owner_row) -> dict:
    """last_message of a chat with no messages: what upstream's DRF rendered for a serializer
    without an instance (the writable fields' empty values; id and date_create are read-only,
    so absent), with the chat's owner as author. The LetsGo app reads it as a message, never null."""
    return {"text": "", "author": user_short(urls, owner_row), "is_read": False, "is_received": False}


def chat(urls: Urls, item: dict) -> dict:
    c = item["chat"]
    last = item["last"]
    last = message(urls, *last) if last is not None else no_message(urls, item["owner"])
    return {
        "id": c.id,
        "title": c.title,
        "owner": user_short(urls, item["owner"]),
        "users": [user_short(urls, u) for u in item["members"] if u["id"] != c.owner_id],
        "channel_slug": c.slug,
        "last_message": last,
        "unread": item["unread"],
    }
