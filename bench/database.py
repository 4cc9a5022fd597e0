"""The benchmark's own PostgreSQL databases: named `bench_…`, created fresh and migrated."""

from __future__ import annotations

import asyncio
import os
from typing import Final

import asyncpg

from api.cli import load_reference_data
from core.migrate import upgrade
from core.settings import Settings

SERVER: Final = os.environ.get("DISPENSARY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
PREFIX: Final = "bench_"


def dsn(name: str) -> str:
    """The asyncpg / libpq address of a benchmark database."""
    if not name.startswith(PREFIX):
        raise ValueError(f"benchmark databases are named {PREFIX}…, not {name!r}")
    return f"{SERVER}/{name}"


def sqlalchemy_url(name: str) -> str:
    return dsn(name).replace("postgresql://", "postgresql+asyncpg://", 1)


async def _recreate(name: str) -> None:
    admin = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop(name: str) -> None:
    dsn(name)
    admin = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def create_migrated(name: str) -> None:
    """A new empty database at the latest schema, with the shipped rules table."""
    dsn(name)
    asyncio.run(_recreate(name))
    url = sqlalchemy_url(name)
    upgrade(url)
    asyncio.run(load_reference_data(Settings(database_url=url)))
