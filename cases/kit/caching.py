"""Values kept for objects by their identity, for objects built once and asked about often
(a listing's statement, a parsed document) that are not hashable by value, or costly to hash."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

V = TypeVar("V")


class ByObject(Generic[V]):
    """Values kept per object and a further key, the least recently used dropped first. Each
    entry holds its object, so that the object's id names no other while the entry lives."""

    def __init__(self, size: int) -> None:
        self._entries: LRUCache[tuple[int, Hashable], tuple[object, V]] = LRUCache(size)

    def get(self, owner: object, key: Hashable) -> V | None:
        found = self._entries.get((id(owner), key))
        return found[1] if found is not None and found[0] is owner else None

    def keep(self, owner: object, key: Hashable, value: V) -> V:
        self._entries[(id(owner), key)] = (owner, value)
        return value
