"""The client's shared options (`--server`, `--user`, `--output`) and its per-run session.

The options sit on the `rex` group and again on every client command, so both
`rex --output json host list` and `rex host list --output json` work; the one given
last (closest to the command) wins. Their values live in `ctx.meta`, which click shares
between a context and its children.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from rex.client.config import resolve
from rex.client.http import Api
from rex.client.output import Printer

__all__ = ["client_options", "page_options", "session"]

F = TypeVar("F", bound=Callable)
_PREFIX = "rex.client."


def _remember(ctx: click.Context, param: click.Parameter, value: object) -> object:
    if value is not None:
        ctx.meta[_PREFIX + str(param.name)] = value
    return value


def client_options(func: F) -> F:
    """Add --server, --user and --output to a command or group (values go to ctx.meta)."""
    options = [
        click.option("--server", metavar="URL", expose_value=False, callback=_remember,
                     help="rex server URL [env REX_SERVER, profile `server`]."),
        click.option("--user", metavar="LOGIN", expose_value=False, callback=_remember,
                     help="Login [env REX_USER, profile `user`]; password from REX_PASSWORD, "
                          "the profile or a prompt."),
        click.option("--output", type=click.Choice(["table", "json"]), expose_value=False,
                     callback=_remember, help="`table` for people (default), `json` for scripts."),
    ]
    # A decorator stacks bottom-up on a function but appends in order on a built command.
    for option in options if isinstance(func, click.Command) else reversed(options):
        func = option(func)
    return func


def page_options(func: F) -> F:
    """Add --search, --page and --per-page to a list command."""
    func = click.option("--per-page", type=click.IntRange(min=1), help="Rows per page.")(func)
    func = click.option("--page", type=click.IntRange(min=1), help="Page number (from 1).")(func)
    return click.option("--search", metavar="QUERY", help="Search query, e.g. 'name ~ web*'.")(
        func
    )


def session() -> tuple[Api, Printer]:
    """Return the API connection and printer of the running command (made once per run)."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    api = ctx.meta.get(_PREFIX + "api")
    if api is None:
        config = resolve(ctx.meta.get(_PREFIX + "server"), ctx.meta.get(_PREFIX + "user"))
        api = Api(config)
        ctx.meta[_PREFIX + "api"] = api
        root.call_on_close(api.close)
    return api, printer()


def printer() -> Printer:
    """Return the printer for the chosen --output."""
    ctx = click.get_current_context()
    return Printer(ctx.meta.get(_PREFIX + "output", "table"))
