"""chat last message: each chat names its newest message

chats.last_message_id: the id of the chat's newest message, which the next message's frame names
as the one before it. Posting reads it under the chat's row lock and moves it, with the poster's
read mark (store/chats/chats.py): on PostgreSQL in the post's one statement, on SQLite in the
trigger below, so that a post there is two statements (each statement a hand-off of the GIL
between the reactor and the database thread). Filled from the messages at upgrade.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite: a message stored moves its chat's newest and, when the poster had read the chat up to
# the message before it, the poster's last read (the same rule as the PostgreSQL statement).
SQLITE_POSTED = (
    "CREATE TRIGGER IF NOT EXISTS messages_posted AFTER INSERT ON messages BEGIN "
    "UPDATE chat_members SET last_read_message_id = new.id "
    "WHERE chat_id = new.chat_id AND user_id = new.user_id AND COALESCE(last_read_message_id, 0) >= "
    "(SELECT COALESCE(last_message_id, 0) FROM chats WHERE id = new.chat_id); "
    "UPDATE chats SET last_message_id = new.id WHERE id = new.chat_id; "
    "END"
)


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column('chats', sa.Column('last_message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                     nullable=True))
    bind.exec_driver_sql(
        "UPDATE chats SET last_message_id = (SELECT max(m.id) FROM messages AS m WHERE m.chat_id = chats.id)")
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql(SQLITE_POSTED)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.get_bind().exec_driver_sql("DROP TRIGGER IF EXISTS messages_posted")
    with op.batch_alter_table('chats', schema=None) as batch_op:
        batch_op.drop_column('last_message_id')
