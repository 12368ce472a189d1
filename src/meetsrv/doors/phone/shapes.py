"""The phone door's answers: DRF error bodies and the JSON of users, accounts and meetings."""

from __future__ import annotations

from datetime import UTC, datetime

from meetsrv.core.media import media_url

# core field-problem codes -> DRF's words (upstream meetrack, DRF 3.5)
MESSAGES = {
    "required": "This field is required.",
    "blank": "This field may not be blank.",
    "null": "This field may not be null.",
    "max_length": "Ensure this field has no more than 255 characters.",
    "exists": "user with this phone already exists.",
    "no_file": "No file was submitted.",
    "not_a_file": "The submitted data was not a file. Check the encoding type on the form.",
    "invalid_image": "Upload a valid image. The file you uploaded was either not an image or a corrupted image.",
    "self": "Can not do it with yourself.",
    "no_user": "User with this id does not exist.",
    "duplicates": "Phone list contains duplicates.",
    "own_phone": "The phones list contains user phone.",
    "length_mismatch": "The number of phones must be equal to the number of names.",
    "not_true": "completed must be True or not specified.",
    "invalid_phone": "Invalid phone number.",
    "invalid_code": "Code is invalid.",
    "integer": "A valid integer is required.",
    "empty_list": "This list may not be empty.",
    "string": "Not a valid string.",
    "datetime": "Datetime has wrong format. Use one of these formats instead: "
                "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
    "code_short": "Ensure this field has at least 5 characters.",
    "code_long": "Ensure this field has no more than 5 characters.",
    "too_many": "Ensure this field has no more than 1000 elements.",
    "too_many_ids": "Ensure this field has no more than 100 elements.",
    "time_range": "Ensure this value is between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.",
}

def drf_time(ts: float | None) -> str | None:
    """DRF's rendering of an aware UTC datetime: 2016-10-22T18:22:45.121940Z (no fraction when
    it is zero)."""
    if ts is None:
        return None
    value = datetime.fromtimestamp(ts, UTC).isoformat()
    return value[:-6] + "Z" if value.endswith("+00:00") else value


NOT_FOUND = {"detail": "Not found."}
FORBIDDEN = {"detail": "You do not have permission to perform this action."}
THROTTLED = {"detail": "Request was throttled."}


def request_errors(error) -> dict:
    """A refused request (http.models.RequestInvalid) in DRF's words."""
    out: dict[str, list[str]] = {}
    for p in error.problems:
        code = "required" if p.code == "missing" else p.code
        out.setdefault(p.field, []).append(MESSAGES.get(code, p.message))
    return out


def field_errors(problems: dict) -> dict:
    """{field: [code or message]} -> {field: [message]}."""
    return {field: [MESSAGES.get(c, c) for c in codes] for field, codes in problems.items()}


def account(services, user) -> dict:
    """The signed-in user's own account (a store User)."""
    return {
        "id": user.id,
        "name": user.name,
        "phone": user.phone,
        "created": drf_time(user.created),
        "hidden_phone": bool(user.hidden_phone),
        "avatar": media_url(services, user.avatar),
    }


def user(services, view) -> dict:
    """A user as core.graph saw them for the viewer."""
    if "account" in view:
        return account(services, view["account"])
    out = {"id": view["id"], "name": view["name"]}
    if "phone" in view:
        out["phone"] = view["phone"]
    out["avatar"] = media_url(services, view["avatar"])
    return out


def meeting(services, m) -> dict:
    """A meeting as a store PhoneMeeting (the single-meeting reads)."""
    return {
        "id": m.id,
        "title": m.title,
        "description": m.description,
        "logo": media_url(services, m.image),
        "time": drf_time(m.starts_at),
        "created": drf_time(m.created),
        "completed": bool(m.completed),
        "king": m.king,
        "users": list(m.users),
    }


def meeting_row(services, row) -> dict:
    """A meeting as a row of the meeting list (store list reads return rows): as `meeting`."""
    return {
        "id": row["id"],
        "title": row["title"],
        "description": row["description"],
        "logo": media_url(services, row["image"]),
        "time": drf_time(row["starts_at"]),
        "created": drf_time(row["created"]),
        "completed": bool(row["completed"]),
        "king": row["king"],
        "users": list(row["users"]),
    }
