"""Every failure is one `rex:` line on stderr that says what to do, with its exit status.

2 usage error, 3 API or connection error; checked in-process and through the installed
entry point.
"""

from __future__ import annotations

import socket

import pytest


def closed_port() -> int:
    """Return a local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_line(text: str) -> str:
    """Assert `text` is exactly one line; return it without the newline."""
    assert text.count("\n") == 1 and text.endswith("\n"), repr(text)
    return text[:-1]


HINT_404 = "(check the id or name; the `list` commands show them)"
API_ERRORS = [
    pytest.param(("host", "info", "no-such-host"), {},
                 ["not found by id 'no-such-host'", HINT_404], id="unknown host 404"),
    pytest.param(("job-invocation", "info", "999"), {},
                 ["not found by id '999'", HINT_404], id="unknown job 404"),
    pytest.param(("job-invocation", "output", "999", "--host", "x"), {},
                 ["Job invocation not found by id '999'", HINT_404], id="bare 404 of output"),
    pytest.param(("job-invocation", "cancel", "999"), {},
                 ["not found by id '999'", HINT_404], id="cancel unknown job"),
    pytest.param(("host", "list"), {"REX_PASSWORD": "wrong"},
                 [("the server refused user 'admin' (Unable to authenticate user admin): check "
                   "--user and the password in REX_PASSWORD or the profile")],
                 id="bad password 401"),
    pytest.param(("host", "create", "--name", ""), {},
                 ["the server refused the request: Name can't be blank; fix it and try again"],
                 id="validation 422"),
    pytest.param(("job-invocation", "create", "--feature", "run_script", "--search-query",
                  "name = x"), {}, ["the server refused the request: ", "command",
                                    "; fix it and try again"], id="missing input 422"),
    pytest.param(("host", "list", "--search", "name ~ ("), {},
                 ["bad request: Unbalanced parentheses: '(' is never closed (column 8)"],
                 id="bad search 400"),
]


# The installed entry point is run too for one case of each kind (it costs half a second).
THROUGH_ENTRY_POINT = {"unknown host 404", "bad password 401", "validation 422",
                       "missing option", "bad inputs"}


async def both_ways(request, cli, args, env=None) -> list:
    """Run in-process, and through the entry point for the cases in THROUGH_ENTRY_POINT."""
    runs = [await cli.run(*args, env=env)]
    if request.node.callspec.id in THROUGH_ENTRY_POINT:
        runs.append(await cli.sh(*args, env=env))
    return runs


@pytest.mark.parametrize(("args", "env", "fragments"), API_ERRORS)
async def test_api_errors_are_one_line_and_exit_3(request, shared_rex, cli_for, args, env,
                                                  fragments):
    for ran in await both_ways(request, cli_for(shared_rex.url), args, env):
        assert (ran.code, ran.out) == (3, ""), ran
        line = one_line(ran.err)
        assert line.startswith("rex: "), ran
        for fragment in fragments:
            assert fragment in line, ran


async def test_connection_refused_says_to_check_the_server(cli_for):
    url = f"http://127.0.0.1:{closed_port()}"
    cli = cli_for(url)
    expected = (f"rex: cannot connect to {url} (connection refused): is `rex serve` running "
                "there? Check --server or REX_SERVER")
    for ran in (await cli.run("host", "list"), await cli.sh("job-invocation", "list")):
        assert (ran.code, ran.out, one_line(ran.err)) == (3, "", expected), ran


async def test_a_server_that_is_not_rex_is_named(shared_rex, cli_for):
    ran = await cli_for(shared_rex.url).run("host", "list", "--server",
                                            shared_rex.url + "/nothing-here")
    assert ran.code == 3, ran
    assert one_line(ran.err).startswith("rex: ")


USAGE_ERRORS = [
    pytest.param(("job-invocation", "create", "--feature", "run_script"),
                 "Missing option '--search-query'", id="missing option"),
    pytest.param(("job-invocation", "create", "--search-query", "x"),
                 "give either --job-template or --feature", id="no template"),
    pytest.param(("job-invocation", "create", "--feature", "run_script", "--search-query", "x",
                  "--inputs", "command=echo a, b"), "'b' is not key=value", id="bad inputs"),
    pytest.param(("job-invocation", "create", "--feature", "run_script", "--search-query", "x",
                  "--start-at", "next tuesday"), "not an ISO 8601 time", id="bad time"),
    pytest.param(("job-invocation", "create", "--feature", "run_script", "--search-query", "x",
                  "--max-iteration", "3"), "--max-iteration needs --cron-line",
                 id="iterations without cron"),
    pytest.param(("job-invocation", "rerun", "1", "--failed-only", "--succeeded-only"),
                 "exclude each other", id="rerun both ways"),
    pytest.param(("job-invocation", "output", "1", "--follow"), "--follow needs --host",
                 id="follow without host"),
    pytest.param(("job-invocation", "info", "abc"), "'abc' is not a valid integer",
                 id="id not a number"),
    pytest.param(("host", "list", "--output", "yaml"), "'yaml' is not one of", id="bad output"),
    pytest.param(("host", "frobnicate"), "No such command 'frobnicate'", id="no such command"),
]


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS)
async def test_usage_errors_exit_2_before_calling_the_server(request, cli_for, args, message):
    cli = cli_for(f"http://127.0.0.1:{closed_port()}")
    for ran in await both_ways(request, cli, args):
        assert (ran.code, ran.out) == (2, ""), ran
        assert message in ran.err, ran
