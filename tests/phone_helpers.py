"""Helpers for the phone door tests: sign-up through SMS codes, tokens, images."""

from __future__ import annotations

import io

from PIL import Image

PHONES = [f"+7925074141{i}" for i in range(10)]


def png(size=(4, 4), color=(200, 10, 10)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def auth(token):
    return {"Authorization": f"Token {token}"}


def last_code(server, phone):
    for to, text in reversed(server.services.sms.sent):
        if to == phone:
            return text.rsplit(" ", 1)[-1]
    raise AssertionError(f"no SMS to {phone}")


async def send_code(http, server, phone):
    r = await http.post(server.url + "/api/auth/code/", json_body={"phone": phone})
    assert r.code == 201, r
    return last_code(server, phone)


async def sign_up(http, server, phone, name="user", avatar=None):
    """(user_id, token) of a new user."""
    code = await send_code(http, server, phone)
    r = await http.post(
        server.url + "/api/auth/users/",
        data={"phone": phone, "code": code, "is_new": "true", "name": name},
        files={"avatar": ("a.png", "image/png", io.BytesIO(avatar or png()))},
    )
    assert r.code == 201, r
    return r.json["user_id"], r.json["token"]


async def sign_in(http, server, phone):
    code = await send_code(http, server, phone)
    r = await http.post(server.url + "/api/auth/users/", json_body={"phone": phone, "code": code})
    assert r.code == 201, r
    return r.json["user_id"], r.json["token"]
