"""The Starlette application: `/graphql`, health probes, and the request middleware around them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import dramatiq
import orjson
import sqlalchemy as sa
from cross_web import HTTPException
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

import cases.metadata  # noqa: F401 - every domain's tables on the metadata before the first flush
from api.auth import Authenticator
from api.logins import LoginChanges
from api.middleware import (
    AuthenticationMiddleware,
    BodySizeLimitMiddleware,
    DatabaseSessionMiddleware,
    Outage,
    RequestIdMiddleware,
    unavailable_response,
)
from api.rate_limit import RateLimiter
from api.reports import MEDIA_TYPES, ReportFormat, file_name, monthly_report, render
from api.webhooks import postal_batch, route_refusal, sms_webhook
from cases.kit.actor import Actor, Role
from cases.kit.errors import DomainError
from core.broker import broker_problem
from core.db import READ_ONLY, RequestTransaction, database_unavailable
from core.settings import Settings
from reminders.gateway import SmsGatewayStandIn
from reminders.rules import case_rules
from schema import DispensarySchema, build_schema
from schema.compiled import NotCompiled
from schema.core.context import Context
from schema.core.errors import is_expected, log_errors, masked

DEV_SMS_GATEWAY_PATH = "/dev/sms-gateway"
JSON = "application/json"
# What a plain GraphQL request over POST holds; one with `extensions` goes through strawberry.
PLAIN_REQUEST = frozenset({"query", "variables", "operationName"})


def _unavailable(request_id: str) -> Response:
    start, body = unavailable_response(request_id)
    headers = {key.decode(): value.decode() for key, value in start["headers"]}
    headers.pop("content-length", None)
    return Response(body["body"], status_code=start["status"], headers=headers)


def _is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower() == JSON


class GraphQLRoute(GraphQL[Context, None]):
    schema: DispensarySchema

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        response = await self.known_answer(request)
        if response is not None:
            await response(scope, receive, send)
            return
        # Strawberry reads the body again: it is handed over once more, then the stream goes on.
        body = await request.body()
        handed: list[bool] = []

        async def replay() -> Message:
            if handed:
                return await receive()
            handed.append(True)
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            answer = await self.run(Request(scope=scope, receive=replay))
            if getattr(request.state, "database_unavailable", False):
                # The database is away: say so, and when to come back, rather than INTERNAL.
                transaction: RequestTransaction = request.state.transaction
                request.app.state.outage.noticed(transaction.request_id)
                answer = _unavailable(transaction.request_id)
        except HTTPException as refusal:
            # Strawberry answers a request it cannot read (malformed JSON, no query) in plain
            # text; a client reads GraphQL error bodies.
            answer = JSONResponse(
                {"errors": [{"message": refusal.reason, "extensions": {"code": "BAD_REQUEST"}}]},
                status_code=refusal.status_code,
            )
        await answer(scope, receive, send)

    async def known_answer(self, request: Request) -> Response | None:
        """A compiled read's answer to a query already judged for this caller, or None.

        A query is parsed, validated against the schema's rules, the caller's permissions and
        the cost limit, and answered through strawberry's pipeline the first time; the schema
        keeps its verdicts and its parsed document. Sent again by a caller of the same
        permission profile, with page sizes it was judged with, it passed all of them, and a
        compiled read answers it without that pipeline's per-request work (a third of a card's
        CPU, measured). Anything else (unknown, refused, not compilable) goes the usual way.
        """
        reads = self.schema.compiled_reads
        actor = getattr(request.state, "actor", None)
        if reads is None or actor is None or not _is_json(request):
            return None
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        if not isinstance(payload, dict) or payload.keys() - PLAIN_REQUEST:
            return None
        query, variables = payload.get("query"), payload.get("variables")
        operation_name = payload.get("operationName")
        if not (
            isinstance(query, str)
            and isinstance(variables, dict | None)
            and isinstance(operation_name, str | None)
        ):
            return None
        document = reads.document_of(query)
        if document is None or not self.schema.admits(query, actor, variables):
            return None
        context = await self.get_context(request)
        try:
            data = await reads.answer(
                self.schema._schema, document, query, operation_name, variables, context
            )
        except NotCompiled:
            return None
        except Exception as error:  # noqa: BLE001 - answered as the executor answers it
            if database_unavailable(error):
                request.app.state.outage.noticed(context.request_id)
                context.transaction.failed = True
                return _unavailable(context.request_id)
            failure = GraphQLError(str(error), original_error=error)
            log_errors([failure], None)
            context.transaction.failed = True
            data, errors = None, [masked(failure, context.request_id).formatted]
            return Response(orjson.dumps({"data": data, "errors": errors}), media_type=JSON)
        reads.answered += 1
        reads.early += 1
        return Response(orjson.dumps({"data": data}), media_type=JSON)

    async def get_context(self, request: Request, response: Response | None = None) -> Context:  # type: ignore[override]
        transaction: RequestTransaction = request.state.transaction
        return Context(
            request=request,
            response=response,
            transaction=transaction,
            # The middleware sets it for every request but those of public paths.
            actor=getattr(request.state, "actor", None) or Actor.anonymous(),
            rules=request.app.state.rules,
            forget_identity=request.app.state.authenticator.forget,
        )

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        # orjson also writes the JSON a compiled read took from the database as it is
        # (`orjson.Fragment`).
        return orjson.dumps(data)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors:
            # Any error (even a masked one in a sibling field) discards the request's writes.
            transaction: RequestTransaction = request.state.transaction
            transaction.failed = True
            if any(database_unavailable(error.original_error) for error in result.errors):
                request.state.database_unavailable = True
            # Masking is an extension, which an error raised out of another extension's hook
            # skips: whatever is still unexpected here is masked now (and was logged).
            result.errors = [
                error if is_expected(error) else masked(error, transaction.request_id)
                for error in result.errors
            ]
        return await super().process_result(request, result)


async def _database_problem(engine: AsyncEngine, within: float = 3.0) -> str | None:
    async def probe() -> None:
        async with engine.connect() as connection:
            await connection.execution_options(**{READ_ONLY: True})
            await connection.execute(sa.text("SELECT 1"))

    try:
        await asyncio.wait_for(probe(), within)
    except TimeoutError:
        return "database did not answer in time"
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"
        return f"database unreachable ({type(error).__name__})"
    return None


def _administrators_only(app: ASGIApp) -> ASGIApp:
    """What the local SMS gateway took (phone numbers, whole texts) is shown to the
    administrator alone; messages are handed over without a token (the worker's POSTs)."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        actor = scope.get("state", {}).get("actor")
        if (
            scope["type"] == "http"
            and scope["method"] != "POST"
            and (actor is None or actor.role is not Role.ADMIN)
        ):
            await JSONResponse(
                {"code": "PERMISSION_DENIED", "message": "for the administrator only"},
                status_code=403,
            )(scope, receive, send)
            return
        await app(scope, receive, send)

    return guarded


def create_app(
    settings: Settings,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    broker: dramatiq.Broker,
    lifespan: Any = None,
    sms_gateway: SmsGatewayStandIn | None = None,
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

    async def monthly_report_file(request: Request) -> Response:
        """GET /reports/monthly?period=2026-10&format=csv|xlsx: the report as a download."""
        transaction: RequestTransaction = request.state.transaction
        refused = route_refusal(request, "Query.statistics")
        if refused is not None:
            return refused
        month = request.query_params.get("period", "")
        try:
            format = ReportFormat(request.query_params.get("format", "csv"))
        except ValueError:
            return JSONResponse(
                {"code": "VALIDATION", "field": "format", "message": "must be csv or xlsx"},
                status_code=400,
            )
        try:
            rows = await monthly_report(transaction.session, settings.default_timezone, month)
        except DomainError as error:
            return JSONResponse(
                {"code": error.code.value, "field": error.field, "message": error.message},
                status_code=400,
            )
        return Response(
            render(rows, format),
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="{file_name(month, format)}"'},
        )

    graphql = GraphQLRoute(
        build_schema(
            production=settings.is_production,
            max_cost=settings.max_query_cost,
            compiled_reads=settings.compiled_reads,
        ),
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=False,
    )
    authenticator = Authenticator(settings)
    outage = Outage()
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
        Middleware(DatabaseSessionMiddleware, session_factory=session_factory, outage=outage),
        Middleware(
            AuthenticationMiddleware,
            authenticator=authenticator,
            limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
            graphiql_path=None if settings.is_production else "/graphql",
        ),
    ]
    routes: list[Route | Mount] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/webhooks/sms/{provider}", sms_webhook, methods=["POST"]),
        Route("/letters/{day}.csv", postal_batch, methods=["GET"]),
        Route("/reports/monthly", monthly_report_file, methods=["GET"]),
    ]
    if sms_gateway is not None:
        # Development only: the local SMS gateway, so the whole pipeline runs with nothing else.
        if settings.is_production:
            raise ValueError("the local SMS gateway is for development only")
        routes.append(Mount(DEV_SMS_GATEWAY_PATH, app=_administrators_only(sms_gateway.app())))
    logins = LoginChanges(engine, authenticator.forget)

    @contextlib.asynccontextmanager
    async def listening(app: Starlette) -> AsyncIterator[None]:
        await logins.start()
        try:
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            await logins.stop()

    application = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=listening,
    )
    application.state.settings = settings
    application.state.schema = graphql.schema
    application.state.rules = case_rules(settings)
    application.state.authenticator = authenticator
    application.state.outage = outage
    return application
