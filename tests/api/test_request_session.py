"""The request's session (`api.middleware.DatabaseSessionMiddleware`): ended only when it began."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from api.middleware import DatabaseSessionMiddleware, RequestIdMiddleware
from cases.registry.models import Insurer
from core.db import RequestTransaction, create_engine, create_session_factory
from core.settings import Settings


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/session.db"))
    async with engine.begin() as connection:
        await connection.run_sync(Insurer.__table__.create)
        await connection.execute(sa.insert(Insurer).values(code="01", name="Insurer"))
    yield engine
    await engine.dispose()


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[AsyncSession]:
    """The sessions closed, in order."""
    sessions: list[AsyncSession] = []
    close = AsyncSession.close

    async def watched(self: AsyncSession) -> None:
        sessions.append(self)
        await close(self)

    monkeypatch.setattr(AsyncSession, "close", watched)
    return sessions


def _client(engine: AsyncEngine, *routes: Route) -> httpx.AsyncClient:
    app = Starlette(
        routes=list(routes),
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(DatabaseSessionMiddleware, session_factory=create_session_factory(engine)),
        ],
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def _session(request: Request) -> AsyncSession:
    transaction: RequestTransaction = request.state.transaction
    return transaction.session


async def test_a_session_that_read_is_committed_and_closed(
    engine: AsyncEngine, closed: list[AsyncSession]
) -> None:
    # given
    async def read(request: Request) -> PlainTextResponse:
        found = await _session(request).scalar(sa.select(Insurer.name))
        return PlainTextResponse(str(found))

    # when
    async with _client(engine, Route("/", read)) as client:
        answer = await client.get("/")

    # then
    assert answer.text == "Insurer"
    assert len(closed) == 1
    assert not closed[0].in_transaction()


async def test_a_session_that_never_began_is_not_closed(
    engine: AsyncEngine, closed: list[AsyncSession]
) -> None:
    # given: a request that never touches its session
    async def untouched(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    # when
    async with _client(engine, Route("/", untouched)) as client:
        answer = await client.get("/")

    # then: nothing to end, nothing to release
    assert answer.text == "ok"
    assert closed == []


async def test_objects_of_a_session_whose_transaction_already_ended_are_forgotten(
    engine: AsyncEngine, closed: list[AsyncSession]
) -> None:
    # given: a request that reads a row, then ends the transaction itself
    kept: list[Insurer] = []

    async def ended(request: Request) -> PlainTextResponse:
        session = _session(request)
        insurer = await session.scalar(sa.select(Insurer))
        assert insurer is not None
        kept.append(insurer)
        await session.commit()
        return PlainTextResponse("ok")

    # when
    async with _client(engine, Route("/", ended)) as client:
        await client.get("/")

    # then: the row's object no longer belongs to the finished session
    assert closed == []
    assert sa.inspect(kept[0]).detached
