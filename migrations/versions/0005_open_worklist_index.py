"""A worklist's open items in the worklist's order, so that a page is read from an index and
cut after the page instead of every open item of the owner being sorted first.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 05:08:24.077326

"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status IN ('open', 'in_progress')")


def upgrade() -> None:
    op.create_index(
        'ix_work_item_open_worklist',
        'work_item',
        ['owner_id', 'priority', 'due_at', 'id'],
        unique=False,
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index('ix_work_item_open_worklist', table_name='work_item')
