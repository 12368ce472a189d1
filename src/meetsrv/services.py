"""The services container: stores and core services built once over one db, bus and clock."""

from __future__ import annotations

from meetsrv.core.accounts import AccountService
from meetsrv.core.chats import ChatService
from meetsrv.core.credentials import CredentialService
from meetsrv.core.directory import wire_directory
from meetsrv.core.media import MediaFiles
from meetsrv.core.passwords import PasswordHasher
from meetsrv.core.rooms import RoomService
from meetsrv.store.chats import ChatStore
from meetsrv.store.credentials import CredentialStore
from meetsrv.store.users import UserStore


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
        wire_directory(self)  # directory door: accounts, organizations, events, event_jobs, lobby

    def _social(self, settings, db, reactor):
        """The social door's services (seed 000)."""
        from meetsrv.core.join_requests import JoinRequestService
        from meetsrv.core.photos import PhotoService
        from meetsrv.core.social_chats import SocialChatService
        from meetsrv.core.social_login import SocialLoginService, make_verifier
        from meetsrv.core.social_meetings import MeetingService
        from meetsrv.store.join_requests import JoinRequestStore
        from meetsrv.store.photos import PhotoStore
        from meetsrv.store.social import SocialStore
        from meetsrv.store.social_chats import SocialChatStore
        from meetsrv.store.social_meetings import SocialMeetingStore

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
        from meetsrv.core.campus_events import CampusEventService
        from meetsrv.core.friends import FriendService
        from meetsrv.core.marking import MarkingService
        from meetsrv.core.profiles import ProfileService
        from meetsrv.store.campus_events import CampusEventStore
        from meetsrv.store.friends import FriendStore
        from meetsrv.store.markings import MarkingStore
        from meetsrv.store.profiles import ProfileStore

        self.profiles = ProfileService(self.user_store, ProfileStore(db), self.media_files, self.clock)
        self.friends = FriendService(FriendStore(db), self.user_store, self.clock)
        self.campus_events = CampusEventService(CampusEventStore(db), self.clock)
        self.marking = MarkingService(ephemeral, bus, MarkingStore(db), self.campus_events, self.clock)

    def _phone(self, settings, db, ephemeral, reactor):
        """The phone door's services (seed 002): SMS codes live in the ephemeral store, so limits
        hold across processes; the graph is contacts and blocks."""
        from meetsrv.core.graph import GraphService
        from meetsrv.core.phone_accounts import PhoneAccountService
        from meetsrv.core.phone_meetings import PhoneMeetingService
        from meetsrv.core.sms import PhoneCodes, build_gateway

        self.sms = build_gateway(settings, reactor)
        self.phone_codes = PhoneCodes(ephemeral, self.sms, settings.debug)
        self.graph = GraphService(db)
        self.phone_accounts = PhoneAccountService(self, self.phone_codes)
        self.phone_meetings = PhoneMeetingService(self, self.graph)

    def start(self):
        """Start what needs starting (subscriptions, re-armed jobs); returns a Deferred."""
        d = self.credentials.start()
        d.addCallback(lambda _: self.event_jobs.start())
        return d

    def stop(self):
        self.credentials.stop()
        return self.event_jobs.stop()
