"""A login deactivated through one API process is refused by every other on its next request."""

from __future__ import annotations

import pytest

from api.auth import AuthenticationFailed, Authenticator
from api.logins import LoginChanges
from cases.kit.actor import Actor, Role
from cases.registry.staff import StaffService
from core.db import create_session_factory
from tests.conftest import Database, app_settings, bearer, eventually
from tests.factories import Region

ADMIN = Actor(Role.ADMIN, "admin:test")


# Only PostgreSQL serves several API processes; the embedded store's one process forgets at once.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_another_process_forgets_a_deactivated_login(committed_database: Database) -> None:
    # given: a representative whom another process (its own authenticator) knows
    sessions = create_session_factory(committed_database.engine)
    async with sessions() as session:
        _, _, representative = await Region(session).basics()
        await session.commit()
    other = Authenticator(app_settings(committed_database.url, identity_cache_seconds=3600))
    header = bearer(representative.subject or "")["Authorization"]
    async with sessions() as session:
        await other.actor(header, session)
    listener = LoginChanges(committed_database.engine, other.forget)
    await listener.start()
    try:
        await eventually(listener.listening.is_set)

        # when: this process deactivates them and commits
        async with sessions() as session:
            await StaffService(session).deactivate(ADMIN, representative.id)
            await session.commit()

        # then: the other process forgets them, and refuses their next request
        known = other.representatives
        assert known is not None
        await eventually(lambda: representative.subject not in known)
        async with sessions() as session:
            with pytest.raises(AuthenticationFailed, match="no active representative"):
                await other.actor(header, session)
    finally:
        await listener.stop()
