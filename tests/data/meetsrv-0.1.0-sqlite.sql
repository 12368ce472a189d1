-- The schema meetsrv 0.1.0 created at every start on sqlite (Database.create_schema: its
-- tables, then its search indexes), as it was before migrations; tests start a server on it.
CREATE TABLE IF NOT EXISTS organizations (
	id INTEGER NOT NULL, 
	title VARCHAR(255) NOT NULL, 
	description TEXT DEFAULT '' NOT NULL, 
	address VARCHAR(255) DEFAULT '' NOT NULL, 
	postcode VARCHAR(16) DEFAULT '' NOT NULL, 
	created DOUBLE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX IF NOT EXISTS ix_organizations_title ON organizations (title);

CREATE TABLE IF NOT EXISTS users (
	id INTEGER NOT NULL, 
	username VARCHAR(150), 
	username_folded VARCHAR(150), 
	name VARCHAR(255) DEFAULT '' NOT NULL, 
	name_folded VARCHAR(255) DEFAULT '' NOT NULL, 
	email VARCHAR(254), 
	phone VARCHAR(32), 
	password_hash VARCHAR(255), 
	about TEXT DEFAULT '' NOT NULL, 
	birth_date VARCHAR(10), 
	gender INTEGER, 
	avatar VARCHAR(255), 
	karma INTEGER DEFAULT 0 NOT NULL, 
	confirmed BOOLEAN DEFAULT 0 NOT NULL, 
	hidden_phone BOOLEAN DEFAULT 0 NOT NULL, 
	is_staff BOOLEAN DEFAULT 0 NOT NULL, 
	created DOUBLE NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (username), 
	UNIQUE (email), 
	UNIQUE (phone)
);

CREATE INDEX IF NOT EXISTS ix_users_name_folded ON users (name_folded);

CREATE INDEX IF NOT EXISTS ix_users_username_folded ON users (username_folded);

CREATE TABLE IF NOT EXISTS blocks (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	blocked_id INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (user_id, blocked_id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, 
	FOREIGN KEY(blocked_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS confirmations (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	path VARCHAR(255) NOT NULL, 
	created DOUBLE NOT NULL, 
	reviewed DOUBLE, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS contacts (
	id INTEGER NOT NULL, 
	owner_id INTEGER NOT NULL, 
	phone VARCHAR(32) NOT NULL, 
	name VARCHAR(255), 
	contact_user_id INTEGER, 
	PRIMARY KEY (id), 
	UNIQUE (owner_id, phone), 
	FOREIGN KEY(owner_id) REFERENCES users (id) ON DELETE CASCADE, 
	FOREIGN KEY(contact_user_id) REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_contacts_phone ON contacts (phone);

CREATE TABLE IF NOT EXISTS credentials (
	id INTEGER NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	user_id INTEGER NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	created DOUBLE NOT NULL, 
	expires DOUBLE, 
	PRIMARY KEY (id), 
	UNIQUE (token_hash), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_credentials_user_kind ON credentials (user_id, kind);

CREATE TABLE IF NOT EXISTS friendships (
	id INTEGER NOT NULL, 
	from_user INTEGER NOT NULL, 
	to_user INTEGER NOT NULL, 
	accepted BOOLEAN DEFAULT 0 NOT NULL, 
	created DOUBLE NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (from_user, to_user), 
	FOREIGN KEY(from_user) REFERENCES users (id) ON DELETE CASCADE, 
	FOREIGN KEY(to_user) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS meetings (
	id INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	uuid VARCHAR(36), 
	title VARCHAR(255) NOT NULL, 
	description TEXT, 
	starts_at DOUBLE, 
	ends_at DOUBLE, 
	date VARCHAR(10), 
	lat DOUBLE, 
	lng DOUBLE, 
	group_type INTEGER, 
	category INTEGER, 
	image VARCHAR(255), 
	creator_id INTEGER, 
	completed BOOLEAN DEFAULT 0 NOT NULL, 
	created DOUBLE NOT NULL, 
	modified DOUBLE NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (uuid), 
	FOREIGN KEY(creator_id) REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_meetings_creator ON meetings (creator_id, created);

CREATE INDEX IF NOT EXISTS ix_meetings_kind_by_date ON meetings (kind, date IS NULL, date, coalesce(starts_at, 0), id);

CREATE INDEX IF NOT EXISTS ix_meetings_kind_by_date_desc ON meetings (kind, (date IS NULL) DESC, date, coalesce(starts_at, 0), id);

CREATE INDEX IF NOT EXISTS ix_meetings_kind_date ON meetings (kind, date, id);

CREATE INDEX IF NOT EXISTS ix_meetings_kind_id ON meetings (kind, id);

CREATE INDEX IF NOT EXISTS ix_meetings_kind_title ON meetings (kind, title);

CREATE UNIQUE INDEX IF NOT EXISTS ux_meetings_campus_title ON meetings (title) WHERE kind = 'campus';

CREATE TABLE IF NOT EXISTS organization_members (
	organization_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	UNIQUE (organization_id, user_id), 
	FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS photos (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	path VARCHAR(255) NOT NULL, 
	is_avatar BOOLEAN DEFAULT 0 NOT NULL, 
	created DOUBLE NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_photos_user ON photos (user_id);

CREATE TABLE IF NOT EXISTS social_identities (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	provider VARCHAR(16) NOT NULL, 
	external_id VARCHAR(64) NOT NULL, 
	token VARCHAR(255) DEFAULT '' NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (provider, external_id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS chats (
	id INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	slug VARCHAR(128), 
	title VARCHAR(255) DEFAULT '' NOT NULL, 
	owner_id INTEGER, 
	meeting_id INTEGER, 
	member_key TEXT, 
	created DOUBLE NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (slug), 
	FOREIGN KEY(owner_id) REFERENCES users (id) ON DELETE SET NULL, 
	FOREIGN KEY(meeting_id) REFERENCES meetings (id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX IF NOT EXISTS ix_chats_kind_member_key ON chats (kind, member_key);

CREATE INDEX IF NOT EXISTS ix_chats_meeting ON chats (meeting_id);

CREATE TABLE IF NOT EXISTS join_requests (
	id INTEGER NOT NULL, 
	meeting_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	approved BOOLEAN DEFAULT 0 NOT NULL, 
	rejected BOOLEAN DEFAULT 0 NOT NULL, 
	read BOOLEAN DEFAULT 0 NOT NULL, 
	created DOUBLE NOT NULL, 
	modified DOUBLE NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (meeting_id, user_id), 
	FOREIGN KEY(meeting_id) REFERENCES meetings (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS markings (
	id INTEGER NOT NULL, 
	meeting_id INTEGER NOT NULL, 
	marker_id INTEGER NOT NULL, 
	marked_id INTEGER NOT NULL, 
	created DOUBLE NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(meeting_id) REFERENCES meetings (id) ON DELETE CASCADE, 
	FOREIGN KEY(marker_id) REFERENCES users (id) ON DELETE CASCADE, 
	FOREIGN KEY(marked_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS meeting_members (
	meeting_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	king BOOLEAN DEFAULT 0 NOT NULL, 
	joined DOUBLE NOT NULL, 
	UNIQUE (meeting_id, user_id), 
	FOREIGN KEY(meeting_id) REFERENCES meetings (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_meeting_members_user ON meeting_members (user_id);

CREATE TABLE IF NOT EXISTS meeting_organizations (
	meeting_id INTEGER NOT NULL, 
	organization_id INTEGER NOT NULL, 
	UNIQUE (meeting_id, organization_id), 
	FOREIGN KEY(meeting_id) REFERENCES meetings (id) ON DELETE CASCADE, 
	FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS pending_events (
	id INTEGER NOT NULL, 
	creator_id INTEGER, 
	payload TEXT NOT NULL, 
	due_at DOUBLE NOT NULL, 
	created DOUBLE NOT NULL, 
	meeting_id INTEGER, 
	saved_at DOUBLE, 
	PRIMARY KEY (id), 
	FOREIGN KEY(creator_id) REFERENCES users (id) ON DELETE SET NULL, 
	FOREIGN KEY(meeting_id) REFERENCES meetings (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_pending_events_due ON pending_events (saved_at, due_at);

CREATE TABLE IF NOT EXISTS chat_members (
	chat_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	last_read_message_id BIGINT, 
	joined DOUBLE NOT NULL, 
	UNIQUE (chat_id, user_id), 
	FOREIGN KEY(chat_id) REFERENCES chats (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_chat_members_user ON chat_members (user_id, chat_id);

CREATE TABLE IF NOT EXISTS messages (
	id INTEGER NOT NULL, 
	chat_id INTEGER NOT NULL, 
	user_id INTEGER, 
	text TEXT NOT NULL, 
	is_read BOOLEAN DEFAULT 0 NOT NULL, 
	is_received BOOLEAN DEFAULT 0 NOT NULL, 
	created DOUBLE NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(chat_id) REFERENCES chats (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_messages_chat_id ON messages (chat_id, id);

CREATE VIRTUAL TABLE IF NOT EXISTS users_search USING fts5(username_folded, name_folded, content='users', content_rowid='id', tokenize='trigram');

CREATE TRIGGER IF NOT EXISTS users_search_ai AFTER INSERT ON users BEGIN INSERT INTO users_search(rowid, username_folded, name_folded) VALUES (new.id, new.username_folded, new.name_folded); END;

CREATE TRIGGER IF NOT EXISTS users_search_ad AFTER DELETE ON users BEGIN INSERT INTO users_search(users_search, rowid, username_folded, name_folded) VALUES ('delete', old.id, old.username_folded, old.name_folded); END;

CREATE TRIGGER IF NOT EXISTS users_search_au AFTER UPDATE OF id, username_folded, name_folded ON users BEGIN INSERT INTO users_search(users_search, rowid, username_folded, name_folded) VALUES ('delete', old.id, old.username_folded, old.name_folded); INSERT INTO users_search(rowid, username_folded, name_folded) VALUES (new.id, new.username_folded, new.name_folded); END;
