"""ASGI middleware: a request id on every request and log line, and one database session per request."""

from __future__ import annotations

import json
import time
import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cases.repository import session_lock
from core.db import RequestTransaction

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


class DatabaseSessionMiddleware:
    """Opens the request's session, then commits it (or rolls it back) before the response leaves.

    The response is held until the transaction ends, so a client never sees success for a
    change that failed to commit.
    """

    def __init__(self, app: ASGIApp, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.app = app
        self.session_factory = session_factory

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
        transaction = RequestTransaction(session=session, request_id=request_id)
        state["transaction"] = transaction
        try:
            await self.app(scope, receive, hold)
            status = next((m["status"] for m in held if m["type"] == "http.response.start"), 500)
            failed = transaction.failed or status >= 400
        except Exception:
            log.exception("request.unhandled_error")
            held, failed = _internal_error(request_id), True
        # A resolver abandoned by a failing sibling may still be using the session: wait for
        # it before the transaction ends, and close the session so that it cannot go on.
        async with session_lock(session):
            try:
                if failed:
                    await session.rollback()
                else:
                    try:
                        await session.commit()
                    except Exception:
                        log.exception("request.commit_failed")
                        await session.rollback()
                        held = _internal_error(request_id)
            finally:
                await session.close()
        for message in held:
            await send(message)


def _internal_error(request_id: str) -> list[Message]:
    body = json.dumps(
        {
            "data": None,
            "errors": [
                {
                    "message": "Unexpected error; quote the request id when reporting it.",
                    "extensions": {"code": "INTERNAL", "requestId": request_id},
                }
            ],
        }
    ).encode()
    return [
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        },
        {"type": "http.response.body", "body": body},
    ]
