"""Real OpenSSH hosts for tests: one `sshd -D` per host on 127.0.0.1, users, sudo, su, dzdo.

Use it from any test directory by importing the fixtures into that directory's conftest.py:

    from tests.sshd import sshd_host_fixture, sshd_rig_fixture  # noqa: F401

(or, once for the whole suite, `pytest_plugins = ("tests.sshd",)` in tests/conftest.py)

    @pytest.mark.sshd
    async def test_something(sshd_rig, sshd_host):
        host = sshd_rig.start_host()          # a fresh sshd with its own host key
        ...  # connect to host.address:host.port as LOGIN with sshd_rig.client_key

Users (created when missing, passwords reset on every start):

    LOGIN      key or password login; sudo NOPASSWD to any user; dzdo (shim) likewise
    SUDOER     key login; sudo and dzdo ask for SUDOER's own password, every time
    EFFECTIVE  the user scripts switch to; `su - EFFECTIVE` asks for its password

Keys: `client_key` (authorized), `encrypted_key` (authorized, passphrase KEY_PASSPHRASE),
`stranger_key` (not authorized). The rig installs `openssh-server sudo acl` through apt
when they are missing. Locally it skips when it cannot run (not root, no apt); under
CI=true it fails instead. It stops only the sshd processes it started, and removes
/etc/sudoers.d/rex-tests and the dzdo shim when the last test session using them ends.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dbkit import require

LOGIN = "rexlogin"
SUDOER = "rexsudo"
EFFECTIVE = "rexeff"
PASSWORDS = {LOGIN: "login-Pw-4711", SUDOER: "sudo-Pw-4712", EFFECTIVE: "eff-Pw-4713"}
KEY_PASSPHRASE = "rex key passphrase"

SSHD = "/usr/sbin/sshd"
SUDOERS = Path("/etc/sudoers.d/rex-tests")
DZDO = Path("/usr/local/bin/dzdo")
USERS_DIR = Path("/run/rex-tests-rig")  # one file per live test session using the rig
_MARK = "# rex test rig (tests/sshd.py)"

_SUDOERS_TEXT = f"""{_MARK}: removed when the last test session using it ends
Defaults:{LOGIN} !lecture
Defaults:{SUDOER} !lecture, timestamp_timeout=0
{LOGIN} ALL=(ALL) NOPASSWD: ALL
{SUDOER} ALL=(ALL) ALL
"""

_DZDO_TEXT = f"""#!/bin/sh
{_MARK}: Debian has no dzdo; act like `dzdo -u USER command...` through sudo.
exec sudo -S -p '[dzdo] Password: ' "$@"
"""

_SSHD_CONFIG = """ListenAddress 127.0.0.1
Port {port}
HostKey {dir}/ssh_host_ed25519_key
PidFile {dir}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
AllowUsers {users}
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
MaxStartups 200:30:400
PrintMotd no
PrintLastLog no
X11Forwarding no
LogLevel INFO
{extra}
"""


@dataclass
class SshdHost:
    """One running sshd: where it listens and its own host key."""

    address: str
    port: int
    directory: Path
    process: subprocess.Popen | None = None

    @property
    def public_key_line(self) -> str:
        """Return the host key as an OpenSSH public key line (for a known-hosts store)."""
        fields = (self.directory / "ssh_host_ed25519_key.pub").read_text().split()
        return " ".join(fields[:2])

    @property
    def endpoint(self) -> str:
        """Return the known-hosts key `[address]:port`."""
        return f"[{self.address}]:{self.port}"

    @property
    def log(self) -> str:
        """Return what sshd wrote to its log so far."""
        return (self.directory / "sshd.log").read_text(errors="replace")


class SshdRig:
    """Starts and stops real sshd hosts on 127.0.0.1 and prepares users, sudo and keys."""

    _shared: SshdRig | None = None

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="rex-sshd-"))
        self.root.chmod(0o755)
        self.client_key = self.root / "client_ed25519"
        self.encrypted_key = self.root / "client_encrypted"
        self.stranger_key = self.root / "stranger_ed25519"
        self.hosts: list[SshdHost] = []
        self._marker = USERS_DIR / str(os.getpid())

    @classmethod
    def shared(cls) -> SshdRig:
        """Return the one rig of this test process, prepared on first use (skip/fail if not)."""
        if cls._shared is None:
            require(os.geteuid() == 0, "the sshd rig needs root (users, sudoers, sshd)")
            rig = cls()
            rig.prepare()
            cls._shared = rig
        return cls._shared

    def prepare(self) -> None:
        """Install what is missing, create users, sudoers, the dzdo shim and client keys."""
        _install_packages()
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        for user, password in PASSWORDS.items():
            _ensure_user(user, password)
        USERS_DIR.mkdir(mode=0o755, exist_ok=True)
        self._marker.write_text(str(self.root))
        _write_sudoers()
        if not DZDO.exists() or _MARK in DZDO.read_text(errors="replace"):
            DZDO.write_text(_DZDO_TEXT)
            DZDO.chmod(0o755)
        _keygen(self.client_key)
        _keygen(self.encrypted_key, KEY_PASSPHRASE)
        _keygen(self.stranger_key)
        authorized = self.root / "authorized_keys"
        authorized.write_text(
            Path(f"{self.client_key}.pub").read_text() + Path(f"{self.encrypted_key}.pub").read_text()
        )
        authorized.chmod(0o644)

    def start_host(self, *, port: int | None = None, extra_config: str = "") -> SshdHost:
        """Start one more sshd (own host key, own free port unless `port` is given)."""
        for _attempt in range(5):
            chosen = port or _free_port()
            directory = self.root / f"host-{chosen}"
            directory.mkdir(exist_ok=True)
            host = SshdHost("127.0.0.1", chosen, directory)
            if self._launch(host, extra_config):
                self.hosts.append(host)
                return host
            if port is not None:
                break
        raise RuntimeError(f"sshd did not start; its log:\n{host.log}")

    def restart_host(self, host: SshdHost, *, new_host_key: bool = True) -> SshdHost:
        """Restart `host` on the same port, with a newly generated host key by default."""
        self.stop_host(host)
        if new_host_key:
            for name in ("ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"):
                (host.directory / name).unlink(missing_ok=True)
        if not self._launch(host, ""):
            raise RuntimeError(f"sshd did not restart; its log:\n{host.log}")
        self.hosts.append(host)
        return host

    def stop_host(self, host: SshdHost) -> None:
        """Stop the sshd of `host` (only a process this rig started)."""
        if host.process is not None and host.process.poll() is None:
            host.process.terminate()
            try:
                host.process.wait(5)
            except subprocess.TimeoutExpired:
                host.process.kill()
                host.process.wait(5)
        host.process = None
        if host in self.hosts:
            self.hosts.remove(host)

    def workdir(self, name: str = "work") -> Path:
        """Return a directory every test user may create working directories in."""
        path = self.root / name
        path.mkdir(exist_ok=True)
        path.chmod(0o1777)
        return path

    @contextlib.contextmanager
    def noexec_dir(self) -> Iterator[Path]:
        """Mount a small tmpfs with `noexec` (world-writable) for the block, then unmount it."""
        path = Path(tempfile.mkdtemp(prefix="noexec-", dir=self.root))
        subprocess.run(["mount", "-t", "tmpfs", "-o", "noexec,nosuid,size=1m,mode=1777",
                        "rex-noexec", str(path)], check=True)
        try:
            yield path
        finally:
            subprocess.run(["umount", "-l", str(path)], check=False)
            path.rmdir()

    def close(self) -> None:
        """Stop every sshd this rig started; drop shared system files if no one else uses them."""
        for host in list(self.hosts):
            self.stop_host(host)
        self._marker.unlink(missing_ok=True)
        if not _other_sessions():
            SUDOERS.unlink(missing_ok=True)
            if DZDO.exists() and _MARK in DZDO.read_text(errors="replace"):
                DZDO.unlink()
        shutil.rmtree(self.root, ignore_errors=True)

    def _launch(self, host: SshdHost, extra_config: str) -> bool:
        key = host.directory / "ssh_host_ed25519_key"
        if not key.exists():
            _keygen(key)
        config = host.directory / "sshd_config"
        config.write_text(_SSHD_CONFIG.format(
            port=host.port, dir=host.directory, root=self.root, extra=extra_config,
            users=f"{LOGIN} {SUDOER}",
        ))
        log = (host.directory / "sshd.log").open("ab")
        host.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                                        stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        if _wait_banner(host):
            return True
        self.stop_host(host)
        return False


@pytest.fixture(scope="session", name="sshd_rig")
def sshd_rig_fixture() -> Iterator[SshdRig]:
    """The process-wide sshd rig (users, sudo, keys); closed at the end of the session."""
    rig = SshdRig.shared()
    yield rig
    if SshdRig._shared is rig:
        SshdRig._shared = None
        rig.close()


@pytest.fixture(scope="session", name="sshd_host")
def sshd_host_fixture(sshd_rig: SshdRig) -> SshdHost:
    """One sshd host shared by the whole session (start your own to restart or break it)."""
    return sshd_rig.start_host()


def _install_packages() -> None:
    missing = [pkg for pkg, path in (("openssh-server", SSHD), ("sudo", "/usr/bin/sudo"),
                                     ("acl", "/usr/bin/setfacl")) if not Path(path).exists()]
    if not missing:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    ok = subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True,
                        check=False).returncode == 0
    ok = ok and subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                                *missing], env=env, capture_output=True, check=False).returncode == 0
    require(ok and Path(SSHD).exists(), f"could not install {' '.join(missing)} with apt-get")


def _ensure_user(user: str, password: str) -> None:
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", user], check=True)
    subprocess.run(["chpasswd"], input=f"{user}:{password}\n", text=True, check=True)


def _write_sudoers() -> None:
    staged = SUDOERS.with_name(".rex-tests.new")
    staged.write_text(_SUDOERS_TEXT)
    staged.chmod(0o440)
    subprocess.run(["visudo", "-cqf", str(staged)], check=True)
    staged.replace(SUDOERS)


def _other_sessions() -> bool:
    """Tell whether another live test process still uses the rig's system files."""
    for marker in USERS_DIR.glob("*") if USERS_DIR.exists() else ():
        if marker.name.isdigit() and Path(f"/proc/{marker.name}").exists():
            return True
        marker.unlink(missing_ok=True)
    return False


def _keygen(path: Path, passphrase: str = "") -> None:
    if not path.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C",
                        path.name, "-f", str(path)], check=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_banner(host: SshdHost, timeout: float = 10.0) -> bool:
    """Wait until sshd answers with its banner; False if it died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.process.poll() is not None:
            return False
        try:
            with socket.create_connection((host.address, host.port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False
