"""The benchmark generator's inventory matches what the benchmark query must find."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.gen_hosts import Inventory, add_sqlite_indexes, load_sqlite
from bench.search import QUERY, measure
from rex.db import Database
from rex.host_search import host_fields
from rex.models import Host, HostFact, HostParameter


async def test_a_small_generated_inventory_answers_the_benchmark_query(tmp_path):
    inventory = Inventory(500)
    path = tmp_path / "bench.sqlite3"
    load_sqlite(path, inventory)
    assert add_sqlite_indexes(path) == []  # migration 0003 already made them
    url = f"sqlite+aiosqlite:///{path}"
    database = Database(url)
    try:
        async with database.reader() as session:
            counts = [
                await session.scalar(select(func.count()).select_from(model))
                for model in (Host, HostFact, HostParameter)
            ]
    finally:
        await database.dispose()
    assert counts == [500, 500 * 20, 500 * 5]
    for shape in ("in", "exists"):
        _, matches = await measure(url, QUERY, host_fields(shape=shape), runs=1)
        assert matches == inventory.expected_matches() > 0
