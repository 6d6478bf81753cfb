"""bookmarks, host managed and build, typed host parameters

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import rex.models

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bookmarks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('controller', sa.String(length=255), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_at', rex.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', rex.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_bookmarks_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookmarks')),
    sa.UniqueConstraint('name', 'controller', name=op.f('uq_bookmarks_name'))
    )
    with op.batch_alter_table('host_parameters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parameter_type', sa.String(length=16), server_default='string', nullable=False))
        batch_op.add_column(sa.Column('hidden_value', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('managed', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('build', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bookmark_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_job_invocations_bookmark_id_bookmarks'), 'bookmarks', ['bookmark_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_job_invocations_bookmark_id_bookmarks'), type_='foreignkey')
        batch_op.drop_column('bookmark_id')

    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.drop_column('build')
        batch_op.drop_column('managed')

    with op.batch_alter_table('host_parameters', schema=None) as batch_op:
        batch_op.drop_column('hidden_value')
        batch_op.drop_column('parameter_type')

    op.drop_table('bookmarks')
