"""The directory door's client (seed 003): email accounts with JWT pairs, events (saved after a
delay, JSON or multipart with an image)."""

from __future__ import annotations

from tests.clients.images import multipart

PASSWORD = "s3cret-pass"


def auth(token: str, scheme: str = "Bearer") -> dict:
    """The headers a directory request carries its access token in (`scheme` "": the bare token)."""
    return {"Authorization": f"{scheme} {token}" if scheme else token}


class DirectoryClient:
    """One HTTP client talking to one server's directory door."""

    def __init__(self, http, server):
        self.http = http
        self.server = server

    async def sign_up(self, email: str, password: str = PASSWORD, **extra) -> dict:
        """The new user as the door shows it."""
        r = await self.http.post(self.server.url + "/api/user/sign-up/",
                                 json_body={"email": email, "password": password, **extra})
        assert r.code == 201, r
        return r.json

    async def sign_in(self, email: str, password: str = PASSWORD) -> dict:
        """{"access", "refresh"}: a new JWT pair."""
        r = await self.http.post(self.server.url + "/api/user/sign-in/", json_body={"email": email, "password": password})
        assert r.code == 200, r
        return r.json

    async def member(self, email: str) -> tuple[dict, str]:
        """(user, access token) of a new account."""
        user = await self.sign_up(email)
        pair = await self.sign_in(email)
        return user, pair["access"]

    async def create_event(self, token: str, body=None, image: bytes | None = None, expect: int = 202):
        """POST /api/events/create/ (JSON, or multipart when an image is given): the response."""
        url = self.server.url + "/api/events/create/"
        if image is None:
            r = await self.http.post(url, json_body=body, headers=auth(token))
        else:
            fields = {k: v for k, v in body.items() if k != "organizations"}
            orgs = [str(o["id"]) for o in body.get("organizations", [])]
            if orgs:
                fields["organizations"] = orgs
            data, ctype = multipart(fields, {"image": ("cover.png", "image/png", image)})
            r = await self.http.post(url, data=data, headers={**auth(token), "Content-Type": ctype})
        assert r.code == expect, r
        return r


async def sign_up(http, server, email, password=PASSWORD, **extra) -> dict:
    return await DirectoryClient(http, server).sign_up(email, password, **extra)


async def sign_in(http, server, email, password=PASSWORD) -> dict:
    return await DirectoryClient(http, server).sign_in(email, password)


async def member(http, server, email) -> tuple[dict, str]:
    return await DirectoryClient(http, server).member(email)


async def create_event(http, server, token, body=None, image=None, expect=202):
    return await DirectoryClient(http, server).create_event(token, body, image, expect)


async def saved_after_delay(server, clock, delay=60):
    """Let the delayed save of pending events run (the door saves them `delay` seconds later)."""
    clock.advance(delay)
    await server.services.event_jobs.idle()
