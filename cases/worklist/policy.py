"""The worklist's rules for a missed visit: which item, at what priority, keyed how."""

from __future__ import annotations

from cases.worklist.models import WorkItemKind


def missed_visit_work_item(*, second_in_a_row: bool) -> tuple[WorkItemKind, int]:
    """What a missed visit puts on the worklist: a second miss in a row escalates (priority 1)."""
    if second_in_a_row:
        return WorkItemKind.ESCALATION, 1
    return WorkItemKind.MISSED_VISIT, 2


def missed_visit_dedup_key(visit_id: int) -> str:
    """One work item per missed visit, however often the miss is flagged."""
    return f"missed:{visit_id}"
