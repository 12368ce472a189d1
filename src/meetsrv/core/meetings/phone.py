"""Phone meetings (upstream meetrack): a creator-king, members by invitation, blocks respected.

- Creating: the creator becomes king; requested users who do not exist or have blocked the
  creator are left out.
- Any member may invite, into an uncompleted meeting; a user who has blocked the inviter is
  silently not added.
- Only the king excludes (uncompleted meetings, not themself) and completes.
- Anyone leaves, completed or not; a leaving king's crown passes to a random member.
- A meeting is visible only to its members (others get NotFound).

Field problems: Invalid(fields={field: [code]}); codes required, blank, max_length, no_file,
invalid_image, self, no_user, not_true, time_range.
"""

from __future__ import annotations

from twisted.internet import defer

from meetsrv.core.clock import renderable
from meetsrv.core.errors import Invalid, NotFound, NotPermitted
from meetsrv.core.people.graph import retry_on_race
from meetsrv.store.meetings.phone import PhoneMeetingStore

TITLE_MAX = 255
LOGO_FOLDER = "images"


def field_problems(title, description, logo, starts_at=None) -> dict:
    """What is wrong with a new meeting's fields, before its logo is decoded."""
    problems = {}
    if starts_at is not None and not renderable(starts_at):
        problems["time"] = ["time_range"]
    if title is None:
        problems["title"] = ["required"]
    elif not title.strip():
        problems["title"] = ["blank"]
    elif len(title) > TITLE_MAX:
        problems["title"] = ["max_length"]
    if description is not None and not description.strip():
        problems["description"] = ["blank"]
    if logo is None:
        problems["logo"] = ["no_file"]
    return problems


class PhoneMeetingService:
    def __init__(self, store: PhoneMeetingStore, graph, media_files, clock):
        self.store = store
        self.graph = graph
        self.media_files = media_files
        self.clock = clock

    @defer.inlineCallbacks
    def create(self, creator: int, title, logo, description=None, starts_at=None, user_ids=()):
        """`logo` is (bytes, filename) or None; `title` None when missing."""
        problems = field_problems(title, description, logo, starts_at)
        path = None
        if logo is not None:
            try:
                path = yield self.media_files.save_image(logo[0], LOGO_FOLDER, logo[1])
            except Invalid:
                problems["logo"] = ["invalid_image"]
        if problems:
            self.media_files.remove([p for p in [path] if p])
            raise Invalid("invalid meeting", fields=problems)
        meeting = yield self.store.create(
            creator, user_ids, self.clock.seconds(), title, description, path, starts_at
        )
        return meeting

    @defer.inlineCallbacks
    def list(self, user_id: int, include_completed: bool = False):
        meetings = yield self.store.list_of(user_id, include_completed)
        return meetings

    @defer.inlineCallbacks
    def get(self, user_id: int, meeting_id: int, open_only: bool = False):
        """The meeting if user_id is a member (and, with open_only, it is not completed)."""
        meeting = yield self.store.get(meeting_id)
        if meeting is None or user_id not in meeting["users"]:
            raise NotFound("Not found.")
        if open_only and meeting["completed"]:
            raise NotFound("Not found.")
        return meeting

    @defer.inlineCallbacks
    def invite(self, inviter: int, meeting_id: int, user_id: int):
        yield self.get(inviter, meeting_id, open_only=True)
        yield self.graph.check_other_user(inviter, user_id)
        meeting = yield retry_on_race(self.store.invite, meeting_id, inviter, user_id, self.clock.seconds())
        return meeting

    @defer.inlineCallbacks
    def exclude(self, king: int, meeting_id: int, user_id: int):
        meeting = yield self.get(king, meeting_id, open_only=True)
        yield self.graph.check_other_user(king, user_id)
        if meeting["king"] != king:
            raise NotPermitted("You do not have permission to perform this action.")
        meeting = yield self.store.remove(meeting_id, user_id)
        return meeting

    @defer.inlineCallbacks
    def leave(self, user_id: int, meeting_id: int):
        yield self.get(user_id, meeting_id)
        yield self.store.remove(meeting_id, user_id)

    @defer.inlineCallbacks
    def complete(self, king: int, meeting_id: int, completed=None):
        """`completed` must be True or None (nothing to change); only the king may."""
        meeting = yield self.get(king, meeting_id, open_only=True)
        if meeting["king"] != king:
            raise NotPermitted("You do not have permission to perform this action.")
        if completed is None:
            return meeting
        if completed is not True:
            raise Invalid("completed must be True or not specified.", fields={"completed": ["not_true"]})
        meeting = yield self.store.complete(meeting_id, self.clock.seconds())
        return meeting
