"""The social door's client (seed 000): social sign-in, `Token` credentials, meetings and their
join requests (which make the meeting chats)."""

from __future__ import annotations

MOSCOW = {"lat": 55.751244, "lng": 37.618423}


def auth(token: str) -> dict:
    """The headers a social request carries its token in."""
    return {"Authorization": f"Token {token}"}


class SocialClient:
    """One HTTP client talking to one server's social door."""

    def __init__(self, http, server):
        self.http = http
        self.server = server

    async def login(self, external_id, first_name="Ilia228", slug="vk", token=None) -> tuple[str, int]:
        """(token, user id) of the identity (slug, external_id): signed up the first time."""
        body = {"social_slug": slug, "external_id": external_id, "token": token or f"tok{external_id}",
                "first_name": first_name}
        r = await self.http.post(self.server.url + "/api-token-auth/", json_body=body)
        assert r.code == 200, r
        user_id = int(r.json["href"].rstrip("/").rsplit("/", 1)[1])
        return r.json["token"], user_id

    async def create_meeting(self, token: str, **body):
        """POST /meetings-list/ (the response, whatever it is): a meeting in Moscow titled
        "title" unless `body` says otherwise."""
        body.setdefault("title", "title")
        body.setdefault("description", "desc")
        body.setdefault("coordinates", MOSCOW)
        return await self.http.post(self.server.url + "/meetings-list/", json_body=body, headers=auth(token))

    async def approve(self, owner: str, meeting_id: int, token: str, ask: bool = True) -> int:
        """`token`'s user asks to join (unless `ask` is False: asked before) and the owner
        approves: the join request's id."""
        http, url = self.http, self.server.url
        if ask:
            r = await http.post(url + f"/meeting-confirm/{meeting_id}/", headers=auth(token))
            assert r.json["status"] == 200, r
        pending = (await http.get(url + "/confirms-list/", headers=auth(owner))).json
        req = [p for p in pending if p["meeting"]["id"] == meeting_id][-1]
        r = await http.put(url + f"/confirm-action/{req['id']}/", headers=auth(owner), json_body={"is_approved": True})
        assert r.code == 200 and r.json["is_approved"] is True
        return req["id"]


async def login(http, server, external_id, first_name="Ilia228", slug="vk", token=None) -> tuple[str, int]:
    return await SocialClient(http, server).login(external_id, first_name, slug, token)


async def create_meeting(http, server, token, **body):
    return await SocialClient(http, server).create_meeting(token, **body)


async def approve(http, server, owner, meeting_id, token, ask=True) -> int:
    return await SocialClient(http, server).approve(owner, meeting_id, token, ask)
