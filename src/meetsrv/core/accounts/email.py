"""Directory accounts: email + password (+ optional phone), JWT pairs, staff accounts."""

from __future__ import annotations

from typing import Any

from meetsrv.core.accounts.jwt import JwtTokens
from meetsrv.core.accounts.limiter import LoginLimiter, PasswordLogin
from meetsrv.core.accounts.passwords import PasswordHasher
from meetsrv.core.clock import Clock
from meetsrv.core.errors import AlreadyExists, WrongCredentials
from meetsrv.store.accounts.email import DirectoryAccountStore
from meetsrv.store.accounts.users import User
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
    def __init__(self, store: DirectoryAccountStore, passwords: PasswordHasher, tokens: JwtTokens, clock: Clock,
                 limiter: LoginLimiter):
        self.store = store
        self.passwords = passwords
        self.tokens = tokens
        self.clock = clock
        # the directory door and the staff pages sign in by email through this, and only this
        self.password_login = PasswordLogin(limiter, "email", self.verify_password, email_account)

    async def sign_up(self, email: str, password: str, phone: str | None = None) -> dict[str, Any]:
        """The new user row; AlreadyExists(field=...) if the email or phone is taken."""
        email = normalize_email(email)
        if (await self.store.by_email(email)) is not None:
            raise AlreadyExists("email taken", field="email")
        if phone and (await self.store.id_by_phone(phone)) is not None:
            raise AlreadyExists("phone taken", field="phone")
        password_hash = await self.passwords.hash(password)
        try:
            user_id = await self.store.insert(self.clock.seconds(), email=email, phone=phone or None, door="directory",
                                              password_hash=password_hash, name=email.split("@")[0])
        except Conflict:
            raise AlreadyExists("email or phone taken", field="email")
        return {"id": user_id, "email": email, "phone": phone or None}

    async def verify_password(self, email: str, password: str) -> User:
        """The user for a right email and password; WrongCredentials. Not limited:
        sign-ins go through `password_login`."""
        user = await self.store.by_email(normalize_email(email))
        ok = await self.passwords.verify(password, user.password_hash if user else None)
        if user is None or not ok or not user.active:  # Django: an inactive user signs in nowhere
            raise WrongCredentials("no active account found with the given credentials")
        return user

    async def sign_in(self, email: str, password: str) -> dict[str, str]:
        """A JWT pair; WrongCredentials, or LoginLimited after too many failures for this email."""
        user = await self.password_login.check(email, password)
        return await self.tokens.pair(user.id)

    async def refresh(self, refresh: str) -> dict[str, str] | None:
        """A new pair; None if the refresh token is invalid, expired or spent."""
        return await self.tokens.rotate(refresh)

    def authenticate(self, access: str | None) -> int | None:
        return self.tokens.decode(access, "access")

    async def create_staff(self, email: str, password: str, promote: bool = False) -> dict[str, Any]:
        """A new staff account: {"id", "email", "created": True}. An existing account with this
        email is AlreadyExists, unless `promote`: then it is made staff with this password
        ("created": False)."""
        email = normalize_email(email)
        password_hash = await self.passwords.hash(password)
        user = await self.store.by_email(email)
        if user is None:
            try:
                user_id = await self.store.insert(self.clock.seconds(), email=email, password_hash=password_hash,
                                                  is_staff=True, name=email.split("@")[0])
                return {"id": user_id, "email": email, "created": True}
            except Conflict:  # made at the same moment by another request
                user = await self.store.by_email(email)
                if user is None:  # and gone again
                    raise
        if not promote:
            raise AlreadyExists("an account with this email exists", field="email")
        await self.store.set_staff(user.id, password_hash)
        return {"id": user.id, "email": email, "created": False}

    async def ensure_staff(self, email: str, password: str) -> int:
        """Create a staff account, or make an existing one staff with this password; its id."""
        staff = await self.create_staff(email, password, promote=True)
        user_id: int = staff["id"]
        return user_id
