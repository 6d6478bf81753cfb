"""The schema migrates on both databases and matches the models (no drift)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select

from migrations.env_filters import for_dialect as _for_dialect
from rex.migrate import sync_url
from rex.models import Base, Host


async def test_migrated_schema_has_no_drift(db_url):
    engine = create_engine(sync_url(db_url))
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": _for_dialect(conn.dialect.name)}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


async def test_unit_of_work_commits_and_rolls_back(database):
    async with database.unit_of_work() as session:
        session.add(Host(name="kept.example.com"))
    try:
        async with database.unit_of_work() as session:
            session.add(Host(name="dropped.example.com"))
            await session.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with database.reader() as session:
        names = (await session.scalars(select(Host.name))).all()
    assert names == ["kept.example.com"]
