"""The SSH engine: runs one rendered script per host over asyncssh, the only asyncssh importer.

Every host ends as a `HostResult`, never an exception; each failure adds exactly one debug
line of a fixed kind (DESIGN.md, Execution). asyncssh's exceptions are translated here,
in `_connect_failure`, most specific first. The remote side is `rex.wrapper`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncssh

from rex.errors import ConfigurationError
from rex.ssh_channel import Exec, Pump
from rex.ssh_types import CancelToken, HostResult, HostTarget, KnownHosts, OutputSink
from rex.wrapper import RemotePlan, plan_remote

__all__ = [
    "CancelToken",
    "ClientIdentity",
    "Engine",
    "HostResult",
    "HostTarget",
    "KnownHosts",
    "OutputSink",
]

log = logging.getLogger("rex.ssh")

# AES-GCM first: asyncssh builds ChaCha20 contexts in Python per packet, AES-GCM is one
# OpenSSL call (AES-NI); both are OpenSSH's default AEAD ciphers. Cuts client CPU a third.
ENCRYPTION_ALGS = ("aes256-gcm@openssh.com", "aes128-gcm@openssh.com",
                   "chacha20-poly1305@openssh.com", "aes256-ctr", "aes192-ctr", "aes128-ctr")
KILL_WAIT = 15.0  # seconds the kill channel may take
EXIT_WAIT = 10.0  # seconds to wait for the main channel after a kill or a failed switch
_OPTIONS_CACHE = 256


class ClientIdentity:
    """rex's own client key, parsed once (and once per other passphrase it is opened with)."""

    def __init__(self, path: Path, passphrase: str | None, key: asyncssh.SSHKey | None) -> None:
        self.path = path
        self._passphrase = passphrase
        self._keys: dict[str | None, asyncssh.SSHKey | None] = {passphrase: key}
        if passphrase is not None and key is not None:
            self._keys[None] = key

    @classmethod
    def load(cls, path: str | Path, passphrase: str | None = None) -> ClientIdentity:
        """Read the key at `path`; an encrypted key without its passphrase loads as locked."""
        path = Path(path).expanduser()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"Cannot read the SSH identity file {path}: {exc}") from exc
        return cls(path, passphrase, _import_key(data, passphrase, path))

    def key_for(self, passphrase: str | None) -> asyncssh.SSHKey | None:
        """Return the key opened with `passphrase` (None: the default one), or None if locked."""
        if passphrase not in self._keys:
            self._keys[passphrase] = _import_key(self.path.read_bytes(), passphrase, self.path)
        return self._keys[passphrase]


def _import_key(data: bytes, passphrase: str | None, path: Path) -> asyncssh.SSHKey | None:
    """Parse a private key; None when it is encrypted and `passphrase` does not open it."""
    try:
        return asyncssh.import_private_key(data, passphrase)
    except asyncssh.KeyEncryptionError as exc:
        if "bcrypt" in str(exc):
            raise ConfigurationError(
                f"{path} is an encrypted OpenSSH key: opening it needs the Python package "
                "bcrypt (asyncssh[bcrypt])"
            ) from exc
        return None  # wrong passphrase
    except asyncssh.KeyImportError as exc:
        if "assphrase" in str(exc):
            return None  # encrypted, no passphrase given
        raise ConfigurationError(f"{path} is not a private SSH key: {exc}") from exc


class Stopped(Exception):
    """A cancel or the execution timeout interrupted a step (`reason`: cancel | timeout)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Failed(Exception):
    """A host fails before its script runs: `kind` and the one debug line."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


@dataclass
class _Outcome:
    status: str
    exit_status: int | None = None
    error_kind: str | None = None


class Engine:
    """Runs scripts on hosts over SSH, at most `concurrency` hosts at a time."""

    def __init__(
        self, identity: ClientIdentity | None, known_hosts: KnownHosts, *, concurrency: int = 100
    ) -> None:
        self.identity = identity
        self.known_hosts = known_hosts
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._options: OrderedDict[tuple, asyncssh.SSHClientConnectionOptions] = OrderedDict()
        self._pins: dict[tuple[str, int], asyncssh.SSHKey] = {}
        self._background: set[asyncio.Task] = set()

    async def run(
        self, target: HostTarget, sink: OutputSink, cancel: CancelToken | None = None
    ) -> HostResult:
        """Run `target.script` on one host and return how it ended; never raises."""
        pump = Pump(sink)
        if not await self._acquire(cancel):
            now = datetime.now(UTC)
            pump.debug(f"Job cancelled by {cancel.by}")
            await pump.flush()
            return HostResult("cancelled", None, "cancel", now, now)
        try:
            started = datetime.now(UTC)
            try:
                outcome = await _HostRun(self, target, pump, cancel).execute()
            except Exception as exc:
                log.exception("engine failed on %s", target.where)
                pump.debug(f"Internal error in rex while running on {target.where}: {exc!r}")
                outcome = _Outcome("error", None, "internal")
            await pump.flush()
            finished = datetime.now(UTC)
        finally:
            self._slots.release()
        return HostResult(outcome.status, outcome.exit_status, outcome.error_kind, started, finished)

    async def _acquire(self, cancel: CancelToken | None) -> bool:
        """Take a concurrency slot; False (and no slot) if the host is cancelled first."""
        if cancel is None:
            await self._slots.acquire()
            return True
        slot = asyncio.ensure_future(self._slots.acquire())
        stop = asyncio.ensure_future(cancel.wait())
        await asyncio.wait({slot, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not slot.done():
            slot.cancel()  # asyncio.Semaphore hands a cancelled waiter's turn on
            return False
        if cancel.is_set:
            self._slots.release()
            return False
        return True

    async def run_many(
        self, items: Iterable[tuple[HostTarget, OutputSink, CancelToken | None]]
    ) -> list[HostResult]:
        """Run many hosts at once (at most `concurrency` at a time); one failing stops none."""
        return list(await asyncio.gather(*(self.run(t, s, c) for t, s, c in items)))

    async def aclose(self, timeout: float = KILL_WAIT) -> None:
        """Wait a little for kills still running after forced cancels, then drop them."""
        if self._background:
            _done, pending = await asyncio.wait(self._background, timeout=timeout)
            for task in pending:
                task.cancel()

    def keep(self, task: asyncio.Task) -> None:
        """Keep a background task alive until it ends."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def options_for(
        self, target: HostTarget, key: asyncssh.SSHKey | None, pinned: bool
    ) -> asyncssh.SSHClientConnectionOptions:
        """Return the one options object for this target's shape (user, secrets, timeouts)."""
        shape = (target.ssh_user, target.password, id(key), pinned,
                 target.connect_timeout, target.keepalive_interval)
        options = self._options.get(shape)
        if options is None:
            options = asyncssh.SSHClientConnectionOptions(
                username=target.ssh_user,
                password=target.password,
                client_keys=[key] if key is not None else [],
                known_hosts=self._trusted if pinned else None,
                agent_path=None,
                config=None,
                x509_trusted_certs=None,
                x509_trusted_cert_paths=[],
                host_based_auth=False,
                gss_auth=False,
                gss_kex=False,
                kbdint_auth=target.password is not None,
                password_auth=target.password is not None,
                public_key_auth=key is not None,
                connect_timeout=target.connect_timeout,
                login_timeout=target.connect_timeout,
                keepalive_interval=target.keepalive_interval,
                encryption_algs=list(ENCRYPTION_ALGS),
                request_pty=False,
                encoding=None,
            )
            self._options[shape] = options
            if len(self._options) > _OPTIONS_CACHE:
                self._options.popitem(last=False)
        self._options.move_to_end(shape)
        return options

    def pin(self, target: HostTarget, key: asyncssh.SSHKey) -> None:
        """Trust only `key` for the target's endpoint on its next connection."""
        self._pins[(target.address, target.port)] = key

    def _trusted(self, host: str, _addr: str, port: int | None) -> tuple[list, list, list]:
        key = self._pins.get((host, port or 22))
        return ([key] if key is not None else [], [], [])


class _HostRun:
    """One host, one attempt: connect, run the wrapper, stop it on cancel or timeout."""

    def __init__(
        self, engine: Engine, target: HostTarget, pump: Pump, cancel: CancelToken | None
    ) -> None:
        self.engine = engine
        self.t = target
        self.pump = pump
        self.cancel = cancel
        self.loop = asyncio.get_running_loop()
        self.deadline = self.loop.time() + target.timeout if target.timeout else None
        self._cancel_wait: asyncio.Future | None = None
        self.handed_off = False  # the connection now belongs to a background kill

    def fail(self, kind: str, message: str) -> _Outcome:
        """Emit the one debug line of a failure and return its outcome."""
        self.pump.debug(message)
        return _Outcome("error", None, kind)

    async def execute(self) -> _Outcome:
        """Run the host to its end."""
        try:
            if self.cancel is not None:
                self._cancel_wait = asyncio.ensure_future(self.cancel.wait())
            return await self._execute()
        except Failed as failed:
            return self.fail(failed.kind, failed.message)
        except Stopped as stop:
            return self.stopped(stop.reason)
        finally:
            if self._cancel_wait is not None:
                self._cancel_wait.cancel()

    def stopped(self, reason: str) -> _Outcome:
        """Record a cancel or timeout that came before the script was started."""
        if reason == "cancel":
            self.pump.debug(f"Job cancelled by {self.cancel.by}")
            return _Outcome("cancelled", None, "cancel")
        return self.fail("timeout", "Timeout for execution passed, trying to stop the job")

    async def _execute(self) -> _Outcome:
        problem = self.t.problem()
        if problem is not None:
            return self.fail(*problem)
        key = self._key()
        pinned = await self._pinned_key()
        options = self.engine.options_for(self.t, key, pinned is not None)
        try:
            conn = await self.guard(asyncssh.connect(self.t.address, self.t.port,
                                                     options=options, config=None))
        except (TimeoutError, OSError, asyncssh.Error, ValueError) as exc:
            return self.fail(*_connect_failure(self.t, exc, pinned))
        try:
            if pinned is None:
                await self._remember(conn)
            return await self._run_script(conn)
        finally:
            if not self.handed_off:
                conn.close()
                await _bounded(conn.wait_closed(), EXIT_WAIT)

    def _key(self) -> asyncssh.SSHKey | None:
        """Return rex's key opened for this host; fail when there is neither key nor password."""
        t, identity = self.t, self.engine.identity
        key = identity.key_for(t.key_passphrase) if identity is not None else None
        if key is not None or t.password is not None:
            return key
        if identity is None:
            reason = "rex has no SSH key and no password was given"
        elif t.key_passphrase is None:
            reason = (f"rex's key {identity.path} is encrypted and no passphrase was given "
                      "(remote_execution_ssh_key_passphrase)")
        else:
            reason = f"rex's key {identity.path} cannot be opened with the given passphrase"
        raise Failed("auth", f"Authentication failed for {t.ssh_user}@{t.where}: {reason}")

    async def _pinned_key(self) -> asyncssh.SSHKey | None:
        """Return the stored host key to insist on, None on first contact (accept-new)."""
        t = self.t
        stored = await self.guard(self.engine.known_hosts.get(t.endpoint))
        if stored is None:
            if t.host_key_policy == "strict":
                raise Failed("host_key", f"Host key for {t.where} is not known and "
                             "remote_execution_host_key_policy is strict: store its key first")
            return None
        pinned = _parse_public_key(stored)
        if pinned is None:
            raise Failed("host_key", f"Host key for {t.where} has changed: the stored key "
                         "cannot be read; forget the stored key and run again")
        self.engine.pin(t, pinned)
        return pinned

    async def _remember(self, conn: asyncssh.SSHClientConnection) -> None:
        key = conn.get_server_host_key()
        if key is not None:
            line = key.export_public_key("openssh").decode().strip()
            await self.engine.known_hosts.remember(self.t.endpoint, line)

    async def guard(self, aw: Awaitable):
        """Await `aw` unless the run is cancelled or its deadline passes first (raise Stopped)."""
        if self._cancel_wait is None and self.deadline is None:
            return await aw
        if self.cancel is not None and self.cancel.is_set:
            _discard(aw)
            raise Stopped("cancel")
        task = asyncio.ensure_future(asyncio.shield(aw) if isinstance(aw, asyncio.Future) else aw)
        waits = {task} if self._cancel_wait is None else {task, self._cancel_wait}
        remaining = None if self.deadline is None else max(self.deadline - self.loop.time(), 0)
        done, _ = await asyncio.wait(waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise Stopped("cancel" if self.cancel is not None and self.cancel.is_set else "timeout")

    async def _run_script(self, conn: asyncssh.SSHClientConnection) -> _Outcome:
        t = self.t
        plan = plan_remote(t.script.encode(), working_dir=t.working_dir,
                           effective_user=t.effective_user, method=t.effective_user_method,
                           cleanup=t.cleanup, kill_as_login=t.ssh_user == "root",
                           runtime=t.runtime, environment=t.environment)
        run = Exec(plan, self.pump, t.effective_user_password, main=True)
        try:
            await self.guard(conn.create_session(lambda: run, plan.command, encoding=None))
            run.send(plan.stdin)
            await self.guard(run.settled)
        except Stopped as stop:
            return await self._stop(conn, run, plan, stop.reason)
        except (asyncssh.Error, OSError) as exc:
            return self.fail("connection", f"Connection to {t.where} was lost: {exc}")
        if run.failure is not None:
            # stdin is closed: the switch tool and the wrapper end and clean up on their own.
            return self.fail(*run.failure)
        return self._ended(run)

    def _ended(self, run: Exec) -> _Outcome:
        t = self.t
        if run.started:
            if run.exit_status is None:
                return self.fail("connection", f"Connection to {t.where} was lost while the "
                                 f"script ran ({run.exit_signal or 'no exit status'})")
            status = "success" if run.exit_status == 0 else "error"
            return _Outcome(status, run.exit_status, None)
        kind, message = run.early_failure(t.working_dir, t.where)
        outcome = self.fail(kind, message)
        # A missing runtime ends the host as a missing command does in a shell.
        return _Outcome("error", 127, kind) if kind == "runtime" else outcome

    async def _stop(self, conn: asyncssh.SSHClientConnection, run: Exec, plan: RemotePlan,
                    reason: str) -> _Outcome:
        """Kill the remote tree (second channel); `force` cancels stop waiting at once."""
        outcome = self.stopped(reason)
        conn_owned = asyncio.ensure_future(self._kill_and_close(conn, run, plan))
        self.engine.keep(conn_owned)
        self.handed_off = True
        waits = {conn_owned}
        if self.cancel is not None:
            waits.add(asyncio.ensure_future(self.cancel.wait_forced()))
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for extra in waits - {conn_owned}:
            extra.cancel()
        return outcome

    async def _kill_and_close(self, conn: asyncssh.SSHClientConnection, run: Exec,
                              plan: RemotePlan) -> None:
        try:
            if not run.opened:
                return
            if not run.started:
                run.close_stdin()
                await _bounded(run.started_or_closed, EXIT_WAIT)
            if run.started and not run.closed.done():
                await _bounded(self._kill(conn, plan), KILL_WAIT)
                await _bounded(run.closed, EXIT_WAIT)
        except (asyncssh.Error, OSError) as exc:
            log.warning("could not stop the script on %s: %s", self.t.where, exc)
        finally:
            conn.close()
            await _bounded(conn.wait_closed(), EXIT_WAIT)

    async def _kill(self, conn: asyncssh.SSHClientConnection, plan: RemotePlan) -> None:
        killer = Exec(plan, None, self.t.effective_user_password, main=False)
        await conn.create_session(lambda: killer, plan.kill, encoding=None)
        if self.t.effective_user_password is None or self.t.effective_user is None:
            killer.close_stdin()
        await killer.closed


def _parse_public_key(line: str) -> asyncssh.SSHKey | None:
    try:
        return asyncssh.import_public_key(line)
    except (asyncssh.KeyImportError, ValueError):
        return None


def _connect_failure(
    t: HostTarget, exc: BaseException, pinned: asyncssh.SSHKey | None
) -> tuple[str, str]:
    """Translate an asyncssh or socket error raised by connect into (kind, debug line)."""
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        if pinned is None:
            return ("host_key", f"Host key for {t.where} is not known: {exc}")
        return ("host_key", (f"Host key for {t.where} has changed (rex stored "
                f"{pinned.get_algorithm()} {pinned.get_fingerprint()}): if the host was "
                "rebuilt, forget its stored key and run again"))
    if isinstance(exc, asyncssh.PermissionDenied):
        return ("auth", f"Authentication failed for {t.ssh_user}@{t.where}")
    if isinstance(exc, asyncio.TimeoutError):
        reason = f"no answer within {t.connect_timeout:g} s"
    elif isinstance(exc, asyncssh.Error):
        reason = exc.reason or type(exc).__name__
    elif isinstance(exc, OSError) and exc.errno:
        reason = os.strerror(exc.errno)  # asyncio's own text only repeats the address
    else:
        reason = str(exc) or type(exc).__name__
    return ("unreachable", f"Could not connect to {t.where}: {reason}")


async def _bounded(aw: Awaitable, timeout: float) -> None:
    """Await `aw` for at most `timeout` seconds (a future is shielded, not cancelled)."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.shield(aw) if isinstance(aw, asyncio.Future) else aw,
                               timeout)


def _discard(aw: Awaitable) -> None:
    if asyncio.iscoroutine(aw):
        aw.close()
