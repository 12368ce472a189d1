"""The three chat doors behind one interface (rooms, social meeting chats, the directory lobby),
for the tests of what every chat guarantees (CONTRACT.md): `setup` makes a chat of `users`
members, `url` is member `who`'s socket, `send`/`parse` speak the door's frames, `history` reads
its stored messages."""

from __future__ import annotations

import json

from tests.clients.directory import auth as directory_auth
from tests.clients.directory import member
from tests.clients.rooms import auth as rooms_auth
from tests.clients.rooms import register
from tests.clients.social import approve, create_meeting, login
from tests.clients.social import auth as social_auth


class RoomsChat:
    """Users 0..n-1 in one room. No echo to the sending socket."""

    name = "rooms"
    echo = False

    async def setup(self, http, server, users: int = 3, prefix: str = "user"):
        self.tokens = [await register(http, server, f"{prefix}{i}") for i in range(users)]
        infos = [(await http.get(server.url + "/v1/info", headers=rooms_auth(s))).json for s in self.tokens]
        self.user_ids = [u["id"] for u in infos]
        r = await http.post(server.url + "/v1/rooms", json_body={"users": infos[1:]}, headers=rooms_auth(self.tokens[0]))
        self.chat_id = r.json["id"]
        return self

    def url(self, server, who: int, after=None) -> str:
        url = f"{server.ws_url}/v1/rooms/{self.chat_id}/chat?session_id={self.tokens[who]}"
        return url if after is None else f"{url}&after={after}"

    def send(self, sock, text: str) -> None:
        sock.send_json({"text": text})

    def parse(self, raw: str) -> tuple[int | None, str]:
        frame = json.loads(raw)
        assert set(frame) == {"id", "text", "user_id", "room_id", "created_at"}, frame
        return frame["id"], frame["text"]

    async def history(self, http, server) -> list[tuple[int, str]]:
        r = await http.get(server.url + f"/v1/rooms/{self.chat_id}/messages", headers=rooms_auth(self.tokens[0]))
        return [(m["id"], m["text"]) for m in r.json]


class SocialChat:
    """The owner (0) and approved users in one group meeting's chat. Frames are relayed raw
    (no id), the sender's socket included."""

    name = "social"
    echo = True

    async def setup(self, http, server, users: int = 3):
        people = [await login(http, server, 100 + i) for i in range(users)]
        self.tokens = [t for t, _ in people]
        self.user_ids = [u for _, u in people]
        meeting = (await create_meeting(http, server, self.tokens[0], title="Chat", group_type=1)).json
        for token in self.tokens[1:]:
            await approve(http, server, self.tokens[0], meeting["id"], token)
        chat = (await http.get(server.url + "/chats-list/", headers=social_auth(self.tokens[0]))).json[0]
        self.chat_id, self.slug = chat["id"], chat["channel_slug"]
        return self

    def url(self, server, who: int, after=None) -> str:
        url = f"{server.ws_url}/chat/{self.slug}/?token={self.tokens[who]}"
        return url if after is None else f"{url}&after={after}"

    def send(self, sock, text: str) -> None:
        sock.send_text(text)

    def parse(self, raw: str) -> tuple[int | None, str]:
        return None, raw

    async def history(self, http, server) -> list[tuple[int, str]]:
        r = await http.get(server.url + f"/message-list/{self.chat_id}/", headers=social_auth(self.tokens[0]))
        return [(m["id"], m["text"]) for m in r.json]


class LobbyChat:
    """Directory users in the one lobby; every socket gets every message, the sender's too."""

    name = "directory"
    echo = True

    async def setup(self, http, server, users: int = 3):
        people = [await member(http, server, f"user{i}@example.com") for i in range(users)]
        self.tokens = [t for _, t in people]
        self.user_ids = [u["id"] for u, _ in people]
        self.chat_id = await server.services.lobby.chat_id()
        return self

    def url(self, server, who: int, after=None) -> str:
        url = f"{server.ws_url}/ws/chat/?token={self.tokens[who]}"
        return url if after is None else f"{url}&after={after}"

    def send(self, sock, text: str) -> None:
        sock.send_json({"message": text})

    def parse(self, raw: str) -> tuple[int | None, str]:
        frame = json.loads(raw)
        assert set(frame) == {"id", "user", "message"}, frame
        return frame["id"], frame["message"]

    async def history(self, http, server) -> list[tuple[int, str]]:
        r = await http.get(server.url + "/api/chat/messages/?limit=100", headers=directory_auth(self.tokens[0]))
        return [(m["id"], m["message"]) for m in reversed(r.json["results"])]


DOORS = [RoomsChat, SocialChat, LobbyChat]


async def frames(door, sock, n: int) -> list[tuple[int | None, str]]:
    return [door.parse(await sock.next_text()) for _ in range(n)]
