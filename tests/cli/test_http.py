"""The one seam to the server: each answer the API can give becomes one line that says what to do."""

from __future__ import annotations

import httpx
import pytest

from rex.client.config import ClientConfig
from rex.client.http import Api, ApiFailure

CASES = [
    pytest.param(403, {"error": {"message": "Access denied", "details": "Missing one of the "
                                 "required permissions: cancel_job_invocations"}},
                 "Access denied (Missing one of the required permissions: cancel_job_invocations"
                 "): ask a rex administrator for that permission", id="403"),
    pytest.param(404, {"error": "Could not rerun job 12 because its template could not be "
                                "found"},
                 "Could not rerun job 12 because its template could not be found (check the "
                 "id or name; the `list` commands show them)", id="404 with a string error"),
    pytest.param(422, {"error": {"message": "Validation failed", "errors": {"name": ["x"]},
                                 "full_messages": ["Name x", "Ip y"]}},
                 "the server refused the request: Name x; Ip y; fix it and try again",
                 id="422 validation"),
    pytest.param(422, {"error": {"message": "The job could not be cancelled."},
                       "message": "The job could not be cancelled."},
                 "the server refused: The job could not be cancelled.", id="422 conflict"),
    pytest.param(500, {"error": {"message": "Internal error: KeyError"}},
                 "the server failed (HTTP 500: Internal error: KeyError); see the server's log",
                 id="500"),
    pytest.param(502, "<html>Bad Gateway</html>", "the server failed (HTTP 502 Bad Gateway); "
                 "see the server's log", id="502 from a proxy"),
    pytest.param(404, "<html>nope</html>", "http://rex.test has no /api/hosts: is --server a "
                 "rex server?", id="404 from something else"),
]


def api_answering(status: int, body) -> Api:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    config = ClientConfig(server="http://rex.test", user="admin", password="pw")
    return Api(config, transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(("status", "body", "message"), CASES)
def test_error_answers_become_one_line(status, body, message):
    with pytest.raises(ApiFailure) as caught:
        api_answering(status, body).get("/api/hosts")
    assert (caught.value.message, caught.value.exit_code) == (message, 3)


def test_an_answer_that_is_not_json_is_named():
    with pytest.raises(ApiFailure, match="did not answer with JSON"):
        api_answering(200, "<html>hello</html>").get("/api/hosts")


def test_booleans_go_as_true_and_false_and_none_is_left_out():
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    config = ClientConfig(server="http://rex.test/prefix", user="u", password="p")
    Api(config, transport=httpx.MockTransport(answer)).post("/api/x", force=True, search=None,
                                                            a=False)
    assert seen == ["http://rex.test/prefix/api/x?force=true&a=false"]
