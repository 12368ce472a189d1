"""Staff: the rules behind the /admin/ pages. Staff sessions, the reads of every door's data, and
the actions on accounts (rename, deactivate and reactivate, delete, staff or not, end all
sessions, review confirmation scans), each written to the log of staff actions.

The admin pages call this service only, as a door calls core: they know HTTP and HTML, this
knows the rules and the stores.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from meetsrv.core.accounts.credentials import CredentialService
from meetsrv.core.accounts.email import DirectoryAccounts
from meetsrv.core.clock import Clock
from meetsrv.core.errors import NotFound, NotPermitted, WrongCredentials
from meetsrv.core.people.names import CAMPUS_NAME, PHONE_NAME, SOCIAL_NAME, DisplayNameRule
from meetsrv.core.people.profiles import ProfileService
from meetsrv.store.accounts.users import User, UserStore
from meetsrv.store.db import Row
from meetsrv.store.staff import Page, StaffStore

SESSION_KIND = "admin"
LINK_KIND = "admin_link"
SESSION_TTL = 12 * 3600.0

# what each logged action is called on the pages
# a display name set by staff keeps to the rule of the door the account came from (the limits of
# that door's clients); the widest, the column's, for the others
NAME_RULES = {"social": SOCIAL_NAME, "campus": CAMPUS_NAME, "phone": PHONE_NAME}
DEFAULT_NAME_RULE = PHONE_NAME

ACTIONS = {
    "rename": "changed the display name of",
    "deactivate": "deactivated",
    "reactivate": "reactivated",
    "delete": "deleted",
    "make_staff": "made staff",
    "remove_staff": "removed staff from",
    "end_sessions": "ended all sessions of",
    "approve_confirmation": "approved the confirmation scan of",
    "reject_confirmation": "rejected the confirmation scan of",
}


def label(user: User) -> str:
    """How a user reads in the log: the name, with the email or phone beside it."""
    primary = user.name or user.username or user.email or user.phone or f"user {user.id}"
    contact = user.email or user.phone
    text = f"{primary} <{contact}>" if contact and contact != primary else primary
    return text[:255]


class StaffService:
    def __init__(self, store: StaffStore, users: UserStore, credentials: CredentialService,
                 email_accounts: DirectoryAccounts, delete_account: Callable[[int], Awaitable[None]],
                 profiles: ProfileService, clock: Clock):
        """`delete_account(user_id)` is core's one rule for deleting an account (the phone door's);
        `email_accounts` checks the email and password a staff member signs in with (behind the
        one login limiter)."""
        self.store = store
        self.users = users
        self.credentials = credentials
        self.email_accounts = email_accounts
        self.delete_account = delete_account
        self.profiles = profiles
        self.clock = clock

    # -- sessions ------------------------------------------------------------------------------
    async def sign_in(self, email: str, password: str) -> str:
        """A session token for a staff member's right email and password. LoginLimited after too
        many failures for the email; WrongCredentials for anything else (not staff included)."""
        user = await self.email_accounts.password_login.check(email[:254], password[:1024])
        if not user.is_staff:
            raise WrongCredentials("not a staff account")
        return await self.credentials.issue(user.id, SESSION_KIND, ttl=SESSION_TTL)

    async def session_user(self, token: str | None) -> User | None:
        """The staff member a session token belongs to, while they are active staff; else None."""
        user_id = await self.credentials.authenticate(token, (SESSION_KIND,))
        if user_id is None:
            return None
        user = await self.users.get(user_id)
        if user is None or not user.is_staff or not user.active:
            return None
        return user

    async def end_session(self, token: str) -> None:
        await self.credentials.revoke(token)

    async def login_link(self, user_id: int, ttl: float = 300.0) -> str:
        """A one-time token that signs a staff member in (scripts, a headless browser)."""
        return await self.credentials.issue(user_id, LINK_KIND, ttl=ttl)

    async def use_login_link(self, token: str) -> str | None:
        """A session token for a valid, unspent link of an active staff member; else None."""
        user_id = await self.credentials.consume(token, LINK_KIND) if token and len(token) < 200 else None
        user = await self.users.get(user_id) if user_id is not None else None
        if user is None or not user.is_staff or not user.active:
            return None
        return await self.credentials.issue(user.id, SESSION_KIND, ttl=SESSION_TTL)

    # -- reads ---------------------------------------------------------------------------------
    async def counts(self) -> dict[str, int]:
        return await self.store.counts()

    async def users_page(self, **filters: Any) -> Page:
        """(count, rows); filters: query, staff, active, door, sort, limit, offset."""
        return await self.store.users(**filters)

    async def user(self, user_id: int) -> Row:
        """A user with their identities at every door, credentials counted by kind, meetings,
        chats, organizations and the staff actions on them."""
        user = await self.store.user(user_id)
        if user is None:
            raise NotFound("no such user")
        user["credentials"] = await self.credentials.count_by_kind(user_id)
        _, user["actions"] = await self.store.actions(target_id=user_id, limit=50)
        return user

    async def organizations_page(self, **filters: Any) -> Page:
        return await self.store.organizations(**filters)

    async def organization(self, org_id: int) -> Row:
        org = await self.store.organization(org_id)
        if org is None:
            raise NotFound("no such organization")
        return org

    async def meetings_page(self, **filters: Any) -> Page:
        """(count, rows) of meetings and events of every door; filters: query, kind, day_gte,
        day_lte (ISO days), sort, limit, offset."""
        return await self.store.meetings(**filters)

    async def meeting(self, meeting_id: int) -> Row:
        meeting = await self.store.meeting(meeting_id)
        if meeting is None:
            raise NotFound("no such meeting")
        return meeting

    async def chats_page(self, **filters: Any) -> Page:
        return await self.store.chats(**filters)

    async def chat(self, chat_id: int, before: int | None = None) -> Row:
        chat = await self.store.chat(chat_id, before)
        if chat is None:
            raise NotFound("no such chat")
        return chat

    async def actions_page(self, **filters: Any) -> Page:
        return await self.store.actions(**filters)

    async def waiting_confirmations(self) -> list[Row]:
        return await self.profiles.waiting_confirmations()

    # -- actions ---------------------------------------------------------------------------------
    async def _target(self, user_id: int) -> User:
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    @staticmethod
    def _not_self(staff: User, target: User, what: str) -> None:
        # a staff member who could lock themselves out would leave nobody to undo it
        if staff.id == target.id:
            raise NotPermitted(f"You cannot {what} your own account.")

    async def _log(self, staff: User, action: str, target: User, detail: str = "") -> None:
        await self.store.log_action(self.clock.seconds(), staff.id, label(staff), action, target.id,
                                    label(target), detail)

    @staticmethod
    def name_rule(door: str | None) -> DisplayNameRule:
        """The display-name rule of the door an account came from."""
        return NAME_RULES.get(door or "", DEFAULT_NAME_RULE)

    async def rename(self, staff: User, user_id: int, name: str | None) -> None:
        """DisplayNameInvalid when the rule of the user's door refuses the name."""
        target = await self._target(user_id)
        self.name_rule(target.door).check(name)
        await self.users.update(user_id, name=name)
        await self._log(staff, "rename", target, f"{target.name} → {name}")

    async def set_active(self, staff: User, user_id: int, active: bool) -> None:
        """Deactivate: no door signs the user in or issues them a credential, and every credential
        they hold ends now, in every process. Reactivate: they may sign in again."""
        target = await self._target(user_id)
        if not active:
            self._not_self(staff, target, "deactivate")
        await self.users.update(user_id, active=active)
        if not active:
            await self.credentials.revoke_all(user_id)
        await self._log(staff, "reactivate" if active else "deactivate", target)

    async def set_staff(self, staff: User, user_id: int, is_staff: bool) -> None:
        target = await self._target(user_id)
        if not is_staff:
            self._not_self(staff, target, "remove staff from")
        await self.users.update(user_id, is_staff=is_staff)
        await self._log(staff, "make_staff" if is_staff else "remove_staff", target)

    async def end_sessions(self, staff: User, user_id: int) -> None:
        """Every credential of every door the user holds ends, and every process forgets it."""
        target = await self._target(user_id)
        held = await self.credentials.count_by_kind(user_id)
        await self.credentials.revoke_all(user_id)
        detail = ", ".join(f"{row['count']} {row['kind']}" for row in held) or "none held"
        await self._log(staff, "end_sessions", target, detail)

    async def delete(self, staff: User, user_id: int) -> None:
        """Delete the account through core's deletion rule (credentials ended, crowns passed on)."""
        target = await self._target(user_id)
        self._not_self(staff, target, "delete")
        await self.delete_account(user_id)
        await self._log(staff, "delete", target)

    async def review_confirmation(self, staff: User, user_id: int, approved: bool) -> None:
        """Approve or reject the user's waiting confirmation scan; NotFound if none waits."""
        target = await self.users.get(user_id)
        if target is None or not await self.profiles.review_confirmation(user_id, approved):
            raise NotFound("no scan of this user waits for review")
        await self._log(staff, "approve_confirmation" if approved else "reject_confirmation", target)
