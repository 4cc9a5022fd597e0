"""Who is calling. Until token and API-key authentication land, only development mode admits callers."""

from __future__ import annotations

from cross_web import HTTPException
from starlette.requests import Request

from cases.actor import Actor, Role


def authenticate(request: Request, request_id: str) -> Actor:
    settings = request.app.state.settings
    if settings.is_production:
        raise HTTPException(401, "authentication is not configured on this server")
    return Actor(role=Role.ADMIN, label="development", request_id=request_id)
