"""The rooms door (/v1/...): X-Session-Id for HTTP, ?session_id= for the WebSocket."""

from __future__ import annotations

from bench.seed import Seeder, username


class RoomsProfile:
    name = "rooms"
    session_kind = "rooms"

    def headers(self, token: str) -> dict:
        return {"X-Session-Id": token}

    def ws_path(self, room_id: int, token: str) -> str:
        return f"/v1/rooms/{room_id}/chat?session_id={token}"

    # -- REST ------------------------------------------------------------------------------
    def rest_fixture(self, s: Seeder) -> dict:
        """One signed-in user in 10 rooms of 3 members."""
        ids = s.users(21)
        me = ids[0]
        rooms = s.rooms([[me, ids[1 + 2 * i], ids[2 + 2 * i]] for i in range(10)])
        tokens = s.sessions([me], self.session_kind)
        return {"user": me, "token": tokens[me], "room": rooms[0]}

    def rest_targets(self, fx: dict) -> list[tuple[str, str, str, str]]:
        """(key, label, path, kind): the list, and the details ("detail" or "list": the targets'
        table holds each door's details against >= 0.5 of bare Klein)."""
        return [
            ("list", "rooms list GET /v1/rooms (10 rooms)", "/v1/rooms", "list"),
            ("detail_info", "detail GET /v1/info", "/v1/info", "detail"),
            ("detail_room", "detail GET /v1/rooms/<id>", f"/v1/rooms/{fx['room']}", "detail"),
        ]

    # -- WebSockets ----------------------------------------------------------------------------
    def ws_rooms(self, s: Seeder, rooms: int, size: int) -> list[list[str]]:
        """`rooms` rooms of `size` signed-in members; returns the WebSocket paths, room by room."""
        ids = s.users(rooms * size)
        groups = [ids[i * size:(i + 1) * size] for i in range(rooms)]
        room_ids = s.rooms(groups)
        tokens = s.sessions(ids, self.session_kind)
        return [[self.ws_path(rid, tokens[u]) for u in g] for rid, g in zip(room_ids, groups)]

    # -- growth ------------------------------------------------------------------------------
    def growth_fixture(self, s: Seeder, n: int) -> dict:
        """n users, n (background) rooms, n messages in the measured user's room."""
        s.users(n)
        s.bulk_rooms(n, n)
        mine = s.users(11)
        me = mine[0]
        rooms = s.rooms([[me, other] for other in mine[1:]])
        first, last = s.messages(rooms[0], me, n)
        tokens = s.sessions([me], self.session_kind)
        s.analyze()
        return {"token": tokens[me], "room": rooms[0], "middle": (first + last) // 2,
                "rare": username(n // 2), "common": "u0000"}

    def growth_targets(self, fx: dict) -> list[tuple[str, str, str]]:
        return [
            ("list", "rooms list (10 rooms of the caller)", "/v1/rooms"),
            ("search_common", "user search, many hits (LIMIT 100 stops early)", f"/v1/users?q={fx['common']}"),
            ("search_rare", "user search, one hit (substring: scans)", f"/v1/users?q={fx['rare']}"),
            ("history", "history, newest 50", f"/v1/rooms/{fx['room']}/messages"),
            ("history_before", "history, keyset page ?before= (middle)",
             f"/v1/rooms/{fx['room']}/messages?before={fx['middle']}"),
        ]
