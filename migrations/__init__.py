"""Alembic migrations of rex's schema."""
