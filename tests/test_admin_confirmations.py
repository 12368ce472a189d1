"""The staff page /admin/confirmations: campus confirmation scans waiting for review, approve / reject."""

from __future__ import annotations

import re

import pytest_twisted

from meetsrv.admin import issue_login_link
from tests.clients.base import (
    NoRedirects,
    http,  # noqa: F401  (no shared cookie jar)
)
from tests.clients.campus import confirmed, waiting_user
from tests.clients.staff import FORM, STAFF, cookie_of, csrf_of


async def staff_session(http, server):
    """(client without redirects, headers with the staff cookie) for a signed-in staff member."""
    staff_id = await server.services.directory_accounts.ensure_staff(*STAFF)
    client = NoRedirects(http)
    r = await client.get(server.url + await issue_login_link(server.services, staff_id, "/admin/confirmations"))
    assert r.code == 302 and r.header("location") == "/admin/confirmations"
    return client, {"Cookie": cookie_of(r)}


async def decide(client, server, headers, user_id, decision, csrf):
    body = f"decision={decision}" + (f"&csrf={csrf}" if csrf is not None else "")
    return await client.post(server.url + f"/admin/confirmations/{user_id}", data=body.encode(),
                             headers={**headers, **FORM})


@pytest_twisted.ensureDeferred
async def test_list_approve_and_reject(start_server, http, clock):
    from meetsrv.admin.pages import when

    server = await start_server(clock=clock)
    uploaded = when(clock.seconds())
    sveta = await waiting_user(http, server, "sveta")
    await server.services.profiles.update_info(sveta.id, display_name="Светлана <b>")
    petr = await waiting_user(http, server, "petr")
    client, headers = await staff_session(http, server)

    r = await client.get(server.url + "/admin/confirmations", headers=headers)
    assert r.code == 200
    page = r.body.decode()
    assert 'href="/admin/confirmations"' in page  # the nav item
    assert "Светлана &lt;b&gt;" in page and "sveta" in page and "petr" in page
    assert uploaded in page  # uploaded time
    [scan] = await server.services.profiles.store.confirmations(sveta.id)
    images = re.findall(r'<img src="([^"]+)"', page)
    assert f"/media/{scan['path']}" in images and len(images) == 2
    # the preview URL serves the scan itself
    r2 = await client.get(server.url + f"/media/{scan['path']}")
    assert r2.code == 200 and r2.body[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.count(f'action="/admin/confirmations/{sveta.id}"') == 2
    assert 'value="approve"' in page and 'value="reject"' in page
    csrf = csrf_of(page)

    # approve: 303 back to the list, the user is confirmed, the scan is gone from the list
    r = await decide(client, server, headers, sveta.id, "approve", csrf)
    assert r.code == 303 and r.header("location") == "/admin/confirmations?done=approve"
    assert await confirmed(sveta) is True
    page = (await client.get(server.url + "/admin/confirmations", headers=headers)).body.decode()
    assert "sveta" not in page and "petr" in page
    # approving again: nothing waits any more
    r = await decide(client, server, headers, sveta.id, "approve", csrf)
    assert r.code == 404 and await confirmed(sveta) is True

    # reject: stays unconfirmed and leaves the list
    r = await decide(client, server, headers, petr.id, "reject", csrf)
    assert r.code == 303 and r.header("location") == "/admin/confirmations?done=reject"
    assert await confirmed(petr) is False
    page = (await client.get(server.url + "/admin/confirmations", headers=headers)).body.decode()
    assert "petr" not in page and "No scans are waiting for review." in page
    assert all(s["reviewed"] is not None for s in await server.services.profiles.store.confirmations(petr.id))
    # both decisions are in the staff log, newest first
    log = (await client.get(server.url + "/admin/log", headers=headers)).body.decode()
    assert log.index("rejected the confirmation scan of") < log.index("approved the confirmation scan of")
    assert f'href="/admin/users/{petr.id}"' in log and "Светлана &lt;b&gt;" in log

    # unknown user or a malformed id: 404
    assert (await decide(client, server, headers, 999999, "approve", csrf)).code == 404
    assert (await decide(client, server, headers, "abc", "approve", csrf)).code == 404


@pytest_twisted.ensureDeferred
async def test_csrf_and_decision_checked(server, http):
    u = await waiting_user(http, server, "ivan")
    client, headers = await staff_session(http, server)
    page = (await client.get(server.url + "/admin/confirmations", headers=headers)).body.decode()
    csrf = csrf_of(page)
    for bad in (None, "", "0" * 32, csrf[:-1]):
        r = await decide(client, server, headers, u.id, "approve", bad)
        assert r.code == 403, bad
    r = await decide(client, server, headers, u.id, "maybe", csrf)
    assert r.code == 400
    # nothing changed: still waiting, still unconfirmed
    assert await confirmed(u) is False
    [scan] = await server.services.profiles.store.confirmations(u.id)
    assert scan["reviewed"] is None
    assert "ivan" in (await client.get(server.url + "/admin/confirmations", headers=headers)).body.decode()
    # a GET on the decision URL changes nothing either
    assert (await client.get(server.url + f"/admin/confirmations/{u.id}", headers=headers)).code == 404
    assert await confirmed(u) is False


@pytest_twisted.ensureDeferred
async def test_signed_out_and_non_staff_go_to_sign_in(server, http):
    u = await waiting_user(http, server, "olga")
    client = NoRedirects(http)
    r = await client.get(server.url + "/admin/confirmations")
    assert r.code == 302 and r.header("location") == "/admin/login?next=%2Fadmin%2Fconfirmations"
    r = await client.post(server.url + f"/admin/confirmations/{u.id}", data=b"decision=approve&csrf=x", headers=FORM)
    assert r.code == 303 and r.header("location").startswith("/admin/login?next=")
    # an admin session of a user who is not staff counts as signed out
    token = await server.services.credentials.issue(u.id, "admin", ttl=3600.0)
    r = await client.get(server.url + "/admin/confirmations", headers={"Cookie": f"meetsrv_admin={token}"})
    assert r.code == 302 and r.header("location").startswith("/admin/login?next=")
    assert await confirmed(u) is False
    [scan] = await server.services.profiles.store.confirmations(u.id)
    assert scan["reviewed"] is None
