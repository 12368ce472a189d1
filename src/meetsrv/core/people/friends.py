"""Friends (campus): requests, acceptance by asking back, removal."""

from __future__ import annotations

from meetsrv.core.clock import Clock
from meetsrv.core.errors import DomainError, Invalid, NotPermitted, UserNotFound
from meetsrv.store.accounts.users import UserStore
from meetsrv.store.db import Row
from meetsrv.store.people.friends import ALREADY_FRIENDS, ALREADY_SENT, FriendStore


class NotAFriend(DomainError):
    code = "not_a_friend"


class FriendService:
    def __init__(self, store: FriendStore, users: UserStore, clock: Clock):
        self.store = store
        self.users = users
        self.clock = clock

    async def send_request(self, caller: int, other: int) -> str:
        """'sent', or 'accepted' when `other` had already asked the caller."""
        if other == caller:
            raise Invalid("Cannot send a friend request to yourself")
        user = await self.users.get(other)
        if user is None:
            raise UserNotFound("User profile does not exist")
        result = await self.store.send(caller, other, self.clock.seconds())
        if result == ALREADY_FRIENDS:
            raise NotPermitted("Already friends")
        if result == ALREADY_SENT:
            raise NotPermitted("Friend request already sent")
        return result

    async def remove(self, caller: int, other: int) -> None:
        removed = await self.store.remove(caller, other)
        if not removed:
            raise NotAFriend("User is not in the friend list")

    async def friends(self, caller: int) -> list[Row]:
        """[{id, name, accepted}] ordered by id: friends and the caller's unanswered requests."""
        return await self.store.friends(caller)

    async def requests(self, caller: int) -> list[Row]:
        return await self.store.incoming(caller)
