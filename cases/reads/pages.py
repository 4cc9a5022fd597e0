"""Pages of ids read by keyset on the driver, for the executor's connections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa

from cases.kit.caching import ByObject
from cases.kit.paging import Page, PageQuery, build_page
from cases.kit.repository import CountRows, Repository, on_postgresql
from cases.reads.driver import DriverStatement, DriverStatements, on_driver
from cases.tenancy import DataScope, scope_kind, scope_of, scope_values, scoped


class PageReader(Repository[Any]):
    """Reads the page of any `PageQuery`, and counts all its rows should the client ask."""

    async def entities(self, query: PageQuery) -> tuple[Page[Any], CountRows]:
        rows = await self.scalars(query.limited)
        names = [str(key.column.key) for key in query.keys]
        page = build_page(rows, lambda row: [getattr(row, name) for name in names], query.request)
        return page, lambda: self.count(query.statement)

    # The statements of pages read lately, by the listing they cut, the page asked for and the
    # column.
    _pages: ClassVar[ByObject[sa.Select[Any]]] = ByObject(1024)

    @classmethod
    def ids_statement(cls, query: PageQuery, id_column: Any) -> sa.Select[Any]:
        """The page's row ids and sort values; the same statement object for the same page of
        the same listing object (a listing built once per filter, as the worklist's is)."""
        key = (query.request, str(id_column))
        found = cls._pages.get(query.statement, key)
        if found is None:
            keys = [key.column.label(f"key_{n}") for n, key in enumerate(query.keys)]
            statement = query.cut(query.statement.with_only_columns(id_column, *keys))
            found = cls._pages.keep(query.statement, key, statement)
        return found

    # The page statements for the driver, by page statement and kind of scope (a scope's ids are
    # values it is run with); compiled once per shape.
    _compiled: ClassVar[ByObject[DriverStatement]] = ByObject(1024)
    _shapes: ClassVar[DriverStatements] = DriverStatements(256)

    @classmethod
    def driver_statement(
        cls, statement: sa.Select[Any], scope: DataScope | None, dialect: sa.Dialect
    ) -> DriverStatement:
        """`statement`, narrowed to `scope` as the session would narrow it, for the driver: every
        owner's worklist and every page of it is a statement of its own, all of one shape."""
        kind = "unrestricted" if scope is None else scope_kind(scope)
        found = cls._compiled.get(statement, kind)
        if found is None:
            compiled = cls._shapes.of(scoped(statement, scope), dialect)
            found = cls._compiled.keep(statement, kind, compiled)
        return found

    async def ids(
        self, query: PageQuery, id_column: Any, *, cursors: bool = True
    ) -> tuple[Page[int], CountRows]:
        """The page as row ids, with the cursors `entities` gives (none unless `cursors`): for a
        read that builds the rows' JSON in the database instead of loading entities.

        On PostgreSQL the page's statement (one object per page of a listing object) is compiled
        once, with the session's scope, and run through the driver: SQLAlchemy's work around a
        statement cost more than the statement, and it would begin a transaction (two more
        round trips) for a read that needs none."""
        statement = self.ids_statement(query, id_column)
        if on_postgresql(self.session):
            dialect = self.session.get_bind().dialect
            scope = scope_of(self.session)
            compiled = self.driver_statement(statement, scope, dialect)
            values = {} if scope is None else scope_values(scope)
            rows: Sequence[Any] = await on_driver(self.session, compiled, values)
        else:
            rows = (await self.execute(statement)).all()
        keys_of = (lambda row: row[1:]) if cursors else None
        page: Page[int] = build_page(rows, keys_of, query.request, lambda row: row[0])
        return page, lambda: self.count(query.statement)
