"""The phone door (DRF REST): `Authorization: Token <key>`."""

from __future__ import annotations

from bench.seed import Seeder

TOKEN_KIND = "phone"


class PhoneProfile:
    name = "phone"

    def headers(self, token: str) -> dict:
        return {"Authorization": f"Token {token}"}

    def rest_fixture(self, s: Seeder) -> dict:
        """A signed-in user, king of a meeting of 5 members."""
        ids = s.users(5)
        me = ids[0]
        (meeting,) = s.meetings("phone", [{
            "description": "Coffee after work", "starts_at": 1929600000.25, "image": "images/logo.jpg",
            "creator_id": me}])
        s.meeting_members(meeting, ids, king=me)
        tokens = s.sessions([me], TOKEN_KIND)
        return {"user": me, "token": tokens[me], "meeting": meeting}

    def rest_targets(self, fx: dict) -> list[tuple[str, str, str, str]]:
        return [("detail_meeting", "meeting detail GET /api/meetings/<id>/ (5 members)",
                 f"/api/meetings/{fx['meeting']}/", "detail")]
