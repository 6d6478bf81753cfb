"""Where the client finds its server and login: options, then env, then the saved profile.

The profile is `~/.config/rex/cli.toml` (`$XDG_CONFIG_HOME` honoured, `REX_CLI_CONFIG`
overrides the path) with top-level keys `server`, `user`, `password` and `verify_tls` (a
boolean or a CA bundle path). A profile that holds a password must be private (mode 0600),
like an SSH key; rex refuses to read it otherwise.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

import click

__all__ = ["ClientConfig", "UsageProblem", "profile_path", "resolve"]

DEFAULT_SERVER = "http://127.0.0.1:8000"
PROFILE_KEYS = {"server", "user", "password", "verify_tls"}


class UsageProblem(click.UsageError):
    """A usage error that is not about one option: printed as one `rex:` line, exit 2."""

    def show(self, file=None) -> None:
        click.echo(f"rex: {self.message}", err=True)


@dataclass(frozen=True)
class ClientConfig:
    """Everything needed to talk to one rex server."""

    server: str
    user: str
    password: str
    verify_tls: bool | str = True


def profile_path() -> Path:
    """Return the path of the saved profile (it may not exist)."""
    if os.environ.get("REX_CLI_CONFIG"):
        return Path(os.environ["REX_CLI_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "rex" / "cli.toml"


def load_profile(path: Path) -> dict:
    """Read the profile at `path`; a missing file is an empty profile."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageProblem(f"cannot read the profile {path}: {exc}") from exc
    unknown = sorted(set(data) - PROFILE_KEYS)
    if unknown:
        raise UsageProblem(
            f"unknown key(s) {', '.join(unknown)} in {path}; "
            f"allowed: {', '.join(sorted(PROFILE_KEYS))}"
        )
    if "password" in data and stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise UsageProblem(
            f"{path} holds a password but others can read it; run: chmod 600 {path}"
        )
    return data


def resolve(server: str | None, user: str | None, *, prompt: bool = True) -> ClientConfig:
    """Combine options, REX_* variables and the profile; prompt for a missing password."""
    path = profile_path()
    profile = load_profile(path)
    server = server or os.environ.get("REX_SERVER") or profile.get("server") or DEFAULT_SERVER
    user = user or os.environ.get("REX_USER") or profile.get("user") or "admin"
    password = os.environ.get("REX_PASSWORD") or profile.get("password")
    if password is None:
        password = _ask_password(user, server, path) if prompt else None
        if password is None:
            raise UsageProblem(f"no password for {user}: set REX_PASSWORD or add it to {path}")
    verify = profile.get("verify_tls", True)
    if not isinstance(verify, bool | str):
        raise UsageProblem(f"verify_tls in {path} must be true, false or a CA bundle path")
    return ClientConfig(server=_normalize(server), user=str(user), password=str(password),
                        verify_tls=verify)


def _ask_password(user: str, server: str, path: Path) -> str | None:
    try:
        return click.prompt(f"Password for {user} at {server}", hide_input=True, err=True)
    except click.Abort:
        return None


def _normalize(server: str) -> str:
    server = str(server).strip().rstrip("/")
    if "://" not in server:
        server = "http://" + server
    return server
