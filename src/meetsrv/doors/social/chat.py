"""The meeting chat WebSocket: /chat/<slug>/?token=. Frames are stored, then relayed as sent to
every member socket of the chat, the sender's included (upstream echoed too)."""

from __future__ import annotations

from autobahn.websocket.types import ConnectionDeny
from twisted.internet import defer

from meetsrv.core.chats.service import chat_channel
from meetsrv.http.credentials import CredentialMissing, CredentialRefused, Query, authenticate
from meetsrv.ws.protocol import DoorSocket


class SocialChatSocket(DoorSocket):
    credentials = (Query("token"),)

    def authorize(self, request):
        return defer.ensureDeferred(self._authorize(request))

    async def _authorize(self, request):
        door = self.factory.door
        try:
            user_id = await authenticate(request, self.credentials, door.check)
        except CredentialMissing:
            raise ConnectionDeny(400, "token is required")
        except CredentialRefused:
            raise ConnectionDeny(401, "invalid token")
        chat = await door.services.social_chats.socket_chat(user_id, self.route_args.get("slug", ""))
        if chat is None:
            raise ConnectionDeny(403, "not a member of this chat")
        self.user_id = user_id
        self.chat_id = chat["id"]
        # subscribed before the handshake completes, so nothing sent after it is missed
        await self.join(chat_channel(self.chat_id))

    def received(self, text):
        if not text:
            return None
        return self.factory.door.services.social_chats.post(self.chat_id, self.user_id, text)
