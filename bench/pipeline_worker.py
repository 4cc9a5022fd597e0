"""The reminder worker of the pipeline scenario: the service's own worker, with the clock pinned.

Run as `python -m bench.pipeline_worker THREADS RUN` with the worker's `DISPENSARY_*` settings
in the environment. It is `dispensary worker` (`reminders.runtime.run_worker`, every actor of
`reminders.actors`, the broker of `core.broker.build_broker`) with three changes, all for the
measurement:

- the actors' clock is pinned to `CLOCK`, inside the patients' waking hours, so that no SMS
  waits for the morning whatever the time of the run;
- each actor's queue carries the run's name (`reminders_RUN`), so that a run neither takes nor
  leaves messages on the queues that other checkouts' workers consume on the same server;
- the SMS courier asks for no delivery receipts: there is no API to receive them.

It prints `ready` once its threads have started and runs until SIGTERM.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Final

from bench.generate import ANCHOR_AT

# 12:00 in Moscow, where every patient of the scenario lives; the reminders fell due an hour ago.
CLOCK: Final = ANCHOR_AT
DUE_AT: Final = CLOCK - timedelta(hours=1)


def run_queue(queue: str, run: str) -> str:
    """The name an actor's queue has in one run of the scenario."""
    return f"{queue}_{run}"


def pinned_clock() -> datetime:
    return CLOCK


def main(threads: int, run: str) -> None:
    from cases.patients.models import Channel
    from core.broker import current_broker
    from core.logging import configure_logging
    from core.settings import get_settings
    from reminders.actors import common
    from reminders.channels import SmsGatewayCourier
    from reminders.runtime import run_worker

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    if settings.sms_gateway_url is None:
        raise SystemExit("DISPENSARY_SMS_GATEWAY_URL is not set")
    # `run_worker` moves the actors to the broker it installs; they keep these queue names.
    for actor in current_broker().actors.values():
        actor.queue_name = run_queue(actor.queue_name, run)
    common.use_clock(pinned_clock)
    common.use_couriers({Channel.SMS: SmsGatewayCourier(settings.sms_gateway_url, None)})
    run_worker(settings, threads, ready=lambda: print("ready", flush=True))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
