"""resilience: idempotency keys, pending event leases

idempotency_keys: the first answers of creating requests sent with an Idempotency-Key.
pending_events.lease_owner / lease_until: which process holds a pending event's timer; rows
that exist already have no lease, so the first process to start takes them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('headers', sa.Text(), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('created', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'key')
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_created', ['created'], unique=False)

    with op.batch_alter_table('pending_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.Double(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('pending_events', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_owner')

    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_created')

    op.drop_table('idempotency_keys')
