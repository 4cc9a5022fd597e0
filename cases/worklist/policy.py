"""The worklist's rules: which item a missed visit raises, at what priority, keyed how; and the
one factory of work-item rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cases.worklist.models import WorkItemKind, WorkItemStatus


def missed_visit_work_item(*, second_in_a_row: bool) -> tuple[WorkItemKind, int]:
    """What a missed visit puts on the worklist: a second miss in a row escalates (priority 1)."""
    if second_in_a_row:
        return WorkItemKind.ESCALATION, 1
    return WorkItemKind.MISSED_VISIT, 2


def missed_visit_dedup_key(visit_id: int) -> str:
    """One work item per missed visit, however often the miss is flagged."""
    return f"missed:{visit_id}"


def work_item_row(
    *,
    kind: WorkItemKind,
    owner_id: int | None,
    patient_id: int | None,
    due_at: datetime,
    dedup_key: str | None,
    now: datetime,
    priority: int = 2,
    case_id: int | None = None,
    visit_id: int | None = None,
    reminder_id: int | None = None,
    appeal_id: int | None = None,
) -> dict[str, Any]:
    """An open work item, as the row the worklist takes; `dedup_key` raises it once."""
    return {
        "kind": kind,
        "owner_id": owner_id,
        "patient_id": patient_id,
        "case_id": case_id,
        "visit_id": visit_id,
        "reminder_id": reminder_id,
        "appeal_id": appeal_id,
        "priority": priority,
        "due_at": due_at,
        "status": WorkItemStatus.OPEN,
        "dedup_key": dedup_key,
        "created_at": now,
    }
