"""The campus door (RPC /api/<area>/<Method>): `Authorization: Token <key>` (no CSRF)."""

from __future__ import annotations

from bench.seed import Seeder

SESSION_KIND = "campus"


class CampusProfile:
    name = "campus"

    def headers(self, token: str) -> dict:
        return {"Authorization": f"Token {token}"}

    def rest_fixture(self, s: Seeder) -> dict:
        """A signed-in user and another user whose profile is read (GetProfile needs a login)."""
        me, other = s.users(2)
        tokens = s.sessions([me], SESSION_KIND)
        return {"user": me, "token": tokens[me], "other": other}

    def rest_targets(self, fx: dict) -> list[tuple[str, str, str, str]]:
        return [("detail_profile", "profile GET /api/profile/GetProfile?user_id=<id>",
                 f"/api/profile/GetProfile?user_id={fx['other']}", "detail")]
