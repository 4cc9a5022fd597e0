"""Expected failures as schema types, and masking of everything unexpected."""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
import structlog
from graphql import GraphQLError
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext
from strawberry.utils.str_converters import to_camel_case

from cases.kit import errors as domain
from cases.kit.savepoints import in_savepoint

log = structlog.get_logger(__name__)

strawberry.enum(domain.ErrorCode, name="ErrorCode")

T = TypeVar("T")


@strawberry.interface(description="An expected failure: a code, a message and the input field.")
class UserError:
    code: domain.ErrorCode
    message: str
    field: str | None = strawberry.field(
        description="The input field the error concerns, as the client named it."
    )


@strawberry.type
class ValidationError(UserError):
    pass


@strawberry.type
class NotFoundError(UserError):
    pass


@strawberry.type
class ConflictError(UserError):
    current_version: int | None = None


@strawberry.type
class PermissionDeniedError(UserError):
    pass


@strawberry.type
class InvalidStateError(UserError):
    pass


ERROR_TYPES: dict[domain.ErrorCode, type[UserError]] = {
    domain.ErrorCode.VALIDATION: ValidationError,
    domain.ErrorCode.NOT_FOUND: NotFoundError,
    domain.ErrorCode.CONFLICT: ConflictError,
    domain.ErrorCode.PERMISSION_DENIED: PermissionDeniedError,
    domain.ErrorCode.INVALID_STATE: InvalidStateError,
}


def user_error(error: domain.DomainError) -> UserError:
    if isinstance(error, domain.Conflict):
        return ConflictError(
            code=error.code,
            message=error.message,
            field=error.field,
            current_version=error.current_version,
        )
    return ERROR_TYPES[error.code](code=error.code, message=error.message, field=error.field)


async def run_mutation(session: Any, change: Callable[[], Awaitable[T]]) -> T | UserError:
    """Run one mutation in a savepoint: an expected failure leaves nothing half-written."""
    try:
        return await in_savepoint(session, change)
    except domain.DomainError as error:
        return user_error(error)


def is_expected(error: GraphQLError) -> bool:
    # No original error: a syntax or validation error of the document itself; a value a scalar
    # could not read is the client's too (the message names the value and where it stands).
    return error.original_error is None or isinstance(
        error.original_error, domain.DomainError | StrawberryInputCoercionError
    )


class MaskUnexpectedErrors(MaskErrors):
    """Replace unexpected errors by one message carrying the request id the logs are keyed by."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not is_expected(error))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return masked(error, getattr(self.execution_context.context, "request_id", None))


def masked(error: GraphQLError, request_id: str | None) -> GraphQLError:
    """What the client sees of an unexpected error: where, and the request id; never its text."""
    return GraphQLError(
        message="Unexpected error; quote the request id when reporting it.",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL", "requestId": request_id},
    )


def caller_name(field: str) -> str:
    """A domain's field name (`case_ids`, `filter.clinic_id`) as the caller writes it."""
    return ".".join(to_camel_case(part) for part in field.split("."))


def describe_expected(error: GraphQLError) -> None:
    """Give an expected domain error raised outside a mutation its code and field, and a value a
    scalar could not read the validation code."""
    original = error.original_error
    if isinstance(original, domain.DomainError):
        error.extensions = {
            **(error.extensions or {}),
            "code": original.code.value,
            "field": None if original.field is None else caller_name(original.field),
        }
    elif isinstance(error, StrawberryInputCoercionError) or isinstance(
        original, StrawberryInputCoercionError
    ):
        error.extensions = {**(error.extensions or {}), "code": domain.ErrorCode.VALIDATION.value}


def log_errors(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    for error in errors:
        if is_expected(error):
            describe_expected(error)
            continue
        original = error.original_error
        # The type, path and frames only: exception messages may quote personal data.
        log.error(
            "graphql.unexpected_error",
            error_type=type(original).__name__,
            path=".".join(str(part) for part in error.path or ()),
            stack="".join(traceback.format_tb(original.__traceback__)) if original else None,
        )
