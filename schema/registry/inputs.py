"""Inputs of the registry's mutations."""

from __future__ import annotations

import strawberry


@strawberry.input
class RegisterInsurerInput:
    registry_code: str = strawberry.field(description="Registry code of the СМО, e.g. VTB-MS.")
    name: str
    hotline_phone: str | None = strawberry.field(
        default=None, description="Any usual Russian written form; stored as E.164."
    )
