#!/usr/bin/env python3
"""Benchmark rex's SSH engine against bare asyncssh (and the peer tools) on the sshd fleet.

    bench/engine.py compare [--sizes 50,200,500] [--runs 3] [--peers openssh,pssh,fabric,ansible]
                            [--sinks sqlite,postgres] [--variants client-only,upload-cleanup,no-check]
    bench/engine.py hosts [--cmd true] [--concurrency 100] [--sink MODULE:FACTORY] [--pinned]
                          [--working-dir /var/tmp] [--keep] [--variant full]

`hosts` runs rex's Engine once over every host in $FLEET/hosts.txt (wrapper and cleanup
included) and prints "RESULT ok=X failed=Y", the contract of ../shared/bench/measure.py.
`compare` starts its own fleet (../shared/bench/fleet.sh with FLEET=/tmp/rex-engine-fleet and
BASE_PORT=23000 unless set; `hosts` reads the same FLEET) for each size and measures bare
asyncssh, rex and the peers in the same run, one run of each tool in turn, then prints wall
time, client CPU, peak RSS and the ratio to bare asyncssh as a markdown table.

The sink is pluggable: `--sink MODULE:FACTORY` names an async function returning an object
with `sink(index) -> OutputSink` and `async aclose()` (the executor's database-writing sinks
plug in here); the default only counts bytes.

`--variant` takes parts of the wrapper away to show what each costs on the hosts (bench only;
rex always runs `full`): `client-only` sends no file and runs `true` after the start line
(rex's client side alone), `upload-cleanup` only unpacks the file and removes it again (tar,
rm), `no-check` is the whole wrapper without the on-host SHA-512 check.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = Path(os.environ.get("REX_BENCH_SHARED", ROOT.parent / "shared" / "bench"))
# A private fleet by default: ../shared/bench/fleet.sh restarts whatever fleet lives in its
# directory, and colleagues benchmark on /tmp/fleet at the same time.
# setdefault: sink modules loaded later (bench.db_sinks) read the same FLEET.
FLEET = Path(os.environ.setdefault("FLEET", "/tmp/rex-engine-fleet"))
BASE_PORT = os.environ.setdefault("BASE_PORT", "23000")
VARIANTS = ("full", "client-only", "upload-cleanup", "no-check")
PEER_VENV = Path(os.environ.get("VENV", "/tmp/bench-venv"))
OUT = Path(os.environ.get("REX_BENCH_OUT", "/tmp/rex-bench"))


class CountingSinks:
    """Default sinks: count bytes per stream, keep nothing."""

    def __init__(self) -> None:
        self.bytes: dict[str, int] = {}

    def sink(self, index: int) -> CountingSinks:
        """Return the sink of host `index` (one shared counter is enough here)."""
        return self

    async def emit(self, stream: str, data: bytes) -> None:
        """Count one chunk."""
        self.bytes[stream] = self.bytes.get(stream, 0) + len(data)

    async def aclose(self) -> None:
        """Nothing to release."""


async def counting_sinks() -> CountingSinks:
    """Build the default sink provider."""
    return CountingSinks()


class FleetKnownHosts:
    """Known host keys in memory, optionally preloaded from the fleet's host key files."""

    def __init__(self, preload: bool) -> None:
        self.keys: dict[str, str] = {}
        for pub in FLEET.glob("hosts/*/ssh_host_ed25519_key.pub") if preload else ():
            self.keys[f"[127.0.0.1]:{pub.parent.name}"] = " ".join(pub.read_text().split()[:2])

    async def get(self, endpoint: str) -> str | None:
        """Return the stored key."""
        return self.keys.get(endpoint)

    async def remember(self, endpoint: str, public_key: str) -> None:
        """Store the first key seen."""
        self.keys.setdefault(endpoint, public_key)


def load_factory(spec: str):
    """Import `MODULE:FACTORY`."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _variant(name: str):
    """Return a plan_remote that builds the `name` variant of rex's wrapper (see --variant)."""
    import dataclasses

    from rex import wrapper

    def plan(script: bytes, **kwargs):
        full = wrapper.plan_remote(script, **kwargs)
        start = f"echo {full.marker}:start >&2"
        if name == "client-only":
            return dataclasses.replace(full, command=f"{start}; true", stdin=b"")
        if name == "upload-cleanup":
            folder = full.directory.rsplit("/", 1)[0]
            return dataclasses.replace(
                full, command=f"tar -x -m -C {folder} -f - && {start}; rm -rf {full.directory}")
        lines = full.command.split("\n")  # no-check: drop `sha512sum -c ... || { ... }`
        first = next(i for i, line in enumerate(lines) if line.startswith("sha512sum -c"))
        last = next(i for i in range(first, len(lines)) if lines[i] == "}")
        return dataclasses.replace(full, command="\n".join(lines[:first] + lines[last + 1:]))

    return plan


async def run_hosts(args: argparse.Namespace) -> bool:
    """Run the engine once over the whole fleet; print the RESULT line."""
    from rex import ssh
    from rex.ssh import ClientIdentity, Engine, HostTarget

    if args.variant != "full":
        ssh.plan_remote = _variant(args.variant)

    hosts = [line.split() for line in (FLEET / "hosts.txt").read_text().splitlines() if line]
    identity = ClientIdentity.load(FLEET / "client_ed25519")
    engine = Engine(identity, FleetKnownHosts(args.pinned), concurrency=args.concurrency)
    provider = await load_factory(args.sink)()
    gc.collect()  # what rex.services.settle_heap does once `rex serve` or `rex worker` started
    gc.freeze()  # (imported from here, it would load the whole of rex into the sinkless runs)
    targets = [
        HostTarget(address=h, port=int(p), ssh_user=u, script=args.cmd, effective_user=None,
                   working_dir=args.working_dir, cleanup=not args.keep, connect_timeout=60.0)
        for h, p, u in hosts
    ]
    results = await engine.run_many((t, provider.sink(i), None) for i, t in enumerate(targets))
    await provider.aclose()
    ok = sum(r.status == "success" for r in results)
    kinds = [r.error_kind or f"exit {r.exit_status}" for r in results if r.status != "success"]
    if kinds:
        print(f"failures: {sorted(set(kinds))}", file=sys.stderr)
    print(f"RESULT ok={ok} failed={len(results) - ok}", flush=True)
    return ok == len(results)


def tools(concurrency: int, peers: list[str], sinks: list[str],
          variants: list[str] = ()) -> dict[str, list[str]]:
    """Return the command of every tool to measure, by label."""
    py = sys.executable
    rex = [py, str(HERE / "engine.py"), "hosts", "--concurrency", str(concurrency)]
    commands = {
        "asyncssh": [py, str(SHARED / "tools" / "asyncssh_raw.py"), "true", str(concurrency)],
        "rex": rex,
    }
    for name in sinks:  # e.g. sqlite, postgres from bench.db_sinks
        commands[f"rex+{name}"] = [*rex, "--sink", f"bench.db_sinks:{name}"]
    for name in variants:
        commands[f"rex {name}"] = [*rex, "--variant", name]
    peer_commands = {
        "openssh": ["bash", str(SHARED / "tools" / "openssh.sh"), "true", str(concurrency)],
        "pssh": [str(PEER_VENV / "bin" / "python"), str(SHARED / "tools" / "pssh_run.py"),
                 "true", str(concurrency)],
        "fabric": [str(PEER_VENV / "bin" / "python"), str(SHARED / "tools" / "fabric_run.py"),
                   "true"],
        "ansible": ["bash", str(SHARED / "tools" / "ansible.sh"), "true", str(concurrency)],
    }
    for name in peers:
        commands[name] = peer_commands[name]
    return commands


def fleet(*args: str) -> None:
    """Run ../shared/bench/fleet.sh on rex's own fleet directory and ports."""
    subprocess.run(["bash", str(SHARED / "fleet.sh"), *args], env=fleet_env(), check=True,
                   capture_output=True)


def fleet_env() -> dict[str, str]:
    """Return the environment every fleet tool runs with."""
    return {**os.environ, "FLEET": str(FLEET), "BASE_PORT": BASE_PORT, "VENV": str(PEER_VENV)}


def measure(label: str, command: list[str]) -> dict:
    """Measure one run of `command` with the shared measure.py; return its JSON record."""
    OUT.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, str(SHARED / "measure.py"), "--label", label, "--runs", "1",
         "--warmup", "0", "--out", str(OUT / "raw.jsonl"), "--logdir", str(OUT / "logs"),
         "--", *command],
        capture_output=True, text=True, check=True, env=fleet_env(),
    )
    return json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("{")))


def compare(args: argparse.Namespace) -> None:
    """Start the fleet per size, measure every tool in turn, print the table."""
    peers = [p for p in args.peers.split(",") if p]
    sinks = [s for s in args.sinks.split(",") if s]
    variants = [v for v in args.variants.split(",") if v]
    rows = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            fleet("start", str(size))
            records: dict[str, list[dict]] = {}
            for round_ in range(-args.warmup, args.runs):
                for label, command in tools(args.concurrency, peers, sinks, variants).items():
                    if label.startswith("rex+"):  # the database is made before the timing
                        subprocess.run([sys.executable, "-m", "bench.db_sinks", "prepare",
                                        label.removeprefix("rex+")], cwd=ROOT, env=fleet_env(),
                                       check=True, capture_output=True)
                    record = measure(label, command)
                    print(json.dumps(record), file=sys.stderr, flush=True)
                    if round_ >= 0:
                        records.setdefault(label, []).append(record)
            rows.extend(summarise(size, records))
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            fleet("stop")
    print_table(rows)


def summarise(size: int, records: dict[str, list[dict]]) -> list[dict]:
    """Reduce the runs of every tool at one size to medians and the ratio to asyncssh."""
    def median(label: str, key) -> float:
        return statistics.median(key(r) for r in records[label])

    base = median("asyncssh", lambda r: r["wall"])
    return [
        {
            "n": size, "tool": label,
            "wall": median(label, lambda r: r["wall"]),
            "cpu": median(label, lambda r: r["user"] + r["sys"]),
            "rss_mb": median(label, lambda r: r["maxrss_kb"]) / 1024,
            "sshd_cpu": median(label, lambda r: r["sshd_cpu_s"]),
            "failed": max(r["failed"] or 0 for r in records[label]),
            "ratio": median(label, lambda r: r["wall"]) / base,
        }
        for label in records
    ]


def print_table(rows: list[dict]) -> None:
    """Print the results as a markdown table."""
    print("| N | tool | wall s | client CPU s | peak RSS MB | sshd CPU s | failed | vs asyncssh |")
    print("|--:|---|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r['n']} | {r['tool']} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['rss_mb']:.0f} "
              f"| {r['sshd_cpu']:.2f} | {r['failed']} | {r['ratio']:.2f}x |")


def main() -> None:
    """Parse the command line and run `hosts` or `compare`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    hosts = sub.add_parser("hosts", help="run the engine once over the fleet")
    hosts.add_argument("--cmd", default="true")
    hosts.add_argument("--concurrency", type=int, default=100)
    hosts.add_argument("--sink", default="__main__:counting_sinks")
    hosts.add_argument("--pinned", action="store_true", help="preload the fleet's host keys")
    hosts.add_argument("--working-dir", default="/var/tmp")
    hosts.add_argument("--keep", action="store_true", help="leave the working dirs (no cleanup)")
    hosts.add_argument("--variant", default="full", choices=VARIANTS,
                       help="take parts of the wrapper away (bench only)")
    both = sub.add_parser("compare", help="measure asyncssh, rex and peers on fleet sizes")
    both.add_argument("--sizes", default="50,200,500")
    both.add_argument("--runs", type=int, default=3)
    both.add_argument("--warmup", type=int, default=1)
    both.add_argument("--concurrency", type=int, default=100)
    both.add_argument("--peers", default="", help="comma list of openssh,pssh,fabric,ansible")
    both.add_argument("--sinks", default="", help="comma list of bench.db_sinks factories "
                      "(sqlite,postgres) to run rex with as well")
    both.add_argument("--variants", default="", help="comma list of wrapper variants "
                      f"({','.join(VARIANTS[1:])}) to run rex with as well")
    args = parser.parse_args()
    if args.command == "compare":
        compare(args)
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sys.path.insert(0, str(ROOT))
    sys.exit(0 if asyncio.run(run_hosts(args)) else 1)


if __name__ == "__main__":
    main()
