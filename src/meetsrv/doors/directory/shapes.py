"""The directory door's JSON shapes and its pagination (what it accepts: models.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from meetsrv.core.clock import utc_iso_micro
from meetsrv.core.meetings.organizations import full_address
from meetsrv.http.answers import json_answer


# -- pagination (what limit and offset are read as: models.Paging) -----------------------------
def _page_url(base_url: str, request, limit: int, offset: int | None) -> str:
    pairs = []
    for key, values in request.args.items():
        k = key.decode("utf-8", "replace")
        if k in ("limit", "offset"):
            continue
        for v in values:
            pairs.append((k, v.decode("utf-8", "replace")))
    pairs.append(("limit", str(limit)))
    if offset:
        pairs.append(("offset", str(offset)))
    return f"{base_url}{request.path.decode('utf-8', 'replace')}?{urlencode(pairs)}"


def paginated(request, base_url: str, count: int, results: list, limit: int, offset: int) -> bytes:
    nxt = _page_url(base_url, request, limit, offset + limit) if offset + limit < count else None
    prev = None
    if offset > 0:
        prev = _page_url(base_url, request, limit, max(0, offset - limit) if offset - limit > 0 else None)
    return json_answer(request, {"count": count, "next": nxt, "previous": prev, "results": results})


# -- shapes -------------------------------------------------------------------------------------
def user(row) -> dict:
    return {"id": row["id"], "email": row.get("email"), "telephone": row.get("phone")}


def organization(row, with_users: bool = True) -> dict:
    out = {
        "id": row["id"],
        "title": row["title"],
        "description": row["description"],
        "address": row["address"],
        "postcode": row["postcode"],
        "all_address": full_address(row),
    }
    if with_users:
        out["users"] = [user(u) for u in row.get("users", [])]
    return out


def event_date(row):
    if row.get("starts_at") is not None:
        return utc_iso_micro(row["starts_at"]).replace(".000000Z", "Z")
    return row.get("date")


def media_url(base_url: str, path: str | None):
    return f"{base_url}/media/{path}" if path else None


def event(row, base_url: str, with_members: bool = False) -> dict:
    return {
        "id": row["id"],
        "title": row["title"],
        "description": row["description"] or "",
        "organizations": [
            organization(o, with_users=with_members) if with_members else {"id": o["id"], "title": o["title"]}
            for o in row.get("organizations", [])
        ],
        "image": media_url(base_url, row.get("image")),
        "date": event_date(row),
    }


def chat_message(m, author) -> dict:
    return {"id": m.id, "user": author["email"] if author else None, "message": m.text,
            "created": utc_iso_micro(m.created)}
