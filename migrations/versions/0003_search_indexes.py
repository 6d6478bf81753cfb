"""search indexes: covering fact/parameter indexes and a trigram index on host names

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_host_facts_name_value", table_name="host_facts")
    op.create_index("ix_host_facts_name_value_host_id", "host_facts", ["name", "value", "host_id"])
    op.drop_index("ix_host_parameters_name_value", table_name="host_parameters")
    op.create_index(
        "ix_host_parameters_name_value_host_id", "host_parameters", ["name", "value", "host_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_hosts_name_trgm", "hosts", ["name"], postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_hosts_name_trgm", table_name="hosts")
    op.drop_index("ix_host_parameters_name_value_host_id", table_name="host_parameters")
    op.create_index("ix_host_parameters_name_value", "host_parameters", ["name", "value"])
    op.drop_index("ix_host_facts_name_value_host_id", table_name="host_facts")
    op.create_index("ix_host_facts_name_value", "host_facts", ["name", "value"])
