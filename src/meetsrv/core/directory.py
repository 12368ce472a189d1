"""Wiring of the directory domain's services onto the Services container."""

from __future__ import annotations

from meetsrv.core.directory_accounts import DirectoryAccounts
from meetsrv.core.directory_chat import DirectoryLobby
from meetsrv.core.directory_events import DirectoryEventService
from meetsrv.core.jobs import DelayedSaveService
from meetsrv.core.jwt_tokens import JwtTokens
from meetsrv.core.organizations import OrganizationService
from meetsrv.store.directory_accounts import DirectoryAccountStore
from meetsrv.store.directory_chat import DirectoryChatStore
from meetsrv.store.directory_events import DirectoryEventStore
from meetsrv.store.organizations import OrganizationStore
from meetsrv.store.pending_events import PendingEventStore


def wire_directory(s) -> None:
    """Adds jwt_tokens, directory_accounts, organizations, directory_events, event_jobs, lobby."""
    settings = s.settings
    s.jwt_tokens = JwtTokens(settings.secret, s.clock, s.credentials)
    s.directory_account_store = DirectoryAccountStore(s.db)
    s.directory_accounts = DirectoryAccounts(s.directory_account_store, s.passwords, s.jwt_tokens, s.clock,
                                              s.ephemeral)
    s.organization_store = OrganizationStore(s.db)
    s.organizations = OrganizationService(s.organization_store, s.clock)
    pending = PendingEventStore(s.db)
    s.event_jobs = DelayedSaveService(pending, s.clock)
    s.directory_events = DirectoryEventService(
        DirectoryEventStore(s.db), pending, s.organizations, s.organization_store,
        s.media_files, s.event_jobs, s.clock,
        settings.event_delay,
    )
    s.lobby = DirectoryLobby(s.chat_store, DirectoryChatStore(s.db), s.chats, s.clock)
