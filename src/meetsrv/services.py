"""The services container: stores and core services built once over one db, bus and clock."""

from __future__ import annotations

from meetsrv.core.accounts import AccountService
from meetsrv.core.chats import ChatService
from meetsrv.core.credentials import CredentialService
from meetsrv.core.graph import GraphService
from meetsrv.core.passwords import PasswordHasher
from meetsrv.core.phone_accounts import PhoneAccountService
from meetsrv.core.phone_meetings import PhoneMeetingService
from meetsrv.core.rooms import RoomService
from meetsrv.core.sms import PhoneCodes, build_gateway
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
        # phone door: SMS codes (ephemeral, so limits hold across processes), graph, meetings
        self.sms = build_gateway(settings, reactor)
        self.phone_codes = PhoneCodes(ephemeral, self.sms, settings.debug)
        self.graph = GraphService(db)
        self.phone_accounts = PhoneAccountService(self, self.phone_codes)
        self.phone_meetings = PhoneMeetingService(self, self.graph)

    def start(self):
        """Start what needs starting (subscriptions, re-armed jobs); returns a Deferred."""
        return self.credentials.start()

    def stop(self):
        self.credentials.stop()
