"""The campus door's client (seed 001): a signed-in user keeps its cookies like a browser.

Use it with the cookie-less `http` of tests.clients.base: each User sends its own cookies."""

from __future__ import annotations

from tests.clients.images import png


def cookies_of(response) -> dict:
    out = {}
    for raw in response.headers.getRawHeaders("set-cookie") or []:
        first = raw.split(";", 1)[0]
        name, _, value = first.partition("=")
        out[name.strip()] = value.strip()
    return out


class User:
    """A browser-like campus client: session cookie, csrftoken cookie and X-CSRFToken on POST."""

    def __init__(self, http, server, username):
        self.http = http
        self.server = server
        self.username = username
        self.cookies: dict = {}
        self.id = None

    def cookie_header(self) -> dict:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items() if v)}

    async def get(self, path, params=None, headers=None):
        h = self.cookie_header()
        h.update(headers or {})
        r = await self.http.get(self.server.url + path, params=params, headers=h)
        assert r.code == 200, r
        return r.json

    async def post(self, path, body=None, csrf=True, headers=None, raw=None, files=None, data=None):
        h = self.cookie_header()
        if csrf and self.cookies.get("csrftoken"):
            h["X-CSRFToken"] = self.cookies["csrftoken"]
        h.update(headers or {})
        if raw is not None:
            r = await self.http.post(self.server.url + path, data=raw, headers=h)
        elif files is not None or data is not None:
            r = await self.http.post(self.server.url + path, files=files, data=data, headers=h)
        else:
            r = await self.http.post(self.server.url + path, json_body=body if body is not None else {}, headers=h)
        assert r.code == 200, r
        self.cookies.update(cookies_of(r))
        return r.json

    async def signup(self, password="secret-pw"):
        answer = await self.post("/accounts/signup/", {"username": self.username, "password": password})
        assert answer == {"error": 0, "error_msg": ""}, answer
        me = await self.get("/api/auth/GetCurrentUserId")
        self.id = me["response"]["user_id"]
        assert isinstance(self.id, int)
        return self

    def ws_headers(self) -> dict:
        return {"Cookie": f"sessionid={self.cookies['sessionid']}"}

    async def create_event(self, name, start, end) -> int:
        answer = await self.post("/api/events/CreateEvent", {"name": name, "time_from": start, "time_to": end})
        assert answer["error"] == 0, answer
        return answer["response"]["event_id"]

    async def upload_confirmation(self) -> None:
        """A confirmation scan for staff to review (/admin/confirmations)."""
        answer = await self.post("/api/profile/UploadProfileConfirmation",
                                 files={"image": ("scan.png", "image/png", png(8, 6))})
        assert answer["error"] == 0

    async def confirmed(self) -> bool:
        return (await self.get("/api/profile/GetProfile", params={"user_id": self.id}))["response"]["confirmed"]


async def signup(http, server, username) -> User:
    return await User(http, server, username).signup()


async def create_event(user, name, start, end) -> int:
    return await user.create_event(name, start, end)


async def waiting_user(http, server, username) -> User:
    """A new user whose confirmation scan waits for staff."""
    u = await signup(http, server, username)
    await u.upload_confirmation()
    return u


async def confirmed(u: User) -> bool:
    return await u.confirmed()
