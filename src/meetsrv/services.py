"""The services container: every store and core service, built once, in one place.

As Synapse's HomeServer: the container is where services are wired; no service receives it,
each gets the stores and services it uses. Doors, sockets and the staff pages read it.
"""

from __future__ import annotations

from twisted.internet import defer

from meetsrv.core.accounts.credentials import CredentialService
from meetsrv.core.accounts.email import DirectoryAccounts
from meetsrv.core.accounts.jwt import JwtTokens
from meetsrv.core.accounts.limiter import LoginLimiter
from meetsrv.core.accounts.oauth import OAuthSignIn
from meetsrv.core.accounts.passwords import PasswordHasher
from meetsrv.core.accounts.phone import PhoneAccountService
from meetsrv.core.accounts.sms import PhoneCodes, build_gateway
from meetsrv.core.accounts.social import SocialIdentities, SocialLoginService, make_verifier
from meetsrv.core.accounts.users import AccountService
from meetsrv.core.chats.lobby import DirectoryLobby
from meetsrv.core.chats.meeting_chats import SocialChatService
from meetsrv.core.chats.rooms import RoomService
from meetsrv.core.chats.service import ChatService
from meetsrv.core.idempotency import IdempotencyKeys
from meetsrv.core.jobs import DelayedSaveService
from meetsrv.core.media import MediaFiles
from meetsrv.core.meetings.campus import CampusEventService
from meetsrv.core.meetings.directory import DirectoryEventService
from meetsrv.core.meetings.join_requests import JoinRequestService
from meetsrv.core.meetings.marking import MarkingService
from meetsrv.core.meetings.organizations import OrganizationService
from meetsrv.core.meetings.phone import PhoneMeetingService
from meetsrv.core.meetings.social import MeetingService
from meetsrv.core.people.friends import FriendService
from meetsrv.core.people.graph import GraphService
from meetsrv.core.people.names import CAMPUS_NAME, PHONE_NAME, SOCIAL_NAME
from meetsrv.core.people.photos import PhotoService
from meetsrv.core.people.profiles import ProfileService
from meetsrv.core.staff import StaffService
from meetsrv.metrics import NoMetrics
from meetsrv.store.accounts.credentials import CredentialStore
from meetsrv.store.accounts.email import DirectoryAccountStore
from meetsrv.store.accounts.phone import PhoneAccountStore
from meetsrv.store.accounts.social import SocialStore
from meetsrv.store.accounts.users import UserStore
from meetsrv.store.cache import ReadCache
from meetsrv.store.chats.chats import ChatStore
from meetsrv.store.chats.meeting_chats import SocialChatStore
from meetsrv.store.idempotency import IdempotencyStore
from meetsrv.store.meetings.campus import CampusEventStore
from meetsrv.store.meetings.directory import DirectoryEventStore
from meetsrv.store.meetings.join_requests import JoinRequestStore
from meetsrv.store.meetings.markings import MarkingStore
from meetsrv.store.meetings.organizations import OrganizationStore
from meetsrv.store.meetings.pending_events import PendingEventStore
from meetsrv.store.meetings.phone import PhoneMeetingStore
from meetsrv.store.meetings.social import SocialMeetingStore
from meetsrv.store.people.friends import FriendStore
from meetsrv.store.people.graph import GraphStore
from meetsrv.store.people.photos import PhotoStore
from meetsrv.store.people.profiles import ProfileStore
from meetsrv.store.staff import StaffStore
from meetsrv.ws.hub import SocketHub
from meetsrv.ws.registry import CredentialSockets


class PublicUrl:
    """The base of absolute URLs in answers. Known once the server listens (port 0 in tests),
    so it is a holder given at construction and filled in by the server."""

    __slots__ = ("value",)

    def __init__(self, value: str):
        self.value = value.rstrip("/")


class Services:
    """Everything a door may call. `clock` is an IReactorTime (a task.Clock in some tests);
    `reactor` runs threads and network work."""

    def __init__(self, settings, db, bus, ephemeral, reactor, clock=None,
                 public_url: PublicUrl | None = None, metrics=None):
        from meetsrv.ws.factory import make_factory
        from meetsrv.ws.protocol import DoorSocket

        clock = clock or reactor
        self.settings = settings
        self.metrics = metrics if metrics is not None else NoMetrics()
        self.db = db
        self.bus = bus
        self.ephemeral = ephemeral
        self.reactor = reactor
        self.clock = clock
        self.public_url = public_url or PublicUrl(settings.base_url())
        # the hub encodes frames with one factory's settings; every door's factory shares them
        self.hub = SocketHub(bus, make_factory(settings, DoorSocket), clock, self.metrics, settings.access_log)

        # -- stores ---------------------------------------------------------------------------
        # hot detail reads kept in this process, dropped when a table they read is written here
        # or (through the bus) in another process; trusted as long as cached credentials
        self.read_cache = ReadCache(bus, clock, ttl=settings.credential_cache_ttl)
        self.read_cache.attach(db)
        self.user_store = UserStore(db)
        self.chat_store = ChatStore(db)
        self.directory_account_store = DirectoryAccountStore(db)
        self.organization_store = OrganizationStore(db)
        pending_events = PendingEventStore(db)

        # -- accounts -------------------------------------------------------------------------
        self.passwords = PasswordHasher(reactor, settings.password_cost)
        self.credentials = CredentialService(CredentialStore(db), bus, clock,
                                             cache_ttl=settings.credential_cache_ttl)
        # all of a user's sessions ended (staff, a deactivated or deleted account): their open
        # sockets in this process close
        self.credentials.on_sessions_ended(self.hub.close_user)
        # the open sockets of each credential: closed when it is revoked, at most
        # ws_per_credential of them; checked against the database after a Redis outage
        self.credential_sockets = CredentialSockets(self.credentials, bus, clock, settings.ws_per_credential,
                                                    settings.credential_cache_ttl)
        self.hub.credential_sockets = self.credential_sockets
        # one limiter for every password sign-in (usernames and emails), shared across processes
        self.login_limiter = LoginLimiter(ephemeral)
        self.accounts = AccountService(self.user_store, self.passwords, clock, self.login_limiter)
        self.media_files = MediaFiles(reactor, settings.media, settings.max_image_pixels)
        self.sms = build_gateway(settings, reactor)
        self.phone_codes = PhoneCodes(ephemeral, self.sms, settings.debug, settings.sms_per_client,
                                      settings.sms_per_minute)
        self.phone_accounts = PhoneAccountService(
            PhoneAccountStore(db), self.user_store, self.credentials, self.media_files, self.phone_codes, clock,
            PHONE_NAME,
        )
        self.social_store = SocialStore(db)
        # one (provider, external id) -> user rule for the social door and campus OAuth sign-in
        self.social_identities = SocialIdentities(self.social_store, settings.secret or "", clock)
        self.social_verifier = make_verifier(settings, reactor)
        self.social_login = SocialLoginService(
            self.social_identities, self.user_store, self.credentials, self.social_verifier, settings.secret or "",
            SOCIAL_NAME,
        )
        self.oauth = OAuthSignIn(settings.oauth_apps, self.social_identities, ephemeral, reactor, clock)
        self.jwt_tokens = JwtTokens(settings.secret, clock, self.credentials)
        self.directory_accounts = DirectoryAccounts(
            self.directory_account_store, self.passwords, self.jwt_tokens, clock, self.login_limiter
        )

        # the first answers of creating requests sent with an Idempotency-Key (every door)
        self.idempotency = IdempotencyKeys(IdempotencyStore(db), clock)

        # -- people ---------------------------------------------------------------------------
        self.graph = GraphService(GraphStore(db), self.user_store)
        self.profiles = ProfileService(self.user_store, ProfileStore(db), self.media_files, clock, CAMPUS_NAME)
        self.friends = FriendService(FriendStore(db), self.user_store, clock)
        self.social_photos = PhotoService(PhotoStore(db), self.media_files, clock)

        # -- chats ----------------------------------------------------------------------------
        self.chats = ChatService(self.chat_store, bus, clock, self.metrics)
        self.rooms = RoomService(self.chats, self.user_store, clock)
        self.social_chats = SocialChatService(SocialChatStore(db), self.chats, self.user_store)
        self.lobby = DirectoryLobby(self.chats, self.user_store, clock)

        # -- meetings -------------------------------------------------------------------------
        self.social_meetings = MeetingService(SocialMeetingStore(db), self.user_store, self.social_photos, clock)
        self.join_requests = JoinRequestService(JoinRequestStore(db), self.social_meetings, clock)
        self.campus_events = CampusEventService(CampusEventStore(db), clock)
        self.marking = MarkingService(ephemeral, bus, MarkingStore(db), self.campus_events, clock)
        # deleting an event clears its marking state, whoever deletes it
        self.campus_events.when_deleted(self.marking.forget)
        self.phone_meetings = PhoneMeetingService(PhoneMeetingStore(db), self.graph, self.media_files, clock)
        self.organizations = OrganizationService(self.organization_store, clock)
        self.event_jobs = DelayedSaveService(pending_events, clock)
        self.directory_events = DirectoryEventService(
            DirectoryEventStore(db), pending_events, self.organizations, self.organization_store,
            self.media_files, self.event_jobs, clock, settings.event_delay,
        )

        # -- staff (the /admin/ pages): reads across doors, actions on accounts, the action log
        self.staff = StaffService(
            StaffStore(db), self.user_store, self.credentials, self.directory_accounts,
            self.phone_accounts.delete, self.profiles, clock,
        )

    @property
    def base_url(self) -> str:
        return self.public_url.value

    def start(self):
        """Start what needs starting (subscriptions, re-armed jobs); returns a Deferred."""
        d = defer.ensureDeferred(self.credentials.start())
        d.addCallback(lambda _: self.read_cache.start())
        d.addCallback(lambda _: self.credential_sockets.start())
        d.addCallback(lambda _: self.idempotency.start())
        d.addCallback(lambda _: defer.ensureDeferred(self.event_jobs.start()))
        return d

    def stop(self):
        self.credential_sockets.stop()
        self.idempotency.stop()
        self.credentials.stop()
        self.read_cache.stop()
        self.chats.stop()
        return self.event_jobs.stop()
