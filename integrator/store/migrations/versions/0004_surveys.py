"""evaluation surveys: versions as asked, per-client invitations (token hashes only), responses

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:59:07.334921
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import integrator.store.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('survey_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('survey_key', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('round', sa.String(length=20), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', integrator.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_survey_version_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_version')),
    sa.UniqueConstraint('organisation_id', 'survey_key', 'version', name=op.f('uq_survey_version_organisation_id'))
    )
    op.create_table('survey_invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('round_key', sa.String(length=40), nullable=False),
    sa.Column('survey_version_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('linked', sa.Boolean(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('reminder_token_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', integrator.store.types.UTCDateTime(), nullable=False),
    sa.Column('reminded_at', integrator.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_survey_invitation_client_id_client')),
    sa.ForeignKeyConstraint(['group_id'], ['peer_group.id'], name=op.f('fk_survey_invitation_group_id_peer_group')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_survey_invitation_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['period_id'], ['period.id'], name=op.f('fk_survey_invitation_period_id_period')),
    sa.ForeignKeyConstraint(['survey_version_id'], ['survey_version.id'], name=op.f('fk_survey_invitation_survey_version_id_survey_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_invitation')),
    sa.UniqueConstraint('period_id', 'round_key', name=op.f('uq_survey_invitation_period_id')),
    sa.UniqueConstraint('reminder_token_hash', name=op.f('uq_survey_invitation_reminder_token_hash')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_survey_invitation_token_hash'))
    )
    op.create_table('survey_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('survey_version_id', sa.Integer(), nullable=False),
    sa.Column('round_key', sa.String(length=40), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('submitted_at', integrator.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['peer_group.id'], name=op.f('fk_survey_response_group_id_peer_group')),
    sa.ForeignKeyConstraint(['invitation_id'], ['survey_invitation.id'], name=op.f('fk_survey_response_invitation_id_survey_invitation')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_survey_response_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['survey_version_id'], ['survey_version.id'], name=op.f('fk_survey_response_survey_version_id_survey_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_response')),
    sa.UniqueConstraint('invitation_id', name=op.f('uq_survey_response_invitation_id')),
    sa.UniqueConstraint('organisation_id', 'external_id', name=op.f('uq_survey_response_organisation_id'))
    )


def downgrade() -> None:
    op.drop_table('survey_response')
    op.drop_table('survey_invitation')
    op.drop_table('survey_version')
