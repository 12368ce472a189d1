"""Every staff action clicked in a real headless Chromium (through chromedriver), each result page
screenshotted and checked by its colours (the notice, the status badges, the Approve and Reject
buttons) and its text, and each action checked at the doors too."""

from __future__ import annotations

import pytest_twisted

from meetsrv.admin import issue_login_link
from tests.clients import directory, phone, staff
from tests.clients.base import http  # noqa: F401  (no shared cookie jar)
from tests.clients.campus import confirmed, waiting_user
from tests.support.browser import Browser, count_color, needs_chromium

# the pages' colours (admin/pages.py STYLE)
NOTICE = (220, 244, 226)
ACTIVE = (211, 240, 218)
INACTIVE = (242, 184, 75)
STAFF = (229, 220, 247)
APPROVE = (30, 123, 52)
REJECT = (179, 38, 30)
HEADER = (31, 58, 95)


def shows(shot, color, at_least=200) -> bool:
    return count_color(shot, color) >= at_least


@needs_chromium
@pytest_twisted.ensureDeferred
async def test_every_action_in_a_real_browser(start_server, http, clock, tmp_path):
    server = await start_server(clock=clock)
    url = server.url
    staff_id = await server.services.directory_accounts.ensure_staff(*staff.STAFF)
    uid, token = await phone.sign_up(http, server, phone.PHONES[0], name="Phony")
    await directory.sign_up(http, server, "dir@example.com")
    scan = await waiting_user(http, server, "scanned")
    _, org_token = await directory.member(http, server, "org@example.com")
    for title in ("Org 10", "Org 2", "Org 1"):
        r = await http.post(url + "/api/organizations/create/", headers=directory.auth(org_token),
                            json_body={"title": title})
        assert r.code == 201

    async with Browser(tmp_path) as b:
        await b.open(url + await issue_login_link(server.services, staff_id, "/admin/users?sort=id"))
        assert (await b.url()).endswith("/admin/users?sort=id")
        shot = await b.screenshot("users")
        assert shows(shot, HEADER)
        rows = await b.texts("tbody tr")
        assert any(row.startswith(f"{uid} phone Phony") for row in rows), rows
        assert any(" directory dir " in f" {row} " for row in rows), rows

        # the user page: active, not staff
        await b.navigate_by(f'a[href="/admin/users/{uid}"]')
        shot = await b.screenshot("user")
        assert shows(shot, ACTIVE) and not shows(shot, INACTIVE) and not shows(shot, STAFF)
        assert not shows(shot, NOTICE)
        assert "phone door token" in await b.text("main")

        # rename
        await b.type('form[action$="/name"] input[name="name"]', "Phony <Renamed>")
        await b.navigate_by('form[action$="/name"] button')
        shot = await b.screenshot("renamed")
        assert shows(shot, NOTICE) and (await b.text("h1")).startswith("Phony <Renamed>")
        assert (await server.services.accounts.get(uid)).name == "Phony <Renamed>"

        # deactivate: the badge turns grey, the token stops working, no sign-in
        await b.navigate_by('form[action$="/deactivate"] button')
        shot = await b.screenshot("deactivated")
        assert shows(shot, NOTICE) and shows(shot, INACTIVE) and not shows(shot, ACTIVE)
        assert "deactivated" in await b.text(".notice")
        assert (await http.get(url + "/api/account/", headers=phone.auth(token))).code == 401
        code = await phone.send_code(http, server, phone.PHONES[0])
        r = await http.post(url + "/api/auth/users/", json_body={"phone": phone.PHONES[0], "code": code})
        assert r.code == 403

        # reactivate: signs in again
        await b.navigate_by('form[action$="/reactivate"] button')
        shot = await b.screenshot("reactivated")
        assert shows(shot, NOTICE) and shows(shot, ACTIVE) and not shows(shot, INACTIVE)
        clock.advance(1)
        _, token = await phone.sign_in(http, server, phone.PHONES[0])
        assert (await http.get(url + "/api/account/", headers=phone.auth(token))).code == 200

        # make staff, remove staff
        await b.navigate_by('form[action$="/make-staff"] button')
        shot = await b.screenshot("staff")
        assert shows(shot, NOTICE) and shows(shot, STAFF)
        assert (await server.services.accounts.get(uid)).is_staff
        await b.navigate_by('form[action$="/remove-staff"] button')
        shot = await b.screenshot("not-staff")
        assert shows(shot, NOTICE) and not shows(shot, STAFF)
        assert not (await server.services.accounts.get(uid)).is_staff

        # end all sessions
        assert "phone door token" in await b.text("main")
        await b.navigate_by('form[action$="/end-sessions"] button')
        shot = await b.screenshot("sessions-ended")
        assert shows(shot, NOTICE) and "No session or credential." in await b.text("main")
        assert (await http.get(url + "/api/account/", headers=phone.auth(token))).code == 401

        # delete: the browser will not send the form until the box is ticked
        await b.script("window.__before_click = true;")
        await b.click('form[action$="/delete"] button')
        assert await b.still_here() and await server.services.accounts.get(uid) is not None
        await b.click('form[action$="/delete"] input[name="confirm"]')
        await b.navigate_by('form[action$="/delete"] button')
        assert (await b.url()).endswith("/admin/users?done=delete")
        shot = await b.screenshot("deleted")
        assert shows(shot, NOTICE) and "The account was deleted." in await b.text(".notice")
        assert not await b.find_all(f'a[href="/admin/users/{uid}"]')
        assert await server.services.accounts.get(uid) is None

        # one's own page: the actions that would lock oneself out are disabled
        await b.open(url + f"/admin/users/{staff_id}")
        for css in ('form[action$="/deactivate"] button', 'form[action$="/remove-staff"] button',
                    'form[action$="/delete"] button'):
            assert await b._call("GET", b._s(f"/element/{await b.find(css)}/enabled")) is False, css

        # confirmations: Approve is green, Reject is red
        await b.open(url + "/admin/confirmations")
        shot = await b.screenshot("confirmations")
        assert shows(shot, APPROVE, 300) and shows(shot, REJECT, 300)
        await b.navigate_by("button.approve")
        shot = await b.screenshot("approved")
        assert shows(shot, NOTICE) and not shows(shot, APPROVE, 300)
        assert "No scans are waiting for review." in await b.text("main")
        assert await confirmed(scan) is True

        # the staff log: newest first, who, what, on whom
        await b.open(url + "/admin/log")
        await b.screenshot("log")
        rows = await b.texts("tbody tr")
        assert [row.split(" UTC ", 1)[1] for row in rows][:2] == [
            "boss <boss@example.com> approved the confirmation scan of scanned",
            f"boss <boss@example.com> deleted Phony <Renamed> <{phone.PHONES[0]}>",
        ], rows
        assert len(rows) == 8

        # organizations sort by a click on the header, in natural order
        await b.open(url + "/admin/organizations")
        assert await b.texts("tbody td:nth-child(2)") == ["Org 1", "Org 2", "Org 10"]
        await b.navigate_by('th a[href*="sort=-title"]')
        await b.screenshot("organizations-desc")
        assert await b.texts("tbody td:nth-child(2)") == ["Org 10", "Org 2", "Org 1"]
        await b.navigate_by('th a[href*="sort=members"]')
        assert (await b.url()).endswith("sort=members")
