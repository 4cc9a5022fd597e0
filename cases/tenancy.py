"""Tenancy as data scoping: which patients' data a session may see and change.

Every ORM statement a session runs gets the scope's criteria attached (`do_orm_execute`), so
listings, counts, loaders, node lookups, searches and the reads inside mutations all see the
same filtered world; a row outside it is simply absent. Writes are checked before each flush.
A session carries its scope in `session.info`; a session without one (a job, the CLI, a
test's setup) is unrestricted, and the request middleware gives every request session
`DataScope.NOTHING` until the caller is known.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, with_loader_criteria

from cases.appeals.models import Appeal, ExaminedCase, QualityExamination
from cases.audit.models import AuditEvent
from cases.kit.actor import Actor, Role
from cases.kit.errors import PermissionDenied
from cases.patients.models import NotificationConsent, Patient
from cases.registry.models import DeskHours, Representative
from cases.reminders.models import InformingEvent, Reminder
from cases.supervision.models import SupervisionCase, Visit
from cases.worklist.models import ContactAttempt, WorkItem

SCOPE_KEY = "data_scope"


_patients: sa.Table = Patient.__table__  # type: ignore[attr-defined]


_cases: sa.Table = SupervisionCase.__table__  # type: ignore[attr-defined]


_contacts: sa.Table = ContactAttempt.__table__  # type: ignore[attr-defined]


_work_items: sa.Table = WorkItem.__table__  # type: ignore[attr-defined]


_desks: sa.Table = DeskHours.__table__  # type: ignore[attr-defined]


_appeals: sa.Table = Appeal.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class DataScope:
    """One of: everything; the patients of one insurer; the patients of one clinic; nothing."""

    unrestricted: bool = False
    insurer_id: int | None = None
    clinic_id: int | None = None
    read_only: bool = False

    @classmethod
    def of(cls, actor: Actor) -> DataScope:
        if actor.role in (Role.ADMIN, Role.SYSTEM):
            return cls(unrestricted=True)
        if actor.role is Role.TERRITORIAL_FUND:
            return cls(unrestricted=True, read_only=True)
        if actor.role in (Role.REPRESENTATIVE, Role.SUPERVISOR) and actor.insurer_id is not None:
            return cls(insurer_id=actor.insurer_id)
        if actor.role is Role.CLINIC_SYSTEM and actor.clinic_id is not None:
            return cls(clinic_id=actor.clinic_id)
        return NOTHING


NOTHING = DataScope()


def bind_scope(session: Any, scope: DataScope) -> None:
    """Make `scope` the session's scope (an AsyncSession or a Session)."""
    session.info[SCOPE_KEY] = scope


def scope_of(session: Any) -> DataScope | None:
    found: DataScope | None = session.info.get(SCOPE_KEY)
    return found


# A rule narrows one table to the rows a scope admits; it is given the table (or an alias of it)
# so that a statement which reads a table twice narrows each occurrence.
RowRule = Callable[[sa.FromClause], sa.ColumnElement[bool]]


# A scope's patients are never listed in a statement: each rule asks of the row it narrows whether
# its patient is in the scope (a correlated EXISTS, an index probe per row). A rule that listed
# them (`patient_id IN (SELECT id FROM patient WHERE insurer_id = ...)`) read every patient of
# the insurer wherever the planner could not turn it into a join: under an OR, or in the
# nested selects of a compiled read (docs/benchmarks.md, "Measurements behind the code").
PatientTest = Callable[[sa.ColumnElement[Any]], sa.ColumnElement[bool]]


def _insurer_patient(insurer_id: Any) -> PatientTest:
    def admits(patient_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        patient = _patients.alias()
        return sa.exists().where(patient.c.id == patient_id, patient.c.insurer_id == insurer_id)

    return admits


def _clinic_patient_row(clinic_id: Any) -> RowRule:
    """A patient attached to the clinic or with a case there."""

    def admits(table: sa.FromClause) -> sa.ColumnElement[bool]:
        case = _cases.alias()
        return sa.or_(
            table.c.attached_clinic_id == clinic_id,
            sa.exists().where(case.c.patient_id == table.c.id, case.c.clinic_id == clinic_id),
        )

    return admits


def _clinic_patient(clinic_id: Any) -> PatientTest:
    patient_row = _clinic_patient_row(clinic_id)

    def admits(patient_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        patient = _patients.alias()
        return sa.exists().where(patient.c.id == patient_id, patient_row(patient))

    return admits


def _clinic_patients(clinic_id: Any) -> sa.Select[Any]:
    return sa.select(_patients.c.id).where(_clinic_patient_row(clinic_id)(_patients))


def _clinic_staff(clinic_id: Any) -> sa.CompoundSelect[Any]:
    """The representatives a clinic deals with: responsible for its patients' cases, in touch
    with them or owning their work items, and those with desk hours at the clinic."""
    patient_ids = _clinic_patients(clinic_id)
    return sa.union(
        sa.select(_cases.c.representative_id).where(_cases.c.patient_id.in_(patient_ids)),
        sa.select(_contacts.c.representative_id).where(_contacts.c.patient_id.in_(patient_ids)),
        sa.select(_work_items.c.owner_id).where(_work_items.c.patient_id.in_(patient_ids)),
        sa.select(_desks.c.representative_id).where(_desks.c.clinic_id == clinic_id),
    )


def _is_insurers(owned: sa.Table, row_id: sa.ColumnElement[Any], insurer: Any) -> Any:
    """Whether the row of `owned` with this id (a patient, an appeal) is the insurer's."""
    row = owned.alias()
    return sa.select(row.c.insurer_id == insurer).where(row.c.id == row_id).scalar_subquery()


def _case_of(admits: PatientTest) -> PatientTest:
    """Whether the case of an id is a case of a patient `admits`."""

    def case_admits(case_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        case = _cases.alias()
        return sa.exists().where(case.c.id == case_id, admits(case.c.patient_id))

    return case_admits


def _no_patient(_patient_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    return sa.false()


def _nowhere(_table: sa.FromClause) -> sa.ColumnElement[bool]:
    return sa.false()


# The tables whose rule asks whether the row's patient, or the row's case, is in scope (a work
# item's also admits it by its appeal, for an insurer): `row_rules`, `implied_by_parent`.
_BY_PATIENT: tuple[type, ...] = (
    SupervisionCase,
    WorkItem,
    ContactAttempt,
    Reminder,
    NotificationConsent,
    InformingEvent,
)


_BY_CASE: tuple[type, ...] = (Visit, ExaminedCase)


def row_rules(
    scope: DataScope, insurer_id: Any = None, clinic_id: Any = None
) -> dict[type, RowRule]:
    """The rule of every table that holds a patient's data or names an insurer's staff (none for
    an unrestricted scope). The scope's insurer and clinic are its own ids unless `insurer_id`
    and `clinic_id` stand for them (bound parameters of a statement compiled once per kind of
    scope, `cases.reads.projection`)."""
    if scope.unrestricted:
        return {}
    rules: dict[type, RowRule]
    admits: PatientTest
    if scope.insurer_id is not None:
        insurer = scope.insurer_id if insurer_id is None else insurer_id
        admits = _insurer_patient(insurer)
        rules = {
            model: (lambda table: table.c.insurer_id == insurer)
            for model in (Patient, Representative, AuditEvent, Appeal, QualityExamination)
        }
    elif scope.clinic_id is not None:
        clinic = scope.clinic_id if clinic_id is None else clinic_id
        admits = _clinic_patient(clinic)
        staff = _clinic_staff(clinic)
        # Appeals and examinations are the insurer's business, not the clinic system's; of the
        # insurers' staff it sees those who deal with it.
        rules = {
            Patient: _clinic_patient_row(clinic),
            Representative: lambda table: table.c.id.in_(staff),
            AuditEvent: _nowhere,
            Appeal: _nowhere,
            QualityExamination: _nowhere,
        }
    else:
        admits = _no_patient
        rules = {
            model: _nowhere
            for model in (Patient, Representative, AuditEvent, Appeal, QualityExamination)
        }
    for model in _BY_PATIENT:
        rules[model] = lambda table: admits(table.c.patient_id)
    case_admits = _case_of(admits)
    for model in _BY_CASE:
        rules[model] = lambda table: case_admits(table.c.case_id)
    if scope.insurer_id is not None:
        # An appeal's work item may concern a person who is not a known patient. Under an OR
        # the planner would hash an EXISTS over every patient of the insurer; a scalar subquery
        # it never hashes: an index probe per row. As a boolean subquery (not a comparison, which it
        # guesses true of 1 row in 200) it is guessed mostly true, so that a worklist's page is
        # read in its index's order and cut after the page (`ix_work_item_open_worklist`),
        # instead of checking every open item of the owner and sorting them.
        def work_item(table: sa.FromClause) -> sa.ColumnElement[bool]:
            return sa.or_(
                _is_insurers(_patients, table.c.patient_id, insurer),
                _is_insurers(_appeals, table.c.appeal_id, insurer),
            )

        rules[WorkItem] = work_item
    return rules


# The names of a scope's ids in a statement narrowed to a kind of scope: one statement, and one
# set of criteria, serves every scope of its kind, each running it with its own values.
SCOPE_INSURER: Final = "scope_insurer_id"


SCOPE_CLINIC: Final = "scope_clinic_id"


def scope_kind(scope: DataScope) -> str:
    """Which statement a scope needs: scopes of one kind share it, with their own values."""
    if scope.unrestricted:
        return "unrestricted"
    if scope.insurer_id is not None:
        return "insurer"
    if scope.clinic_id is not None:
        return "clinic"
    return "nothing"


def scope_values(scope: DataScope) -> dict[str, Any]:
    """The values of the scope's parameters in a statement narrowed to its kind."""
    return {SCOPE_INSURER: scope.insurer_id, SCOPE_CLINIC: scope.clinic_id}


def kind_rules(scope: DataScope) -> dict[type, RowRule]:
    """The rules of `scope`'s kind: its ids are the parameters `scope_values` gives values."""
    return row_rules(
        scope,
        insurer_id=sa.bindparam(SCOPE_INSURER, type_=sa.BigInteger),
        clinic_id=sa.bindparam(SCOPE_CLINIC, type_=sa.BigInteger),
    )


def implied_by_parent(model: type, column: str, parent: sa.FromClause) -> bool:
    """Whether a row of `model` is in any scope already when its `column` holds the id of a row of
    `parent` (a table or an alias of it) that is: its rule asks nothing else of it (see
    `row_rules`; a work item's patient in scope admits it whatever its appeal)."""
    table = getattr(parent, "element", parent)
    if column == "patient_id" and table is _patients:
        return model in _BY_PATIENT
    if column == "case_id" and table is _cases:
        return model in _BY_CASE
    return False


# Built once per kind of scope and attached to every statement of its sessions, the scope's own
# ids given as parameters: building them (an alias and a subquery per table) is too costly to
# repeat on every ORM statement a scoped session runs, and kept per scope they would grow with
# the number of insurers and clinics.
_CRITERIA: dict[str, tuple[Any, ...]] = {}


def _criteria(scope: DataScope) -> tuple[Any, ...]:
    # A kind's rules depend on which of the scope's ids is set, never on its value
    # (`row_rules`), so the first scope of a kind builds them for all.
    kind = scope_kind(scope)
    found = _CRITERIA.get(kind)
    if found is None:
        found = _CRITERIA[kind] = tuple(
            # An aliased entity of a table is narrowed as the table is.
            with_loader_criteria(model, rule(model.__table__), include_aliases=True)  # type: ignore[attr-defined]
            for model, rule in kind_rules(scope).items()
        )
    return found


def install_scoping() -> None:
    """Attach the hooks to every ORM session of the process (idempotent)."""
    if not event.contains(Session, "do_orm_execute", _apply_scope):
        event.listen(Session, "do_orm_execute", _apply_scope)
        event.listen(Session, "before_flush", _check_writes)


def scoped(statement: Any, scope: DataScope | None) -> Any:
    """`statement` narrowed to `scope`'s kind: what every ORM statement of a scoped session runs,
    and what a statement compiled once to be run through the driver must carry itself. It runs
    with `scope_values(scope)` among its parameters, which a scoped session adds."""
    if scope is None or scope.unrestricted:
        return statement
    return statement.options(*_criteria(scope))


def _apply_scope(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete:
        _refuse_audit_changes(state.statement)
    if state.is_select or state.is_update or state.is_delete:
        scope = scope_of(state.session)
        state.statement = scoped(state.statement, scope)
        if scope is not None and not scope.unrestricted:
            given = state.parameters
            if not (given is None or isinstance(given, Mapping)):
                # An UPDATE given rows runs by primary key, and SQLAlchemy attaches no criteria
                # to it: in a scoped session it would change rows outside the scope.
                raise PermissionDenied("changes by primary key are not narrowed to the scope")
            values = scope_values(scope)
            # Given already where SQLAlchemy runs a statement again (an UPDATE's rows fetched
            # first); any other value is a statement's own parameter named like the scope's.
            if given is not None and any(
                given.get(name, value) != value for name, value in values.items()
            ):
                raise ValueError("a statement's own parameter is named like the scope's")
            state.parameters = {**(given or {}), **values}


def _refuse_audit_changes(statement: Any) -> None:
    table = getattr(statement, "table", None)
    if table is not None and table.name == AuditEvent.__tablename__:
        raise PermissionDenied("audit events are never changed")


def _check_writes(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    for row in (*session.dirty, *session.deleted):
        if isinstance(row, AuditEvent):
            raise PermissionDenied("audit events are never changed")
    scope = scope_of(session)
    if scope is None:
        return
    changed = [*session.new, *session.dirty, *session.deleted]
    if scope.read_only and any(not isinstance(row, AuditEvent) for row in changed):
        raise PermissionDenied("this caller reads only")
    if scope.insurer_id is not None:
        for row in session.new:
            if isinstance(row, Patient) and row.insurer_id != scope.insurer_id:
                raise PermissionDenied(
                    "patients are registered by their own insurer", field="insurer_id"
                )
    if scope.clinic_id is not None:
        for row in [*session.new, *session.dirty]:
            if isinstance(row, SupervisionCase | Visit) and row.clinic_id != scope.clinic_id:
                raise PermissionDenied("a clinic reports for itself only", field="clinic_id")


# Every ORM session of a process that can bind a scope is narrowed by it: binding one needs this
# module, and importing it installs the hooks.
install_scoping()
