"""API keys of clinic systems: issued once, stored as a keyed hash, scoped, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cases.audit.service import AuditLog, changes_between, snapshot
from cases.kit.actor import Actor, ClinicScope
from cases.kit.columns import utcnow
from cases.kit.errors import InvalidState, NotFound, ValidationFailed
from cases.registry.models import ApiClient, MedicalOrganization
from cases.registry.repository import ApiClientRepository, ClinicRepository

API_KEY_PREFIX = "dsp"


def hash_api_key(key: str, secret: str) -> str:
    """A keyed SHA-256 (HMAC) of the key.

    Keys carry 256 random bits, so a slow password hash would add latency and no strength;
    the server-side secret makes a copy of the table useless on its own.
    """
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def key_prefix(key: str) -> str | None:
    """The public part of a well-formed key (`dsp_<prefix>_<secret>`), else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


@dataclass(frozen=True)
class IssuedKey:
    client: ApiClient
    # Shown once; only its hash is stored.
    key: str


class ApiClientService:
    def __init__(self, session: AsyncSession, secret: str) -> None:
        self.secret = secret
        self.clients = ApiClientRepository.from_session(session)
        self.clinics = ClinicRepository.from_session(session)
        self.audit = AuditLog(session)

    async def clinic(self, id_or_code: str) -> MedicalOrganization:
        clinic = await self.clinics.by_code(id_or_code)
        if clinic is None and id_or_code.isdigit():
            clinic = await self.clinics.get(int(id_or_code))
        if clinic is None:
            raise NotFound("no clinic with this id or registry code", field="clinic")
        return clinic

    async def issue(
        self, actor: Actor, clinic_ref: str, name: str, scopes: Sequence[str]
    ) -> IssuedKey:
        clinic = await self.clinic(clinic_ref)
        try:
            granted = sorted({ClinicScope(scope).value for scope in scopes})
        except ValueError:
            known = ", ".join(scope.value for scope in ClinicScope)
            raise ValidationFailed(f"scopes must be among: {known}", field="scope") from None
        prefix = secrets.token_hex(4)
        key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        client = ApiClient(
            clinic_id=clinic.id,  # type: ignore[arg-type]
            name=(name.strip() or clinic.code)[:200],
            key_prefix=prefix,
            key_hash=hash_api_key(key, self.secret),
            scopes=granted,
        )
        await self.clients.add(client)
        await self.audit.record(
            actor,
            "api_client.issue",
            client,
            changes_between({}, snapshot(client, ["clinic_id", "name", "key_prefix", "scopes"])),
        )
        return IssuedKey(client=client, key=key)

    async def listing(self, clinic_ref: str | None = None) -> Sequence[ApiClient]:
        clinic_id = (await self.clinic(clinic_ref)).id if clinic_ref else None
        return await self.clients.listing(clinic_id)

    async def revoke(self, actor: Actor, prefix: str) -> ApiClient:
        client = await self.clients.by_prefix(prefix)
        if client is None:
            raise NotFound("no API key with this prefix", field="prefix")
        if not client.active:
            raise InvalidState("the key is revoked already", field="prefix")
        client.active, client.revoked_at = False, utcnow()
        await self.clients.add(client)
        await self.audit.record(
            actor, "api_client.revoke", client, {"active": {"before": True, "after": False}}
        )
        return client

    async def authenticate(self, key: str) -> ApiClient | None:
        """The active client a presented key belongs to, or None (compared in constant time)."""
        prefix = key_prefix(key)
        client = await self.clients.by_prefix(prefix) if prefix else None
        if client is None or not hmac.compare_digest(
            client.key_hash, hash_api_key(key, self.secret)
        ):
            return None
        return client
