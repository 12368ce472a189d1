"""Request models: pydantic models that declare what a door accepts, one `parse()` for all.

A model's fields carry their rules (types, lengths, the door's own leniencies as validators);
a refused request raises RequestInvalid with field-level problems, which each door renders once
in its own style (`drf_errors` for the DRF doors). Field order is the order problems are
reported in, so it is part of a door's answer: declare fields in the order the door checks them.

What every door refuses is checked here once, for every body and query a model reads: text that
no database stores (NUL, lone surrogates; `parse`), numbers in other than ASCII digits
(`ascii_int`, `ascii_float`) and ids past the id columns (`id_value`).
"""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

M = TypeVar("M", bound=BaseModel)

NON_FIELD = ""  # the field name of a problem with the request as a whole


class RequestModel(BaseModel):
    """Unknown fields are ignored (as DRF serializers and the upstream servers did)."""

    model_config = ConfigDict(extra="ignore", frozen=True, arbitrary_types_allowed=True,
                              hide_input_in_errors=True)


class Problem(NamedTuple):
    field: str  # the name the client sent; NON_FIELD for the request as a whole
    code: str  # pydantic's error type ("missing", "string_too_long", ...) or a model's own
    message: str  # a model's own wording, or pydantic's
    ctx: dict  # the code's details (max_length, ...)


class RequestInvalid(Exception):
    """What is wrong with a request, field by field, in the order the model checks them."""

    def __init__(self, problems: list[Problem], model: type | None = None):
        super().__init__(problems)
        self.problems = problems
        self.model = model  # the model that refused it (a door may render some models' problems apart)

    def fields(self) -> dict[str, list[Problem]]:
        out: dict[str, list[Problem]] = {}
        for p in self.problems:
            out.setdefault(p.field, []).append(p)
        return out

    def first(self) -> Problem:
        return self.problems[0]

    def adding(self, more: dict[str, list[str]]) -> RequestInvalid:
        """These problems too ({field: [code]}, checked elsewhere), for fields that have none."""
        known = {p.field for p in self.problems}
        extra = [Problem(field, code, code, {}) for field, codes in more.items() if field not in known
                 for code in codes]
        return RequestInvalid(self.problems + extra, self.model)


def problem(code: str, message: str | None = None, **ctx) -> PydanticCustomError:
    """The error a model's validator raises: a code and the door's own message."""
    return PydanticCustomError(code, message if message is not None else code, ctx or None)


def parse(model: type[M], data: Any, **context) -> M:
    """`data` (a body's fields or a query's parameters) validated by `model`; RequestInvalid.

    A value holding text no database stores is refused first, whatever the model makes of it
    (a field of its own words, such as `firs_name`, included); a name holding such text is no
    field of any model and is left out, as unknown names are."""
    data = data if data is not None else {}
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if not (isinstance(k, str) and unstorable(k))}
        problems = [Problem(k, *found) for k, v in data.items() if (found := text_problem(v)) is not None]
        if problems:
            raise RequestInvalid(problems, model)
    try:
        return model.model_validate(data, context=context or None)
    except ValidationError as e:
        problems = []
        for error in e.errors(include_url=False, include_input=False):
            loc = error.get("loc") or ()
            field = str(loc[0]) if loc else NON_FIELD
            problems.append(Problem(field, error["type"], error["msg"], dict(error.get("ctx") or {})))
        raise RequestInvalid(problems, model) from None


# -- what no door accepts -----------------------------------------------------------------------

# NUL (PostgreSQL's text cannot hold it) and lone surrogates (no UTF-8 encoding of them exists)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """The first character of `text` that no database stores, or None."""
    found = _UNSTORABLE.search(text)
    return found.group() if found else None


def _text_problem(char: str) -> tuple[str, str, dict]:
    if char == "\x00":
        return "null_characters", "Null characters are not allowed.", {}
    code_point = f"{ord(char):X}"
    return ("surrogate_characters", f"Surrogate characters are not allowed: U+{code_point}.",
            {"code_point": code_point})


def text_problem(value) -> tuple[str, str, dict] | None:
    """(code, message, ctx) of the first text in `value` (a string, or a JSON value or form list
    holding strings, names included) that no database stores; None when there is none."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            char = unstorable(item)
            if char is not None:
                return _text_problem(char)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return None


# The id columns are INTEGER (store/tables.py): an id outside 1..MAX_ID names no row, and a
# larger one would reach the driver as a number the column cannot compare or hold.
MAX_ID = 2**31 - 1
# int() reads at most 4300 digits; a longer number is no number to a door either
_ASCII_INT = re.compile(r"[+-]?[0-9]{1,4300}")
_ASCII_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def ascii_int(text: str, signed: bool = True) -> int | None:
    """`text` as an integer when it is ASCII digits with an optional sign (`signed`), surrounding
    whitespace allowed; None otherwise. int() alone also reads '٣', '１２' and '1_000', and
    str.isdigit() passes '²', which int() then refuses."""
    text = text.strip()
    if not _ASCII_INT.fullmatch(text) or (not signed and text[0] in "+-"):
        return None
    return int(text)


def ascii_float(text: str) -> float | None:
    """`text` as a finite number written in ASCII (float() also reads '١٢', '1_0', 'nan' and
    'infinity'); None otherwise."""
    text = text.strip()
    if len(text) > 400 or not _ASCII_FLOAT.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def id_value(value) -> int | None:
    """An id a row can have, from an int (not a bool) or ASCII digits: 1..MAX_ID; else None."""
    if isinstance(value, str):
        value = ascii_int(value, signed=False)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        return None
    return value


# -- DRF's field errors: {"field": ["message"]} -------------------------------------------------

# pydantic's own error types in DRF's words; a model's own problems keep their message
DRF_MESSAGES = {
    "missing": "This field is required.",
    "string_type": "Not a valid string.",
    "string_too_short": "This field may not be blank.",
    "string_too_long": "Ensure this field has no more than {max_length} characters.",
    "int_type": "A valid integer is required.",
    "int_parsing": "A valid integer is required.",
    "bool_type": "Must be a valid boolean.",
    "bool_parsing": "Must be a valid boolean.",
    "list_type": "Expected a list of items.",
    "dict_type": "Invalid data.",
}


def drf_message(p: Problem, messages: dict | None = None) -> str:
    """A problem in DRF's words: the door's table by code, then DRF's, then its own message."""
    template = (messages or {}).get(p.code) or DRF_MESSAGES.get(p.code)
    if template is None:
        return p.message
    return template.format(**p.ctx) if p.ctx else template


def drf_errors(error: RequestInvalid, messages: dict | None = None, non_field: str = "non_field_errors") -> dict:
    """{field: [message, ...]}, a field's first problem only (DRF stops at a field's first)."""
    out: dict[str, list[str]] = {}
    for field, problems in error.fields().items():
        out[field or non_field] = [drf_message(problems[0], messages)]
    return out


# -- query strings ------------------------------------------------------------------------------

def query(request) -> dict[str, list[str | None]]:
    """Every query parameter as a list of its values (a value that is not UTF-8 is None)."""
    out: dict[str, list[str | None]] = {}
    for key, values in request.args.items():
        try:
            name = key.decode("utf-8")
        except UnicodeDecodeError:
            continue
        decoded = []
        for v in values:
            try:
                decoded.append(v.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(None)
        out[name] = decoded
    return out


def first(values):
    """The first of a query parameter's values (None when not UTF-8)."""
    return values[0] if isinstance(values, list) else values


def given(values) -> list[str]:
    """A query parameter's values that are UTF-8."""
    if not isinstance(values, list):
        return [] if values is None else [values]
    return [v for v in values if v is not None]


# -- what validators know of the request ---------------------------------------------------------

def is_form(info) -> bool:
    """The value came from a form (repeated fields are lists), not from JSON."""
    return bool(info.context and info.context.get("form"))


def uploaded(info, name: str | None = None):
    """The multipart upload under the field's name, or None."""
    files = (info.context or {}).get("files") or {}
    return files.get(name or info.field_name)
