"""Event images for the directory door: checked with Pillow and written on a thread."""

from __future__ import annotations

import os
import secrets
from io import BytesIO

from PIL import Image
from twisted.internet.threads import deferToThreadPool

from meetsrv.core.errors import Invalid

FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}


class BadImage(Invalid):
    code = "bad_image"


def _check_and_write(data: bytes, media: str, folder: str, max_pixels: int) -> str:
    try:
        with Image.open(BytesIO(data)) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise BadImage("image too large")
            fmt = img.format
            img.verify()
    except BadImage:
        raise
    except Exception:
        raise BadImage("not an image")
    ext = FORMATS.get(fmt)
    if ext is None:
        raise BadImage("unsupported image format")
    rel = f"{folder}/{secrets.token_hex(12)}.{ext}"
    path = os.path.join(media, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return rel


class EventImages:
    folder = "directory/events"

    def __init__(self, reactor, media: str, max_pixels: int):
        self.reactor = reactor
        self.media = media
        self.max_pixels = max_pixels

    def save(self, data: bytes):
        """Deferred media path (relative to --media) of a valid image; BadImage otherwise."""
        return deferToThreadPool(self.reactor, self.reactor.getThreadPool(), _check_and_write,
                                 data, self.media, self.folder, self.max_pixels)
