"""Couriers: the SMS gateway over HTTP and e-mail over SMTP, each configured by a URL.

A courier hands one message over and says how it went; what counts as permanent (move to
the next channel) or transient (try again later) is decided here, from the protocol's answer.
Error details name a status or an exception type, never the recipient or the text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx

from cases.patients.models import Channel
from cases.reminders.couriers import Accepted, Courier, DeliveryFailed, OutgoingMessage, handed_over
from cases.reminders.models import DeliveryError
from cases.reminders.policy import sms_segments
from core.settings import Settings

PERMANENT_HTTP = frozenset({400, 403, 404, 409, 410, 422})


class SmsGatewayCourier:
    """POSTs to `{base_url}/messages` with the reminder's idempotency key; several messages go
    in one request to `{base_url}/messages/batch`, each still under its own key."""

    def __init__(
        self,
        base_url: str,
        callback_url: str | None,
        timeout: float = 10.0,
        provider: str = "gateway",
    ) -> None:
        self.provider = provider
        self.url = base_url.rstrip("/") + "/messages"
        self.batch_url = self.url + "/batch"
        self.callback_url = callback_url
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # Made on first use, inside the loop that sends (the worker's or the test's).
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _payload(self, message: OutgoingMessage) -> dict[str, Any]:
        return {
            "to": message.recipient,
            "text": message.text,
            "idempotency_key": message.idempotency_key,
            "callback_url": self.callback_url,
        }

    async def deliver(self, message: OutgoingMessage) -> Accepted:
        response = await self._post(
            self.url,
            self._payload(message),
            headers={"Idempotency-Key": message.idempotency_key},
        )
        if not response.is_success:
            raise _failure(response.status_code, _error_code(response))
        return _accepted(_answer(response), message, self.provider)

    async def deliver_many(
        self, messages: Sequence[OutgoingMessage]
    ) -> list[Accepted | DeliveryFailed]:
        """One request for the lot; each message's answer is judged as if it came alone."""
        if len(messages) == 1:
            return [await handed_over(self, messages[0])]
        try:
            response = await self._post(
                self.batch_url, {"messages": [self._payload(m) for m in messages]}
            )
            if not response.is_success:
                # The request as a whole was refused: no verdict on any recipient, try again.
                code = _error_code(response)
                raise DeliveryFailed(
                    DeliveryError.UNAVAILABLE,
                    f"batch: http {response.status_code} {code}",
                    permanent=False,
                )
            results = _answer(response).get("results")
            if not isinstance(results, list) or len(results) != len(messages):
                raise DeliveryFailed(
                    DeliveryError.UNAVAILABLE,
                    "answer without a result per message",
                    permanent=False,
                )
        except DeliveryFailed as failure:
            return [failure] * len(messages)
        return [
            _item_outcome(item, m, self.provider) for item, m in zip(results, messages, strict=True)
        ]

    async def _post(
        self, url: str, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        try:
            return await self._http().post(url, json=payload, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryFailed(
                DeliveryError.UNAVAILABLE, type(error).__name__, permanent=False
            ) from None


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DeliveryFailed(DeliveryError.UNAVAILABLE, "answer is not an object", permanent=False)
    return body


def _accepted(body: Mapping[str, Any], message: OutgoingMessage, provider: str) -> Accepted:
    if "id" not in body:
        raise DeliveryFailed(
            DeliveryError.UNAVAILABLE, "answer without a message id", permanent=False
        )
    return Accepted(
        provider_message_id=str(body["id"]),
        sms_segments=sms_segments(message.text),
        provider=provider,
    )


def _item_outcome(item: Any, message: OutgoingMessage, provider: str) -> Accepted | DeliveryFailed:
    """One message's answer inside a batch: its own status and body."""
    try:
        if not isinstance(item, dict) or not isinstance(item.get("status"), int):
            raise DeliveryFailed(
                DeliveryError.UNAVAILABLE, "result without a status", permanent=False
            )
        if not 200 <= item["status"] < 300:
            raise _failure(item["status"], str(item.get("error", ""))[:64])
        return _accepted(item, message, provider)
    except DeliveryFailed as failure:
        return failure


def _failure(status: int, code: str) -> DeliveryFailed:
    """What an HTTP status (and the gateway's error code) means for the reminder."""
    if status in PERMANENT_HTTP:
        reason = (
            DeliveryError.INVALID_RECIPIENT
            if code == "invalid_recipient"
            else DeliveryError.REJECTED
        )
        return DeliveryFailed(reason, f"http {status} {code}", permanent=True)
    return DeliveryFailed(DeliveryError.UNAVAILABLE, f"http {status} {code}", permanent=False)


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", ""))[:64] if isinstance(body, dict) else ""


class SmtpCourier:
    """Sends through one SMTP server; a 5xx answer for the recipient is a hard bounce."""

    def __init__(self, url: str, sender: str, timeout: float = 15.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("the SMTP URL must look like smtp://user:password@host:port")
        self.hostname = parts.hostname
        self.use_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.use_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    async def deliver(self, message: OutgoingMessage) -> Accepted:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject
        # The same reminder always carries the same Message-ID, so a repeat can be recognised.
        message_id = make_msgid(
            idstring=message.idempotency_key.replace(":", "."), domain="dispensary"
        )
        email["Message-ID"] = message_id
        email.set_content(message.text)
        try:
            await aiosmtplib.send(
                email,
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = {error.code for error in refused.recipients}
            permanent = any(code >= 500 for code in codes)
            raise DeliveryFailed(
                DeliveryError.HARD_BOUNCE if permanent else DeliveryError.UNAVAILABLE,
                f"smtp {sorted(codes)}",
                permanent=permanent,
            ) from None
        except aiosmtplib.SMTPResponseException as error:
            permanent = error.code >= 500
            raise DeliveryFailed(
                DeliveryError.REJECTED if permanent else DeliveryError.UNAVAILABLE,
                f"smtp {error.code}",
                permanent=permanent,
            ) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(
                DeliveryError.UNAVAILABLE, type(error).__name__, permanent=False
            ) from None
        return Accepted(provider_message_id=message_id.strip("<>"))


def sms_webhook_url(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/webhooks/sms/{settings.sms_provider}"


def couriers_from_settings(settings: Settings) -> dict[Channel, Courier]:
    """The couriers the settings configure; a channel without one fails over to the next rung."""
    couriers: dict[Channel, Courier] = {}
    if settings.sms_gateway_url:
        couriers[Channel.SMS] = SmsGatewayCourier(
            settings.sms_gateway_url, sms_webhook_url(settings), provider=settings.sms_provider
        )
    if settings.smtp_url is not None:
        couriers[Channel.EMAIL] = SmtpCourier(
            settings.smtp_url.get_secret_value(), settings.mail_from
        )
    return couriers
