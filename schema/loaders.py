"""Per-request DataLoaders: every relation a query follows is fetched in one statement per level."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from cases.repository import InsurerRepository, Repository


def by_id(repository: Repository[Any]) -> Callable[[Sequence[int]], Awaitable[list[Any]]]:
    async def load(ids: Sequence[int]) -> list[Any]:
        found = await repository.get_many(ids)
        return [found.get(id_) for id_ in ids]

    return load


class Loaders:
    def __init__(self, session: AsyncSession) -> None:
        self.insurer = DataLoader(load_fn=by_id(InsurerRepository.from_session(session)))
