"""Scalars the API reads more strictly than strawberry's own."""

from __future__ import annotations

from datetime import UTC, datetime

from strawberry.schema.types.base_scalars import wrap_parser
from strawberry.types.scalar import ScalarDefinition


def _instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.utcoffset() is None:
        raise ValueError("An instant needs its UTC offset, e.g. 2026-11-20T09:00:00+03:00.")
    return parsed


def _in_utc(value: datetime) -> str:
    """Every instant the API writes is in UTC (`+00:00`), whatever offset it was read with: a
    mutation's answer, a later read and a compiled read write the same text."""
    if value.utcoffset() is None:
        return value.isoformat()
    return value.astimezone(UTC).isoformat()


# Every DateTime the API reads is an instant: one without an offset could be any of 24 hours,
# and is refused where it is read, naming the argument or input field.
AWARE_DATETIME = ScalarDefinition(
    name="DateTime",
    description="An instant: ISO 8601 date and time with its UTC offset, e.g. 2026-11-20T09:00:00+03:00; the API writes it in UTC",
    specified_by_url=None,
    serialize=_in_utc,
    parse_value=wrap_parser(_instant, "DateTime"),
    parse_literal=None,
    origin=datetime,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {datetime: AWARE_DATETIME}
