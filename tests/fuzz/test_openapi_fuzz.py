"""Schemathesis against rex's own OpenAPI document: every operation, authenticated, bounded.

Valid and invalid requests alike (schemathesis' positive and negative generation) must never
get a 500, nor an answer the document does not describe. The operations come from the
document the app serves (built here without a server); each is one test. The long run with
its figures is `bench/fuzz.py`; here the schemathesis CLI also runs its coverage phase
(boundary and wrong-typed values for every parameter) and fuzzing, bounded.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from api import create_app
from rex.config import Settings
from tests.apikit import test_settings as rex_test_settings
from tests.dbkit import sqlite_url
from tests.fuzzkit import CHECKS, cli_command, start_thread_server

EXAMPLES = int(os.environ.get("REX_FUZZ_EXAMPLES", "10"))
DOCUMENT = create_app(Settings(database_url="sqlite+aiosqlite://")).openapi()
OPERATIONS = [result.ok() for result in schemathesis.openapi.from_dict(DOCUMENT)
              .get_all_operations()]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    server = start_thread_server(rex_test_settings(folder, sqlite_url(folder)))
    yield server
    server.stop()


def test_the_document_is_the_one_rex_serves(fuzz_server):
    import httpx

    assert httpx.get(f"{fuzz_server.url}/openapi.json").json() == DOCUMENT
    assert len(OPERATIONS) > 60


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_no_request_crashes_rex_or_breaks_its_document(operation, fuzz_server):
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def call(case):
        response = case.call(base_url=fuzz_server.url, headers=fuzz_server.headers, timeout=60)
        case.validate_response(response, checks=CHECKS, headers=fuzz_server.headers)

    call()


def test_the_schemathesis_cli_finds_no_failure(fuzz_server, tmp_path):
    command = cli_command(fuzz_server, examples=EXAMPLES, phases="examples,coverage,fuzzing")
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         check=False)
    assert run.returncode == 0, run.stdout[-8000:]
    assert " 0 generated" not in run.stdout and "Tested: " in run.stdout
