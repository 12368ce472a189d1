"""The services container: stores and core services built once over one db, bus and clock."""

from __future__ import annotations

from meetsrv.core.accounts.users import AccountService
from meetsrv.core.chats.service import ChatService
from meetsrv.core.accounts.credentials import CredentialService
from meetsrv.core.media import MediaFiles
from meetsrv.core.accounts.passwords import PasswordHasher
from meetsrv.core.chats.rooms import RoomService
from meetsrv.store.chats.chats import ChatStore
from meetsrv.store.accounts.credentials import CredentialStore
from meetsrv.store.accounts.users import UserStore


class Services:
    """Everything a door may call. `clock` is an IReactorTime (a task.Clock in some tests);
    `reactor` runs threads and network work."""

    def __init__(self, settings, db, bus, ephemeral, reactor, clock=None):
        self.settings = settings
        self.db = db
        self.bus = bus
        self.ephemeral = ephemeral
        self.reactor = reactor
        self.clock = clock or reactor
        self.hub = None  # set by web.py once a WebSocket factory exists

        self.user_store = UserStore(db)
        self.chat_store = ChatStore(db)
        self.passwords = PasswordHasher(reactor, settings.password_cost)
        self.credentials = CredentialService(CredentialStore(db), bus, self.clock)
        self.accounts = AccountService(self.user_store, self.passwords, self.clock)
        self.chats = ChatService(self.chat_store, bus, self.clock)
        self.rooms = RoomService(self.chat_store, self.user_store, self.clock)
        self.media_files = MediaFiles(reactor, settings.media, settings.max_image_pixels)
        self._phone(settings, db, ephemeral, reactor)
        self._social(settings, db, reactor)
        self._campus(settings, db, bus, ephemeral, reactor)
        self._directory(settings, db)

    def _social(self, settings, db, reactor):
        """The social door's services (seed 000)."""
        from meetsrv.core.meetings.join_requests import JoinRequestService
        from meetsrv.core.people.photos import PhotoService
        from meetsrv.core.chats.meeting_chats import SocialChatService
        from meetsrv.core.accounts.social import SocialLoginService, make_verifier
        from meetsrv.core.meetings.social import MeetingService
        from meetsrv.store.meetings.join_requests import JoinRequestStore
        from meetsrv.store.people.photos import PhotoStore
        from meetsrv.store.accounts.social import SocialStore
        from meetsrv.store.chats.meeting_chats import SocialChatStore
        from meetsrv.store.meetings.social import SocialMeetingStore

        self.social_store = SocialStore(db)
        self.social_verifier = make_verifier(settings, reactor)
        self.social_login = SocialLoginService(
            self.social_store, self.user_store, self.credentials, self.social_verifier, settings.secret or "", self.clock
        )
        self.social_photos = PhotoService(PhotoStore(db), self.media_files, self.clock)
        self.social_meetings = MeetingService(SocialMeetingStore(db), self.user_store, self.social_photos, self.clock)
        self.join_requests = JoinRequestService(JoinRequestStore(db), self.social_meetings, self.clock)
        self.social_chats = SocialChatService(SocialChatStore(db), self.chats, self.user_store)

    def _campus(self, settings, db, bus, ephemeral, reactor):
        """The campus door's services (seed 001)."""
        from meetsrv.core.meetings.campus import CampusEventService
        from meetsrv.core.people.friends import FriendService
        from meetsrv.core.meetings.marking import MarkingService
        from meetsrv.core.people.profiles import ProfileService
        from meetsrv.store.meetings.campus import CampusEventStore
        from meetsrv.store.people.friends import FriendStore
        from meetsrv.store.meetings.markings import MarkingStore
        from meetsrv.store.people.profiles import ProfileStore

        self.profiles = ProfileService(self.user_store, ProfileStore(db), self.media_files, self.clock)
        self.friends = FriendService(FriendStore(db), self.user_store, self.clock)
        self.campus_events = CampusEventService(CampusEventStore(db), self.clock)
        self.marking = MarkingService(ephemeral, bus, MarkingStore(db), self.campus_events, self.clock)

    def _phone(self, settings, db, ephemeral, reactor):
        """The phone door's services (seed 002): SMS codes live in the ephemeral store, so limits
        hold across processes; the graph is contacts and blocks."""
        from meetsrv.core.people.graph import GraphService
        from meetsrv.core.accounts.phone import PhoneAccountService
        from meetsrv.core.meetings.phone import PhoneMeetingService
        from meetsrv.core.accounts.sms import PhoneCodes, build_gateway

        self.sms = build_gateway(settings, reactor)
        self.phone_codes = PhoneCodes(ephemeral, self.sms, settings.debug)
        self.graph = GraphService(db)
        self.phone_accounts = PhoneAccountService(self, self.phone_codes)
        self.phone_meetings = PhoneMeetingService(self, self.graph)


    def _directory(self, settings, db):
        """The directory door's services (seed 003): JWT accounts, organizations, events with the
        delayed save, the lobby chat."""
        from meetsrv.core.accounts.email import DirectoryAccounts
        from meetsrv.core.chats.lobby import DirectoryLobby
        from meetsrv.core.meetings.directory import DirectoryEventService
        from meetsrv.core.jobs import DelayedSaveService
        from meetsrv.core.accounts.jwt import JwtTokens
        from meetsrv.core.meetings.organizations import OrganizationService
        from meetsrv.store.accounts.email import DirectoryAccountStore
        from meetsrv.store.chats.lobby import DirectoryChatStore
        from meetsrv.store.meetings.directory import DirectoryEventStore
        from meetsrv.store.meetings.organizations import OrganizationStore
        from meetsrv.store.meetings.pending_events import PendingEventStore

        self.jwt_tokens = JwtTokens(settings.secret, self.clock, self.credentials)
        self.directory_account_store = DirectoryAccountStore(db)
        self.directory_accounts = DirectoryAccounts(
            self.directory_account_store, self.passwords, self.jwt_tokens, self.clock, self.ephemeral
        )
        self.organization_store = OrganizationStore(db)
        self.organizations = OrganizationService(self.organization_store, self.clock)
        pending = PendingEventStore(db)
        self.event_jobs = DelayedSaveService(pending, self.clock)
        self.directory_events = DirectoryEventService(
            DirectoryEventStore(db), pending, self.organizations, self.organization_store,
            self.media_files, self.event_jobs, self.clock, settings.event_delay,
        )
        self.lobby = DirectoryLobby(self.chat_store, DirectoryChatStore(db), self.chats, self.clock)

    def start(self):
        """Start what needs starting (subscriptions, re-armed jobs); returns a Deferred."""
        d = self.credentials.start()
        d.addCallback(lambda _: self.event_jobs.start())
        return d

    def stop(self):
        self.credentials.stop()
        return self.event_jobs.stop()
