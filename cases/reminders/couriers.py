"""What a courier is: the message it is handed, what it answers, and the delivery limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, runtime_checkable

from cases.patients.models import Channel
from cases.reminders.models import (
    DeliveryError,
)


@dataclass(frozen=True)
class OutgoingMessage:
    """One message for a courier; `idempotency_key` is the same on every attempt."""

    channel: Channel
    recipient: str
    subject: str
    text: str
    idempotency_key: str


@dataclass(frozen=True)
class Accepted:
    """The provider took the message; an SMS courier says how many parts it is billed as."""

    provider_message_id: str
    sms_segments: int | None = None
    # Which provider took it (its receipts come to /webhooks/sms/{provider}).
    provider: str | None = None


class DeliveryFailed(Exception):
    """A courier could not hand the message over; `detail` names a code, never personal data."""

    def __init__(self, error: DeliveryError, detail: str, *, permanent: bool) -> None:
        super().__init__(f"{error.value}: {detail}")
        self.error = error
        self.detail = detail[:500]
        self.permanent = permanent


class Courier(Protocol):
    async def deliver(self, message: OutgoingMessage) -> Accepted: ...


@runtime_checkable
class BatchCourier(Courier, Protocol):
    """A courier that hands many messages over at once (a provider's bulk endpoint)."""

    async def deliver_many(
        self, messages: Sequence[OutgoingMessage]
    ) -> Sequence[Accepted | DeliveryFailed]:
        """One result per message, in order; a failure is returned, not raised."""
        ...


@dataclass(frozen=True)
class DeliveryLimits:
    max_attempts: int = 6
    min_backoff: timedelta = timedelta(seconds=30)
    max_backoff: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=24)

    def backoff(self, attempts: int) -> timedelta:
        """Exponential: min, 2·min, 4·min, ... capped at max."""
        grown: timedelta = self.min_backoff * 2 ** max(0, attempts - 1)
        return min(self.max_backoff, grown)

    @property
    def stale_after(self) -> timedelta:
        """A queued reminder untouched this long has lost its message (no retry waits longer)."""
        return self.max_backoff + timedelta(minutes=10)


async def handed_over(courier: Courier, message: OutgoingMessage) -> Accepted | DeliveryFailed:
    """What the courier answered for `message`: its acceptance, or its failure returned."""
    try:
        return await courier.deliver(message)
    except DeliveryFailed as failure:
        return failure
