"""Generate the search benchmark inventory in PostgreSQL and SQLite.

100,000 hosts (by default), each with 20 facts and 5 parameters: 50% have the fact
`osfamily = Debian`, 20% are named `web*`, 10% have the parameter `env = prod`; the three
are drawn independently, so the benchmark query matches about 9% of the hosts. The schema
comes from rex's migrations; then the indexes the search needs (bench/README.md) are added
where the migrated schema lacks them, unless `--without-search-indexes`. `--indexes-only`
adds them to an existing load.

    .venv/bin/python -m bench.gen_hosts [--hosts N] [--pg URL] [--sqlite PATH] [--only pg|sqlite]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from rex.migrate import upgrade

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/rex_bench"
SQLITE_PATH = Path(tempfile.gettempdir()) / "rex_bench.sqlite3"
SEED = 20250618
EPOCH = datetime(2025, 6, 18, tzinfo=UTC)

HOST_COLUMNS = (
    "id", "name", "ip", "comment", "operatingsystem_name", "hostgroup_name", "domain_name",
    "organization_name", "location_name", "created_at", "updated_at",
)  # fmt: skip
KV_COLUMNS = ("id", "host_id", "name", "value")
PARAM_COLUMNS = ("id", "host_id", "name", "value", "created_at", "updated_at")

PREFIXES = ("db", "app", "mail", "cache", "proxy", "build", "mon", "ldap")
OS_BY_FAMILY = {"Debian": ("Debian", "Ubuntu"), "RedHat": ("RedHat", "CentOS", "Rocky")}
OTHER_FAMILIES = ("RedHat", "Suse", "Archlinux")
ENVS = ("staging", "dev", "test", "qa")


class Inventory:
    """Deterministic rows: which hosts are web, Debian and prod is drawn once, independently."""

    def __init__(self, hosts: int) -> None:
        self.hosts = hosts
        rng = random.Random(SEED)
        everyone = range(1, hosts + 1)
        self.web = set(rng.sample(everyone, hosts // 5))
        self.debian = set(rng.sample(everyone, hosts // 2))
        self.prod = set(rng.sample(everyone, hosts // 10))

    def host_rows(self) -> Iterator[tuple]:
        """Yield one row per host, in HOST_COLUMNS order."""
        rng = random.Random(SEED + 1)
        for i in range(1, self.hosts + 1):
            prefix = "web" if i in self.web else rng.choice(PREFIXES)
            family = "Debian" if i in self.debian else rng.choice(OTHER_FAMILIES)
            created = EPOCH - timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
            yield (
                i, f"{prefix}-{i:06d}.dc{i % 7}.example.com", _ip(i),
                rng.choice((None, "", f"rack {i % 40}", "do not reboot")),
                rng.choice(OS_BY_FAMILY.get(family, (family,))), f"{prefix}/{family.lower()}",
                f"dc{i % 7}.example.com", rng.choice(("ACME", "Initech")),
                rng.choice(("Europe/London", "Europe/Paris", "US/Boston")), created, created,
            )  # fmt: skip

    def fact_rows(self) -> Iterator[tuple]:
        """Yield 20 facts per host, in KV_COLUMNS order."""
        rng = random.Random(SEED + 2)
        row_id = 0
        for i in range(1, self.hosts + 1):
            family = "Debian" if i in self.debian else rng.choice(OTHER_FAMILIES)
            facts = {
                "osfamily": family,
                "architecture": rng.choice(("x86_64", "aarch64")),
                "kernelrelease": f"{rng.choice((5, 6))}.{rng.randrange(20)}.0-{rng.randrange(99)}",
                "processorcount": str(rng.choice((1, 2, 4, 8, 16, 32, 64))),
                "memorysize_mb": str(rng.choice((1024, 2048, 4096, 8192, 16384, 65536))),
                "os::release::major": str(rng.choice((8, 9, 11, 12, 20, 22))),
                "virtual": rng.choice(("kvm", "vmware", "physical")),
                "is_virtual": rng.choice(("true", "false")),
                "ipaddress": _ip(i),
                "macaddress": ":".join(f"{rng.randrange(256):02x}" for _ in range(6)),
                "fqdn": f"host-{i:06d}.example.com",
                "hostname": f"host-{i:06d}",
                "domain": f"dc{i % 7}.example.com",
                "timezone": rng.choice(("UTC", "CET", "EST")),
                "selinux": rng.choice(("true", "false")),
                "serialnumber": f"SN{rng.randrange(10**10):010d}",
                "uptime_days": str(rng.randrange(1000)),
                "boardmanufacturer": rng.choice(("Dell Inc.", "HPE", "Lenovo", "QEMU")),
                "puppetversion": rng.choice(("7.28.0", "8.4.0")),
                "rubyversion": rng.choice(("2.7.8", "3.2.2")),
            }
            for name, value in facts.items():
                row_id += 1
                yield row_id, i, name, value

    def param_rows(self) -> Iterator[tuple]:
        """Yield 5 parameters per host, in PARAM_COLUMNS order."""
        rng = random.Random(SEED + 3)
        row_id = 0
        for i in range(1, self.hosts + 1):
            params = {
                "env": "prod" if i in self.prod else rng.choice(ENVS),
                "tier": str(rng.randrange(1, 4)),
                "remote_execution_ssh_user": rng.choice(("root", "deploy")),
                "owner_team": rng.choice(("platform", "payments", "search", "data")),
                "backup": rng.choice(("true", "false")),
            }
            for name, value in params.items():
                row_id += 1
                yield row_id, i, name, value, EPOCH, EPOCH

    def expected_matches(self) -> int:
        """Count the hosts the benchmark query must return."""
        return len((self.web & self.debian) - self.prod)


def _ip(i: int) -> str:
    return f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"


def load_postgres(url: str, inventory: Inventory) -> None:
    """Recreate the bench database's schema through the migrations and COPY the rows in."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    server, _, dbname = dsn.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            admin.execute(f'CREATE DATABASE "{dbname}"')
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    upgrade(url)
    with psycopg.connect(dsn) as conn:
        _copy(conn, "hosts", HOST_COLUMNS, inventory.host_rows())
        _copy(conn, "host_facts", KV_COLUMNS, inventory.fact_rows())
        _copy(conn, "host_parameters", PARAM_COLUMNS, inventory.param_rows())
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _copy(conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows) -> None:
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# The indexes the search benchmark needs beyond migration 0001 (see bench/README.md): covering
# (name, value, host_id) so facts/params subqueries are index-only, and (PostgreSQL) trigrams
# so `name ~ web*` (ILIKE) avoids reading every host.
COVERING = {"host_facts": "ix_host_facts_name_value_host_id",
            "host_parameters": "ix_host_parameters_name_value_host_id"}  # fmt: skip
TRIGRAM = "ix_hosts_name_trgm"


def add_postgres_indexes(url: str) -> list[str]:
    """Add the search indexes the PostgreSQL schema lacks; return what was added."""
    added = []
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.autocommit = True
        for table, index in COVERING.items():
            defs = conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", (table,))
            if not any("(name, value, host_id)" in d for (d,) in defs):
                conn.execute(f"CREATE INDEX {index} ON {table} (name, value, host_id)")
                conn.execute(f"VACUUM ANALYZE {table}")
                added.append(index)
        if not conn.execute("SELECT 1 FROM pg_indexes WHERE indexdef LIKE %s",
                            ("%hosts USING gin (name gin_trgm_ops)%",)).fetchone():  # fmt: skip
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            conn.execute(f"CREATE INDEX {TRIGRAM} ON hosts USING gin (name gin_trgm_ops)")
            conn.execute("ANALYZE hosts")
            added.append(TRIGRAM)
    return added


def add_sqlite_indexes(path: Path) -> list[str]:
    """Add the covering search indexes the SQLite schema lacks; return what was added."""
    added = []
    conn = sqlite3.connect(path)
    for table, index in COVERING.items():
        indexes = [row[1] for row in conn.execute(f"PRAGMA index_list({table})")]
        columns = [[c[2] for c in conn.execute(f"PRAGMA index_info({i})")] for i in indexes]
        if ["name", "value", "host_id"] not in columns:
            conn.execute(f"CREATE INDEX {index} ON {table} (name, value, host_id)")
            added.append(index)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return added


def load_sqlite(path: Path, inventory: Inventory) -> None:
    """Recreate the SQLite file through the migrations and insert the rows in big batches."""
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    upgrade(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        _insert(conn, "hosts", HOST_COLUMNS, _sqlite_times(inventory.host_rows()))
        _insert(conn, "host_facts", KV_COLUMNS, inventory.fact_rows())
        _insert(conn, "host_parameters", PARAM_COLUMNS, _sqlite_times(inventory.param_rows()))
    conn.execute("ANALYZE")
    conn.close()


def _sqlite_times(rows: Iterator[tuple]) -> Iterator[tuple]:
    """Store timestamps as rex's UTCDateTime does on SQLite: naive UTC text."""
    for row in rows:
        yield tuple(
            v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            if isinstance(v, datetime)
            else v
            for v in row
        )


def _insert(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], rows) -> None:
    marks = ", ".join("?" for _ in columns)
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def main(argv: list[str] | None = None) -> None:
    """Generate the inventory in the databases asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100_000)
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL URL (database made if missing)")
    parser.add_argument("--sqlite", type=Path, default=SQLITE_PATH)
    parser.add_argument("--only", choices=("pg", "sqlite"))
    parser.add_argument("--without-search-indexes", action="store_true")
    parser.add_argument("--indexes-only", action="store_true", help="keep the rows, add indexes")
    args = parser.parse_args(argv)
    if not args.indexes_only:
        inventory = Inventory(args.hosts)
        print(f"{args.hosts} hosts; the benchmark query must match {inventory.expected_matches()}")
    if args.only != "sqlite":
        started = time.perf_counter()
        if not args.indexes_only:
            load_postgres(args.pg, inventory)
        if not args.without_search_indexes:
            print(f"PostgreSQL indexes added: {add_postgres_indexes(args.pg) or 'none'}")
        print(f"PostgreSQL {args.pg}: ready in {time.perf_counter() - started:.1f} s")
    if args.only != "pg":
        started = time.perf_counter()
        if not args.indexes_only:
            load_sqlite(args.sqlite, inventory)
        if not args.without_search_indexes:
            print(f"SQLite indexes added: {add_sqlite_indexes(args.sqlite) or 'none'}")
        print(f"SQLite {args.sqlite}: ready in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
