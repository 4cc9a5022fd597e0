"""Relay global ids in inputs: decoded to a row id, or a typed error naming the field."""

from __future__ import annotations

from strawberry import relay

from cases.kit.errors import ValidationFailed


def row_id(global_id: relay.GlobalID, type_name: str, field: str) -> int:
    if global_id.type_name != type_name or not global_id.node_id.isdigit():
        raise ValidationFailed(f"must be the id of a {type_name}", field=field)
    return int(global_id.node_id)


def optional_row_id(global_id: relay.GlobalID | None, type_name: str, field: str) -> int | None:
    return None if global_id is None else row_id(global_id, type_name, field)
