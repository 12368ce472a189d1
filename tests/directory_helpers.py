"""Helpers for the directory door tests."""

from __future__ import annotations

from io import BytesIO

PASSWORD = "s3cret-pass"


def auth(token: str, scheme: str = "Bearer") -> dict:
    return {"Authorization": f"{scheme} {token}" if scheme else token}


async def sign_up(http, server, email, password=PASSWORD, **extra):
    r = await http.post(server.url + "/api/user/sign-up/", json_body={"email": email, "password": password, **extra})
    assert r.code == 201, r
    return r.json


async def sign_in(http, server, email, password=PASSWORD):
    r = await http.post(server.url + "/api/user/sign-in/", json_body={"email": email, "password": password})
    assert r.code == 200, r
    return r.json


async def member(http, server, email):
    """(user, access token) of a new account."""
    user = await sign_up(http, server, email)
    pair = await sign_in(http, server, email)
    return user, pair["access"]


def png(color=(255, 0, 255), size=(64, 48)) -> bytes:
    from PIL import Image

    out = BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def multipart(fields: dict, files: dict | None = None):
    """(body, content type) of a multipart/form-data request; `fields` values may be lists."""
    boundary = "----meetsrvtestboundary7MA4YWxk"
    parts = []
    for name, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{v}\r\n'.encode())
    for name, (filename, ctype, data) in (files or {}).items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def create_event(http, server, token, body=None, image=None, expect=202):
    """POST /api/events/create/ (JSON, or multipart when an image is given)."""
    if image is None:
        r = await http.post(server.url + "/api/events/create/", json_body=body, headers=auth(token))
    else:
        fields = {k: v for k, v in body.items() if k != "organizations"}
        orgs = [str(o["id"]) for o in body.get("organizations", [])]
        if orgs:
            fields["organizations"] = orgs
        data, ctype = multipart(fields, {"image": ("cover.png", "image/png", image)})
        r = await http.post(server.url + "/api/events/create/", data=data,
                            headers={**auth(token), "Content-Type": ctype})
    assert r.code == expect, r
    return r


async def saved_after_delay(server, clock, delay=60):
    clock.advance(delay)
    await server.services.event_jobs.idle()
