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

import builtins
from collections.abc import Iterable

from twisted.internet import defer

from meetsrv.core.clock import Clock, renderable
from meetsrv.core.errors import Invalid, NotFound, NotPermitted
from meetsrv.core.media import MediaFiles
from meetsrv.core.people.graph import GraphService, retry_on_race
from meetsrv.store.db import NowOrLater, Row
from meetsrv.store.meetings.phone import PhoneMeetingStore
from meetsrv.store.meetings.records import PhoneMeeting

TITLE_MAX = 255
# an uploaded image: (bytes, the file name the client gave)
Upload = tuple[bytes, str | None]
LOGO_FOLDER = "images"


def field_problems(title: str | None, description: str | None, logo: Upload | None,
                   starts_at: float | None = None) -> dict[str, list[str]]:
    """What is wrong with a new meeting's fields, before its logo is decoded."""
    problems: dict[str, list[str]] = {}
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


def _member_sees(meeting: PhoneMeeting | None, user_id: int) -> PhoneMeeting:
    if meeting is None or user_id not in meeting.users:
        raise NotFound("Not found.")
    return meeting


class PhoneMeetingService:
    def __init__(self, store: PhoneMeetingStore, graph: GraphService, media_files: MediaFiles, clock: Clock):
        self.store = store
        self.graph = graph
        self.media_files = media_files
        self.clock = clock

    async def create(self, creator: int, title: str | None, logo: Upload | None, description: str | None = None,
                     starts_at: float | None = None, user_ids: Iterable[int] = ()) -> PhoneMeeting | None:
        """`logo` is (bytes, filename) or None; `title` None when missing."""
        problems = field_problems(title, description, logo, starts_at)
        path = None
        if logo is not None:
            try:
                path = await self.media_files.save_image(logo[0], LOGO_FOLDER, logo[1])
            except Invalid:
                problems["logo"] = ["invalid_image"]
        if problems:
            self.media_files.remove([p for p in [path] if p])
            raise Invalid("invalid meeting", fields=problems)
        assert title is not None  # else a "required" problem above
        meeting = await self.store.create(
            creator, user_ids, self.clock.seconds(), title, description, path, starts_at
        )
        return meeting

    async def list(self, user_id: int, include_completed: bool = False) -> builtins.list[Row]:
        meetings = await self.store.list_of(user_id, include_completed)
        return meetings

    async def get(self, user_id: int, meeting_id: int, open_only: bool = False) -> PhoneMeeting:
        """The meeting if user_id is a member (and, with open_only, it is not completed)."""
        meeting = await self.store.get(meeting_id)
        if meeting is None or user_id not in meeting.users:
            raise NotFound("Not found.")
        if open_only and meeting.completed:
            raise NotFound("Not found.")
        return meeting

    def shown(self, user_id: int, meeting_id: int) -> NowOrLater[PhoneMeeting]:
        """The meeting to show, if user_id is a member; NotFound. At once when the read cache
        has it, else a Deferred."""
        found = self.store.get_cached(meeting_id)
        if isinstance(found, defer.Deferred):
            return found.addCallback(_member_sees, user_id)
        return _member_sees(found, user_id)

    async def invite(self, inviter: int, meeting_id: int, user_id: int) -> PhoneMeeting | None:
        await self.get(inviter, meeting_id, open_only=True)
        await self.graph.check_other_user(inviter, user_id)
        meeting = await retry_on_race(self.store.invite, meeting_id, inviter, user_id, self.clock.seconds())
        return meeting

    async def exclude(self, king: int, meeting_id: int, user_id: int) -> PhoneMeeting | None:
        meeting = await self.get(king, meeting_id, open_only=True)
        await self.graph.check_other_user(king, user_id)
        if meeting.king != king:
            raise NotPermitted("You do not have permission to perform this action.")
        return await self.store.remove(meeting_id, user_id)

    async def leave(self, user_id: int, meeting_id: int) -> None:
        await self.get(user_id, meeting_id)
        await self.store.remove(meeting_id, user_id)

    async def complete(self, king: int, meeting_id: int, completed: object = None) -> PhoneMeeting | None:
        """`completed` must be True or None (nothing to change); only the king may."""
        meeting = await self.get(king, meeting_id, open_only=True)
        if meeting.king != king:
            raise NotPermitted("You do not have permission to perform this action.")
        if completed is None:
            return meeting
        if completed is not True:
            raise Invalid("completed must be True or not specified.", fields={"completed": ["not_true"]})
        return await self.store.complete(meeting_id, self.clock.seconds())
