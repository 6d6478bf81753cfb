"""The client half of `rex`: hammer-like commands that talk to a rex server over HTTP.

Exit statuses: 0 all hosts succeeded (or nothing about hosts was asked), 1 some host
failed, 2 usage error, 3 API or connection error.
"""

from __future__ import annotations

import click

from rex.client.hosts import host
from rex.client.jobs import job_invocation
from rex.client.options import client_options
from rex.client.templates import job_template

__all__ = ["register"]


def register(main: click.Group) -> None:
    """Add the client commands and the global --server/--user/--output to `main`."""
    client_options(main)
    for group in (host, job_template, job_invocation):
        main.add_command(group)
