"""attendance lifecycle: when a membership began in the product, early ends, message meta

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import integrator.store.types

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recorded_on', sa.Date(), nullable=True))
    with op.batch_alter_table('period', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_end_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('end_reason', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('ended_at', integrator.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('ended_by', sa.String(length=200), nullable=True))
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meta', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('meta')
    with op.batch_alter_table('period', schema=None) as batch_op:
        batch_op.drop_column('ended_by')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('end_reason')
        batch_op.drop_column('planned_end_date')
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_column('recorded_on')
