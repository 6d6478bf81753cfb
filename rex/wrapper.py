"""The POSIX-sh wrapper rex sends as the one exec per host, and the command that kills its tree.

Protocol of the main exec (all of it travels in a single SSH session channel):

    command  <wrapper>, interpreted by the login shell
    stdin    a tar stream of rex-<uuid>/script    then, only after a prompt, the password
    stderr   before the script starts: the wrapper's control lines `<marker>:<event>` and
             whatever the effective-user tool prints (its prompt); then `<marker>:start`;
             from there on the script's own stderr, untouched
    stdout   the script's stdout, untouched
    exit     the script's exit status (128+N when a signal ended it)

The marker is random per run, so a script cannot forge a control line. tar refuses a
truncated stream, so a partial upload never runs. The wrapper writes its own pid and the
script's to `<dir>/pid`; `kill_command()` signals the script's
descendants (found by parent pid, as `su -c` starts a new session) and the other members of
its process group, never the wrapper, which records the exit status and cleans up.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import secrets
import shlex
import tarfile
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["METHODS", "Exec", "Pump", "RemotePlan", "plan_remote"]

log = logging.getLogger("rex.ssh")

METHODS = ("sudo", "su", "dzdo")

# Control events the wrapper reports before the script starts.
EVENT_START = "start"
EVENT_MKDIR = "mkdir"
EVENT_NOEXEC = "noexec"
EVENT_STDIN = "stdin"

# Every fork+exec on the host costs about a millisecond of its CPU, a twentieth of a whole
# SSH login, so the wrapper runs three programs (tar, the script, rm) and shell builtins for
# the rest. tar creates the 0700 directory and the 0700 script in one go and refuses a
# truncated upload. The login shell interprets the wrapper itself: it must be POSIX (bash,
# dash, ksh, zsh), as for Foreman's own commands.
_WRAPPER = """D=@DIR@
[ -d @WD@ ] && [ -w @WD@ ] || { echo @M@:mkdir >&2; exit 1; }
tar -x -m -C @WD@ -f - || { rm -rf "$D"; echo @M@:stdin >&2; exit 1; }
[ -f "$D/script" ] || { rm -rf "$D"; echo @M@:stdin >&2; exit 1; }
@GRANT@
[ -x "$D/script" ] || { @DROP@ echo @M@:noexec >&2; exit 126; }
@LAUNCH@
p=$!
echo $$ $p > "$D/pid"
wait $p; rc=$?
@END@
exit $rc
"""

_LAUNCH_DIRECT = """echo @M@:start >&2
@RUN@ </dev/null &"""

_LAUNCH_SWITCH = """exec 3<&0
@SWITCH@ <&3 3<&- &
exec 3<&-"""

# Grant the effective user read+execute on the directory and the script; without ACL
# support fall back to plain mode bits.
_GRANT = """setfacl -m u:@USER@:rx "$D" "$D/script" 2>/dev/null || chmod 755 "$D" "$D/script\""""

_KILL = """D=@DIR@
i=0
while :; do
  { read -r w p < "$D/pid"; } 2>/dev/null && [ -n "$p" ] && break
  [ -d "$D" ] && [ $i -lt 50 ] || exit 0
  sleep 0.1; i=$((i+1))
done
case $w$p in *[!0-9]*) exit 0 ;; esac
@RUN@
"""

# Stops the script $2 started by the wrapper $1: every descendant of $2 and every other
# member of its process group (orphans stay in it) except the wrapper and its ancestors,
# which must live on to record the exit status and clean up. TERM, then KILL after 2 s
# unless all are gone (zombies count as gone: pid 1 may be slow to reap them).
_TREE_KILL = """w=$1 p=$2
t=$(ps -e -o pid= -o ppid= -o pgid= 2>/dev/null | awk -v w="$w" -v r="$p" '
{ pp[$1] = $2; pg[$1] = $3; ids[NR] = $1 }
END {
  for (x = w; x in pp && !(x in keep); x = pp[x]) keep[x] = 1
  k[r] = 1
  do {
    c = 0
    for (i = 1; i <= NR; i++) {
      x = ids[i]
      if (!(x in k) && !(x in keep) && ((pp[x] in k) || pg[x] == pg[r])) { k[x] = 1; c = 1 }
    }
  } while (c)
  for (x in k) printf "%s ", x
}')
[ -n "$t" ] || t=$p
kill -s TERM $t 2>/dev/null
i=0
while [ $i -lt 20 ]; do
  live=$(ps -o pid= -o stat= -p "$(echo $t | tr ' ' ,)" 2>/dev/null | awk '$2 !~ /^Z/')
  [ -n "$live" ] || exit 0
  sleep 0.1; i=$((i+1))
done
kill -s KILL $t 2>/dev/null
exit 0
"""


def _fill(template: str, **values: str) -> str:
    for name, value in values.items():
        template = template.replace(f"@{name}@", value)
    return template


@dataclass(frozen=True)
class RemotePlan:
    """Everything needed to run one script on one host and to stop it again."""

    directory: str
    marker: str
    command: str
    stdin: bytes
    prompt: str | None
    kill: str
    effective_user: str | None
    method: str

    @property
    def start_line(self) -> bytes:
        """Return the stderr line that says the script is now running."""
        return f"{self.marker}:{EVENT_START}\n".encode()


def _switch_prefix(method: str, user: str, prompt: str) -> str:
    """Return the command prefix that runs an argv as `user` (sudo, dzdo) — su is different."""
    if method == "sudo":
        return f"sudo -S -p {shlex.quote(prompt)} -u {shlex.quote(user)} --"
    return f"dzdo -u {shlex.quote(user)}"


def _as_user(method: str, user: str, prompt: str, shell_code: str, args: str = "") -> str:
    """Return a command line that runs `shell_code` (POSIX sh) as `user` through `method`."""
    inner = f"/bin/sh -c {shlex.quote(shell_code)}"
    if method == "su":
        if not args:
            return f"su - {shlex.quote(user)} -c {shlex.quote(inner)}"
        # su takes one command string: build it at run time so "$p" expands on the host.
        return f'K={shlex.quote(inner)}; su - {shlex.quote(user)} -c "$K {args}"'
    return f"{_switch_prefix(method, user, prompt)} {inner} {args}".rstrip()


def plan_remote(
    script: bytes,
    *,
    working_dir: str,
    effective_user: str | None,
    method: str = "sudo",
    cleanup: bool = True,
) -> RemotePlan:
    """Build the wrapper command, its stdin and the kill command for one run of `script`."""
    marker = f"rex-{secrets.token_hex(12)}"
    name = f"rex-{uuid.uuid4()}"
    directory = f"{working_dir.rstrip('/')}/{name}"
    prompt = f"[{marker}] password: "
    quoted_script = shlex.quote(f"{directory}/script")
    # Without "#!" the kernel refuses to exec the file and the shell runs it itself; naming
    # /bin/sh here does the same at a fraction of the cost (bash re-initialises a child).
    run = quoted_script if script.startswith(b"#!") else f"/bin/sh {quoted_script}"
    if effective_user is None:
        launch = _fill(_LAUNCH_DIRECT, M=marker, RUN=run)
        grant = ""
    else:
        starter = f"echo {marker}:{EVENT_START} >&2; exec {run} </dev/null"
        launch = _fill(_LAUNCH_SWITCH, SWITCH=_as_user(method, effective_user, prompt, starter))
        grant = "" if effective_user == "root" else _fill(_GRANT, USER=effective_user)
    wrapper = _fill(
        _WRAPPER,
        LAUNCH=launch,
        GRANT=grant,
        DROP='rm -rf "$D";' if cleanup else "",
        # the exit status file only matters when the directory stays
        END='rm -rf "$D"' if cleanup else 'echo $rc > "$D/exit_status"',
        DIR=shlex.quote(directory),
        WD=shlex.quote(working_dir),
        M=marker,
    )
    return RemotePlan(
        directory=directory,
        marker=marker,
        command=wrapper,
        stdin=_archive(name, script),
        prompt=prompt if effective_user is not None else None,
        kill=kill_command(directory, effective_user, method, prompt),
        effective_user=effective_user,
        method=method,
    )


def _archive(name: str, script: bytes) -> bytes:
    """Return a tar stream of `name/` and `name/script`, both 0700, padded to whole records."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        folder = tarfile.TarInfo(name)
        folder.type, folder.mode = tarfile.DIRTYPE, 0o700
        archive.addfile(folder)
        member = tarfile.TarInfo(f"{name}/script")
        member.mode, member.size = 0o700, len(script)
        archive.addfile(member, io.BytesIO(script))
    return buffer.getvalue()


def kill_command(directory: str, effective_user: str | None, method: str, prompt: str) -> str:
    """Return the command that stops the script tree of the run in `directory`."""
    if effective_user is None:
        run = f"/bin/sh -c {shlex.quote(_TREE_KILL)} rex-kill $w $p"
    else:
        run = _as_user(method, effective_user, prompt, _TREE_KILL, "rex-kill $w $p")
    body = _fill(_KILL, DIR=shlex.quote(directory), RUN=run)
    return f"exec /bin/sh -c {shlex.quote(body)}"


_STDERR = 1  # SSH extended data type of stderr
_PROMPT = re.compile(rb"(?i)(password|passwort|passphrase)[^\n]*:\s*$")
_HIGH_WATER = 4 << 20  # bytes queued for the sink before the channel stops reading
_LOW_WATER = 1 << 20


class Pump:
    """Delivers a host's output chunks to its sink in arrival order, pausing the channel if behind."""

    def __init__(self, sink: Any) -> None:
        self._sink = sink
        self._queue: deque[tuple[str, bytes]] = deque()
        self._queued = 0
        self._task: asyncio.Task | None = None
        self._paused = False
        self.channel: Any = None

    def put(self, stream: str, data: bytes) -> None:
        """Queue one chunk for the sink."""
        if not data:
            return
        self._queue.append((stream, data))
        self._queued += len(data)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._deliver())
        if self._queued > _HIGH_WATER and self.channel is not None and not self._paused:
            self._paused = True
            self.channel.pause_reading()

    def debug(self, message: str) -> None:
        """Queue a debug line."""
        self.put("debug", message.encode())

    async def flush(self) -> None:
        """Return once every queued chunk reached the sink."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _deliver(self) -> None:
        while self._queue:
            stream, data = self._queue.popleft()
            self._queued -= len(data)
            if self._paused and self._queued < _LOW_WATER:
                self._paused = False
                self.channel.resume_reading()
            try:
                await self._sink.emit(stream, data)
            except Exception:
                log.exception("output sink failed; a chunk of %s was lost", stream)


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class Exec:
    """Client side of one exec channel: separates the wrapper's control lines and the
    effective-user prompt from the script's output, and answers the prompt once.

    An asyncssh session by duck typing (`create_session(lambda: exec_, command)`), so
    asyncssh stays imported by `rex.ssh` alone.
    """

    def __init__(self, plan: RemotePlan, pump: Pump | None, password: str | None, *,
                 main: bool) -> None:
        loop = asyncio.get_running_loop()
        self.plan, self.pump, self.password, self.main = plan, pump, password, main
        self.closed = loop.create_future()
        self.settled = loop.create_future()  # closed, or failed before the script started
        self.started_or_closed = loop.create_future()
        self.started = False
        self.failure: tuple[str, str] | None = None
        self.exit_status: int | None = None
        self.exit_signal: str | None = None
        self._pre = bytearray()
        self._prompts = 0
        self._chan: Any = None

    # asyncssh session interface
    def connection_made(self, chan: Any) -> None:
        """Keep the channel."""
        self._chan = chan
        if self.pump is not None:
            self.pump.channel = chan

    def session_started(self) -> None:
        """Nothing to do."""

    def xon_xoff_requested(self, client_can_do: bool) -> None:
        """Nothing to do."""

    def pause_writing(self) -> None:
        """Nothing to do: stdin is small."""

    def resume_writing(self) -> None:
        """Nothing to do: stdin is small."""

    def eof_received(self) -> bool:
        """Let the channel close once the remote side is done."""
        return False

    def exit_status_received(self, status: int) -> None:
        """Record the exit status."""
        self.exit_status = status

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        """Record the signal that ended the remote side."""
        self.exit_signal = signal

    def connection_lost(self, exc: Exception | None) -> None:
        """Mark the channel closed."""
        for future in (self.closed, self.settled, self.started_or_closed):
            _settle(future)

    def data_received(self, data: bytes, datatype: int | None) -> None:
        """Route stdout to the sink; inspect stderr until the script has started."""
        if datatype != _STDERR:
            if self.pump is not None:
                self.pump.put("stdout", data)
        elif self.started:
            self.pump.put("stderr", data)
        else:
            self._pre += data
            at = self._pre.find(self.plan.start_line) if self.main else -1
            if at >= 0:
                self._start(at)
            else:
                self._check_prompt()

    # rex side
    def send(self, data: bytes) -> None:
        """Write to the remote stdin, unless the channel is gone already."""
        with contextlib.suppress(Exception):
            self._chan.write(data)

    def close_stdin(self) -> None:
        """Send EOF on the remote stdin (a waiting sudo then fails instead of hanging)."""
        with contextlib.suppress(Exception):
            self._chan.write_eof()

    def _start(self, at: int) -> None:
        rest = bytes(self._pre[at + len(self.plan.start_line):])
        noise = bytes(self._pre[:at]).strip()
        self._pre.clear()
        self.started = True
        _settle(self.started_or_closed)
        self.close_stdin()
        if noise:
            self.pump.put("stderr", noise + b"\n")
        self.pump.put("stderr", rest)

    def _check_prompt(self) -> None:
        line_start = self._pre.rfind(b"\n") + 1
        tail = bytes(self._pre[line_start:])
        prompt = (self.plan.prompt or "").encode()
        if not ((prompt and tail.endswith(prompt)) or _PROMPT.search(tail)):
            return
        del self._pre[line_start:]
        self._prompts += 1
        user, method = self.plan.effective_user, self.plan.method
        if self.password is None:
            self._fail(f"Effective user password required for {method} to {user}")
        elif self._prompts > 1:
            self._fail(f"Failed to change to effective user {user} with {method}: "
                       "the password was not accepted")
        else:
            self.send(self.password.encode() + b"\n")

    def _fail(self, message: str) -> None:
        if self.failure is None:
            self.failure = ("effective_user", message)
        self.close_stdin()
        _settle(self.settled)

    def early_failure(self, working_dir: str, where: str) -> tuple[str, str]:
        """Explain why the channel closed before the script started: (kind, debug line)."""
        events, detail = set(), []
        for line in bytes(self._pre).decode(errors="replace").splitlines():
            if line.startswith(f"{self.plan.marker}:"):
                events.add(line.split(":", 1)[1])
            elif line.strip():
                detail.append(line.strip())
        text = "; ".join(detail) or f"exit status {self.exit_status}"
        if EVENT_MKDIR in events:
            return ("working_dir", (f"Cannot write to {working_dir}: it is missing or not "
                    "writable; set remote_execution_remote_working_dir"))
        if EVENT_NOEXEC in events:
            return ("working_dir", (f"Cannot execute in {working_dir} (noexec?): "
                    "set remote_execution_remote_working_dir"))
        if EVENT_STDIN in events:
            return ("connection", f"The script did not reach {where} completely: {text}")
        if self.plan.effective_user is not None:
            return ("effective_user", (f"Failed to change to effective user "
                    f"{self.plan.effective_user} with {self.plan.method}: {text}"))
        return ("connection", f"The script could not be started on {where}: {text}")
