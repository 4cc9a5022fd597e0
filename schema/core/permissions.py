"""Who may call which root field: one table, checked for every operation before it executes.

Every root Query and Mutation field needs a line in `OPERATIONS`; a field without one is
refused for everyone but administrators, and a test fails the suite. To declare the rule
for a new operation, add one line, e.g.

    "Query.reminders": READERS,
    "Mutation.sendReminderNow": representatives(min_level=2) | SUPERVISORS,

Administrators pass every rule; the territorial fund is refused every mutation whatever the
table says. A rule that depends on an argument's value (whose worklist) is a function here too
(`worklist_owner`), called by its resolver. Which rows a permitted caller then sees is the data scope's business
(`cases.tenancy`), not this table's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, GraphQLError, ValidationRule, get_named_type

from cases.kit.actor import Actor, ClinicScope, Role
from cases.kit.errors import PermissionDenied, ValidationFailed


@dataclass(frozen=True)
class Allow:
    """The callers a rule admits (administrators always pass)."""

    roles: frozenset[Role] = frozenset()
    # Representatives of this level and above, when REPRESENTATIVE is among the roles.
    min_level: int = 1
    # Clinic systems holding all of these scopes; None: no clinic system.
    clinic_scopes: frozenset[ClinicScope] | None = None

    def __or__(self, other: Allow) -> Allow:
        levels = [
            rule.min_level for rule in (self, other) if Role.REPRESENTATIVE in rule.roles
        ] or [1]
        clinic = [rule.clinic_scopes for rule in (self, other) if rule.clinic_scopes is not None]
        return Allow(
            roles=self.roles | other.roles,
            min_level=min(levels),
            clinic_scopes=clinic[0] if clinic else None,
        )

    def admits(self, actor: Actor) -> bool:
        if actor.role is Role.ADMIN:
            return True
        if actor.role is Role.CLINIC_SYSTEM:
            return self.clinic_scopes is not None and self.clinic_scopes <= actor.scopes
        if actor.role is Role.REPRESENTATIVE:
            return actor.role in self.roles and (actor.level or 0) >= self.min_level
        return actor.role in self.roles


def representatives(min_level: int = 1) -> Allow:
    return Allow(roles=frozenset({Role.REPRESENTATIVE}), min_level=min_level)


def clinics(*scopes: ClinicScope) -> Allow:
    """Clinic systems whose key holds every one of `scopes` (none given: any key)."""
    return Allow(clinic_scopes=frozenset(scopes))


ADMINS = Allow()
SUPERVISORS = Allow(roles=frozenset({Role.SUPERVISOR}))
FUND = Allow(roles=frozenset({Role.TERRITORIAL_FUND}))
READERS = representatives() | SUPERVISORS | FUND
CASE_WORK = representatives(min_level=3) | SUPERVISORS
PATIENTS_READ, CASES_WRITE, VISITS_WRITE = (
    ClinicScope.PATIENTS_READ,
    ClinicScope.CASES_WRITE,
    ClinicScope.VISITS_WRITE,
)

OPERATIONS: Mapping[str, Allow] = {
    "Query.me": READERS | clinics(),
    "Query.node": READERS | clinics(PATIENTS_READ),
    "Query.insurers": READERS | clinics(),
    "Query.patient": READERS | clinics(PATIENTS_READ),
    "Query.patients": READERS | clinics(PATIENTS_READ),
    "Query.supervisionCase": READERS | clinics(PATIENTS_READ),
    "Query.supervisionCases": READERS | clinics(PATIENTS_READ),
    "Query.visits": READERS | clinics(PATIENTS_READ),
    "Query.worklist": READERS,
    "Query.supervisionRules": READERS | clinics(),
    "Query.auditEvents": SUPERVISORS | FUND,
    "Mutation.registerInsurer": ADMINS,
    # The registry: clinics by the administrator, an insurer's staff by its supervisor.
    "Query.clinics": READERS | clinics(),
    "Query.representatives": READERS,
    "Mutation.registerClinic": ADMINS,
    "Mutation.updateClinic": ADMINS,
    "Mutation.registerRepresentative": SUPERVISORS,
    "Mutation.updateRepresentative": SUPERVISORS,
    "Mutation.deactivateRepresentative": SUPERVISORS,
    "Mutation.linkRepresentativeLogin": SUPERVISORS,
    "Mutation.unlinkRepresentativeLogin": SUPERVISORS,
    "Mutation.setDeskHours": SUPERVISORS,
    "Mutation.registerPatient": representatives(min_level=2) | SUPERVISORS,
    "Mutation.updatePatientContacts": representatives(min_level=2) | SUPERVISORS,
    "Mutation.setNotificationConsent": representatives() | SUPERVISORS,
    "Mutation.openCase": CASE_WORK | clinics(CASES_WRITE),
    "Mutation.updateCase": CASE_WORK | clinics(CASES_WRITE),
    "Mutation.closeCase": CASE_WORK | clinics(CASES_WRITE),
    "Mutation.assignRepresentative": SUPERVISORS,
    "Mutation.reassignCases": SUPERVISORS,
    "Mutation.scheduleVisit": CASE_WORK | clinics(VISITS_WRITE),
    "Mutation.rescheduleVisit": CASE_WORK | clinics(VISITS_WRITE),
    "Mutation.cancelVisit": CASE_WORK | clinics(VISITS_WRITE),
    "Mutation.recordVisit": clinics(VISITS_WRITE),
    "Mutation.recordVisits": clinics(VISITS_WRITE),
    "Mutation.logContactAttempt": representatives() | SUPERVISORS,
    "Mutation.startWorkItem": representatives() | SUPERVISORS,
    "Mutation.resolveWorkItem": representatives() | SUPERVISORS,
    "Mutation.addSupervisionRule": ADMINS,
    # Reminders: the outbox and how patients were informed.
    "Query.reminders": READERS,
    "Query.informingEvents": READERS,
    "Query.letterBatches": READERS,
    "Mutation.sendReminderNow": representatives(min_level=2) | SUPERVISORS,
    "Mutation.cancelReminder": representatives(min_level=2) | SUPERVISORS,
    "Mutation.retryReminder": representatives(min_level=2) | SUPERVISORS,
    # Appeals, quality-of-care examinations and the figures a fund reports.
    "Query.appeals": READERS,
    "Query.qualityExaminations": READERS,
    "Query.statistics": SUPERVISORS | FUND,
    "Mutation.registerAppeal": representatives() | SUPERVISORS,
    "Mutation.assignAppeal": CASE_WORK,
    "Mutation.extendAppeal": CASE_WORK,
    "Mutation.answerAppeal": CASE_WORK,
    "Mutation.closeAppeal": CASE_WORK,
    "Mutation.orderQualityExamination": CASE_WORK,
    "Mutation.completeQualityExamination": CASE_WORK,
}

# Object types a clinic system reads only with a scope, however it reaches them (a mutation's
# result included).
CLINIC_TYPE_SCOPES: Mapping[str, ClinicScope] = {"Patient": PATIENTS_READ}


def is_permitted(actor: Actor, operation: str) -> bool:
    if operation.startswith("Mutation.") and actor.role is Role.TERRITORIAL_FUND:
        return False
    rule = OPERATIONS.get(operation)
    if rule is None:
        return actor.role is Role.ADMIN
    return rule.admits(actor)


def worklist_owner(actor: Actor, asked: int | None) -> int:
    """Whose worklist a caller reads: their own unless they name another; a representative
    reads only their own, a supervisor (or an administrator) anyone's."""
    owner = actor.representative_id if asked is None else asked
    if owner is None:
        raise ValidationFailed("name whose worklist to show", field="filter.representativeId")
    if actor.role is Role.REPRESENTATIVE and owner != actor.representative_id:
        raise PermissionDenied("only a supervisor sees another representative's worklist")
    return owner


def permission_profile(actor: Actor) -> tuple[Any, ...]:
    """All that `permission_rule` reads of a caller: callers with one profile get one verdict."""
    return (actor.role, actor.level, actor.scopes)


def permission_rule(actor: Actor) -> type[ValidationRule]:
    """A validation rule bound to the caller: refused fields fail the document before it runs."""

    class OperationPermissions(ValidationRule):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            parent = self.context.get_parent_type()
            name = node.name.value
            if parent is None or name.startswith("__"):
                return
            if parent.name in ("Query", "Mutation", "Subscription"):
                operation = f"{parent.name}.{name}"
                if not is_permitted(actor, operation):
                    self.report_error(_denied(f"not permitted: {operation}", node, name))
            field = self.context.get_field_def()
            if actor.role is Role.CLINIC_SYSTEM and field is not None:
                # The field's own type, or the type it is selected on (a union member's fields).
                for type_name in (get_named_type(field.type).name, parent.name):
                    needed = CLINIC_TYPE_SCOPES.get(type_name)
                    if needed is not None and needed not in actor.scopes:
                        self.report_error(
                            _denied(
                                f"reading {type_name} needs the {needed.value} scope", node, name
                            )
                        )
                        return

    return OperationPermissions


def _denied(message: str, node: FieldNode, field: str) -> GraphQLError:
    return GraphQLError(
        message, nodes=[node], extensions={"code": "PERMISSION_DENIED", "field": field}
    )
