"""Starting the worker and the scheduler: in the API process (embedded) or as their own processes."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

import dramatiq
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.broker import install_broker
from core.db import create_engine, create_session_factory
from core.settings import Settings
from reminders.scheduler import Scheduler, default_jobs


async def start_background(
    settings: Settings,
    broker: dramatiq.Broker,
    sessions: async_sessionmaker[AsyncSession],
    worker_threads: int = 2,
) -> Callable[[], Awaitable[None]]:
    """Start a Dramatiq worker thread pool and the scheduler loop; returns how to stop both."""
    scheduler = Scheduler(sessions, default_jobs())
    worker = dramatiq.Worker(broker, worker_threads=worker_threads)
    worker.start()
    stop = asyncio.Event()
    loop_task = asyncio.create_task(scheduler.run(stop))

    async def stop_background() -> None:
        stop.set()
        await loop_task
        await asyncio.to_thread(worker.stop)

    return stop_background


def run_worker(settings: Settings, threads: int, ready: Callable[[], None] | None = None) -> None:
    """A worker process: consumes every queue until SIGINT or SIGTERM.

    `ready` is called once the worker's threads have started (the benchmark times from there).
    """
    broker = install_broker(settings.broker_url)
    import reminders.actors  # noqa: F401 - declares the actors on the broker

    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()
    if ready is not None:
        ready()
    stopped = asyncio.Event()
    loop = asyncio.new_event_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    try:
        loop.run_until_complete(stopped.wait())
    finally:
        worker.stop()
        loop.close()


async def run_scheduler(settings: Settings) -> None:
    """A scheduler process: ticks until SIGINT or SIGTERM."""
    install_broker(settings.broker_url)
    engine = create_engine(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await Scheduler(create_session_factory(engine), default_jobs()).run(stop)
    finally:
        await engine.dispose()
