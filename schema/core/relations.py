"""Relation fields: an object's rows in another table, read from the request's loaders.

Resolved one object at a time, a page of 50 work items with their patients, cases and visits
would await a loader in some 300 coroutines, and the executor's bookkeeping for them costs more
than the statements. A connection loads its nodes' relations ahead (`schema.core.relay.prefetch`), so
these fields mostly find their rows in the loaders' caches and return at once. A field whose rows
were not loaded ahead (an object outside any connection) awaits its loader, which still batches
it with its siblings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from importlib import import_module
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from cases.kit.paging import Page, PageRequest, build_page
from schema.core.relay import (
    MISSING,
    RELATION,
    Connection,
    Info,
    Relation,
    cached,
    first_of,
    loader_of,
)


def lazy(module: str, name: str) -> Callable[[], Any]:
    """The object type `name` of `module`, looked up when a relation first needs it: for a type
    of a domain whose module imports this one (its annotation is a `strawberry.lazy` alias)."""
    return lambda: getattr(import_module(module), name)


def one(loader: str, key: str, node: Callable[[], Any], *, description: str | None = None) -> Any:
    """A field holding the object that the attribute `key` points at, or null."""
    relation = Relation(loader, key, node)

    def resolve(self: Any, info: Info) -> Any:
        return _one(relation, self, info)

    return strawberry.field(
        resolver=resolve, description=description, metadata={RELATION: relation}
    )


def connection(
    loader: str,
    node: Callable[[], Any],
    order: Sequence[str],
    *,
    count: str | None = None,
    description: str | None = None,
) -> Any:
    """A field holding the first N rows that point at this object, as a connection.

    The loader is keyed by (this object's id, N) and fetches N+1 rows, the last telling whether
    more follow. Without a `count` loader the total is the number of rows fetched.
    """
    relation = Relation(loader, "id", node, tuple(order), count)

    def resolve(self: Any, info: Info, first: int | None = None) -> Any:
        return _connection(relation, self, info, first)

    return strawberry.field(
        resolver=resolve, description=description, metadata={RELATION: relation}
    )


def every_row(
    loader: str, node: Callable[[], Any], order: Sequence[str], *, description: str | None = None
) -> Any:
    """A field holding every row that points at this object, as a connection of one page: for
    rows a parent has few of by a constraint (a patient's consents, one per channel)."""
    relation = Relation(loader, "id", node, tuple(order), every=True)

    def resolve(self: Any, info: Info) -> Any:
        return _connection(relation, self, info, None)

    return strawberry.field(
        resolver=resolve, description=description, metadata={RELATION: relation}
    )


def nested_page(rows: Sequence[Any], first: int, keys: Sequence[str]) -> Page[Any]:
    """A page cut from the first N+1 rows of a parent, with cursors of the root connection's order."""
    return build_page(
        rows, lambda row: [getattr(row, key) for key in keys], PageRequest(first, None)
    )


async def constant_count(value: int) -> int:
    """A connection's total when it is already known (a list held in full)."""
    return value


async def _then(pending: Awaitable[Any], build: Callable[[Any], Any]) -> Any:
    return build(await pending)


def _ready_or_later(loader: DataLoader[Any, Any], key: Any, build: Callable[[Any], Any]) -> Any:
    """`build` applied to the value of `key`: at once if it is cached, else as an awaitable
    (a resolver may return either; the executor awaits the latter)."""
    value = cached(loader, key)
    if value is MISSING:
        return _then(loader.load(key), build)
    return build(value)


def _one(relation: Relation, parent: Any, info: Info) -> Any:
    key = getattr(parent, relation.key)
    if key is None:
        return None
    to_node = relation.node().from_model
    return _ready_or_later(
        loader_of(info, relation.loader), key, lambda row: None if row is None else to_node(row)
    )


def _connection(relation: Relation, parent: Any, info: Info, first: int | None) -> Any:
    parent_id = parent.id
    count = relation.count

    def build(rows: Sequence[Any]) -> Connection[Any]:
        if count is None:
            total: Callable[[], Awaitable[int]] = lambda: constant_count(len(rows))  # noqa: E731
        else:
            total = lambda: loader_of(info, count).load(parent_id)  # noqa: E731
        size = len(rows) if relation.every else first_of(first)
        page = nested_page(rows, size, relation.order)
        return Connection.of(page, relation.node().from_model, total)

    key = relation.loader_key(parent_id, first)
    return _ready_or_later(loader_of(info, relation.loader), key, build)
