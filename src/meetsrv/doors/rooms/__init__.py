"""The rooms door (seed 004): /v1/... chat rooms with a session header and a WebSocket chat."""

from meetsrv.doors.rooms.routes import RoomsDoor

__all__ = ["RoomsDoor"]
