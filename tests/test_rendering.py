"""Rendering job templates: Jinja2 in a sandbox, input(), host, quoting, errors, descriptions."""

from dataclasses import dataclass

import pytest

from rex.errors import ValidationFailed
from rex.rendering import HostContext, RenderError, check_syntax, describe, render_script


@dataclass
class Input:
    name: str
    input_type: str = "user"
    fact_name: str | None = None
    variable_name: str | None = None


DEFS = [
    Input("command"),
    Input("package"),
    Input("os", "fact", fact_name="os::family"),
    Input("missing_fact", "fact", fact_name="nope"),
    Input("port", "variable", variable_name="app_port"),
    Input("empty_param", "variable", variable_name="blank"),
    Input("missing_param", "variable", variable_name="nope"),
]
HOST = HostContext(
    name="web1.example.com",
    ip="10.0.0.5",
    facts={"os::family": "Debian", "cpus": "4"},
    params={"app_port": "8080", "blank": None, "quoted": "it's"},
)
INPUTS = {"command": "uptime", "package": None}


def render(source: str, inputs=INPUTS, host=HOST) -> str:
    return render_script(source, inputs=inputs, input_defs=DEFS, host=host)


@pytest.mark.parametrize(
    "source, expected",
    [
        ('{{ input("command") }}', "uptime"),
        ("{{ input('package') }}", ""),
        ("{{ input('os') }}", "Debian"),
        ("{{ input('port') }}", "8080"),
        ("{{ input('empty_param') }}", ""),
        ("{{ host.name }} {{ host.ip }}", "web1.example.com 10.0.0.5"),
        ("{{ host.facts['cpus'] }} {{ host.params.app_port }}", "4 8080"),
        ("{{ host.params.quoted | shell_quote }}", "'it'\"'\"'s'"),
        ("{{ 'a b; rm -rf /' | shellescape }}", "'a b; rm -rf /'"),
        ("{{ host.params.blank | shell_quote }}", "''"),
        ("{% for k in host.facts | sort %}{{ k }},{% endfor %}", "cpus,os::family,"),
        ("line1\r\nline2\r\n", "line1\nline2\n"),
        ("{{ input('command') }}\n", "uptime\n"),
        ("{{ 2 ** 10 }} {{ '-' * 3 }}", "1024 ---"),
    ],
)
def test_template_renders_inputs_host_and_filters(source, expected):
    assert render(source) == expected


@pytest.mark.parametrize(
    "source, words",
    [
        ("{{ input('nosuch') }}", "unknown input 'nosuch'"),
        ("{{ input('missing_fact') }}", "no fact 'nope' for input 'missing_fact'"),
        ("{{ input('missing_param') }}", "no parameter 'nope' for input 'missing_param'"),
        ("{{ render_error('disk too small') }}", "disk too small"),
        ("{{ undefined_name }}", "'undefined_name' is undefined"),
        ("{{ ''.__class__.__mro__ }}", "not allowed in the sandbox"),
        ("{{ host.__class__.__init__.__globals__ }}", "not allowed in the sandbox"),
        ("{{ input.__globals__ }}", "not allowed in the sandbox"),
        ("{{ host.facts.update({'x': 1}) }}", "has no attribute 'update'"),
        ("{{ 'x' * 100000000 }}", "not allowed in the sandbox"),
        ("{{ 7 ** 999999 }}", "not allowed in the sandbox"),
        ("{% for i in range(10**9) %}{% endfor %}", "Range too big"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{% include 'other' %}", "no loader"),
        ("{{ x }", "unexpected '}'"),
    ],
)
def test_render_failures_are_one_render_error_naming_the_reason(source, words):
    with pytest.raises(RenderError) as caught:
        render(source)
    assert caught.value.message.startswith("Failed rendering template: ")
    assert words in caught.value.message


def test_host_mappings_are_not_changed_by_a_template():
    facts = {"a": "1"}
    host = HostContext(name="h", ip=None, facts=facts, params={})
    with pytest.raises(RenderError):
        render("{{ host.facts.clear() }}", host=host)
    assert facts == {"a": "1"}


@pytest.mark.parametrize(
    "source, shown",
    [
        ('echo <%= input("command") %>', 'write {{ input("command") }} instead of <%= input("command") %> (line 1)'),
        ("#!/bin/sh\n<% if true -%>\nx\n<% end %>", "write {% if true %} instead of <% if true -%> (line 2)"),
        ("<%# name: X %>\n<%= @host.name %>", "write {{ host.name }} instead of <%= @host.name %> (line 2)"),
        ("<%= host_param('port') %>", "write {{ host.params['port'] }}"),
        ("echo ok\necho <% broken", "ERB tag '<%' on line 2"),
    ],
)
def test_erb_is_refused_with_the_jinja_form(source, shown):
    with pytest.raises(ValidationFailed) as caught:
        check_syntax(source)
    assert list(caught.value.errors) == ["template"]
    assert shown in caught.value.message


@pytest.mark.parametrize(
    "source, line, words",
    [
        ("echo\n{% if x %}\nno end\n", 2, "Unexpected end of template"),
        ("ok\n{{ x }\n", 2, "unexpected '}'"),
        ("a\nb\n{% for %}", 3, "Expected"),
        ("{{ x | no_such_filter }}", 1, "No filter named 'no_such_filter'"),
    ],
)
def test_syntax_errors_are_422_with_the_line(source, line, words):
    with pytest.raises(ValidationFailed) as caught:
        check_syntax(source)
    assert caught.value.errors["template"][0].startswith(f"has a Jinja2 syntax error on line {line}")
    assert words in caught.value.message


@pytest.mark.parametrize(
    "source",
    ['{{ input("command") }}', "{% raw %}{{ x }}{% endraw %}", "echo 100%", "", "{# c #}"],
)
def test_good_templates_pass_the_check(source):
    check_syntax(source)


@pytest.mark.parametrize(
    "fmt, inputs, hidden, expected",
    [
        ("Run %{command}", {"command": "ls -l"}, set(), "Run ls -l"),
        (None, {"a": "1", "b": "2"}, set(), 'T with inputs a="1" b="2"'),
        ("", {}, set(), "T"),
        (None, {"token": "s3cret"}, {"token"}, 'T with inputs token="***"'),
        ("%{job_category}: %{template_name}", {}, set(), "Commands: T"),
        ("%{template_name}", {"template_name": "mine"}, set(), "T"),
        ("x=%{nope} y=%{empty}", {"empty": None}, set(), "x='' y="),
        ("100%{ } %{", {}, set(), "100'' %{"),
        ("%{long}", {"long": "x" * 300}, set(), "x" * 255),
    ],
)
def test_description_follows_foreman(fmt, inputs, hidden, expected):
    got = describe(fmt, template_name="T", job_category="Commands", inputs=inputs, hidden=hidden)
    assert got == expected
