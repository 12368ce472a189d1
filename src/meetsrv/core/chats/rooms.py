"""Rooms: chats whose identity is their member set (the rooms door). Membership, history and
posting are the chat service's."""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Iterable
from typing import Any

from twisted.internet import defer

from meetsrv.core.chats.service import ChatNotFound, ChatService, NotAMember, require_member
from meetsrv.core.clock import Clock
from meetsrv.core.errors import NotFound, UserNotFound
from meetsrv.store.accounts.users import UserStore
from meetsrv.store.chats.chats import Chat, Message
from meetsrv.store.db import Conflict, NowOrLater, Row

KIND = "room"
HISTORY_PAGE = 50


def member_key(user_ids: Iterable[int]) -> str:
    return hashlib.sha256(",".join(str(i) for i in sorted(set(user_ids))).encode()).hexdigest()


class RoomNotFound(NotFound):
    code = "room_not_found"


class RoomService:
    def __init__(self, chats: ChatService, users: UserStore, clock: Clock):
        self.chats = chats
        self.store = chats.store
        self.users = users
        self.clock = clock

    async def create(self, caller: int, user_ids: Iterable[int | str]) -> dict[str, Any]:
        """The room whose members are exactly user_ids plus the caller: found, or made."""
        wanted = set(int(i) for i in user_ids) | {caller}
        found = await self.users.get_many(wanted)
        if len(found) != len(wanted):
            raise UserNotFound("user not found")
        key = member_key(wanted)
        room_id = await self.store.by_member_key(KIND, key)
        if room_id is None:
            try:
                room_id = await self.store.create(
                    KIND, sorted(wanted), self.clock.seconds(), owner_id=caller, member_key=key
                )
            except Conflict:
                room_id = await self.store.by_member_key(KIND, key)  # another request made it first
        return {"id": room_id, "users": found}

    def get(self, caller: int, room_id: int) -> NowOrLater[dict[str, Any]]:
        """The room and its members (one transaction), if the caller is one of them: at once
        when the read cache has it, else a Deferred; the members are shared, not to be changed."""

        def found(result: tuple[Chat | None, list[Row]]) -> dict[str, Any]:
            chat, members = result
            try:
                require_member(chat, chat is not None, KIND)
            except (ChatNotFound, NotAMember):
                raise RoomNotFound("room not found")
            return {"id": room_id, "users": members}

        kept = self.store.member_chat_with_members_kept(room_id, caller)
        if isinstance(kept, defer.Deferred):
            return kept.addCallback(found)
        return found(kept)

    async def list(self, caller: int) -> list[dict[str, Any]]:
        """The caller's rooms, newest first, with their members and the caller's unread count
        (one transaction)."""
        rooms = await self.store.chats_of_with_members(caller, KIND)
        return [{"id": rid, "users": members, "unread": unread} for rid, members, unread in rooms]

    async def member_room(self, caller: int, room_id: int) -> Chat:
        """The room's Chat if the caller is one of its members; RoomNotFound otherwise (the REST
        routes and the socket alike)."""
        try:
            return await self.chats.member_chat(caller, KIND, chat_id=room_id)
        except (ChatNotFound, NotAMember):
            raise RoomNotFound("room not found")

    async def history(self, caller: int, room_id: int, before: int | None = None) -> builtins.list[Message]:
        """The newest 50 messages (before message id `before`), oldest first; members only.
        Reading the newest page moves the caller's last read to its newest message."""
        await self.member_room(caller, room_id)
        return await self.chats.history(room_id, HISTORY_PAGE, before, reader=caller)
