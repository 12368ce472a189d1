"""5. Growth: list, search and history latency with 1,000 .. 1,000,000 rows (seeded in bulk with
SQL). One connection at a time (latency, not throughput); p50 and p99.

Each door's lists get a database of their own at each size: the rooms door (rooms list, user
search, history), the directory's events and organizations lists, the social door's meetings
near a point, the phone door's meetings and the campus door's events of a user. A list's answer
is the same at every size (the rows measured stay; the n rows grow around them)."""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
import uuid
import warnings

from bench.common import HOST, ratio, start_meetsrv
from bench.loadgen.http import measure
from bench.seed import Seeder, postgres_available, postgres_db


class DirectoryLists:
    """n directory events (each of one of n/10 organizations); the events list as its three
    orders, the organizations list. JWT access tokens are made here with the bench's --secret,
    one per measurement (they live 5 minutes)."""

    name = "directory"

    def headers(self, user_id: int) -> dict:
        import jwt

        now = int(time.time())
        claims = {"token_type": "access", "user_id": user_id, "iat": now - 1, "exp": now + 300,
                  "jti": uuid.uuid4().hex}
        with warnings.catch_warnings():  # the bench's short --secret
            warnings.simplefilter("ignore")
            token = jwt.encode(claims, "bench-secret", algorithm="HS256")
        return {"Authorization": "Bearer " + token}

    def growth_fixture(self, s: Seeder, n: int) -> dict:
        (me,) = s.users(1)
        s.directory_events(n, s.bulk_organizations(max(10, n // 10)))
        return {"token": me}

    def growth_targets(self, fx: dict) -> list[tuple[str, str, str]]:
        return [
            ("events", "events list, a page of 20 with their organizations", "/api/events/?limit=20"),
            ("events_by_date", "events list ?ordering=date", "/api/events/?limit=20&ordering=date"),
            ("events_by_date_desc", "events list ?ordering=-date", "/api/events/?limit=20&ordering=-date"),
            ("organizations", "organizations list, a page of 20", "/api/organizations/?limit=20"),
        ]


MOSCOW = (55.751244, 37.618423)


class SocialLists:
    """n social meetings over the globe (none within ~100 km of the point measured) by 1,000
    users, and 10 meetings within 10 km of the point; the meetings list near it (r = 30 km)."""

    name = "social"

    def headers(self, token: str) -> dict:
        return {"Authorization": f"Token {token}"}

    def growth_fixture(self, s: Seeder, n: int) -> dict:
        creators = s.users(1000)
        lat, lng = MOSCOW
        s.social_meetings_around(n, len(creators), (lat - 1.0, lat + 1.0, lng - 2.0, lng + 2.0))
        near = [(lat + 0.05 * math.cos(i), lng + 0.08 * math.sin(i)) for i in range(10)]
        s.social_meetings(near, creators[:10])
        me = creators[-1]
        return {"token": s.sessions([me], "social")[me]}

    def growth_targets(self, fx: dict) -> list[tuple[str, str, str]]:
        lat, lng = MOSCOW
        return [("meetings_near", "meetings near a point (10 within 30 km)", f"/meetings-list/?lat={lat}&lng={lng}&r=30")]


class PhoneLists:
    """n phone meetings of two among 1,000 users; the measured user is in 10 open meetings of 3
    and 5 completed ones; the meetings list (open, and ?all=true)."""

    name = "phone"

    def headers(self, token: str) -> dict:
        return {"Authorization": f"Token {token}"}

    def growth_fixture(self, s: Seeder, n: int) -> dict:
        others = s.users(1000)
        s.phone_meetings_among(n, len(others))
        (me,) = s.users(1)
        s.phone_meetings([[me, others[i], others[i + 1]] for i in range(15)], completed=range(10, 15))
        return {"token": s.sessions([me], "phone")[me]}

    def growth_targets(self, fx: dict) -> list[tuple[str, str, str]]:
        return [
            ("meetings", "meetings list (10 open of the caller's)", "/api/meetings/"),
            ("meetings_all", "meetings list ?all=true (15)", "/api/meetings/?all=true"),
        ]


class CampusLists:
    """n campus events by 1,000 users (each its creator's member); the measured user created 5
    and joined 10 of the others'; the events they created and joined."""

    name = "campus"

    def headers(self, token: str) -> dict:
        return {"Authorization": f"Token {token}"}

    def growth_fixture(self, s: Seeder, n: int) -> dict:
        others = s.users(1000)
        s.campus_events_among(n, len(others))
        (me,) = s.users(1)
        s.campus_events([me] * 5)
        theirs = s.campus_events(others[:10])
        s.members([(event, me) for event in theirs])
        return {"token": s.sessions([me], "campus")[me]}

    def answered(self, status: int, body: bytes) -> bool:
        return status == 200 and json.loads(body)["error"] == 0  # errors are HTTP 200 here

    def growth_targets(self, fx: dict) -> list[tuple[str, str, str]]:
        return [
            ("created", "events the user created (5)", "/api/events/GetCreatedEvents"),
            ("joined", "events the user joined (15 with their own)", "/api/events/GetJoinedEvents"),
        ]


LISTS = {p.name: p for p in (DirectoryLists(), SocialLists(), PhoneLists(), CampusLists())}


def _get(url: str, headers: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _door(ctx, door, db, n, folder, label):
    """Seed one door's database with n rows, start meetsrv on it, measure its targets."""
    t0 = time.perf_counter()
    s = Seeder(db)
    s.create_schema()
    fx = door.growth_fixture(s, n)
    s.settle()
    s.close()
    seed_s = time.perf_counter() - t0
    rows = {}
    with start_meetsrv(folder, db) as proc:
        for key, text, path in door.growth_targets(fx):
            key = key if door.name == "rooms" else f"{door.name}_{key}"
            url = f"http://{HOST}:{proc.port}{path}"
            status, body = _get(url, door.headers(fx["token"]))
            for _ in range(300):  # the port opens before the server answers ("starting": 503)
                if status != 503:
                    break
                time.sleep(0.1)
                status, body = _get(url, door.headers(fx["token"]))
            if not getattr(door, "answered", lambda status, body: status == 200)(status, body):
                raise RuntimeError(f"{label} {n:,} rows {key}: answered {status} {body[:200]!r}; see {folder}")
            measure(url, door.headers(fx["token"]), 1, 1)
            r = measure(url, door.headers(fx["token"]), ctx.params["growth_seconds"], 1)
            # a wrong credential or path answers fast, and would pass for a flat list
            if r.get("p50_ms") is None or (r.get("non_2xx") or 0) > 0.01 * (r.get("requests") or 0):
                raise RuntimeError(f"{label} {n:,} rows {key}: no answer or not 2xx ({r}); see {folder}")
            rows[key] = {"label": text if door.name == "rooms" else f"{door.name}: {text}", "p50_ms": r["p50_ms"],
                         "p99_ms": r["p99_ms"], "rps": r["rps"], "non_2xx": r.get("non_2xx")}
            ctx.log(f"  {label} {n:>9,} rows {key}: p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms")
    return seed_s, rows


def _size(ctx, doors, backend, n):
    results, seed_s = {}, 0.0
    for door in doors:
        folder = ctx.work.new(f"growth-{backend}-{door.name}-{n}")
        if backend == "sqlite":
            took, rows = _door(ctx, door, f"sqlite:///{folder}/growth.sqlite3", n, folder, backend)
        else:
            with postgres_db() as url:
                took, rows = _door(ctx, door, url, n, folder, backend)
        seed_s += took
        results.update(rows)
    return {"rows": n, "seed_s": round(seed_s, 1), "results": results}


def run(ctx) -> dict:
    p = ctx.params
    wanted = p.get("growth_doors") or ["rooms", *LISTS]
    doors = [ctx.profile("rooms") if name == "rooms" else LISTS[name] for name in wanted]
    out = {}
    backends = ["sqlite"] + (["postgresql"] if p.get("growth_postgres") and postgres_available() else [])
    for backend in backends:
        sizes = [_size(ctx, doors, backend, n) for n in p["growth_sizes"]]
        first, last = sizes[0], sizes[-1]
        growth = {key: ratio(last["results"][key]["p50_ms"], first["results"][key]["p50_ms"])
                  for key in first["results"]}
        out[backend] = {"sizes": sizes, "growth_p50": growth,
                        "from_rows": first["rows"], "to_rows": last["rows"]}
    return out
