"""chat last message: each chat names its newest message

chats.last_message_id: the id of the chat's newest message, which the next message's frame names
as the one before it. Posting reads and moves it under the chat's row lock, so that on
PostgreSQL a post is one statement (store/chats/chats.py). Filled from the messages at upgrade.

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


def upgrade() -> None:
    op.add_column('chats', sa.Column('last_message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                     nullable=True))
    op.get_bind().exec_driver_sql(
        "UPDATE chats SET last_message_id = (SELECT max(m.id) FROM messages AS m WHERE m.chat_id = chats.id)")


def downgrade() -> None:
    with op.batch_alter_table('chats', schema=None) as batch_op:
        batch_op.drop_column('last_message_id')
