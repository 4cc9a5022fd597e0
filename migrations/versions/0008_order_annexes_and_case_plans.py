"""The rules table becomes Order 168н's annexes (and a region's own rows); a case records its
plan: the supervising specialty, the schedule, what set it and from which row, the date of
diagnosis, whether supervision began late, and when a fixed duration runs out.

The earlier table (23 rows keyed by an ICD-10 prefix, none checked against the order) is
replaced, not converted: `dispensary migrate` loads the order's 102 rows after upgrading. A
case opened before this revision keeps its visits a year as its schedule (`per_year:N`), with
the therapist as its specialty and no row named.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:54:23.093748

"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.drop_table('supervision_rule')
    op.create_table(
        'supervision_rule',
        sa.Column('id', ID, nullable=False),
        sa.Column('annex', sa.Integer(), nullable=True),
        sa.Column('row', sa.Integer(), nullable=True),
        sa.Column('specialty', sa.String(length=40), nullable=False),
        sa.Column('icd10', sa.String(length=300), nullable=False),
        sa.Column('condition', sa.String(length=200), nullable=False),
        sa.Column('schedule', sa.String(length=100), nullable=False),
        sa.Column('duration', sa.String(length=100), nullable=False),
        sa.Column('remark', sa.String(length=300), nullable=False),
        sa.Column('source', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_rule')),
        sa.UniqueConstraint('annex', 'row', name=op.f('uq_supervision_rule_annex_row')),
    )
    with op.batch_alter_table('supervision_case', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('specialty', sa.String(length=40), server_default='therapist', nullable=False)
        )
        batch_op.add_column(
            sa.Column('schedule', sa.String(length=100), server_default='per_year:1', nullable=False)
        )
        batch_op.add_column(
            sa.Column('plan_source', sa.String(length=20), server_default='rule', nullable=False)
        )
        batch_op.add_column(sa.Column('rule_id', ID, nullable=True))
        batch_op.add_column(sa.Column('diagnosed_on', sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column('opened_late', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column('review_on', sa.Date(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_supervision_case_rule_id_supervision_rule'),
            'supervision_rule',
            ['rule_id'],
            ['id'],
        )
    case = sa.table(
        'supervision_case',
        sa.column('schedule', sa.String()),
        sa.column('visits_per_year', sa.Integer()),
    )
    op.execute(
        case.update().values(
            schedule=sa.literal('per_year:') + sa.cast(case.c.visits_per_year, sa.String())
        )
    )


def downgrade() -> None:
    with op.batch_alter_table('supervision_case', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_supervision_case_rule_id_supervision_rule'), type_='foreignkey'
        )
        batch_op.drop_column('review_on')
        batch_op.drop_column('opened_late')
        batch_op.drop_column('diagnosed_on')
        batch_op.drop_column('rule_id')
        batch_op.drop_column('plan_source')
        batch_op.drop_column('schedule')
        batch_op.drop_column('specialty')
    op.drop_table('supervision_rule')
    # The earlier table, empty: the code of that revision loads its own rows when migrating.
    op.create_table(
        'supervision_rule',
        sa.Column('id', ID, nullable=False),
        sa.Column('icd10_prefix', sa.String(length=8), nullable=False),
        sa.Column('min_visits_per_year', sa.Integer(), nullable=False),
        sa.Column('specialty', sa.String(length=100), nullable=False),
        sa.Column('source', sa.String(length=300), nullable=False),
        sa.Column('verified', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_rule')),
        sa.UniqueConstraint('icd10_prefix', name=op.f('uq_supervision_rule_icd10_prefix')),
    )
