"""Images for every door: decoded with Pillow on a thread (with a pixel limit), stored under
--media, addressed by a path relative to it (served at /media/<path>).

`check_and_store(services, data, folder, filename_hint)` is the one entry point: it refuses
what is not an image (core.errors.Invalid, code "not_an_image") or is too large
(Invalid, code "image_too_large"), and gives back the stored file's relative path.
"""

from __future__ import annotations

import io
import os
import secrets
from datetime import datetime, timezone

from twisted.internet.threads import deferToThreadPool

from meetsrv.core.errors import Invalid

# Pillow format -> file extension
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp", "TIFF": "tiff"}


class NotAnImage(Invalid):
    code = "not_an_image"


class ImageTooLarge(Invalid):
    code = "image_too_large"


def inspect_image(data: bytes, max_pixels: int) -> str:
    """The Pillow format name of `data`, or NotAnImage / ImageTooLarge. Runs on a thread."""
    from PIL import Image

    if not data:
        raise NotAnImage("The submitted file is empty.")
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise ImageTooLarge("image has too many pixels")
            fmt = img.format
            img.verify()
    except (ImageTooLarge, NotAnImage):
        raise
    except Image.DecompressionBombError:
        raise ImageTooLarge("image has too many pixels")
    except Exception:
        raise NotAnImage("not an image")
    if fmt not in _EXTENSIONS:
        raise NotAnImage(f"unsupported image format {fmt}")
    return fmt


def _safe_stem(hint: str) -> str:
    stem = os.path.splitext(os.path.basename(hint or ""))[0]
    stem = "".join(c for c in stem if c.isalnum() or c in "-_")[:40]
    return stem or "image"


def _check_and_write(media: str, data: bytes, folder: str, hint: str, max_pixels: int, now: float) -> str:
    fmt = inspect_image(data, max_pixels)
    day = datetime.fromtimestamp(now, timezone.utc).strftime("%Y/%m/%d")
    folder = "/".join(p for p in folder.strip("/").split("/") if p and p not in (".", ".."))
    relative = f"{folder}/{day}/{_safe_stem(hint)}_{secrets.token_hex(6)}.{_EXTENSIONS[fmt]}".lstrip("/")
    target = os.path.join(media, *relative.split("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return relative


def check_and_store(services, data: bytes, folder: str, filename_hint: str = ""):
    """Deferred[str]: the path (relative to --media) where the checked image was stored."""
    settings = services.settings
    reactor = services.reactor
    return deferToThreadPool(
        reactor, reactor.getThreadPool(), _check_and_write,
        settings.media, data, folder, filename_hint, settings.max_image_pixels, services.clock.seconds(),
    )


def media_url(services, path: str | None) -> str | None:
    """The absolute URL a stored media path is served at (None for no image)."""
    if not path:
        return None
    return f"{services.base_url}/media/{path}"


def remove_quietly(services, path: str | None) -> None:
    """Delete a stored file that is no longer referenced (best effort)."""
    if not path:
        return
    try:
        os.remove(os.path.join(services.settings.media, *path.split("/")))
    except OSError:
        pass
