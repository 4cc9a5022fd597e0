"""The Starlette application: `/graphql`, health probes, and the request middleware around them."""

from __future__ import annotations

import asyncio
from typing import Any

import dramatiq
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from api.auth import Authenticator
from api.middleware import (
    AuthenticationMiddleware,
    BodySizeLimitMiddleware,
    DatabaseSessionMiddleware,
    RequestIdMiddleware,
)
from api.rate_limit import RateLimiter
from cases.actor import Actor
from core.broker import broker_problem
from core.db import RequestTransaction
from core.rules import case_rules
from core.settings import Settings
from schema import build_schema
from schema.context import Context


class GraphQLRoute(GraphQL[Context, None]):
    async def get_context(self, request: Request, response: Response | None = None) -> Context:  # type: ignore[override]
        transaction: RequestTransaction = request.state.transaction
        return Context(
            request=request,
            response=response,
            transaction=transaction,
            # The middleware sets it for every request but those of public paths.
            actor=getattr(request.state, "actor", None) or Actor.anonymous(),
            rules=request.app.state.rules,
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors:
            # Any error (even a masked one in a sibling field) discards the request's writes.
            request.state.transaction.failed = True
        return await super().process_result(request, result)


async def _database_problem(engine: AsyncEngine, within: float = 3.0) -> str | None:
    async def probe() -> None:
        async with engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))

    try:
        await asyncio.wait_for(probe(), within)
    except TimeoutError:
        return "database did not answer in time"
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"
        return f"database unreachable ({type(error).__name__})"
    return None


def create_app(
    settings: Settings,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    broker: dramatiq.Broker,
    lifespan: Any = None,
) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        problems = [
            problem
            for problem in await asyncio.gather(_database_problem(engine), broker_problem(broker))
            if problem
        ]
        if problems:
            return JSONResponse({"status": "unavailable", "reasons": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    graphql = GraphQLRoute(
        build_schema(production=settings.is_production, max_cost=settings.max_query_cost),
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=False,
    )
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        ),
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes),
        Middleware(DatabaseSessionMiddleware, session_factory=session_factory),
        Middleware(
            AuthenticationMiddleware,
            authenticator=Authenticator(settings),
            limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
            graphiql_path=None if settings.is_production else "/graphql",
        ),
    ]
    application = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    application.state.settings = settings
    application.state.rules = case_rules(settings)
    return application
