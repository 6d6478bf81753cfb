"""Benchmark host search: resolve the issue's query on the generated inventory.

Prints, per database, the median time to resolve the query the way job targeting does (ids
and names ordered by name, through rex's async engine) next to the match count. Run
`bench/gen_hosts.py` first. `--compare-shapes` also times facts/params terms as correlated
EXISTS and a query that puts them under OR.

    .venv/bin/python -m bench.search [--runs N] [--explain] [--compare-shapes] [--query Q]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from sqlalchemy import select

from bench.gen_hosts import PG_URL, SQLITE_PATH
from rex.db import Database
from rex.host_search import host_fields
from rex.models import Host
from search import FieldRegistry, compile_query

QUERY = "facts.osfamily = Debian and name ~ web* and not params.env = prod"
OR_QUERY = "facts.osfamily = Debian or params.env = prod"


def _statement(query: str, registry: FieldRegistry):
    where = compile_query(query, registry)
    return select(Host.id, Host.name).where(where).order_by(Host.name, Host.id)


async def measure(url: str, query: str, registry: FieldRegistry, runs: int) -> tuple[float, int]:
    """Return the median seconds to resolve `query` over `runs` runs, and the match count."""
    database = Database(url)
    timings: list[float] = []
    count = 0
    try:
        for run in range(runs + 2):  # two warm-up runs fill caches and the statement cache
            started = time.perf_counter()
            async with database.reader() as session:
                rows = (await session.execute(_statement(query, registry))).all()
            if run >= 2:
                timings.append(time.perf_counter() - started)
            count = len(rows)
    finally:
        await database.dispose()
    return statistics.median(timings), count


async def explain(url: str, query: str, registry: FieldRegistry) -> str:
    """Return the plan for `query`: EXPLAIN ANALYZE on PostgreSQL, QUERY PLAN on SQLite."""
    database = Database(url)
    try:
        compiled = _statement(query, registry).compile(dialect=database.engine.dialect)
        params = compiled.params
        if compiled.positiontup is not None:
            params = tuple(params[name] for name in compiled.positiontup)
        prefix = "EXPLAIN QUERY PLAN" if database.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS)"
        async with database.engine.connect() as conn:
            rows = (await conn.exec_driver_sql(f"{prefix} {compiled}", params)).all()
        return "\n".join("    " + " ".join(str(c) for c in row) for row in rows)
    finally:
        await database.dispose()


async def main_async(args: argparse.Namespace) -> None:
    """Measure on each database and print one line per query and shape."""
    targets = [("PostgreSQL", args.pg), ("SQLite", f"sqlite+aiosqlite:///{args.sqlite}")]
    cases = [(args.query, "in")]
    if args.compare_shapes:
        cases += [(args.query, "exists"), (OR_QUERY, "in"), (OR_QUERY, "exists")]
    for query, shape in cases:
        registry = host_fields(shape=shape)  # type: ignore[arg-type]
        print(f"query: {query}   (facts/params as {shape.upper()} subqueries)")
        for label, url in targets:
            median, count = await measure(url, query, registry, args.runs)
            print(
                f"  {label:<10} median {median * 1000:7.1f} ms   {count} hosts   ({args.runs} runs)"
            )
            if args.explain:
                print(await explain(url, query, registry))


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--pg", default=PG_URL)
    parser.add_argument("--sqlite", default=str(SQLITE_PATH))
    parser.add_argument("--query", default=QUERY)
    parser.add_argument("--explain", action="store_true", help="print the query plans too")
    parser.add_argument("--compare-shapes", action="store_true", help="IN vs EXISTS, and OR")
    asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
