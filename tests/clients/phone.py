"""The phone door's client (seed 002): sign-up and sign-in through SMS codes (read from the
server's SMS outbox), `Token` credentials, meetings with a logo."""

from __future__ import annotations

import io

from tests.clients.images import png

PHONES = [f"+7925074141{i}" for i in range(10)]


def auth(token: str) -> dict:
    """The headers a phone request carries its token in."""
    return {"Authorization": f"Token {token}"}


def last_code(server, phone: str) -> str:
    """The code of the last SMS the server sent to `phone`."""
    for to, text in reversed(server.services.sms.sent):
        if to == phone:
            return text.rsplit(" ", 1)[-1]
    raise AssertionError(f"no SMS to {phone}")


class PhoneClient:
    """One HTTP client talking to one server's phone door."""

    def __init__(self, http, server):
        self.http = http
        self.server = server

    async def send_code(self, phone: str) -> str:
        """Ask for an SMS code: the code sent."""
        r = await self.http.post(self.server.url + "/api/auth/code/", json_body={"phone": phone})
        assert r.code == 201, r
        return last_code(self.server, phone)

    async def sign_up(self, phone: str, name: str = "user", avatar: bytes | None = None) -> tuple[int, str]:
        """(user id, token) of a new user (a 4x4 PNG avatar unless one is given)."""
        code = await self.send_code(phone)
        r = await self.http.post(
            self.server.url + "/api/auth/users/",
            data={"phone": phone, "code": code, "is_new": "true", "name": name},
            files={"avatar": ("a.png", "image/png", io.BytesIO(avatar or png(4, 4)))},
        )
        assert r.code == 201, r
        return r.json["user_id"], r.json["token"]

    async def sign_in(self, phone: str) -> tuple[int, str]:
        """(user id, token) of the phone's existing user."""
        code = await self.send_code(phone)
        r = await self.http.post(self.server.url + "/api/auth/users/", json_body={"phone": phone, "code": code})
        assert r.code == 201, r
        return r.json["user_id"], r.json["token"]

    async def create_meeting(self, token: str, users=(), title: str = "fff", **extra) -> dict:
        """A new meeting of `token`'s user (a 4x4 PNG logo) with `users` invited."""
        data = [("title", title)] + [("users", str(u)) for u in users] + list(extra.items())
        r = await self.http.post(self.server.url + "/api/meetings/", headers=auth(token), data=data,
                                 files={"logo": ("l.png", "image/png", io.BytesIO(png(4, 4)))})
        assert r.code == 201, r
        return r.json


async def send_code(http, server, phone) -> str:
    return await PhoneClient(http, server).send_code(phone)


async def sign_up(http, server, phone, name="user", avatar=None) -> tuple[int, str]:
    return await PhoneClient(http, server).sign_up(phone, name, avatar)


async def sign_in(http, server, phone) -> tuple[int, str]:
    return await PhoneClient(http, server).sign_in(phone)


async def create_meeting(http, server, token, users=(), title="fff", **extra) -> dict:
    return await PhoneClient(http, server).create_meeting(token, users, title, **extra)
