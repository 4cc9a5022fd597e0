"""Reminder delivery: the dead status, delivery errors, the ladder link, what was sent; informing events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 07:45:03.835702

"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES_WITH_DEAD = ('pending', 'queued', 'sent', 'delivered', 'failed', 'cancelled', 'skipped', 'dead')


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('informing_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('patient_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reminder_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('contact_attempt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('method', sa.Enum('sms', 'email', 'phone_call', 'letter', 'in_person', name='informing_method', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('outcome', sa.Enum('sent', 'delivered', 'failed', 'reached', 'not_reached', name='informing_outcome', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['supervision_case.id'], name=op.f('fk_informing_event_case_id_supervision_case')),
    sa.ForeignKeyConstraint(['contact_attempt_id'], ['contact_attempt.id'], name=op.f('fk_informing_event_contact_attempt_id_contact_attempt')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_informing_event_patient_id_patient')),
    sa.ForeignKeyConstraint(['reminder_id'], ['reminder.id'], name=op.f('fk_informing_event_reminder_id_reminder')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_informing_event'))
    )
    with op.batch_alter_table('informing_event', schema=None) as batch_op:
        batch_op.create_index('ix_informing_event_case_occurred_at', ['case_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_informing_event_patient_occurred_at', ['patient_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_informing_event_reminder_id'), ['reminder_id'], unique=False)

    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error', sa.Enum('invalid_recipient', 'hard_bounce', 'rejected', 'undelivered', 'not_configured', 'unavailable', name='delivery_error', native_enum=False, create_constraint=True, length=32), nullable=True))
        batch_op.add_column(sa.Column('previous_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('recipient', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_reminder_provider_message_id'), ['provider_message_id'], unique=False)
        batch_op.create_index('ix_reminder_queued_queued_at', ['queued_at'], unique=False, postgresql_where=sa.text("status = 'queued'"), sqlite_where=sa.text("status = 'queued'"))
        batch_op.create_index('ix_reminder_status_scheduled_for', ['status', 'scheduled_for'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_reminder_previous_id_reminder'), 'reminder', ['previous_id'], ['id'])
        # Autogenerate does not see a CHECK's contents: the status list gains 'dead'.
        batch_op.drop_constraint(op.f('ck_reminder_reminder_status'), type_='check')
        batch_op.create_check_constraint('reminder_status', sa.text(f"status IN ({_quoted(STATUSES_WITH_DEAD)})"))


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("UPDATE reminder SET status = 'failed' WHERE status = 'dead'")
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_reminder_reminder_status'), type_='check')
        batch_op.create_check_constraint('reminder_status', sa.text(f"status IN ({_quoted(STATUSES_WITH_DEAD[:-1])})"))
        batch_op.drop_constraint(batch_op.f('fk_reminder_previous_id_reminder'), type_='foreignkey')
        batch_op.drop_index('ix_reminder_status_scheduled_for')
        batch_op.drop_index('ix_reminder_queued_queued_at', postgresql_where=sa.text("status = 'queued'"), sqlite_where=sa.text("status = 'queued'"))
        batch_op.drop_index(batch_op.f('ix_reminder_provider_message_id'))
        batch_op.drop_column('queued_at')
        batch_op.drop_column('body')
        batch_op.drop_column('recipient')
        batch_op.drop_column('previous_id')
        batch_op.drop_constraint(op.f('ck_reminder_delivery_error'), type_='check')
        batch_op.drop_column('error')

    with op.batch_alter_table('informing_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_informing_event_reminder_id'))
        batch_op.drop_index('ix_informing_event_patient_occurred_at')
        batch_op.drop_index('ix_informing_event_case_occurred_at')

    op.drop_table('informing_event')
