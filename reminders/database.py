"""The worker's own engine: async connections belong to the event loop that opened them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.db import create_engine, create_session_factory
from core.settings import get_settings

_engine: AsyncEngine | None = None
_factory: async_sessionmaker[AsyncSession] | None = None


def worker_sessions() -> async_sessionmaker[AsyncSession]:
    """Sessions for actors; the engine is made on first use, inside the worker's event loop."""
    global _engine, _factory
    if _factory is None:
        # A connection the server closed is refused at checkout for free (`core.db`); one cut
        # off silently fails its message instead, which invalidates the whole pool, and the
        # broker retries the message: every actor is idempotent.
        _engine = create_engine(get_settings())
        _factory = create_session_factory(_engine)
    return _factory


def forget_worker_engine() -> None:
    """Drop the engine without closing it: its event loop (a stopped worker's) is gone."""
    global _engine, _factory
    _engine, _factory = None, None
