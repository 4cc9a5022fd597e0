"""Statements compiled once and run on the asyncpg driver directly."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cachetools import LRUCache
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler

from cases.kit.repository import session_lock


def _compile(statement: sa.ClauseElement, dialect: sa.Dialect, key: Any = None) -> SQLCompiler:
    """`statement` compiled for asyncpg; with its SQLAlchemy cache key, to be given the values of
    other statements of its shape (`DriverStatements`)."""
    if dialect.name != "postgresql":
        raise ValueError("driver statements are compiled for PostgreSQL (asyncpg)")
    compiled = statement.compile(dialect=dialect, cache_key=key)
    assert isinstance(compiled, SQLCompiler)
    return compiled


def _awaited(compiled: SQLCompiler) -> dict[str, None]:
    """The parameters of `compiled` that take their values when it runs, none given yet."""
    return {bind.key: None for bind in compiled.binds.values() if bind.required}


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled once for asyncpg and run through the driver itself (`on_driver`).

    For the few statements of the hottest read path: SQLAlchemy's work around each statement
    (execution context, events, result; about 0.2 ms of CPU, measured) costs more there than
    the statement does. Values go by parameter name; the statement's own constants keep theirs.
    Every value passes its type's bind processing, as SQLAlchemy would pass it (an enumeration
    by its value, an instant refused without its offset).
    """

    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]

    @classmethod
    def of(cls, statement: sa.ClauseElement, dialect: sa.Dialect) -> DriverStatement:
        return cls.expanded(_compile(statement, dialect))

    @classmethod
    def expanded(
        cls, compiled: SQLCompiler, values: Mapping[str, Any] | None = None
    ) -> DriverStatement:
        """The statement `compiled` with `values` for its parameters, by name (its own values
        where none is given)."""
        # Expanding parameters (an IN list) rendered as one parameter per value, once; the
        # values given per run are None until then.
        dialect = compiled.dialect
        expanded = compiled.construct_expanded_state({**_awaited(compiled), **(values or {})})
        assert expanded.positiontup is not None
        expanded_from = {
            name: original
            for original, names in expanded.parameter_expansion.items()
            for name in names
        }
        processors = {}
        for name in expanded.positiontup:
            kind = compiled.binds[expanded_from.get(name, name)].type
            processor = kind.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        defaults = {
            name: value if value is None or name not in processors else processors[name](value)
            for name, value in expanded.parameters.items()
        }
        return cls(expanded.statement, tuple(expanded.positiontup), defaults, processors)

    def arguments(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(self._value(name, values) for name in self.names)

    def _value(self, name: str, values: Mapping[str, Any]) -> Any:
        if name not in values:
            return self.defaults[name]
        value = values[name]
        processor = self.processors.get(name)
        return value if processor is None or value is None else processor(value)


class _Marker:
    """A value told apart by identity."""


def _takes_every_value(compiled: SQLCompiler, count: int) -> bool:
    """Whether each parameter of `compiled` that does not await its value takes it from one of
    the `count` values of another statement of its shape: were one left out, the statement
    would keep the value of the one it was compiled from."""
    markers = [_Marker() for _ in range(count)]
    given = compiled.construct_params(
        _awaited(compiled),
        extracted_parameters=[sa.bindparam(f"m{n}", marker) for n, marker in enumerate(markers)],
        escape_names=False,
    )
    required = {name for bind, name in compiled.bind_names.items() if bind.required}
    return all(isinstance(value, _Marker) for name, value in given.items() if name not in required)


class DriverStatements:
    """Driver statements by the shape of the statement they come from, the least recently used
    dropped first. Statements that differ only in their values (one owner's worklist page and
    another's, a page and the next) share one compilation, as in SQLAlchemy's own cache of
    compiled statements, whose cache key tells them apart; each gets its own values. Compiling
    a representative's worklist page took 2.5 ms of CPU, measured; giving the compiled
    statement another's values takes 0.5 ms, most of it SQLAlchemy building the cache key."""

    def __init__(self, size: int) -> None:
        self._compiled: LRUCache[tuple[sa.Dialect, Hashable, tuple[bool, ...]], SQLCompiler] = (
            LRUCache(size)
        )

    def of(self, statement: sa.ClauseElement, dialect: sa.Dialect) -> DriverStatement:
        key = statement._generate_cache_key()
        if key is None:  # a construct SQLAlchemy does not cache
            return DriverStatement.of(statement, dialect)
        # Whether a parameter awaits its value at run time is not part of the cache key: a
        # statement that gives a parameter its value is of another shape than one that does not.
        shape = (dialect, key.key, tuple(bind.required for bind in key.bindparams))
        compiled = self._compiled.get(shape)
        if compiled is None:
            compiled = _compile(statement, dialect, key)
            if _takes_every_value(compiled, len(key.bindparams)):
                self._compiled[shape] = compiled
            return DriverStatement.expanded(compiled)
        # The values of this statement, matched to the compiled one's parameters by position.
        values = compiled.construct_params(
            _awaited(compiled), extracted_parameters=key.bindparams, escape_names=False
        )
        return DriverStatement.expanded(compiled, values)

    def __len__(self) -> int:
        """How many shapes are kept compiled."""
        return len(self._compiled)


async def on_driver(
    session: AsyncSession, statement: DriverStatement, values: Mapping[str, Any]
) -> list[Any]:
    """Run `statement` through asyncpg; its rows as asyncpg records.

    Once the session holds a connection, on that connection, in the session's transaction if
    one has begun. Before that, on a connection of the session's pool of its own, returned at
    once: the session's own way to a connection (its transaction, the commit and close that end
    it) costs more than the statement. On its own, a statement runs in no transaction, which
    for one statement at READ COMMITTED is the same. SQLAlchemy's `before_cursor_execute`
    listeners (statement logs and counts) hear of it as of any other statement, without a
    cursor or an execution context (and without a connection, on a pool's connection).
    """
    arguments = statement.arguments(values)
    async with session_lock(session):
        engine = session.bind
        if isinstance(engine, AsyncEngine) and not session.in_transaction():
            _announce(engine.sync_engine.dispatch, None, statement.sql, arguments)
            pooled = await engine.raw_connection()
            try:
                driver = pooled.driver_connection
                assert driver is not None
                rows: list[Any] = await driver.fetch(statement.sql, *arguments)
            finally:
                pooled.close()
            return rows
        connection = await session.connection()
        sync = connection.sync_connection
        assert sync is not None
        _announce(sync.dispatch, sync, statement.sql, arguments)
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        found: list[Any] = await driver.fetch(statement.sql, *arguments)
        return found


def _announce(dispatch: Any, connection: Any, sql: str, arguments: tuple[Any, ...]) -> None:
    if dispatch.before_cursor_execute:
        dispatch.before_cursor_execute(connection, None, sql, arguments, None, False)
