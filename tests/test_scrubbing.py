"""Secrets are masked in stored output even when split across chunks; nothing else is held."""

from __future__ import annotations

import pytest

from rex.outputs import HostSink


class Writer:
    def __init__(self) -> None:
        self.events: list[dict] = []

    def put(self, event: dict) -> None:
        self.events.append(event)

    def text(self, stream: str) -> bytes:
        return b"".join(e["data"] for e in self.events if e["stream"] == stream)


SECRET = "pa55-w0rd"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
async def test_a_secret_split_into_chunks_of_any_size_is_masked(size):
    writer = Writer()
    sink = HostSink(writer, 1, [SECRET, "other-secret"])
    text = f"a {SECRET} b {SECRET}{SECRET} c pa55 d {SECRET[:4]}".encode()
    for i in range(0, len(text), size):
        await sink.emit("stdout", text[i:i + size])
        await sink.emit("stderr", text[i:i + size])
    await sink.finish()
    expected = b"a ***** b ********** c pa55 d pa55"
    assert writer.text("stdout") == expected
    assert writer.text("stderr") == expected
    assert [e["seq"] for e in writer.events] == list(range(len(writer.events)))


async def test_only_a_possible_secret_start_is_held_back():
    writer = Writer()
    sink = HostSink(writer, 1, [SECRET])
    await sink.emit("stdout", b"hello world\n")
    assert writer.text("stdout") == b"hello world\n"  # nothing held: no prefix of the secret
    await sink.emit("stdout", b"then pa5")
    assert writer.text("stdout") == b"hello world\nthen "
    await sink.emit("stdout", b"7\n")
    assert writer.text("stdout") == b"hello world\nthen pa57\n"


async def test_debug_lines_are_masked_too():
    writer = Writer()
    sink = HostSink(writer, 1, [SECRET])
    sink.debug(f"sudo said {SECRET}")
    await sink.emit("debug", f"also {SECRET}".encode())
    assert writer.text("debug") == b"sudo said *****also *****"
