"""The rooms chat WebSocket: /v1/rooms/<id>/chat?session_id=[&after=<message id>].

In: {"text": ...[, "client_id": ...]} posts (no echo to the sending socket; with a client_id the
sender gets {"ack": client_id, "id": message id}, on a repeat too); {"read": <message id>} moves
the caller's last read. Out: messages as the history shows them."""

from __future__ import annotations

import json

from autobahn.websocket.types import ConnectionDeny
from twisted.internet import defer

from meetsrv.core.chats.rooms import RoomNotFound
from meetsrv.doors.rooms import shapes
from meetsrv.http.credentials import CredentialMissing, CredentialRefused, Query, authenticate
from meetsrv.http.models import id_value
from meetsrv.ws.chat import ChatSocket, message_id_arg, valid_client_id
from meetsrv.ws.protocol import json_frame


def _error(code: str, client_id: str | None = None) -> dict:
    out = {"error": {"code": code}}
    if client_id is not None:
        out["client_id"] = client_id
    return out


class RoomChatSocket(ChatSocket):
    credentials = (Query("session_id"),)

    @property
    def room_id(self) -> int | None:
        return self.chat_id  # a room's chat has the room's id

    def authorize(self, request):
        return defer.ensureDeferred(self._authorize(request))

    async def _authorize(self, request):
        door = self.factory.door
        raw_id = self.route_args.get("room_id", "")
        try:
            user_id = await authenticate(request, self.credentials, door.check)
        except (CredentialMissing, CredentialRefused):
            raise ConnectionDeny(401, "unauthorized")
        room_id = id_value(raw_id)
        if room_id is None:
            raise ConnectionDeny(422, "room_not_found")
        try:
            room = await door.services.rooms.member_room(user_id, room_id)
        except RoomNotFound:
            raise ConnectionDeny(422, "room_not_found")
        self.user_id = user_id
        # following the room before the handshake completes, so nothing stored after it is missed
        await self.open_chat(room.id)

    def received(self, text):
        value = json_frame(text)
        if not isinstance(value, dict):
            self.send_json(_error("invalid_json"))
            return None
        client_id = value.get("client_id")
        if client_id is not None and not valid_client_id(client_id):
            self.send_json(_error("invalid_client_id"))
            return None
        if "read" in value and "text" not in value:
            return defer.ensureDeferred(self.read(value["read"]))
        if not isinstance(value.get("text"), str) or not value["text"]:
            self.send_json(_error("invalid_json", client_id))
            return None
        return defer.ensureDeferred(self.post(value["text"], client_id))

    async def read(self, raw) -> None:
        """{"read": <message id>}: the caller has read the room up to that message."""
        message_id = message_id_arg(raw)
        if message_id is None:
            self.send_json(_error("invalid_json"))
            return
        if not await self.services.chats.mark_read(self.room_id, self.user_id, message_id):
            self.send_json(_error("message_not_found"))

    # -- frames ------------------------------------------------------------------------------
    def live_frame(self, message):
        return json.dumps(shapes.message(message, self.room_id), ensure_ascii=False)

    def own_frame(self, message):
        return None  # no echo to the sending socket

    def stored_frames(self, messages):
        return defer.succeed([self.live_frame(m) for m in messages])

    def acknowledged(self, message):
        if message.client_id is not None:
            self.send_json({"ack": message.client_id, "id": message.id})

    repeated = acknowledged

    def not_stored(self, client_id):
        self.send_json(_error("message_not_stored", client_id))
