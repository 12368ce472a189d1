"""The directory lobby WebSocket /ws/chat/: JWT in the `authorization` header or `?token=`.

In: {"message": "..."}; out, to every socket in the lobby (the sender's too):
{"user": <sender email>, "message": "..."}. Every message is stored first.
"""

from __future__ import annotations

import json

from autobahn.websocket.types import ConnectionDeny
from twisted.internet import defer

from meetsrv.core.chats.service import chat_channel
from meetsrv.http.credentials import BearerHeader, CredentialMissing, CredentialRefused, Query, authenticate
from meetsrv.ws.protocol import DoorSocket, json_frame

MAX_MESSAGE = 4000


class LobbySocket(DoorSocket):
    # a JWT in the authorization header (an unreadable header leaves it to ?token=), or ?token=
    credentials = (BearerHeader(bare=True, skip_other=True), Query("token"))

    def authorize(self, request):
        return defer.ensureDeferred(self._authorize(request))

    async def _authorize(self, request):
        door = self.factory.door
        services = door.services
        try:
            user_id = await authenticate(request, self.credentials, door.check)
        except (CredentialMissing, CredentialRefused):
            user_id = None
        user = (await services.accounts.get(user_id)) if user_id is not None else None
        if user is None:
            raise ConnectionDeny(401, "unauthorized")
        self.user_id = user_id
        self.email = user["email"] or user["username"] or str(user_id)
        chat = await services.lobby.chat_for(user_id)
        await self.join(chat_channel(chat.id))
        self.chat_id = chat.id

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
        return self.factory.door.services.chats.post(
            self.chat_id, self.user_id, message,
            lambda m: json.dumps({"user": email, "message": m.text}, ensure_ascii=False),
        )
