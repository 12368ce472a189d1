"""The staff pages' HTML, built with twisted.web.template tags (escaped by the flattener)."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode

from twisted.web.template import Tag, tags

STYLE = """
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1d2733; background: #f4f6f8; }
header { background: #1f3a5f; color: #fff; padding: 10px 24px; display: flex; align-items: center; gap: 24px; }
header a { color: #dfe9f5; text-decoration: none; }
header a:hover { color: #fff; }
header .brand { font-weight: 600; color: #fff; }
header form { margin-left: auto; }
main { max-width: 1100px; margin: 24px auto; padding: 0 24px; }
h1 { font-size: 22px; margin: 0 0 16px; }
.card { background: #fff; border: 1px solid #dde3e9; border-radius: 6px; padding: 16px 20px; margin-bottom: 16px; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid #dde3e9; }
th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid #edf0f3; vertical-align: top; }
th { background: #f0f3f6; font-weight: 600; font-size: 13px; color: #4a5866; }
tr:hover td { background: #fafbfc; }
a { color: #1f5fa8; }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; margin-bottom: 16px; }
label { display: flex; flex-direction: column; font-size: 12px; color: #4a5866; gap: 3px; }
input, select { font: inherit; padding: 5px 8px; border: 1px solid #c5ced8; border-radius: 4px; background: #fff; }
button { font: inherit; padding: 6px 14px; border: 0; border-radius: 4px; background: #1f5fa8; color: #fff; cursor: pointer; }
header button { background: transparent; border: 1px solid #7f9bbd; padding: 3px 10px; }
.muted { color: #6b7886; }
.error { color: #a4262c; margin-bottom: 10px; }
.pager { margin-top: 12px; display: flex; gap: 16px; align-items: center; }
dl { display: grid; grid-template-columns: 160px 1fr; gap: 6px 16px; margin: 0; }
dt { color: #6b7886; }
dd { margin: 0; }
.preview img { max-width: 480px; max-height: 360px; border: 1px solid #dde3e9; display: block; }
.login { max-width: 360px; margin: 80px auto; }
.login label { margin-bottom: 12px; font-size: 13px; }
"""

PAGE_SIZE = 50


def when(ts) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def page(title: str, body, staff: dict | None = None, csrf: str | None = None) -> Tag:
    nav = []
    if staff is not None:
        nav = [
            tags.a("Users", href="/admin/users"),
            tags.a("Organizations", href="/admin/organizations"),
            tags.a("Events", href="/admin/events"),
            tags.a("Confirmations", href="/admin/confirmations"),
            tags.form(
                tags.span(staff.get("email") or "", class_="muted", style="color:#b9c9dc;margin-right:10px"),
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
            Tag("main")(body),
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


def dashboard(counts: dict) -> Tag:
    return [
        tags.h1("Dashboard"),
        tags.div(
            tags.dl(
                tags.dt(tags.a("Users", href="/admin/users")), tags.dd(str(counts["users"])),
                tags.dt(tags.a("Organizations", href="/admin/organizations")), tags.dd(str(counts["organizations"])),
                tags.dt(tags.a("Events", href="/admin/events")), tags.dd(str(counts["events"])),
            ),
            class_="card",
        ),
    ]


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
    items.append(tags.button("Filter", type="submit"))
    items.append(tags.a("Reset", href=action))
    return tags.form(*items, method="get", action=action, class_="filters")


def pager(path: str, values: dict, count: int, page_no: int) -> Tag:
    last = max(1, (count + PAGE_SIZE - 1) // PAGE_SIZE)
    parts = [tags.span(f"{count} found · page {page_no} of {last}", class_="muted")]

    def link(n, text):
        query = {k: v for k, v in values.items() if v}
        query["page"] = str(n)
        return tags.a(text, href=f"{path}?{urlencode(query)}")

    if page_no > 1:
        parts.append(link(page_no - 1, "← previous"))
    if page_no < last:
        parts.append(link(page_no + 1, "next →"))
    return tags.div(*parts, class_="pager")


def table(headers, rows) -> Tag:
    if not rows:
        return tags.div("Nothing found.", class_="card muted")
    return tags.table(
        tags.thead(tags.tr(*[tags.th(h) for h in headers])),
        tags.tbody(*[tags.tr(*[tags.td(c) for c in row]) for row in rows]),
    )


def users_page(rows, count, values, page_no) -> Tag:
    return [
        tags.h1("Users"),
        filters([("q", "Search email, phone, name", "text"),
                 ("staff", "Staff", (("", "any"), ("yes", "staff"), ("no", "not staff")))], values, "/admin/users"),
        table(["ID", "Email", "Phone", "Name", "Staff", "Joined"], [
            [str(r["id"]), r["email"] or "", r["phone"] or "", r["name"] or r["username"] or "",
             "yes" if r["is_staff"] else "", when(r["created"])] for r in rows]),
        pager("/admin/users", values, count, page_no),
    ]


def organizations_page(rows, count, values, page_no) -> Tag:
    return [
        tags.h1("Organizations"),
        filters([("q", "Search title", "text")], values, "/admin/organizations"),
        table(["ID", "Title", "Address", "Members"], [
            [str(r["id"]), tags.a(r["title"], href=f"/admin/organizations/{r['id']}"),
             " ".join(p for p in (r["postcode"], r["address"]) if p), str(len(r["users"]))] for r in rows]),
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
        tags.h1("Members"),
        table(["ID", "Email", "Phone"], [[str(u["id"]), u["email"] or "", u["phone"] or ""] for u in org["users"]]),
    ]


def event_date(row) -> str:
    if row.get("starts_at") is not None:
        return when(row["starts_at"])
    return row.get("date") or ""


def events_page(rows, count, values, page_no) -> Tag:
    return [
        tags.h1("Events"),
        filters([("q", "Search title", "text"), ("date__gte", "From", "date"), ("date__lte", "To", "date"),
                 ("ordering", "Order", (("-date", "latest date first"), ("date", "earliest date first")))],
                values, "/admin/events"),
        table(["ID", "Title", "Date", "Organizations", "Image"], [
            [str(r["id"]), tags.a(r["title"], href=f"/admin/events/{r['id']}"), event_date(r),
             ", ".join(o["title"] for o in r["organizations"]), "yes" if r["image"] else ""] for r in rows]),
        pager("/admin/events", values, count, page_no),
    ]


def event_page(row, image_url) -> Tag:
    orgs = row["organizations"]
    return [
        tags.h1(row["title"]),
        tags.div(tags.dl(
            tags.dt("ID"), tags.dd(str(row["id"])),
            tags.dt("Date"), tags.dd(event_date(row)),
            tags.dt("Description"), tags.dd(row["description"] or ""),
            tags.dt("Saved"), tags.dd(when(row["created"])),
            tags.dt("Organizations"), tags.dd(*[
                tags.div(tags.a(o["title"], href=f"/admin/organizations/{o['id']}"),
                         tags.span(f" · {len(o['users'])} member{'' if len(o['users']) == 1 else 's'}", class_="muted")) for o in orgs] or ["—"]),
        ), class_="card"),
        tags.div(
            tags.h1("Image"),
            tags.img(src=image_url, alt=f"Image of {row['title']}", id="event-image") if image_url
            else tags.span("No image.", class_="muted"),
            class_="card preview",
        ),
    ]


def confirmations_page(rows, csrf: str) -> Tag:
    """Scans waiting for review, each with its preview and Approve / Reject forms."""

    def decide(row, decision, label):
        return tags.form(
            tags.input(type="hidden", name="csrf", value=csrf or ""),
            tags.input(type="hidden", name="decision", value=decision),
            tags.button(label, type="submit"),
            method="post", action=f"/admin/confirmations/{row['user_id']}", style="display:inline;margin-right:8px",
        )

    def who(row):
        name, username = row["name"] or "", row["username"] or ""
        if name and username and name != username:
            return [name, tags.div(username, class_="muted")]
        return name or username or f"user {row['user_id']}"

    return [
        tags.h1("Confirmations"),
        table(["User", "Uploaded", "Scan", ""], [
            [who(r), when(r["created"]),
             tags.div(tags.a(tags.img(src=r["image"], alt=f"Confirmation scan of user {r['user_id']}"),
                             href=r["image"]), class_="preview"),
             [decide(r, "approve", "Approve"), decide(r, "reject", "Reject")]] for r in rows])
        if rows else tags.div("No scans are waiting for review.", class_="card muted"),
    ]


def message(title: str, text: str) -> Tag:
    return [tags.h1(title), tags.div(text, class_="card")]
