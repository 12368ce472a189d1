-- Generated from src/meetsrv/store/tables.py (+ the search indexes of migration 0001 and the list count triggers of 0004) by `python -m meetsrv.store.schema`; do not edit.
-- The server creates and upgrades its schema with the migrations in src/meetsrv/store/migrations/.
CREATE TABLE IF NOT EXISTS list_counts (
	name VARCHAR(64) NOT NULL, 
	n BIGINT DEFAULT 0 NOT NULL, 
	PRIMARY KEY (name)
);

CREATE TABLE IF NOT EXISTS organizations (
	id SERIAL NOT NULL, 
	title VARCHAR(255) NOT NULL, 
	description TEXT DEFAULT '' NOT NULL, 
	address VARCHAR(255) DEFAULT '' NOT NULL, 
	postcode VARCHAR(16) DEFAULT '' NOT NULL, 
	created DOUBLE PRECISION NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX IF NOT EXISTS ix_organizations_title_id ON organizations (title, id);

CREATE TABLE IF NOT EXISTS server_secrets (
	name VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	created DOUBLE PRECISION NOT NULL, 
	PRIMARY KEY (name)
);

CREATE TABLE IF NOT EXISTS users (
	id SERIAL NOT NULL, 
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
	confirmed BOOLEAN DEFAULT false NOT NULL, 
	hidden_phone BOOLEAN DEFAULT false NOT NULL, 
	is_staff BOOLEAN DEFAULT false NOT NULL, 
	active BOOLEAN DEFAULT true NOT NULL, 
	door VARCHAR(16), 
	sessions_ended DOUBLE PRECISION, 
	created DOUBLE PRECISION NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (username), 
	UNIQUE (email), 
	UNIQUE (phone)
);

CREATE INDEX IF NOT EXISTS ix_users_name_folded ON users (name_folded);

CREATE INDEX IF NOT EXISTS ix_users_sessions_ended ON users (sessions_ended);

CREATE INDEX IF NOT EXISTS ix_users_username_folded ON users (username_folded);

CREATE TABLE IF NOT EXISTS blocks (
	id SERIAL NOT NULL, 
	user_id INTEGER NOT NULL, 
	blocked_id INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (user_id, blocked_id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, 
	FOREIGN KEY(blocked_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_blocks_blocked_id ON blocks (blocked_id);

CREATE TABLE IF NOT EXISTS confirmations (
	id SERIAL NOT NULL, 
	user_id INTEGER NOT NULL, 
	path VARCHAR(255) NOT NULL, 
	created DOUBLE PRECISION NOT NULL, 
	reviewed DOUBLE PRECISION, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_confirmations_user_id ON confirmations (user_id);

CREATE TABLE IF NOT EXISTS contacts (
	id SERIAL NOT NULL, 
	owner_id INTEGER NOT NULL, 
	phone VARCHAR(32) NOT NULL, 
	name VARCHAR(255), 
	contact_user_id INTEGER, 
	PRIMARY KEY (id), 
	UNIQUE (owner_id, phone), 
	FOREIGN KEY(owner_id) REFERENCES users (id) ON DELETE CASCADE, 
	FOREIGN KEY(contact_user_id) REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_contacts_contact_user_id ON contacts (contact_user_id);

CREATE INDEX IF NOT EXISTS ix_contacts_owner_user ON contacts (owner_id, contact_user_id);

CREATE INDEX IF NOT EXISTS ix_contacts_phone ON contacts (phone);

CREATE TABLE IF NOT EXISTS credentials (
	id SERIAL NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	user_id INTEGER NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	created DOUBLE PRECISION NOT NULL, 
	expires DOUBLE PRECISION, 
	PRIMARY KEY (id), 
	UNIQUE (token_hash), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_credentials_user_kind ON credentials (user_id, kind);

CREATE TABLE IF NOT EXISTS friendships (
	id SERIAL NOT NULL, 
	from_user INTEGER NOT NULL, 
	to_user INTEGER NOT NULL, 
	accepted BOOLEAN DEFAULT false NOT NULL, 
	created DOUBLE PRECISION NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (from_user, to_user), 
	FOREIGN KEY(from_user) REFERENCES users (id) ON DELETE CASCADE, 
	FOREIGN KEY(to_user) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_friendships_to_user ON friendships (to_user, accepted, id);

CREATE TABLE IF NOT EXISTS idempotency_keys (
	id SERIAL NOT NULL, 
	user_id INTEGER NOT NULL, 
	key VARCHAR(255) NOT NULL, 
	request TEXT NOT NULL, 
	fingerprint VARCHAR(64) NOT NULL, 
	status INTEGER, 
	headers TEXT, 
	body BYTEA, 
	created DOUBLE PRECISION NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (user_id, key), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_idempotency_keys_created ON idempotency_keys (created);

CREATE TABLE IF NOT EXISTS meetings (
	id SERIAL NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	uuid VARCHAR(36), 
	title VARCHAR(255) NOT NULL, 
	description TEXT, 
	starts_at DOUBLE PRECISION, 
	ends_at DOUBLE PRECISION, 
	date VARCHAR(10), 
	lat DOUBLE PRECISION, 
	lng DOUBLE PRECISION, 
	group_type INTEGER, 
	category INTEGER, 
	image VARCHAR(255), 
	creator_id INTEGER, 
	completed BOOLEAN DEFAULT false NOT NULL, 
	created DOUBLE PRECISION NOT NULL, 
	modified DOUBLE PRECISION NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (uuid), 
	FOREIGN KEY(creator_id) REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_meetings_creator ON meetings (creator_id, created);

CREATE INDEX IF NOT EXISTS ix_meetings_kind_by_date ON meetings (kind, (date IS NULL), date, coalesce(starts_at, 0), id);

CREATE INDEX IF NOT EXISTS ix_meetings_kind_by_date_desc ON meetings (kind, (date IS NULL) DESC, date, coalesce(starts_at, 0), id);

CREATE INDEX IF NOT EXISTS ix_meetings_kind_creator ON meetings (kind, creator_id, id);

CREATE INDEX IF NOT EXISTS ix_meetings_kind_date ON meetings (kind, date, id);

CREATE INDEX IF NOT EXISTS ix_meetings_kind_id ON meetings (kind, id);

CREATE INDEX IF NOT EXISTS ix_meetings_kind_lat ON meetings (kind, lat, lng);

CREATE INDEX IF NOT EXISTS ix_meetings_kind_title ON meetings (kind, title);

CREATE UNIQUE INDEX IF NOT EXISTS ux_meetings_campus_title ON meetings (title) WHERE kind = 'campus';

CREATE TABLE IF NOT EXISTS organization_members (
	organization_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	UNIQUE (organization_id, user_id), 
	FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_organization_members_user_id ON organization_members (user_id);

CREATE TABLE IF NOT EXISTS photos (
	id SERIAL NOT NULL, 
	user_id INTEGER NOT NULL, 
	path VARCHAR(255) NOT NULL, 
	is_avatar BOOLEAN DEFAULT false NOT NULL, 
	created DOUBLE PRECISION NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_photos_user_avatar ON photos (user_id, is_avatar DESC, id);

CREATE TABLE IF NOT EXISTS social_identities (
	id SERIAL NOT NULL, 
	user_id INTEGER NOT NULL, 
	provider VARCHAR(16) NOT NULL, 
	external_id VARCHAR(64) NOT NULL, 
	token VARCHAR(255) DEFAULT '' NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (provider, external_id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_social_identities_user_id ON social_identities (user_id);

CREATE TABLE IF NOT EXISTS staff_actions (
	id SERIAL NOT NULL, 
	staff_id INTEGER, 
	staff_label VARCHAR(255) DEFAULT '' NOT NULL, 
	action VARCHAR(32) NOT NULL, 
	target_id INTEGER, 
	target_label VARCHAR(255) DEFAULT '' NOT NULL, 
	detail TEXT DEFAULT '' NOT NULL, 
	created DOUBLE PRECISION NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(staff_id) REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_staff_actions_created ON staff_actions (created);

CREATE INDEX IF NOT EXISTS ix_staff_actions_staff_id ON staff_actions (staff_id);

CREATE INDEX IF NOT EXISTS ix_staff_actions_target ON staff_actions (target_id, created);

CREATE TABLE IF NOT EXISTS chats (
	id SERIAL NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	slug VARCHAR(128), 
	title VARCHAR(255) DEFAULT '' NOT NULL, 
	owner_id INTEGER, 
	meeting_id INTEGER, 
	member_key TEXT, 
	created DOUBLE PRECISION NOT NULL, 
	last_message_id BIGINT, 
	PRIMARY KEY (id), 
	UNIQUE (slug), 
	FOREIGN KEY(owner_id) REFERENCES users (id) ON DELETE SET NULL, 
	FOREIGN KEY(meeting_id) REFERENCES meetings (id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX IF NOT EXISTS ix_chats_kind_member_key ON chats (kind, member_key);

CREATE INDEX IF NOT EXISTS ix_chats_meeting ON chats (meeting_id);

CREATE INDEX IF NOT EXISTS ix_chats_owner_id ON chats (owner_id);

CREATE TABLE IF NOT EXISTS join_requests (
	id SERIAL NOT NULL, 
	meeting_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	approved BOOLEAN DEFAULT false NOT NULL, 
	rejected BOOLEAN DEFAULT false NOT NULL, 
	read BOOLEAN DEFAULT false NOT NULL, 
	created DOUBLE PRECISION NOT NULL, 
	modified DOUBLE PRECISION NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (meeting_id, user_id), 
	FOREIGN KEY(meeting_id) REFERENCES meetings (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_join_requests_user ON join_requests (user_id, approved, meeting_id);

CREATE TABLE IF NOT EXISTS markings (
	id SERIAL NOT NULL, 
	meeting_id INTEGER NOT NULL, 
	marker_id INTEGER NOT NULL, 
	marked_id INTEGER NOT NULL, 
	created DOUBLE PRECISION NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(meeting_id) REFERENCES meetings (id) ON DELETE CASCADE, 
	FOREIGN KEY(marker_id) REFERENCES users (id) ON DELETE CASCADE, 
	FOREIGN KEY(marked_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_markings_marked_id ON markings (marked_id);

CREATE INDEX IF NOT EXISTS ix_markings_marker_id ON markings (marker_id);

CREATE INDEX IF NOT EXISTS ix_markings_meeting ON markings (meeting_id, id);

CREATE TABLE IF NOT EXISTS meeting_members (
	meeting_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	king BOOLEAN DEFAULT false NOT NULL, 
	joined DOUBLE PRECISION NOT NULL, 
	UNIQUE (meeting_id, user_id), 
	FOREIGN KEY(meeting_id) REFERENCES meetings (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_meeting_members_user_meeting ON meeting_members (user_id, meeting_id);

CREATE TABLE IF NOT EXISTS meeting_organizations (
	meeting_id INTEGER NOT NULL, 
	organization_id INTEGER NOT NULL, 
	UNIQUE (meeting_id, organization_id), 
	FOREIGN KEY(meeting_id) REFERENCES meetings (id) ON DELETE CASCADE, 
	FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_meeting_organizations_organization_id ON meeting_organizations (organization_id);

CREATE TABLE IF NOT EXISTS pending_events (
	id SERIAL NOT NULL, 
	creator_id INTEGER, 
	payload TEXT NOT NULL, 
	due_at DOUBLE PRECISION NOT NULL, 
	created DOUBLE PRECISION NOT NULL, 
	meeting_id INTEGER, 
	saved_at DOUBLE PRECISION, 
	lease_owner VARCHAR(64), 
	lease_until DOUBLE PRECISION, 
	PRIMARY KEY (id), 
	FOREIGN KEY(creator_id) REFERENCES users (id) ON DELETE SET NULL, 
	FOREIGN KEY(meeting_id) REFERENCES meetings (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_pending_events_creator_id ON pending_events (creator_id);

CREATE INDEX IF NOT EXISTS ix_pending_events_due ON pending_events (saved_at, due_at);

CREATE INDEX IF NOT EXISTS ix_pending_events_meeting_id ON pending_events (meeting_id);

CREATE TABLE IF NOT EXISTS chat_members (
	chat_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	last_read_message_id BIGINT, 
	joined DOUBLE PRECISION NOT NULL, 
	UNIQUE (chat_id, user_id), 
	FOREIGN KEY(chat_id) REFERENCES chats (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX IF NOT EXISTS ix_chat_members_user ON chat_members (user_id, chat_id);

CREATE TABLE IF NOT EXISTS messages (
	id BIGSERIAL NOT NULL, 
	chat_id INTEGER NOT NULL, 
	user_id INTEGER, 
	text TEXT NOT NULL, 
	is_read BOOLEAN DEFAULT false NOT NULL, 
	is_received BOOLEAN DEFAULT false NOT NULL, 
	created DOUBLE PRECISION NOT NULL, 
	client_id VARCHAR(64), 
	PRIMARY KEY (id), 
	FOREIGN KEY(chat_id) REFERENCES chats (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS ix_messages_chat_id ON messages (chat_id, id);

CREATE UNIQUE INDEX IF NOT EXISTS ix_messages_client_id ON messages (chat_id, user_id, client_id) WHERE client_id IS NOT NULL;

CREATE INDEX IF NOT EXISTS ix_messages_user_id ON messages (user_id);

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX IF NOT EXISTS ix_users_username_folded_trgm ON users USING gin (username_folded gin_trgm_ops);

CREATE INDEX IF NOT EXISTS ix_users_name_folded_trgm ON users USING gin (name_folded gin_trgm_ops);

CREATE COLLATION IF NOT EXISTS natural_order (provider = icu, locale = 'und-u-kn-true');

CREATE OR REPLACE FUNCTION list_counts_meetings() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE added bigint := 0; removed bigint := 0;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    UPDATE list_counts SET n = 0 WHERE name = 'meetings.directory';
    RETURN NULL;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT count(*) INTO added FROM new_rows WHERE kind = 'directory';
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    SELECT count(*) INTO removed FROM old_rows WHERE kind = 'directory';
  END IF;
  IF added > removed THEN
    INSERT INTO list_counts (name, n) VALUES ('meetings.directory', added - removed)
    ON CONFLICT (name) DO UPDATE SET n = list_counts.n + EXCLUDED.n;
  ELSIF removed > added THEN
    UPDATE list_counts SET n = n - (removed - added) WHERE name = 'meetings.directory';
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS list_counts_meetings_ai ON meetings;

CREATE TRIGGER list_counts_meetings_ai AFTER INSERT ON meetings REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_meetings();

DROP TRIGGER IF EXISTS list_counts_meetings_ad ON meetings;

CREATE TRIGGER list_counts_meetings_ad AFTER DELETE ON meetings REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_meetings();

DROP TRIGGER IF EXISTS list_counts_meetings_at ON meetings;

CREATE TRIGGER list_counts_meetings_at AFTER TRUNCATE ON meetings FOR EACH STATEMENT EXECUTE FUNCTION list_counts_meetings();

DROP TRIGGER IF EXISTS list_counts_meetings_au ON meetings;

CREATE TRIGGER list_counts_meetings_au AFTER UPDATE ON meetings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_meetings();

CREATE OR REPLACE FUNCTION list_counts_organizations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE added bigint := 0; removed bigint := 0;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    UPDATE list_counts SET n = 0 WHERE name = 'organizations';
    RETURN NULL;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT count(*) INTO added FROM new_rows;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    SELECT count(*) INTO removed FROM old_rows;
  END IF;
  IF added > removed THEN
    INSERT INTO list_counts (name, n) VALUES ('organizations', added - removed)
    ON CONFLICT (name) DO UPDATE SET n = list_counts.n + EXCLUDED.n;
  ELSIF removed > added THEN
    UPDATE list_counts SET n = n - (removed - added) WHERE name = 'organizations';
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS list_counts_organizations_ai ON organizations;

CREATE TRIGGER list_counts_organizations_ai AFTER INSERT ON organizations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_organizations();

DROP TRIGGER IF EXISTS list_counts_organizations_ad ON organizations;

CREATE TRIGGER list_counts_organizations_ad AFTER DELETE ON organizations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_organizations();

DROP TRIGGER IF EXISTS list_counts_organizations_at ON organizations;

CREATE TRIGGER list_counts_organizations_at AFTER TRUNCATE ON organizations FOR EACH STATEMENT EXECUTE FUNCTION list_counts_organizations();

CREATE OR REPLACE FUNCTION list_counts_chats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO list_counts (name, n) SELECT 'messages.lobby.' || id, 0 FROM new_rows WHERE kind = 'lobby'
    ON CONFLICT (name) DO NOTHING;
  ELSE
    DELETE FROM list_counts WHERE name IN (SELECT 'messages.lobby.' || id FROM old_rows WHERE kind = 'lobby');
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS list_counts_chats_ai ON chats;

CREATE TRIGGER list_counts_chats_ai AFTER INSERT ON chats REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_chats();

DROP TRIGGER IF EXISTS list_counts_chats_ad ON chats;

CREATE TRIGGER list_counts_chats_ad AFTER DELETE ON chats REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_chats();

CREATE OR REPLACE FUNCTION list_counts_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    UPDATE list_counts SET n = 0 WHERE starts_with(name, 'messages.lobby.');
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO list_counts (name, n)
    SELECT 'messages.lobby.' || r.chat_id, count(*) FROM new_rows AS r JOIN chats AS c ON c.id = r.chat_id
    WHERE c.kind = 'lobby' GROUP BY r.chat_id
    ON CONFLICT (name) DO UPDATE SET n = list_counts.n + EXCLUDED.n;
  ELSE
    UPDATE list_counts AS l SET n = l.n - d.k
    FROM (SELECT 'messages.lobby.' || chat_id AS name, count(*) AS k FROM old_rows GROUP BY chat_id) AS d
    WHERE l.name = d.name;
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS list_counts_messages_ai ON messages;

CREATE TRIGGER list_counts_messages_ai AFTER INSERT ON messages REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_messages();

DROP TRIGGER IF EXISTS list_counts_messages_ad ON messages;

CREATE TRIGGER list_counts_messages_ad AFTER DELETE ON messages REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_messages();

DROP TRIGGER IF EXISTS list_counts_messages_at ON messages;

CREATE TRIGGER list_counts_messages_at AFTER TRUNCATE ON messages FOR EACH STATEMENT EXECUTE FUNCTION list_counts_messages();

CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));

INSERT INTO alembic_version (version_num) SELECT '0006' WHERE NOT EXISTS (SELECT 1 FROM alembic_version);
