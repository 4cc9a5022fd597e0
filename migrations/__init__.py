"""Alembic migrations of the Dispensary schema."""
