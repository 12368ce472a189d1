"""The directory door (/api/...): a JWT access token in `Authorization: Bearer`."""

from __future__ import annotations

from bench.common import SECRET
from bench.seed import Seeder, jwt_access

EVENTS = 30
ORGANIZATIONS = 8
MEMBERS = 5  # per organization


class DirectoryProfile:
    name = "directory"

    def headers(self, token: str) -> dict:
        return {"Authorization": f"Bearer {token}"}

    def rest_fixture(self, s: Seeder) -> dict:
        """A signed-in user; 8 organizations of 5 members (with emails and phones); 30 dated
        events, each of 2 organizations, with an image."""
        ids = s.users(1 + ORGANIZATIONS * MEMBERS)
        s.emails(ids)
        me = ids[0]
        orgs = s.organizations([ids[1 + MEMBERS * i:1 + MEMBERS * (i + 1)] for i in range(ORGANIZATIONS)])
        events = s.meetings("directory", [
            {"description": f"What happens at event {i}", "date": f"2031-02-{1 + i % 28:02d}",
             "starts_at": 1929600000.0 + i * 86400 + 3600, "image": f"directory/events/event{i}.jpg",
             "creator_id": me}
            for i in range(EVENTS)])
        for i, event in enumerate(events):
            s.meeting_organizations(event, [orgs[i % ORGANIZATIONS], orgs[(i + 1) % ORGANIZATIONS]])
        return {"user": me, "token": jwt_access(me, SECRET), "event": events[0]}

    def rest_targets(self, fx: dict) -> list[tuple[str, str, str, str]]:
        """(key, label, path, kind): kind "detail" or "list" (the targets' table)."""
        return [
            ("detail_event", f"event detail GET /api/events/<id>/ (2 organizations of {MEMBERS} members)",
             f"/api/events/{fx['event']}/", "detail"),
            ("list_events", "events list GET /api/events/?limit=20 (2 organizations each)",
             "/api/events/?limit=20", "list"),
        ]
