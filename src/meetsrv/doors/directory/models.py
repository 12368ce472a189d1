"""What the directory door accepts, as DRF's serializers of the upstream API read it.

Texts are trimmed; numbers are read as text; a list of one value is that value (form fields);
null is as if absent. Problems are DRF's messages (http.models.DRF_MESSAGES and the ones here).
"""

from __future__ import annotations

import json
import re
from datetime import UTC
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from meetsrv.http.models import RequestModel, ascii_int, first, id_value, is_form, problem, uploaded

REQUIRED = "This field is required."
NOT_STRING = "Not a valid string."
DATE_FORMAT = ("Datetime has wrong format. Use one of these formats instead: "
               "YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].")
DATE_FILTER = "Enter a valid date."
NOT_A_FILE = "The submitted data was not a file. Check the encoding type on the form."
EMPTY_FILE = "The submitted file is empty."
NOT_IDS = "Each item must be an object with an integer id."
ORDERINGS = ("date", "-date")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _text(value, required: bool):
    if value is None:
        if required:
            raise problem("missing", REQUIRED)
        return None
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else value
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        else:
            raise problem("string", NOT_STRING)
    return value.strip()


def Text(limit: int = 255, required: bool = False):
    """A trimmed text of at most `limit` characters; required ones may not be blank."""
    text = Annotated[str, StringConstraints(min_length=1 if required else 0, max_length=limit)]
    if required:
        return Annotated[text, BeforeValidator(lambda v: _text(v, True))]
    return Annotated[text | None, BeforeValidator(lambda v: _text(v, False))]


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise problem("invalid_email", "Enter a valid email address.")
    return value


def _id_items(items) -> list[int]:
    """A list of ids given as objects with "id", bare integers, or digit strings."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise problem("not_a_list", f'Expected a list of items but got type "{type(items).__name__}".')
    ids = []
    for item in items:
        value = id_value(item.get("id") if isinstance(item, dict) else item)
        if value is None:
            raise problem("not_ids", NOT_IDS)
        ids.append(value)
    if len(ids) > 1000:
        raise problem("too_many", "Too many items.")
    return ids


def _ids(value, info: ValidationInfo) -> list[int]:
    """A JSON list, or repeated form fields (each an id, or JSON: an object or a list)."""
    if not is_form(info):
        return _id_items(value)
    items = []
    for raw in value if isinstance(value, list) else [value]:
        raw = raw.strip()
        if raw.startswith("[") or raw.startswith("{"):
            try:
                decoded = json.loads(raw)
            except ValueError:
                raise problem("not_ids", NOT_IDS)
            items.extend(decoded if isinstance(decoded, list) else [decoded])
        elif raw:
            items.append(raw)
    return _id_items(items)


Ids = Annotated[list[int], BeforeValidator(_ids), WithJsonSchema({
    "type": "array", "maxItems": 1000, "description": "Ids, or objects with an id; in a form, repeated fields.",
    "items": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                        {"type": "object", "required": ["id"],
                         "properties": {"id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}}]}})]


# -- dates ----------------------------------------------------------------------------------------
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_when(raw) -> tuple[str, float | None] | None:
    """An ISO 8601 date or date-time: (UTC day, epoch seconds or None for a bare date); None if bad."""
    from datetime import date as Date
    from datetime import datetime

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
        when = when.replace(tzinfo=UTC)
    try:
        when = when.astimezone(UTC)
        return when.date().isoformat(), when.timestamp()
    except (OverflowError, ValueError):
        return None


def parse_day(raw: str) -> str | None:
    parsed = parse_when(raw)
    return parsed[0] if parsed else None


def _when(value):
    if value in (None, ""):
        return None
    parsed = parse_when(value)
    if parsed is None:
        raise problem("datetime", DATE_FORMAT)
    return parsed


def _day(values):
    raw = first(values)
    if not raw:
        return None
    day = parse_day(raw)
    if day is None:
        raise problem("date", DATE_FILTER)
    return day


Day = Annotated[str | None, BeforeValidator(_day), WithJsonSchema({"type": "string", "format": "date"})]


def _image(value, info: ValidationInfo):
    """The bytes of the multipart file `image`; a value that is not a file is refused."""
    upload = uploaded(info)
    if upload is not None:
        if not upload.data:
            raise problem("empty_file", EMPTY_FILE)
        return upload.data
    if value not in (None, ""):
        raise problem("not_a_file", NOT_A_FILE)
    return None


# -- requests -------------------------------------------------------------------------------------
class SignUp(RequestModel):
    email: Annotated[Text(254, required=True), AfterValidator(_email),
                     WithJsonSchema({"type": "string", "format": "email", "maxLength": 254})]
    password: Text(1024, required=True)
    # the phone is read from `telephone` when given, else from `phone` (and the problem named so)
    telephone: Text(32) = None
    phone: Text(32) = None

    @model_validator(mode="before")
    @classmethod
    def _one_phone(cls, data):
        if isinstance(data, dict):
            drop = "phone" if data.get("telephone") is not None else "telephone"
            data = {k: v for k, v in data.items() if k != drop}
        return data

    @property
    def given_phone(self) -> str | None:
        return self.telephone or self.phone or None


class SignIn(RequestModel):
    email: Text(254, required=True)
    password: Text(1024, required=True)


class Refresh(RequestModel):
    refresh: Text(2048, required=True)


class NewOrganization(RequestModel):
    title: Text(required=True)
    description: Text(10000) = None
    postcode: Text(16) = None
    address: Text() = None
    users: Ids = []


class NewEvent(RequestModel):
    title: Text(required=True)
    description: Text(10000) = None
    # (UTC day, epoch seconds or None for a bare date)
    date: Annotated[tuple[str, float | None] | None, BeforeValidator(_when), WithJsonSchema({
        "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]})] = None
    organizations: Ids = []
    image: Annotated[bytes | None, BeforeValidator(_image), Field(validate_default=True),
                     WithJsonSchema({"type": "string", "format": "binary", "description": "A multipart file."})] = None


# -- pages ---------------------------------------------------------------------------------------
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def _count(raw, default, cutoff=None, strict=True):
    value = raw if isinstance(raw, int) else ascii_int(raw) if isinstance(raw, str) else None  # int() reads '٣'
    if value is None or value < 0 or (strict and value == 0):
        return default
    return min(value, cutoff) if cutoff else value


class Paging(RequestModel):
    """limit (default 20, at most 100) and offset, as DRF's LimitOffsetPagination reads them: a
    value that is not a count is the default."""

    limit: Annotated[int, BeforeValidator(lambda v: _count(first(v), DEFAULT_LIMIT, MAX_LIMIT)),
                     WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT})] = DEFAULT_LIMIT
    offset: Annotated[int, BeforeValidator(lambda v: min(_count(first(v), 0, strict=False), 2**31)),
                      WithJsonSchema({"type": "integer", "minimum": 0})] = 0


class OrganizationPage(Paging):
    """GET /api/organizations/?search=<text in the title>"""

    search: Annotated[str | None, BeforeValidator(first)] = None


class LobbyHandshake(RequestModel):
    """The lobby socket's handshake: /ws/chat/?token=<access> (or the Authorization header)."""

    token: str | None = Field(None, description="The access token, when no Authorization header is sent.")
    after: int = Field(None, ge=1, description="Resume: first every stored message with a larger id.")


class Events(Paging):
    """GET /api/events/ filters (a date that cannot be read is refused; the rest is lenient)."""

    date: Day = None
    date_gte: Day = Field(None, alias="date__gte")
    date_lte: Day = Field(None, alias="date__lte")
    ordering: Annotated[str, BeforeValidator(lambda v: first(v) if first(v) in ORDERINGS else "date"),
                        WithJsonSchema({"type": "string", "enum": list(ORDERINGS)})] = "date"
    search: Annotated[str | None, BeforeValidator(lambda v: (first(v) or "").strip()[:255] or None)] = None
