"""The async engine and session factory for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.settings import Settings

# An execution option for a connection that only reads (a probe): on SQLite its transaction
# takes no write lock, so it waits behind no writer; it must never write.
READ_ONLY = "dispensary_read_only"


def create_engine(settings: Settings, **overrides: Any) -> AsyncEngine:
    """An engine whose statements never carry bound values into logs or error messages.

    On SQLite every transaction takes the write lock at BEGIN (IMMEDIATE), and one that finds
    it taken waits for it (the busy timeout). Requests and jobs read and then write; a deferred
    transaction that another writer overtook in between cannot upgrade and fails at once
    ("database is locked") instead of waiting its turn. The embedded store thus runs one
    transaction at a time, which is what one file can give.
    """
    options: dict[str, Any] = {"hide_parameters": True}
    if settings.is_sqlite:
        options["connect_args"] = {"timeout": 30}
    else:
        # A bounded pool: beyond its size a request waits for a connection. Overflow connections
        # would be opened under load and closed as soon as they were returned, one new
        # connection (TLS negotiation, a server process, cold statement caches) per request
        # above the pool's size, which costs more than waiting for a pooled one.
        options["pool_size"] = settings.database_pool_size
        options["max_overflow"] = 0
    options.update(overrides)
    engine = create_async_engine(settings.database_url, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif not options.get("pool_pre_ping"):
        event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hand out no connection the server has closed (a restart, an administrator's terminate).

    asyncpg notices the closed socket while the connection waits in the pool, so the check is
    free, where SQLAlchemy's ping is three round trips (BEGIN, a statement, ROLLBACK) on every
    checkout: a third of a compiled read's time. The pool replaces a refused connection with a
    new one. A connection cut off without a word (a silent network) fails its statement instead,
    and the pool then drops every connection it holds.
    """
    driver = dbapi_connection.driver_connection
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the server closed this connection")


def _configure_sqlite(engine: AsyncEngine) -> None:
    # pysqlite opens transactions lazily and not at all for SAVEPOINT; taking over BEGIN makes
    # nested transactions (per-item savepoints, rolled-back tests) behave as on PostgreSQL.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@dataclass
class RequestTransaction:
    """A request's unit of work: the session middleware commits it unless it is marked failed."""

    session: AsyncSession
    request_id: str
    failed: bool = False


# Errors that mean the database cannot be reached now, not that a statement was wrong.
_UNREACHABLE: tuple[type[BaseException], ...] = (OSError, TimeoutError, DisconnectionError)


def database_unavailable(error: BaseException | None) -> bool:
    """Whether `error`, or one it was raised from, says the database cannot be reached: a refused
    or dropped connection, a pool that timed out, a server shutting down."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, _UNREACHABLE) or type(error).__name__ in _UNREACHABLE_NAMES:
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
    return False


# asyncpg's own words for a server that is starting, stopping or gone (matched by name: the
# driver is optional on the embedded store).
_UNREACHABLE_NAMES = frozenset(
    {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "AdminShutdownError",
        "CrashShutdownError",
    }
)
