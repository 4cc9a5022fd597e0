"""Cursor connections: every list in the API is paged, with a default and a hard cap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from cases.pagination import Page

NodeT = TypeVar("NodeT")


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


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count_rows: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="All items matching the filter, on every page.")
    async def total_count(self) -> int:
        return await self.count_rows()

    @classmethod
    def of(
        cls,
        page: Page[Any],
        to_node: Callable[[Any], NodeT],
        count_rows: Callable[[], Awaitable[int]],
    ) -> Connection[NodeT]:
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
