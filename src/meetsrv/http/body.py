"""Reading request bodies: JSON, url-encoded forms and multipart (with files).

A multipart body is parsed before the route runs, on a thread, and only for routes that take a
file (http/multipart.py); here it is only picked up."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl


class BodyError(ValueError):
    """The body could not be read as the content type it claims."""


class UnsupportedMediaType(BodyError):
    """A body of a content type no door reads."""

    def __init__(self, media_type: str, header: str):
        super().__init__(media_type)
        self.media_type = media_type  # without parameters, lower-case
        self.header = header  # the Content-Type header as sent


class NotAnObject(BodyError):
    """A JSON body that is not an object (its Python type name, as DRF's message has it)."""

    def __init__(self, type_name: str):
        super().__init__(type_name)
        self.type_name = type_name


@dataclass
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Body:
    """A parsed body: `data` is the JSON value or a {name: value | [values]} form; `files` uploads."""

    kind: str  # "json", "form", "multipart", "empty", "other"
    data: object = None
    files: dict = field(default_factory=dict)

    def get(self, name, default=None):
        if isinstance(self.data, dict):
            return self.data.get(name, default)
        return default


def content_type(request) -> str:
    raw = request.getHeader(b"content-type") or b""
    return raw.decode("latin-1").split(";")[0].strip().lower()


def raw_body(request) -> bytes:
    request.content.seek(0)
    return request.content.read()


def _form_dict(pairs) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            if not isinstance(out[k], list):
                out[k] = [out[k]]
            out[k].append(v)
        else:
            out[k] = v
    return out


# Deeper than any request of any door: a deeper value is refused before anything walks it (30,000
# levels raised RecursionError in the parser; a few hundred would in code that recurses).
MAX_JSON_DEPTH = 32


def _not_json(name: str):
    raise ValueError(f"{name} is not JSON")


def json_depth_exceeds(value, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than `limit` in `value` (walked without recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (list, dict)):
            if depth > limit:
                return True
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def parse_json(raw: bytes):
    """A JSON text (RFC 8259: UTF-8, no NaN or Infinity) nested at most MAX_JSON_DEPTH deep;
    BodyError otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("JSON parse error")
    return loads_json(text)


def loads_json(text: str):
    """parse_json of text already decoded (a WebSocket frame)."""
    try:
        value = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):
        raise BodyError("JSON parse error")
    if json_depth_exceeds(value):
        raise BodyError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


# Django's DATA_UPLOAD_MAX_NUMBER_FIELDS: the most fields of a url-encoded form
MAX_FORM_FIELDS = 1000


def _site_value(request, name: str, default):
    site = getattr(request.channel, "site", None) if getattr(request, "channel", None) else None
    return getattr(site, name, default)


def parse_form(request, text: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of a url-encoded form; BodyError past the site's field limit."""
    try:
        return parse_qsl(text, keep_blank_values=True,
                         max_num_fields=_site_value(request, "max_form_fields", MAX_FORM_FIELDS) or None)
    except ValueError:
        raise BodyError("Too many fields in the form")


def parse_multipart(request) -> tuple[dict, dict]:
    """(fields, files) of the request's multipart body, parsed before the route ran."""
    from meetsrv.http import multipart

    parsed = multipart.parsed(request)
    return parsed.fields, parsed.files


@dataclass
class Fields:
    """A body's named values for a request model: a JSON object's members, or a form's fields
    (a repeated field is a list of its values). `files` are a multipart body's uploads."""

    data: dict
    form: bool = False
    files: dict = field(default_factory=dict)

    def context(self) -> dict:
        return {"form": self.form, "files": self.files}


def fields(request) -> Fields:
    """The body's fields: {} when empty; BodyError when malformed, UnsupportedMediaType for a
    content type other than JSON and forms, NotAnObject for JSON that is not an object."""
    body = read_body(request)
    if body.kind == "other":
        header = (request.getHeader(b"content-type") or b"").decode("latin-1")
        raise UnsupportedMediaType(content_type(request), header)
    if body.kind == "empty":
        return Fields({})
    if body.kind == "json":
        if not isinstance(body.data, dict):
            raise NotAnObject(type(body.data).__name__)
        return Fields(body.data)
    return Fields(body.data, form=True, files=body.files)


def json_object(request) -> dict:
    """The body as a JSON object, whatever its content type; BodyError otherwise."""
    value = parse_json(raw_body(request))
    if not isinstance(value, dict):
        raise BodyError("a JSON object expected")
    return value


def read_body(request) -> Body:
    """Parse the request body by its Content-Type. Raises BodyError on a malformed body."""
    kind = content_type(request)
    if kind == "multipart/form-data":
        fields, files = parse_multipart(request)
        return Body("multipart", fields, files)
    raw = raw_body(request)
    if kind == "application/json" or (kind.endswith("+json")):
        if not raw.strip():
            return Body("empty", None)
        return Body("json", parse_json(raw))
    if kind == "application/x-www-form-urlencoded":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BodyError("form is not UTF-8")
        return Body("form", _form_dict(parse_form(request, text)))
    if not raw.strip():
        return Body("empty", None)
    return Body("other", raw)
