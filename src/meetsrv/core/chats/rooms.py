"""Rooms: chats whose identity is their member set (the rooms door)."""

from __future__ import annotations

import hashlib

from twisted.internet import defer

from meetsrv.store.db import Conflict
from meetsrv.core.errors import NotFound, UserNotFound
from meetsrv.store.chats.chats import ChatStore
from meetsrv.store.accounts.users import UserStore

KIND = "room"


def member_key(user_ids) -> str:
    return hashlib.sha256(",".join(str(i) for i in sorted(set(user_ids))).encode()).hexdigest()


class RoomNotFound(NotFound):
    code = "room_not_found"


class RoomService:
    def __init__(self, chats: ChatStore, users: UserStore, clock):
        self.chats = chats
        self.users = users
        self.clock = clock

    @defer.inlineCallbacks
    def create(self, caller: int, user_ids):
        """The room whose members are exactly user_ids plus the caller: found, or made."""
        wanted = set(int(i) for i in user_ids) | {caller}
        found = yield self.users.get_many(wanted)
        if len(found) != len(wanted):
            raise UserNotFound("user not found")
        key = member_key(wanted)
        room_id = yield self.chats.by_member_key(KIND, key)
        if room_id is None:
            try:
                room_id = yield self.chats.create(
                    KIND, sorted(wanted), self.clock.seconds(), owner_id=caller, member_key=key
                )
            except Conflict:
                room_id = yield self.chats.by_member_key(KIND, key)  # another request made it first
        return {"id": room_id, "users": found}

    def get(self, caller: int, room_id: int):
        def found(result):
            room, members = result
            if room is None or room["kind"] != KIND:
                raise RoomNotFound("room not found")
            return {"id": room_id, "users": members}

        return self.chats.member_chat_with_members(room_id, caller).addCallback(found)

    def list(self, caller: int):
        """The caller's rooms, newest first, with their members: one query."""
        d = self.chats.chats_of_with_members(caller, KIND)
        return d.addCallback(lambda rooms: [{"id": rid, "users": members} for rid, members in rooms])

    @defer.inlineCallbacks
    def check_member(self, caller: int, room_id: int):
        room = yield self.chats.chat_for_member(room_id, caller)
        if room is None or room["kind"] != KIND:
            raise RoomNotFound("room not found")
        return room
