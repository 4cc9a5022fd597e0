"""The dates a person may enter: a plausible range, so that no value of the calendar's extremes
reaches the database (PostgreSQL would store them as ±infinity) or date arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Final

from cases.kit.errors import ValidationFailed

EARLIEST: Final = date(1900, 1, 1)
LATEST: Final = date(2199, 12, 31)
_EARLIEST_INSTANT: Final = datetime.combine(EARLIEST, time(0), tzinfo=UTC)
_LATEST_INSTANT: Final = datetime.combine(LATEST, time(23, 59, 59), tzinfo=UTC)


def plausible(day: date, field: str) -> date:
    """`day` if it lies in the years a supervision record can concern, else a refusal."""
    if not EARLIEST <= day <= LATEST:
        raise ValidationFailed(f"must be between {EARLIEST} and {LATEST}", field=field)
    return day


def plausible_instant(at: datetime, field: str) -> datetime:
    """`at` (an aware instant) if it lies in that range, else a refusal."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationFailed("must carry a time zone offset", field=field)
    if not _EARLIEST_INSTANT <= at <= _LATEST_INSTANT:
        raise ValidationFailed(f"must be between {EARLIEST} and {LATEST}", field=field)
    return at
