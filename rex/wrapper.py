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

import hashlib
import io
import secrets
import shlex
import tarfile
import uuid
from dataclasses import dataclass

__all__ = ["METHODS", "RUNTIMES", "RemotePlan", "kill_command", "plan_remote"]

METHODS = ("sudo", "su", "dzdo")
# A job's runtime: the program looked up with `command -v` as the effective user, and how
# it is given the script file.
RUNTIMES = {
    "bash": ("bash", "bash"),
    "sh": ("/bin/sh", "/bin/sh"),
    "python": ("python3", "python3"),
    "pwsh": ("pwsh", "pwsh -NoProfile -File"),
}

# Control events the wrapper reports before the script starts.
EVENT_START = "start"
EVENT_MKDIR = "mkdir"
EVENT_NOEXEC = "noexec"
EVENT_STDIN = "stdin"
EVENT_RUNTIME = "runtime"
EVENT_ENV = "env"
EVENT_NOHASH = "nohash"
EVENT_INTEGRITY = "integrity"

# Every fork+exec on the host costs about a millisecond of its CPU, a twentieth of a whole
# SSH login, so the wrapper runs four programs (tar, sha512sum, the script, rm) and shell
# builtins for the rest. tar creates the 0700 directory and the 0700 script in one go and
# refuses a truncated upload. `sha512sum -c` reads the expected digest from a here-document
# (no command substitution, so no extra fork); only when it fails does the wrapper find out
# why, trying sha512sum, shasum and openssl in turn. The login shell interprets the wrapper
# itself: it must be POSIX (bash, dash, ksh, zsh), as for Foreman's own commands.
_WRAPPER = """D=@DIR@
[ -d @WD@ ] && [ -w @WD@ ] || { echo @M@:mkdir >&2; exit 1; }
tar -x -m -C @WD@ -f - || { rm -rf "$D"; echo @M@:stdin >&2; exit 1; }
[ -f "$D/script" ] || { rm -rf "$D"; echo @M@:stdin >&2; exit 1; }
sha512sum -c --status 2>/dev/null <<'@M@' || {
@SHA@  @CHECKPATH@
@M@
s=$( { sha512sum "$D/script" || shasum -a 512 "$D/script" || openssl dgst -sha512 -r "$D/script"; } 2>/dev/null ) || { @DROP@ echo @M@:nohash >&2; exit 1; }
case $s in "@SHA@ "*|"\\\\@SHA@ "*) ;; *) @DROP@ echo @M@:integrity >&2; exit 1 ;; esac
}
@GRANT@
[ -x "$D/script" ] || { @DROP@ echo @M@:noexec >&2; exit 126; }
@LAUNCH@
p=$!
echo $$ $p > "$D/pid"
wait $p; rc=$?
@END@
exit $rc
"""

_LAUNCH_DIRECT = """@CHECK@@ENV@echo @M@:start >&2
@RUN@ </dev/null &"""

# Before the start line: the runtime's program must be found, else exit 127.
_RUNTIME_CHECK = """command -v @PROG@ >/dev/null 2>&1 || { @DROP@echo @M@:runtime >&2; exit 127; }
"""

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


def _env_reader(names: list[str], marker: str) -> str:
    """Return shell code that asks for the environment on stdin and exports each variable.

    Asking (`<marker>:env` on stderr) comes after tar has read its archive, so nothing else
    can take these lines. Values arrive one a line, escaped for `printf %b`; nothing of them
    is on a command line or on disk.
    """
    code = [f"echo {marker}:{EVENT_ENV} >&2"]
    for name in names:
        code.append(f'IFS= read -r v && {name}=$(printf "%b_" "$v") && {name}=${{{name}%_}} '
                    f"&& export {name} || exit 1")
    return "\n".join(code) + "\n"


def env_payload(environment: tuple[tuple[str, str], ...]) -> bytes:
    """Return the stdin lines `_env_reader` reads: each value escaped for `printf %b`."""
    lines = []
    for _name, value in environment:
        out = []
        for byte in value.encode():
            if 0x20 <= byte < 0x7F and byte != 0x5C:
                out.append(chr(byte))
            else:
                out.append(f"\\0{byte:03o}")
        lines.append("".join(out) + "\n")
    return "".join(lines).encode()


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
    runtime: str | None = None
    env_payload: bytes = b""  # sent when the wrapper asks (`<marker>:env`); holds secrets

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
    kill_as_login: bool = False,
    runtime: str | None = None,
    environment: tuple[tuple[str, str], ...] = (),
) -> RemotePlan:
    """Build the wrapper command, its stdin and the kill command for one run of `script`.

    `kill_as_login`: the login user may signal the effective user's processes (it is root).
    `runtime`: one of RUNTIMES runs the script with that interpreter (shebang ignored).
    `environment`: (name, value) pairs exported in the effective user's shell, sent on stdin.
    """
    marker = f"rex-{secrets.token_hex(12)}"
    name = f"rex-{uuid.uuid4()}"
    directory = f"{working_dir.rstrip('/')}/{name}"
    prompt = f"[{marker}] password: "
    quoted_script = shlex.quote(f"{directory}/script")
    # Without "#!" the kernel refuses to exec the file and the shell runs it itself; naming
    # /bin/sh here does the same at a fraction of the cost (bash re-initialises a child).
    run = quoted_script if script.startswith(b"#!") else f"/bin/sh {quoted_script}"
    check = ""
    if runtime is not None:
        program, command = RUNTIMES[runtime]
        run = f"{command} {quoted_script}"
        check = _fill(_RUNTIME_CHECK, PROG=program, M=marker)
    env = _env_reader([name for name, _ in environment], marker) if environment else ""
    if effective_user is None:
        launch = _fill(_LAUNCH_DIRECT, CHECK=check.replace("@DROP@", 'rm -rf "$D"; ' if cleanup else ""),
                       ENV=env, M=marker, RUN=run)
        grant = ""
    else:
        # The effective user's shell looks the runtime up; the wrapper cleans up after it.
        starter = (check.replace("@DROP@", "") + env
                   + f"echo {marker}:{EVENT_START} >&2; exec {run} </dev/null")
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
        SHA=hashlib.sha512(script).hexdigest(),
        CHECKPATH=f"{directory}/script",
        M=marker,
    )
    return RemotePlan(
        directory=directory,
        marker=marker,
        command=wrapper,
        stdin=_archive(name, script),
        prompt=prompt if effective_user is not None else None,
        kill=kill_command(directory, None if kill_as_login else effective_user, method, prompt),
        effective_user=effective_user,
        method=method,
        runtime=runtime,
        env_payload=env_payload(environment),
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
