"""rex's HTTP API: Foreman's API v2 wire format on FastAPI."""

from api.app import create_app

__all__ = ["create_app"]
