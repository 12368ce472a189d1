"""What the social door accepts, as upstream's DRF 3.5 serializers read it, with their messages.

Bodies are a JSON object or a form (a repeated field counts by its last value). Each model's
`values()` is what the core takes: only the fields given, under the core's names.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema, model_validator

from meetsrv.core.meetings.social import CATEGORIES, TYPE_GROUP, TYPE_ONE_BY_ONE
from meetsrv.http.models import RequestModel, ascii_float, first, problem

NULL = "This field may not be null."
NOT_STRING = "Not a valid string."
NOT_INT = "A valid integer is required."
NOT_NUMBER = "A valid number is required."
BAD_DATE = "Date has wrong format. Use one of these formats instead: YYYY[-MM[-DD]]."
DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
COORDINATES = 'Expected {"lat": <number>, "lng": <number>}.'


# -- values ---------------------------------------------------------------------------------------
def _char(value):
    if value is None:
        raise problem("null", NULL)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise problem("string", NOT_STRING)
    return str(value).strip()


def Char(max_length: int | None = None, allow_blank: bool = False):
    """DRF's CharField: trimmed; blank refused unless allowed."""
    text = Annotated[str, StringConstraints(min_length=0 if allow_blank else 1, max_length=max_length)]
    return Annotated[text, BeforeValidator(_char)]


def integer(value, min_value=None, max_value=None):
    if isinstance(value, bool):
        raise problem("integer", NOT_INT)
    if isinstance(value, float):
        if not value.is_integer():
            raise problem("integer", NOT_INT)
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[-+]?\d{1,20}(\.0*)?", text, re.ASCII):
            raise problem("integer", NOT_INT)
        value = int(text.split(".")[0])
    elif not isinstance(value, int):
        raise problem("integer", NOT_INT)
    if min_value is not None and value < min_value:
        raise problem("min_value", f"Ensure this value is greater than or equal to {min_value}.")
    if max_value is not None and value > max_value:
        raise problem("max_value", f"Ensure this value is less than or equal to {max_value}.")
    return value


def number(value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(NOT_NUMBER)
    try:
        value = ascii_float(value) if isinstance(value, str) else float(value)
    except OverflowError:  # an integer past any float
        value = None
    if value is None or not math.isfinite(value):
        raise ValueError(NOT_NUMBER)
    if not lo <= value <= hi:
        raise ValueError(f"Ensure this value is between {lo} and {hi}.")
    return value


def a_date(value):
    """A calendar date as Django's parse_date read it (`2031-7-5`: month and day of one or two
    ASCII digits), always given back as YYYY-MM-DD."""
    if not isinstance(value, str):
        raise problem("date", BAD_DATE)
    m = DATE_RE.fullmatch(value.strip())
    if m is None:
        raise problem("date", BAD_DATE)
    try:
        return date(*(int(part) for part in m.groups())).isoformat()
    except ValueError:  # not a day of the calendar (2031-2-30, 2031-13-1)
        raise problem("date", BAD_DATE)


def choice(value, choices):
    try:
        v = integer(value)
    except ValueError:
        raise problem("invalid_choice", f'"{value}" is not a valid choice.')
    if v not in choices:
        raise problem("invalid_choice", f'"{value}" is not a valid choice.')
    return v


def boolean(value):
    if value in (True, 1, "1", "true", "True", "TRUE", "t", "T", "yes", "on"):
        return True
    if value in (False, 0, "0", "false", "False", "FALSE", "f", "F", "no", "off"):
        return False
    raise problem("invalid_boolean", f'"{value}" is not a valid boolean.')


def coordinates(value):
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise problem("coordinates", COORDINATES)
    if not isinstance(value, dict) or "lat" not in value or "lng" not in value:
        raise problem("coordinates", COORDINATES)
    try:
        return number(value["lat"], -90, 90), number(value["lng"], -180, 180)
    except ValueError as e:
        raise problem("coordinates", f"lat and lng: {e}")


def category(value):
    if isinstance(value, str) and value in CATEGORIES:
        return CATEGORIES[value]
    return choice(value, tuple(CATEGORIES.values()))


def _nullable(read):
    return lambda v: None if v is None else read(v)


# what a client sends (WithJsonSchema: the OpenAPI description), where it is not what the door reads it as
GENDER_SCHEMA = {"type": "integer", "enum": [0, 1]}
CATEGORY_SCHEMA = {"anyOf": [{"type": "integer", "enum": sorted(CATEGORIES.values())},
                      {"type": "string", "enum": list(CATEGORIES)}]}
COORDINATES_SCHEMA = {"type": "object", "required": ["lat", "lng"],
               "properties": {"lat": {"type": "number", "minimum": -90, "maximum": 90},
                              "lng": {"type": "number", "minimum": -180, "maximum": 180}},
               "description": "In a form: this object as JSON text."}
DATE_SCHEMA = {"type": "string", "format": "date"}
AGE_SCHEMA = {"type": "integer", "minimum": 0, "maximum": 1000}

Gender = Annotated[int | None, BeforeValidator(lambda v: choice(v, (0, 1))), WithJsonSchema(GENDER_SCHEMA)]
Category = Annotated[int, BeforeValidator(category), WithJsonSchema(CATEGORY_SCHEMA)]
Coordinates = Annotated[tuple[float, float], BeforeValidator(coordinates), WithJsonSchema(COORDINATES_SCHEMA)]
Day = Annotated[str, BeforeValidator(a_date), WithJsonSchema(DATE_SCHEMA)]
Bool = Annotated[bool, BeforeValidator(boolean)]


class SocialModel(RequestModel):
    def values(self) -> dict:
        return self.model_dump(exclude_unset=True)


# -- requests -------------------------------------------------------------------------------------
class Login(SocialModel):
    social_slug: Char(16)
    external_id: Annotated[int, BeforeValidator(lambda v: integer(v, 0, 2**63 - 1)),
                           WithJsonSchema({"type": "integer", "minimum": 0, "maximum": 2**63 - 1})]
    token: Char(255)
    first_name: Char(32)

    @model_validator(mode="after")
    def _all_given(self):
        if not all((self.social_slug, self.external_id, self.token, self.first_name)):
            raise problem("incomplete", 'Must include "social_slug", "external_id", "first_name" and "token".')
        return self


class ProfileChanges(SocialModel):
    """A partial update of first_name (the document's `firs_name` is read as it), about,
    birth_date and gender. Anything else, `username` included, is ignored as upstream's
    serializer did (it never wrote the username), so the LetsGo app's edit never fails on it."""

    name: Char(allow_blank=True) = Field(None, alias="first_name")  # its rule: core.people.names
    about: Char(256, allow_blank=True) = None
    birth_date: Annotated[str | None, BeforeValidator(_nullable(a_date)),
                          WithJsonSchema({"anyOf": [DATE_SCHEMA, {"type": "null"}]})] = None
    gender: Annotated[int | None, BeforeValidator(_nullable(lambda v: choice(v, (0, 1)))),
                      WithJsonSchema({"anyOf": [GENDER_SCHEMA, {"type": "null"}]})] = None

    @model_validator(mode="before")
    @classmethod
    def _firs_name(cls, data):
        if isinstance(data, dict) and "first_name" not in data and "firs_name" in data:
            data = dict(data, first_name=data["firs_name"])
        return data


class MeetingChanges(SocialModel):
    """PUT /meeting-detail/<pk>/: the fields given."""

    title: Char(32) = None
    description: Annotated[str | None, BeforeValidator(_nullable(_char))] = None
    coordinates: Coordinates = None
    date: Day = Field(None, alias="meeting_date")

    def values(self) -> dict:
        values = self.model_dump(exclude_unset=True)
        if "coordinates" in values:
            values["lat"], values["lng"] = values.pop("coordinates")
        if values.get("description", "") is None:
            values["description"] = ""
        return values


class NewMeeting(MeetingChanges):
    """POST /meetings-list/: the core's defaults for what is not given (`today` for the date)."""

    title: Char(32)
    coordinates: Coordinates
    group_type: Annotated[int, BeforeValidator(lambda v: choice(v, (TYPE_ONE_BY_ONE, TYPE_GROUP))),
                          WithJsonSchema({"type": "integer", "enum": [TYPE_ONE_BY_ONE, TYPE_GROUP]})] = TYPE_ONE_BY_ONE
    category: Category = CATEGORIES["general"]

    def values(self, today: str) -> dict:
        values = super().values()
        values.setdefault("description", "")
        values.setdefault("date", today)
        values.setdefault("group_type", TYPE_ONE_BY_ONE)
        values.setdefault("category", CATEGORIES["general"])
        return values


class ConfirmAction(SocialModel):
    approved: Bool = Field(None, alias="is_approved")
    rejected: Bool = Field(None, alias="is_rejected")
    read: Bool = Field(None, alias="is_read")


def _query_float(value):
    return ascii_float(value) if isinstance(value, str) else None


def _as_sent(schema: dict, cls) -> None:
    """The filters' parameters as a client sends them: lat, lng and r rather than `near`."""
    properties = schema["properties"]
    properties.pop("near", None)
    near = {"lat": {"type": "number", "minimum": -90, "maximum": 90, "description": "With lng and r: near here."},
            "lng": {"type": "number", "minimum": -180, "maximum": 180},
            "r": {"type": "number", "description": "The radius in km."}}
    schema["properties"] = {**near, **properties}


class MeetingFilters(RequestModel):
    """GET /meetings-list/ parameters: no filter at all (as upstream) when any of lat, lng, r is
    missing; else near (lat, lng, r km) and the optional category, gender and ages."""

    near: tuple[float, float, float] | None = None
    category: Category = None
    gender: Gender = None
    age_from: Annotated[int, BeforeValidator(lambda v: integer(v, 0, 1000)), WithJsonSchema(AGE_SCHEMA)] = None
    age_to: Annotated[int, BeforeValidator(lambda v: integer(v, 0, 1000)), WithJsonSchema(AGE_SCHEMA)] = None
    model_config = ConfigDict(json_schema_extra=_as_sent)

    @model_validator(mode="before")
    @classmethod
    def _near(cls, data):
        values = {k: first(v) for k, v in data.items()}
        if any(values.get(k) is None for k in ("lat", "lng", "r")):
            return {}
        near = tuple(_query_float(values[k]) for k in ("lat", "lng", "r"))
        if None in near or not -90 <= near[0] <= 90 or not -180 <= near[1] <= 180:
            near = (55.751244, 37.618423, 30.0)  # upstream's fallback: Moscow, 30 km
        out = {k: values[k] for k in ("category", "gender", "age_from", "age_to") if values.get(k) is not None}
        out["near"] = near
        return out

    def filters(self) -> dict:
        return self.model_dump(exclude_unset=True)


class ChatHandshake(RequestModel):
    """The chat socket's handshake: /chat/<channel_slug>/?token=<token>"""

    token: str = Field(description="The token of /api-token-auth/.")
    after: int = Field(None, ge=1, description="Resume: first every stored message with a larger id "
                                               "(the ids of /message-list/).")
