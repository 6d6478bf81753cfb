"""plain jobs: jobs table, job invocations with a script, a runtime and their job

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import rex.models

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('runtime', sa.String(length=16), nullable=False),
    sa.Column('script', sa.Text(), nullable=False),
    sa.Column('targets', sa.Text(), nullable=False),
    sa.Column('timeout', sa.Integer(), nullable=True),
    sa.Column('schedule', sa.String(length=255), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('recurring_logic_id', sa.Integer(), nullable=True),
    sa.Column('created_at', rex.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', rex.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recurring_logic_id'], ['recurring_logics.id'], name=op.f('fk_jobs_recurring_logic_id_recurring_logics'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_jobs_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('script', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('runtime', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_job_invocations_job_id'), ['job_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_job_invocations_job_id_jobs'), 'jobs', ['job_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_job_invocations_job_id_jobs'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_job_invocations_job_id'))
        batch_op.drop_column('runtime')
        batch_op.drop_column('script')
        batch_op.drop_column('job_id')
    op.drop_table('jobs')
