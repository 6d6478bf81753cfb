"""Small helpers of the SSH engine tests: wait for output, check processes on the host."""

from __future__ import annotations

import asyncio
from pathlib import Path


async def wait_for_output(sink, needle: bytes, timeout: float = 10.0) -> None:
    """Wait until `needle` shows up on the sink's stdout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while needle not in sink.text("stdout"):
        assert loop.time() < deadline, f"no {needle!r} in output: {sink.events}"
        await asyncio.sleep(0.02)


def process_alive(pid: int) -> bool:
    """Tell whether `pid` runs on this host (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def process_owner(pid: int) -> int:
    """Return the real uid of `pid`."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


async def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    """Wait until `pid` is gone; return whether it went."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while process_alive(pid):
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True
