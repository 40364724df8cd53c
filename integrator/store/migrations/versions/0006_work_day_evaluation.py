"""work day evaluation stamp: the sync's clock when all of a work day's attendance was last
evaluated and a digest of the inputs besides the evidence, so that a night with nothing new
re-evaluates only the days whose evidence, rules or calendar changed or whose deadline passed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import integrator.store.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_day', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evaluated_at', integrator.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('evaluated_inputs', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('work_day', schema=None) as batch_op:
        batch_op.drop_column('evaluated_inputs')
        batch_op.drop_column('evaluated_at')
