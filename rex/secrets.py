"""Encryption of secrets at rest (Fernet) and masking wherever they are shown."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from rex.config import Settings
from rex.errors import ConfigurationError

__all__ = ["MASK", "Vault", "load_vault"]

MASK = "*****"
PREFIX = "fernet:"


class Vault:
    """Encrypts and decrypts secret strings with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, value: str | None) -> str | None:
        """Return the stored form of `value` (None stays None)."""
        if value is None:
            return None
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, stored: str | None) -> str | None:
        """Return the clear value of a stored secret (None stays None)."""
        if stored is None:
            return None
        if not stored.startswith(PREFIX):
            raise ConfigurationError("a stored secret is not encrypted")
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError(
                "cannot decrypt a stored secret: REX_SECRET_KEY differs from the key used to store it"
            ) from exc


def load_vault(settings: Settings) -> Vault:
    """Build the vault from REX_SECRET_KEY, or from a key file in the data dir (SQLite only)."""
    if settings.secret_key:
        try:
            return Vault(settings.secret_key.encode())
        except ValueError as exc:
            raise ConfigurationError(
                "REX_SECRET_KEY must be a Fernet key (32 url-safe base64-encoded bytes)"
            ) from exc
    if not settings.is_sqlite:
        raise ConfigurationError(
            "REX_SECRET_KEY must be set when rex runs on PostgreSQL: every process must "
            "decrypt the same secrets (generate one with `rex secret-key`)"
        )
    return Vault(_key_file(settings.data_dir / "secret.key"))


def _key_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key
