"""The rooms door's JSON shapes and errors."""

from meetsrv.core.clock import utc_iso_seconds
from meetsrv.http.answers import json_answer


def error(request, code: str, status: int = 422) -> bytes:
    return json_answer(request, {"error": {"code": code}}, status)


def user(row) -> dict:
    return {"id": row["id"], "login": row["username"]}


def signed_in(user) -> dict:
    """The signed-in user (a store User): the same fields as `user`."""
    return {"id": user.id, "login": user.username}


def room(value) -> dict:
    return {"id": value["id"], "users": [user(u) for u in value["users"]]}


def room_item(value) -> dict:
    """A room in the caller's list: also how many messages of others the caller has not read."""
    return {"id": value["id"], "users": [user(u) for u in value["users"]], "unread": value["unread"]}


def message(m, room_id: int) -> dict:
    return {
        "id": m.id,
        "text": m.text,
        "user_id": m.user_id,
        "room_id": room_id,
        "created_at": utc_iso_seconds(m.created),
    }
