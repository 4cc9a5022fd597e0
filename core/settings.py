"""Configuration of every Dispensary process, read from `DISPENSARY_*` environment variables."""

from __future__ import annotations

import enum
from datetime import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DATABASE_SCHEMES = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
BROKER_SCHEMES = ("memory", "redis", "rediss", "amqp", "amqps")
DEVELOPMENT_API_KEY_SECRET = "development-only-api-key-secret"


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{Path.cwd() / 'dispensary.sqlite3'}"


ENV_PREFIX = "DISPENSARY_"


def env(field: str) -> str:
    """The environment variable that sets a field."""
    return ENV_PREFIX + field.upper()


class Settings(BaseSettings):
    """Everything a deployment may change; defaults give the embedded single-process mode."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = Field(default_factory=_default_database_url)
    broker_url: str = "memory://"
    default_timezone: str = "Europe/Moscow"
    quiet_hours_start: time = time(9, 0)
    quiet_hours_end: time = time(20, 0)
    working_hours_start: time = time(9, 0)
    working_hours_end: time = time(18, 0)
    grace_period_days: int = Field(default=7, ge=0, le=90)
    default_visits_per_year: int = Field(default=1, ge=1, le=52)
    appeal_near_deadline_days: int = Field(default=5, ge=0, le=30)
    database_pool_size: int = Field(default=10, ge=1, le=200)
    log_level: str = "INFO"
    log_json: bool = False
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Where clients and providers reach this service (delivery-receipt callbacks).
    public_url: str = "http://127.0.0.1:8000"
    # SMS over an HTTP gateway; unset in development, `serve` runs the local stand-in.
    sms_gateway_url: str | None = None
    sms_provider: str = Field(default="gateway", pattern=r"^[a-z0-9-]{1,32}$")
    sms_webhook_secret: SecretStr | None = None
    # E-mail over SMTP: smtp://user:password@host:port (smtps:// for TLS); unset = no e-mail.
    smtp_url: SecretStr | None = None
    mail_from: str = "dispensary@localhost"
    # Transient delivery failures retry with exponential backoff, bounded in count and age.
    delivery_max_attempts: int = Field(default=6, ge=1, le=50)
    delivery_min_backoff_seconds: float = Field(default=30.0, gt=0)
    delivery_max_backoff_seconds: float = Field(default=1800.0, gt=0)
    delivery_max_age_hours: float = Field(default=24.0, gt=0)
    # Bearer tokens: verified against the identity provider's JWKS (RS256/ES256) ...
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # ... or, for development, against a shared HS256 secret.
    jwt_hs256_secret: str | None = Field(default=None, min_length=32)
    # A representative looked up by a token's subject is known for this long: deactivated,
    # moved to another insurer or level, they are seen as such within it. 0: every request.
    identity_cache_seconds: float = Field(default=30.0, ge=0, le=3600)
    # Keys API keys are hashed with (HMAC-SHA-256); changing it invalidates every key.
    api_key_secret: str = Field(default=DEVELOPMENT_API_KEY_SECRET, min_length=16)
    max_query_cost: int = Field(default=10_000, ge=100)
    max_request_bytes: int = Field(default=256 * 1024, ge=1024)
    rate_limit_per_minute: int = Field(default=600, ge=1)
    rate_limit_burst: int = Field(default=100, ge=1)
    # Queries whose fields are all columns and relations are answered with JSON built by
    # PostgreSQL (`schema.compiled`); off, every query takes the general executor.
    compiled_reads: bool = True

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"must start with sqlite:// or postgresql:// (got scheme {scheme or 'none'!r})"
            )
        return f"{DATABASE_SCHEMES[scheme]}://{rest}"

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        scheme = value.partition("://")[0]
        if scheme not in BROKER_SCHEMES:
            raise ValueError(
                f"unknown broker scheme {scheme!r}: use memory://, redis:// or amqp://"
            )
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _token_verification(self) -> Settings:
        if self.jwt_jwks_url and not (self.jwt_issuer and self.jwt_audience):
            raise ValueError(
                f"{env('jwt_jwks_url')} needs {env('jwt_issuer')} and {env('jwt_audience')} "
                "to check tokens"
            )
        if self.is_production and self.jwt_hs256_secret:
            raise ValueError(
                f"{env('jwt_hs256_secret')} is for development; production verifies by JWKS"
            )
        if self.is_production and self.api_key_secret == DEVELOPMENT_API_KEY_SECRET:
            raise ValueError(f"set {env('api_key_secret')} in production")
        return self

    @model_validator(mode="after")
    def _ordered_hours(self) -> Settings:
        for start, end in (
            ("quiet_hours_start", "quiet_hours_end"),
            ("working_hours_start", "working_hours_end"),
        ):
            if getattr(self, start) >= getattr(self, end):
                raise ValueError(
                    f"{env(start)} ({getattr(self, start):%H:%M}) must be before "
                    f"{env(end)} ({getattr(self, end):%H:%M})"
                )
        if self.delivery_min_backoff_seconds > self.delivery_max_backoff_seconds:
            raise ValueError(
                f"{env('delivery_min_backoff_seconds')} must not exceed "
                f"{env('delivery_max_backoff_seconds')}"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)


_active: Settings | None = None


def get_settings() -> Settings:
    """The process's settings: read from the environment once, unless `use_settings` set them."""
    global _active
    if _active is None:
        _active = Settings()
    return _active


def use_settings(settings: Settings) -> None:
    """Make `settings` the process's own (the embedded `serve` adds the local stand-ins)."""
    global _active
    _active = settings
