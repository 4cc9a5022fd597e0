"""What every resolver sees: the request's session, the caller, and the request's loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from cases.kit.actor import Actor
from cases.supervision.policy import CaseRules
from core.db import RequestTransaction
from schema.core.loaders import Loaders


@dataclass
class Context:
    request: Request
    response: Response | None
    transaction: RequestTransaction
    actor: Actor
    rules: CaseRules = field(default_factory=CaseRules)
    # Forgets what this process keeps of a login's identity (a changed or ended one).
    forget_identity: Callable[[str], None] = lambda _subject: None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.session)

    @property
    def session(self) -> AsyncSession:
        return self.transaction.session

    @property
    def request_id(self) -> str:
        return self.transaction.request_id
