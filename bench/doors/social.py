"""The social door (DRF paths with a trailing slash): `Authorization: Token <key>`."""

from __future__ import annotations

from bench.seed import Seeder

TOKEN_KIND = "social"


class SocialProfile:
    name = "social"

    def headers(self, token: str) -> dict:
        return {"Authorization": f"Token {token}"}

    def rest_fixture(self, s: Seeder) -> dict:
        """A signed-in user with an approved join request on another user's meeting; the owner
        has 3 photos (the meeting shows the owner with them)."""
        me, owner = s.users(2)
        s.photos(owner, 3)
        (meeting,) = s.meetings("social", [{
            "description": "A walk in the park", "date": "2031-07-05", "lat": 55.75, "lng": 37.61,
            "group_type": 1, "category": 2, "creator_id": owner}])
        s.join_requests(meeting, [me], approved=True)
        tokens = s.sessions([me], TOKEN_KIND)
        return {"user": me, "token": tokens[me], "meeting": meeting}

    def rest_targets(self, fx: dict) -> list[tuple[str, str, str, str]]:
        return [("detail_meeting", "meeting detail GET /meeting-detail/<id>/ (owner with 3 photos)",
                 f"/meeting-detail/{fx['meeting']}/", "detail")]
