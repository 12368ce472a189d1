"""Directory accounts: email + password (+ optional phone), JWT pairs, staff accounts."""

from __future__ import annotations

from twisted.internet import defer

from meetsrv.core.accounts.limiter import LoginLimiter, PasswordLogin
from meetsrv.core.errors import AlreadyExists, WrongCredentials
from meetsrv.store.accounts.email import DirectoryAccountStore
from meetsrv.store.db import Conflict


def normalize_email(email: str) -> str:
    """As Django does: the domain part lower-cased."""
    local, sep, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if sep else email.strip()


def email_account(email: str) -> str:
    """The name an email's failed sign-ins are counted under (all lower case: spellings of one
    address share one count)."""
    return normalize_email(email).lower()


class DirectoryAccounts:
    def __init__(self, store: DirectoryAccountStore, passwords, tokens, clock, limiter: LoginLimiter):
        self.store = store
        self.passwords = passwords
        self.tokens = tokens
        self.clock = clock
        # the directory door and the staff pages sign in by email through this, and only this
        self.password_login = PasswordLogin(limiter, "email", self.verify_password, email_account)

    @defer.inlineCallbacks
    def sign_up(self, email: str, password: str, phone: str | None = None):
        """The new user row; AlreadyExists(field=...) if the email or phone is taken."""
        email = normalize_email(email)
        if (yield self.store.by_email(email)) is not None:
            raise AlreadyExists("email taken", field="email")
        if phone and (yield self.store.id_by_phone(phone)) is not None:
            raise AlreadyExists("phone taken", field="phone")
        password_hash = yield self.passwords.hash(password)
        try:
            user_id = yield self.store.insert(self.clock.seconds(), email=email, phone=phone or None, door="directory",
                                              password_hash=password_hash, name=email.split("@")[0])
        except Conflict:
            raise AlreadyExists("email or phone taken", field="email")
        return {"id": user_id, "email": email, "phone": phone or None}

    @defer.inlineCallbacks
    def verify_password(self, email: str, password: str):
        """The user row for a right email and password; WrongCredentials. Not limited:
        sign-ins go through `password_login`."""
        user = yield self.store.by_email(normalize_email(email))
        ok = yield self.passwords.verify(password, user["password_hash"] if user else None)
        if user is None or not ok or not user["active"]:  # Django: an inactive user signs in nowhere
            raise WrongCredentials("no active account found with the given credentials")
        return user

    @defer.inlineCallbacks
    def sign_in(self, email: str, password: str):
        """A JWT pair; WrongCredentials, or LoginLimited after too many failures for this email."""
        user = yield self.password_login.check(email, password)
        pair = yield defer.ensureDeferred(self.tokens.pair(user["id"]))
        return pair

    def refresh(self, refresh: str):
        """A new pair; None if the refresh token is invalid, expired or spent."""
        return defer.ensureDeferred(self.tokens.rotate(refresh))

    def authenticate(self, access: str | None) -> int | None:
        return self.tokens.decode(access, "access")

    @defer.inlineCallbacks
    def create_staff(self, email: str, password: str, promote: bool = False):
        """A new staff account: {"id", "email", "created": True}. An existing account with this
        email is AlreadyExists, unless `promote`: then it is made staff with this password
        ("created": False)."""
        email = normalize_email(email)
        password_hash = yield self.passwords.hash(password)
        user = yield self.store.by_email(email)
        if user is None:
            try:
                user_id = yield self.store.insert(self.clock.seconds(), email=email, password_hash=password_hash,
                                                  is_staff=True, name=email.split("@")[0])
                return {"id": user_id, "email": email, "created": True}
            except Conflict:  # made at the same moment by another request
                user = yield self.store.by_email(email)
        if not promote:
            raise AlreadyExists("an account with this email exists", field="email")
        yield self.store.set_staff(user["id"], password_hash)
        return {"id": user["id"], "email": email, "created": False}

    @defer.inlineCallbacks
    def ensure_staff(self, email: str, password: str):
        """Create a staff account, or make an existing one staff with this password; its id."""
        staff = yield self.create_staff(email, password, promote=True)
        return staff["id"]
