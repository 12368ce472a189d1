"""Every list is read in an index's order: the query plans on SQLite and PostgreSQL show an
index serving the ORDER BY (no sort of every row), so a page costs the same at 1k and 1M rows.

Each list of each door is run through its store with the statements it executes recorded; each
statement is then EXPLAINed on the same database and its plan checked: every table is read
through an index (SQLite: no `SCAN <table>`, no automatic index; PostgreSQL, with sequential
scans and sorts priced out: no `Seq Scan`), and nothing is sorted (SQLite: no `USE TEMP B-TREE
FOR ORDER BY`; PostgreSQL: no `Sort`), except where a list says its sort is of a bounded set:
one user's rows, one page's rows, the matches of a bounding box."""

from __future__ import annotations

import re

import pytest
import pytest_twisted
from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint, delete

from meetsrv.store.accounts.users import UserStore
from meetsrv.store.chats.chats import ChatStore
from meetsrv.store.chats.meeting_chats import SocialChatStore
from meetsrv.store.counts import DIRECTORY_EVENTS, ORGANIZATIONS, lobby_messages
from meetsrv.store.db import Txn
from meetsrv.store.meetings.campus import CampusEventStore
from meetsrv.store.meetings.directory import DirectoryEventStore, _page_statements, insert_event_txn
from meetsrv.store.meetings.join_requests import JoinRequestStore
from meetsrv.store.meetings.markings import MarkingStore
from meetsrv.store.meetings.organizations import OrganizationStore
from meetsrv.store.meetings.phone import PhoneMeetingStore
from meetsrv.store.meetings.social import SocialMeetingStore
from meetsrv.store.people.friends import FriendStore
from meetsrv.store.people.graph import GraphStore
from meetsrv.store.people.photos import PhotoStore
from meetsrv.store.staff import StaffStore
from meetsrv.store.tables import chats as chats_table
from meetsrv.store.tables import messages, metadata

TABLES = set(metadata.tables)


def _sqlite_plan(t, compiled, params):
    t.cursor.execute("EXPLAIN QUERY PLAN " + compiled.sql, dict(compiled.defaults, **params))
    return " | ".join(str(row[-1]) for row in t.cursor.fetchall())


def _postgresql_plan(t, compiled, params):
    # tiny test tables: make the planner show what it would do with many rows
    t.cursor.execute("SET LOCAL enable_seqscan = off")
    t.cursor.execute("SET LOCAL enable_sort = off")
    t.cursor.execute("EXPLAIN " + compiled.sql, dict(compiled.defaults, **params))
    return " | ".join(row[0] for row in t.cursor.fetchall())


async def plan_of(db, stmt, **params) -> str:
    explain = _sqlite_plan if db.name == "sqlite" else _postgresql_plan
    return await db.interact("test.plan", explain, db.compile(stmt), params)


def _explain_sql(t, sql, values, sorts_priced_out):
    if t.db.name == "sqlite":
        t.cursor.execute("EXPLAIN QUERY PLAN " + sql, values)
        return " | ".join(str(row[-1]) for row in t.cursor.fetchall())
    t.cursor.execute("SET LOCAL enable_seqscan = off")
    if sorts_priced_out:
        t.cursor.execute("SET LOCAL enable_sort = off")
    t.cursor.execute("EXPLAIN " + sql, values)
    return " | ".join(row[0] for row in t.cursor.fetchall())


class Recorder:
    """Records the statements the stores run (SQL and values) while `on`."""

    def __init__(self, monkeypatch):
        self.on = False
        self.statements: list[tuple[str, dict]] = []
        run = Txn._run
        recorder = self

        def recording(txn, stmt, params, dynamic):
            compiled = run(txn, stmt, params, dynamic)
            if recorder.on:
                recorder.statements.append((compiled.sql, dict(compiled.defaults, **params)))
            return compiled

        monkeypatch.setattr(Txn, "_run", recording)

    async def plans(self, db, call, sorts_priced_out: bool = True) -> list[tuple[str, str]]:
        """[(sql, plan)] of every statement `call()` (a Deferred) ran."""
        self.statements = []
        self.on = True
        try:
            await call()
        finally:
            self.on = False
        statements, self.statements = self.statements, []
        assert statements, "the call ran no statement"
        out = []
        for sql, values in statements:
            out.append((sql, await db.interact("test.plan", _explain_sql, sql, values, sorts_priced_out)))
        return out


@pytest.fixture
def recorder(monkeypatch):
    return Recorder(monkeypatch)


NO_SORT, GROUPS, BOUNDED = "no sort", "groups", "bounded"


def problems(db_name: str, plan: str, sorts: str = NO_SORT, sql: str = "", every_of_kind: bool = False) -> list[str]:
    """What is wrong with one statement's plan: a table read whole, an index made up on the
    fly, or a sort: none may be NO_SORT; GROUPS, the rows of each group of a leading key read in
    index order (one chat's members); BOUNDED, a bounded set (one user's rows, one page's).
    Reading every meeting of a kind (an index searched by kind alone) is a whole table too,
    unless the statement has a LIMIT (a page) or the list is `every_of_kind`."""
    found = []
    by_kind_alone = (r"INDEX \w+ \(kind=\?\)" if db_name == "sqlite"
                     else r"Index Cond: \(\(kind\)::text = '\w+'::text\)(?! AND)")
    if re.search(by_kind_alone, plan) and "LIMIT" not in sql and not every_of_kind:
        found.append("reads every row of a kind")
    if db_name == "sqlite":
        # "SCAN t USING INDEX i" reads in the index's order (a page stops early); "SCAN t" alone
        # reads the whole table
        for name in re.findall(r"\bSCAN (\w+)\b(?! USING)", plan):
            if name in TABLES or name in ("mine",):
                found.append(f"scans {name}")
        if "AUTOMATIC" in plan:
            found.append("automatic index")
        sort = "USE TEMP B-TREE FOR RIGHT PART OF ORDER BY" if sorts == GROUPS else "USE TEMP B-TREE FOR ORDER BY"
        if sorts != BOUNDED and sort in plan:
            found.append("sorts")
    else:
        if "Seq Scan" in plan:
            found.append("Seq Scan")
        whole = re.search(r"(?<!Incremental )\bSort  \(cost", plan)
        if (sorts == NO_SORT and re.search(r"\bSort  \(cost", plan)) or (sorts == GROUPS and whole):
            found.append("sorts")
    return found


async def check(recorder, db, call, sorts: str = NO_SORT, every_of_kind: bool = False) -> list[tuple[str, str]]:
    """The plans of every statement call() runs, each without problems(). With BOUNDED, the
    PostgreSQL planner may sort (it picks an index range and sorts the matches, or the order's
    index); otherwise sorts are priced out, so a sort in the plan is one nothing else avoids."""
    plans = await recorder.plans(db, call, sorts_priced_out=sorts != BOUNDED)
    bad = [(sql, plan, problems(db.name, plan, sorts, sql, every_of_kind)) for sql, plan in plans]
    bad = [b for b in bad if b[2]]
    assert not bad, "\n\n".join(f"{why}\n{sql}\n-> {plan}" for sql, plan, why in bad)
    return plans


# -- fixtures: a few rows so that every statement of a list runs --------------------------------

BACKGROUND = [
    # 1,000 users, 1,000 meetings of each of three doors' kinds with two members each, 1,000
    # rooms and meeting chats of two members, 2,000 messages
    "INSERT INTO users (username, username_folded, name, name_folded, created) "
    "SELECT 'bg' || x, 'bg' || x, 'bg', 'bg', 1.0 FROM s",
    "INSERT INTO meetings (kind, uuid, title, creator_id, created, modified) "
    "SELECT k.kind, k.kind || '-' || x, k.kind || ' ' || x, (SELECT min(id) FROM users) + x - 1, 1.0, 1.0 "
    "FROM s, (SELECT 'social' AS kind UNION ALL SELECT 'phone' UNION ALL SELECT 'campus') AS k",
    "INSERT INTO meeting_members (meeting_id, user_id, joined) "
    "SELECT m.id, m.creator_id, 1.0 FROM meetings AS m WHERE m.title LIKE '% %' AND m.creator_id IS NOT NULL",
    "INSERT INTO chats (kind, member_key, created) "
    "SELECT k.kind, k.kind || '-' || x, 1.0 FROM s, (SELECT 'room' AS kind UNION ALL SELECT 'meeting') AS k",
    "INSERT INTO chat_members (chat_id, user_id, joined) "
    "SELECT c.id, (SELECT min(id) FROM users) + c.id % 1000, 1.0 FROM chats AS c WHERE c.member_key LIKE '%-%'",
    "INSERT INTO messages (chat_id, user_id, text, created) SELECT c.id, NULL, 'bg', 1.0 FROM chats AS c, "
    "(SELECT 1 UNION ALL SELECT 2) AS two WHERE c.member_key LIKE 'room-%'",
]


@pytest_twisted.async_fixture
async def background(server):
    """Rows around those a test makes, and PostgreSQL's statistics of them: its planner picks
    by the rows it expects (the SQLite server has no statistics: its planner goes by the
    indexes, as in production, where nothing runs ANALYZE)."""
    series = "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 1000) "

    def fill(t):
        for sql in BACKGROUND:
            insert, _, rest = sql.partition(" SELECT ")
            t.cursor.execute(f"{insert} {series}SELECT {rest}")
        if t.db.name == "postgresql":
            t.cursor.execute("ANALYZE")

    await server.db.interact("test.background", fill)


async def users(db, n: int) -> list[int]:
    store = UserStore(db)
    return [await store.insert(1.0, username=f"plan{i}", name=f"Plan {i}") for i in range(n)]


# -- the directory ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "ordering, index",
    [(None, "ix_meetings_kind_id"), ("date", "ix_meetings_kind_by_date"), ("-date", "ix_meetings_kind_by_date_desc")],
)
@pytest.mark.parametrize("filters", [{}, {"search": "%a%"}])
@pytest_twisted.ensureDeferred
async def test_directory_events_list_is_read_in_index_order(server, ordering, index, filters):
    _, rows = _page_statements(frozenset(filters), ordering)
    plan = await plan_of(server.db, rows, limit=20, offset=0, **filters)
    if server.db.name == "sqlite":
        assert f"USING INDEX {index}" in plan and "TEMP B-TREE" not in plan, plan
    else:
        assert ("Index Scan using" in plan or "Index Scan Backward using" in plan) and f" {index}" in plan, plan
        assert "Sort" not in plan, plan


@pytest.mark.parametrize("ordering", [None, "date", "-date"])
@pytest_twisted.ensureDeferred
async def test_directory_events_filtered_by_date_read_only_that_range(server, ordering):
    """A date filter reads its range from an index (the planner may then sort the matches)."""
    filters = {"date_gte": "2031-01-01", "date_lte": "2031-02-01"}
    _, rows = _page_statements(frozenset(filters), ordering)
    plan = await plan_of(server.db, rows, limit=20, offset=0, **filters)
    if server.db.name == "sqlite":
        assert "date>? AND date<?" in plan and "SCAN meetings" not in plan, plan
    else:
        assert "Index Cond" in plan and "date)::text >=" in plan and "Seq Scan" not in plan, plan


@pytest_twisted.ensureDeferred
async def test_directory_events_page_with_its_organizations_and_count(server, recorder):
    """The unfiltered page: its rows in index order, their organizations (a page's rows, sorted
    by title), and the count read from list_counts, not counted."""
    db = server.db
    orgs = OrganizationStore(db)
    org_id = await orgs.create(1.0, {"title": "Org"}, [])
    for day in ("2031-01-02", "2031-01-01"):
        await db.interact("test.event", insert_event_txn, 1.0, {"title": day, "date": day, "organizations": [org_id]})
    store = DirectoryEventStore(db)
    plans = await check(recorder, db, lambda: store.page(20, 0), sorts=BOUNDED)
    assert not any("count(" in sql.lower() for sql, _ in plans), plans
    # only the organizations of the page's rows are sorted (a bounded set)
    sorted_sql = [sql for sql, plan in plans if problems(db.name, plan, sql=sql)]
    assert all("meeting_organizations" in sql for sql in sorted_sql), sorted_sql
    for ordering in ("date", "-date"):
        await check(recorder, db, lambda o=ordering: store.page(20, 0, o), sorts=BOUNDED)
    count, rows = await store.page(20, 0)
    assert count == 2 and [r["organizations"][0]["id"] for r in rows] == [org_id, org_id]


@pytest_twisted.ensureDeferred
async def test_directory_organizations_list(server, recorder):
    db = server.db
    store = OrganizationStore(db)
    ids = [await store.create(1.0, {"title": t}, []) for t in ("b", "a", "b")]
    plans = await check(recorder, db, lambda: store.page(20, 0))
    assert not any("count(" in sql.lower() for sql, _ in plans), plans
    assert await store.page(20, 0) == (3, [await store.get(i) for i in (ids[1], ids[0], ids[2])])
    await check(recorder, db, lambda: store.page(20, 0, "B"))
    assert (await store.page(1, 1, "B"))[0] == 2
    user_ids = await users(db, 2)
    await store.create(1.0, {"title": "c"}, user_ids)
    await check(recorder, db, lambda: store.members_of(ids))


@pytest_twisted.ensureDeferred
async def test_directory_chat_history_page(server, recorder):
    """The lobby's page: the newest messages from the chat's index, the count kept (a room's
    page, which no door shows, is counted)."""
    db = server.db
    a, b = await users(db, 2)
    chats = ChatStore(db)
    lobby = await chats.create("lobby", [a], 1.0, slug="lobby-plans")
    room = await chats.create("room", [a, b], 1.0, member_key="ab")
    assert await kept(db, lobby_messages(lobby)) == 0  # made with the chat: a message changes a count only
    for i in range(3):
        await chats.insert_message(lobby, a, f"lobby {i}", 2.0 + i)
        await chats.insert_message(room, a, f"room {i}", 2.0 + i)
    plans = await check(recorder, db, lambda: chats.page(lobby, 2, 1))
    assert not any("count(" in sql.lower() for sql, _ in plans), plans
    count, found = await chats.page(lobby, 2, 1)
    assert count == 3 and [m.text for m in found] == ["lobby 1", "lobby 0"]
    assert (await chats.page(room, 2, 0))[0] == 3
    assert await kept(db, lobby_messages(lobby)) == 3 and await kept(db, lobby_messages(room)) is None
    await db.execute("test.delete", delete(messages).where(messages.c.text == "lobby 1"), dynamic=True)
    assert (await chats.page(lobby, 20, 0))[0] == 2 == await kept(db, lobby_messages(lobby))
    await db.execute("test.delete", delete(chats_table).where(chats_table.c.id == lobby), dynamic=True)
    assert await kept(db, lobby_messages(lobby)) is None


# -- list counts --------------------------------------------------------------------------------

async def kept(db, name):
    from sqlalchemy import select

    from meetsrv.store.tables import list_counts

    return await db.scalar("test.kept", select(list_counts.c.n).where(list_counts.c.name == name))


@pytest_twisted.ensureDeferred
async def test_list_counts_follow_inserts_and_deletes(server):
    """The triggers keep list_counts equal to the rows, whatever writes them."""
    from sqlalchemy import delete, func, insert, select, update

    from meetsrv.store.tables import meetings, organizations

    db = server.db

    async def counted():
        events = await db.scalar("test.count", select(func.count()).select_from(meetings)
                                 .where(meetings.c.kind == "directory"))
        orgs = await db.scalar("test.count", select(func.count()).select_from(organizations))
        return events, orgs

    async def same():
        assert (await kept(db, DIRECTORY_EVENTS) or 0, await kept(db, ORGANIZATIONS) or 0) == await counted()

    await same()
    rows = [dict(kind=kind, title=f"{kind} {i}", created=1.0, modified=1.0)
            for i in range(3) for kind in ("directory", "social")]
    await db.execute("test.insert", insert(meetings).values(rows), dynamic=True)
    await db.execute("test.insert", insert(organizations).values([{"title": "o", "created": 1.0}] * 2),
                     dynamic=True)
    await same()
    assert await kept(db, DIRECTORY_EVENTS) == 3
    await db.execute("test.delete", delete(meetings).where(meetings.c.title.in_(["directory 0", "social 0"])),
                     dynamic=True)
    await db.execute("test.update", update(meetings).where(meetings.c.title == "social 1").values(kind="directory"),
                     dynamic=True)
    await db.execute("test.update", update(meetings).where(meetings.c.title == "directory 2").values(kind="social"),
                     dynamic=True)
    await db.execute("test.update", update(meetings).where(meetings.c.title == "directory 1").values(title="d1"),
                     dynamic=True)
    await db.execute("test.delete", delete(organizations).where(organizations.c.id == select(
        func.min(organizations.c.id)).scalar_subquery()), dynamic=True)
    await same()
    assert await kept(db, DIRECTORY_EVENTS) == 2 and await kept(db, ORGANIZATIONS) == 1
    assert (await DirectoryEventStore(db).page(20, 0))[0] == 2
    assert (await OrganizationStore(db).page(20, 0))[0] == 1


# -- rooms --------------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_rooms_lists(server, recorder, background):
    db = server.db
    a, b, c = await users(db, 3)
    chats = ChatStore(db)
    room = await chats.create("room", [a, b, c], 1.0, member_key="k")
    await chats.insert_message(room, b, "hi", 2.0)
    # the user's rooms newest first, each room's members by id (PostgreSQL sorts each room's
    # members as it reads them: an incremental sort)
    await check(recorder, db, lambda: chats.chats_of_with_members(a, "room"), sorts=GROUPS)
    assert [chat_id for chat_id, _, _ in await chats.chats_of_with_members(a, "room")] == [room]
    await check(recorder, db, lambda: chats.member_chat_with_members(room, a))
    await check(recorder, db, lambda: chats.history(room, 50))
    await check(recorder, db, lambda: chats.history(room, 50, before=10))
    await check(recorder, db, lambda: chats.history(room, 50, after=1))
    await check(recorder, db, lambda: chats.unread_counts(a, "room"))


@pytest_twisted.ensureDeferred
async def test_a_poster_who_had_read_everything_has_read_their_own_message(server):
    """Posting moves the poster's last read to the new message only when they had read up to
    the message before it: the unread counts are what they were, and the rooms list counts
    from there instead of over all the user posted since they last read."""
    from sqlalchemy import select

    from meetsrv.store.tables import chat_members

    db = server.db
    a, b = await users(db, 2)
    chats = ChatStore(db)
    room = await chats.create("room", [a, b], 1.0, member_key="ab")

    async def state():
        rows = await db.rows("test.read", select(chat_members.c.user_id, chat_members.c.last_read_message_id)
                             .where(chat_members.c.chat_id == room))
        read = {r["user_id"]: r["last_read_message_id"] for r in rows}
        unread = {u: (await chats.unread_counts(u, "room")).get(room, 0) for u in (a, b)}
        return read[a], read[b], unread[a], unread[b]

    m1, _ = await chats.insert_message(room, b, "1", 2.0)  # the first message: b had read all
    assert await state() == (None, m1, 1, 0)
    m2, _ = await chats.insert_message(room, a, "2", 3.0)  # a has not read m1
    assert await state() == (None, m1, 1, 1)
    m3, _ = await chats.insert_message(room, b, "3", 4.0)  # b has not read m2
    assert await state() == (None, m1, 2, 1)
    await chats.history(room, 50, reader=a)  # a reads the newest page
    assert await state() == (m3, m1, 0, 1)
    m4, _ = await chats.insert_message(room, a, "4", 5.0)  # a had read everything
    assert await state() == (m4, m1, 0, 2)
    assert [(chat_id, unread) for chat_id, _, unread in await chats.chats_of_with_members(b, "room")] == [(room, 2)]


# -- social -------------------------------------------------------------------------------------

BOXES = {
    "no filter": {},
    "near a point": {"box": (55.4, 56.1, 37.0, 38.2)},
    "across the antimeridian": {"box": (-10.0, 10.0, 179.0, -179.0)},
    "every longitude": {"box": (80.0, 90.0, None, None)},
    "near, of a category, for a gender": {"box": (55.4, 56.1, 37.0, 38.2), "category": 1, "owner_gender": 0},
}


async def spread_meetings(db, kind="social"):
    """Meetings every 4 degrees of latitude and 8 of longitude; PostgreSQL's statistics of
    them (its planner picks a box's index by the rows it expects the box to hold)."""
    from sqlalchemy import insert

    from meetsrv.store.tables import meetings

    rows = [dict(kind=kind, title=f"{lat} {lng}", lat=lat, lng=lng, created=1.0, modified=1.0)
            for lat in range(-80, 81, 4) for lng in range(-180, 180, 8)]
    await db.execute("test.insert", insert(meetings).values(rows), dynamic=True)
    if db.name == "postgresql":
        await db.interact("test.analyze", lambda t: t.cursor.execute("ANALYZE meetings"))


@pytest.mark.parametrize("search", BOXES.values(), ids=BOXES.keys())
@pytest_twisted.ensureDeferred
async def test_social_meetings_list(server, recorder, background, search):
    """Without a box: every meeting in id order (ix_meetings_kind_id). Near a point: the box's
    latitudes from ix_meetings_kind_lat (longitudes checked in the index), its matches sorted."""
    await spread_meetings(server.db)
    store = SocialMeetingStore(server.db)
    plans = await check(recorder, server.db, lambda: store.search(**search), sorts=BOUNDED if search else NO_SORT,
                        every_of_kind=not search)  # no box: every meeting, as upstream
    (_, plan), = plans
    if search:
        if server.db.name == "sqlite":
            assert "ix_meetings_kind_lat (kind=? AND lat>? AND lat<?)" in plan, plan
        else:
            assert "ix_meetings_kind_lat" in plan and "lat >=" in plan, plan


@pytest_twisted.ensureDeferred
async def test_social_meetings_box_answers_what_it_did(server):
    """The box's bounds are inclusive; longitudes across the antimeridian wrap."""
    from sqlalchemy import insert

    from meetsrv.store.tables import meetings

    places = [(55.4, 37.0), (56.1, 38.2), (55.39, 37.5), (55.5, 38.21), (0.0, 179.5), (0.0, -179.5), (0.0, 0.0)]
    await server.db.execute("test.insert", insert(meetings).values([
        dict(kind="social", title=f"m{i}", lat=lat, lng=lng, created=1.0, modified=1.0)
        for i, (lat, lng) in enumerate(places)]), dynamic=True)
    store = SocialMeetingStore(server.db)
    assert [m["title"] for m in await store.search((55.4, 56.1, 37.0, 38.2))] == ["m0", "m1"]
    assert [m["title"] for m in await store.search((-10.0, 10.0, 179.0, -179.0))] == ["m4", "m5"]
    assert [m["title"] for m in await store.search((-10.0, 56.1, None, None))] == ["m0", "m1", "m2", "m3", "m4",
                                                                                     "m5", "m6"]


@pytest_twisted.ensureDeferred
async def test_social_lists(server, recorder, background):
    db = server.db
    owner, guest = await users(db, 2)
    meetings = SocialMeetingStore(db)
    meeting = await meetings.create(owner, {"title": "m", "lat": 55.7, "lng": 37.6}, 0.0, 3, 1.0)
    requests = JoinRequestStore(db)
    await requests.create(meeting, guest, 2.0)
    # the meetings list's colors and owners' photos, the requests to the owner, and the chats
    await check(recorder, db, lambda: meetings.approved_for(guest))
    await check(recorder, db, lambda: meetings.get_many([meeting, meeting + 1]))
    await check(recorder, db, lambda: PhotoStore(db).of_user(owner))
    await check(recorder, db, lambda: PhotoStore(db).of_users([owner, guest]))
    await check(recorder, db, lambda: UserStore(db).get_many([owner, guest]))
    # one owner's open requests, sorted by id (the owner's rows only)
    await check(recorder, db, lambda: requests.pending_for_owner(owner), sorts=BOUNDED)
    await check(recorder, db, lambda: requests.unread_count(owner))
    chats = ChatStore(db)
    chat = await chats.create("meeting", [owner, guest], 3.0, slug="s", owner_id=owner, meeting_id=meeting)
    await chats.insert_message(chat, guest, "hi", 4.0)
    social_chats = SocialChatStore(db)
    await check(recorder, db, lambda: social_chats.of_member(owner))
    # members of one user's chats in joining order (those chats' members only)
    await check(recorder, db, lambda: social_chats.member_ids([chat]), sorts=BOUNDED)
    await check(recorder, db, lambda: social_chats.last_messages([chat]))
    await check(recorder, db, lambda: chats.unread_counts(owner, "meeting"))
    await check(recorder, db, lambda: chats.history(chat, 10000, reader=owner))


# -- campus -------------------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_campus_lists(server, recorder, background):
    db = server.db
    a, b = await users(db, 2)
    events = CampusEventStore(db)
    event = await events.create("4a1e9b0e-0000-4000-8000-000000000001", "Lecture", 10.0, 20.0, a, 1.0)
    await events.join(event, b, 2.0)
    await check(recorder, db, events.all, every_of_kind=True)  # GetEvents: every event
    await check(recorder, db, lambda: events.created_by(a))
    await check(recorder, db, lambda: events.joined_by(b))
    assert [e["id"] for e in await events.joined_by(b)] == [event]
    friends = FriendStore(db)
    await friends.send(a, b, 3.0)
    # friends: two reads by index, merged by id in Python
    await check(recorder, db, lambda: friends.friends(a))
    await check(recorder, db, lambda: friends.friends(b))
    await check(recorder, db, lambda: friends.incoming(b))
    await check(recorder, db, lambda: MarkingStore(db).of_meeting(event))


# -- phone --------------------------------------------------------------------------------------

@pytest.mark.parametrize("include_completed", [False, True])
@pytest_twisted.ensureDeferred
async def test_phone_meetings_list(server, recorder, background, include_completed):
    db = server.db
    a, b = await users(db, 2)
    store = PhoneMeetingStore(db)
    await store.create(a, [b], 1.0, "m", None, None, None)
    await check(recorder, db, lambda: store.list_of(b, include_completed))
    assert [m["users"] for m in await store.list_of(b, include_completed)] == [[a, b]]


@pytest_twisted.ensureDeferred
async def test_phone_lists(server, recorder, background):
    db = server.db
    a, b, c = await users(db, 3)
    graph = GraphStore(db)
    await graph.block(a, b)
    await check(recorder, db, lambda: graph.blocked_users(a))
    await check(recorder, db, lambda: graph.blockers_of(b, [a, c]))
    await check(recorder, db, lambda: graph.contact_users(a))
    await check(recorder, db, lambda: graph.contact_names(a, [b, c]))


# -- the staff pages ----------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_staff_users_page_sorted_by_id_is_read_from_the_primary_key(server, recorder, background):
    """The staff users list opens sorted by id, newest first: a page walks the primary key (a
    NOT NULL column sorts without an `IS NULL` term that no index holds), and each user's door
    looks their social identities up by user. (SQLite says `SCAN users` for a walk in rowid
    order too: no sort in the plan tells the two apart.)"""
    staff = StaffStore(server.db)
    db = server.db
    for sort in ("-id", "id"):
        plans = await recorder.plans(db, lambda sort=sort: staff.users(sort=sort))
        for sql, plan in plans:
            found = [p for p in problems(db.name, plan, sql=sql) if p != "scans users"]
            assert not found, f"{found}\n{sql}\n-> {plan}"
    count, rows = await staff.users(sort="-id", limit=2)
    assert count >= 1000 and rows[0]["id"] > rows[1]["id"]


def test_every_foreign_key_leads_an_index():
    """As Django indexes every ForeignKey: deleting a user cascades without reading a table whole."""
    unindexed = []
    for table in metadata.sorted_tables:
        leading = {next(iter(ix.columns)).name for ix in table.indexes}
        leading |= {next(iter(c.columns)).name for c in table.constraints
                    if isinstance(c, (UniqueConstraint, PrimaryKeyConstraint)) and c.columns}
        unindexed += [f"{table.name}.{fk.parent.name}" for fk in table.foreign_keys if fk.parent.name not in leading]
    assert unindexed == []
