"""job definitions from files: schedule state, and the job invocations they start

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

import rex.models

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_definition_states',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('first_loaded_at', rex.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_fired_at', rex.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_definition_states'))
    )
    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_definition_id', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.Integer(), server_default='5', nullable=False))
        batch_op.create_index(batch_op.f('ix_job_invocations_job_definition_id'), ['job_definition_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_invocations_job_definition_id'))
        batch_op.drop_column('priority')
        batch_op.drop_column('job_definition_id')
    op.drop_table('job_definition_states')
