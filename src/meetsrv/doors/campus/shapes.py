"""The campus door's envelope, error codes and JSON shapes."""

from __future__ import annotations

from meetsrv.http.answers import json_answer

OK = 0
INVALID_ARGUMENT = 1
MISSING_ARGUMENT = 2
NOT_PERMITTED = 3
UNSUPPORTED_MEDIA_TYPE = 4
NOT_FOUND = 5
UNKNOWN_ERROR = -1

DEFAULT_PIC = "https://i.imgur.com/erdtqth.jpg"  # upstream's default picture


def envelope(request, code: int = OK, msg: str = "", response=None, status: int = 200) -> bytes:
    value = {"error": code, "error_msg": msg}
    if response is not None:
        value["response"] = response
    return json_answer(request, value, status)


def pic_url(avatar: str | None, base_url: str) -> str:
    if not avatar:
        return DEFAULT_PIC
    return f"{base_url}/media/{avatar}"


def profile(user, base_url: str) -> dict:
    """A store User as the campus door shows it."""
    return {
        "display_name": user.name,
        "pic": pic_url(user.avatar, base_url),
        "confirmed": bool(user.confirmed),
        "bio": user.about or "",
        "karma": user.karma,
    }


def user_item(row) -> dict:
    return {"user_id": row["id"], "display_name": row["name"]}


def event(view) -> dict:
    return {
        "name": view["name"],
        "event_id": view["uuid"],
        "time_from": view["starts_at"],
        "time_to": view["ends_at"],
        "creator_id": view["creator_id"],
    }


def created_event(view) -> dict:
    return {"name": view["name"], "event_id": view["uuid"], "time_from": view["starts_at"],
            "time_to": view["ends_at"]}


def joined_event(view, caller: int) -> dict:
    return {"name": view["name"], "creator": view["creator_id"] == caller, "event_id": view["uuid"],
            "time_from": view["starts_at"], "time_to": view["ends_at"]}
