"""Which SMS provider took each message (receipts are matched by provider and id, since ids
are unique per provider only), and the parts each SMS was billed as.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 04:52:48.947996

"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('sms_segments', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_column('sms_segments')
        batch_op.drop_column('provider')
