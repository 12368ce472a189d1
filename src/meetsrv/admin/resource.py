"""The /admin/ resource: staff sign-in (cookie session), lists with search, filters and sortable
columns, detail pages, and the actions on accounts. Like a door, it parses requests, makes one
call to core (`services.staff`) and shapes HTML; the rules and the data stay in core.

Sessions are credentials of kind "admin" (hashed at rest, 12 hours); the cookie is HttpOnly and
SameSite=Lax, and every state-changing form (sign-out, confirmation review, the actions on an
account) carries a CSRF value derived from the session and answers 303 back to its page. A
one-time sign-in link (see `issue_login_link`) lets a script or a headless browser open a page
as a staff member without typing a password.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from urllib.parse import quote

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from twisted.web.template import flattenString

from meetsrv.admin import pages
from meetsrv.core.errors import Invalid, NotFound, NotPermitted, RateLimited, WrongCredentials
from meetsrv.core.people.names import DisplayNameInvalid
from meetsrv.core.staff import SESSION_TTL
from meetsrv.http.answers import query_arg
from meetsrv.http.body import BodyError, read_body
from meetsrv.http.models import text_problem

log = Logger()

COOKIE = b"meetsrv_admin"
# the posted actions on an account: /admin/users/<id>/<action>
USER_ACTIONS = ("name", "deactivate", "reactivate", "make-staff", "remove-staff", "end-sessions", "delete")
# the doors' words for chat kinds, in the chats filter
CHAT_KIND_OF_DOOR = {"rooms": "room", "social": "meeting", "directory": "lobby"}


def issue_login_link(services, user_id: int, next_path: str = "/admin/", ttl: float = 300.0):
    """A Deferred path (/admin/login/link?...) that signs a staff member in once."""
    d = defer.ensureDeferred(services.staff.login_link(user_id, ttl))
    return d.addCallback(lambda token: f"/admin/login/link?token={quote(token)}&next={quote(next_path)}")


def _safe_next(value) -> str:
    """A path under /admin to go to after signing in; anything else (not text, another site, a
    character a Location header cannot carry as it is) is /admin/."""
    if (isinstance(value, str) and value.startswith("/admin") and not value.startswith("//") and "\\" not in value
            and all(33 <= ord(c) <= 126 for c in value)):
        return value
    return "/admin/"


def _digits(raw: str, most: int) -> int | None:
    """A number of at most `most` ASCII digits (isdigit() also passes '²', which int() refuses)."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= most else None


def _page_no(request) -> int:
    page = _digits(query_arg(request, "page") or "1", 6)
    return page if page else 1


def _holds_nul(request) -> bool:
    """A NUL in the path or the query string: no page looks anything up with it."""
    parts = list(request.postpath)
    for key, values in request.args.items():
        parts.append(key)
        parts.extend(values)
    return any(b"\x00" in part for part in parts)


def _day(raw: str) -> str | None:
    """An ISO day (YYYY-MM-DD) from a date field, or None."""
    try:
        return date.fromisoformat(raw).isoformat() if len(raw) == 10 else None
    except ValueError:
        return None


def _id(raw: str) -> int:
    value = _digits(raw, 9)
    if value is None:
        raise NotFound()
    return value


class _Redirect(Exception):
    def __init__(self, location: str, cookie: tuple | None = None):
        self.location = location
        self.cookie = cookie


class AdminResource(Resource):
    isLeaf = True

    def __init__(self, services):
        super().__init__()
        self.services = services
        self.staff = services.staff

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

    async def _html(self, status: int, title: str, body, staff=None, csrf=None, notice=None):
        html = await flattenString(None, pages.page(title, body, staff, csrf, notice))
        return status, b"<!DOCTYPE html>\n" + html

    def _csrf(self, session: str) -> str:
        key = (self.services.settings.secret or "").encode()
        return hmac.new(key, b"admin-csrf:" + session.encode(), hashlib.sha256).hexdigest()[:32]

    async def _session(self, request):
        """(staff user, session token) or None."""
        token = request.getCookie(COOKIE)
        if not token:
            return None
        token = token.decode("latin-1")
        user = await self.staff.session_user(token)
        return None if user is None else (user, token)

    # -- routing -----------------------------------------------------------------------------
    async def _dispatch(self, request):
        if _holds_nul(request):
            return await self._html(400, "Bad request", pages.message("Bad request", "The address holds a NUL character."))
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
        session = await self._session(request)
        if session is None:
            path = request.uri.decode("latin-1")
            raise _Redirect("/admin/login?next=" + quote(_safe_next(path), safe=""))
        staff, token = session
        csrf = self._csrf(token)
        try:
            if method == b"POST":
                return await self._post(request, segments, staff, token, csrf)
            if method not in (b"GET", b"HEAD"):
                return await self._html(405, "Not allowed", pages.message("Not allowed", "Method not allowed."),
                                        staff, csrf)
            title, body = await self._page(request, segments, staff, csrf)
        except NotFound:
            return await self._html(404, "Not found", pages.message("Not found", "There is no such page."), staff, csrf)
        return await self._html(200, title, body, staff, csrf, pages.NOTICES.get(query_arg(request, "done") or ""))

    async def _page(self, request, segments, staff, csrf):
        s = self.staff
        if not segments:
            return "Dashboard", pages.dashboard(await s.counts())
        if segments == ["confirmations"]:
            rows = await s.waiting_confirmations()
            return "Confirmations", pages.confirmations_page(
                [dict(r, image=f"/media/{quote(r['path'])}") for r in rows], csrf)
        if len(segments) == 2:
            kind, object_id = segments[0], _id(segments[1])
            if kind == "users":
                user = await s.user(object_id)
                name_max = s.name_rule(user.get("door")).max_length
                return pages.who(user), pages.user_page(user, csrf, staff.id, name_max)
            if kind == "organizations":
                org = await s.organization(object_id)
                return org["title"], pages.organization_page(org)
            if kind == "events":
                row = await s.meeting(object_id)
                image = f"/media/{quote(row['image'])}" if row["image"] else None
                return row["title"], pages.event_page(row, image)
            if kind == "chats":
                raw = query_arg(request, "before") or ""
                chat = await s.chat(object_id, _digits(raw, 17))
                return chat["title"] or f"Chat {chat['id']}", pages.chat_page(chat)
            raise NotFound()
        if len(segments) != 1:
            raise NotFound()
        page_no = _page_no(request)
        values = {"sort": (query_arg(request, "sort") or "")[:32]}
        paging = {"limit": pages.PAGE_SIZE, "offset": (page_no - 1) * pages.PAGE_SIZE}
        if values["sort"]:
            paging["sort"] = values["sort"]

        def text(name: str) -> str | None:
            values[name] = query_arg(request, name) or ""
            return values[name].strip()[:100] or None

        def choice(name: str, allowed) -> str | None:
            raw = query_arg(request, name) or ""
            values[name] = raw if raw in allowed else ""
            return values[name] or None

        yes_no = {"yes": True, "no": False}
        if segments == ["users"]:
            query = text("q")
            door = choice("door", ("rooms", "campus", "social", "phone", "directory"))
            staff_only = yes_no.get(choice("staff", yes_no) or "")
            active = yes_no.get(choice("active", yes_no) or "")
            count, rows = await s.users_page(query=query, staff=staff_only, active=active, door=door, **paging)
            return "Users", pages.users_page(rows, count, values, page_no)
        if segments == ["organizations"]:
            count, rows = await s.organizations_page(query=text("q"), **paging)
            return "Organizations", pages.organizations_page(rows, count, values, page_no)
        if segments == ["events"]:
            query = text("q")
            kind = choice("door", ("social", "campus", "phone", "directory"))
            days = {}
            for name, key in (("date__gte", "day_gte"), ("date__lte", "day_lte")):
                days[key] = _day(query_arg(request, name) or "")
                values[name] = days[key] or ""
            count, rows = await s.meetings_page(query=query, kind=kind, **days, **paging)
            return "Meetings & events", pages.events_page(rows, count, values, page_no)
        if segments == ["chats"]:
            query = text("q")
            door = choice("door", CHAT_KIND_OF_DOOR)
            count, rows = await s.chats_page(query=query, kind=CHAT_KIND_OF_DOOR.get(door or ""), **paging)
            return "Chats", pages.chats_page(rows, count, values, page_no)
        if segments == ["log"]:
            count, rows = await s.actions_page(**paging)
            return "Staff log", pages.log_page(rows, count, values, page_no)
        raise NotFound()

    # -- posted forms ------------------------------------------------------------------------
    @staticmethod
    def _form(request, csrf: str):
        """The posted form if it carries the session's CSRF value, else None."""
        try:
            body = read_body(request)
        except BodyError:
            return None
        given = body.get("csrf")
        # compare_digest takes ASCII text only (a TypeError otherwise)
        if not isinstance(given, str) or not given.isascii() or not hmac.compare_digest(given, csrf):
            return None
        return body

    async def _post(self, request, segments, staff, token: str, csrf: str):
        known = (segments == ["logout"]
                 or (len(segments) == 2 and segments[0] == "confirmations")
                 or (len(segments) == 3 and segments[0] == "users" and segments[2] in USER_ACTIONS))
        if not known:
            raise NotFound()
        body = self._form(request, csrf)
        if body is None:
            return await self._html(403, "Forbidden", pages.message("Forbidden", "The form has expired."), staff, csrf)
        if segments == ["logout"]:
            await self.staff.end_session(token)
            raise _Redirect("/admin/login", ("", 0))
        back = f"/admin/{segments[0]}/{segments[1]}" if segments[0] == "users" else "/admin/confirmations"
        try:
            if segments[0] == "confirmations":
                done = await self._review(body, segments[1], staff)
                raise _Redirect(f"/admin/confirmations?done={done}")
            done = await self._user_action(body, _id(segments[1]), segments[2], staff)
        except DisplayNameInvalid as e:
            text = (f"A display name of this account has at most {e.max_length} characters."
                    if e.problem == "max_length" else "Enter a display name.")
            return await self._html(400, "Bad request", pages.message("Bad request", text, back), staff, csrf)
        except Invalid as e:
            return await self._html(400, "Bad request", pages.message("Bad request", e.message, back), staff, csrf)
        except NotPermitted as e:
            return await self._html(403, "Not permitted", pages.message("Not permitted", e.message, back), staff,
                                    csrf)
        except NotFound as e:
            text = e.message if e.message != "not_found" else "There is no such user."
            return await self._html(404, "Not found", pages.message("Not found", text), staff, csrf)
        if done == "delete":
            raise _Redirect("/admin/users?done=delete")
        raise _Redirect(f"/admin/users/{segments[1]}?done={done}")

    async def _review(self, body, raw_id: str, staff) -> str:
        """Approve or reject a user's waiting confirmation scan."""
        decision = body.get("decision")
        if decision not in ("approve", "reject"):
            raise Invalid("Choose approve or reject.")
        try:
            user_id = _id(raw_id)
        except NotFound:
            raise NotFound("No scan of this user waits for review.")
        await self.staff.review_confirmation(staff, user_id, decision == "approve")
        return decision

    async def _user_action(self, body, user_id: int, action: str, staff) -> str:
        s = self.staff
        if action == "name":
            name = body.get("name")
            problem = text_problem(name)
            if problem is not None:
                raise Invalid(problem[1])
            await s.rename(staff, user_id, name if isinstance(name, str) else None)
        elif action in ("deactivate", "reactivate"):
            await s.set_active(staff, user_id, action == "reactivate")
        elif action in ("make-staff", "remove-staff"):
            await s.set_staff(staff, user_id, action == "make-staff")
        elif action == "end-sessions":
            await s.end_sessions(staff, user_id)
        elif action == "delete":
            if body.get("confirm") != "yes":
                raise Invalid("Tick the box to confirm the deletion.")
            await s.delete(staff, user_id)
        return action

    # -- sign-in and sign-out ----------------------------------------------------------------
    async def _login_post(self, request):
        try:
            body = read_body(request)
        except BodyError:
            body = None
        email = (body.get("email") if body else None) or ""
        password = (body.get("password") if body else None) or ""
        next_path = _safe_next(body.get("next") if body else None)
        if (not isinstance(email, str) or not isinstance(password, str) or not email or not password
                or text_problem([email, password]) is not None):
            return await self._html(400, "Sign in", pages.login("Enter an email and a password.", next_path))
        try:
            token = await self.staff.sign_in(email, password)
        except RateLimited:
            return await self._html(429, "Sign in", pages.login("Too many attempts; try again later.", next_path))
        except (WrongCredentials, NotPermitted):
            return await self._html(401, "Sign in", pages.login("Wrong email or password, or not a staff account.",
                                                                 next_path))
        raise _Redirect(next_path, (token, int(SESSION_TTL)))

    async def _login_link(self, request):
        token = await self.staff.use_login_link(query_arg(request, "token") or "")
        if token is None:
            return await self._html(401, "Sign in", pages.login("This sign-in link is not valid.", "/admin/"))
        raise _Redirect(_safe_next(query_arg(request, "next")), (token, int(SESSION_TTL)))
