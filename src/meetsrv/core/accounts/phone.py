"""Phone accounts: sign in and sign up with an SMS code, one phone token per user, the account.

Field problems are raised as Invalid(fields={field: [code, ...]}); the door words the codes.
Codes: required, blank, max_length, exists, no_file, invalid_image.
"""

from __future__ import annotations

from typing import Any

from meetsrv.core.accounts.credentials import CredentialService
from meetsrv.core.accounts.sms import InvalidPhone, PhoneCodes, is_valid_phone
from meetsrv.core.clock import Clock
from meetsrv.core.errors import Invalid, NotFound
from meetsrv.core.media import MediaFiles
from meetsrv.core.people.names import DisplayNameRule
from meetsrv.store.accounts.phone import PhoneAccountStore
from meetsrv.store.accounts.users import User, UserStore
from meetsrv.store.db import Conflict, NowOrLater

TOKEN_KIND = "phone"
AVATAR_FOLDER = "images"

# an uploaded image: (bytes, the file name the client gave)
Upload = tuple[bytes, str | None]
# field -> problem codes
Problems = dict[str, list[str]]


class PhoneAccountService:
    def __init__(self, store: PhoneAccountStore, users: UserStore, credentials: CredentialService,
                 media_files: MediaFiles, codes: PhoneCodes, clock: Clock, name_rule: DisplayNameRule):
        self.store = store
        self.name_rule = name_rule
        self.users = users
        self.credentials = credentials
        self.media_files = media_files
        self.codes = codes
        self.clock = clock

    # -- codes -------------------------------------------------------------------------------
    async def send_code(self, phone: str, client: str | None = None) -> bool:
        """Text a new code; True when no user has this phone yet ("is_new"). `client` is the
        asking client's address (codes per client are limited)."""
        if not is_valid_phone(phone):
            raise InvalidPhone("Invalid phone number.")
        await self.codes.send(phone, client)
        user = await self.store.by_phone(phone)
        return user is None

    # -- sign in / sign up -------------------------------------------------------------------
    async def _token(self, user_id: int) -> str:
        # one phone token per user: a new sign-in voids the previous one
        return await self.credentials.issue(user_id, TOKEN_KIND, single=True)

    async def sign_in(self, phone: str, code: str) -> tuple[str, int]:
        """(token, user_id) for the right code of a registered phone. The code is checked
        first (InvalidCode / RateLimited), then the phone's user (NotFound)."""
        await self.codes.check(phone, code)
        user = await self.store.by_phone(phone)
        if user is None:
            raise NotFound("Not found.")
        user_id = user.id
        return await self._token(user_id), user_id

    async def sign_up(self, phone: str, code: str, name: str | None, avatar: Upload | None) -> tuple[str, int]:
        """(token, user_id) of a new user. `avatar` is (bytes, filename) or None. The code is
        checked before the profile, as upstream, but spent only when the user is made: a refused
        sign-up changes nothing (upstream spent it)."""
        await self.codes.check(phone, code, spend=False)
        problems: Problems = {}
        problem = self.name_rule.problem(name)
        if problem:
            problems["name"] = [problem]
        existing = await self.store.by_phone(phone)
        if existing is not None:
            problems["phone"] = ["exists"]
        path = None
        if avatar is None:
            problems["avatar"] = ["no_file"]
        else:
            path = await self._store_avatar(avatar, problems)
        if problems:
            self.media_files.remove([p for p in [path] if p])
            raise Invalid("invalid sign-up", fields=problems)
        assert name is not None  # else a "required" problem above
        try:
            user_id = await self.store.sign_up(self.clock.seconds(), phone, name, path)
        except Conflict:
            self.media_files.remove([p for p in [path] if p])
            raise Invalid("invalid sign-up", fields={"phone": ["exists"]})
        except Exception:
            self.media_files.remove([p for p in [path] if p])
            raise
        await self.codes.spend(phone)
        token = await self._token(user_id)
        return token, user_id

    async def _store_avatar(self, avatar: Upload, problems: Problems) -> str | None:
        data, filename = avatar
        try:
            path = await self.media_files.save_image(data, AVATAR_FOLDER, filename)
        except Invalid:
            problems["avatar"] = ["invalid_image"]
            return None
        return path

    def authenticate(self, token: str | None) -> NowOrLater[int | None]:
        """The user id of a phone token: at once when cached (or refused unread), else a Deferred."""
        return self.credentials.user_of(token, (TOKEN_KIND,))

    # -- the account -------------------------------------------------------------------------
    async def get(self, user_id: int) -> User | None:
        return await self.users.get(user_id)

    async def update(self, user_id: int, name: str | None = None, hidden_phone: object = None,
                     avatar: Upload | None = None) -> User | None:
        """Partial update; None leaves a field as it is. `avatar` is (bytes, filename)."""
        problems: Problems = {}
        values: dict[str, Any] = {}
        if name is not None:
            problem = self.name_rule.problem(name)
            if problem:
                problems["name"] = [problem]
            values["name"] = name
        if hidden_phone is not None:
            values["hidden_phone"] = bool(hidden_phone)
        if avatar is not None:
            path = await self._store_avatar(avatar, problems)
            if path:
                values["avatar"] = path
        if problems:
            self.media_files.remove([p for p in [values.get("avatar")] if p])
            raise Invalid("invalid account", fields=problems)
        old = await self.users.get(user_id)
        if values:
            await self.users.update(user_id, **values)
        if "avatar" in values and old and old.avatar:
            self.media_files.remove([old.avatar])
        user = await self.users.get(user_id)
        return user

    async def delete(self, user_id: int) -> None:
        """Delete the account: its meetings pass their crowns on, its relations go with it."""
        user = await self.users.get(user_id)
        # every door's credentials, so no process keeps a deleted user's token in its cache
        await self.credentials.revoke_all(user_id)
        await self.store.delete(user_id)
        if user and user.avatar:
            self.media_files.remove([user.avatar])
