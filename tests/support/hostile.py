"""Hypothesis strategies for hostile input: the values, bodies, query strings, path segments and
WebSocket frames the fuzz tests (test_fuzz.py) send to every door.

Each strategy mixes the classes of input that once broke a door (deep JSON, integers past the id
columns, non-ASCII digits, lone surrogates, NUL, wrong JSON types, undecodable bytes, unknown
charsets, times no output can render) with plain random values of the same shape.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import strategies as st

# -- scalars ------------------------------------------------------------------------------------

# digits that str.isdigit() and int() accept, or that only isdigit() accepts (²)
NON_ASCII_DIGITS = ("²", "٣", "١٢", "１２", "𝟙", "߁", "৩৪", "1²", "٣1", "Ⅻ")
NUL_TEXTS = ("\x00", "a\x00b", "1\x00", "\x00\x00\x00")
LONE_SURROGATES = ("\ud800", "a\udfffb", "\udc80", "\ud83d", "12\ud800")
HUGE_INTS = (2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -1, 0, -(2**31) - 1,
             -(2**63), -(2**63) - 1, 10**30, -(10**30), 10**300, 10**4000)
NUMBER_TEXTS = ("9223372036854775807", "9223372036854775808", "18446744073709551616", "2147483648",
                "-9223372036854775809", "1e999", "-0", "0x1f", "1_000", " 12 ", "+1", "1.5", "1.0",
                "NaN", "Infinity", "-Infinity", "0" * 30 + "1", "9" * 400, "1e308", "")
TIME_TEXTS = ("0001-01-01", "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00Z", "9999-12-31",
              "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59.999999-23:59", "10000-01-01",
              "2031-02-30", "2031-13-01", "0000-00-00", "2031-01-01T25:00:00", "1969-12-31T23:59:59Z",
              "2031-1-5", "-2031-01-01", "2031-01-01T00:00:00+99:00", "٢٠٣١-٠١-٠١")
EPOCHS = (-62135596801, -62135596800, 253402300799, 253402300800, 10**12, 10**20, -(10**20), 1e300)
ODD_TEXTS = ("", " ", "\t\n", "a" * 300, "ä" * 200, "\u202e", "\ufeff", "%00", "..", "../../etc/passwd",
             "<script>", "'; DROP TABLE users; --", "{}", "[]", "null", "true", "\\", "\r\n", "🙂" * 3,
             "data:image/png;base64,AAAA", "Token x", "vk", "+79250741410", "admin@example.com")

FIXED_TEXTS = NON_ASCII_DIGITS + NUL_TEXTS + LONE_SURROGATES + NUMBER_TEXTS + TIME_TEXTS + ODD_TEXTS

# any code point, surrogates included (Hypothesis leaves them out unless told)
any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())


# Strategies are built once: building one is costly next to drawing from it.

def _joined(parts) -> str:
    return parts[0] + parts[1]


texts = st.one_of(
    st.sampled_from(FIXED_TEXTS),
    st.text(any_char, max_size=12),
    st.tuples(st.sampled_from(FIXED_TEXTS), st.text(any_char, max_size=4)).map(_joined),
)
integers = st.one_of(st.sampled_from(HUGE_INTS + EPOCHS[:-1]), st.integers(), st.integers(-5, 40))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from((1e300, -0.0, 0.5, 2.0**63)))
scalars = st.one_of(st.none(), st.booleans(), integers, floats, texts)
_keys = st.one_of(st.sampled_from(("id", "lat", "lng", "message", "user_id", "text", "params")), texts)


def _containers(inner):
    return st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4))


# a JSON value of any type, shallow (deep nesting has its own bodies)
json_values = st.recursive(scalars, _containers, max_leaves=6)


def deep_json(depth: int, kind: str = "list") -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


deep_json_texts = st.builds(deep_json, st.sampled_from((64, 1_000, 30_000)), st.sampled_from(("list", "dict")))


def dumps(value, ascii_only: bool) -> bytes:
    """JSON with NaN and Infinity as Python writes them; a lone surrogate written as is makes the
    text undecodable as UTF-8 (surrogatepass), escaped it is valid JSON (\\ud800)."""
    return json.dumps(value, ensure_ascii=ascii_only, allow_nan=True).encode("utf-8", "surrogatepass")


def raw_text(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def percent(value) -> str:
    """A value as it goes in a URL: every byte percent-encoded (a lone surrogate as its three
    bytes, which are not UTF-8)."""
    data = value if isinstance(value, bytes) else raw_text(str(value))
    return quote(data, safe="")


# -- request parts ------------------------------------------------------------------------------

CHARSETS = ("utf-8", "utf-7", "utf-16", "utf-32", "latin-1", "cp1252", "koi8-r", "bogus-charset", "base64",
            "rot13", "idna", "punycode", "hz", "zlib", "uu", "x" * 300, "")

# a value as a query string, form or multipart body sends it: text, a number, or bytes
_plain_values = st.one_of(texts, integers.map(str), st.binary(max_size=10))


def _named(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    """One of the route's own names (mostly) or any other."""
    return st.one_of(st.sampled_from(names or ("x",)), st.sampled_from(names or ("x",)), texts)


@st.composite
def query_strings(draw, names: tuple[str, ...]) -> str:
    """`?a=..&b=..` with the route's own parameter names and some others, values hostile."""
    pairs = draw(st.lists(st.tuples(_named(names), _plain_values), max_size=4))
    return "?" + "&".join(f"{percent(k)}={percent(v)}" for k, v in pairs) if pairs else ""


# a path variable: ids past every column, non-ASCII digits, NUL, surrogate bytes, junk
path_segments = st.one_of(
    st.sampled_from(("0", "-1", "1", "2147483647", "2147483648", "9223372036854775807",
                     "9223372036854775808", "18446744073709551616", "9" * 30, "9" * 5000, "1e3", "01")),
    st.sampled_from(NON_ASCII_DIGITS + NUL_TEXTS + LONE_SURROGATES + ("..", ".", "a/b", "%", "x" * 300)).map(percent),
    texts.filter(bool).map(percent),
    st.binary(min_size=1, max_size=6).map(percent),
)


def multipart_body(pairs, files, boundary="fuzzb0undary") -> tuple[bytes, str]:
    """(body, Content-Type): `pairs` are (name, value, charset or None), `files` (name, filename, data)."""
    out = []
    for name, value, charset in pairs:
        data = value if isinstance(value, bytes) else raw_text(str(value))
        ctype = f"Content-Type: text/plain; charset={charset}\r\n" if charset is not None else ""
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{percent(name)}"\r\n'.encode()
                   + ctype.encode("latin-1", "replace") + b"\r\n" + data + b"\r\n")
    for name, filename, data in files:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                   f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


BODY_KINDS = ("json", "json", "json", "deep", "field_deep", "json_not_object", "form", "multipart", "raw", "empty")
RAW_TYPES = (None, "application/json", "application/x-www-form-urlencoded", "multipart/form-data",
             "multipart/form-data; boundary=", "text/plain", "application/json; charset=utf-16",
             "application/problem+json", "application/octet-stream", "image/png", "ä/ö")
FILENAMES = ("a.png", "x", "", "..%2F.png", "é.jpg")


@st.composite
def bodies(draw, fields: tuple[str, ...], file_fields: tuple[str, ...] = (), known: dict | None = None
           ) -> tuple[bytes, str | None]:
    """(body, Content-Type) of every kind a door may be sent. `known` values (a form's CSRF
    value) are sent as they are in half the JSON, form and multipart bodies."""
    kind = draw(st.sampled_from(BODY_KINDS))
    known = known if known and draw(st.booleans()) else {}
    if kind == "json":
        obj = draw(st.dictionaries(_named(fields), json_values, max_size=6))
        return dumps({**obj, **known}, draw(st.booleans())), "application/json"
    if kind == "deep":
        return draw(deep_json_texts).encode(), "application/json"
    if kind == "field_deep":  # {"<field>": [[[[...]]]]}
        name = json.dumps(draw(st.sampled_from(fields or ("x",))))
        return ("{" + name + ":" + draw(deep_json_texts) + "}").encode(), "application/json"
    if kind == "json_not_object":
        return dumps(draw(json_values), True), "application/json"
    if kind == "form":
        pairs = draw(st.lists(st.tuples(_named(fields), _plain_values), max_size=6)) + list(known.items())
        return "&".join(f"{percent(k)}={percent(v)}" for k, v in pairs).encode(), "application/x-www-form-urlencoded"
    if kind == "multipart":
        charsets = st.one_of(st.none(), st.sampled_from(CHARSETS))
        pairs = draw(st.lists(st.tuples(_named(fields), _plain_values, charsets), max_size=6))
        pairs += [(k, v, None) for k, v in known.items()]
        files = draw(st.lists(st.tuples(st.sampled_from(file_fields or ("file",)), st.sampled_from(FILENAMES),
                                        st.binary(max_size=40)), max_size=2))
        return multipart_body(pairs, files)
    if kind == "raw":
        return draw(st.binary(max_size=64)), draw(st.sampled_from(RAW_TYPES))
    return b"", draw(st.sampled_from((None, "application/json")))


def _form_value(value) -> object:
    if isinstance(value, (str, bytes)):
        return value
    if value is None or isinstance(value, (bool, dict)):
        return json.dumps(value)
    return str(value)


def _form_pairs(obj: dict) -> list[tuple[str, object]]:
    """A form of a JSON object: a list is its name repeated."""
    pairs = []
    for name, value in obj.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, _form_value(item)))
    return pairs


@st.composite
def mutated_bodies(draw, example: dict, known: dict | None = None) -> tuple[bytes, str]:
    """A request the route accepts (`example`, with `known` values) with one or two of its
    fields hostile: past the first checks, into the route's own."""
    obj = {**example, **(known or {})}
    for name in draw(st.lists(st.sampled_from(sorted(example)), min_size=1, max_size=2, unique=True)):
        obj[name] = draw(json_values)
    kind = draw(st.sampled_from(("json", "json", "form", "multipart")))
    if kind == "json":
        return dumps(obj, draw(st.booleans())), "application/json"
    if kind == "form":
        return "&".join(f"{percent(k)}={percent(v)}" for k, v in _form_pairs(obj)).encode(), \
            "application/x-www-form-urlencoded"
    charsets = st.one_of(st.none(), st.none(), st.sampled_from(CHARSETS))
    return multipart_body([(k, v, draw(charsets)) for k, v in _form_pairs(obj)], [])


@st.composite
def mutated_queries(draw, example: dict) -> str:
    """`example`'s query string with one or two of its parameters hostile."""
    obj = dict(example)
    for name in draw(st.lists(st.sampled_from(sorted(example)), min_size=1, max_size=2, unique=True)):
        obj[name] = draw(_plain_values)
    return "?" + "&".join(f"{percent(k)}={percent(v)}" for k, v in _form_pairs(obj))


# -- WebSocket frames ---------------------------------------------------------------------------

def _text_frame(value: str) -> tuple[bytes, bool]:
    return raw_text(value), False


def _binary_frame(data: bytes) -> tuple[bytes, bool]:
    return data, True


def _json_frame(value) -> tuple[bytes, bool]:
    return dumps(value, True), False


def frames(shape) -> st.SearchStrategy[tuple[bytes, bool]]:
    """(payload, is_binary): `shape(value)` wraps a hostile value into the door's own frame
    ({"text": v}, {"message": v}, ...); other frames are any JSON, deep JSON, text, bytes."""
    return st.one_of(
        json_values.map(shape).map(_json_frame),
        json_values.map(shape).map(_json_frame),
        json_values.map(_json_frame),
        deep_json_texts.map(_text_frame),
        texts.map(_text_frame),
        st.binary(max_size=32).map(_binary_frame),
    )
