"""The meeting chat WebSocket: /chat/<slug>/?token=[&after=<message id>]. Frames are stored, then
relayed as sent to every member socket of the chat, the sender's included (upstream echoed too).
`after` counts the ids of /message-list/ items."""

from __future__ import annotations

from autobahn.websocket.types import ConnectionDeny
from twisted.internet import defer

from meetsrv.core.chats.meeting_chats import ChatMissing, NotAMember
from meetsrv.http.credentials import CredentialMissing, CredentialRefused, Query, authenticate
from meetsrv.ws.chat import ChatSocket
from meetsrv.ws.protocol import CLOSE_TRY_AGAIN_LATER


class SocialChatSocket(ChatSocket):
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
        # following the chat before the handshake completes, so nothing stored after it is missed
        await self.open_chat(chat.id)

    def received(self, text):
        if not text:
            return None
        return defer.ensureDeferred(self.post(text))

    # -- frames: relayed raw -----------------------------------------------------------------
    def live_frame(self, message):
        return message.text

    def stored_frames(self, messages):
        return defer.succeed([m.text for m in messages])

    def not_stored(self, client_id):
        # the social protocol has no error frame (every frame is a message, and an answer frame
        # would be shown as one): close with the standard "try again later", naming what failed;
        # the client reconnects with ?after= and sends what it does not find again
        if not self._closed:
            self.sendClose(code=CLOSE_TRY_AGAIN_LATER, reason="message not stored")
            self._closed = True
