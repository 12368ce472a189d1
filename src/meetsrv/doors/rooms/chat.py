"""The rooms chat WebSocket: /v1/rooms/<id>/chat?session_id=. No echo to the sending socket."""

from __future__ import annotations

import json

from autobahn.websocket.types import ConnectionDeny
from twisted.internet import defer

from meetsrv.core.chats.rooms import RoomNotFound
from meetsrv.core.chats.service import chat_channel
from meetsrv.doors.rooms import shapes
from meetsrv.http.credentials import CredentialMissing, CredentialRefused, Query, authenticate
from meetsrv.ws.protocol import DoorSocket, json_frame


class RoomChatSocket(DoorSocket):
    credentials = (Query("session_id"),)

    def authorize(self, request):
        return defer.ensureDeferred(self._authorize(request))

    async def _authorize(self, request):
        door = self.factory.door
        raw_id = self.route_args.get("room_id", "")
        try:
            user_id = await authenticate(request, self.credentials, door.check)
        except (CredentialMissing, CredentialRefused):
            raise ConnectionDeny(401, "unauthorized")
        if not raw_id.isdigit() or len(raw_id) > 18:
            raise ConnectionDeny(422, "room_not_found")
        try:
            room = await door.services.rooms.member_room(user_id, int(raw_id))
        except RoomNotFound:
            raise ConnectionDeny(422, "room_not_found")
        self.user_id = user_id
        self.room_id = room.id
        # subscribed before the handshake completes, so nothing sent after it is missed
        await self.join(chat_channel(self.room_id))

    def received(self, text):
        value = json_frame(text)
        if not isinstance(value, dict) or not isinstance(value.get("text"), str) or not value["text"]:
            self.send_json({"error": {"code": "invalid_json"}})
            return None
        room_id = self.room_id
        return self.factory.door.services.chats.post(
            room_id,
            self.user_id,
            value["text"],
            lambda m: json.dumps(shapes.message(m, room_id), ensure_ascii=False),
            exclude=self.conn_id,
        )
