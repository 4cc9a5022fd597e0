"""Tests for cases.reminders.policy: reminder plans, quiet hours, SMS length, templates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from cases.patients.models import Channel
from cases.reminders.models import ReminderKind
from cases.reminders.policy import (
    MESSAGE_TEMPLATES,
    Reachability,
    ReminderPolicy,
    first_channel,
    next_allowed_send_time,
    reminders_after_miss,
    reminders_for_visit,
    render,
    sms_segments,
)

MOSCOW = ZoneInfo("Europe/Moscow")
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")
BERLIN = ZoneInfo("Europe/Berlin")

POLICY = ReminderPolicy()
REACHABLE = Reachability(phone=True, email=True, postal_address=True, consents={})


# --- Reminders ------------------------------------------------------------------------------


def test_visit_without_appointment_gets_an_invitation_at_quiet_start() -> None:
    # when
    planned = reminders_for_visit(
        POLICY,
        visit_id=7,
        window_start=date(2025, 6, 1),
        appointment_at=None,
        zone=VLADIVOSTOK,
        reachability=REACHABLE,
        now=datetime(2025, 5, 1, tzinfo=UTC),
    )

    # then: 09:00 in Vladivostok (UTC+10) is 23:00 UTC the day before
    assert len(planned) == 1
    (invitation,) = planned
    assert invitation.kind is ReminderKind.INVITATION
    assert invitation.template == "invitation"
    assert invitation.channel is Channel.SMS
    assert invitation.scheduled_for == datetime(2025, 5, 31, 23, tzinfo=UTC)
    assert invitation.idempotency_key == "visit:7:invitation:2025-06-01"


def test_visit_with_appointment_gets_reminders_three_days_and_one_day_before() -> None:
    # given: the appointment is at 10:30 Moscow time on 20 June
    appointment_at = datetime(2025, 6, 20, 10, 30, tzinfo=MOSCOW)

    # when
    planned = reminders_for_visit(
        POLICY,
        visit_id=7,
        window_start=date(2025, 6, 1),
        appointment_at=appointment_at,
        zone=MOSCOW,
        reachability=REACHABLE,
        now=datetime(2025, 5, 1, tzinfo=UTC),
    )

    # then
    assert [(r.kind, r.template, r.scheduled_for) for r in planned] == [
        (ReminderKind.INVITATION, "invitation", datetime(2025, 6, 1, 6, tzinfo=UTC)),
        (
            ReminderKind.APPOINTMENT_3_DAYS,
            "appointment_3_days",
            datetime(2025, 6, 17, 6, tzinfo=UTC),
        ),
        (ReminderKind.APPOINTMENT_1_DAY, "appointment_1_day", datetime(2025, 6, 19, 6, tzinfo=UTC)),
    ]


def test_reminders_already_past_are_dropped() -> None:
    # given: it is 18 June, after the invitation and the 3-day reminder
    now = datetime(2025, 6, 18, 12, tzinfo=UTC)

    # when
    planned = reminders_for_visit(
        POLICY,
        visit_id=7,
        window_start=date(2025, 6, 1),
        appointment_at=datetime(2025, 6, 20, 10, 30, tzinfo=MOSCOW),
        zone=MOSCOW,
        reachability=REACHABLE,
        now=now,
    )

    # then
    assert [r.kind for r in planned] == [ReminderKind.APPOINTMENT_1_DAY]


def test_unreachable_patient_gets_no_reminders() -> None:
    # given: no contacts at all, or only channels the patient withdrew
    nothing = Reachability(phone=False, email=False, postal_address=False, consents={})
    withdrawn = Reachability(
        phone=True,
        email=False,
        postal_address=False,
        consents={Channel.SMS: False, Channel.VOICE_CALL: False},
    )

    for reachability in (nothing, withdrawn):
        # when
        planned = reminders_for_visit(
            POLICY,
            visit_id=7,
            window_start=date(2025, 6, 1),
            appointment_at=None,
            zone=MOSCOW,
            reachability=reachability,
            now=datetime(2025, 5, 1, tzinfo=UTC),
        )

        # then
        assert planned == []
        assert first_channel(POLICY, reachability) is None


def test_withdrawn_sms_consent_falls_back_to_email() -> None:
    # given
    reachability = Reachability(
        phone=True, email=True, postal_address=True, consents={Channel.SMS: False}
    )

    # when
    planned = reminders_for_visit(
        POLICY,
        visit_id=7,
        window_start=date(2025, 6, 1),
        appointment_at=None,
        zone=MOSCOW,
        reachability=reachability,
        now=datetime(2025, 5, 1, tzinfo=UTC),
    )

    # then
    assert [r.channel for r in planned] == [Channel.EMAIL]


@pytest.mark.parametrize(
    ("reachability", "expected"),
    [
        (Reachability(phone=True, email=True, postal_address=True, consents={}), Channel.SMS),
        (Reachability(phone=False, email=True, postal_address=True, consents={}), Channel.EMAIL),
        (
            Reachability(
                phone=True, email=False, postal_address=True, consents={Channel.SMS: False}
            ),
            Channel.VOICE_CALL,
        ),
        (Reachability(phone=False, email=False, postal_address=True, consents={}), Channel.POST),
        (
            Reachability(
                phone=False, email=False, postal_address=True, consents={Channel.POST: False}
            ),
            None,
        ),
        (
            Reachability(phone=True, email=True, postal_address=True, consents={Channel.SMS: True}),
            Channel.SMS,
        ),
    ],
)
def test_first_channel_walks_the_ladder(
    reachability: Reachability, expected: Channel | None
) -> None:
    assert first_channel(POLICY, reachability) == expected


def test_missed_visit_plans_rebooking_and_call_task() -> None:
    # when
    planned = reminders_after_miss(
        POLICY,
        visit_id=9,
        missed_on=date(2025, 7, 10),
        zone=MOSCOW,
        reachability=REACHABLE,
        now=datetime(2025, 7, 10, 3, tzinfo=UTC),
    )

    # then
    assert [(r.kind, r.channel, r.scheduled_for, r.idempotency_key) for r in planned] == [
        (
            ReminderKind.REBOOKING,
            Channel.SMS,
            datetime(2025, 7, 11, 6, tzinfo=UTC),
            "visit:9:rebooking:2025-07-11",
        ),
        (
            ReminderKind.CALL_TASK,
            Channel.VOICE_CALL,
            datetime(2025, 7, 17, 6, tzinfo=UTC),
            "visit:9:call_task:2025-07-17",
        ),
    ]


def test_no_call_task_without_a_phone_or_voice_consent() -> None:
    # given
    email_only = Reachability(phone=False, email=True, postal_address=False, consents={})
    no_calls = Reachability(
        phone=True, email=True, postal_address=False, consents={Channel.VOICE_CALL: False}
    )

    for reachability in (email_only, no_calls):
        # when
        planned = reminders_after_miss(
            POLICY,
            visit_id=9,
            missed_on=date(2025, 7, 10),
            zone=MOSCOW,
            reachability=reachability,
            now=datetime(2025, 7, 10, tzinfo=UTC),
        )

        # then
        assert [r.kind for r in planned] == [ReminderKind.REBOOKING]


def test_call_task_uses_working_hours() -> None:
    # given
    policy = ReminderPolicy(quiet_start=time(10), work_start=time(8))

    # when
    planned = reminders_after_miss(
        policy,
        visit_id=9,
        missed_on=date(2025, 7, 10),
        zone=MOSCOW,
        reachability=REACHABLE,
        now=datetime(2025, 7, 1, tzinfo=UTC),
    )

    # then
    assert [r.scheduled_for.astimezone(MOSCOW).time() for r in planned] == [time(10), time(8)]


def test_recomputing_a_plan_yields_the_same_idempotency_keys() -> None:
    # given
    arguments = {
        "visit_id": 7,
        "window_start": date(2025, 6, 1),
        "appointment_at": datetime(2025, 6, 20, 7, 30, tzinfo=UTC),
        "zone": MOSCOW,
        "reachability": REACHABLE,
    }

    # when: the second run happens later, as a retried job would
    first = reminders_for_visit(POLICY, now=datetime(2025, 5, 1, tzinfo=UTC), **arguments)
    second = reminders_for_visit(POLICY, now=datetime(2025, 5, 2, tzinfo=UTC), **arguments)

    # then
    assert [r.idempotency_key for r in first] == [r.idempotency_key for r in second]
    assert len({r.idempotency_key for r in first}) == 3


@pytest.mark.parametrize(
    "changes",
    [
        {"appointment_reminder_days": (2,)},
        {"appointment_reminder_days": (3, 3)},
        {"ladder": ()},
        {"quiet_start": time(20), "quiet_end": time(9)},
        {"work_start": time(18), "work_end": time(18)},
        {"rebooking_after_miss_days": -1},
    ],
)
def test_policy_rejects_invalid_settings(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 — each case has its own message
        ReminderPolicy(**changes)


# --- Quiet hours -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "zone", "expected"),
    [
        # 23:30 Moscow → 09:00 next day Moscow
        (
            datetime(2025, 3, 10, 23, 30, tzinfo=MOSCOW),
            MOSCOW,
            datetime(2025, 3, 11, 6, tzinfo=UTC),
        ),
        # 23:30 Vladivostok → 09:00 next day Vladivostok, 23:00 UTC of the local day before
        (
            datetime(2025, 3, 10, 23, 30, tzinfo=VLADIVOSTOK),
            VLADIVOSTOK,
            datetime(2025, 3, 10, 23, tzinfo=UTC),
        ),
        # 08:00 → 09:00 the same day
        (datetime(2025, 3, 10, 8, tzinfo=MOSCOW), MOSCOW, datetime(2025, 3, 10, 6, tzinfo=UTC)),
        # 12:00 → unchanged
        (datetime(2025, 3, 10, 12, tzinfo=MOSCOW), MOSCOW, datetime(2025, 3, 10, 9, tzinfo=UTC)),
        # exactly at the end is outside
        (datetime(2025, 3, 10, 20, tzinfo=MOSCOW), MOSCOW, datetime(2025, 3, 11, 6, tzinfo=UTC)),
        # a UTC instant is judged by the patient's clock: 14:00 UTC is 00:00 in Vladivostok
        (datetime(2025, 3, 10, 14, tzinfo=UTC), VLADIVOSTOK, datetime(2025, 3, 10, 23, tzinfo=UTC)),
        # across a DST change (Berlin springs forward on 30 March 2025): 09:00 CEST is 07:00 UTC
        (
            datetime(2025, 3, 29, 23, 30, tzinfo=BERLIN),
            BERLIN,
            datetime(2025, 3, 30, 7, tzinfo=UTC),
        ),
    ],
)
def test_next_allowed_send_time(at: datetime, zone: ZoneInfo, expected: datetime) -> None:
    # when
    allowed = next_allowed_send_time(at, zone, time(9), time(20))

    # then
    assert allowed == expected
    assert allowed.tzinfo is UTC


def test_next_allowed_send_time_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_allowed_send_time(datetime(2025, 3, 10, 12), MOSCOW, time(9), time(20))


# --- SMS length ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("я" * 70, 1),
        ("я" * 71, 2),
        ("я" * 134, 2),
        ("я" * 135, 3),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("a" * 159 + "ё", 3),
    ],
)
def test_sms_segments(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


# --- Templates -------------------------------------------------------------------------------


def test_every_reminder_kind_has_a_template() -> None:
    assert set(MESSAGE_TEMPLATES) == {kind.value for kind in ReminderKind}


def test_render_fills_the_invitation() -> None:
    # when
    text = render(
        "invitation",
        name="Тест Тестович",
        clinic="Поликлиника № 0",
        window_start="01.06.2025",
        window_end="01.07.2025",
        hotline="8-800-000-00-00",
    )

    # then
    assert text.startswith("Здравствуйте, Тест Тестович!")
    assert "с 01.06.2025 по 01.07.2025" in text
    assert "{" not in text


def test_render_rejects_unknown_templates_and_missing_values() -> None:
    with pytest.raises(KeyError, match="unknown message template 'birthday'"):
        render("birthday", name="Тест")
    with pytest.raises(KeyError, match="needs a value for 'clinic'"):
        render("rebooking", name="Тест", hotline="8-800-000-00-00")
