"""The one image helper: the PNG and JPEG bodies tests upload, and multipart bodies built by hand
(for the requests treq's `files=` cannot express: repeated fields, a chosen boundary)."""

from __future__ import annotations

import base64
import io


def png(width: int = 4, height: int = 3, color=(200, 10, 10)) -> bytes:
    """A PNG of one colour; the same arguments give the same bytes (tests compare them)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def jpeg(width: int = 5, height: int = 5, color=(1, 2, 3)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "JPEG")
    return buf.getvalue()


def jpeg_b64() -> str:
    """A small JPEG in base64 (the campus door takes pictures in JSON)."""
    return base64.b64encode(jpeg()).decode()


def multipart(fields: dict, files: dict | None = None):
    """(body, content type) of a multipart/form-data request; `fields` values may be lists,
    `files` maps a field name to (filename, content type, bytes)."""
    boundary = "----meetsrvtestboundary7MA4YWxk"
    parts = []
    for name, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{v}\r\n'.encode())
    for name, (filename, ctype, data) in (files or {}).items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
