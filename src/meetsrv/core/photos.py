"""User photos: checked with Pillow on a thread, saved under --media/user-photos/, the first one
becomes the avatar; only the owner sets the avatar or deletes a photo."""

from __future__ import annotations

import io
import os
import re
import secrets

from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool

from meetsrv.core.errors import Invalid, NotPermitted
from meetsrv.store.photos import PhotoStore

FOLDER = "user-photos"
# formats a browser shows; the file gets the extension of what it is, not of what it is called
FORMATS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}
MAX_PHOTO_BYTES = 10 * 1024 * 1024


class NotAnImage(Invalid):
    code = "not_an_image"


class NoFile(Invalid):
    code = "no_file"


def check_image(data: bytes, max_pixels: int) -> str:
    """The image's format (a FORMATS key); NotAnImage when it is not a whole, allowed image
    of at most max_pixels. Runs on a thread."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            width, height = img.size
            if fmt not in FORMATS:
                raise NotAnImage(f"unsupported image format {fmt}")
            if width <= 0 or height <= 0 or width * height > max_pixels:
                raise NotAnImage("image too large")
            img.load()  # decodes: a truncated or corrupt image fails here
    except NotAnImage:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise NotAnImage(f"not an image: {e}")
    return fmt


def safe_stem(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/"))
    stem = os.path.splitext(base)[0]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60]
    return stem or "photo"


def _save(folder: str, stem: str, ext: str, data: bytes) -> str:
    """Write data as folder/stem+ext, or stem_<random>+ext when taken (as Django's storage
    renames). Returns the file name."""
    os.makedirs(folder, exist_ok=True)
    name = stem + ext
    for _ in range(20):
        try:
            fd = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            name = f"{stem}_{secrets.token_hex(4)}{ext}"
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return name
    raise OSError("no free file name")


def _check_and_save(data: bytes, max_pixels: int, folder: str, filename: str) -> str:
    fmt = check_image(data, max_pixels)
    return _save(folder, safe_stem(filename), FORMATS[fmt], data)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


class PhotoService:
    def __init__(self, store: PhotoStore, media: str, reactor, clock, max_pixels: int):
        self.store = store
        self.media = media
        self.reactor = reactor
        self.clock = clock
        self.max_pixels = max_pixels

    def _thread(self, fn, *args):
        return deferToThreadPool(self.reactor, self.reactor.getThreadPool(), fn, *args)

    @defer.inlineCallbacks
    def upload(self, user_id: int, filename: str, data: bytes):
        """Check and store a photo; the row {"id","path","is_avatar",...}."""
        if not data:
            raise NoFile("no file in request")
        if len(data) > MAX_PHOTO_BYTES:
            raise NotAnImage("file too large")
        folder = os.path.join(self.media, FOLDER)
        name = yield self._thread(_check_and_save, data, self.max_pixels, folder, filename)
        path = f"{FOLDER}/{name}"
        try:
            photo = yield self.store.add(user_id, path, self.clock.seconds())
        except Exception:
            yield self._thread(_remove, os.path.join(self.media, path))
            raise
        return photo

    @defer.inlineCallbacks
    def set_avatar(self, user_id: int, photo_id: int):
        if not (yield self.store.set_avatar(user_id, photo_id)):
            raise NotPermitted("not your photo")

    @defer.inlineCallbacks
    def delete(self, user_id: int, photo_id: int):
        path = yield self.store.delete(user_id, photo_id)
        if path is None:
            raise NotPermitted("not your photo")
        yield self._thread(_remove, os.path.join(self.media, path))

    def of_user(self, user_id: int):
        return self.store.of_user(user_id)

    def of_users(self, user_ids):
        return self.store.of_users(user_ids)
