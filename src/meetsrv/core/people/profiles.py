"""Campus profiles: display name, bio, picture, karma and the confirmation scan."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from meetsrv.core.clock import Clock
from meetsrv.core.errors import Invalid, UserNotFound
from meetsrv.core.media import MediaFiles
from meetsrv.core.people.names import DisplayNameRule
from meetsrv.store.accounts.users import User, UserStore
from meetsrv.store.db import NowOrLater, Row
from meetsrv.store.people.profiles import ProfileStore

MAX_BIO = 128  # upstream's CharField(128)
MIN_NAME_PART = 4
SEARCH_LIMIT = 100


class NameTooShort(Invalid):
    code = "name_too_short"


def _profile(user: User | None) -> User:
    if user is None:
        raise UserNotFound("User profile does not exist")
    return user


class ProfileService:
    def __init__(self, users: UserStore, store: ProfileStore, images: MediaFiles, clock: Clock,
                 name_rule: DisplayNameRule):
        self.users = users
        self.name_rule = name_rule
        self.store = store
        self.images = images
        self.clock = clock

    def get(self, user_id: int) -> NowOrLater[User]:
        """The user of a profile; UserNotFound. At once when the read cache has it, else a
        Deferred."""
        found = self.users.get_cached(user_id)
        if isinstance(found, defer.Deferred):
            return found.addCallback(_profile)
        return _profile(found)

    async def update_info(self, user_id: int, display_name: str | None = None, bio: str | None = None) -> int:
        values: dict[str, Any] = {}
        if display_name is not None:
            values["name"] = self.name_rule.check(display_name, "display_name")
        if bio is not None:
            if len(bio) > MAX_BIO:
                raise Invalid("bio is too long", field="bio")
            values["about"] = bio
        return await self.users.update(user_id, **values)

    async def set_picture(self, user_id: int, data: bytes) -> str:
        before = await self.users.get(user_id)
        path = await self.images.save_image(data, "avatars", str(user_id))
        await self.users.update(user_id, avatar=path)
        old: str = (before.avatar if before else None) or ""
        if old.startswith(f"avatars/{user_id}_"):
            await self.images.remove([old])  # only this door's own avatar files
        return path

    async def upload_confirmation(self, user_id: int, data: bytes) -> str:
        """Store the scan for staff; the user is not confirmed until they approve it."""
        path = await self.images.save_image(data, "confirmations", str(user_id))
        old = await self.store.replace_confirmation(user_id, path, self.clock.seconds())
        if old:
            await self.images.remove(old)
        return path

    async def review_confirmation(self, user_id: int, approved: bool) -> bool:
        """For staff (the admin pages): approve or reject the waiting scan; False if none waits."""
        return await self.store.review_confirmation(user_id, approved, self.clock.seconds())

    async def waiting_confirmations(self, limit: int = 200) -> list[Row]:
        """For staff (the admin pages): the scans waiting for review, oldest first."""
        return await self.store.waiting_confirmations(limit)

    async def find_by_name(self, part: str | None) -> list[Row]:
        """Users whose display name contains `part` (case-insensitive, Cyrillic too); every
        user (up to a limit) when part is None."""
        if part is None:
            return await self.store.all_names(SEARCH_LIMIT)
        if len(part) < MIN_NAME_PART:
            raise NameTooShort("Name part is too short")
        return await self.users.search_name(part, SEARCH_LIMIT)
