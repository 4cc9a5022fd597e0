"""A periodic job's claimed slot records when its message reached the broker: until then the
next tick retries it. Slots claimed before this revision count as enqueued.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 21:40:00

"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE job_run SET enqueued_at = claimed_at")


def downgrade() -> None:
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_column('enqueued_at')
