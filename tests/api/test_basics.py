"""Logging in, status, content types and error envelopes."""

import httpx
import pytest


async def test_status_answers_foreman_shape(api):
    for prefix in ("/api", "/api/v2"):
        response = await api.get(f"{prefix}/status")
        assert response.status_code == 200
        body = response.json()
        assert body["result"] == "ok" and body["status"] == 200 and body["api_version"] == 2
        assert isinstance(body["version"], str)


@pytest.mark.parametrize("auth", [("admin", "wrong"), ("nobody", "x")])
async def test_wrong_credentials_are_401_in_foreman_words(live, auth):
    async with httpx.AsyncClient(base_url=live.url, auth=auth) as client:
        response = await client.get("/api/status")
    assert response.status_code == 401
    assert response.json() == {"error": {"message": f"Unable to authenticate user {auth[0]}"}}


async def test_missing_credentials_are_401(live):
    async with httpx.AsyncClient(base_url=live.url) as client:
        response = await client.get("/api/hosts")
    assert response.status_code == 401
    assert "Unable to authenticate user" in response.json()["error"]["message"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_post_without_json_content_type_is_415(api, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = await api.post("/api/hosts", content=b'{"host": {"name": "a"}}', headers=headers)
    assert response.status_code == 415
    message = response.json()["error"]["message"]
    assert "Please use 'Content-Type: application/json'" in message


async def test_malformed_json_is_400(api):
    response = await api.post(
        "/api/hosts", content=b'{"host": {', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(
        "There was a problem in the JSON you submitted"
    )


async def test_unknown_route_is_404_envelope(api):
    response = await api.get("/api/no_such_thing")
    assert response.status_code == 404
    assert response.json() == {"error": {"message": "Route not found"}}
