"""Appeals registered after their registration deadline are flagged; those registered before
this revision are judged by the UTC date of their registration.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 05:18:10.774904

"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('registered_late', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    registered_on = (
        sa.text("date(registered_at)")
        if op.get_bind().dialect.name == "sqlite"
        else sa.text("CAST(registered_at AT TIME ZONE 'UTC' AS DATE)")
    )
    appeal = sa.table(
        'appeal',
        sa.column('registered_late', sa.Boolean()),
        sa.column('registration_due', sa.Date()),
    )
    op.execute(
        appeal.update()
        .where(sa.literal_column(str(registered_on)) > appeal.c.registration_due)
        .values(registered_late=True)
    )


def downgrade() -> None:
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.drop_column('registered_late')
