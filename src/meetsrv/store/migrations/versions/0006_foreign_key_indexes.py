"""foreign key indexes: every foreign key leads an index

As Django gives every ForeignKey an index: deleting a user (or an organization, a meeting) read
every row of each table whose key had none to cascade (on PostgreSQL, 35 ms per million
messages for each user deleted), and the staff users list looked up each user's social
identities by reading them all. The columns are tables.FOREIGN_KEY_INDEXES; none of the indexes
costs a measurable time on a chat post (pgbench, the post statement: 0.25 ms with or without
the one on messages.user_id).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# as tables.FOREIGN_KEY_INDEXES was when this revision was written
COLUMNS = (
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


def upgrade() -> None:
    for table, column in COLUMNS:
        op.create_index(f'ix_{table}_{column}', table, [column], unique=False, if_not_exists=True)


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        op.drop_index(f'ix_{table}_{column}', table_name=table, if_exists=True)
