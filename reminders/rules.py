"""The domain's configurable rules (plain values the domain defines), built from the settings for
the workers and the API alike."""

from __future__ import annotations

from cases.reminders.policy import ReminderPolicy
from cases.supervision.policy import CaseRules
from core.settings import Settings


def case_rules(settings: Settings) -> CaseRules:
    return CaseRules(
        policy=ReminderPolicy(
            quiet_start=settings.quiet_hours_start,
            quiet_end=settings.quiet_hours_end,
            work_start=settings.working_hours_start,
            work_end=settings.working_hours_end,
        ),
        default_visits_per_year=settings.default_visits_per_year,
        default_zone=settings.default_timezone,
    )
