"""The directory door's JSON shapes, DRF-style errors and request value parsing."""

from __future__ import annotations

import re
from datetime import date as Date, datetime, timezone
from urllib.parse import urlencode

from meetsrv.core.clock import utc_iso_micro
from meetsrv.core.meetings.organizations import full_address
from meetsrv.http.answers import json_answer, query_arg

REQUIRED = "This field is required."
BLANK = "This field may not be blank."
NOT_STRING = "Not a valid string."
DATE_FORMAT = ("Datetime has wrong format. Use one of these formats instead: "
               "YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].")
DATE_FILTER = "Enter a valid date."
NOT_A_FILE = "The submitted data was not a file. Check the encoding type on the form."
BAD_IMAGE = "Upload a valid image. The file you uploaded was either not an image or a corrupted image."
EMPTY_FILE = "The submitted file is empty."

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ApiError(Exception):
    """An answer other than success: status and DRF-style body."""

    def __init__(self, status: int, body):
        super().__init__(status)
        self.status = status
        self.body = body


def bad_request(errors: dict) -> ApiError:
    return ApiError(400, errors)


def not_found() -> ApiError:
    return ApiError(404, {"detail": "Not found."})


def max_length(n: int) -> str:
    return f"Ensure this field has no more than {n} characters."


# -- values -------------------------------------------------------------------------------------
def text_field(errors: dict, data, name: str, required: bool = False, limit: int = 255, blank: bool = True):
    value = data.get(name) if isinstance(data, dict) else None
    if value is None:
        if required:
            errors[name] = [REQUIRED]
        return None
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else value
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        else:
            errors[name] = [NOT_STRING]
            return None
    value = value.strip()
    if not value and (required or not blank):
        errors[name] = [BLANK]
        return None
    if len(value) > limit:
        errors[name] = [max_length(limit)]
        return None
    return value


def email_field(errors: dict, data, name: str = "email"):
    value = text_field(errors, data, name, required=True, limit=254)
    if value is not None and not _EMAIL.match(value):
        errors[name] = ["Enter a valid email address."]
        return None
    return value


def parse_when(raw) -> tuple[str, float | None] | None:
    """An ISO 8601 date or date-time: (UTC day, epoch seconds or None for a bare date); None if bad."""
    if not isinstance(raw, str):
        return None
    raw = raw.strip()
    try:
        if _DAY.match(raw):
            return Date.fromisoformat(raw).isoformat(), None
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        when = when.astimezone(timezone.utc)
        return when.date().isoformat(), when.timestamp()
    except (OverflowError, ValueError):
        return None


def parse_day(raw: str) -> str | None:
    parsed = parse_when(raw)
    return parsed[0] if parsed else None


def id_items(errors: dict, name: str, items) -> list[int]:
    """A list of ids given as objects with "id", bare integers, or digit strings."""
    if items is None:
        return []
    if not isinstance(items, list):
        errors[name] = ['Expected a list of items but got type "%s".' % type(items).__name__]
        return []
    ids = []
    for item in items:
        value = item.get("id") if isinstance(item, dict) else item
        if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 19:
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0 or value >= 2**31:
            errors[name] = ["Each item must be an object with an integer id."]
            return []
        ids.append(value)
    if len(ids) > 1000:
        errors[name] = ["Too many items."]
        return []
    return ids


# -- pagination ---------------------------------------------------------------------------------
def _positive(raw, default, cutoff=None, strict=True):
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return default
    if value < 0 or (strict and value == 0):
        return default
    return min(value, cutoff) if cutoff else value


def page_args(request) -> tuple[int, int]:
    """limit (default 20, at most 100) and offset, as DRF's LimitOffsetPagination reads them."""
    limit = _positive(query_arg(request, "limit"), DEFAULT_LIMIT, MAX_LIMIT)
    offset = _positive(query_arg(request, "offset"), 0, strict=False)
    return limit, min(offset, 2**31)


def _page_url(base_url: str, request, limit: int, offset: int | None) -> str:
    pairs = []
    for key, values in request.args.items():
        k = key.decode("utf-8", "replace")
        if k in ("limit", "offset"):
            continue
        for v in values:
            pairs.append((k, v.decode("utf-8", "replace")))
    pairs.append(("limit", str(limit)))
    if offset:
        pairs.append(("offset", str(offset)))
    return f"{base_url}{request.path.decode('utf-8', 'replace')}?{urlencode(pairs)}"


def paginated(request, base_url: str, count: int, results: list, limit: int, offset: int) -> bytes:
    nxt = _page_url(base_url, request, limit, offset + limit) if offset + limit < count else None
    prev = None
    if offset > 0:
        prev = _page_url(base_url, request, limit, max(0, offset - limit) if offset - limit > 0 else None)
    return json_answer(request, {"count": count, "next": nxt, "previous": prev, "results": results})


# -- shapes -------------------------------------------------------------------------------------
def user(row) -> dict:
    return {"id": row["id"], "email": row.get("email"), "telephone": row.get("phone")}


def organization(row, with_users: bool = True) -> dict:
    out = {
        "id": row["id"],
        "title": row["title"],
        "description": row["description"],
        "address": row["address"],
        "postcode": row["postcode"],
        "all_address": full_address(row),
    }
    if with_users:
        out["users"] = [user(u) for u in row.get("users", [])]
    return out


def event_date(row):
    if row.get("starts_at") is not None:
        return utc_iso_micro(row["starts_at"]).replace(".000000Z", "Z")
    return row.get("date")


def media_url(base_url: str, path: str | None):
    return f"{base_url}/media/{path}" if path else None


def event(row, base_url: str, with_members: bool = False) -> dict:
    return {
        "id": row["id"],
        "title": row["title"],
        "description": row["description"] or "",
        "organizations": [
            organization(o, with_users=with_members) if with_members else {"id": o["id"], "title": o["title"]}
            for o in row.get("organizations", [])
        ],
        "image": media_url(base_url, row.get("image")),
        "date": event_date(row),
    }


def chat_message(row) -> dict:
    return {"id": row["id"], "user": row.get("email"), "message": row["text"],
            "created": utc_iso_micro(row["created"])}
