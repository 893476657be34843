"""Initial schema: the whole app (respondents, researchers, scoring runs, audit).

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-24 04:14:45.575888
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('questionnaire_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('questionnaire_id', sa.String(length=100), nullable=False),
    sa.Column('version', sa.String(length=50), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaire_snapshot')),
    sa.UniqueConstraint('content_hash', name=op.f('uq_questionnaire_snapshot_content_hash'))
    )
    with op.batch_alter_table('questionnaire_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questionnaire_snapshot_questionnaire_id'), ['questionnaire_id'], unique=False)

    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('api_token_hash', sa.String(length=128), nullable=True),
    sa.Column('language', sa.String(length=10), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'researcher', 'viewer')", name=op.f('ck_user_role_allowed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('api_token_hash', name=op.f('uq_user_api_token_hash')),
    sa.UniqueConstraint('email', name=op.f('uq_user_email'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('object_type', sa.String(length=50), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_audit_log_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_log_object', ['object_type', 'object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_user_id'), ['user_id'], unique=False)

    op.create_table('study',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_study_created_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study')),
    sa.UniqueConstraint('slug', name=op.f('uq_study_slug'))
    )
    op.create_table('survey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=True),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('wave', sa.String(length=50), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('access', sa.String(length=12), nullable=False),
    sa.Column('min_seconds', sa.Float(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("access IN ('anonymous', 'invitation')", name=op.f('ck_survey_access_allowed')),
    sa.CheckConstraint("status IN ('draft', 'open', 'closed')", name=op.f('ck_survey_status_allowed')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_survey_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['snapshot_id'], ['questionnaire_snapshot.id'], name=op.f('fk_survey_snapshot_id_questionnaire_snapshot'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_survey_study_id_study'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey')),
    sa.UniqueConstraint('slug', name=op.f('uq_survey_slug')),
    sa.UniqueConstraint('study_id', 'audience', 'wave', name='uq_survey_study_audience_wave')
    )
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_snapshot_id'), ['snapshot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_study_id'), ['study_id'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=True),
    sa.Column('segments', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_invitation_survey_id_survey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('token', name=op.f('uq_invitation_token'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_survey_id'), ['survey_id'], unique=False)

    op.create_table('scoring_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=True),
    sa.Column('study_id', sa.Integer(), nullable=True),
    sa.Column('wave', sa.String(length=50), nullable=True),
    sa.Column('method', sa.String(length=30), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('parameters_hash', sa.String(length=64), nullable=False),
    sa.Column('snapshot_hash', sa.String(length=64), nullable=False),
    sa.Column('data_hash', sa.String(length=64), nullable=False),
    sa.Column('n_responses', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_scoring_run_status_allowed')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_scoring_run_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_scoring_run_study_id_study'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_scoring_run_survey_id_survey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_run'))
    )
    with op.batch_alter_table('scoring_run', schema=None) as batch_op:
        batch_op.create_index('ix_scoring_run_lookup', ['method', 'snapshot_hash', 'data_hash', 'parameters_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_scoring_run_study_id'), ['study_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scoring_run_survey_id'), ['survey_id'], unique=False)

    op.create_table('response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.String(length=36), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('completed_invitation_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('page_reached', sa.Integer(), nullable=False),
    sa.Column('resume_code', sa.String(length=16), nullable=True),
    sa.Column('segments', sa.JSON(), nullable=False),
    sa.Column('suspect', sa.JSON(), nullable=False),
    sa.Column('quarantined', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.CheckConstraint("status IN ('partial', 'complete')", name=op.f('ck_response_status_allowed')),
    sa.CheckConstraint('completed_invitation_id IS NULL OR completed_invitation_id = invitation_id', name=op.f('ck_response_completed_invitation_matches')),
    sa.ForeignKeyConstraint(['completed_invitation_id'], ['invitation.id'], name=op.f('fk_response_completed_invitation_id_invitation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], name=op.f('fk_response_invitation_id_invitation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_response_survey_id_survey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response')),
    sa.UniqueConstraint('completed_invitation_id', name=op.f('uq_response_completed_invitation_id')),
    sa.UniqueConstraint('response_id', name=op.f('uq_response_response_id')),
    sa.UniqueConstraint('resume_code', name=op.f('uq_response_resume_code'))
    )
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_invitation_id'), ['invitation_id'], unique=False)
        batch_op.create_index('ix_response_survey_status', ['survey_id', 'status'], unique=False)

    op.create_table('answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_pk', sa.Integer(), nullable=False),
    sa.Column('column', sa.String(length=64), nullable=False),
    sa.Column('num', sa.Float(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.CheckConstraint('(num IS NULL) <> (text IS NULL)', name=op.f('ck_answer_exactly_one_value')),
    sa.ForeignKeyConstraint(['response_pk'], ['response.id'], name=op.f('fk_answer_response_pk_response'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer')),
    sa.UniqueConstraint('response_pk', 'column', name='uq_answer_response_column')
    )


def downgrade() -> None:
    op.drop_table('answer')
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index('ix_response_survey_status')
        batch_op.drop_index(batch_op.f('ix_response_invitation_id'))

    op.drop_table('response')
    with op.batch_alter_table('scoring_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scoring_run_survey_id'))
        batch_op.drop_index(batch_op.f('ix_scoring_run_study_id'))
        batch_op.drop_index('ix_scoring_run_lookup')

    op.drop_table('scoring_run')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_survey_id'))

    op.drop_table('invitation')
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_study_id'))
        batch_op.drop_index(batch_op.f('ix_survey_snapshot_id'))

    op.drop_table('survey')
    op.drop_table('study')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_user_id'))
        batch_op.drop_index('ix_audit_log_object')
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    op.drop_table('user')
    with op.batch_alter_table('questionnaire_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questionnaire_snapshot_questionnaire_id'))

    op.drop_table('questionnaire_snapshot')
