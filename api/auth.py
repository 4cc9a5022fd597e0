"""Who is calling: a Bearer JWT (JWKS or the development HS256 secret) or a clinic's API key.

The result is an `Actor`; the request middleware binds its data scope to the request's
session before any resolver runs, so nothing downstream can read outside it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cachetools import LRUCache, TTLCache
from sqlalchemy.ext.asyncio import AsyncSession

from cases.kit.actor import Actor, ClinicScope, Role
from cases.registry.api_keys import ApiClientService
from cases.registry.repository import RepresentativeRepository
from cases.tenancy import DataScope, bind_scope
from core.settings import Settings

ASYMMETRIC_ALGORITHMS = ["RS256", "ES256"]
# Role names accepted in a token's `role`/`roles` claim or Keycloak's `realm_access.roles`.
ADMIN_ROLE = "admin"
FUND_ROLE = "territorial_fund"


class AuthenticationFailed(Exception):
    """The request carries no usable credentials; `reason` is safe to show to the caller."""

    def __init__(self, reason: str, *, status: int = 401, error: str = "invalid_token") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.error = error


def mint_development_token(
    secret: str,
    *,
    subject: str,
    roles: list[str],
    lifetime: timedelta = timedelta(hours=12),
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """An HS256 token for development and tests (production verifies by JWKS only)."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {"sub": subject, "roles": roles, "iat": now, "exp": now + lifetime}
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")


def _roles(claims: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for value in (claims.get("role"), claims.get("roles")):
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list):
            found.update(item for item in value if isinstance(item, str))
    realm = claims.get("realm_access")
    if isinstance(realm, dict) and isinstance(realm.get("roles"), list):
        found.update(item for item in realm["roles"] if isinstance(item, str))
    return found


_TOKEN_ERRORS: list[tuple[type[Exception], str]] = [
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not valid yet"),
    (jwt.InvalidAudienceError, "token audience is not this API"),
    (jwt.InvalidIssuerError, "token issuer is not trusted"),
    (jwt.MissingRequiredClaimError, "token lacks a required claim"),
    (jwt.InvalidSignatureError, "token signature is invalid"),
    (jwt.InvalidAlgorithmError, "token algorithm is not accepted"),
]


class VerifiedTokens:
    """Claims of the tokens verified lately, kept until the token expires: a caller sends the
    same token with every request, and its signature need not be checked every time (a tenth
    of a compiled read's CPU). A token is kept only once it passed every check; what it is
    compared with afterwards (issuer, audience, keys) comes from the settings, which do not
    change while the process runs."""

    def __init__(self, size: int = 4096) -> None:
        self.known: LRUCache[str, dict[str, Any]] = LRUCache(size)

    def get(self, token: str, now: float) -> dict[str, Any] | None:
        claims = self.known.get(token)
        if claims is None:
            return None
        if not now < claims["exp"]:
            del self.known[token]
            return None
        return claims

    def keep(self, token: str, claims: dict[str, Any]) -> None:
        if isinstance(claims.get("exp"), int | float):
            self.known[token] = claims


class Authenticator:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.jwks = (
            jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True, lifespan=300, timeout=5)
            if settings.jwt_jwks_url
            else None
        )
        self.verified = VerifiedTokens()
        # The representatives found by subject lately (`Settings.identity_cache_seconds`): a
        # caller sends request after request, and looking them up opened a transaction for
        # each (a statement, BEGIN and COMMIT, and the ORM's work) that cost more than the
        # patient card they asked for. Only someone found is kept.
        self.representatives: TTLCache[str, Actor] | None = (
            TTLCache(4096, settings.identity_cache_seconds, timer=clock)
            if settings.identity_cache_seconds > 0
            else None
        )

    def forget(self, subject: str) -> None:
        """Drop what is kept of a representative's login, so that its next request is judged
        from their record (after they were deactivated, unlinked or changed)."""
        if self.representatives is not None:
            self.representatives.pop(subject[:200], None)

    async def actor(self, authorization: str | None, session: AsyncSession) -> Actor:
        if not authorization:
            raise AuthenticationFailed("credentials required", error="invalid_request")
        scheme, _, credentials = authorization.strip().partition(" ")
        credentials = credentials.strip()
        if not credentials:
            raise AuthenticationFailed("credentials required", error="invalid_request")
        # Identity lookups run before the caller's scope exists, so they are unrestricted.
        bind_scope(session, DataScope(unrestricted=True, read_only=True))
        if scheme.lower() == "bearer":
            return await self._from_token(credentials, session)
        if scheme.lower() == "apikey":
            return await self._from_api_key(credentials, session)
        raise AuthenticationFailed("use the Bearer or ApiKey scheme", error="invalid_request")

    async def _claims(self, token: str) -> dict[str, Any]:
        claims = self.verified.get(token, time.time())
        if claims is None:
            claims = await self._verify(token)
            self.verified.keep(token, claims)
        return claims

    async def _verify(self, token: str) -> dict[str, Any]:
        settings = self.settings
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            if algorithm == "HS256":
                if not settings.jwt_hs256_secret:
                    raise AuthenticationFailed("token algorithm is not accepted")
                claims: dict[str, Any] = jwt.decode(
                    token,
                    settings.jwt_hs256_secret,
                    algorithms=["HS256"],
                    audience=settings.jwt_audience,
                    issuer=settings.jwt_issuer,
                    options={
                        "require": ["exp", "sub"],
                        "verify_aud": settings.jwt_audience is not None,
                    },
                )
                return claims
            if algorithm not in ASYMMETRIC_ALGORITHMS or self.jwks is None:
                raise AuthenticationFailed("token algorithm is not accepted")
            # PyJWKClient fetches over blocking HTTP (and caches): keep it off the event loop.
            key = await asyncio.to_thread(self.jwks.get_signing_key_from_jwt, token)
            claims = jwt.decode(
                token,
                key,
                algorithms=ASYMMETRIC_ALGORITHMS,
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
            return claims
        except jwt.PyJWKClientConnectionError:
            raise AuthenticationFailed(
                "cannot fetch the identity provider's keys; try again later",
                status=503,
                error="temporarily_unavailable",
            ) from None
        except jwt.PyJWKClientError:
            raise AuthenticationFailed("token signing key is unknown") from None
        except jwt.PyJWTError as error:
            for kind, reason in _TOKEN_ERRORS:
                if isinstance(error, kind):
                    raise AuthenticationFailed(reason) from None
            raise AuthenticationFailed("token is malformed") from None

    async def _from_token(self, token: str, session: AsyncSession) -> Actor:
        claims = await self._claims(token)
        subject = str(claims["sub"])[:200]
        roles = _roles(claims)
        if ADMIN_ROLE in roles:
            return Actor(role=Role.ADMIN, label=f"admin:{subject}"[:100])
        if FUND_ROLE in roles:
            return Actor(role=Role.TERRITORIAL_FUND, label=f"territorial_fund:{subject}"[:100])
        known = self.representatives.get(subject) if self.representatives is not None else None
        if known is not None:
            return known
        representative = await RepresentativeRepository.from_session(session).by_subject(subject)
        if representative is None or not representative.active:
            raise AuthenticationFailed("no active representative is linked to this account")
        role = Role.SUPERVISOR if representative.is_supervisor else Role.REPRESENTATIVE
        actor = Actor(
            role=role,
            label=f"{role.value}:{representative.id}",
            representative_id=representative.id,
            level=representative.level,
            insurer_id=representative.insurer_id,
        )
        if self.representatives is not None:
            self.representatives[subject] = actor
        return actor

    async def _from_api_key(self, key: str, session: AsyncSession) -> Actor:
        client = await ApiClientService(session, self.settings.api_key_secret).authenticate(key)
        if client is None:
            raise AuthenticationFailed("API key is not valid")
        if not client.active:
            raise AuthenticationFailed("API key was revoked")
        return Actor(
            role=Role.CLINIC_SYSTEM,
            label=f"api_client:{client.id}",
            clinic_id=client.clinic_id,
            scopes=frozenset(ClinicScope(scope) for scope in client.scopes),
        )
