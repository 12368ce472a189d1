"""Reading request bodies: JSON, url-encoded forms and multipart (with files)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
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


def parse_json(raw: bytes):
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BodyError("JSON parse error")


def parse_multipart(raw: bytes, header: bytes) -> tuple[dict, dict]:
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + header + b"\r\n\r\n" + raw)
    if not message.is_multipart():
        raise BodyError("multipart body expected")
    pairs, files = [], {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = Upload(filename, part.get_content_type(), payload)
        else:
            charset = part.get_content_charset() or "utf-8"
            pairs.append((name, payload.decode(charset, "replace")))
    return _form_dict(pairs), files


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
    raw = raw_body(request)
    kind = content_type(request)
    if kind == "application/json" or (kind.endswith("+json")):
        if not raw.strip():
            return Body("empty", None)
        return Body("json", parse_json(raw))
    if kind == "application/x-www-form-urlencoded":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BodyError("form is not UTF-8")
        return Body("form", _form_dict(parse_qsl(text, keep_blank_values=True)))
    if kind == "multipart/form-data":
        fields, files = parse_multipart(raw, request.getHeader(b"content-type"))
        return Body("multipart", fields, files)
    if not raw.strip():
        return Body("empty", None)
    return Body("other", raw)
