"""Rendering job templates: Jinja2 in a sandbox, per host, with `input()` and a shell-quote filter.

rex templates are Jinja2, not ERB. A template is checked when it is saved (`check_syntax`) and
rendered for each host when that host runs (`render_script`); every failure at run time is one
`RenderError` whose message becomes the host's debug line. `describe` builds a job's
description from a `description_format`, as Foreman does.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Protocol

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from rex.errors import RexError, ValidationFailed

__all__ = [
    "MAX_SCRIPT_BYTES",
    "HostContext",
    "InputDefinition",
    "RenderError",
    "check_syntax",
    "describe",
    "render_script",
]

MAX_SCRIPT_BYTES = 64 * 1024 * 1024
# `'-' * n` and `n ** m` are the two one-liners that eat all memory; everything else the
# sandbox allows is bounded by the template's own size or by MAX_SCRIPT_BYTES.
_MAX_PRODUCT = 16 * 1024 * 1024
_MAX_EXPONENT_BITS = 4096
_ERB_TAG = re.compile(r"<%(?P<kind>=|-|#)?(?P<body>.*?)-?%>", re.DOTALL)
_PLACEHOLDER = re.compile(r"%\{([^}]+)\}")


@dataclass(frozen=True)
class HostContext:
    """What a template may know about its host."""

    name: str
    ip: str | None
    facts: Mapping[str, Any]
    params: Mapping[str, Any]


class InputDefinition(Protocol):
    """The parts of a template input that rendering reads (a `TemplateInput` row fits)."""

    name: str
    input_type: str
    fact_name: str | None
    variable_name: str | None


class RenderError(RexError):
    """A template could not be rendered for a host; the message is shown as a debug line."""

    def __init__(self, reason: str) -> None:
        self.message = f"Failed rendering template: {reason}"
        super().__init__(self.message)


class _Abort(Exception):
    """Raised by `render_error()` and `input()` inside a template."""


class _Sandbox(SandboxedEnvironment):
    """The sandbox, with `*` and `**` refused when the result would be enormous."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """Apply a binary operator after checking its result stays small."""
        if operator == "*" and (_too_long(left, right) or _too_long(right, left)):
            raise SecurityError(f"the result of * would be longer than {_MAX_PRODUCT}")
        if operator == "**" and _too_big_power(left, right):
            raise SecurityError("the result of ** would be too large")
        return super().call_binop(context, operator, left, right)


def _too_long(sequence: Any, count: Any) -> bool:
    if not isinstance(sequence, str | bytes | list | tuple) or not isinstance(count, int):
        return False
    return len(sequence) * count > _MAX_PRODUCT


def _too_big_power(base: Any, exponent: Any) -> bool:
    if not isinstance(base, int) or not isinstance(exponent, int) or abs(base) < 2:
        return False
    return exponent * abs(base).bit_length() > _MAX_EXPONENT_BITS


def _render_error(message: str) -> None:
    raise _Abort(str(message))


def _shell_quote(value: Any) -> str:
    return shlex.quote("" if value is None else str(value))


def _environment() -> SandboxedEnvironment:
    env = _Sandbox(
        autoescape=False,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
        finalize=lambda value: "" if value is None else value,
    )
    env.filters["shell_quote"] = _shell_quote
    env.filters["shellescape"] = _shell_quote
    env.globals["render_error"] = _render_error
    return env


_ENV = _environment()


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """Compile once per distinct source: every host of a job shares one compiled template."""
    return _ENV.from_string(source)


def check_syntax(source: str) -> None:
    """Refuse ERB tags and Jinja2 syntax errors with a 422 that says how to fix them."""
    if "<%" in source:
        raise ValidationFailed.field("template", _erb_problem(source))
    try:
        _compiled(source)
    except TemplateSyntaxError as exc:
        raise ValidationFailed.field(
            "template", f"has a Jinja2 syntax error on line {exc.lineno}: {exc.message}"
        ) from exc
    except RecursionError as exc:  # Jinja2's parser recurses once per nesting level
        raise ValidationFailed.field("template", "nests expressions too deeply") from exc


def _erb_problem(source: str) -> str:
    tags = list(_ERB_TAG.finditer(source))
    code = [t for t in tags if t.group("kind") != "#"]
    tag = (code or tags or [None])[0]
    if tag is None:
        line = source[: source.index("<%")].count("\n") + 1
        return f"has an ERB tag '<%' on line {line}; rex templates are Jinja2 ({{{{ ... }}}})"
    line = source[: tag.start()].count("\n") + 1
    return (
        f"uses ERB tags, but rex templates are Jinja2: write {_as_jinja(tag)} "
        f"instead of {tag.group(0)} (line {line})"
    )


def _as_jinja(tag: re.Match) -> str:
    body = tag.group("body").strip()
    body = re.sub(r"@host\b", "host", body)
    body = re.sub(r"\bhost_param\(\s*(['\"][^'\"]*['\"])\s*\)", r"host.params[\1]", body)
    kind = tag.group("kind")
    if kind == "=":
        return "{{ " + body + " }}"
    if kind == "#":
        return "{# " + body + " #}"
    return "{% " + body + " %}"


def render_script(
    source: str,
    *,
    inputs: Mapping[str, str | None],
    input_defs: Sequence[InputDefinition],
    host: HostContext,
) -> str:
    """Render `source` for one host; any failure is a RenderError naming the reason."""
    facts, params = MappingProxyType(dict(host.facts)), MappingProxyType(dict(host.params))
    defs = {d.name: d for d in input_defs}

    def input_value(name: str) -> Any:
        spec = defs.get(name)
        if spec is None:
            raise _Abort(f"unknown input '{name}'")
        if spec.input_type == "fact":
            if facts.get(spec.fact_name or "") is None:
                raise _Abort(f"host {host.name} has no fact '{spec.fact_name}' for input '{name}'")
            return facts[spec.fact_name or ""]
        if spec.input_type == "variable":
            if (spec.variable_name or "") not in params:
                raise _Abort(
                    f"host {host.name} has no parameter '{spec.variable_name}' for input '{name}'"
                )
            value = params[spec.variable_name or ""]
        else:
            value = inputs.get(name)
        return "" if value is None else value

    context = {
        "input": input_value,
        "host": HostContext(name=host.name, ip=host.ip, facts=facts, params=params),
    }
    return _guarded(lambda: _bounded(_compiled(source).generate(context)))


def _bounded(chunks: Any) -> str:
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_SCRIPT_BYTES:
            raise _Abort(f"the script is longer than {MAX_SCRIPT_BYTES} characters")
        parts.append(chunk)
    return "".join(parts).replace("\r", "")


def describe(
    fmt: str | None,
    *,
    template_name: str,
    job_category: str,
    inputs: Mapping[str, str | None],
    hidden: set[str],
) -> str:
    """Build a job's description as Foreman does: hidden inputs `***`, unknown keys `''`."""
    if not fmt or not fmt.strip():
        fmt = "%{template_name}"
        if inputs:
            fmt += " with inputs " + " ".join(f'{name}="%{{{name}}}"' for name in inputs)
    values = {name: "***" if name in hidden else (value or "") for name, value in inputs.items()}
    values.update(job_category=job_category, template_name=template_name)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), "''"), fmt)[:255]


def _guarded(work: Any) -> Any:
    """Run `work()`; whatever a template raises becomes a RenderError naming the reason."""
    try:
        return work()
    except _Abort as exc:
        raise RenderError(str(exc)) from exc
    except SecurityError as exc:
        raise RenderError(f"not allowed in the sandbox: {exc}") from exc
    except TemplateError as exc:
        raise RenderError(exc.message or type(exc).__name__) from exc
    except Exception as exc:  # a template can raise anything Python can; none may crash a worker
        raise RenderError(f"{type(exc).__name__}: {exc}") from exc


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """Evaluate a sandboxed Jinja2 expression (`steps.check.exit_status == 0`) in `context`."""
    return _guarded(lambda: _ENV.compile_expression(expression, undefined_to_none=False)(**context))


def render_text(source: str, context: Mapping[str, Any]) -> str:
    """Render a small sandboxed template (a playbook step's input) in `context`, once."""
    return _guarded(lambda: _bounded(_ENV.from_string(source).generate(**context)))
