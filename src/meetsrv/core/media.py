"""Uploaded images for every door: checked with Pillow and written under --media, on a thread.

The size is read from the header before decoding (Image.open reads only the header), so a
decompression bomb or any image over --max-image-pixels is refused undecoded;
then the image is decoded whole, so a truncated or corrupt file is refused too. A file takes the
extension of what it is, not of what it is called, so nothing under /media/ is served as HTML.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from collections.abc import Iterable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool

from meetsrv.core.errors import Invalid

# formats a browser shows -> file extension
FORMATS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp"}
# uploads are the server's to read (it serves them at /media/): not other local users'
FILE_MODE = 0o600
FOLDER_MODE = 0o700


class BadImage(Invalid):
    code = "bad_image"


def check_image(data: bytes, max_pixels: int) -> str:
    """The image's format (a FORMATS key); BadImage unless it is a whole image of an accepted
    format with at most max_pixels. Runs on a thread."""
    from PIL import Image

    if not data:
        raise BadImage("empty image")
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            width, height = img.size
            if fmt not in FORMATS:
                raise BadImage(f"unsupported image format {fmt}")
            if width <= 0 or height <= 0 or width * height > max_pixels:
                raise BadImage("image too large")
            img.load()
    except BadImage:
        raise
    except Exception as e:  # Pillow raises many kinds for a bad file
        raise BadImage(f"not an image: {type(e).__name__}")
    return fmt


def safe_stem(name: str, default: str = "image") -> str:
    base = os.path.basename((name or "").replace("\\", "/"))
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", os.path.splitext(base)[0]).strip("_")[:60]
    return stem or default


def _write_new(folder: str, stem: str, ext: str, data: bytes, suffix: bool) -> str:
    """Write data as a new file folder/stem[_random]ext; the name used."""
    os.makedirs(folder, mode=FOLDER_MODE, exist_ok=True)
    name = f"{stem}_{secrets.token_hex(8)}{ext}" if suffix else stem + ext
    for _ in range(20):
        try:
            fd = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            name = f"{stem}_{secrets.token_hex(8)}{ext}"
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return name
    raise OSError("no free file name")


def _check_and_write(media: str, folder: str, stem: str, data: bytes, max_pixels: int, suffix: bool) -> str:
    fmt = check_image(data, max_pixels)
    name = _write_new(os.path.join(media, folder), stem, FORMATS[fmt], data, suffix)
    return f"{folder}/{name}"


def _remove(media: str, relatives: list[str]) -> None:
    for relative in relatives:
        try:
            os.remove(os.path.join(media, relative))
        except OSError:
            pass


class MediaFiles:
    """Images under the --media folder, addressed by paths relative to it."""

    def __init__(self, reactor: Any, media: str, max_pixels: int):
        self.reactor = reactor
        self.media = media
        self.max_pixels = max_pixels

    def save_image(self, data: bytes, folder: str, stem: str | None = None,
                   unique_suffix: bool = True) -> Deferred[str]:
        """Deferred path (relative to --media) of the checked image; BadImage otherwise.
        With unique_suffix=False the stem is kept when that name is free (as Django's storage)."""
        stem = safe_stem(stem) if stem else secrets.token_hex(12)
        return deferToThreadPool(self.reactor, self.reactor.getThreadPool(), _check_and_write,
                                 self.media, folder, stem, data, self.max_pixels, unique_suffix)

    def remove(self, relatives: Iterable[str]) -> Deferred[None]:
        return deferToThreadPool(self.reactor, self.reactor.getThreadPool(), _remove, self.media, list(relatives))


def media_url(services: Any, path: str | None) -> str | None:
    """The absolute URL a stored media path is served at (None for no image)."""
    if not path:
        return None
    return f"{services.base_url}/media/{path}"
