"""The staff pages' HTML, built with twisted.web.template tags (escaped by the flattener)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from twisted.web.template import Tag, tags

from meetsrv.core.accounts.users import User
from meetsrv.core.staff import ACTIONS

STYLE = """
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1d2733; background: #f4f6f8; }
header { background: #1f3a5f; color: #fff; padding: 10px 24px; display: flex; align-items: center; gap: 20px;
         flex-wrap: wrap; }
header a { color: #dfe9f5; text-decoration: none; }
header a:hover { color: #fff; }
header .brand { font-weight: 600; color: #fff; }
header form { margin-left: auto; }
main { max-width: 1100px; margin: 24px auto; padding: 0 24px; }
h1 { font-size: 22px; margin: 0 0 16px; }
h2 { font-size: 17px; margin: 24px 0 10px; }
.card { background: #fff; border: 1px solid #dde3e9; border-radius: 6px; padding: 16px 20px; margin-bottom: 16px; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid #dde3e9; margin-bottom: 8px; }
th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid #edf0f3; vertical-align: top; }
th { background: #f0f3f6; font-weight: 600; font-size: 13px; color: #4a5866; white-space: nowrap; }
th a { color: #4a5866; text-decoration: none; }
th a.sorted { color: #1d2733; }
tr:hover td { background: #fafbfc; }
a { color: #1f5fa8; }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; margin-bottom: 16px; }
label { display: flex; flex-direction: column; font-size: 12px; color: #4a5866; gap: 3px; }
label.check { flex-direction: row; align-items: center; gap: 6px; font-size: 14px; color: #1d2733; }
input, select { font: inherit; padding: 5px 8px; border: 1px solid #c5ced8; border-radius: 4px; background: #fff; }
button { font: inherit; padding: 6px 14px; border: 0; border-radius: 4px; background: #1f5fa8; color: #fff; cursor: pointer; }
button.approve { background: #1e7b34; }
button.reject, button.danger { background: #b3261e; }
header button { background: transparent; border: 1px solid #7f9bbd; padding: 3px 10px; }
.muted { color: #6b7886; }
.error { color: #a4262c; margin-bottom: 10px; }
.notice { background: #dcf4e2; border: 1px solid #8fd0a0; color: #17462a; border-radius: 6px; padding: 10px 16px;
          margin-bottom: 16px; }
.problem { background: #fbe3e1; border: 1px solid #e39a94; color: #6e1a14; border-radius: 6px; padding: 10px 16px;
           margin-bottom: 16px; }
.pager { margin-top: 12px; display: flex; gap: 16px; align-items: center; }
dl { display: grid; grid-template-columns: 180px 1fr; gap: 6px 16px; margin: 0; }
dt { color: #6b7886; }
dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px;
         margin-left: 8px; vertical-align: middle; }
.badge.active { background: #d3f0da; color: #17462a; }
.badge.inactive { background: #f2b84b; color: #4a2f00; }
.badge.staff { background: #e5dcf7; color: #3f2a78; }
.actions { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 12px; }
.actions form { display: flex; flex-direction: column; gap: 8px; align-items: flex-start; }
.actions p { margin: 0; font-size: 13px; color: #4a5866; }
.preview img { max-width: 480px; max-height: 360px; border: 1px solid #dde3e9; display: block; }
.message-text { white-space: pre-wrap; overflow-wrap: anywhere; }
.login { max-width: 360px; margin: 80px auto; }
.login label { margin-bottom: 12px; font-size: 13px; }
"""

PAGE_SIZE = 50

# the door each chat kind belongs to
CHAT_DOORS = {"room": "rooms", "meeting": "social", "lobby": "directory"}
# what each credential kind is, for the user page
CREDENTIAL_KINDS = {
    "rooms": "rooms door session",
    "campus": "campus door session",
    "social": "social door token",
    "phone": "phone door token",
    "refresh": "directory door refresh token",
    "admin": "staff pages session",
    "admin_link": "staff pages sign-in link",
}
NOTICES = {
    "name": "The display name was changed.",
    "deactivate": "The account was deactivated: it cannot sign in, and every session it had has ended.",
    "reactivate": "The account was reactivated: it can sign in again.",
    "make-staff": "The account is now staff.",
    "remove-staff": "The account is no longer staff.",
    "end-sessions": "Every session and credential of the account has ended.",
    "delete": "The account was deleted.",
    "approve": "The scan was approved: the user is confirmed.",
    "reject": "The scan was rejected.",
}


def when(ts) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat(" ", "minutes") + " UTC"


def page(title: str, body, staff: User | None = None, csrf: str | None = None, notice: str | None = None) -> Tag:
    nav = []
    if staff is not None:
        nav = [
            tags.a("Users", href="/admin/users"),
            tags.a("Organizations", href="/admin/organizations"),
            tags.a("Meetings & events", href="/admin/events"),
            tags.a("Chats", href="/admin/chats"),
            tags.a("Confirmations", href="/admin/confirmations"),
            tags.a("Staff log", href="/admin/log"),
            tags.form(
                tags.span(staff.email or "", class_="muted", style="color:#b9c9dc;margin-right:10px"),
                tags.input(type="hidden", name="csrf", value=csrf or ""),
                tags.button("Sign out", type="submit"),
                method="post", action="/admin/logout",
            ),
        ]
    return tags.html(
        tags.head(
            tags.meta(charset="utf-8"),
            tags.meta(name="viewport", content="width=device-width, initial-scale=1"),
            tags.title(f"{title} · meetsrv admin"),
            tags.style(STYLE),
        ),
        tags.body(
            tags.header(tags.a("meetsrv admin", class_="brand", href="/admin/"), *nav),
            Tag("main")(tags.div(notice, class_="notice", role="status") if notice else "", body),
        ),
        lang="en",
    )


def login(error: str | None, next_path: str) -> Tag:
    return tags.div(
        tags.h1("Staff sign-in"),
        tags.div(error, class_="error") if error else "",
        tags.form(
            tags.label("Email", tags.input(type="email", name="email", required="required", autofocus="autofocus")),
            tags.label("Password", tags.input(type="password", name="password", required="required")),
            tags.input(type="hidden", name="next", value=next_path),
            tags.button("Sign in", type="submit"),
            method="post", action="/admin/login",
        ),
        class_="card login",
    )


def message(title: str, text: str, back: str | None = None) -> Tag:
    return [tags.h1(title), tags.div(tags.div(text, class_="problem"),
                                     tags.a("← back", href=back) if back else "", class_="card")]


def dashboard(counts: dict) -> Tag:
    def row(label, href, value, extra=""):
        return [tags.dt(tags.a(label, href=href)), tags.dd(str(value), tags.span(extra, class_="muted"))]

    return [
        tags.h1("Dashboard"),
        tags.div(tags.dl(
            *row("Users", "/admin/users", counts["users"],
                 f" · {counts['staff']} staff · {counts['inactive']} deactivated"),
            *row("Organizations", "/admin/organizations", counts["organizations"]),
            *row("Meetings & events", "/admin/events", counts["meetings"]),
            *row("Chats", "/admin/chats", counts["chats"], f" · {counts['messages']} messages"),
            *row("Confirmations", "/admin/confirmations", counts["waiting"], " waiting for review"),
            *row("Staff log", "/admin/log", counts["actions"], " actions"),
        ), class_="card"),
    ]


# -- building blocks -----------------------------------------------------------------------------

def filters(fields, values: dict, action: str) -> Tag:
    """fields: (name, label, kind) with kind "text", "date" or a tuple of (value, label) choices."""
    items = []
    for name, label, kind in fields:
        current = values.get(name) or ""
        if isinstance(kind, tuple):
            options = [tags.option(text, value=value, **({"selected": "selected"} if value == current else {}))
                       for value, text in kind]
            items.append(tags.label(label, tags.select(*options, name=name)))
        else:
            items.append(tags.label(label, tags.input(type="search" if kind == "text" else kind, name=name,
                                                      value=current)))
    if values.get("sort"):
        items.append(tags.input(type="hidden", name="sort", value=values["sort"]))
    items.append(tags.button("Filter", type="submit"))
    items.append(tags.a("Reset", href=action))
    return tags.form(*items, method="get", action=action, class_="filters")


def _query(values: dict, **changes) -> str:
    query = {k: v for k, v in {**values, **changes}.items() if v}
    return urlencode(query)


def pager(path: str, values: dict, count: int, page_no: int) -> Tag:
    last = max(1, (count + PAGE_SIZE - 1) // PAGE_SIZE)
    parts = [tags.span(f"{count} found · page {page_no} of {last}", class_="muted")]
    if page_no > 1:
        parts.append(tags.a("← previous", href=f"{path}?{_query(values, page=str(page_no - 1))}"))
    if page_no < last:
        parts.append(tags.a("next →", href=f"{path}?{_query(values, page=str(page_no + 1))}"))
    return tags.div(*parts, class_="pager")


def table(headers, rows, empty: str = "Nothing found.") -> Tag:
    if not rows:
        return tags.div(empty, class_="card muted")
    return tags.table(
        tags.thead(tags.tr(*[tags.th(h) for h in headers])),
        tags.tbody(*[tags.tr(*[tags.td(c) for c in row]) for row in rows]),
    )


def sorted_table(path: str, values: dict, columns, rows, default: str) -> Tag:
    """A table whose headers sort it: columns are (sort key or None, label). A header links to its
    column ascending, or descending when it is already sorted ascending; `default` is the list's
    order when none is asked for."""
    current = values.get("sort") or default
    headers = []
    for key, label in columns:
        if key is None:
            headers.append(label)
            continue
        if current == key:
            target, mark = f"-{key}", " ▲"
        elif current == f"-{key}":
            target, mark = key, " ▼"
        else:
            target, mark = key, ""
        headers.append(tags.a(label + mark, href=f"{path}?{_query(values, sort=target, page='')}",
                              class_="sorted" if mark else ""))
    return table(headers, rows)


def who(user: dict) -> str:
    return user.get("name") or user.get("username") or user.get("email") or user.get("phone") or f"user {user['id']}"


def user_link(user_id, text) -> Tag | str:
    if user_id is None:
        return text or ""
    return tags.a(text or f"user {user_id}", href=f"/admin/users/{user_id}")


def yes(flag) -> str:
    return "yes" if flag else ""


def meeting_date(row) -> str:
    if row.get("starts_at") is not None:
        return when(row["starts_at"])
    return row.get("date") or ""


def hidden(csrf: str) -> Tag:
    return tags.input(type="hidden", name="csrf", value=csrf or "")


# -- users -----------------------------------------------------------------------------------------

DOOR_CHOICES = (("", "any"), ("rooms", "rooms"), ("campus", "campus"), ("social", "social"), ("phone", "phone"),
                ("directory", "directory"))


def users_page(rows, count, values, page_no) -> Tag:
    return [
        tags.h1("Users"),
        filters([("q", "Search email, phone, name", "text"),
                 ("door", "Door", DOOR_CHOICES),
                 ("staff", "Staff", (("", "any"), ("yes", "staff"), ("no", "not staff"))),
                 ("active", "Status", (("", "any"), ("yes", "active"), ("no", "deactivated")))],
                values, "/admin/users"),
        sorted_table("/admin/users", values, [
            ("id", "ID"), ("door", "Door"), ("name", "Name"), ("email", "Email"), ("phone", "Phone"),
            ("staff", "Staff"), ("active", "Status"), ("created", "Joined")], [
            [str(r["id"]), r["door"] or "", user_link(r["id"], r["name"] or r["username"] or f"user {r['id']}"),
             r["email"] or "", r["phone"] or "", yes(r["is_staff"]), "active" if r["active"] else "deactivated",
             when(r["created"])] for r in rows], "-id"),
        pager("/admin/users", values, count, page_no),
    ]


def identities(user) -> list:
    """(door, how the account signs in there) for every door the account can use."""
    out = []
    if user["username"] and user["has_password"]:
        door = user["door"] if user["door"] in ("rooms", "campus") else "rooms, campus"
        out.append([door, "username and password", user["username"]])
    for ident in user["social_identities"]:
        # a provider's identity signs in at the social door, and at the campus door through OAuth
        out.append(["social, campus (OAuth)", f"{ident['provider']} account", ident["external_id"]])
    if user["phone"]:
        out.append(["phone", "phone number (SMS code)", user["phone"]])
    if user["email"] and user["has_password"]:
        out.append(["directory" + (", staff pages" if user["is_staff"] else ""), "email and password", user["email"]])
    return out


def _role(meeting) -> str:
    roles = []
    if meeting["creator"]:
        roles.append("creator")
    if meeting["king"]:
        roles.append("king")
    return ", ".join(roles) or "member"


def _action(csrf: str, user_id: int, action: str, *fields, note: str = "") -> Tag:
    return tags.form(
        hidden(csrf), *fields, tags.p(note) if note else "",
        method="post", action=f"/admin/users/{user_id}/{action}",
    )


def user_page(user, csrf: str, me: int, name_max: int) -> Tag:
    uid = user["id"]
    badges = [tags.span("active", class_="badge active") if user["active"]
              else tags.span("deactivated", class_="badge inactive")]
    if user["is_staff"]:
        badges.append(tags.span("staff", class_="badge staff"))
    own = uid == me
    actions = [
        _action(csrf, uid, "name",
                tags.label("Display name", tags.input(name="name", value=user["name"] or "", maxlength=str(name_max),
                                                      required="required")),
                tags.button("Save name", type="submit")),
        _action(csrf, uid, "reactivate", tags.button("Reactivate", type="submit"),
                note="The account may sign in again.") if not user["active"] else
        _action(csrf, uid, "deactivate", tags.button("Deactivate", type="submit", class_="danger",
                                                      **({"disabled": "disabled"} if own else {})),
                note="No door signs the account in; every session ends now."),
        _action(csrf, uid, "remove-staff", tags.button("Remove staff", type="submit",
                                                        **({"disabled": "disabled"} if own else {})),
                note="The staff pages close to the account.") if user["is_staff"] else
        _action(csrf, uid, "make-staff", tags.button("Make staff", type="submit"),
                note="Signs in at /admin/ with the directory email and password"
                     + ("." if user["email"] and user["has_password"] else " (this account has none yet).")),
        _action(csrf, uid, "end-sessions", tags.button("End all sessions", type="submit", class_="danger"),
                note="Every door's sessions and tokens end; the user signs in again."),
        _action(csrf, uid, "delete",
                tags.label(tags.input(type="checkbox", name="confirm", value="yes", required="required",
                                      **({"disabled": "disabled"} if own else {})),
                           "Delete this account and what only it owns", class_="check"),
                tags.button("Delete account", type="submit", class_="danger",
                            **({"disabled": "disabled"} if own else {}))),
    ]
    return [
        tags.h1(who(user), *badges),
        tags.div(tags.dl(
            tags.dt("ID"), tags.dd(str(uid)),
            tags.dt("Display name"), tags.dd(user["name"] or ""),
            tags.dt("Username"), tags.dd(user["username"] or ""),
            tags.dt("Email"), tags.dd(user["email"] or ""),
            tags.dt("Phone"), tags.dd(user["phone"] or ""),
            tags.dt("Came from"), tags.dd(user["door"] or "unknown"),
            tags.dt("Status"), tags.dd("active" if user["active"] else "deactivated"),
            tags.dt("Staff"), tags.dd("yes" if user["is_staff"] else "no"),
            tags.dt("Confirmed (campus)"), tags.dd("yes" if user["confirmed"] else "no"),
            tags.dt("Joined"), tags.dd(when(user["created"])),
            tags.dt("Sessions last ended"), tags.dd(when(user["sessions_ended"]) or "never"),
        ), class_="card"),
        tags.h2("Actions"),
        tags.div(tags.div(*actions, class_="actions"), class_="card"),
        tags.h2("Identities"),
        table(["Door", "Signs in with", "Identity"], identities(user), "No way to sign in."),
        tags.h2("Sessions and credentials"),
        table(["Kind", "Count", "Newest", "Latest expiry"], [
            [CREDENTIAL_KINDS.get(c["kind"], c["kind"]), str(c["count"]), when(c["newest"]),
             when(c["expires"]) or "never"] for c in user["credentials"]], "No session or credential."),
        tags.p("Directory access tokens (JWT) are not stored: they last 5 minutes, and ending all sessions "
               "voids them too.", class_="muted"),
        tags.h2("Meetings and events"),
        table(["ID", "Door", "Title", "Date", "Role"], [
            [str(m["id"]), m["kind"], tags.a(m["title"], href=f"/admin/events/{m['id']}"), meeting_date(m),
             _role(m)] for m in user["meetings"]], "No meeting."),
        tags.h2("Chats"),
        table(["ID", "Door", "Chat", "Joined", "Messages"], [
            [str(c["id"]), CHAT_DOORS.get(c["kind"], c["kind"]),
             tags.a(c["title"] or f"chat {c['id']}", href=f"/admin/chats/{c['id']}"), when(c["joined"]),
             str(c["messages"])] for c in user["chats"]], "No chat."),
        tags.h2("Organizations"),
        table(["ID", "Title"], [[str(o["id"]), tags.a(o["title"], href=f"/admin/organizations/{o['id']}")]
                                for o in user["organizations"]], "No organization."),
        tags.h2("Staff actions on this account"),
        action_table(user["actions"], "None yet."),
    ]


# -- organizations ------------------------------------------------------------------------------------

def organizations_page(rows, count, values, page_no) -> Tag:
    return [
        tags.h1("Organizations"),
        filters([("q", "Search title", "text")], values, "/admin/organizations"),
        sorted_table("/admin/organizations", values, [
            ("id", "ID"), ("title", "Title"), ("address", "Address"), ("members", "Members"),
            ("events", "Events")], [
            [str(r["id"]), tags.a(r["title"], href=f"/admin/organizations/{r['id']}"),
             " ".join(p for p in (r["postcode"], r["address"]) if p), str(r["members"]), str(r["events"])]
            for r in rows], "title"),
        pager("/admin/organizations", values, count, page_no),
    ]


def organization_page(org) -> Tag:
    return [
        tags.h1(org["title"]),
        tags.div(tags.dl(
            tags.dt("ID"), tags.dd(str(org["id"])),
            tags.dt("Description"), tags.dd(org["description"] or ""),
            tags.dt("Postcode"), tags.dd(org["postcode"] or ""),
            tags.dt("Address"), tags.dd(org["address"] or ""),
            tags.dt("Created"), tags.dd(when(org["created"])),
        ), class_="card"),
        tags.h2("Members"),
        table(["ID", "Name", "Email", "Phone"], [
            [str(u["id"]), user_link(u["id"], who(u)), u["email"] or "", u["phone"] or ""] for u in org["users"]],
            "No member."),
        tags.h2("Events"),
        table(["ID", "Title", "Date"], [
            [str(m["id"]), tags.a(m["title"], href=f"/admin/events/{m['id']}"), meeting_date(m)]
            for m in org["events"]], "No event."),
    ]


# -- meetings and events ------------------------------------------------------------------------------

def events_page(rows, count, values, page_no) -> Tag:
    return [
        tags.h1("Meetings & events"),
        filters([("q", "Search title", "text"),
                 ("door", "Door", (("", "any"), ("social", "social"), ("campus", "campus"), ("phone", "phone"),
                                   ("directory", "directory"))),
                 ("date__gte", "From", "date"), ("date__lte", "To", "date")],
                values, "/admin/events"),
        sorted_table("/admin/events", values, [
            ("id", "ID"), ("door", "Door"), ("title", "Title"), ("date", "Date"), ("creator", "Creator"),
            ("members", "Members"), (None, "Organizations"), (None, "Image")], [
            [str(r["id"]), r["kind"], tags.a(r["title"], href=f"/admin/events/{r['id']}"), meeting_date(r),
             user_link(r["creator_id"], r["creator"]), str(r["members"]),
             ", ".join(o["title"] for o in r["organizations"]), yes(r["image"])] for r in rows], "-date"),
        pager("/admin/events", values, count, page_no),
    ]


def event_page(row, image_url) -> Tag:
    orgs = row["organizations"]
    return [
        tags.h1(row["title"]),
        tags.div(tags.dl(
            tags.dt("ID"), tags.dd(str(row["id"])),
            tags.dt("Door"), tags.dd(row["kind"]),
            tags.dt("Date"), tags.dd(meeting_date(row)),
            tags.dt("Ends"), tags.dd(when(row["ends_at"])),
            tags.dt("Description"), tags.dd(row["description"] or ""),
            tags.dt("Creator"), tags.dd(user_link(row["creator_id"], row["creator"]) or "—"),
            tags.dt("Completed"), tags.dd(yes(row["completed"]) or "no"),
            tags.dt("Saved"), tags.dd(when(row["created"])),
            tags.dt("Organizations"), tags.dd(*[
                tags.div(tags.a(o["title"], href=f"/admin/organizations/{o['id']}"),
                         tags.span(f" · {o['members']} member{'' if o['members'] == 1 else 's'}", class_="muted"))
                for o in orgs] or ["—"]),
        ), class_="card"),
        tags.div(
            tags.h2("Image"),
            tags.img(src=image_url, alt=f"Image of {row['title']}", id="event-image") if image_url
            else tags.span("No image.", class_="muted"),
            class_="card preview",
        ),
        tags.h2("Members"),
        table(["ID", "Name", "Role", "Joined"], [
            [str(u["id"]), user_link(u["id"], who(u)), "king" if u["king"] else "member", when(u["joined"])]
            for u in row["members"]], "No member."),
        tags.h2("Chats"),
        table(["ID", "Door", "Messages"], [
            [tags.a(str(c["id"]), href=f"/admin/chats/{c['id']}"), CHAT_DOORS.get(c["kind"], c["kind"]),
             str(c["messages"])] for c in row["chats"]], "No chat."),
    ]


# -- chats --------------------------------------------------------------------------------------------

def chats_page(rows, count, values, page_no) -> Tag:
    return [
        tags.h1("Chats"),
        filters([("q", "Search title", "text"),
                 ("door", "Door", (("", "any"), ("rooms", "rooms"), ("social", "social (meeting chats)"),
                                   ("directory", "directory (lobby)")))],
                values, "/admin/chats"),
        sorted_table("/admin/chats", values, [
            ("id", "ID"), ("door", "Door"), ("title", "Chat"), ("members", "Members"), ("messages", "Messages"),
            ("last", "Last message")], [
            [str(r["id"]), CHAT_DOORS.get(r["kind"], r["kind"]),
             tags.a(r["title"] or f"chat {r['id']}", href=f"/admin/chats/{r['id']}"), str(r["members"]),
             str(r["messages"]), when(r["last"])] for r in rows], "-last"),
        pager("/admin/chats", values, count, page_no),
    ]


def chat_page(chat) -> Tag:
    messages = chat["messages"]
    older = ""
    if chat["older"] and messages:
        older = tags.div(tags.a("older messages →", href=f"/admin/chats/{chat['id']}?before={messages[-1]['id']}"),
                         class_="pager")
    return [
        tags.h1(chat["title"] or f"Chat {chat['id']}"),
        tags.div(tags.dl(
            tags.dt("ID"), tags.dd(str(chat["id"])),
            tags.dt("Door"), tags.dd(CHAT_DOORS.get(chat["kind"], chat["kind"])),
            tags.dt("Meeting"), tags.dd(tags.a(chat["meeting_title"] or f"meeting {chat['meeting_id']}",
                                               href=f"/admin/events/{chat['meeting_id']}")
                                        if chat["meeting_id"] else "—"),
            tags.dt("Created"), tags.dd(when(chat["created"])),
            tags.dt("Messages"), tags.dd(str(chat["message_count"])),
        ), class_="card"),
        tags.h2("Members"),
        table(["ID", "Name", "Joined", "Last read"], [
            [str(u["id"]), user_link(u["id"], who(u)), when(u["joined"]),
             str(u["last_read_message_id"] or "")] for u in chat["members"]], "No member."),
        tags.h2("Messages (newest first)"),
        table(["ID", "When", "From", "Text"], [
            [str(m["id"]), when(m["created"]), user_link(m["user_id"], m["author"]) if m["user_id"] else "deleted",
             tags.div(m["text"], class_="message-text")] for m in messages], "No message."),
        older,
    ]


# -- the staff log ------------------------------------------------------------------------------------

def action_table(rows, empty="Nothing found.", sortable: tuple | None = None) -> Tag:
    cells = [[when(r["created"]), user_link(r["staff_id"], r["staff_label"]),
              ACTIONS.get(r["action"], r["action"]), user_link(r["target_id"], r["target_label"]),
              r["detail"] or ""] for r in rows]
    if sortable is not None:
        path, values = sortable
        return sorted_table(path, values, [("created", "When"), ("staff", "Staff"), ("action", "Did"),
                                           ("target", "To"), (None, "Detail")], cells, "-created")
    return table(["When", "Staff", "Did", "To", "Detail"], cells, empty)


def log_page(rows, count, values, page_no) -> Tag:
    return [
        tags.h1("Staff log"),
        action_table(rows, sortable=("/admin/log", values)),
        pager("/admin/log", values, count, page_no),
    ]


# -- confirmations ------------------------------------------------------------------------------------

def confirmations_page(rows, csrf: str) -> Tag:
    """Scans waiting for review, each with its preview and Approve / Reject forms."""

    def decide(row, decision, label):
        return tags.form(
            hidden(csrf),
            tags.input(type="hidden", name="decision", value=decision),
            tags.button(label, type="submit", class_=decision),
            method="post", action=f"/admin/confirmations/{row['user_id']}", style="display:inline;margin-right:8px",
        )

    def person(row):
        name, username = row["name"] or "", row["username"] or ""
        if name and username and name != username:
            return [user_link(row["user_id"], name), tags.div(username, class_="muted")]
        return user_link(row["user_id"], name or username or f"user {row['user_id']}")

    return [
        tags.h1("Confirmations"),
        table(["User", "Uploaded", "Scan", ""], [
            [person(r), when(r["created"]),
             tags.div(tags.a(tags.img(src=r["image"], alt=f"Confirmation scan of user {r['user_id']}"),
                             href=r["image"]), class_="preview"),
             [decide(r, "approve", "Approve"), decide(r, "reject", "Reject")]] for r in rows])
        if rows else tags.div("No scans are waiting for review.", class_="card muted"),
    ]
