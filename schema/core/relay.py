"""Cursor connections: every list in the API is paged, with a default and a hard cap.

Before a connection's edges are resolved, it loads every relation that its nodes' selection
follows, down the whole selection: one statement per relation and level (`prefetch`). The
relation fields (`schema.core.relations`) then read the loaders' caches instead of awaiting them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Generic, Self, TypeVar

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection
from strawberry.utils.str_converters import to_camel_case

from cases.kit.paging import Page, PageQuery, PageRequest
from cases.reads.pages import PageReader
from schema.core.context import Context

NodeT = TypeVar("NodeT")
Info = strawberry.Info[Context, Any]

# The key under which a relation field keeps its `Relation` in the field's metadata.
RELATION: Final = "relation"
MISSING: Final = object()


@dataclass(frozen=True)
class Relation:
    """Where a relation field's rows come from."""

    loader: str  # the attribute of `Loaders`
    key: str  # the attribute of the object (a node or its row) that holds the loader's key
    node: Callable[[], Any]  # the object type of the rows (named lazily: types refer to each other)
    order: tuple[str, ...] = ()  # a connection's sort columns, which its cursors encode
    count: str | None = None  # the loader of a connection's total, if it is counted
    # A connection of every row (a parent has few, by a constraint): no `first`, and the loader
    # is keyed by the parent's id alone.
    every: bool = False

    @property
    def is_connection(self) -> bool:
        return bool(self.order)

    def loader_key(self, parent_id: int, first: int | None) -> Any:
        """The key a connection's loader takes for a parent's page of `first` rows."""
        return parent_id if self.every else (parent_id, first_of(first))


def first_of(first: int | None) -> int:
    return PageRequest.of(first, None).first


def loader_of(info: Info, name: str) -> DataLoader[Any, Any]:
    loader: DataLoader[Any, Any] = getattr(info.context.loaders, name)
    return loader


def cached(loader: DataLoader[Any, Any], key: Any) -> Any:
    """The loaded value of `key`, or `MISSING` when the loader's cache does not hold it (yet)."""
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled() or future.exception():
        return MISSING
    return future.result()


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    node: NodeT
    cursor: str


@dataclass
class Paged(Generic[NodeT]):
    """A connection's page once read: its edges, its page info and how to count every row."""

    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count_rows: Callable[[], Awaitable[int]]

    @classmethod
    def of(
        cls,
        page: Page[Any],
        to_node: Callable[[Any], NodeT],
        count_rows: Callable[[], Awaitable[int]],
    ) -> Paged[NodeT]:
        return cls(
            edges=[
                Edge(node=to_node(item), cursor=cursor)
                for item, cursor in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            count_rows=count_rows,
        )


@strawberry.type
class Connection(Generic[NodeT]):
    """A page of a list. A nested list's page is loaded ahead of it; a root list's page is read
    from its `query` when a field first asks, so that resolving the root field itself runs no
    SQL (and a compiled read can take the query instead, `schema.compiled`)."""

    paged: strawberry.Private[Paged[NodeT] | None] = None
    query: strawberry.Private[PageQuery | None] = None
    read: strawberry.Private[Callable[[], Awaitable[Paged[NodeT]]] | None] = None
    reading: strawberry.Private[asyncio.Lock | None] = None

    @strawberry.field
    async def page_info(self) -> PageInfo:
        return (await self.page()).page_info

    @strawberry.field
    async def edges(self, info: Info) -> list[Edge[NodeT]]:
        items = (await self.page()).edges
        if items:
            nodes = [edge.node for edge in items]
            await prefetch(info, type(nodes[0]), nodes, _nodes_of(info.selected_fields))
        return items

    @strawberry.field(description="All items matching the filter, on every page.")
    async def total_count(self) -> int:
        return await (await self.page()).count_rows()

    async def page(self) -> Paged[NodeT]:
        """The page, read once however many sibling fields ask for it at the same time."""
        if self.paged is None:
            assert self.read is not None
            assert self.reading is not None
            async with self.reading:
                if self.paged is None:
                    self.paged = await self.read()
        return self.paged

    @classmethod
    def of(
        cls,
        page: Page[Any],
        to_node: Callable[[Any], NodeT],
        count_rows: Callable[[], Awaitable[int]],
    ) -> Self:
        return cls(paged=Paged.of(page, to_node, count_rows))

    @classmethod
    def listed(cls, info: Info, query: PageQuery, to_node: Callable[[Any], NodeT]) -> Self:
        """The page of `query`, read on first use through the request's session."""
        reader = PageReader.from_session(info.context.session)

        async def read() -> Paged[NodeT]:
            page, count_rows = await reader.entities(query)
            return Paged.of(page, to_node, count_rows)

        return cls(query=query, read=read, reading=asyncio.Lock())


@cache
def relations_of(node_type: type) -> dict[str, Relation]:
    """The relation fields of an object type, by their GraphQL names."""
    definition = getattr(node_type, "__strawberry_definition__", None)
    if definition is None:
        return {}
    return {
        field.graphql_name or to_camel_case(field.python_name): field.metadata[RELATION]
        for field in definition.fields
        if RELATION in (field.metadata or {})
    }


def fields_of(selections: Iterable[Selection], type_name: str | None = None) -> list[SelectedField]:
    """The fields selected on `type_name` (on any type, without one), fragments spread in."""
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            found.append(selection)
        elif isinstance(selection, (FragmentSpread, InlineFragment)) and (
            type_name is None or selection.type_condition in (None, type_name, "Node")
        ):
            found.extend(fields_of(selection.selections, type_name))
    return found


def _nodes_of(edges_fields: Iterable[Selection]) -> list[Selection]:
    """The selection on the nodes under `edges { node { … } }`."""
    return [
        selection
        for edges in fields_of(edges_fields)
        if edges.name == "edges"
        for node in fields_of(edges.selections)
        if node.name == "node"
        for selection in node.selections
    ]


async def _load(loader: DataLoader[Any, Any], keys: Iterable[Any]) -> list[Any]:
    """The values of `keys`, loading the ones the cache lacks in one batch. A key that another
    resolver is loading right now is left to it, and so is what lies below it."""
    wanted = list(dict.fromkeys(keys))
    missing = [key for key in wanted if loader.cache_map.get(key) is None]
    if missing:
        loader.prime_many(dict(zip(missing, await loader.load_fn(missing), strict=True)))
    values = (cached(loader, key) for key in wanted)
    return [value for value in values if value is not MISSING]


async def prefetch(
    info: Info, node_type: type, objects: Sequence[Any], selections: Sequence[Selection]
) -> None:
    """Load every relation that `selections` follows from `objects` (nodes of `node_type`, or
    their rows), and every relation below those, one statement per relation and level."""
    relations = relations_of(node_type)
    if not objects or not relations:
        return
    for field in fields_of(selections, node_type.__name__):
        relation = relations.get(field.name)
        if relation is None:
            continue
        loader = loader_of(info, relation.loader)
        if relation.is_connection:
            ids = [item.id for item in objects]
            first = field.arguments.get("first")
            first = None if first is None else int(first)
            wanted = [relation.loader_key(id_, first) for id_ in ids]
            rows = [row for found in await _load(loader, wanted) for row in found]
            if relation.count is not None and any(
                selected.name == "totalCount" for selected in fields_of(field.selections)
            ):
                await _load(loader_of(info, relation.count), ids)
            below = _nodes_of(field.selections)
        else:
            keys = (getattr(item, relation.key) for item in objects)
            rows = [row for row in await _load(loader, (k for k in keys if k is not None)) if row]
            below = list(field.selections)
        await prefetch(info, relation.node(), rows, below)
