"""The staff pages' client (/admin/): a staff member's password sign-in, the admin cookie, form
posts with their CSRF value, and the directory data the pages' tests look at."""

from __future__ import annotations

import re

from tests.clients.base import NoRedirects
from tests.clients.directory import create_event, member, saved_after_delay
from tests.clients.images import png

STAFF = ("boss@example.com", "staff-pass-1")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
MAGENTA = (255, 0, 255)


def cookie_of(response) -> str:
    """The `meetsrv_admin=...` cookie a sign-in set."""
    raw = response.header("set-cookie")
    assert raw and raw.startswith("meetsrv_admin="), response.headers
    return raw.split(";", 1)[0]


def csrf_of(page: str) -> str:
    """The CSRF value of a page's forms."""
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert m, page
    return m.group(1)


async def staff_login(http, server, email=STAFF[0], password=STAFF[1]):
    """POST /admin/login with a password (redirects not followed): the response, whatever it is."""
    body = f"email={email}&password={password}&next=/admin/".encode()
    return await NoRedirects(http).post(server.url + "/admin/login", data=body, headers=FORM)


async def setup_data(http, server, clock):
    """The staff member STAFF, directory members ann and bob, ann's club and two saved events
    (Blitz of the club with a 240x160 MAGENTA image, Jazz): (club, events by date)."""
    await server.services.directory_accounts.ensure_staff(*STAFF)
    ann, token = await member(http, server, "ann@example.com")
    await member(http, server, "bob@example.com")
    r = await http.post(server.url + "/api/organizations/create/", headers={"Authorization": f"Bearer {token}"},
                        json_body={"title": "Chess club", "postcode": "101000", "address": "Moscow",
                                   "users": [{"id": ann["id"]}]})
    club = r.json
    await create_event(http, server, token, {"title": "Blitz <script>alert(1)</script>", "date": "2031-02-20",
                                             "organizations": [{"id": club["id"]}]}, image=png(240, 160, MAGENTA))
    await create_event(http, server, token, {"title": "Jazz", "date": "2031-06-01"})
    await saved_after_delay(server, clock)
    r = await http.get(server.url + "/api/events/?ordering=date", headers={"Authorization": f"Bearer {token}"})
    return club, r.json["results"]
