"""Fixtures: every database test runs on SQLite and on PostgreSQL, each test in a rolled-back transaction."""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

import cases.metadata  # noqa: F401 - every domain's tables on the metadata before the first flush
from api.app import create_app
from api.auth import mint_development_token
from api.cli import load_reference_data
from core.db import create_engine
from core.migrate import upgrade
from core.settings import Settings

pytest_plugins = ["tests.stand_ins"]

POSTGRES_SERVER = os.environ.get(
    "DISPENSARY_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432"
)
REDIS_URL = os.environ.get("DISPENSARY_TEST_REDIS", "redis://127.0.0.1:6379/15")
RABBITMQ_URL = os.environ.get("DISPENSARY_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/%2F")
# Two checkouts testing on one server at once keep apart by giving each its own prefix.
DATABASE_PREFIX = os.environ.get("DISPENSARY_TEST_DATABASE_PREFIX", "dispensary_test")
TOKEN_SECRET = "tests-only-hs256-secret-0123456789abcdef"


def app_settings(url: str, **overrides: Any) -> Settings:
    """Settings of the app under test: HS256 test tokens accepted, no rate limit in the way."""
    values: dict[str, Any] = {
        "database_url": url,
        "jwt_hs256_secret": TOKEN_SECRET,
        "rate_limit_burst": 1_000_000,
    }
    return Settings(**{**values, **overrides})


def bearer(subject: str, *roles: str) -> dict[str, str]:
    """The Authorization header of a test identity (roles: admin, territorial_fund, or none
    for a representative, whose record links `subject`)."""
    token = mint_development_token(TOKEN_SECRET, subject=subject, roles=list(roles))
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer("test-admin", "admin")
FUND = bearer("test-fund", "territorial_fund")


def services_required() -> bool:
    return os.environ.get("DISPENSARY_REQUIRE_SERVICES") == "1"


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip when a service is down, except where the run demands it (CI): then fail."""
    if reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if services_required():
        pytest.fail(f"{message} and DISPENSARY_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


async def eventually(check: Callable[[], Any], within: float = 30.0) -> Any:
    """The first true result of `check` (a function or a coroutine function), asked every tenth
    of a second; its last result once `within` seconds have passed without one."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)


def worker_suffix() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@dataclass
class Database:
    """One migrated database of one backend."""

    dialect: str
    url: str
    engine: AsyncEngine

    @property
    def settings(self) -> Settings:
        return app_settings(self.url)


def _create_postgres_database(name: str) -> str:
    async def recreate() -> None:
        admin = create_engine(
            Settings(database_url=f"{POSTGRES_SERVER}/postgres"), isolation_level="AUTOCOMMIT"
        )
        async with admin.connect() as connection:
            await connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()

    asyncio.run(recreate())
    return f"{POSTGRES_SERVER}/{name}"


def migrate(url: str) -> None:
    upgrade(url)
    asyncio.run(load_reference_data(Settings(database_url=url)))


def migrated_postgres_database(purpose: str = "") -> str:
    """A fresh, migrated PostgreSQL database of this test process (one per `purpose`)."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    url = _create_postgres_database(
        f"{DATABASE_PREFIX}{purpose and '_'}{purpose}_{worker_suffix()}"
    )
    migrate(url)
    return url


@pytest.fixture(scope="session")
def postgresql_url() -> str:
    """A fresh, migrated PostgreSQL database for this test process."""
    return migrated_postgres_database()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("sqlite") / "dispensary.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    migrate(url)
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param, request.getfixturevalue(f"{request.param}_url")


@pytest.fixture(scope="session")
async def database(database_url: tuple[str, str]) -> AsyncIterator[Database]:
    dialect, url = database_url
    engine = create_engine(Settings(database_url=url))
    yield Database(dialect=dialect, url=url, engine=engine)
    await engine.dispose()


@pytest.fixture
def committed_url(database_url: tuple[str, str], tmp_path: Path) -> tuple[str, str]:
    dialect, _ = database_url
    if dialect == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'committed.sqlite3'}"
        migrate(url)
    else:
        url = migrated_postgres_database("committed")
    return dialect, url


@pytest.fixture
async def committed_database(committed_url: tuple[str, str]) -> AsyncIterator[Database]:
    """A migrated database of the test's own, for a test whose transactions really commit
    (concurrent requests): what it leaves behind (audit events are never deleted) is seen by
    no other test."""
    dialect, url = committed_url
    engine = create_engine(Settings(database_url=url))
    yield Database(dialect=dialect, url=url, engine=engine)
    await engine.dispose()


@dataclass
class RolledBackDatabase:
    """A test's view of a database: everything it does is rolled back at the end."""

    dialect: str
    connection: AsyncConnection
    sessions: async_sessionmaker[AsyncSession]
    statements: list[str]

    def session(self) -> AsyncSession:
        return self.sessions()


@pytest.fixture
async def db(database: Database) -> AsyncIterator[RolledBackDatabase]:
    """`statements` collects every statement the code under test sends: SQLAlchemy's, and those
    run through asyncpg itself, which `cases.reads.driver.on_driver` announces to the same event."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        # Commits inside the code under test only release savepoints of this transaction.
        sessions = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        sa.event.listen(connection.sync_connection, "before_cursor_execute", count)
        try:
            yield RolledBackDatabase(database.dialect, connection, sessions, statements)
        finally:
            sa.event.remove(connection.sync_connection, "before_cursor_execute", count)
            await transaction.rollback()


@pytest.fixture
def settings(database: Database) -> Settings:
    return database.settings


@pytest.fixture
def broker() -> Iterator[StubBroker]:
    stub = StubBroker()
    yield stub
    stub.close()


@pytest.fixture
async def client(
    db: RolledBackDatabase, database: Database, settings: Settings, broker: StubBroker
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database.engine, db.sessions, broker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


class GraphQLClient:
    """Posts documents as one identity (`headers`); `as_` gives a client of another."""

    def __init__(
        self, http: httpx.AsyncClient, db: RolledBackDatabase, headers: dict[str, str]
    ) -> None:
        self.http = http
        self.db = db
        self.headers = headers

    def as_(self, headers: dict[str, str]) -> GraphQLClient:
        return GraphQLClient(self.http, self.db, headers)

    async def post(self, query: str, **variables: Any) -> httpx.Response:
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        )

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.post(query, **variables)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self(query, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


async def statements_of(
    graphql: GraphQLClient, db: RolledBackDatabase, query: str, **variables: object
) -> int:
    """How many statements answering `query` takes."""
    db.statements.clear()
    await graphql.data(query, **variables)
    return len(db.statements)


@pytest.fixture
def graphql(client: httpx.AsyncClient, db: RolledBackDatabase) -> GraphQLClient:
    """An administrator's client; `graphql.as_(bearer(...))` acts as someone else."""
    return GraphQLClient(client, db, ADMIN)
