"""jobs in segments: shell parts and HTTP requests made by rex (Http tasks of job definitions)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('segments', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.drop_column('segments')
