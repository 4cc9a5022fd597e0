"""One change in a savepoint: whatever it wrote is undone when it fails, and the database's own
refusals come out as the domain's errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from cases.kit.errors import Conflict

T = TypeVar("T")


async def in_savepoint(session: AsyncSession, change: Callable[[], Awaitable[T]]) -> T:
    """Run `change` in a savepoint of the session's transaction and release it.

    Any failure rolls the savepoint back and is raised again; a row whose version moved on
    (`StaleDataError`) and a unique or foreign key the database refused (`IntegrityError`) are
    raised as `Conflict`, since another change got there first. The session's transaction is
    left to its owner.
    """
    savepoint = await session.begin_nested()
    try:
        result = await change()
        await savepoint.commit()
    except StaleDataError:
        await savepoint.rollback()
        raise Conflict("changed by someone else meanwhile; reload and retry") from None
    except IntegrityError:
        await savepoint.rollback()
        raise Conflict("conflicts with data stored meanwhile; reload and retry") from None
    except BaseException:
        await savepoint.rollback()
        raise
    return result
