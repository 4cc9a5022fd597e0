"""Work items of a new kind: a case whose fixed duration of supervision has run out, for its
representative to review.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 21:25:00

"""
from collections.abc import Sequence

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    'missed_visit', 'unreachable_contact', 'failed_delivery', 'call_due', 'appeal_deadline',
    'escalation',
)


def _kinds(*kinds: str) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade() -> None:
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_work_item_work_item_kind'), type_='check')
        batch_op.create_check_constraint(
            'work_item_kind', _kinds(*KINDS, 'supervision_review')
        )


def downgrade() -> None:
    op.execute("DELETE FROM work_item WHERE kind = 'supervision_review'")
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_work_item_work_item_kind'), type_='check')
        batch_op.create_check_constraint('work_item_kind', _kinds(*KINDS))
