"""Image checks for campus uploads (avatars, confirmation scans): Pillow on a thread, with a
pixel limit; the file is written on the thread too. No door shapes here."""

from __future__ import annotations

import os
import secrets
from io import BytesIO

from twisted.internet.threads import deferToThreadPool

from meetsrv.core.errors import Invalid

_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}


class BadImage(Invalid):
    code = "bad_image"


def inspect_image(data: bytes, max_pixels: int) -> str:
    """The file extension for a real image of an accepted format; BadImage otherwise.
    The size is read from the header first, so a decompression bomb is refused undecoded."""
    from PIL import Image

    if not data:
        raise BadImage("empty image")
    try:
        with Image.open(BytesIO(data)) as im:
            fmt = im.format
            width, height = im.size
            if width <= 0 or height <= 0 or width * height > max_pixels:
                raise BadImage("image too large")
            if fmt not in _EXTENSIONS:
                raise BadImage("unsupported image format")
            im.load()  # decode fully: a truncated or corrupt file fails here
    except BadImage:
        raise
    except Exception:
        raise BadImage("not an image")
    return _EXTENSIONS[fmt]


def _check_and_write(media: str, folder: str, stem: str, data: bytes, max_pixels: int) -> str:
    ext = inspect_image(data, max_pixels)
    relative = f"{folder}/{stem}_{secrets.token_hex(8)}.{ext}"
    path = os.path.join(media, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return relative


def _remove(media: str, relatives) -> None:
    for relative in relatives:
        try:
            os.remove(os.path.join(media, relative))
        except OSError:
            pass


class ImageSaver:
    def __init__(self, reactor, media: str, max_pixels: int):
        self.reactor = reactor
        self.media = media
        self.max_pixels = max_pixels

    def save(self, folder: str, stem: str, data: bytes):
        """Check and store the image under media/folder; the path relative to media."""
        return deferToThreadPool(self.reactor, self.reactor.getThreadPool(), _check_and_write,
                                 self.media, folder, stem, data, self.max_pixels)

    def remove(self, relatives):
        return deferToThreadPool(self.reactor, self.reactor.getThreadPool(), _remove, self.media, list(relatives))
