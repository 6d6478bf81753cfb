"""job environments, the vault, retries (attempts of a host as their own host runs), offline queueing

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import rex.models

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('vault_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', rex.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', rex.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vault_entries')),
    sa.UniqueConstraint('key', name=op.f('uq_vault_entries_key'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('environment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('retry_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('retry_delay', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('queue_offline', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('offline_ttl', sa.Integer(), server_default='3600', nullable=False))
    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('environment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('retry_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('retry_delay', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('queue_offline', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('offline_ttl', sa.Integer(), server_default='3600', nullable=False))
    with op.batch_alter_table('host_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('attempt_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('not_before', rex.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('offline_since', rex.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.alter_column('job_invocation_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_host_runs_attempt_of_id'), ['attempt_of_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_host_runs_attempt_of_id_host_runs'), 'host_runs', ['attempt_of_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    op.execute("DELETE FROM host_runs WHERE job_invocation_id IS NULL")
    with op.batch_alter_table('host_runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_host_runs_attempt_of_id_host_runs'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_host_runs_attempt_of_id'))
        batch_op.alter_column('job_invocation_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('offline_since')
        batch_op.drop_column('not_before')
        batch_op.drop_column('attempt_of_id')
        batch_op.drop_column('attempt')
    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.drop_column('offline_ttl')
        batch_op.drop_column('queue_offline')
        batch_op.drop_column('retry_delay')
        batch_op.drop_column('retry_count')
        batch_op.drop_column('environment')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('offline_ttl')
        batch_op.drop_column('queue_offline')
        batch_op.drop_column('retry_delay')
        batch_op.drop_column('retry_count')
        batch_op.drop_column('environment')
    op.drop_table('vault_entries')
