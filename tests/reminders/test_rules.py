"""The case rules a deployment's settings make: the channel ladder follows the couriers it has."""

from __future__ import annotations

from cases.patients.models import Channel
from cases.reminders.policy import Reachability, first_channel
from core.settings import Settings
from reminders.rules import case_rules

EMAIL_ONLY = Reachability(phone=False, email=True, postal_address=True, consents={})


def test_without_an_smtp_server_there_is_no_email_rung() -> None:
    policy = case_rules(Settings(smtp_url=None)).policy

    assert policy.ladder == (Channel.SMS, Channel.VOICE_CALL, Channel.POST)
    # A patient with an e-mail address but no phone is written to, not e-mailed.
    assert first_channel(policy, EMAIL_ONLY) is Channel.POST


def test_with_an_smtp_server_the_ladder_is_the_whole_default() -> None:
    policy = case_rules(Settings(smtp_url="smtp://mail.example.test:25")).policy

    assert policy.ladder == (Channel.SMS, Channel.EMAIL, Channel.VOICE_CALL, Channel.POST)
    assert first_channel(policy, EMAIL_ONLY) is Channel.EMAIL
