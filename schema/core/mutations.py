"""The one path of every mutation: decode, call one service method in a savepoint, return a
member of the mutation's own result union, with the error's field named as the caller sent it.

The domain names the field an error concerns by its own name (`case_ids`, `visit_id`); the
caller sent an argument or an input field (`input.caseIds`, `visitId`). `caller_path` maps one
to the other: in a mutation taking an `input`, under `input.`; otherwise the argument itself;
a mutation whose arguments the domain calls otherwise says so in `renamed`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container, Mapping
from typing import Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.utils.str_converters import to_snake_case

from cases.kit.errors import ValidationFailed
from schema.core.context import Context
from schema.core.errors import UserError, caller_name, run_mutation
from schema.core.ids import row_id
from schema.core.relay import Info

T = TypeVar("T")


async def mutate(
    info: Info,
    change: Callable[[Context], Awaitable[Any]],
    to_type: Callable[[Any], T],
    *,
    renamed: Mapping[str, str] | None = None,
    under: str | None = None,
) -> Any:
    """Run `change` in a savepoint and return its result as `to_type`, or the UserError it
    raised with its field as the caller's path; strawberry checks the answer against the
    mutation's union, so an error the union does not list is an unexpected one (masked and
    logged). `under` names the path of the input this change reads (an item of a list)."""
    context = info.context
    result = await run_mutation(context.session, lambda: change(context))
    if not isinstance(result, UserError):
        return to_type(result)
    arguments = ArgumentsOf(info)
    result.field = caller_path(result.field, arguments, renamed or {}, under)
    return result


class ArgumentsOf(Container[str]):
    """The names of a mutation's arguments, as the caller writes them."""

    def __init__(self, info: Info) -> None:
        self.info = info

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (
            self.info.get_argument_definition(to_snake_case(name)) is not None
        )


def caller_path(
    field: str | None,
    arguments: Container[str],
    renamed: Mapping[str, str],
    under: str | None = None,
) -> str | None:
    """The path, in the caller's names, of the domain's field `field`: `renamed` first, then
    under the mutation's `input` when it takes one (or `under`), else the argument of that name."""
    if field is None:
        return None
    if field in renamed:
        return renamed[field]
    name = caller_name(field)
    if under is not None:
        return f"{under}.{name}"
    if "input" in arguments and name not in arguments:
        return f"input.{name}"
    return name


def given(value: T | None) -> bool:
    """Whether an input field was sent (null included), as opposed to left out."""
    return value is not strawberry.UNSET


def capped_ids(ids: list[relay.GlobalID], type_name: str, field: str, most: int) -> list[int]:
    """The row ids of a list of global ids of one type, at most `most` of them."""
    if len(ids) > most:
        raise ValidationFailed(f"at most {most} items", field=field)
    return [row_id(id_, type_name, field) for id_ in ids]
