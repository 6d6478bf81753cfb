"""Alembic environment: runs migrations on a synchronous engine built from rex's URL."""

from alembic import context
from sqlalchemy import create_engine, pool

from migrations.env_filters import for_dialect
from rex.migrate import sync_url
from rex.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run every pending migration inside one transaction."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = sync_url(config.get_main_option("sqlalchemy.url"))
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=for_dialect(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
