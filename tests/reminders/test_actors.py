"""What the broker does with an actor's failure: a refusal by the domain's rules is not retried,
anything else is, within the actor's stated retries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from cases.kit.errors import InvalidState
from cases.supervision.scan import MissedVisitScan
from core.broker import install_broker
from reminders.actors import appeals, delivery, visits


@pytest.fixture
def stub_worker() -> Iterator[StubBroker]:
    broker = install_broker("memory://")
    assert isinstance(broker, StubBroker)
    broker.declare_queue("scans")
    worker = dramatiq.Worker(broker, worker_timeout=50)
    worker.start()
    try:
        yield broker
    finally:
        worker.stop()


def scan_raising(error: Exception, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The missed-visit scan, made to fail with `error`; returns the list its calls go into."""
    calls: list[int] = []

    async def run(*_args: Any, **_kwargs: Any) -> int:
        calls.append(1)
        raise error

    monkeypatch.setattr(MissedVisitScan, "run", run)
    return calls


def run_scan(broker: StubBroker) -> None:
    # Backoff of a few milliseconds, so that the retries happen within the test.
    visits.flag_missed_visits.send_with_options(min_backoff=1, max_backoff=5)
    broker.join("scans", fail_fast=False)


def test_a_refusal_by_the_domain_is_not_retried(
    stub_worker: StubBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = scan_raising(InvalidState("the scan cannot run"), monkeypatch)

    run_scan(stub_worker)

    assert len(calls) == 1
    assert len(stub_worker.dead_letters) == 1


def test_an_unexpected_failure_is_retried_as_often_as_the_actor_says(
    stub_worker: StubBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = scan_raising(RuntimeError("connection reset"), monkeypatch)

    run_scan(stub_worker)

    assert len(calls) == 1 + visits.flag_missed_visits.options["max_retries"]
    assert len(stub_worker.dead_letters) == 1


def test_every_actor_states_its_retries_time_limit_and_what_it_does_not_retry() -> None:
    for actor in (
        visits.flag_missed_visits,
        appeals.scan_appeal_deadlines,
        delivery.dispatch_due_reminders,
        delivery.send_reminders,
        delivery.split_batch,
        delivery.send_reminder,
        delivery.dead_letter,
    ):
        assert {"max_retries", "time_limit", "throws"} <= actor.options.keys(), actor.actor_name
