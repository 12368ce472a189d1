"""The one schema for all five doors.

Column types are kept simple so that a raw DB-API cursor reads the same values on SQLite and
PostgreSQL: times are UTC epoch seconds (double), calendar dates are ISO strings
("YYYY-MM-DD"), flags are Boolean (SQLite gives 0/1; db.py converts them in one place).
`schema.sql` is generated from this module (python -m meetsrv.store.schema) and a test keeps it in sync.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)

metadata = MetaData()

def Id() -> Column[int]:  # a column of the tables below, named as one
    return Column("id", Integer, primary_key=True, autoincrement=True)


def ref(name: str, target: str, nullable: bool = False, ondelete: str = "CASCADE") -> Column[int]:
    return Column(name, Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable)


def flag(name: str) -> Column[bool]:
    return Column(name, Boolean, nullable=False, server_default=false())


# -- people ------------------------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Id(),
    # rooms login / campus username / social generated username: one namespace.
    Column("username", String(150), unique=True),
    # casefold()ed copies for case-insensitive search that works for Cyrillic on SQLite too.
    Column("username_folded", String(150)),
    Column("name", String(255), nullable=False, server_default=""),
    Column("name_folded", String(255), nullable=False, server_default=""),
    Column("email", String(254), unique=True),
    Column("phone", String(32), unique=True),
    Column("password_hash", String(255)),
    Column("about", Text, nullable=False, server_default=""),
    Column("birth_date", String(10)),
    Column("gender", Integer),
    Column("avatar", String(255)),  # media path relative to --media
    Column("karma", Integer, nullable=False, server_default=text("0")),
    flag("confirmed"),
    flag("hidden_phone"),
    flag("is_staff"),
    # False: deactivated by staff; no credential is issued to the user until reactivated
    Column("active", Boolean, nullable=False, server_default=true()),
    # the door the account was made through: "rooms", "campus", "social", "phone", "directory"
    # (NULL for accounts made before it was recorded, and for staff made by the command)
    Column("door", String(16)),
    # when staff last ended all the user's sessions (or deactivated the account): stateless
    # tokens (the directory door's JWT access tokens) issued until then are refused
    Column("sessions_ended", Double),
    Column("created", Double, nullable=False),
)
Index("ix_users_username_folded", users.c.username_folded)
Index("ix_users_sessions_ended", users.c.sessions_ended)
Index("ix_users_name_folded", users.c.name_folded)

social_identities = Table(
    "social_identities",
    metadata,
    Id(),
    ref("user_id", "users.id"),
    Column("provider", String(16), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("token", String(255), nullable=False, server_default=""),
    UniqueConstraint("provider", "external_id"),
)

# Opaque tokens, sessions and refresh tokens, hashed at rest (sha256 hex of the secret).
credentials = Table(
    "credentials",
    metadata,
    Id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    ref("user_id", "users.id"),
    # "rooms", "token" (social/phone/campus Token header), "campus_session", "refresh", ...
    Column("kind", String(32), nullable=False),
    Column("created", Double, nullable=False),
    Column("expires", Double),
)
Index("ix_credentials_user_kind", credentials.c.user_id, credentials.c.kind)

photos = Table(
    "photos",
    metadata,
    Id(),
    ref("user_id", "users.id"),
    Column("path", String(255), nullable=False),
    flag("is_avatar"),
    Column("created", Double, nullable=False),
)
# a user's photos, the avatar first, then by id (store/people/photos.py), read in this order
Index("ix_photos_user_avatar", photos.c.user_id, photos.c.is_avatar.desc(), photos.c.id)

# Profile confirmation scans waiting for staff (campus).
confirmations = Table(
    "confirmations",
    metadata,
    Id(),
    ref("user_id", "users.id"),
    Column("path", String(255), nullable=False),
    Column("created", Double, nullable=False),
    Column("reviewed", Double),
)

# -- the social graph --------------------------------------------------------------------------

friendships = Table(
    "friendships",
    metadata,
    Id(),
    ref("from_user", "users.id"),
    ref("to_user", "users.id"),
    flag("accepted"),
    Column("created", Double, nullable=False),
    UniqueConstraint("from_user", "to_user"),
)
# the requests a user received (accepted or waiting), by id
Index("ix_friendships_to_user", friendships.c.to_user, friendships.c.accepted, friendships.c.id)

blocks = Table(
    "blocks",
    metadata,
    Id(),
    ref("user_id", "users.id"),
    ref("blocked_id", "users.id"),
    UniqueConstraint("user_id", "blocked_id"),
)

contacts = Table(
    "contacts",
    metadata,
    Id(),
    ref("owner_id", "users.id"),
    Column("phone", String(32), nullable=False),
    Column("name", String(255)),
    ref("contact_user_id", "users.id", nullable=True, ondelete="SET NULL"),
    UniqueConstraint("owner_id", "phone"),
)
Index("ix_contacts_phone", contacts.c.phone)
# an owner's contacts who are users, by user id (the phone door's contact list)
Index("ix_contacts_owner_user", contacts.c.owner_id, contacts.c.contact_user_id)

# -- organizations -----------------------------------------------------------------------------

organizations = Table(
    "organizations",
    metadata,
    Id(),
    Column("title", String(255), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("address", String(255), nullable=False, server_default=""),
    Column("postcode", String(16), nullable=False, server_default=""),
    Column("created", Double, nullable=False),
)
# the directory's list order (title, then id)
Index("ix_organizations_title_id", organizations.c.title, organizations.c.id)

organization_members = Table(
    "organization_members",
    metadata,
    ref("organization_id", "organizations.id"),
    ref("user_id", "users.id"),
    UniqueConstraint("organization_id", "user_id"),
)

# -- meetings: social meetings, campus events, phone meetings and directory events -------------

meetings = Table(
    "meetings",
    metadata,
    Id(),
    # "social", "campus", "phone", "directory"
    Column("kind", String(16), nullable=False),
    Column("uuid", String(36), unique=True),
    Column("title", String(255), nullable=False),
    Column("description", Text),
    Column("starts_at", Double),
    Column("ends_at", Double),
    Column("date", String(10)),  # calendar day, ISO, for the doors that filter by day
    Column("lat", Double),
    Column("lng", Double),
    Column("group_type", Integer),
    Column("category", Integer),
    Column("image", String(255)),
    ref("creator_id", "users.id", nullable=True, ondelete="SET NULL"),
    flag("completed"),
    Column("created", Double, nullable=False),
    Column("modified", Double, nullable=False),
)
Index("ix_meetings_kind_date", meetings.c.kind, meetings.c.date, meetings.c.id)
Index("ix_meetings_kind_id", meetings.c.kind, meetings.c.id)
# The directory's ?ordering=date and -date (undated events last, same day by time, then id),
# read in index order: the first forwards, the second backwards (store/meetings/directory.py).
Index("ix_meetings_kind_by_date", meetings.c.kind, meetings.c.date.is_(None), meetings.c.date,
      func.coalesce(meetings.c.starts_at, 0), meetings.c.id)
Index("ix_meetings_kind_by_date_desc", meetings.c.kind, meetings.c.date.is_(None).self_group().desc(), meetings.c.date,
      func.coalesce(meetings.c.starts_at, 0), meetings.c.id)
Index("ix_meetings_creator", meetings.c.creator_id, meetings.c.created)
# a creator's meetings of one kind by id (campus GetCreatedEvents)
Index("ix_meetings_kind_creator", meetings.c.kind, meetings.c.creator_id, meetings.c.id)
# meetings near a point: the bounding box's latitude range, its longitudes read from the index
Index("ix_meetings_kind_lat", meetings.c.kind, meetings.c.lat, meetings.c.lng)
Index("ix_meetings_kind_title", meetings.c.kind, meetings.c.title)
# Campus event names are unique among campus events (other kinds may repeat titles).
Index(
    "ux_meetings_campus_title", meetings.c.title, unique=True,
    sqlite_where=text("kind = 'campus'"), postgresql_where=text("kind = 'campus'"),
)

meeting_members = Table(
    "meeting_members",
    metadata,
    ref("meeting_id", "meetings.id"),
    ref("user_id", "users.id"),
    flag("king"),
    Column("joined", Double, nullable=False),
    UniqueConstraint("meeting_id", "user_id"),
)
# a user's meetings by id (phone meetings, campus GetJoinedEvents)
Index("ix_meeting_members_user_meeting", meeting_members.c.user_id, meeting_members.c.meeting_id)

meeting_organizations = Table(
    "meeting_organizations",
    metadata,
    ref("meeting_id", "meetings.id"),
    ref("organization_id", "organizations.id"),
    UniqueConstraint("meeting_id", "organization_id"),
)

# Join requests ("confirms") on social meetings.
join_requests = Table(
    "join_requests",
    metadata,
    Id(),
    ref("meeting_id", "meetings.id"),
    ref("user_id", "users.id"),
    flag("approved"),
    flag("rejected"),
    flag("read"),
    Column("created", Double, nullable=False),
    Column("modified", Double, nullable=False),
    UniqueConstraint("meeting_id", "user_id"),
)
# the meetings a user's requests were approved for (the social meetings list's colors)
Index("ix_join_requests_user", join_requests.c.user_id, join_requests.c.approved, join_requests.c.meeting_id)

# Directory events waiting for their delayed save: a row first, a callLater second.
pending_events = Table(
    "pending_events",
    metadata,
    Id(),
    ref("creator_id", "users.id", nullable=True, ondelete="SET NULL"),
    Column("payload", Text, nullable=False),  # the validated event, JSON
    Column("due_at", Double, nullable=False),
    Column("created", Double, nullable=False),
    # set when saved; the UPDATE that sets it is what makes one process the saver
    ref("meeting_id", "meetings.id", nullable=True, ondelete="SET NULL"),
    Column("saved_at", Double),
    # the process whose timer is armed for the row, until when (it renews the lease every few
    # seconds; another process takes a row whose lease has run out: its owner died)
    Column("lease_owner", String(64)),
    Column("lease_until", Double),
)
Index("ix_pending_events_due", pending_events.c.saved_at, pending_events.c.due_at)

markings = Table(
    "markings",
    metadata,
    Id(),
    ref("meeting_id", "meetings.id"),
    ref("marker_id", "users.id"),
    ref("marked_id", "users.id"),
    Column("created", Double, nullable=False),
)
Index("ix_markings_meeting", markings.c.meeting_id, markings.c.id)

# -- chats ------------------------------------------------------------------------------------

chats = Table(
    "chats",
    metadata,
    Id(),
    # "room" (rooms door), "meeting" (social), "lobby" (directory)
    Column("kind", String(16), nullable=False),
    Column("slug", String(128), unique=True),
    Column("title", String(255), nullable=False, server_default=""),
    ref("owner_id", "users.id", nullable=True, ondelete="SET NULL"),
    ref("meeting_id", "meetings.id", nullable=True),
    # For rooms: a hash of the sorted member ids, so an equal member set finds its room.
    Column("member_key", Text),
    Column("created", Double, nullable=False),
    # the chat's newest message, which the next one's frame names as the one before it: kept by
    # posting, under the chat's row lock (store/chats/chats.py)
    Column("last_message_id", BigInteger().with_variant(Integer, "sqlite")),
)
Index("ix_chats_kind_member_key", chats.c.kind, chats.c.member_key, unique=True)
Index("ix_chats_meeting", chats.c.meeting_id)

chat_members = Table(
    "chat_members",
    metadata,
    ref("chat_id", "chats.id"),
    ref("user_id", "users.id"),
    Column("last_read_message_id", BigInteger),
    Column("joined", Double, nullable=False),
    UniqueConstraint("chat_id", "user_id"),
)
# a user's chats by id; unique (as the pair is), so that SQLite knows it yields each chat once and
# reads each chat's members in order after it (store/chats/chats.py, the rooms list)
Index("ix_chat_members_user", chat_members.c.user_id, chat_members.c.chat_id, unique=True)

messages = Table(
    "messages",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    ref("chat_id", "chats.id"),
    ref("user_id", "users.id", nullable=True, ondelete="SET NULL"),
    Column("text", Text, nullable=False),
    flag("is_read"),
    flag("is_received"),
    Column("created", Double, nullable=False),
    # the sender's own id for the message (rooms and directory sockets): stored once per
    # (chat, user, client_id); NULLs never collide
    Column("client_id", String(64)),
)
Index("ix_messages_chat_id", messages.c.chat_id, messages.c.id)
Index("ix_messages_client_id", messages.c.chat_id, messages.c.user_id, messages.c.client_id, unique=True,
      postgresql_where=messages.c.client_id.isnot(None), sqlite_where=messages.c.client_id.isnot(None))

# -- staff ------------------------------------------------------------------------------------

# What staff did on the /admin/ pages: who, what, on whom, when. The labels are copies taken at
# the time, so a row still reads right after either account is renamed or deleted; target_id
# has no foreign key for the same reason.
staff_actions = Table(
    "staff_actions",
    metadata,
    Id(),
    ref("staff_id", "users.id", nullable=True, ondelete="SET NULL"),
    Column("staff_label", String(255), nullable=False, server_default=""),
    # "rename", "deactivate", "reactivate", "delete", "make_staff", "remove_staff",
    # "end_sessions", "approve_confirmation", "reject_confirmation"
    Column("action", String(32), nullable=False),
    Column("target_id", Integer),
    Column("target_label", String(255), nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default=""),
    Column("created", Double, nullable=False),
)
Index("ix_staff_actions_created", staff_actions.c.created)
Index("ix_staff_actions_target", staff_actions.c.target_id, staff_actions.c.created)

# -- counts ------------------------------------------------------------------------------------

# Row counts that paginated lists answer with ("count"), kept exact by triggers in the same
# transaction as the rows (migration 0004): counting a million rows for every page would make a
# page cost what the table holds. name: "meetings.directory" (directory events), "organizations",
# "messages.lobby.<chat id>" (a lobby chat's messages).
# A name without its row is counted with COUNT(*) (store/counts.py).
list_counts = Table(
    "list_counts",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("n", BigInteger, nullable=False, server_default=text("0")),
)

# -- the deployment ------------------------------------------------------------------------------

# Secrets every process of one deployment must agree on: the signing secret of processes joined
# by Redis without --secret is made by the first process to start and read by the others.
server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created", Double, nullable=False),
)

# -- requests ---------------------------------------------------------------------------------

# The answers of creating requests sent with an Idempotency-Key (http/idempotency.py): the same
# key from the same user gets the first answer again. `status` is NULL while the first request
# is being answered. Rows expire after 24 h.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Id(),
    ref("user_id", "users.id"),
    Column("key", String(255), nullable=False),
    Column("request", Text, nullable=False),  # "POST /v1/rooms/": method and path
    Column("fingerprint", String(64), nullable=False),  # sha256 of method, target and body
    Column("status", Integer),
    Column("headers", Text),  # JSON [[name, value], ...] of the headers that matter
    Column("body", LargeBinary),
    Column("created", Double, nullable=False),
    UniqueConstraint("user_id", "key"),
)
Index("ix_idempotency_keys_created", idempotency_keys.c.created)

# -- foreign keys -----------------------------------------------------------------------------

# Every foreign key leads an index, as Django (the upstream servers' framework) gives every
# ForeignKey one: deleting a user, an organization or a meeting then reads no table whole to
# cascade, and a lookup by the key (a user's social identities on the staff pages) is a search.
# Those that no index above leads (migration 0006):
FOREIGN_KEY_INDEXES = (
    ("social_identities", "user_id"),
    ("confirmations", "user_id"),
    ("blocks", "blocked_id"),
    ("contacts", "contact_user_id"),
    ("organization_members", "user_id"),
    ("meeting_organizations", "organization_id"),
    ("pending_events", "creator_id"),
    ("pending_events", "meeting_id"),
    ("markings", "marker_id"),
    ("markings", "marked_id"),
    ("chats", "owner_id"),
    ("messages", "user_id"),
    ("staff_actions", "staff_id"),
)
for _table, _column in FOREIGN_KEY_INDEXES:
    Index(f"ix_{_table}_{_column}", metadata.tables[_table].c[_column])
del _table, _column
