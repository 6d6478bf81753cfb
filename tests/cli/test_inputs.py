"""What people type: hammer's key=value lists, inputs files, times, template inputs."""

from __future__ import annotations

import json

import click
import pytest

from rex.client.inputs import iso_time, key_values, load_inputs
from rex.client.templates import template_input

PARSED = [
    ("command=uptime", {"command": "uptime"}),
    ("a=1,b=2", {"a": "1", "b": "2"}),
    (" a = 1 , b=two words ", {"a": "1", "b": "two words"}),
    ("command='echo a, b'", {"command": "echo a, b"}),
    ('command="echo a, b",x=1', {"command": "echo a, b", "x": "1"}),
    ("command='it\\'s'", {"command": "it's"}),
    ("command=\"say 'hi'\"", {"command": "say 'hi'"}),
    ("url=http://x/?a=b", {"url": "http://x/?a=b"}),
    ("empty=,b=1", {"empty": "", "b": "1"}),
    ("a=1,", {"a": "1"}),
    ("", {}),
]

REFUSED = [
    ("command=echo a, b", "'b' is not key=value"),
    ("justaword", "'justaword' is not key=value"),
    ("=value", "has no key"),
    ("command='echo", "unterminated ' quote"),
    ("command='a' b", "after a quoted value"),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_key_values_reads_hammer_lists(text, expected):
    assert key_values(text) == expected


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_key_values_refuses_what_it_cannot_read(text, message):
    with pytest.raises(click.BadParameter, match=message):
        key_values(text)


def test_inputs_file_is_merged_and_inputs_win(tmp_path):
    path = tmp_path / "inputs.json"
    path.write_text(json.dumps({"command": "from file", "other": "kept"}))
    assert load_inputs("command='from option'", path) == {"command": "from option",
                                                          "other": "kept"}


@pytest.mark.parametrize("content", ["[1, 2]", "not json", '"text"'])
def test_inputs_file_must_be_a_json_object(tmp_path, content):
    path = tmp_path / "inputs.json"
    path.write_text(content)
    with pytest.raises(click.BadParameter):
        load_inputs(None, path)


TIMES = [
    ("2030-03-01T10:00:00+01:00", "2030-03-01T10:00:00+01:00"),
    ("2030-03-01T10:00:00Z", "2030-03-01T10:00:00+00:00"),
    ("2030-03-01 10:00", "2030-03-01T10:00:00+00:00"),
    ("2030-03-01", "2030-03-01T00:00:00+00:00"),
]


@pytest.mark.parametrize(("text", "sent"), TIMES)
def test_times_are_iso_8601_and_utc_without_offset(text, sent):
    assert iso_time(text, "'--start-at'") == sent


def test_a_time_that_is_not_iso_8601_is_a_usage_error():
    with pytest.raises(click.BadParameter, match="not an ISO 8601 time"):
        iso_time("tomorrow at noon", "'--start-at'")


def test_template_input_reads_booleans_and_options():
    assert template_input("name=pkg,required=yes,options='a|b',description='The, package'") == {
        "name": "pkg", "required": True, "options": "a\nb", "description": "The, package",
        "input_type": "user",
    }


@pytest.mark.parametrize(("text", "message"), [
    ("required=true", "has no name"),
    ("name=x,colour=red", "unknown key"),
    ("name=x,required=maybe", "must be true or false"),
])
def test_template_input_refuses_bad_specs(text, message):
    with pytest.raises(click.BadParameter, match=message):
        template_input(text)
