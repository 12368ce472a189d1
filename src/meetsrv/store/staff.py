"""The staff pages' reads across domains (users, organizations, meetings, chats) and the log of
staff actions. Lists are paged and sortable; text columns sort in natural order ("Org 2" before
"Org 10") through the NATURAL_ORDER collation where the database has it.

Each list takes a sort key from a fixed table of columns (never a column name from a request)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement
from twisted.internet.defer import Deferred

from meetsrv.store.accounts.users import like_contains
from meetsrv.store.db import NATURAL_ORDER, Database, Row, Txn
from meetsrv.store.tables import (
    chat_members,
    chats,
    confirmations,
    meeting_members,
    meeting_organizations,
    meetings,
    messages,
    organization_members,
    organizations,
    social_identities,
    staff_actions,
    users,
)

# (how many rows in all, the rows of one page)
Page = tuple[int, list[Row]]

DETAIL_LIMIT = 200  # rows of one list on a detail page (a user's meetings, a meeting's members...)


class day_of(FunctionElement[str]):
    """The UTC calendar day (YYYY-MM-DD) of epoch seconds, in each dialect's own words."""

    type = String()
    inherit_cache = True


@compiles(day_of, "sqlite")
def _day_of_sqlite(element: day_of, compiler: SQLCompiler, **kw: Any) -> str:
    return "strftime('%Y-%m-%d', " + compiler.process(element.clauses, **kw) + ", 'unixepoch')"


@compiles(day_of, "postgresql")
def _day_of_postgresql(element: day_of, compiler: SQLCompiler, **kw: Any) -> str:
    return "to_char(to_timestamp(" + compiler.process(element.clauses, **kw) + ") AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


# -- sorting ------------------------------------------------------------------------------------

class Sort:
    """One sortable column: its expression (then more to break ties) and whether it is text
    (natural order)."""

    def __init__(self, expr: ColumnElement[Any], *then: ColumnElement[Any], text: bool = False):
        self.expr = expr
        self.then = then
        self.text = text


def _order(db: Database, columns: dict[str, Sort], sort: str, default: str,
           tie: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """ORDER BY for `sort` ("name" or "-name"; unknown keys give `default`): empty values last
    either way, text in natural order, then `tie` (the id) for a stable page order."""
    desc = sort.startswith("-")
    column = columns.get(sort.lstrip("-"))
    if column is None:
        desc = default.startswith("-")
        column = columns[default.lstrip("-")]
    expr = column.expr
    empties: list[ColumnElement[Any]] = []
    if column.text:
        empties.append(expr.is_(None) | (expr == ""))
        if NATURAL_ORDER in db.search_indexes:
            expr = expr.collate(NATURAL_ORDER)
    elif not (isinstance(expr, Column) and not expr.nullable):
        empties.append(expr.is_(None))
    # a NOT NULL column sorts alone, so that its index serves the page (the id, by default)
    return [*empties, *[e.desc() if desc else e for e in (expr, *column.then, tie)]]


def _page(db: Database, desc: str, base: Select[Any], conds: list[ColumnElement[bool]],
          order: list[ColumnElement[Any]], limit: int, offset: int) -> Deferred[Page]:
    """(count, rows) of one page of `base` (a select) under `conds`."""
    count = select(func.count()).select_from(base.where(*conds).subquery())
    rows = base.where(*conds).order_by(*order).limit(limit).offset(offset)

    def run(t: Txn) -> Page:
        return t.scalar(count, dynamic=True), t.rows(rows, dynamic=True)

    return db.interact(desc, run)


# -- users ------------------------------------------------------------------------------------

# The door an account came from: recorded at sign-up; for older accounts, read from what it has.
DOOR = func.coalesce(
    users.c.door,
    case(
        (exists().where(social_identities.c.user_id == users.c.id), literal("social")),
        (users.c.email.is_not(None), literal("directory")),
        (users.c.phone.is_not(None), literal("phone")),
        (users.c.username.is_not(None), literal("rooms or campus")),
        else_=literal(""),
    ),
).label("door")
_display_name = func.coalesce(func.nullif(users.c.name, ""), users.c.username)

USER_SORTS = {
    "id": Sort(users.c.id),
    "door": Sort(DOOR, text=True),
    "email": Sort(users.c.email, text=True),
    "phone": Sort(users.c.phone, text=True),
    "name": Sort(_display_name, text=True),
    "staff": Sort(users.c.is_staff),
    "active": Sort(users.c.active),
    "created": Sort(users.c.created),
}
_user_list = select(
    users.c.id, DOOR, users.c.email, users.c.phone, users.c.username, users.c.name,
    users.c.is_staff, users.c.active, users.c.created,
)
DOORS = ("rooms", "campus", "social", "phone", "directory")


def _user_conditions(query: str | None, staff: bool | None, active: bool | None,
                     door: str | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if query:
        pattern = like_contains(query)
        conds.append(
            func.lower(func.coalesce(users.c.email, "")).like(pattern, escape="\\")
            | func.coalesce(users.c.phone, "").like(pattern, escape="\\")
            | users.c.name_folded.like(pattern, escape="\\")
            | func.coalesce(users.c.username_folded, "").like(pattern, escape="\\")
        )
    if staff is not None:
        conds.append(users.c.is_staff == staff)
    if active is not None:
        conds.append(users.c.active == active)
    if door:
        conds.append(DOOR == door)
    return conds


_user = select(
    users.c.id, DOOR, users.c.username, users.c.name, users.c.email, users.c.phone, users.c.about,
    users.c.avatar, users.c.karma, users.c.confirmed, users.c.is_staff, users.c.active,
    users.c.sessions_ended, users.c.created, (users.c.password_hash.is_not(None)).label("has_password"),
).where(users.c.id == bindparam("id"))
_identities = (
    select(social_identities.c.provider, social_identities.c.external_id)
    .where(social_identities.c.user_id == bindparam("id"))
    .order_by(social_identities.c.provider, social_identities.c.external_id)
)
_user_meetings = (
    select(
        meetings.c.id, meetings.c.kind, meetings.c.title, meetings.c.date, meetings.c.starts_at,
        func.coalesce(meeting_members.c.king, False).label("king"),
        (meetings.c.creator_id == bindparam("id")).label("creator"),
    )
    .select_from(meetings.outerjoin(
        meeting_members, and_(meeting_members.c.meeting_id == meetings.c.id,
                              meeting_members.c.user_id == bindparam("id"))))
    .where((meeting_members.c.user_id == bindparam("id")) | (meetings.c.creator_id == bindparam("id")))
    .order_by(meetings.c.id.desc())
    .limit(DETAIL_LIMIT)
)
_message_count = (
    select(messages.c.chat_id, func.count().label("messages"), func.max(messages.c.created).label("last"))
    .group_by(messages.c.chat_id)
    .subquery("message_counts")
)
_member_count = (
    select(chat_members.c.chat_id, func.count().label("members"))
    .group_by(chat_members.c.chat_id)
    .subquery("member_counts")
)
_chat_title = func.coalesce(func.nullif(chats.c.title, ""), meetings.c.title, chats.c.slug, literal(""))
_user_chats = (
    select(chats.c.id, chats.c.kind, _chat_title.label("title"), chat_members.c.joined,
           func.coalesce(_message_count.c.messages, 0).label("messages"))
    .select_from(
        chat_members.join(chats, chats.c.id == chat_members.c.chat_id)
        .outerjoin(meetings, meetings.c.id == chats.c.meeting_id)
        .outerjoin(_message_count, _message_count.c.chat_id == chats.c.id)
    )
    .where(chat_members.c.user_id == bindparam("id"))
    .order_by(chats.c.id.desc())
    .limit(DETAIL_LIMIT)
)
_user_organizations = (
    select(organizations.c.id, organizations.c.title)
    .join(organization_members, organization_members.c.organization_id == organizations.c.id)
    .where(organization_members.c.user_id == bindparam("id"))
    .order_by(organizations.c.id)
)
_user_confirmations = (
    select(confirmations.c.created, confirmations.c.reviewed)
    .where(confirmations.c.user_id == bindparam("id"))
    .order_by(confirmations.c.id.desc())
)


def user_txn(t: Txn, user_id: int) -> Row | None:
    """One user with every door's identities, meetings, chats and organizations."""
    user = t.row(_user, id=user_id)
    if user is None:
        return None
    user["social_identities"] = t.rows(_identities, id=user_id)
    user["meetings"] = t.rows(_user_meetings, id=user_id)
    user["chats"] = t.rows(_user_chats, id=user_id)
    user["organizations"] = t.rows(_user_organizations, id=user_id)
    user["confirmations"] = t.rows(_user_confirmations, id=user_id)
    return user


# -- organizations -------------------------------------------------------------------------------

_org_members = (
    select(organization_members.c.organization_id, func.count().label("members"))
    .group_by(organization_members.c.organization_id).subquery("org_members")
)
_org_events = (
    select(meeting_organizations.c.organization_id, func.count().label("events"))
    .group_by(meeting_organizations.c.organization_id).subquery("org_events")
)
_org_list = select(
    organizations.c.id, organizations.c.title, organizations.c.address, organizations.c.postcode,
    organizations.c.created, func.coalesce(_org_members.c.members, 0).label("members"),
    func.coalesce(_org_events.c.events, 0).label("events"),
).select_from(
    organizations.outerjoin(_org_members, _org_members.c.organization_id == organizations.c.id)
    .outerjoin(_org_events, _org_events.c.organization_id == organizations.c.id)
)
ORGANIZATION_SORTS = {
    "id": Sort(organizations.c.id),
    "title": Sort(organizations.c.title, text=True),
    "address": Sort(organizations.c.address, text=True),
    "members": Sort(_org_list.selected_columns.members),
    "events": Sort(_org_list.selected_columns.events),
    "created": Sort(organizations.c.created),
}
_organization = select(organizations).where(organizations.c.id == bindparam("id"))
_org_member_rows = (
    select(users.c.id, users.c.email, users.c.phone, users.c.name, users.c.username)
    .join(organization_members, organization_members.c.user_id == users.c.id)
    .where(organization_members.c.organization_id == bindparam("id"))
    .order_by(users.c.id)
    .limit(DETAIL_LIMIT)
)
_org_event_rows = (
    select(meetings.c.id, meetings.c.kind, meetings.c.title, meetings.c.date, meetings.c.starts_at)
    .join(meeting_organizations, meeting_organizations.c.meeting_id == meetings.c.id)
    .where(meeting_organizations.c.organization_id == bindparam("id"))
    .order_by(meetings.c.id.desc())
    .limit(DETAIL_LIMIT)
)


def organization_txn(t: Txn, org_id: int) -> Row | None:
    org = t.row(_organization, id=org_id)
    if org is None:
        return None
    org["users"] = t.rows(_org_member_rows, id=org_id)
    org["events"] = t.rows(_org_event_rows, id=org_id)
    return org


# -- meetings and events ---------------------------------------------------------------------------

MEETING_DAY = func.coalesce(meetings.c.date, day_of(meetings.c.starts_at))
_meeting_members = (
    select(meeting_members.c.meeting_id, func.count().label("members"))
    .group_by(meeting_members.c.meeting_id).subquery("meeting_member_counts")
)
_creator = users.alias("creator")
_meeting_list = select(
    meetings.c.id, meetings.c.kind, meetings.c.title, meetings.c.date, meetings.c.starts_at,
    meetings.c.image, meetings.c.completed, meetings.c.creator_id,
    func.coalesce(func.nullif(_creator.c.name, ""), _creator.c.username, _creator.c.email).label("creator"),
    func.coalesce(_meeting_members.c.members, 0).label("members"),
).select_from(
    meetings.outerjoin(_creator, _creator.c.id == meetings.c.creator_id)
    .outerjoin(_meeting_members, _meeting_members.c.meeting_id == meetings.c.id)
)
MEETING_SORTS = {
    "id": Sort(meetings.c.id),
    "door": Sort(meetings.c.kind, text=True),
    "title": Sort(meetings.c.title, text=True),
    # the day, then the time within it (date-only events first)
    "date": Sort(MEETING_DAY, func.coalesce(meetings.c.starts_at, 0)),
    "creator": Sort(_meeting_list.selected_columns.creator, text=True),
    "members": Sort(_meeting_list.selected_columns.members),
}
MEETING_KINDS = ("social", "campus", "phone", "directory")


def _meeting_conditions(query: str | None = None, kind: str | None = None, day_gte: str | None = None,
                        day_lte: str | None = None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if query:
        conds.append(func.lower(meetings.c.title).like(like_contains(query), escape="\\"))
    if kind:
        conds.append(meetings.c.kind == kind)
    if day_gte is not None:
        conds.append(MEETING_DAY >= day_gte)
    if day_lte is not None:
        conds.append(MEETING_DAY <= day_lte)
    return conds


_meeting = (
    select(meetings, func.coalesce(func.nullif(_creator.c.name, ""), _creator.c.username,
                                   _creator.c.email).label("creator"))
    .select_from(meetings.outerjoin(_creator, _creator.c.id == meetings.c.creator_id))
    .where(meetings.c.id == bindparam("id"))
)
_meeting_member_rows = (
    select(users.c.id, users.c.name, users.c.username, users.c.email, users.c.phone,
           meeting_members.c.king, meeting_members.c.joined)
    .join(meeting_members, meeting_members.c.user_id == users.c.id)
    .where(meeting_members.c.meeting_id == bindparam("id"))
    .order_by(meeting_members.c.joined, users.c.id)
    .limit(DETAIL_LIMIT)
)
_meeting_organizations = (
    select(organizations.c.id, organizations.c.title, func.coalesce(_org_members.c.members, 0).label("members"))
    .select_from(
        meeting_organizations.join(organizations, organizations.c.id == meeting_organizations.c.organization_id)
        .outerjoin(_org_members, _org_members.c.organization_id == organizations.c.id)
    )
    .where(meeting_organizations.c.meeting_id == bindparam("id"))
    .order_by(organizations.c.title, organizations.c.id)
)
_meeting_chats = (
    select(chats.c.id, chats.c.kind, func.coalesce(_message_count.c.messages, 0).label("messages"))
    .select_from(chats.outerjoin(_message_count, _message_count.c.chat_id == chats.c.id))
    .where(chats.c.meeting_id == bindparam("id"))
    .order_by(chats.c.id)
)


def meeting_txn(t: Txn, meeting_id: int) -> Row | None:
    meeting = t.row(_meeting, id=meeting_id)
    if meeting is None:
        return None
    meeting["members"] = t.rows(_meeting_member_rows, id=meeting_id)
    meeting["organizations"] = t.rows(_meeting_organizations, id=meeting_id)
    meeting["chats"] = t.rows(_meeting_chats, id=meeting_id)
    return meeting


def organizations_of_txn(t: Txn, meeting_ids: list[int]) -> dict[int, list[Row]]:
    if not meeting_ids:
        return {}
    stmt = (
        select(meeting_organizations.c.meeting_id, organizations.c.id, organizations.c.title)
        .join(organizations, organizations.c.id == meeting_organizations.c.organization_id)
        .where(meeting_organizations.c.meeting_id.in_(sorted(set(meeting_ids))))
        .order_by(meeting_organizations.c.meeting_id, organizations.c.title, organizations.c.id)
    )
    out: dict[int, list[Row]] = {}
    for row in t.rows(stmt, dynamic=True):
        out.setdefault(row.pop("meeting_id"), []).append(row)
    return out


# -- chats ----------------------------------------------------------------------------------------

_chat_list = select(
    chats.c.id, chats.c.kind, _chat_title.label("title"), chats.c.meeting_id, chats.c.created,
    func.coalesce(_member_count.c.members, 0).label("members"),
    func.coalesce(_message_count.c.messages, 0).label("messages"),
    _message_count.c.last,
).select_from(
    chats.outerjoin(meetings, meetings.c.id == chats.c.meeting_id)
    .outerjoin(_member_count, _member_count.c.chat_id == chats.c.id)
    .outerjoin(_message_count, _message_count.c.chat_id == chats.c.id)
)
CHAT_SORTS = {
    "id": Sort(chats.c.id),
    "door": Sort(chats.c.kind, text=True),
    "title": Sort(_chat_title, text=True),
    "members": Sort(_chat_list.selected_columns.members),
    "messages": Sort(_chat_list.selected_columns.messages),
    "last": Sort(_chat_list.selected_columns.last),
}
CHAT_KINDS = ("room", "meeting", "lobby")


def _chat_conditions(query: str | None = None, kind: str | None = None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if query:
        conds.append(func.lower(_chat_title).like(like_contains(query), escape="\\"))
    if kind:
        conds.append(chats.c.kind == kind)
    return conds


_chat = (
    select(chats.c.id, chats.c.kind, _chat_title.label("title"), chats.c.slug, chats.c.meeting_id,
           chats.c.created, meetings.c.title.label("meeting_title"))
    .select_from(chats.outerjoin(meetings, meetings.c.id == chats.c.meeting_id))
    .where(chats.c.id == bindparam("id"))
)
_chat_member_rows = (
    select(users.c.id, users.c.name, users.c.username, users.c.email, users.c.phone,
           chat_members.c.joined, chat_members.c.last_read_message_id)
    .join(chat_members, chat_members.c.user_id == users.c.id)
    .where(chat_members.c.chat_id == bindparam("id"))
    .order_by(chat_members.c.joined, users.c.id)
    .limit(DETAIL_LIMIT)
)
_chat_message_count = select(func.count()).select_from(messages).where(messages.c.chat_id == bindparam("id"))
_author = func.coalesce(func.nullif(users.c.name, ""), users.c.username, users.c.email, users.c.phone)


def _chat_messages(limit: int) -> Select[Any]:
    return (
        select(messages.c.id, messages.c.user_id, _author.label("author"), messages.c.text, messages.c.created)
        .select_from(messages.outerjoin(users, users.c.id == messages.c.user_id))
        .where((messages.c.chat_id == bindparam("id")) & (messages.c.id < bindparam("before")))
        .order_by(messages.c.id.desc())
        .limit(limit)
    )


def chat_txn(t: Txn, chat_id: int, before: int | None, limit: int) -> Row | None:
    """One chat with its members and up to `limit` messages before id `before` (newest first)."""
    chat = t.row(_chat, id=chat_id)
    if chat is None:
        return None
    chat["members"] = t.rows(_chat_member_rows, id=chat_id)
    chat["message_count"] = t.scalar(_chat_message_count, id=chat_id)
    # one row more than shown tells whether older messages exist
    rows = t.rows(_chat_messages(limit + 1), dynamic=True, id=chat_id, before=before or 2**62)
    chat["messages"] = rows[:limit]
    chat["older"] = len(rows) > limit
    return chat


# -- the log of staff actions ------------------------------------------------------------------------

_insert_action = insert(staff_actions).values(
    staff_id=bindparam("staff_id"), staff_label=bindparam("staff_label"), action=bindparam("action"),
    target_id=bindparam("target_id"), target_label=bindparam("target_label"), detail=bindparam("detail"),
    created=bindparam("created"),
).returning(staff_actions.c.id)
_action_list = select(staff_actions)
ACTION_SORTS = {
    "created": Sort(staff_actions.c.created),
    "staff": Sort(staff_actions.c.staff_label, text=True),
    "action": Sort(staff_actions.c.action, text=True),
    "target": Sort(staff_actions.c.target_label, text=True),
}


# -- counts for the dashboard -------------------------------------------------------------------------

def _count(table: Table, *conds: ColumnElement[bool]) -> Select[Any]:
    return select(func.count()).select_from(table).where(*conds)


_counts = {
    "users": _count(users),
    "inactive": _count(users, users.c.active == False),  # noqa: E712 (SQL, not Python)
    "staff": _count(users, users.c.is_staff == True),  # noqa: E712
    "organizations": _count(organizations),
    "meetings": _count(meetings),
    "chats": _count(chats),
    "messages": _count(messages),
    "waiting": _count(confirmations, confirmations.c.reviewed.is_(None)),
    "actions": _count(staff_actions),
}


def counts_txn(t: Txn) -> dict[str, int]:
    return {name: t.scalar(stmt) for name, stmt in _counts.items()}


class StaffStore:
    def __init__(self, db: Database):
        self.db = db

    def counts(self) -> Deferred[dict[str, int]]:
        return self.db.interact("staff.counts", counts_txn)

    # -- users
    def users(self, query: str | None = None, staff: bool | None = None, active: bool | None = None,
              door: str | None = None, sort: str = "-id", limit: int = 50, offset: int = 0) -> Deferred[Page]:
        order = _order(self.db, USER_SORTS, sort, "-id", users.c.id)
        return _page(self.db, "staff.users", _user_list, _user_conditions(query, staff, active, door), order,
                     limit, offset)

    def user(self, user_id: int) -> Deferred[Row | None]:
        return self.db.interact("staff.user", user_txn, user_id)

    # -- organizations
    def organizations(self, query: str | None = None, sort: str = "title", limit: int = 50,
                      offset: int = 0) -> Deferred[Page]:
        conds: list[ColumnElement[bool]] = []
        if query:
            conds.append(func.lower(organizations.c.title).like(like_contains(query), escape="\\"))
        order = _order(self.db, ORGANIZATION_SORTS, sort, "title", organizations.c.id)
        return _page(self.db, "staff.organizations", _org_list, conds, order, limit, offset)

    def organization(self, org_id: int) -> Deferred[Row | None]:
        return self.db.interact("staff.organization", organization_txn, org_id)

    # -- meetings
    def meetings(self, query: str | None = None, kind: str | None = None, day_gte: str | None = None,
                 day_lte: str | None = None, sort: str = "-date", limit: int = 50,
                 offset: int = 0) -> Deferred[Page]:
        order = _order(self.db, MEETING_SORTS, sort, "-date", meetings.c.id)
        conds = _meeting_conditions(query, kind, day_gte, day_lte)

        def run(t: Txn) -> Page:
            count = select(func.count()).select_from(_meeting_list.where(*conds).subquery())
            rows = t.rows(_meeting_list.where(*conds).order_by(*order).limit(limit).offset(offset), dynamic=True)
            orgs = organizations_of_txn(t, [r["id"] for r in rows])
            for r in rows:
                r["organizations"] = orgs.get(r["id"], [])
            return t.scalar(count, dynamic=True), rows

        return self.db.interact("staff.meetings", run)

    def meeting(self, meeting_id: int) -> Deferred[Row | None]:
        return self.db.interact("staff.meeting", meeting_txn, meeting_id)

    # -- chats
    def chats(self, query: str | None = None, kind: str | None = None, sort: str = "-last", limit: int = 50,
              offset: int = 0) -> Deferred[Page]:
        order = _order(self.db, CHAT_SORTS, sort, "-last", chats.c.id)
        return _page(self.db, "staff.chats", _chat_list, _chat_conditions(query, kind), order, limit, offset)

    def chat(self, chat_id: int, before: int | None = None, limit: int = 100) -> Deferred[Row | None]:
        return self.db.interact("staff.chat", chat_txn, chat_id, before, limit)

    # -- the log
    def log_action(self, now: float, staff_id: int | None, staff_label: str, action: str,
                   target_id: int | None, target_label: str, detail: str = "") -> Deferred[int]:
        return self.db.scalar("staff.log_action", _insert_action, staff_id=staff_id, staff_label=staff_label,
                              action=action, target_id=target_id, target_label=target_label, detail=detail,
                              created=now)

    def actions(self, target_id: int | None = None, sort: str = "-created", limit: int = 50,
                offset: int = 0) -> Deferred[Page]:
        conds: list[ColumnElement[bool]] = [] if target_id is None else [staff_actions.c.target_id == target_id]
        order = _order(self.db, ACTION_SORTS, sort, "-created", staff_actions.c.id)
        return _page(self.db, "staff.actions", _action_list, conds, order, limit, offset)
