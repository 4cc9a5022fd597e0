"""What every actor shares: the worker's clock and couriers, delivery limits, what is not retried."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import cases.metadata  # noqa: F401 - every domain's tables on the metadata before the first flush
from cases.kit.columns import utcnow
from cases.kit.errors import DomainError
from cases.patients.models import Channel
from cases.reminders.couriers import Courier, DeliveryLimits
from core.settings import Settings, get_settings
from reminders.channels import couriers_from_settings

TEN_MINUTES_MS = 10 * 60 * 1000

ONE_MINUTE_MS = 60 * 1000


# A refusal by the domain's own rules: the same message would be refused the same way, so the
# broker does not retry it (the next slot of a periodic job runs anyway).
NOT_RETRIED: tuple[type[Exception], ...] = (DomainError,)


_couriers: dict[Channel, Courier] | None = None


# What the actors take for "now"; replaceable, so that a run can be played at another time.
_clock: Callable[[], datetime] = utcnow


def now() -> datetime:
    return _clock()


def use_clock(replacement: Callable[[], datetime] | None) -> None:
    """Replace the actors' clock (None: the real one again)."""
    global _clock
    _clock = replacement or utcnow


def couriers() -> dict[Channel, Courier]:
    """This process's couriers, made once from the settings."""
    global _couriers
    if _couriers is None:
        _couriers = couriers_from_settings(get_settings())
    return _couriers


def use_couriers(replacement: dict[Channel, Courier] | None) -> None:
    """Replace the couriers (None: build them from the settings again on next use)."""
    global _couriers
    _couriers = replacement


def delivery_limits(settings: Settings) -> DeliveryLimits:
    return DeliveryLimits(
        max_attempts=settings.delivery_max_attempts,
        min_backoff=timedelta(seconds=settings.delivery_min_backoff_seconds),
        max_backoff=timedelta(seconds=settings.delivery_max_backoff_seconds),
        max_age=timedelta(hours=settings.delivery_max_age_hours),
    )
