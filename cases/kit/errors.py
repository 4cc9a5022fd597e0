"""Expected failures of the domain: each has a machine-readable code and the input field it concerns."""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INVALID_STATE = "INVALID_STATE"


class DomainError(Exception):
    """A failure the caller can act on; everything else is an unexpected error and is masked."""

    code: ErrorCode = ErrorCode.VALIDATION

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(DomainError):
    code = ErrorCode.VALIDATION


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class Conflict(DomainError):
    code = ErrorCode.CONFLICT

    def __init__(
        self, message: str, *, field: str | None = None, current_version: int | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.current_version = current_version


class PermissionDenied(DomainError):
    code = ErrorCode.PERMISSION_DENIED


class InvalidState(DomainError):
    code = ErrorCode.INVALID_STATE


class InvalidValue(ValueError):
    """A client-supplied value failed validation.

    ``message`` is a short English sentence meant for the API client; it never
    contains the rejected personal value itself.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
