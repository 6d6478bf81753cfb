"""Script integrity: SHA-512 of every stored script body and of every script rex sends.

A template's body gets its digest whenever rex saves it (a mapper event, so every code path
does); a body whose digest no longer matches was changed behind rex's back and is refused at
run time. The wrapper on the host hashes the file it is about to run and refuses a mismatch
(see rex.wrapper).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import event, inspect

from rex.models import JobInvocation, JobTemplate

__all__ = ["digest", "install", "tampered"]


def digest(text: str) -> str:
    """Return the hex SHA-512 of `text` (UTF-8)."""
    return hashlib.sha512(text.encode()).hexdigest()


def tampered(body: str | None, stored_digest: str | None) -> bool:
    """Tell whether a stored body no longer matches the digest rex stored with it."""
    return body is not None and stored_digest is not None and digest(body) != stored_digest


def _template_saved(_mapper, _connection, template: JobTemplate) -> None:
    # Only when rex writes the body: an edit of another field must not bless a body that was
    # changed behind rex's back.
    state = inspect(template)
    if template.template_sha512 is None or state.attrs.template.history.has_changes():
        template.template_sha512 = digest(template.template or "")


def _invocation_saved(_mapper, _connection, job: JobInvocation) -> None:
    if job.script is not None and job.script_sha512 is None:
        job.script_sha512 = digest(job.script)


def install() -> None:
    """Keep the digests of saved bodies up to date (idempotent)."""
    for target, handler in ((JobTemplate, _template_saved), (JobInvocation, _invocation_saved)):
        for name in ("before_insert", "before_update"):
            if not event.contains(target, name, handler):
                event.listen(target, name, handler)


install()
