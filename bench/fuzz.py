"""Fuzz rex with schemathesis for longer than the suite does, and print the figures.

    .venv/bin/python -m bench.fuzz                      # 200 examples per operation, SQLite
    .venv/bin/python -m bench.fuzz --examples 1000 --database postgres --checks all

It starts rex (tests/fuzzkit.py: a thread, a Bearer token) on a fresh database and runs the
schemathesis CLI against `/openapi.json` with every phase (examples, coverage, fuzzing,
stateful). `--checks core` (default) is what the suite asserts: no 500 and every answer as
the document describes it; `--checks all` adds schemathesis' opinions (e.g. that a request
the schema allows must succeed), reported but not defects by themselves.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.apikit import test_settings
from tests.dbkit import postgres_url, sqlite_url
from tests.fuzzkit import cli_command, start_thread_server

PHASES = "examples,coverage,fuzzing,stateful"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200, help="max examples per operation")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--checks", choices=("core", "all"), default="core")
    parser.add_argument("--phases", default=PHASES)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-time", type=int, default=None, help="seconds for the whole run")
    return parser.parse_args()


def _figures(output: str) -> dict[str, str]:
    """Pick the summary figures out of the CLI's closing report."""
    patterns = {
        "operations": r"Tested:\s+(\d+)",
        "test cases": r"(\d+) generated",
        "failures": r"found (\d+) unique failures",
        "duration": r"in ([\d.]+s) =",
    }
    found = {key: (re.search(p, output) or [None, "0"])[1] for key, p in patterns.items()}
    found["failing checks"] = "; ".join(re.findall(r"❌ (ST\d+ [^:\n]+: \d+)", output)) or "none"
    return found


def main() -> int:
    """Run the long fuzz and print its figures; exit 1 when a core check failed."""
    args = _arguments()
    folder = Path(tempfile.mkdtemp(prefix="rex-fuzz-"))
    url = postgres_url() if args.database == "postgres" else sqlite_url(folder)
    server = start_thread_server(test_settings(folder, url))
    report = folder / "events.ndjson"
    started = time.monotonic()
    try:
        command = cli_command(server, examples=args.examples, phases=args.phases,
                              checks=args.checks, seed=args.seed, report=report)
        if args.max_time:
            command += ["--max-time", str(args.max_time)]
        run = subprocess.run(command, cwd=folder, check=False,
                             capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    finally:
        server.stop()
    elapsed = time.monotonic() - started
    print(run.stdout[-6000:])
    figures = _figures(run.stdout)
    events = sum(1 for _ in report.open()) if report.exists() else 0
    print(json.dumps({"database": args.database, "examples per operation": args.examples,
                      "phases": args.phases, "checks": args.checks, **figures,
                      "wall time": f"{elapsed:.0f}s", "report events": events}, indent=2))
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
