"""staff identities: a staff user's account at the organisation's identity provider (OpenID
Connect issuer and subject), recorded at the first sign-in

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 04:15:55.802650
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import integrator.store.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('linked_at', integrator.store.types.UTCDateTime(), nullable=False),
    sa.Column('last_sign_in_at', integrator.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_user.id'], name=op.f('fk_staff_identity_staff_user_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_identity')),
    sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_staff_identity_issuer')),
    sa.UniqueConstraint('staff_user_id', 'issuer', name=op.f('uq_staff_identity_staff_user_id'))
    )


def downgrade() -> None:
    op.drop_table('staff_identity')
