"""The directory lobby WebSocket /ws/chat/: JWT in the `authorization` header or `?token=`;
`?after=<message id>` resumes.

In: {"message": "..."[, "client_id": "..."]}; out, to every socket in the lobby (the sender's
too): {"id": <message id>, "user": <sender email>, "message": "..."}; the sender's copy also
carries its client_id. Every message is stored first, once per client_id (a repeat is answered
with the sender's copy of the first one)."""

from __future__ import annotations

import json

from autobahn.websocket.types import ConnectionDeny
from twisted.internet import defer

from meetsrv.core.records import row_of
from meetsrv.http.credentials import BearerHeader, CredentialMissing, CredentialRefused, Query, authenticate
from meetsrv.ws.chat import ChatSocket, valid_client_id
from meetsrv.ws.feed import SAME
from meetsrv.ws.protocol import json_frame

MAX_MESSAGE = 4000


def sender_name(user) -> str | None:
    """How the lobby names a sender: the email, else the username, else the id."""
    if user is None:
        return None
    return user["email"] or user["username"] or str(user["id"])


def _frame(message, user: str | None, client_id: str | None = None) -> dict:
    out = {"id": message.id, "user": user, "message": message.text}
    if client_id is not None:
        out["client_id"] = client_id
    return out


def _text(frame: dict) -> str:
    return json.dumps(frame, ensure_ascii=False)


class LobbySocket(ChatSocket):
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
        self.email = sender_name(row_of(user))  # the shape also names senders read as rows (get_many)
        chat = await services.lobby.chat_for(user_id)
        await self.open_chat(chat.id)

    def received(self, text):
        value = json_frame(text)
        client_id = value.get("client_id") if isinstance(value, dict) else None
        if client_id is not None and not valid_client_id(client_id):
            self.send_json({"error": "client_id is a string of 1 to 64 characters."})
            return None
        message = value.get("message") if isinstance(value, dict) else None
        if not isinstance(message, str) or not message.strip():
            self.send_json(self._error('Send {"message": "<text>"}.', client_id))
            return None
        if len(message) > MAX_MESSAGE:
            self.send_json(self._error(f"A message has at most {MAX_MESSAGE} characters.", client_id))
            return None
        return defer.ensureDeferred(self.post(message, client_id))

    @staticmethod
    def _error(text: str, client_id: str | None) -> dict:
        return {"error": text} if client_id is None else {"error": text, "client_id": client_id}

    # -- frames ------------------------------------------------------------------------------
    def live_frame(self, message):
        return _text(_frame(message, self.email))

    def own_frame(self, message):
        return SAME if message.client_id is None else _text(_frame(message, self.email, message.client_id))

    async def _stored_frames(self, messages):
        wanted = {m.user_id for m in messages if m.user_id is not None}
        users = {u["id"]: u for u in (await self.services.accounts.get_many(wanted))} if wanted else {}
        return [_text(_frame(m, sender_name(users.get(m.user_id)))) for m in messages]

    def stored_frames(self, messages):
        return defer.ensureDeferred(self._stored_frames(messages))

    def repeated(self, message):
        self.send_json(_frame(message, self.email, message.client_id))

    def not_stored(self, client_id):
        self.send_json(self._error("The message could not be stored.", client_id))
