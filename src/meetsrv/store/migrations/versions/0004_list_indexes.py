"""list indexes: every list read in an index's order; counts kept for paginated lists

Indexes that serve the lists' filters and orders (a page costs the same at 1k and 1M rows):
photos (user_id, is_avatar DESC, id), friendships (to_user, accepted, id), contacts (owner_id,
contact_user_id), organizations (title, id), meetings (kind, creator_id, id) and (kind, lat,
lng), meeting_members (user_id, meeting_id), join_requests (user_id, approved, meeting_id),
markings (meeting_id, id); the indexes they replace are dropped. chat_members (user_id, chat_id)
becomes unique (the pair is), so that SQLite reads each of a user's chats once and its members in
order after it.

list_counts: the row counts paginated lists answer with (directory events, organizations, the
messages of each lobby chat), kept by triggers in the rows' transaction (row triggers on SQLite; statement triggers with transition tables on PostgreSQL,
so a bulk insert updates a count once; TRUNCATE sets it to 0), filled from the rows at upgrade.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (count name, table, the rows counted: a condition on the row's columns, or None for every row)
COUNTED = (
    ("meetings.directory", "meetings", "kind = 'directory'"),
    ("organizations", "organizations", None),
)


def _sqlite_triggers(name: str, table: str, where: str | None) -> list[str]:
    def when(row: str) -> str:
        return f" WHEN {row}.{where}" if where else ""

    add = (f"INSERT INTO list_counts (name, n) VALUES ('{name}', 1) "
           "ON CONFLICT (name) DO UPDATE SET n = n + 1;")
    remove = f"UPDATE list_counts SET n = n - 1 WHERE name = '{name}';"
    out = [
        f"CREATE TRIGGER IF NOT EXISTS list_counts_{table}_ai AFTER INSERT ON {table}{when('new')} "
        f"BEGIN {add} END",
        f"CREATE TRIGGER IF NOT EXISTS list_counts_{table}_ad AFTER DELETE ON {table}{when('old')} "
        f"BEGIN {remove} END",
    ]
    if where:
        # a row that stops or starts matching (no door changes a meeting's kind: for completeness)
        out += [
            f"CREATE TRIGGER IF NOT EXISTS list_counts_{table}_au_out AFTER UPDATE ON {table} "
            f"WHEN (old.{where}) AND NOT (new.{where}) BEGIN {remove} END",
            f"CREATE TRIGGER IF NOT EXISTS list_counts_{table}_au_in AFTER UPDATE ON {table} "
            f"WHEN (new.{where}) AND NOT (old.{where}) BEGIN {add} END",
        ]
    return out


def _postgresql_triggers(name: str, table: str, where: str | None) -> list[str]:
    function = f"list_counts_{table}"
    condition = f" WHERE {where}" if where else ""
    body = (
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "DECLARE added bigint := 0; removed bigint := 0;\n"
        "BEGIN\n"
        "  IF TG_OP = 'TRUNCATE' THEN\n"
        f"    UPDATE list_counts SET n = 0 WHERE name = '{name}';\n"
        "    RETURN NULL;\n"
        "  END IF;\n"
        "  IF TG_OP IN ('INSERT', 'UPDATE') THEN\n"
        f"    SELECT count(*) INTO added FROM new_rows{condition};\n"
        "  END IF;\n"
        "  IF TG_OP IN ('DELETE', 'UPDATE') THEN\n"
        f"    SELECT count(*) INTO removed FROM old_rows{condition};\n"
        "  END IF;\n"
        # only a statement that changes the count takes the count's row lock
        "  IF added > removed THEN\n"
        f"    INSERT INTO list_counts (name, n) VALUES ('{name}', added - removed)\n"
        "    ON CONFLICT (name) DO UPDATE SET n = list_counts.n + EXCLUDED.n;\n"
        "  ELSIF removed > added THEN\n"
        f"    UPDATE list_counts SET n = n - (removed - added) WHERE name = '{name}';\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END $$"
    )
    out = [
        body,
        f"DROP TRIGGER IF EXISTS list_counts_{table}_ai ON {table}",
        f"CREATE TRIGGER list_counts_{table}_ai AFTER INSERT ON {table} "
        f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"DROP TRIGGER IF EXISTS list_counts_{table}_ad ON {table}",
        f"CREATE TRIGGER list_counts_{table}_ad AFTER DELETE ON {table} "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"DROP TRIGGER IF EXISTS list_counts_{table}_at ON {table}",
        f"CREATE TRIGGER list_counts_{table}_at AFTER TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]
    if where:
        out += [
            f"DROP TRIGGER IF EXISTS list_counts_{table}_au ON {table}",
            f"CREATE TRIGGER list_counts_{table}_au AFTER UPDATE ON {table} "
            f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {function}()",
        ]
    return out


# The messages of each lobby chat (the directory's chat history is paginated with a count):
# "messages.lobby.<chat id>", made with the chat (so that a message changes a count, never the
# rows of list_counts) and gone with it. Messages never move to another chat: inserts and
# deletes are all.
LOBBY = "messages.lobby."
_LOBBY_SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS list_counts_chats_ai AFTER INSERT ON chats WHEN new.kind = 'lobby' BEGIN "
    f"INSERT INTO list_counts (name, n) VALUES ('{LOBBY}' || new.id, 0) ON CONFLICT (name) DO NOTHING; END",
    "CREATE TRIGGER IF NOT EXISTS list_counts_chats_ad AFTER DELETE ON chats WHEN old.kind = 'lobby' BEGIN "
    f"DELETE FROM list_counts WHERE name = '{LOBBY}' || old.id; END",
    "CREATE TRIGGER IF NOT EXISTS list_counts_messages_ai AFTER INSERT ON messages "
    "WHEN (SELECT kind FROM chats WHERE id = new.chat_id) = 'lobby' BEGIN "
    f"INSERT INTO list_counts (name, n) VALUES ('{LOBBY}' || new.chat_id, 1) "
    "ON CONFLICT (name) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER IF NOT EXISTS list_counts_messages_ad AFTER DELETE ON messages BEGIN "
    f"UPDATE list_counts SET n = n - 1 WHERE name = '{LOBBY}' || old.chat_id; END",
]
_LOBBY_POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION list_counts_chats() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "  IF TG_OP = 'INSERT' THEN\n"
    f"    INSERT INTO list_counts (name, n) SELECT '{LOBBY}' || id, 0 FROM new_rows WHERE kind = 'lobby'\n"
    "    ON CONFLICT (name) DO NOTHING;\n"
    "  ELSE\n"
    f"    DELETE FROM list_counts WHERE name IN (SELECT '{LOBBY}' || id FROM old_rows WHERE kind = 'lobby');\n"
    "  END IF;\n"
    "  RETURN NULL;\n"
    "END $$",
    "DROP TRIGGER IF EXISTS list_counts_chats_ai ON chats",
    "CREATE TRIGGER list_counts_chats_ai AFTER INSERT ON chats "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_chats()",
    "DROP TRIGGER IF EXISTS list_counts_chats_ad ON chats",
    "CREATE TRIGGER list_counts_chats_ad AFTER DELETE ON chats "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_chats()",
    "CREATE OR REPLACE FUNCTION list_counts_messages() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "  IF TG_OP = 'TRUNCATE' THEN\n"
    f"    UPDATE list_counts SET n = 0 WHERE starts_with(name, '{LOBBY}');\n"
    "  ELSIF TG_OP = 'INSERT' THEN\n"
    "    INSERT INTO list_counts (name, n)\n"
    f"    SELECT '{LOBBY}' || r.chat_id, count(*) FROM new_rows AS r JOIN chats AS c ON c.id = r.chat_id\n"
    "    WHERE c.kind = 'lobby' GROUP BY r.chat_id\n"
    "    ON CONFLICT (name) DO UPDATE SET n = list_counts.n + EXCLUDED.n;\n"
    "  ELSE\n"
    "    UPDATE list_counts AS l SET n = l.n - d.k\n"
    f"    FROM (SELECT '{LOBBY}' || chat_id AS name, count(*) AS k FROM old_rows GROUP BY chat_id) AS d\n"
    "    WHERE l.name = d.name;\n"
    "  END IF;\n"
    "  RETURN NULL;\n"
    "END $$",
    "DROP TRIGGER IF EXISTS list_counts_messages_ai ON messages",
    "CREATE TRIGGER list_counts_messages_ai AFTER INSERT ON messages "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_messages()",
    "DROP TRIGGER IF EXISTS list_counts_messages_ad ON messages",
    "CREATE TRIGGER list_counts_messages_ad AFTER DELETE ON messages "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_messages()",
    "DROP TRIGGER IF EXISTS list_counts_messages_at ON messages",
    "CREATE TRIGGER list_counts_messages_at AFTER TRUNCATE ON messages "
    "FOR EACH STATEMENT EXECUTE FUNCTION list_counts_messages()",
]


def count_trigger_statements(dialect_name: str) -> list[str]:
    """The count triggers' DDL for a dialect (schema.sql shows PostgreSQL's)."""
    make = _postgresql_triggers if dialect_name == "postgresql" else _sqlite_triggers
    lobby = _LOBBY_POSTGRESQL if dialect_name == "postgresql" else _LOBBY_SQLITE
    return [sql for name, table, where in COUNTED for sql in make(name, table, where)] + lobby


def _drop_count_triggers(dialect_name: str) -> list[str]:
    out = []
    for _, table, where in COUNTED:
        if dialect_name == "postgresql":
            suffixes = ["ai", "ad", "at"] + (["au"] if where else [])
        else:
            suffixes = ["ai", "ad"] + (["au_out", "au_in"] if where else [])
        for suffix in suffixes:
            on = f" ON {table}" if dialect_name == "postgresql" else ""
            out.append(f"DROP TRIGGER IF EXISTS list_counts_{table}_{suffix}{on}")
        if dialect_name == "postgresql":
            out.append(f"DROP FUNCTION IF EXISTS list_counts_{table}()")
    on = " ON messages" if dialect_name == "postgresql" else ""
    out += [f"DROP TRIGGER IF EXISTS list_counts_messages_{suffix}{on}"
            for suffix in (("ai", "ad", "at") if dialect_name == "postgresql" else ("ai", "ad"))]
    on = " ON chats" if dialect_name == "postgresql" else ""
    out += [f"DROP TRIGGER IF EXISTS list_counts_chats_{suffix}{on}" for suffix in ("ai", "ad")]
    if dialect_name == "postgresql":
        out += ["DROP FUNCTION IF EXISTS list_counts_messages()", "DROP FUNCTION IF EXISTS list_counts_chats()"]
    return out


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table('list_counts',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('n', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    for name, table, where in COUNTED:
        condition = f" WHERE {where}" if where else ""
        bind.exec_driver_sql(f"INSERT INTO list_counts (name, n) SELECT '{name}', count(*) FROM {table}{condition}")
    bind.exec_driver_sql(
        f"INSERT INTO list_counts (name, n) SELECT '{LOBBY}' || c.id, count(m.id) "
        "FROM chats AS c LEFT JOIN messages AS m ON m.chat_id = c.id WHERE c.kind = 'lobby' GROUP BY c.id")
    for sql in count_trigger_statements(bind.dialect.name):
        bind.exec_driver_sql(sql)

    op.drop_index('ix_photos_user', table_name='photos', if_exists=True)
    op.create_index('ix_photos_user_avatar', 'photos',
                    [sa.column('user_id'), sa.column('is_avatar').desc(), sa.column('id')],
                    unique=False, if_not_exists=True)
    op.create_index('ix_friendships_to_user', 'friendships', ['to_user', 'accepted', 'id'], unique=False,
                    if_not_exists=True)
    op.create_index('ix_contacts_owner_user', 'contacts', ['owner_id', 'contact_user_id'], unique=False,
                    if_not_exists=True)
    op.drop_index('ix_organizations_title', table_name='organizations', if_exists=True)
    op.create_index('ix_organizations_title_id', 'organizations', ['title', 'id'], unique=False,
                    if_not_exists=True)
    op.create_index('ix_meetings_kind_creator', 'meetings', ['kind', 'creator_id', 'id'], unique=False,
                    if_not_exists=True)
    op.create_index('ix_meetings_kind_lat', 'meetings', ['kind', 'lat', 'lng'], unique=False, if_not_exists=True)
    op.drop_index('ix_meeting_members_user', table_name='meeting_members', if_exists=True)
    op.create_index('ix_meeting_members_user_meeting', 'meeting_members', ['user_id', 'meeting_id'], unique=False,
                    if_not_exists=True)
    op.create_index('ix_join_requests_user', 'join_requests', ['user_id', 'approved', 'meeting_id'], unique=False,
                    if_not_exists=True)
    op.create_index('ix_markings_meeting', 'markings', ['meeting_id', 'id'], unique=False, if_not_exists=True)
    op.drop_index('ix_chat_members_user', table_name='chat_members')
    op.create_index('ix_chat_members_user', 'chat_members', ['user_id', 'chat_id'], unique=True)


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_index('ix_chat_members_user', table_name='chat_members')
    op.create_index('ix_chat_members_user', 'chat_members', ['user_id', 'chat_id'], unique=False)
    op.drop_index('ix_markings_meeting', table_name='markings')
    op.drop_index('ix_join_requests_user', table_name='join_requests')
    op.drop_index('ix_meeting_members_user_meeting', table_name='meeting_members')
    op.create_index('ix_meeting_members_user', 'meeting_members', ['user_id'], unique=False)
    op.drop_index('ix_meetings_kind_lat', table_name='meetings')
    op.drop_index('ix_meetings_kind_creator', table_name='meetings')
    op.drop_index('ix_organizations_title_id', table_name='organizations')
    op.create_index('ix_organizations_title', 'organizations', ['title'], unique=False)
    op.drop_index('ix_contacts_owner_user', table_name='contacts')
    op.drop_index('ix_friendships_to_user', table_name='friendships')
    op.drop_index('ix_photos_user_avatar', table_name='photos')
    op.create_index('ix_photos_user', 'photos', ['user_id'], unique=False)
    for sql in _drop_count_triggers(bind.dialect.name):
        bind.exec_driver_sql(sql)
    op.drop_table('list_counts')
