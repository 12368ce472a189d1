"""The directory lobby WebSocket /ws/chat/: JWT in the `authorization` header or `?token=`.

In: {"message": "..."}; out, to every socket in the lobby (the sender's too):
{"user": <sender email>, "message": "..."}. Every message is stored first.
"""

from __future__ import annotations

import json

from autobahn.websocket.types import ConnectionDeny
from twisted.internet import defer

from meetsrv.core.chats.service import chat_channel
from meetsrv.ws.protocol import DoorSocket, json_frame

MAX_MESSAGE = 4000


def bearer(value: str | None) -> str | None:
    """`Bearer <jwt>` or a bare `<jwt>`."""
    if not value:
        return None
    parts = value.strip().split(None, 1)
    if len(parts) == 2 and parts[0].lower() in ("bearer", "jwt"):
        return parts[1].strip()
    if len(parts) == 1:
        return parts[0]
    return None


class LobbySocket(DoorSocket):
    @defer.inlineCallbacks
    def authorize(self, request):
        services = self.factory.door.services
        token = bearer(request.headers.get("authorization")) or self.query.get("token")
        user_id = services.directory_accounts.authenticate(token)
        user = (yield services.accounts.get(user_id)) if user_id is not None else None
        if user is None:
            raise ConnectionDeny(401, "unauthorized")
        self.user_id = user_id
        self.email = user["email"] or user["username"] or str(user_id)
        chat_id = yield services.lobby.chat_id()
        yield self.join(chat_channel(chat_id))

    def received(self, text):
        value = json_frame(text)
        message = value.get("message") if isinstance(value, dict) else None
        if not isinstance(message, str) or not message.strip():
            self.send_json({"error": 'Send {"message": "<text>"}.'})
            return None
        if len(message) > MAX_MESSAGE:
            self.send_json({"error": f"A message has at most {MAX_MESSAGE} characters."})
            return None
        email = self.email
        return self.factory.door.services.lobby.post(
            self.user_id, message,
            lambda m: json.dumps({"user": email, "message": m["text"]}, ensure_ascii=False),
        )
