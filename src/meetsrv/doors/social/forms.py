"""Reading and validating the social door's requests the way DRF 3.5 did, with its messages."""

from __future__ import annotations

import json
import math
import re
from datetime import date

from meetsrv.core.meetings.social import CATEGORIES, TYPE_GROUP, TYPE_ONE_BY_ONE
from meetsrv.http.body import BodyError, content_type, raw_body, read_body

REQUIRED = "This field is required."
BLANK = "This field may not be blank."
NULL = "This field may not be null."
NOT_STRING = "Not a valid string."
NOT_INT = "A valid integer is required."
NOT_NUMBER = "A valid number is required."
BAD_DATE = "Date has wrong format. Use one of these formats instead: YYYY[-MM[-DD]]."
DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)


class FieldErrors(Exception):
    """400 with DRF's {"field": ["message", ...]} body."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


class ParseError(Exception):
    pass


class UnsupportedMediaType(Exception):
    def __init__(self, media_type: str):
        super().__init__(media_type)
        self.media_type = media_type


def body_dict(request) -> dict:
    """The body as a dict (JSON object, form or multipart fields); {} when empty."""
    kind = content_type(request)
    raw = raw_body(request)
    if raw.strip() and kind not in ("application/json", "application/x-www-form-urlencoded",
                                    "multipart/form-data") and not kind.endswith("+json"):
        raise UnsupportedMediaType(kind)
    try:
        body = read_body(request)
    except BodyError as e:
        raise ParseError(f"{'JSON' if 'json' in kind else 'Form'} parse error - {e}")
    if body.kind in ("empty", "other"):
        return {}
    if body.kind == "json":
        if not isinstance(body.data, dict):
            raise FieldErrors({"non_field_errors": ["Invalid data. Expected a dictionary, but got "
                                                    f"{type(body.data).__name__}."]})
        return body.data
    data = dict(body.data or {})
    # a repeated form field: DRF reads the last value
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in data.items()}


def char(value, max_length=None, allow_blank=False):
    if value is None:
        raise ValueError(NULL)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(NOT_STRING)
    value = str(value).strip()
    if not value and not allow_blank:
        raise ValueError(BLANK)
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"Ensure this field has no more than {max_length} characters.")
    return value


def integer(value, min_value=None, max_value=None):
    if isinstance(value, bool):
        raise ValueError(NOT_INT)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(NOT_INT)
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[-+]?\d{1,20}(\.0*)?", text):
            raise ValueError(NOT_INT)
        value = int(text.split(".")[0])
    elif not isinstance(value, int):
        raise ValueError(NOT_INT)
    if min_value is not None and value < min_value:
        raise ValueError(f"Ensure this value is greater than or equal to {min_value}.")
    if max_value is not None and value > max_value:
        raise ValueError(f"Ensure this value is less than or equal to {max_value}.")
    return value


def number(value, lo, hi):
    if isinstance(value, bool):
        raise ValueError(NOT_NUMBER)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(NOT_NUMBER)
    if not math.isfinite(value):
        raise ValueError(NOT_NUMBER)
    if not lo <= value <= hi:
        raise ValueError(f"Ensure this value is between {lo} and {hi}.")
    return value


def a_date(value):
    """A calendar date as Django's parse_date read it (`2031-7-5`: month and day of one or two
    ASCII digits), always given back as YYYY-MM-DD."""
    if not isinstance(value, str):
        raise ValueError(BAD_DATE)
    m = DATE_RE.fullmatch(value.strip())
    if m is None:
        raise ValueError(BAD_DATE)
    try:
        return date(*(int(part) for part in m.groups())).isoformat()
    except ValueError:  # not a day of the calendar (2031-2-30, 2031-13-1)
        raise ValueError(BAD_DATE)


def choice(value, choices):
    try:
        v = integer(value)
    except ValueError:
        raise ValueError(f'"{value}" is not a valid choice.')
    if v not in choices:
        raise ValueError(f'"{value}" is not a valid choice.')
    return v


def boolean(value):
    if value in (True, 1, "1", "true", "True", "TRUE", "t", "T", "yes", "on"):
        return True
    if value in (False, 0, "0", "false", "False", "FALSE", "f", "F", "no", "off"):
        return False
    raise ValueError('"{}" is not a valid boolean.'.format(value))


class Form:
    """Collects per-field errors like a DRF serializer."""

    def __init__(self, data: dict):
        self.data = data
        self.errors: dict = {}
        self.values: dict = {}

    def field(self, name, parse, required=False, key=None, source=None, nullable=False):
        src = source or name
        if src not in self.data:
            if required:
                self.errors[name] = [REQUIRED]
            return
        raw = self.data[src]
        if raw is None and nullable:
            self.values[key or name] = None
            return
        try:
            self.values[key or name] = parse(raw)
        except ValueError as e:
            self.errors[name] = [str(e)]

    def check(self) -> dict:
        if self.errors:
            raise FieldErrors(self.errors)
        return self.values


def login(data: dict) -> dict:
    f = Form(data)
    f.field("social_slug", lambda v: char(v, 16), required=True)
    f.field("external_id", lambda v: integer(v, 0, 2**63 - 1), required=True)
    f.field("token", lambda v: char(v, 255), required=True)
    f.field("first_name", lambda v: char(v, 32), required=True)
    values = f.check()
    if not all(values[k] for k in ("social_slug", "external_id", "token", "first_name")):
        raise FieldErrors({"non_field_errors": [
            'Must include "social_slug", "external_id", "first_name" and "token".']})
    values["external_id"] = str(values["external_id"])
    return values


def user_update(data: dict) -> dict:
    """A partial update of first_name (the document's `firs_name` is read as it), about,
    birth_date and gender. Anything else, `username` included, is ignored as upstream's
    serializer did (it never wrote the username), so the LetsGo app's edit never fails on it."""
    if "first_name" not in data and "firs_name" in data:
        data = dict(data, first_name=data["firs_name"])
    f = Form(data)
    f.field("first_name", lambda v: char(v, allow_blank=True), key="name")  # its rule: core.people.names
    f.field("about", lambda v: char(v, 256, allow_blank=True))
    f.field("birth_date", a_date, nullable=True)
    f.field("gender", lambda v: choice(v, (0, 1)), nullable=True)
    return f.check()


def _coordinates(value):
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError('Expected {"lat": <number>, "lng": <number>}.')
    if not isinstance(value, dict) or "lat" not in value or "lng" not in value:
        raise ValueError('Expected {"lat": <number>, "lng": <number>}.')
    try:
        return number(value["lat"], -90, 90), number(value["lng"], -180, 180)
    except ValueError as e:
        raise ValueError(f"lat and lng: {e}")


def _category(value):
    if isinstance(value, str) and value in CATEGORIES:
        return CATEGORIES[value]
    return choice(value, tuple(CATEGORIES.values()))


def meeting(data: dict, today: str | None) -> dict:
    """POST (today given: defaults filled in) or PUT (partial) of a meeting."""
    creating = today is not None
    f = Form(data)
    f.field("title", lambda v: char(v, 32), required=creating)
    f.field("description", lambda v: char(v, None, allow_blank=True), nullable=True)
    f.field("coordinates", _coordinates, required=creating)
    f.field("meeting_date", a_date, key="date")
    if creating:
        f.field("group_type", lambda v: choice(v, (TYPE_ONE_BY_ONE, TYPE_GROUP)))
        f.field("category", _category)
    values = f.check()
    if "coordinates" in values:
        values["lat"], values["lng"] = values.pop("coordinates")
    if values.get("description", "") is None:
        values["description"] = ""
    if creating:
        values.setdefault("description", "")
        values.setdefault("date", today)
        values.setdefault("group_type", TYPE_ONE_BY_ONE)
        values.setdefault("category", CATEGORIES["general"])
    return values


def confirm_action(data: dict) -> dict:
    f = Form(data)
    f.field("is_approved", boolean, key="approved")
    f.field("is_rejected", boolean, key="rejected")
    f.field("is_read", boolean, key="read")
    return f.check()


def _query_float(value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def meeting_filters(get) -> dict:
    """Query parameters of GET /meetings-list/: {} (no filter at all, as upstream, when any of
    lat, lng, r is missing) or {"near": (lat, lng, r), "category", "gender", "age_from", "age_to"}."""
    lat, lng, r = get("lat"), get("lng"), get("r")
    if lat is None or lng is None or r is None:
        return {}
    near = (_query_float(lat), _query_float(lng), _query_float(r))
    if None in near or not -90 <= near[0] <= 90 or not -180 <= near[1] <= 180:
        near = (55.751244, 37.618423, 30.0)  # upstream's fallback: Moscow, 30 km
    out = {"near": near}
    f = Form({k: v for k in ("category", "gender", "age_from", "age_to") if (v := get(k)) is not None})
    f.field("category", _category)
    f.field("gender", lambda v: choice(v, (0, 1)))
    f.field("age_from", lambda v: integer(v, 0, 1000))
    f.field("age_to", lambda v: integer(v, 0, 1000))
    out.update(f.check())
    return out
