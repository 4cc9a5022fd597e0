"""The deadlines of 59-ФЗ: registration, answer, extension, and when an appeal is near its deadline."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

# Calendar days: weekends and holidays count like any other day, and a due date that falls
# on a Saturday stays there.
APPEAL_REGISTRATION_DAYS: Final = 3


APPEAL_ANSWER_DAYS: Final = 30


APPEAL_MAX_EXTENSION_DAYS: Final = 30


APPEAL_NEAR_DEADLINE_DAYS: Final = 5


@dataclass(frozen=True)
class AppealDeadlines:
    registration_due: date
    answer_due: date


def appeal_deadlines(received_on: date, registered_on: date) -> AppealDeadlines:
    """Registration within 3 days of receipt; the answer within 30 days of registration."""
    return AppealDeadlines(
        registration_due=received_on + timedelta(days=APPEAL_REGISTRATION_DAYS),
        answer_due=registered_on + timedelta(days=APPEAL_ANSWER_DAYS),
    )


def extended_answer_due(answer_due: date, days: int) -> date:
    """The answer deadline after the one extension the law allows (1 to 30 days)."""
    if not 1 <= days <= APPEAL_MAX_EXTENSION_DAYS:
        raise ValueError(f"an extension is 1 to {APPEAL_MAX_EXTENSION_DAYS} days, not {days}")
    return answer_due + timedelta(days=days)


class AppealDeadlineStage(enum.StrEnum):
    NEAR = "near"
    OVERDUE = "overdue"


def appeal_deadline_priority(stage: AppealDeadlineStage) -> int:
    """An overdue appeal is the most urgent item a representative has; a near one comes next."""
    return 1 if stage is AppealDeadlineStage.OVERDUE else 2


def appeal_deadline_stage(
    answer_due: date, today: date, near_days: int
) -> AppealDeadlineStage | None:
    if answer_due < today:
        return AppealDeadlineStage.OVERDUE
    if (answer_due - today).days <= near_days:
        return AppealDeadlineStage.NEAR
    return None
