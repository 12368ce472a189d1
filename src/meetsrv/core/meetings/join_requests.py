"""Join requests ("confirms") on social meetings. Approving one puts the user in the meeting's
chat: a group meeting has one chat every approved user joins; a one-to-one meeting gets a chat
per approved user (upstream left later users of a one-to-one meeting without a chat)."""

from __future__ import annotations

import hashlib
from typing import Any

from meetsrv.core.clock import Clock
from meetsrv.core.errors import DomainError, Invalid, NotFound, NotPermitted
from meetsrv.core.meetings.social import MeetingService
from meetsrv.store.db import Conflict, Row
from meetsrv.store.meetings.join_requests import JoinRequestStore


class MeetingMissing(NotFound):
    code = "meeting_missing"


class DuplicateRequest(DomainError):
    code = "duplicate_request"


class OwnMeeting(DomainError):
    code = "own_meeting"


def chat_slug(request_id: int, meeting_id: int) -> str:
    """Upstream's channel slug."""
    return hashlib.sha224(f"{request_id}{meeting_id}letsgo-application".encode()).hexdigest()[:20]


def _check(old: Row, new: Row) -> str | None:
    if new["approved"] and new["rejected"]:
        return "a request cannot be both approved and rejected"
    if old["approved"] and not new["approved"]:
        return "an approved request cannot be withdrawn"
    return None


class JoinRequestService:
    def __init__(self, store: JoinRequestStore, meetings: MeetingService, clock: Clock):
        self.store = store
        self.meetings = meetings
        self.clock = clock

    async def request(self, user_id: int, meeting_id: int) -> None:
        try:
            outcome = await self.store.create(meeting_id, user_id, self.clock.seconds())
        except Conflict:
            outcome = "duplicate"  # a parallel request of the same user won
        if outcome == "missing":
            raise MeetingMissing("meeting does not exist")
        if outcome == "duplicate":
            raise DuplicateRequest("you cannot create more than one confirm")
        if outcome == "own":
            raise OwnMeeting("you can not confirm to your event")

    async def pending(self, owner_id: int) -> list[Row]:
        """Open requests on the owner's meetings (marking them read)."""
        return await self.store.pending_for_owner(owner_id)

    async def unread(self, owner_id: int) -> int:
        return await self.store.unread_count(owner_id)

    async def check_owner(self, owner_id: int, request_id: int) -> Row:
        """NotPermitted unless request_id is a request on one of owner_id's meetings."""
        row = await self.store.get(request_id)
        meeting = (await self.meetings.store.get(row["meeting_id"])) if row else None
        if row is None or meeting is None or meeting.creator_id != owner_id:
            raise NotPermitted("only the meeting's owner answers its requests")
        return row

    async def act(self, owner_id: int, request_id: int, changes: dict[str, Any]) -> Row:
        """changes: any of approved/rejected/read (bools). The updated request row."""
        result = await self.store.update(request_id, owner_id, changes, _check, chat_slug, self.clock.seconds())
        if result[0] == "forbidden":
            raise NotPermitted("only the meeting's owner answers its requests")
        if result[0] == "invalid":
            raise Invalid(result[1])
        updated: Row = result[1]
        return updated
