"""The `rex` command: server processes (serve, worker, db upgrade, ssh-key)."""

from __future__ import annotations

import asyncio
import sys

import click

from rex.config import Settings, get_settings
from rex.errors import ConfigurationError

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """rex: run scripts on many hosts over SSH, with Foreman's API."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--no-worker", is_flag=True, help="Serve the API only; run jobs in `rex worker`.")
def serve(host: str, port: int, no_worker: bool) -> None:
    """Start the API (and, unless --no-worker, the scheduler and executor)."""
    import uvicorn

    from api import create_app
    from rex.services import settle_heap, start_background

    settings = get_settings()

    def banner(runtime):
        where = f"http://{host}:{port}"
        click.echo(f"rex is listening on {where} (API: {where}/api, database: {_db_label(settings)})")
        if runtime.generated_admin_password:
            click.echo(
                f"First start: log in as admin with password {runtime.generated_admin_password}"
                " (shown once; set REX_ADMIN_PASSWORD to choose it)"
            )
        else:
            click.echo("Log in as admin (HTTP Basic) with the password set at first start.")
        settle_heap()
        return start_background(runtime, worker=not no_worker)

    app = create_app(settings, background=banner)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    except ConfigurationError as exc:
        _die(str(exc))


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Run pending schema migrations."""
    from rex.migrate import upgrade

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    click.echo(f"database is up to date ({_db_label(settings)})")


@main.command("ssh-key")
def ssh_key() -> None:
    """Print rex's public SSH key, for the hosts' authorized_keys."""
    from rex.identity import ensure_identity, public_key_line

    try:
        click.echo(public_key_line(ensure_identity(get_settings())))
    except ConfigurationError as exc:
        _die(str(exc))


@main.command()
def worker() -> None:
    """Run jobs and schedules from the shared database (scale-out)."""
    from rex.services import run_worker, settle_heap

    settle_heap()
    try:
        asyncio.run(run_worker(get_settings()))
    except ConfigurationError as exc:
        _die(str(exc))


def _db_label(settings: Settings) -> str:
    url = settings.effective_database_url
    if settings.is_sqlite:
        return url.split("///", 1)[-1]
    return url.split("@")[-1]


def _die(message: str) -> None:
    click.echo(f"rex: {message}", err=True)
    sys.exit(2)


from rex.client import register  # the HTTP client: host, job-template, job-invocation

register(main)
