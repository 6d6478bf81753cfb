"""The client's one seam to the server: httpx calls in, JSON or one `ApiFailure` out.

Every transport problem and every error status becomes an `ApiFailure` (exit status 3)
whose message is one line that says what went wrong and what to do about it.
"""

from __future__ import annotations

import ssl
from typing import Any

import click
import httpx

from rex.client.config import ClientConfig, profile_path

__all__ = ["EXIT_API", "Api", "ApiFailure"]

EXIT_API = 3
TIMEOUT = 30.0


class ApiFailure(click.ClickException):
    """The server or the connection failed; printed as one `rex:` line on stderr."""

    exit_code = EXIT_API

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def show(self, file=None) -> None:
        click.echo(f"rex: {self.message}", err=True)


class Api:
    """A logged-in connection to one rex server."""

    def __init__(self, config: ClientConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        self._client = httpx.Client(
            base_url=config.server, auth=(config.user, config.password),
            verify=_verify(config.verify_tls), timeout=TIMEOUT, transport=transport,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def get(self, path: str, **params: Any) -> Any:
        """GET `path` with query `params`; return the decoded JSON."""
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        """POST `body` as JSON to `path`; return the decoded JSON."""
        return self.request("POST", path, params=params, json={} if body is None else body)

    def put(self, path: str, body: Any) -> Any:
        """PUT `body` as JSON to `path`; return the decoded JSON."""
        return self.request("PUT", path, json=body)

    def delete(self, path: str) -> Any:
        """DELETE `path`; return the decoded JSON."""
        return self.request("DELETE", path)

    def request(self, method: str, path: str, *, params: dict | None = None,
                json: Any = None) -> Any:
        """Send one request; translate every failure into an `ApiFailure`."""
        params = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        try:
            response = self._client.request(method, path, params=params, json=json)
        except httpx.HTTPError as exc:
            raise ApiFailure(self._transport_message(exc)) from exc
        if response.is_error:
            raise ApiFailure(self._status_message(response), status=response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise ApiFailure(
                f"{self.config.server}{path} did not answer with JSON "
                f"(HTTP {response.status_code}); is --server a rex server?"
            ) from exc

    def _transport_message(self, exc: httpx.HTTPError) -> str:
        server = self.config.server
        if isinstance(exc, httpx.TimeoutException):
            return f"{server} did not answer within {TIMEOUT:g}s; check --server or try again"
        text = str(exc) or type(exc).__name__
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return (f"cannot verify the TLS certificate of {server}: set verify_tls to a CA "
                    f"bundle path (or false) in {profile_path()}")
        if isinstance(exc, httpx.ConnectError):
            return (f"cannot connect to {server} ({_reason(text)}): is `rex serve` running "
                    "there? Check --server or REX_SERVER")
        return f"request to {server} failed: {text}"

    def _status_message(self, response: httpx.Response) -> str:
        status, found = response.status_code, error_message(response)
        if status == 404 and found is None:
            return (f"{self.config.server} has no {response.request.url.path}: "
                    "is --server a rex server?")
        if status >= 500:
            detail = f": {found}" if found else f" {response.reason_phrase}".rstrip()
            return f"the server failed (HTTP {status}{detail}); see the server's log"
        message = found or response.reason_phrase or "no message"
        if status == 401:
            return (f"the server refused user {self.config.user!r} ({message}): check --user "
                    "and the password in REX_PASSWORD or the profile")
        if status == 403:
            return f"{message}: ask a rex administrator for that permission"
        if status == 404:
            return f"{message} (check the id or name; the `list` commands show them)"
        if status == 422 and _is_validation(response):
            return f"the server refused the request: {message}; fix it and try again"
        if status == 422:
            return f"the server refused: {message}"
        if status == 400:
            return f"bad request: {message}"
        return f"HTTP {status}: {message}"


def error_message(response: httpx.Response) -> str | None:
    """Return the message of a rex/Foreman error body, or None if it is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        full = error.get("full_messages")
        if isinstance(full, list) and full:
            return "; ".join(str(m) for m in full)
        if error.get("message"):
            details = error.get("details")
            return f"{error['message']} ({details})" if details else str(error["message"])
    if isinstance(error, str):
        return error
    if isinstance(body.get("message"), str):
        return body["message"]
    return None


def _verify(setting: bool | str) -> bool | ssl.SSLContext:
    """Turn the profile's verify_tls (true, false or a CA bundle path) into httpx's verify."""
    if isinstance(setting, str):
        try:
            return ssl.create_default_context(cafile=setting)
        except (OSError, ssl.SSLError) as exc:
            raise ApiFailure(f"cannot load the CA bundle {setting} (verify_tls in "
                             f"{profile_path()}): {exc}") from exc
    return setting


def _is_validation(response: httpx.Response) -> bool:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return False
    return isinstance(error, dict) and "errors" in error


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _reason(text: str) -> str:
    if "refused" in text.lower():
        return "connection refused"
    return text.split("] ", 1)[-1]
