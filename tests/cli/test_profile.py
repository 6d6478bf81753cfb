"""Where the login comes from: options > REX_* variables > the profile; a prompt last."""

from __future__ import annotations

import pytest

from tests.apikit import ADMIN_PASSWORD

NO_ENV = {"REX_SERVER": None, "REX_USER": None, "REX_PASSWORD": None}


@pytest.fixture
def cli(shared_rex, cli_for):
    """Run `rex` against the module's server, with an empty profile folder per test."""
    return cli_for(shared_rex.url)


def write_profile(cli, text: str, mode: int = 0o600) -> None:
    path = cli.home / "cli.toml"
    path.write_text(text)
    path.chmod(mode)


async def test_a_private_profile_is_enough_to_log_in(cli):
    write_profile(cli, f'server = "{cli.url}"\nuser = "admin"\npassword = "{ADMIN_PASSWORD}"\n'
                       "verify_tls = true\n")
    ran = await cli.run("host", "list", env=NO_ENV)
    assert ran.code == 0, ran


async def test_environment_beats_the_profile(cli):
    write_profile(cli, 'server = "http://127.0.0.1:1"\nuser = "nobody"\npassword = "x"\n')
    ran = await cli.run("host", "list")
    assert ran.code == 0, ran


async def test_a_profile_others_can_read_may_not_hold_a_password(cli):
    write_profile(cli, f'server = "{cli.url}"\npassword = "{ADMIN_PASSWORD}"\n', mode=0o644)
    ran = await cli.run("host", "list", env=NO_ENV)
    path = cli.home / "cli.toml"
    assert (ran.code, ran.err) == (
        2, f"rex: {path} holds a password but others can read it; run: chmod 600 {path}\n"
    ), ran


async def test_a_missing_password_is_prompted_for(cli):
    write_profile(cli, f'server = "{cli.url}"\nuser = "admin"\n', mode=0o644)
    ran = await cli.run("host", "list", env=NO_ENV, input=ADMIN_PASSWORD + "\n")
    assert ran.code == 0, ran
    assert f"Password for admin at {cli.url}" in ran.err


async def test_no_password_and_nothing_to_prompt_from_is_a_usage_error(cli):
    ran = await cli.run("host", "list", env={**NO_ENV, "REX_SERVER": cli.url})
    assert ran.code == 2, ran
    assert ran.err.endswith(
        f"rex: no password for admin: set REX_PASSWORD or add it to {cli.home / 'cli.toml'}\n")


@pytest.mark.parametrize(("text", "message"), [
    ('colour = "red"\n', "unknown key(s) colour"),
    ("server = \n", "cannot read the profile"),
    ("verify_tls = 3\n", "verify_tls in"),
])
async def test_a_broken_profile_is_a_usage_error(cli, text, message):
    write_profile(cli, text)
    ran = await cli.run("host", "list")
    assert ran.code == 2, ran
    assert message in ran.err and ran.err.count("\n") == 1, ran


async def test_a_ca_bundle_that_cannot_be_read_is_an_api_error(cli):
    write_profile(cli, f'server = "{cli.url}"\nverify_tls = "{cli.home}/missing.pem"\n')
    ran = await cli.run("host", "list")
    assert ran.code == 3, ran
    assert ran.err.startswith(f"rex: cannot load the CA bundle {cli.home}/missing.pem"), ran
