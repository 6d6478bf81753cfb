"""rex's own client key: the configured file, or an ed25519 pair generated once."""

from __future__ import annotations

import pytest

from rex.config import Settings
from rex.errors import ConfigurationError
from rex.identity import ensure_identity, public_key_line
from rex.ssh import ClientIdentity


def test_a_missing_key_pair_is_generated_once_with_mode_0600(tmp_path):
    settings = Settings(data_dir=tmp_path)
    path = ensure_identity(settings)
    assert path == tmp_path / "ssh" / "id_ed25519"
    assert path.stat().st_mode & 0o777 == 0o600
    first = path.read_bytes()
    assert ensure_identity(settings) == path
    assert path.read_bytes() == first
    line = public_key_line(path)
    assert line.startswith("ssh-ed25519 AAAA")
    assert ClientIdentity.load(path).key_for(None) is not None


def test_the_public_key_is_derived_when_the_pub_file_is_missing(tmp_path):
    path = ensure_identity(Settings(data_dir=tmp_path))
    line = public_key_line(path)
    path.with_name("id_ed25519.pub").unlink()
    assert public_key_line(path) == " ".join(line.split()[:2])


def test_a_configured_identity_file_is_used_as_is(tmp_path):
    made = ensure_identity(Settings(data_dir=tmp_path / "a"))
    assert ensure_identity(Settings(data_dir=tmp_path / "b", ssh_identity_file=made)) == made
    assert not (tmp_path / "b").exists()


def test_a_configured_identity_file_that_is_missing_is_an_error(tmp_path):
    with pytest.raises(ConfigurationError, match="REX_SSH_IDENTITY_FILE"):
        ensure_identity(Settings(data_dir=tmp_path, ssh_identity_file=tmp_path / "none"))


def test_a_file_that_is_not_a_key_is_an_error(tmp_path):
    bogus = tmp_path / "bogus"
    bogus.write_text("hello\n")
    with pytest.raises(ConfigurationError, match="not a private SSH key"):
        ClientIdentity.load(bogus)
