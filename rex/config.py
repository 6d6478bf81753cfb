"""Settings: one pydantic-settings class read from `REX_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Every rex setting; precedence elsewhere is job field > host parameter > setting."""

    model_config = SettingsConfigDict(env_prefix="REX_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path.home() / ".local" / "share" / "rex")
    database_url: str | None = None
    admin_password: str | None = None
    secret_key: str | None = None
    ssh_identity_file: Path | None = None
    ssh_identity_passphrase: str | None = None

    ssh_user: str = "root"
    ssh_port: int = 22
    effective_user: str = "root"
    effective_user_method: Literal["sudo", "su", "dzdo"] = "sudo"
    remote_working_dir: str = "/var/tmp"
    cleanup_working_dirs: bool = True
    host_key_policy: Literal["strict", "accept-new"] = "accept-new"
    connect_timeout: float = 15.0
    keepalive_interval: float = 15.0
    worker_concurrency: int = 100
    lease_seconds: float = 30.0
    time_to_pickup: int = 86400
    poll_interval: float = 0.2
    worker_name: str | None = None
    password_hash_memory_kib: int = 65536
    shutdown_grace: float = 10.0
    offline_retry_seconds: float = 60.0  # how often a queued offline host is tried again
    webhook_timeout: float = 10.0  # seconds a receiver may take to answer
    webhook_attempts: int = 8  # deliveries given up after this many failed attempts
    webhook_retry_seconds: float = 5.0  # first retry delay, doubled each time (capped at 1 h)
    jobs_dir: Path | None = None  # job definitions, one JSON file each
    jobs_dir_poll_seconds: float = 2.0  # how often the directory is checked for changes

    @property
    def effective_database_url(self) -> str:
        """Return the configured database URL, or the SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'rex.sqlite3'}"

    @property
    def is_sqlite(self) -> bool:
        """Tell whether rex runs on its embedded SQLite database."""
        return self.effective_database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Build the settings once from the environment."""
    return Settings()
