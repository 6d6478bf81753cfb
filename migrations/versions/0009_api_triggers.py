"""job templates triggered through the API, and the job tokens they answer

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('job_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_trigger', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('api_key_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('api_trigger_targets', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('api_trigger_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_job_templates_api_trigger_user_id_users'), 'users', ['api_trigger_user_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trigger_token_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_job_invocations_trigger_token_hash'), ['trigger_token_hash'])


def downgrade() -> None:
    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_job_invocations_trigger_token_hash'), type_='unique')
        batch_op.drop_column('trigger_token_hash')
    with op.batch_alter_table('job_templates', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_job_templates_api_trigger_user_id_users'), type_='foreignkey')
        batch_op.drop_column('api_trigger_user_id')
        batch_op.drop_column('api_trigger_targets')
        batch_op.drop_column('api_key_hash')
        batch_op.drop_column('api_trigger')
