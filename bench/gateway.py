"""The local SMS gateway stand-in as a server of its own, for the reminder pipeline scenario.

`uvicorn --factory bench.gateway:create_app`: the stand-in of `reminders.gateway`, plus
`GET /counts`, which says how many messages it accepted and how many sends it was asked for
(more sends than messages: the same reminder was sent again).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from reminders.gateway import SmsGatewayStandIn


def create_app() -> Starlette:
    gateway = SmsGatewayStandIn()

    async def counts(_: Request) -> JSONResponse:
        return JSONResponse(
            {"accepted": len(gateway.messages), "requests": sum(gateway.requests.values())}
        )

    return Starlette(routes=[*gateway.app().routes, Route("/counts", counts, methods=["GET"])])
