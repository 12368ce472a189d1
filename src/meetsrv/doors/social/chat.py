"""The meeting chat WebSocket: /chat/<slug>/?token=. Frames are stored, then relayed as sent to
every member socket of the chat, the sender's included (upstream echoed too)."""

from __future__ import annotations

from autobahn.websocket.types import ConnectionDeny
from twisted.internet import defer

from meetsrv.core.chats.meeting_chats import ChatMissing, NotAMember
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
        try:
            chat = await door.services.social_chats.member_chat(user_id, slug=self.route_args.get("slug", ""))
        except (ChatMissing, NotAMember):
            raise ConnectionDeny(403, "not a member of this chat")
        self.user_id = user_id
        self.chat_id = chat.id
        # subscribed before the handshake completes, so nothing sent after it is missed
        await self.join(chat_channel(self.chat_id))

    def received(self, text):
        if not text:
            return None
        # stored, then relayed as sent to every member socket (the sender's too)
        return self.factory.door.services.chats.post(self.chat_id, self.user_id, text, lambda message: text)
