"""SHA-512 of template bodies, plain job scripts and every script sent to a host

Revision ID: 0010
Revises: 0009
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('job_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_sha512', sa.String(length=128), nullable=True))
    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('script_sha512', sa.String(length=128), nullable=True))
    with op.batch_alter_table('host_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('script_sha512', sa.String(length=128), nullable=True))
    bind = op.get_bind()
    for table, body, column in (("job_templates", "template", "template_sha512"),
                                ("job_invocations", "script", "script_sha512")):
        rows = bind.execute(sa.text(f"SELECT id, {body} FROM {table} WHERE {body} IS NOT NULL"))
        for row_id, text in rows.fetchall():
            bind.execute(sa.text(f"UPDATE {table} SET {column} = :d WHERE id = :i"),
                         {"d": hashlib.sha512(text.encode()).hexdigest(), "i": row_id})


def downgrade() -> None:
    with op.batch_alter_table('host_runs', schema=None) as batch_op:
        batch_op.drop_column('script_sha512')
    with op.batch_alter_table('job_invocations', schema=None) as batch_op:
        batch_op.drop_column('script_sha512')
    with op.batch_alter_table('job_templates', schema=None) as batch_op:
        batch_op.drop_column('template_sha512')
