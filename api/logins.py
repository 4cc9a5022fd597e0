"""Logins changed in another process: each API process listens for the announcements
(`cases.registry.repository.LOGIN_CHANGES`, PostgreSQL's LISTEN) and forgets what it keeps of
that login, so a representative deactivated through one process is refused by all of them on
their next request. The embedded store runs one process, which forgets at once by itself."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from cases.registry.repository import LOGIN_CHANGES

log = structlog.get_logger(__name__)

# How often a lost listening connection is opened again.
RECONNECT_SECONDS = 5.0


class LoginChanges:
    """Listens on its own connection while started; `forget` is called with each subject."""

    def __init__(self, engine: AsyncEngine, forget: Callable[[str], None]) -> None:
        self.engine = engine
        self.forget = forget
        self.task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        if self.engine.dialect.name == "postgresql" and self.task is None:
            self.task = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    def _heard(self, _connection: Any, _pid: int, _channel: str, subject: str) -> None:
        self.forget(subject)

    async def _listen(self) -> None:
        while True:
            try:
                pooled = await self.engine.raw_connection()
                try:
                    connection = pooled.driver_connection
                    assert connection is not None
                    lost = asyncio.Event()
                    connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
                    await connection.add_listener(LOGIN_CHANGES, self._heard)
                    self.listening.set()
                    await lost.wait()
                finally:
                    self.listening.clear()
                    # The connection listened: it goes, rather than back to the pool.
                    pooled.invalidate()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the listener outlives the database's outages
                log.warning("logins.listener_lost", error_type=type(error).__name__)
            await asyncio.sleep(RECONNECT_SECONDS)
