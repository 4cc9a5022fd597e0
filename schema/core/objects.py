"""The base of the object types that map one table: their columns, their loading by id."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Self

from sqlmodel import SQLModel
from strawberry import relay

from cases.audit.service import ReadAudit
from schema.core.context import Context
from schema.core.ids import row_number
from schema.core.relay import Info


class ModelObject:
    """An object type that maps one table: each of its own fields (private ones included) holds
    the column of the same name, or the one `renamed` names; its relation fields read other
    tables through the request's loaders. A compiled read (`schema.compiled`) maps the fields
    to the columns the same way."""

    model: ClassVar[type[SQLModel]]
    renamed: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def column_of(cls, field_name: str) -> str:
        return cls.renamed.get(field_name, field_name)

    @classmethod
    def from_model(cls, row: Any) -> Self:
        return cls(**{name: getattr(row, column) for name, column in _columns(cls)})


# Per type: its own fields (those its constructor takes) and the columns that hold them.
_COLUMNS: dict[type, tuple[tuple[str, str], ...]] = {}


def _columns(cls: type[ModelObject]) -> tuple[tuple[str, str], ...]:
    found = _COLUMNS.get(cls)
    if found is None:
        found = _COLUMNS[cls] = tuple(
            (field.name, cls.column_of(field.name))
            for field in dataclasses.fields(cls)  # type: ignore[arg-type]
            if field.init
        )
    return found


class ModelNode(ModelObject, relay.Node):
    """A node backed by one table, loaded by id through the request's loaders."""

    loader_name: ClassVar[str]
    # What `on_read` records of each row read by id; a compiled read records the same in its
    # statement (`cases.reads.projection`).
    read_audit: ClassVar[ReadAudit | None] = None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = [row_number(node_id) for node_id in node_ids]
        loader = getattr(info.context.loaders, cls.loader_name)
        found = await loader.load_many(ids)
        await cls.on_read(info.context, [row for row in found if row is not None])
        return [cls.from_model(row) if row is not None else None for row in found]

    @classmethod
    async def on_read(cls, context: Context, rows: Sequence[Any]) -> None:
        """Called with the rows `node(id)` returns (a patient's card is audited)."""
