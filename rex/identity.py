"""rex's own SSH client key: the configured file, or an ed25519 pair made once in the data dir."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rex.config import Settings
from rex.errors import ConfigurationError

__all__ = ["ensure_identity", "public_key_line"]


def ensure_identity(settings: Settings) -> Path:
    """Return the private key file rex logs in with, generating the default pair if missing."""
    if settings.ssh_identity_file is not None:
        path = Path(settings.ssh_identity_file).expanduser()
        if not path.is_file():
            raise ConfigurationError(
                f"REX_SSH_IDENTITY_FILE is {path}, but there is no file there"
            )
        return path
    path = Path(settings.data_dir).expanduser() / "ssh" / "id_ed25519"
    if not path.exists():
        _generate(path)
    return path


def public_key_line(path: str | Path, passphrase: str | None = None) -> str:
    """Return the OpenSSH public key line of the key at `path` (its `.pub` file if present)."""
    path = Path(path)
    pub = path.with_name(path.name + ".pub")
    if pub.is_file():
        return pub.read_text().strip()
    try:
        key = serialization.load_ssh_private_key(
            path.read_bytes(), passphrase.encode() if passphrase else None
        )
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"Cannot read the public key of {path}: {exc}") from exc
    line = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return line.decode()


def _generate(path: Path) -> None:
    """Write a new ed25519 pair: the private key mode 0600, created exclusively."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another rex process made it first
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
    comment = f" rex@{socket.gethostname()}"
    path.with_name(path.name + ".pub").write_text(public.decode() + comment + "\n")
