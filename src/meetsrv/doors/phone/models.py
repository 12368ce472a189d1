"""What the phone door accepts, read as upstream's DRF 3.5 serializers read it.

A problem's message is a code of shapes.MESSAGES (or DRF's own words). JSON lists are arrays;
form and multipart lists are repeated keys, and a repeated single field counts by its last value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, WithJsonSchema

from meetsrv.core.accounts.sms import normalize_phone
from meetsrv.http.models import RequestModel, given, is_form, problem, uploaded

INT_MAX = 2**31 - 1
LIST_MAX = 1000

TRUE_VALUES = {"t", "T", "y", "Y", "yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1", 1}
FALSE_VALUES = {"f", "F", "n", "N", "no", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0", 0}


def _single(value, info: ValidationInfo):
    """A single field's value: the last of a repeated form field (QueryDict.get)."""
    if is_form(info) and isinstance(value, list):
        return value[-1]
    return value


# -- values ---------------------------------------------------------------------------------------
def to_char(value, allow_null: bool = False):
    if value is None:
        if allow_null:
            return None
        raise problem("null")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise problem("string")
    return str(value).strip()  # DRF's CharField trims whitespace


def to_bool(value) -> bool:
    try:
        if value in TRUE_VALUES:
            return True
        if value in FALSE_VALUES:
            return False
    except TypeError:  # unhashable (a list or an object)
        pass
    raise problem("invalid_boolean", f'"{value}" is not a valid boolean.')


def to_int(value) -> int:
    if isinstance(value, bool):
        raise problem("integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and len(value) <= 1000:
        text = value.strip()
        if text.endswith(".0"):
            text = text.rstrip("0").rstrip(".")
        # ASCII digits only: isdigit() also passes '²', which int() refuses
        if not (text.isascii() and text.lstrip("-").isdigit()):
            raise problem("integer")
        number = int(text)
    else:
        raise problem("integer")
    if abs(number) > INT_MAX:
        raise problem("max_value", "Ensure this value is less than or equal to 2147483647.")
    return number


def _bounded(values, allow_empty: bool = False):
    if not values and not allow_empty:
        raise problem("empty_list")
    if len(values) > LIST_MAX:
        raise problem("too_many")
    return values


def int_list(values, allow_empty: bool = True) -> list[int]:
    return [to_int(v) for v in _bounded(values, allow_empty)]


def phone_list(values) -> list[str]:
    out = []
    for v in _bounded(values):
        normal = normalize_phone(v) if isinstance(v, str) else None
        if normal is None:
            raise problem("invalid_phone")
        out.append(normal)
    return out


def name_list(values) -> list[str]:
    out = []
    for v in _bounded(values):
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise problem("string")
        v = str(v).strip()
        if not v:
            raise problem("blank")
        if len(v) > 255:
            raise problem("max_length")
        out.append(v)
    return out


def items(value, info: ValidationInfo) -> list:
    """A list: a JSON array, or a form's repeated keys."""
    if is_form(info):
        return value if isinstance(value, list) else [value]
    if not isinstance(value, list):
        raise problem("not_a_list", f'Expected a list of items but got type "{type(value).__name__}".')
    return value


def upload(value, info: ValidationInfo):
    """(bytes, filename) of the multipart file under the field's name; None when absent; a value
    that is not a file is refused."""
    f = uploaded(info)
    if f is not None:
        return (f.data, f.filename)
    if value in ("", None):
        return None
    raise problem("not_a_file")


def _phone(value, info):
    value = to_char(_single(value, info))
    if not value.strip():
        raise problem("blank")
    normal = normalize_phone(value)
    if normal is None:
        raise problem("invalid_phone")
    return normal


def _code(value, info):
    code = to_char(_single(value, info))
    if not code.strip():
        raise problem("blank")
    if len(code) < 5:
        raise problem("code_short")
    if len(code) > 5:
        raise problem("code_long")
    return code


def _datetime(value, info):
    """Epoch seconds or None; naive times are UTC (upstream TIME_ZONE)."""
    value = _single(value, info)
    if value is None or (value == "" and is_form(info)):
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise problem("datetime")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if len(text) < 16 or text[10] not in "Tt ":
        raise problem("datetime")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise problem("datetime")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        raise problem("datetime")


def _or(fallback, read):
    """`read`, or `fallback` for a value it refuses (fields that upstream read leniently)."""

    def lenient(value, info):
        try:
            return read(value, info)
        except (ValidationError, ValueError):
            return fallback

    return lenient


# what a client sends (WithJsonSchema: the OpenAPI description), where the door reads more
FILE = WithJsonSchema({"type": "string", "format": "binary", "description": "A multipart file."})
PHONE = WithJsonSchema({"type": "string", "pattern": r"^\+7 ?9[0-9]{2} ?[0-9]{3}-?[0-9]{2}-?[0-9]{2}$",
                        "description": "A mobile phone number: +79250741410, +7 925 074-14-10."})
TIME = WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]})

Char = Annotated[str | None, BeforeValidator(lambda v, info: to_char(_single(v, info))),
                 WithJsonSchema({"type": "string"})]
NullableChar = Annotated[str | None, BeforeValidator(lambda v, info: to_char(_single(v, info), allow_null=True))]
Bool = Annotated[bool | None, BeforeValidator(lambda v, info: to_bool(_single(v, info))),
                 WithJsonSchema({"type": "boolean"})]
Integer = Annotated[int, BeforeValidator(lambda v, info: to_int(_null(_single(v, info)))),
                    WithJsonSchema({"type": "integer", "minimum": -INT_MAX, "maximum": INT_MAX})]
Upload = Annotated[tuple[bytes, str] | None, BeforeValidator(lambda v, info: upload(_single(v, info), info)),
                   Field(validate_default=True), FILE]
Phone = Annotated[str, BeforeValidator(_phone), PHONE]


def _null(value):
    if value is None:
        raise problem("null")
    return value


# -- requests -------------------------------------------------------------------------------------
class SendCode(RequestModel):
    phone: Phone


class Confirm(RequestModel):
    """Sign-in, or sign-up with `is_new` (then `name` and `avatar`, read leniently)."""

    phone: Phone
    code: Annotated[str, BeforeValidator(_code), WithJsonSchema({"type": "string", "minLength": 5, "maxLength": 5})]
    is_new: Bool = False
    name: Annotated[str | None, BeforeValidator(_or("", lambda v, info: to_char(_single(v, info)))),
                    WithJsonSchema({"type": "string"})] = None
    avatar: Annotated[tuple[bytes, str] | None, BeforeValidator(_or(None, lambda v, info: upload(_single(v, info), info))),
                      Field(validate_default=True), FILE] = None


class AccountChanges(RequestModel):
    name: Char = None
    hidden_phone: Bool = None
    avatar: Upload = None


def _users_required(schema: dict, cls) -> None:
    """`users` may not be left out (it is read as an empty list, which is refused)."""
    schema["properties"]["users"].pop("default", None)
    schema["required"] = ["users"]


class Users(RequestModel):
    """GET /api/users/?users=1&users=2"""

    model_config = ConfigDict(json_schema_extra=_users_required)

    users: Annotated[list[int], BeforeValidator(lambda v: int_list(given(v), allow_empty=False)),
                     Field(validate_default=True),
                     WithJsonSchema({"type": "array", "items": {"type": "integer"}, "minItems": 1})] = []


class Target(RequestModel):
    user: Integer


class NewContacts(RequestModel):
    names: Annotated[list[str], BeforeValidator(lambda v, info: name_list(items(v, info)))]
    phones: Annotated[list[str], BeforeValidator(lambda v, info: phone_list(items(v, info)))]


class GoneContacts(RequestModel):
    phones: Annotated[list[str], BeforeValidator(lambda v, info: phone_list(items(v, info)))]


class NewMeeting(RequestModel):
    """Its title, description and logo are also the core's rules (core.meetings.phone), which
    report them when the request is sound; routes add them to this model's problems."""

    title: Char = None
    description: NullableChar = None
    time: Annotated[float | None, BeforeValidator(_datetime), TIME] = None
    logo: Upload = None
    users: Annotated[list[int], BeforeValidator(lambda v, info: int_list(items(v, info)))] = []

    @staticmethod
    def leniently(data: dict, **context) -> tuple:
        """(title, description, logo) as far as they can be read, for the core's own checks."""
        values = []
        for name, adapter in (("title", _CHAR), ("description", _NULLABLE_CHAR)):
            try:
                values.append(adapter.validate_python(data[name], context=context) if name in data else None)
            except ValidationError:
                values.append(None)
        logo = (context.get("files") or {}).get("logo")
        values.append((logo.data, logo.filename) if logo is not None else None)
        return tuple(values)


_CHAR = TypeAdapter(Char)
_NULLABLE_CHAR = TypeAdapter(NullableChar)


class MeetingChanges(RequestModel):
    # a value that is not a boolean is refused by the core, after its 404 and 403 checks
    completed: Annotated[bool | Literal["invalid"] | None,
                         BeforeValidator(_or("invalid", lambda v, info: to_bool(_single(v, info)))),
                         WithJsonSchema({"const": True, "description": "true: the meeting is over."})] = None


class Meetings(RequestModel):
    """GET /api/meetings/?all=<bool>"""

    all: Annotated[bool, BeforeValidator(lambda v: to_bool(given(v)[-1]) if given(v) else False)] = False

