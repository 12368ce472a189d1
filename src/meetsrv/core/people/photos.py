"""User photos: checked with Pillow on a thread, saved under --media/user-photos/, the first one
becomes the avatar; only the owner sets the avatar or deletes a photo."""

from __future__ import annotations

from collections.abc import Iterable

from meetsrv.core.clock import Clock
from meetsrv.core.errors import Invalid, NotPermitted
from meetsrv.core.media import BadImage, MediaFiles
from meetsrv.store.db import Row
from meetsrv.store.people.photos import PhotoStore

FOLDER = "user-photos"
MAX_PHOTO_BYTES = 10 * 1024 * 1024


class NoFile(Invalid):
    code = "no_file"


class PhotoService:
    def __init__(self, store: PhotoStore, files: MediaFiles, clock: Clock):
        self.store = store
        self.files = files
        self.clock = clock

    async def upload(self, user_id: int, filename: str, data: bytes) -> Row:
        """Check and store a photo; the row {"id","path","is_avatar",...}."""
        if not data:
            raise NoFile("no file in request")
        if len(data) > MAX_PHOTO_BYTES:
            raise BadImage("file too large")
        # the name asked for is kept when free, as upstream's storage did
        path = await self.files.save_image(data, FOLDER, filename or "photo", unique_suffix=False)
        try:
            photo = await self.store.add(user_id, path, self.clock.seconds())
        except Exception:
            await self.files.remove([path])
            raise
        return photo

    async def set_avatar(self, user_id: int, photo_id: int) -> None:
        if not (await self.store.set_avatar(user_id, photo_id)):
            raise NotPermitted("not your photo")

    async def delete(self, user_id: int, photo_id: int) -> None:
        path = await self.store.delete(user_id, photo_id)
        if path is None:
            raise NotPermitted("not your photo")
        await self.files.remove([path])

    async def of_user(self, user_id: int) -> list[Row]:
        return await self.store.of_user(user_id)

    async def of_users(self, user_ids: Iterable[int]) -> dict[int, list[Row]]:
        return await self.store.of_users(user_ids)
