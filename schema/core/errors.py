"""Expected failures as schema types, and masking of everything unexpected."""

from __future__ import annotations

import re
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
import structlog
from graphql import (
    BREAK,
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    Node,
    ObjectFieldNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    Visitor,
    visit,
)
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext
from strawberry.utils.str_converters import to_camel_case

from cases.kit import errors as domain
from cases.kit.savepoints import in_savepoint
from core.db import database_unavailable

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
    # No original error: a syntax or validation error of the document itself. Before execution
    # (no path), a variable that could not be read is the client's too, whatever the reader
    # raised; during it, a domain error or a value a scalar could not read.
    original = error.original_error
    if original is None:
        return True
    if error.path is None and isinstance(original, GraphQLError):
        return True
    return isinstance(original, domain.DomainError | StrawberryInputCoercionError)


class MaskUnexpectedErrors(MaskErrors):
    """Replace unexpected errors by one message carrying the request id the logs are keyed by."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not is_expected(error))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return masked(error, getattr(self.execution_context.context, "request_id", None))


def masked(error: GraphQLError, request_id: str | None) -> GraphQLError:
    """What the client sees of an unexpected error: where, and the request id; never its text
    (the original stays attached for the server's own use, never formatted)."""
    return GraphQLError(
        message="Unexpected error; quote the request id when reporting it.",
        nodes=error.nodes,
        path=error.path,
        original_error=error.original_error,
        extensions={"code": "INTERNAL", "requestId": request_id},
    )


def caller_name(field: str) -> str:
    """A domain's field name (`case_ids`, `filter.clinic_id`) as the caller writes it."""
    return ".".join(to_camel_case(part) for part in field.split("."))


# The refusals of the limits (`schema.MAX_DEPTH`, `MAX_ALIASES`, `MAX_TOKENS`), by their words.
LIMITS = re.compile(
    r"exceeds maximum operation depth|aliases found\. Allowed|Document contains more than \d+ tokens"
)
# graphql-core's words for a variable it could not read, and where in the value.
VARIABLE = re.compile(r"^Variable '\$(\w+)' (?:has invalid value(?: at ((?:\.\w+|\[\d+\])+))?|of )")
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"


def describe_expected(
    error: GraphQLError,
    document: DocumentNode | None = None,
    variables: dict[str, Any] | None = None,
) -> None:
    """Give every expected error a code and, where it can be told, the field: a domain error its
    own; a variable that could not be read its path (`i.reason`); a value written in the
    document that could not be read the argument it stands in (`input.caseId`)."""
    extensions = dict(error.extensions or {})
    original = error.original_error
    if isinstance(original, domain.DomainError):
        extensions["code"] = original.code.value
        extensions["field"] = None if original.field is None else caller_name(original.field)
    else:
        if "code" not in extensions:
            limit = LIMITS.search(error.message)
            extensions["code"] = QUERY_TOO_COMPLEX if limit else domain.ErrorCode.VALIDATION.value
        field = extensions.get("field") or _field_of(error, document, variables)
        if field is not None:
            extensions["field"] = field
    error.extensions = extensions


def _field_of(
    error: GraphQLError, document: DocumentNode | None, variables: dict[str, Any] | None
) -> str | None:
    variable = VARIABLE.match(error.message)
    if variable is not None:
        name, path = variable.groups()
        return name + re.sub(r"\[(\d+)\]", r".\1", path or "")
    if not error.nodes:
        # A value written in the document that a scalar refused, and quotes.
        if document is None:
            return None
        for written in _strings(document):
            if f'"{written.value}"' in error.message:
                return argument_path(document, written)
        return None
    node = error.nodes[0]
    if document is not None and isinstance(node, ValueNode):
        return argument_path(document, node)
    if isinstance(node, FieldNode):
        # A value a scalar refused while the field's arguments were read: the one it quotes,
        # written in the document or sent as a variable.
        for argument in node.arguments or ():
            if isinstance(argument.value, VariableNode):
                sent = (variables or {}).get(argument.value.name.value)
                if isinstance(sent, str) and f'"{sent}"' in error.message:
                    return argument.name.value
            for value in _strings(argument.value):
                if f'"{value.value}"' in error.message:
                    return argument_path(node, value)
    return None


def _strings(node: Node) -> list[StringValueNode]:
    """The string values written in a document, an argument or a value, in order."""
    found: list[StringValueNode] = []

    class Strings(Visitor):
        def enter_string_value(self, value: StringValueNode, *_: Any) -> None:
            found.append(value)

    visit(node, Strings())
    return found


def argument_path(document: Node, value: Node) -> str | None:
    """The argument and input fields (`input.caseId`) a value of the document stands in."""

    class Finder(Visitor):
        def __init__(self) -> None:
            super().__init__()
            self.path: list[str] = []
            self.found: str | None = None

        def enter(self, node: Node, *_: Any) -> Any:
            if isinstance(node, ArgumentNode | ObjectFieldNode):
                self.path.append(node.name.value)
            if node is value:
                self.found = ".".join(self.path)
                return BREAK
            return None

        def leave(self, node: Node, *_: Any) -> None:
            if isinstance(node, ArgumentNode | ObjectFieldNode):
                self.path.pop()

    finder = Finder()
    visit(document, finder)
    return finder.found or None


def log_errors(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    document = execution_context.graphql_document if execution_context is not None else None
    variables = execution_context.variables if execution_context is not None else None
    for error in errors:
        if is_expected(error):
            describe_expected(error, document, variables)
            continue
        original = error.original_error
        if database_unavailable(original):
            continue  # an outage, which the request's route logs once for all requests
        # The type, path and frames only: exception messages may quote personal data.
        log.error(
            "graphql.unexpected_error",
            error_type=type(original).__name__,
            path=".".join(str(part) for part in error.path or ()),
            stack="".join(traceback.format_tb(original.__traceback__)) if original else None,
        )
