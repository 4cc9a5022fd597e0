"""Small checks services share: domain errors from invalid values, texts, zones, versions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cases.kit.errors import Conflict, InvalidValue, ValidationFailed
from cases.kit.validation import plain_text

T = TypeVar("T")

MAX_TEXT = 10000


def validation_error(error: InvalidValue) -> ValidationFailed:
    return ValidationFailed(error.message, field=error.field)


def validated(call: Callable[[], T]) -> T:
    try:
        return call()
    except InvalidValue as error:
        raise validation_error(error) from None


def checked_zone(name: str, field_name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed("is not a known time zone", field=field_name) from None
    return name


def check_version(entity: Any, expected: int, what: str) -> None:
    if entity.version != expected:
        raise Conflict(
            f"the {what} was changed meanwhile (version {entity.version}); reload and retry",
            field="version",
            current_version=entity.version,
        )


def checked_text(value: str, field_name: str, limit: int = MAX_TEXT) -> str:
    """Free text a person wrote (lines allowed, no control characters), not empty."""
    text = validated(lambda: plain_text(value, field_name, limit, lines=True))
    if not text:
        raise ValidationFailed("must not be empty", field=field_name)
    return text


def local_date(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()
