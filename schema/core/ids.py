"""Relay global ids in inputs: decoded to a row id, or a typed error naming the field."""

from __future__ import annotations

from strawberry import relay

from cases.kit.errors import ValidationFailed

# Row ids are 64-bit; a larger number names no row, and is looked up as the one id no row has.
MAX_ROW_ID = 2**63 - 1
NO_ROW = 0


def row_number(node_id: str) -> int:
    """The row id a global id's number stands for (NO_ROW if it cannot be one)."""
    if not node_id.isdigit():
        return NO_ROW
    number = int(node_id)
    return number if number <= MAX_ROW_ID else NO_ROW


def row_id(global_id: relay.GlobalID, type_name: str, field: str) -> int:
    if global_id.type_name != type_name or not global_id.node_id.isdigit():
        raise ValidationFailed(f"must be the id of a {type_name}", field=field)
    return row_number(global_id.node_id)


def optional_row_id(global_id: relay.GlobalID | None, type_name: str, field: str) -> int | None:
    return None if global_id is None else row_id(global_id, type_name, field)
