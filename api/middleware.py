"""ASGI middleware: a request id on every request and log line, a body size limit, one database
session per request, and the caller's identity, data scope and rate limit."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import replace

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import AuthenticationFailed, Authenticator
from api.rate_limit import RateLimiter
from cases.kit.repository import session_lock
from cases.tenancy import NOTHING, DataScope, bind_scope
from core.db import RequestTransaction, database_unavailable

log = structlog.get_logger("dispensary.request")

REQUEST_ID_HEADER = b"x-request-id"


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            candidate: str = value.decode("latin-1")[:64]
            if candidate.replace("-", "").isalnum():
                return candidate
    return None


class RequestIdMiddleware:
    """Takes the caller's X-Request-ID (or makes one), binds it to the logs and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER, request_id.encode()),
                ]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                # The path only: query strings may carry identifiers.
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )


# How long a client is asked to wait before it retries while the database is away.
RETRY_AFTER_SECONDS = 5


class Outage:
    """A database outage, logged once when the first request meets it and once when it ends,
    rather than once per request refused meanwhile."""

    def __init__(self) -> None:
        self.since: float | None = None

    def noticed(self, request_id: str) -> None:
        if self.since is None:
            self.since = time.monotonic()
            log.error("database.unavailable", request_id=request_id)

    def passed(self) -> None:
        if self.since is not None:
            log.info("database.recovered", seconds=round(time.monotonic() - self.since, 1))
            self.since = None


def unavailable_response(request_id: str) -> list[Message]:
    """503 with Retry-After: the request changed nothing, and may be sent again shortly."""
    return error_response(
        503,
        "The service cannot reach its database; retry shortly.",
        {"code": "SERVICE_UNAVAILABLE", "requestId": request_id},
        headers=[(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
    )


class DatabaseSessionMiddleware:
    """Opens the request's session, then commits it (or rolls it back) before the response leaves.

    The response is held until the transaction ends, so a client never sees success for a
    change that failed to commit.
    """

    def __init__(
        self,
        app: ASGIApp,
        session_factory: async_sessionmaker[AsyncSession],
        outage: Outage | None = None,
    ) -> None:
        self.app = app
        self.session_factory = session_factory
        self.outage = outage or Outage()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_id = state.get("request_id", "")
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        session = self.session_factory()
        # Fail closed: the session sees nothing until the caller is known.
        bind_scope(session, NOTHING)
        transaction = RequestTransaction(session=session, request_id=request_id)
        state["transaction"] = transaction
        try:
            await self.app(scope, receive, hold)
            status = next((m["status"] for m in held if m["type"] == "http.response.start"), 500)
            failed = transaction.failed or status >= 400
        except Exception as error:
            if database_unavailable(error):
                self.outage.noticed(request_id)
                held, failed = unavailable_response(request_id), True
            else:
                log.exception("request.unhandled_error")
                held, failed = _internal_error(request_id), True
        # A resolver abandoned by a failing sibling may still be using the session: wait for
        # it before the transaction ends, and close the session so that it cannot go on.
        async with session_lock(session):
            if session.in_transaction():
                try:
                    held = await _end(session, failed, held, request_id, self.outage)
                finally:
                    await session.close()
            elif session.identity_map or session.new or session.deleted:
                # A session that never held a connection has nothing to end or release: closing
                # it would only forget its objects, and costs a round through a greenlet even
                # when it holds none.
                session.expunge_all()
        for message in held:
            await send(message)


async def _end(
    session: AsyncSession, failed: bool, held: list[Message], request_id: str, outage: Outage
) -> list[Message]:
    """Roll back a failed request's transaction, commit any other's; the response to send."""
    if failed:
        with contextlib.suppress(Exception):
            await session.rollback()
        return held
    try:
        await session.commit()
    except Exception as error:
        with contextlib.suppress(Exception):
            await session.rollback()
        if database_unavailable(error):
            outage.noticed(request_id)
            return unavailable_response(request_id)
        log.exception("request.commit_failed")
        return _internal_error(request_id)
    outage.passed()
    return held


def _internal_error(request_id: str) -> list[Message]:
    return error_response(
        500,
        "Unexpected error; quote the request id when reporting it.",
        {"code": "INTERNAL", "requestId": request_id},
    )


def error_response(
    status: int,
    message: str,
    extensions: dict[str, object],
    headers: list[tuple[bytes, bytes]] | None = None,
) -> list[Message]:
    """A GraphQL-shaped JSON error answered before (or instead of) the GraphQL layer."""
    body = json.dumps(
        {"data": None, "errors": [{"message": message, "extensions": extensions}]}
    ).encode()
    return [
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


async def _answer(send: Send, messages: list[Message]) -> None:
    for message in messages:
        await send(message)


class BodySizeLimitMiddleware:
    """Refuses a request body above `max_bytes` (413) before anything parses it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def too_large(self) -> list[Message]:
        return error_response(
            413, f"request body exceeds {self.max_bytes} bytes", {"code": "PAYLOAD_TOO_LARGE"}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _answer(send, self.too_large())
            return
        # Read the (small) body up to the limit, then replay it to the application.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await _answer(send, self.too_large())
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


class AuthenticationMiddleware:
    """Resolves the caller, binds their data scope to the request's session, applies the rate limit.

    Without credentials only the probes and, in development, GraphiQL's page are served.
    """

    PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})
    # Providers' callbacks authenticate by signature.
    PUBLIC_PREFIXES = ("/webhooks/sms/",)
    # The local SMS gateway (development only) takes the worker's messages without a token;
    # reading what it took needs one (`api.app`).
    PUBLIC_POSTS = ("/dev/sms-gateway/",)

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        limiter: RateLimiter,
        graphiql_path: str | None,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.limiter = limiter
        self.graphiql_path = graphiql_path

    def is_public(self, scope: Scope) -> bool:
        return (
            scope["path"] in self.PUBLIC_PATHS
            or scope["path"].startswith(self.PUBLIC_PREFIXES)
            or (scope["method"] == "POST" and scope["path"].startswith(self.PUBLIC_POSTS))
            or (scope["method"] == "GET" and scope["path"] == self.graphiql_path)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.is_public(scope):
            await self.app(scope, receive, send)
            return
        transaction: RequestTransaction = scope["state"]["transaction"]
        try:
            actor = await self.authenticator.actor(
                Headers(scope=scope).get("authorization"), transaction.session
            )
        except AuthenticationFailed as failure:
            bind_scope(transaction.session, NOTHING)
            challenge = f'Bearer realm="dispensary", error="{failure.error}", error_description="{failure.reason}"'
            await _answer(
                send,
                error_response(
                    failure.status,
                    failure.reason,
                    {"code": "UNAUTHENTICATED" if failure.status == 401 else "UNAVAILABLE"},
                    [(b"www-authenticate", challenge.encode())],
                ),
            )
            return
        actor = replace(actor, request_id=transaction.request_id)
        bind_scope(transaction.session, DataScope.of(actor))
        wait = self.limiter.retry_after(actor.label)
        if wait is not None:
            await _answer(
                send,
                error_response(
                    429,
                    f"too many requests; retry in {wait} s",
                    {"code": "RATE_LIMITED", "retryAfter": wait},
                    [(b"retry-after", str(wait).encode())],
                ),
            )
            return
        scope["state"]["actor"] = actor
        with structlog.contextvars.bound_contextvars(actor=actor.label):
            await self.app(scope, receive, send)
