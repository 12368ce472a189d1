"""The /admin/ resource: staff sign-in (cookie session), lists with search and filters, detail pages.

Sessions are credentials of kind "admin" (hashed at rest, 12 hours); the cookie is HttpOnly and
SameSite=Lax, and the state-changing forms (sign-out, confirmation review) carry a CSRF value derived from the
session. A one-time sign-in link (credential kind "admin_link", see `issue_login_link`) lets a
script or a headless browser open a page as a staff member without typing a password.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from twisted.web.template import flattenString

from meetsrv.admin import pages
from meetsrv.core.accounts.limiter import LoginLimited
from meetsrv.core.errors import NotFound, WrongCredentials
from meetsrv.http.answers import query_arg
from meetsrv.http.body import BodyError, read_body

log = Logger()

COOKIE = b"meetsrv_admin"
SESSION_KIND = "admin"
LINK_KIND = "admin_link"
SESSION_TTL = 12 * 3600.0


def issue_login_link(services, user_id: int, next_path: str = "/admin/", ttl: float = 300.0):
    """A Deferred path (/admin/login/link?...) that signs a staff member in once."""
    d = services.credentials.issue(user_id, LINK_KIND, ttl=ttl)
    return d.addCallback(lambda token: f"/admin/login/link?token={quote(token)}&next={quote(next_path)}")


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin/"


def _page_no(request) -> int:
    raw = query_arg(request, "page") or "1"
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


class _Redirect(Exception):
    def __init__(self, location: str, cookie: tuple | None = None):
        self.location = location
        self.cookie = cookie


class AdminResource(Resource):
    isLeaf = True

    def __init__(self, services):
        super().__init__()
        self.services = services

    # -- plumbing ----------------------------------------------------------------------------
    def render(self, request):
        d = defer.ensureDeferred(self._dispatch(request))
        d.addCallbacks(lambda result: self._send(request, *result), lambda f: self._failed(request, f))
        return NOT_DONE_YET

    def _send(self, request, status: int, body: bytes):
        if request._disconnected:
            return
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-frame-options", b"DENY")
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"referrer-policy", b"same-origin")
        request.setHeader(b"content-security-policy",
                          b"default-src 'self'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
                          b"frame-ancestors 'none'")
        request.write(body)
        request.finish()

    def _failed(self, request, failure):
        if failure.check(_Redirect):
            r = failure.value
            if request._disconnected:
                return
            if r.cookie is not None:
                self._set_cookie(request, *r.cookie)
            request.setResponseCode(303 if request.method == b"POST" else 302)
            request.setHeader(b"location", r.location.encode())
            request.setHeader(b"cache-control", b"no-store")
            request.finish()
            return
        log.failure("admin page failed", failure)
        self._send(request, 500, b"<!DOCTYPE html>\n<title>Error</title><p>Something went wrong.</p>")

    def _set_cookie(self, request, value: str, max_age: int):
        secure = self.services.base_url.startswith("https://")
        request.addCookie(COOKIE, value.encode(), path=b"/admin", max_age=str(max_age).encode(),
                          httpOnly=True, secure=secure, sameSite="lax")

    async def _html(self, status: int, title: str, body, staff=None, csrf=None):
        html = await flattenString(None, pages.page(title, body, staff, csrf))
        return status, b"<!DOCTYPE html>\n" + html

    def _csrf(self, session: str) -> str:
        key = (self.services.settings.secret or "").encode()
        return hmac.new(key, b"admin-csrf:" + session.encode(), hashlib.sha256).hexdigest()[:32]

    async def _staff(self, request):
        """(staff user, session token) or None."""
        token = request.getCookie(COOKIE)
        if not token:
            return None
        token = token.decode("latin-1")
        user_id = await self.services.credentials.authenticate(token, (SESSION_KIND,))
        if user_id is None:
            return None
        user = await self.services.accounts.get(user_id)
        if user is None or not user["is_staff"]:
            return None
        return user, token

    async def _start_session(self, user_id: int, next_path: str):
        token = await self.services.credentials.issue(user_id, SESSION_KIND, ttl=SESSION_TTL)
        raise _Redirect(next_path, (token, int(SESSION_TTL)))

    # -- routing -----------------------------------------------------------------------------
    async def _dispatch(self, request):
        segments = [s.decode("utf-8", "replace") for s in request.postpath if s]
        method = request.method
        if not segments and not request.uri.split(b"?")[0].endswith(b"/"):
            raise _Redirect("/admin/")
        if segments == ["login"]:
            if method == b"POST":
                return await self._login_post(request)
            return await self._html(200, "Sign in", pages.login(None, _safe_next(query_arg(request, "next"))))
        if segments == ["login", "link"]:
            return await self._login_link(request)
        session = await self._staff(request)
        if session is None:
            path = request.uri.decode("latin-1")
            raise _Redirect("/admin/login?next=" + quote(_safe_next(path), safe=""))
        staff, token = session
        csrf = self._csrf(token)
        if segments == ["logout"] and method == b"POST":
            return await self._logout(request, token, csrf)
        if len(segments) == 2 and segments[0] == "confirmations" and method == b"POST":
            return await self._review(request, segments[1], staff, csrf)
        if method not in (b"GET", b"HEAD"):
            return await self._html(405, "Not allowed", pages.message("Not allowed", "Method not allowed."), staff, csrf)
        try:
            title, body = await self._page(request, segments, csrf)
        except NotFound:
            return await self._html(404, "Not found", pages.message("Not found", "There is no such page."), staff, csrf)
        return await self._html(200, title, body, staff, csrf)

    async def _page(self, request, segments, csrf=None):
        s = self.services
        if segments == ["confirmations"]:
            rows = await s.profiles.waiting_confirmations()
            return "Confirmations", pages.confirmations_page(
                [dict(r, image=f"/media/{quote(r['path'])}") for r in rows], csrf)
        if not segments:
            users, _ = await s.directory_account_store.search(None, None, 1, 0)
            orgs, _ = await s.organizations.page(1, 0)
            events, _ = await s.directory_events.page(1, 0)
            return "Dashboard", pages.dashboard({"users": users, "organizations": orgs, "events": events})
        page_no = _page_no(request)
        offset = (page_no - 1) * pages.PAGE_SIZE
        if segments == ["users"]:
            values = {"q": query_arg(request, "q") or "", "staff": query_arg(request, "staff") or ""}
            staff = {"yes": True, "no": False}.get(values["staff"])
            count, rows = await s.directory_account_store.search(values["q"].strip()[:100] or None, staff,
                                                                 pages.PAGE_SIZE, offset)
            return "Users", pages.users_page(rows, count, values, page_no)
        if segments == ["organizations"]:
            values = {"q": query_arg(request, "q") or ""}
            count, rows = await s.organizations.page(pages.PAGE_SIZE, offset, values["q"].strip()[:100] or None)
            return "Organizations", pages.organizations_page(rows, count, values, page_no)
        if len(segments) == 2 and segments[0] == "organizations":
            org = await s.organizations.get(self._id(segments[1]))
            return org["title"], pages.organization_page(org)
        if segments == ["events"]:
            from meetsrv.doors.directory.models import parse_day

            values = {k: query_arg(request, k) or "" for k in ("q", "date__gte", "date__lte", "ordering")}
            filters = {"search": values["q"].strip()[:100] or None}
            for name, key in (("date__gte", "date_gte"), ("date__lte", "date_lte")):
                if values[name]:
                    filters[key] = parse_day(values[name])
                    if filters[key] is None:
                        values[name] = ""
                        del filters[key]
            ordering = values["ordering"] if values["ordering"] in ("date", "-date") else "-date"
            values["ordering"] = ordering
            count, rows = await s.directory_events.page(pages.PAGE_SIZE, offset, ordering, **filters)
            return "Events", pages.events_page(rows, count, values, page_no)
        if len(segments) == 2 and segments[0] == "events":
            row = await s.directory_events.get(self._id(segments[1]))
            image = f"/media/{quote(row['image'])}" if row["image"] else None
            return row["title"], pages.event_page(row, image)
        raise NotFound()

    @staticmethod
    def _id(raw: str) -> int:
        if not raw.isdigit() or len(raw) > 9:
            raise NotFound()
        return int(raw)

    # -- confirmation scans ------------------------------------------------------------------
    @staticmethod
    def _form(request, csrf: str):
        """The posted form if it carries the session's CSRF value, else None."""
        try:
            body = read_body(request)
        except BodyError:
            return None
        given = body.get("csrf")
        if not isinstance(given, str) or not hmac.compare_digest(given, csrf):
            return None
        return body

    async def _review(self, request, raw_id: str, staff, csrf: str):
        """Approve or reject a user's waiting confirmation scan, then back to the list (303)."""
        body = self._form(request, csrf)
        if body is None:
            return await self._html(403, "Forbidden", pages.message("Forbidden", "The form has expired."), staff, csrf)
        decision = body.get("decision")
        if decision not in ("approve", "reject"):
            return await self._html(400, "Bad request", pages.message("Bad request", "Choose approve or reject."),
                                    staff, csrf)
        try:
            user_id = self._id(raw_id)
        except NotFound:
            user_id = None
        if user_id is None or not await self.services.profiles.review_confirmation(user_id, decision == "approve"):
            return await self._html(404, "Not found",
                                    pages.message("Not found", "No scan of this user waits for review."), staff, csrf)
        raise _Redirect("/admin/confirmations")

    # -- sign-in and sign-out ----------------------------------------------------------------
    async def _login_post(self, request):
        try:
            body = read_body(request)
        except BodyError:
            body = None
        email = (body.get("email") if body else None) or ""
        password = (body.get("password") if body else None) or ""
        next_path = _safe_next(body.get("next") if body else None)
        if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
            return await self._html(400, "Sign in", pages.login("Enter an email and a password.", next_path))
        try:
            user = await self.services.directory_accounts.password_login.check(email[:254], password[:1024])
        except LoginLimited:
            return await self._html(429, "Sign in", pages.login("Too many attempts; try again later.", next_path))
        except WrongCredentials:
            user = None
        if user is None or not user["is_staff"]:
            return await self._html(401, "Sign in", pages.login("Wrong email or password, or not a staff account.",
                                                                 next_path))
        await self._start_session(user["id"], next_path)

    async def _login_link(self, request):
        token = query_arg(request, "token") or ""
        user_id = await self.services.credentials.consume(token, LINK_KIND) if token and len(token) < 200 else None
        user = await self.services.accounts.get(user_id) if user_id is not None else None
        if user is None or not user["is_staff"]:
            return await self._html(401, "Sign in", pages.login("This sign-in link is not valid.", "/admin/"))
        await self._start_session(user["id"], _safe_next(query_arg(request, "next")))

    async def _logout(self, request, token: str, csrf: str):
        if self._form(request, csrf) is None:
            return await self._html(403, "Forbidden", pages.message("Forbidden", "The form has expired."))
        await self.services.credentials.revoke(token)
        raise _Redirect("/admin/login", ("", 0))
