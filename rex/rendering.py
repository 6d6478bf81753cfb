"""Rendering job templates: Jinja2 in a sandbox, per host, with `input()` and a shell-quote filter."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from rex.errors import RexError, ValidationFailed

__all__ = ["HostContext", "RenderError", "check_syntax", "describe", "render_script"]

_ERB = re.compile(r"<%(=|-|#)?\s*(.*?)\s*-?%>", re.DOTALL)


@dataclass(frozen=True)
class HostContext:
    """What a template may know about its host."""

    name: str
    ip: str | None
    facts: Mapping[str, Any]
    params: Mapping[str, Any]


class RenderError(RexError):
    """A template could not be rendered for a host; the message is shown as a debug line."""

    def __init__(self, reason: str) -> None:
        self.message = f"Failed rendering template: {reason}"
        super().__init__(self.message)


class _Abort(Exception):
    """Raised by `render_error()` inside a template."""


def _render_error(message: str) -> None:
    raise _Abort(message)


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        autoescape=False, keep_trailing_newline=True, undefined=StrictUndefined
    )
    env.filters["shell_quote"] = lambda value: shlex.quote(str(value))
    env.filters["shellescape"] = env.filters["shell_quote"]
    env.globals["render_error"] = _render_error
    return env


_ENV = _environment()


@lru_cache(maxsize=256)
def _compiled(source: str):
    return _ENV.from_string(source)


def check_syntax(source: str) -> None:
    """Refuse ERB tags and Jinja2 syntax errors with a 422 that says how to fix them."""
    erb = _ERB.search(source)
    if erb:
        kind, body = erb.group(1), erb.group(2)
        jinja = "{# " + body + " #}" if kind == "#" else (
            "{{ " + body + " }}" if kind == "=" else "{% " + body + " %}"
        )
        raise ValidationFailed.field(
            "template",
            f"uses ERB tags ({erb.group(0)!r}); rex templates are Jinja2: write {jinja}",
        )
    try:
        _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise ValidationFailed.field(
            "template", f"has a Jinja2 syntax error on line {exc.lineno}: {exc.message}"
        ) from exc


def render_script(
    source: str,
    *,
    inputs: Mapping[str, str | None],
    input_defs: Sequence[Any],
    host: HostContext,
) -> str:
    """Render `source` for one host; any failure is a RenderError naming the reason."""
    defs = {d.name: d for d in input_defs}

    def input_value(name: str) -> Any:
        spec = defs.get(name)
        if spec is None:
            raise _Abort(f"unknown input '{name}'")
        if spec.input_type == "fact":
            if spec.fact_name not in host.facts:
                raise _Abort(f"host {host.name} has no fact '{spec.fact_name}' for input '{name}'")
            return host.facts[spec.fact_name]
        if spec.input_type == "variable":
            if spec.variable_name not in host.params:
                raise _Abort(
                    f"host {host.name} has no parameter '{spec.variable_name}' for input '{name}'"
                )
            return host.params[spec.variable_name]
        value = inputs.get(name)
        return "" if value is None else value

    context = {"input": input_value, "host": host}
    try:
        return _compiled(source).render(context).replace("\r", "")
    except _Abort as exc:
        raise RenderError(str(exc)) from exc
    except SecurityError as exc:
        raise RenderError(f"not allowed in the sandbox: {exc}") from exc
    except TemplateError as exc:
        raise RenderError(str(exc)) from exc
    except Exception as exc:
        raise RenderError(f"{type(exc).__name__}: {exc}") from exc


_PLACEHOLDER = re.compile(r"%\{([^}]*)\}")


def describe(
    fmt: str | None,
    *,
    template_name: str,
    job_category: str,
    inputs: Mapping[str, str | None],
    hidden: set[str],
) -> str:
    """Build a job's description as Foreman does; hidden inputs show as `***`."""
    if not fmt:
        fmt = "%{template_name}" + (" with inputs " if inputs else "") + " ".join(
            f'{name}="%{{{name}}}"' for name in inputs
        )
    values = {"template_name": template_name, "job_category": job_category}

    def value_of(match: re.Match) -> str:
        key = match.group(1)
        if key in hidden:
            return "***"
        if key in inputs:
            return inputs[key] or ""
        return values.get(key, "")

    return _PLACEHOLDER.sub(value_of, fmt)[:255]
