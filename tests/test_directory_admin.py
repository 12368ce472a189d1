"""The staff pages at /admin/: sign-in, lists with search and filters, the event page with its image,
and a real headless Chromium looking at the image preview (meetsrv-admin create-staff: test_admin_cli.py)."""

from __future__ import annotations

import os
import re
import shutil
from urllib.parse import unquote

import pytest
import pytest_twisted

from meetsrv.admin import issue_login_link
from tests.clients.base import NoRedirects
from tests.clients.directory import member
from tests.clients.staff import STAFF, cookie_of, setup_data, staff_login


@pytest_twisted.ensureDeferred
async def test_admin_sign_in_lists_filters_and_event_page(start_server, http, clock):
    server = await start_server(clock=clock)
    club, (blitz, jazz) = await setup_data(http, server, clock)
    url = server.url
    http = NoRedirects(http)

    r = await http.get(url + "/admin/")
    assert r.code == 302 and r.header("location") == "/admin/login?next=%2Fadmin%2F"
    r = await http.get(url + "/admin/events")
    assert r.code == 302 and unquote(r.header("location")).endswith("next=/admin/events")
    r = await http.get(url + "/admin/login")
    assert r.code == 200 and b'name="password"' in r.body and b"<!DOCTYPE html>" in r.body

    assert (await staff_login(http, server, STAFF[0], "wrong")).code == 401
    # not staff
    assert (await staff_login(http, server, "ann@example.com", "s3cret-pass")).code == 401
    r = await staff_login(http, server)
    assert r.code == 303 and r.header("location") == "/admin/"
    raw = r.header("set-cookie")
    assert "HttpOnly" in raw and "SameSite=lax" in raw.replace("Lax", "lax") and "Path=/admin" in raw
    cookie = {"Cookie": cookie_of(r)}
    page = lambda path: http.get(url + path, headers=cookie)  # noqa: E731

    r = await page("/admin/")
    assert r.code == 200 and b"Dashboard" in r.body

    r = await page("/admin/users")
    assert all(e in r.body for e in (b"ann@example.com", b"bob@example.com", b"boss@example.com"))
    r = await page("/admin/users?q=ANN")
    assert b"ann@example.com" in r.body and b"bob@example.com" not in r.body
    r = await page("/admin/users?staff=yes")
    assert b"boss@example.com" in r.body and b"ann@example.com" not in r.body

    r = await page("/admin/organizations?q=chess")
    assert b"Chess club" in r.body
    r = await page("/admin/organizations?q=nothing")
    assert b"Chess club" not in r.body and b"Nothing found." in r.body
    r = await page(f"/admin/organizations/{club['id']}")
    assert b"ann@example.com" in r.body and b"101000" in r.body

    r = await page("/admin/events")
    assert b"Jazz" in r.body and b"Blitz" in r.body
    # titles are escaped
    assert b"<script>alert" not in r.body and b"&lt;script&gt;" in r.body
    r = await page("/admin/events?q=jazz")
    assert b"Jazz" in r.body and b"Blitz" not in r.body
    r = await page("/admin/events?date__gte=2031-03-01")
    assert b"Jazz" in r.body and b"Blitz" not in r.body
    r = await page("/admin/events?date__lte=2031-03-01&q=")
    assert b"Blitz" in r.body and b"Jazz" not in r.body

    r = await page(f"/admin/events/{blitz['id']}")
    assert r.code == 200
    src = re.search(rb'<img[^>]*src="([^"]+)"', r.body).group(1).decode()
    assert src.startswith("/media/")
    img = await http.get(url + src)
    assert img.code == 200 and img.body.startswith(b"\x89PNG")
    r = await page(f"/admin/events/{jazz['id']}")
    assert b"No image." in r.body
    for missing in ("/admin/events/999999", "/admin/events/abc", "/admin/nowhere"):
        assert (await page(missing)).code == 404

    # sign-out needs the form's CSRF value
    r = await http.post(url + "/admin/logout", data=b"csrf=nope", headers={
        **cookie, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.code == 403
    csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', (await page("/admin/")).body).group(1).decode()
    r = await http.post(url + "/admin/logout", data=f"csrf={csrf}".encode(), headers={
        **cookie, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.code == 303
    assert (await page("/admin/")).code == 302


@pytest_twisted.ensureDeferred
async def test_one_time_login_link(server, http):
    staff_id = await server.services.directory_accounts.ensure_staff(*STAFF)
    link = await issue_login_link(server.services, staff_id, "/admin/users")
    plain, http = http, NoRedirects(http)
    r = await http.get(server.url + link)
    assert r.code == 302 and r.header("location") == "/admin/users"
    assert (await http.get(server.url + "/admin/users", headers={"Cookie": cookie_of(r)})).code == 200
    r = await http.get(server.url + link)  # spent
    assert r.code == 401 and r.header("set-cookie") is None
    # a link for a user who is not staff does nothing
    ann, _ = await member(plain, server, "ann@example.com")
    r = await http.get(server.url + await issue_login_link(server.services, ann["id"]))
    assert r.code == 401


def _magenta_box(path):
    from PIL import Image

    with Image.open(path) as shot:
        rgb = shot.convert("RGB")
        width, height = rgb.size
        pixels = rgb.load()
        xs, ys = [], []
        for y in range(0, height, 2):
            for x in range(0, width, 2):
                r, g, b = pixels[x, y]
                if r > 235 and g < 25 and b > 235:
                    xs.append(x)
                    ys.append(y)
    if not xs:
        return None
    return min(xs), min(ys), max(xs), max(ys), len(xs)


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="chromium is not installed (apt-get install -y chromium chromium-driver; .ci/run does)")
@pytest_twisted.ensureDeferred
async def test_event_page_shows_the_image_in_a_real_browser(start_server, http, clock, tmp_path):
    from twisted.internet import reactor, utils

    server = await start_server(clock=clock)
    _, (blitz, _) = await setup_data(http, server, clock)
    staff = await server.services.directory_account_store.by_email(STAFF[0])

    async def screenshot(name, path):
        shot = tmp_path / f"{name}.png"
        d = utils.getProcessOutputAndValue("chromium", [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", "--force-device-scale-factor=1",
            f"--user-data-dir={tmp_path / ('profile-' + name)}", f"--screenshot={shot}", "--window-size=1200,1000",
            server.url + path,
        ], env={**os.environ, "HOME": str(tmp_path)})
        d.addTimeout(90, reactor)
        out, err, code = await d
        assert code == 0 and shot.exists(), err[-2000:]
        return shot

    link = await issue_login_link(server.services, staff.id, f"/admin/events/{blitz['id']}")
    shot = await screenshot("event", link)
    box = _magenta_box(shot)
    assert box is not None, "the event image is not on the page"
    x0, y0, x1, y1, _ = box
    # the 240x160 image is shown whole, at its own size
    assert 230 <= x1 - x0 + 2 <= 250 and 150 <= y1 - y0 + 2 <= 170, box

    # without a session the browser is sent to the sign-in page: no image
    shot = await screenshot("anonymous", f"/admin/events/{blitz['id']}")
    assert _magenta_box(shot) is None
