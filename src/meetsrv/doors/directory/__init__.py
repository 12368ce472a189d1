"""The directory door (seed 003): DRF-style REST with JWT, limit/offset lists, a lobby chat."""

from meetsrv.doors.directory.routes import DirectoryDoor

__all__ = ["DirectoryDoor"]
