"""The rooms door's client (seed 004): sessions in X-Session-Id."""

from __future__ import annotations

PASSWORD = "secret"


def auth(session: str) -> dict:
    """The headers a rooms request carries its session in."""
    return {"X-Session-Id": session}


class RoomsClient:
    """One HTTP client talking to one server's rooms door."""

    def __init__(self, http, server):
        self.http = http
        self.server = server

    async def register(self, login: str, password: str = PASSWORD) -> str:
        """A new account's session id."""
        r = await self.http.post(self.server.url + "/v1/register", json_body={"login": login, "password": password})
        assert r.code == 200, r
        return r.json["session_id"]


async def register(http, server, login: str, password: str = PASSWORD) -> str:
    return await RoomsClient(http, server).register(login, password)
