"""A local SMS gateway: the same plain JSON API the SMS courier speaks to a real provider.

`POST /messages {to, text, idempotency_key, callback_url}` accepts a message once per key
(a repeated key answers the first message's id with `duplicate: true`); numbers outside
+7 and the reserved +7000 range are refused with 422 `invalid_recipient`. When a callback
URL is given, a delivery receipt is posted to it, signed like a real provider's.
`POST /messages/batch {messages: [...]}` takes up to 1,000 such messages in one request and
answers `{results: [...]}`, one per message in order, each with the `status` and the body
that a request of its own would have had (bulk sending, as SMS providers offer it).
`GET /messages` lists what was accepted. It serves development (`dispensary serve` mounts it)
and the tests; nothing in it is meant for production traffic.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

log = structlog.get_logger(__name__)

_VALID: Final = re.compile(r"^\+7[1-9][0-9]{9}$")
MAX_BATCH: Final = 1000
RECEIPT_ATTEMPTS: Final = 5
SIGNATURE_HEADER: Final = "X-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class GatewayMessage:
    id: str
    to: str
    text: str
    idempotency_key: str


@dataclass
class SmsGatewayStandIn:
    """State of the stand-in; tests steer it (`fail_next`) and read it (`messages`, `requests`)."""

    secret: str | None = None
    receipt_delay: float = 0.05
    messages: dict[str, GatewayMessage] = field(default_factory=dict)
    # How many times each idempotency key was presented, accepted or not.
    requests: dict[str, int] = field(default_factory=dict)
    # The size of each batch request, in the order they came.
    batches: list[int] = field(default_factory=list)
    _failures: list[int] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def restart(self) -> None:
        """Forget what was taken and number messages from 1 again, as a restarted gateway does."""
        self.messages.clear()
        self.requests.clear()
        self._ids = itertools.count(1)

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next `count` messages with `status` (503: a transient outage)."""
        self._failures.extend([status] * count)

    @property
    def accepted(self) -> list[GatewayMessage]:
        return list(self.messages.values())

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/messages", self._send, methods=["POST"]),
                Route("/messages/batch", self._send_batch, methods=["POST"]),
                Route("/messages", self._list, methods=["GET"]),
            ]
        )

    async def _send(self, request: Request) -> JSONResponse:
        payload = await request.json()
        status, body = self._accept(payload, request.headers.get("idempotency-key"))
        return JSONResponse(body, status_code=status)

    async def _send_batch(self, request: Request) -> JSONResponse:
        payload = await request.json()
        messages = payload.get("messages") if isinstance(payload, dict) else None
        if not isinstance(messages, list) or not messages:
            return JSONResponse({"error": "messages_required"}, status_code=400)
        if len(messages) > MAX_BATCH:
            return JSONResponse({"error": "batch_too_large"}, status_code=413)
        self.batches.append(len(messages))
        results = []
        for message in messages:
            status, body = self._accept(message if isinstance(message, dict) else {}, None)
            results.append({"status": status, **body})
        return JSONResponse({"results": results}, status_code=200)

    def _accept(
        self, payload: dict[str, Any], header_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        """One message: (HTTP status, answer body), the same alone or in a batch."""
        key = str(payload.get("idempotency_key") or header_key or "")
        if not key:
            return 400, {"error": "idempotency_key_required"}
        self.requests[key] = self.requests.get(key, 0) + 1
        if self._failures:
            return self._failures.pop(0), {"error": "unavailable"}
        if key in self.messages:
            return 200, {"id": self.messages[key].id, "duplicate": True}
        to = str(payload.get("to", ""))
        if not _VALID.match(to) or to.startswith("+7000"):
            return 422, {"error": "invalid_recipient"}
        message = GatewayMessage(
            id=f"gw-{next(self._ids)}",
            to=to,
            text=str(payload.get("text", "")),
            idempotency_key=key,
        )
        self.messages[key] = message
        callback = payload.get("callback_url")
        if callback:
            task = asyncio.create_task(self._receipt(str(callback), message.id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return 201, {"id": message.id, "duplicate": False}

    async def _list(self, _: Request) -> JSONResponse:
        return JSONResponse(
            [
                {"id": m.id, "to": m.to, "text": m.text, "idempotency_key": m.idempotency_key}
                for m in self.messages.values()
            ]
        )

    async def _receipt(self, url: str, message_id: str) -> None:
        await asyncio.sleep(self.receipt_delay)
        body = json.dumps(
            {"event": "receipt", "message_id": message_id, "status": "delivered"}
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        # As providers do: a receipt the service did not take (an error, no answer) is sent
        # again, a few times, each time after a longer pause.
        async with httpx.AsyncClient(timeout=5) as client:
            for attempt in range(RECEIPT_ATTEMPTS):
                try:
                    response = await client.post(url, content=body, headers=headers)
                    if response.is_success:
                        return
                    problem = f"http {response.status_code}"
                except httpx.HTTPError as error:
                    problem = type(error).__name__
                log.warning("sms_gateway.receipt_failed", error=problem, attempt=attempt + 1)
                await asyncio.sleep(self.receipt_delay * 2 ** (attempt + 1))
