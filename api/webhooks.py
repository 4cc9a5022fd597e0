"""Routes besides GraphQL: the SMS provider's callbacks and the daily postal batch file."""

from __future__ import annotations

import csv
import hmac
import io
import json
from datetime import date
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cases.kit.actor import Actor
from cases.kit.columns import utcnow
from cases.kit.errors import DomainError, InvalidValue
from cases.kit.validation import normalize_phone
from cases.reminders.delivery import ReminderDelivery
from cases.reminders.operations import PostalBatches, SmsReplies
from cases.tenancy import DataScope, bind_scope
from core.db import RequestTransaction
from core.settings import Settings
from reminders.gateway import SIGNATURE_HEADER, signature
from schema.core.permissions import is_permitted

MAX_WEBHOOK_BODY: Final = 64 * 1024
RECEIPT_STATUSES: Final = {"delivered": True, "failed": False, "undelivered": False}


def _problem(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


def route_refusal(request: Request, operation: str) -> Response | None:
    """A download is allowed to whoever may run `operation` (one table serves both)."""
    actor = getattr(request.state, "actor", None)
    if actor is None or not is_permitted(actor, operation):
        return _problem(403, "permission_denied", f"not permitted: {operation}")
    return None


def _signed(settings: Settings, request: Request, body: bytes) -> bool:
    secret = settings.sms_webhook_secret
    if secret is None:
        # Development may run unsigned against the local gateway; production requires a secret.
        return not settings.is_production
    given = request.headers.get(SIGNATURE_HEADER, "")
    return hmac.compare_digest(given, signature(secret.get_secret_value(), body))


async def sms_webhook(request: Request) -> Response:
    """Delivery receipts (`sent` → `delivered`/`failed`) and inbound replies ("STOP") from the provider."""
    settings: Settings = request.app.state.settings
    provider = request.path_params["provider"]
    if provider != settings.sms_provider:
        return _problem(404, "unknown_provider", "no SMS provider by that name is configured")
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BODY:
        return _problem(413, "too_large", f"the body must be at most {MAX_WEBHOOK_BODY} bytes")
    if not _signed(settings, request, body):
        return _problem(401, "bad_signature", f"{SIGNATURE_HEADER} does not match the body")
    try:
        payload: dict[str, Any] = json.loads(body)
        event = payload["event"]
    except (ValueError, KeyError, TypeError):
        return _problem(400, "bad_payload", "expected a JSON object with an 'event' field")
    transaction: RequestTransaction = request.state.transaction
    # The provider is authenticated by its signature and acts for the system, across insurers.
    bind_scope(transaction.session, DataScope(unrestricted=True))
    rules = request.app.state.rules
    if event == "receipt":
        status = payload.get("status")
        message_id = payload.get("message_id")
        if status not in RECEIPT_STATUSES or not isinstance(message_id, str):
            return _problem(
                400, "bad_payload", "a receipt needs message_id and status delivered|failed"
            )
        applied = await ReminderDelivery(transaction.session, rules, {}).apply_receipt(
            provider, message_id, RECEIPT_STATUSES[status], utcnow()
        )
        return JSONResponse({"ok": True, "applied": applied})
    if event == "inbound":
        try:
            phone = normalize_phone(str(payload.get("from", "")), field="from")
        except InvalidValue as error:
            return _problem(400, "bad_payload", f"{error.field}: {error.message}")
        actor = Actor.system(f"sms:{provider}")
        withdrawn = await SmsReplies(transaction.session, rules).receive(
            actor, phone, str(payload.get("text", ""))
        )
        return JSONResponse({"ok": True, "consentsWithdrawn": withdrawn})
    return _problem(400, "bad_payload", "event must be receipt or inbound")


async def postal_batch(request: Request) -> Response:
    """The day's letters as CSV for the mailing house: addressee, address, text."""
    transaction: RequestTransaction = request.state.transaction
    refused = route_refusal(request, "Query.letterBatches")
    if refused is not None:
        return refused
    try:
        day = date.fromisoformat(request.path_params["day"])
    except ValueError:
        return _problem(400, "bad_day", "the day must be written YYYY-MM-DD")
    settings: Settings = request.app.state.settings
    try:
        letters = await PostalBatches(transaction.session, settings.zone).letters(day)
    except DomainError as error:
        return _problem(400, "bad_day", f"the day {error.message}")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["letter_id", "addressee", "postal_address", "text"])
    for letter in letters:
        writer.writerow([letter.reminder_id, letter.addressee, letter.postal_address, letter.text])
    return Response(
        out.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="letters-{day.isoformat()}.csv"'},
    )
