"""Audit events name the patient they concern and that patient's insurer, so that a
supervisor reads the trail of their own insurer only.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 07:49:33.713874

"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('patient_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('insurer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index('ix_audit_event_insurer_occurred_at', ['insurer_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_audit_event_patient_occurred_at', ['patient_id', 'occurred_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_patient_occurred_at')
        batch_op.drop_index('ix_audit_event_insurer_occurred_at')
        batch_op.drop_column('insurer_id')
        batch_op.drop_column('patient_id')

