"""The domain's configurable rules (plain values the domain defines), built from the settings for
the workers and the API alike."""

from __future__ import annotations

from cases.patients.models import Channel
from cases.reminders.policy import ReminderPolicy
from cases.supervision.policy import CaseRules
from core.settings import Settings


def channel_ladder(settings: Settings) -> tuple[Channel, ...]:
    """The default ladder, less the e-mail rung where no SMTP server is configured: a reminder
    that would only fail there goes straight on to the call. (SMS stays: in development `serve`
    runs a gateway of its own when none is configured.)"""
    return tuple(
        channel
        for channel in ReminderPolicy.ladder
        if channel is not Channel.EMAIL or settings.smtp_url is not None
    )


def case_rules(settings: Settings) -> CaseRules:
    return CaseRules(
        policy=ReminderPolicy(
            ladder=channel_ladder(settings),
            quiet_start=settings.quiet_hours_start,
            quiet_end=settings.quiet_hours_end,
            work_start=settings.working_hours_start,
            work_end=settings.working_hours_end,
        ),
        default_visits_per_year=settings.default_visits_per_year,
        default_zone=settings.default_timezone,
    )
