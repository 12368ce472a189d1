"""Reading the phone door's request fields the way DRF 3.5 serializers did.

Each reader takes a parsed Body and a field name and returns the value, or raises FieldError
with a message code (see shapes.MESSAGES). JSON lists are arrays; form and multipart lists are
repeated keys.
"""

from __future__ import annotations

from datetime import datetime, timezone

from meetsrv.core.accounts.sms import normalize_phone
from meetsrv.http.body import Body

MISSING = object()
INT_MAX = 2**31 - 1
LIST_MAX = 1000

TRUE_VALUES = {"t", "T", "y", "Y", "yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1", 1, True}
FALSE_VALUES = {"f", "F", "n", "N", "no", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0", 0, 0.0, False}


class FieldError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _is_form(body: Body) -> bool:
    return body.kind in ("form", "multipart")


def raw(body: Body, name: str):
    if not isinstance(body.data, dict) or name not in body.data:
        return MISSING
    value = body.data[name]
    if _is_form(body) and isinstance(value, list):
        value = value[-1]  # QueryDict.get gives the last
    return value


def char(body: Body, name: str, required: bool = True, allow_null: bool = False):
    """A string; MISSING when absent and not required."""
    value = raw(body, name)
    if value is MISSING:
        if required:
            raise FieldError("required")
        return MISSING
    if value is None:
        if allow_null:
            return None
        raise FieldError("null")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FieldError("string")
    return str(value).strip()  # DRF's CharField trims whitespace


def phone(body: Body, name: str = "phone") -> str:
    value = char(body, name)
    if not value.strip():
        raise FieldError("blank")
    normal = normalize_phone(value)
    if normal is None:
        raise FieldError("invalid_phone")
    return normal


def boolean(body: Body, name: str, default=MISSING):
    value = raw(body, name)
    if value is MISSING:
        return default
    return to_bool(value)


def to_bool(value) -> bool:
    try:
        if value in TRUE_VALUES:
            return True
        if value in FALSE_VALUES:
            return False
    except TypeError:  # unhashable (a list or an object)
        pass
    raise FieldError(f'"{value}" is not a valid boolean.')


def to_int(value) -> int:
    if isinstance(value, bool):
        raise FieldError("integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and len(value) <= 1000:
        text = value.strip()
        if text.endswith(".0"):
            text = text.rstrip("0").rstrip(".")
        if not text.lstrip("-").isdigit():
            raise FieldError("integer")
        number = int(text)
    else:
        raise FieldError("integer")
    if abs(number) > INT_MAX:
        raise FieldError("Ensure this value is less than or equal to 2147483647.")
    return number


def integer(body: Body, name: str) -> int:
    value = raw(body, name)
    if value is MISSING:
        raise FieldError("required")
    if value is None:
        raise FieldError("null")
    return to_int(value)


def items(body: Body, name: str):
    """The list under name: a JSON array or repeated form keys; MISSING when absent."""
    if not isinstance(body.data, dict) or name not in body.data:
        return MISSING
    if _is_form(body):
        return body.getlist(name)
    value = body.data[name]
    if not isinstance(value, list):
        raise FieldError(f'Expected a list of items but got type "{type(value).__name__}".')
    return value


def _bounded(values, allow_empty: bool = False):
    if not values and not allow_empty:
        raise FieldError("empty_list")
    if len(values) > LIST_MAX:
        raise FieldError("too_many")
    return values


def int_list(values, allow_empty: bool = True) -> list[int]:
    return [to_int(v) for v in _bounded(values, allow_empty)]


def phone_list(values) -> list[str]:
    out = []
    for v in _bounded(values):
        normal = normalize_phone(v) if isinstance(v, str) else None
        if normal is None:
            raise FieldError("invalid_phone")
        out.append(normal)
    return out


def name_list(values) -> list[str]:
    out = []
    for v in _bounded(values):
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise FieldError("string")
        v = str(v).strip()
        if not v:
            raise FieldError("blank")
        if len(v) > 255:
            raise FieldError("max_length")
        out.append(v)
    return out


def upload(body: Body, name: str):
    """(bytes, filename) of an uploaded file; MISSING when absent; FieldError for a non-file."""
    f = body.files.get(name)
    if f is not None:
        return (f.data, f.filename)
    value = raw(body, name)
    if value is MISSING or value in ("", None):
        return MISSING
    raise FieldError("not_a_file")


def datetime_value(body: Body, name: str):
    """Epoch seconds, None (null), or MISSING; naive times are UTC (upstream TIME_ZONE)."""
    value = raw(body, name)
    if value is MISSING:
        return MISSING
    if value is None or (value == "" and _is_form(body)):
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise FieldError("datetime")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if len(text) < 16 or text[10] not in "Tt ":
        raise FieldError("datetime")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError("datetime")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        raise FieldError("datetime")
