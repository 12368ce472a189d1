"""Phone accounts: sign in and sign up with an SMS code, one phone token per user, the account.

Field problems are raised as Invalid(fields={field: [code, ...]}); the door words the codes.
Codes: required, blank, max_length, exists, no_file, invalid_image.
"""

from __future__ import annotations

from twisted.internet import defer

from meetsrv.core.accounts.sms import InvalidPhone, PhoneCodes, is_valid_phone
from meetsrv.core.errors import Invalid, NotFound
from meetsrv.core.people.names import DisplayNameRule
from meetsrv.store.accounts.phone import PhoneAccountStore
from meetsrv.store.accounts.users import UserStore
from meetsrv.store.db import Conflict

TOKEN_KIND = "phone"
AVATAR_FOLDER = "images"


class PhoneAccountService:
    def __init__(self, store: PhoneAccountStore, users: UserStore, credentials, media_files, codes: PhoneCodes,
                 clock, name_rule: DisplayNameRule):
        self.store = store
        self.name_rule = name_rule
        self.users = users
        self.credentials = credentials
        self.media_files = media_files
        self.codes = codes
        self.clock = clock

    # -- codes -------------------------------------------------------------------------------
    @defer.inlineCallbacks
    def send_code(self, phone: str, client: str | None = None):
        """Text a new code; True when no user has this phone yet ("is_new"). `client` is the
        asking client's address (codes per client are limited)."""
        if not is_valid_phone(phone):
            raise InvalidPhone("Invalid phone number.")
        yield self.codes.send(phone, client)
        user = yield self.store.by_phone(phone)
        return user is None

    # -- sign in / sign up -------------------------------------------------------------------
    def _token(self, user_id: int):
        # one phone token per user: a new sign-in voids the previous one
        return self.credentials.issue(user_id, TOKEN_KIND, single=True)

    @defer.inlineCallbacks
    def sign_in(self, phone: str, code: str):
        """(token, user_id) for the right code of a registered phone. The code is checked
        first (InvalidCode / RateLimited), then the phone's user (NotFound)."""
        yield self.codes.check(phone, code)
        user = yield self.store.by_phone(phone)
        if user is None:
            raise NotFound("Not found.")
        token = yield self._token(user["id"])
        return token, user["id"]

    @defer.inlineCallbacks
    def sign_up(self, phone: str, code: str, name, avatar):
        """(token, user_id) of a new user. `avatar` is (bytes, filename) or None. The code is
        checked before the profile, as upstream, but spent only when the user is made: a refused
        sign-up changes nothing (upstream spent it)."""
        yield self.codes.check(phone, code, spend=False)
        problems = {}
        problem = self.name_rule.problem(name)
        if problem:
            problems["name"] = [problem]
        existing = yield self.store.by_phone(phone)
        if existing is not None:
            problems["phone"] = ["exists"]
        path = None
        if avatar is None:
            problems["avatar"] = ["no_file"]
        else:
            path = yield self._store_avatar(avatar, problems)
        if problems:
            self.media_files.remove([p for p in [path] if p])
            raise Invalid("invalid sign-up", fields=problems)
        try:
            user_id = yield self.store.sign_up(self.clock.seconds(), phone, name, path)
        except Conflict:
            self.media_files.remove([p for p in [path] if p])
            raise Invalid("invalid sign-up", fields={"phone": ["exists"]})
        except Exception:
            self.media_files.remove([p for p in [path] if p])
            raise
        yield self.codes.spend(phone)
        token = yield self._token(user_id)
        return token, user_id

    @defer.inlineCallbacks
    def _store_avatar(self, avatar, problems: dict):
        data, filename = avatar
        try:
            path = yield self.media_files.save_image(data, AVATAR_FOLDER, filename)
        except Invalid:
            problems["avatar"] = ["invalid_image"]
            return None
        return path

    def authenticate(self, token: str | None):
        return self.credentials.authenticate(token, (TOKEN_KIND,))

    # -- the account -------------------------------------------------------------------------
    def get(self, user_id: int):
        return self.users.get(user_id)

    @defer.inlineCallbacks
    def update(self, user_id: int, name=None, hidden_phone=None, avatar=None):
        """Partial update; None leaves a field as it is. `avatar` is (bytes, filename)."""
        problems = {}
        values = {}
        if name is not None:
            problem = self.name_rule.problem(name)
            if problem:
                problems["name"] = [problem]
            values["name"] = name
        if hidden_phone is not None:
            values["hidden_phone"] = bool(hidden_phone)
        if avatar is not None:
            path = yield self._store_avatar(avatar, problems)
            if path:
                values["avatar"] = path
        if problems:
            self.media_files.remove([p for p in [values.get("avatar")] if p])
            raise Invalid("invalid account", fields=problems)
        old = yield self.users.get(user_id)
        if values:
            yield self.users.update(user_id, **values)
        if "avatar" in values and old and old["avatar"]:
            self.media_files.remove([p for p in [old["avatar"]] if p])
        user = yield self.users.get(user_id)
        return user

    @defer.inlineCallbacks
    def delete(self, user_id: int):
        """Delete the account: its meetings pass their crowns on, its relations go with it."""
        user = yield self.users.get(user_id)
        # every door's credentials, so no process keeps a deleted user's token in its cache
        yield self.credentials.revoke_all(user_id)
        yield self.store.delete(user_id)
        if user and user["avatar"]:
            self.media_files.remove([p for p in [user["avatar"]] if p])
