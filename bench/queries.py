"""The GraphQL documents the benchmark sends: the shapes whose statement counts the tests pin."""

from __future__ import annotations

import base64
from typing import Any, Final

WORKLIST: Final = """
query($rep: ID!, $first: Int) {
  worklist(first: $first, filter: {representativeId: $rep}) {
    edges { node {
      id kind priority dueAt
      patient { id lastName phone lastContactAttempt { outcome attemptedAt } lastReminder { status channel } }
      case { id icd10 nextVisit { windowStart windowEnd } }
      visit { id status }
    } }
  }
}
"""

# The patient card: the patient, their consents, the last call and the last informing event,
# and every case with its clinic and its visits.
PATIENT_CARD: Final = """
query($id: ID!, $cases: Int, $visits: Int) {
  patient(id: $id) {
    id lastName firstName middleName birthDate phone
    consents { edges { node { channel granted } } }
    lastContactAttempt { outcome attemptedAt }
    lastReminder { status channel scheduledFor }
    cases(first: $cases) { totalCount edges { node {
      id icd10 status clinic { name }
      visits(first: $visits) { edges { node { id windowStart windowEnd status } } }
    } } }
  }
}
"""

RECORD_VISITS: Final = """
mutation($input: [RecordVisitInput!]!) {
  recordVisits(input: $input) { index result { __typename ... on UserError { code message } } }
}
"""

PAGE_SIZE: Final = 50
CARD_CASES: Final = 10
CARD_VISITS: Final = 20


def gid(type_name: str, id_: int) -> str:
    """A Relay global id, as the API encodes it."""
    return base64.b64encode(f"{type_name}:{id_}".encode()).decode()


def worklist_body(representative_id: int, first: int = PAGE_SIZE) -> dict[str, Any]:
    return {
        "query": WORKLIST,
        "variables": {"rep": gid("Representative", representative_id), "first": first},
    }


def card_body(patient_id: int) -> dict[str, Any]:
    return {
        "query": PATIENT_CARD,
        "variables": {"id": gid("Patient", patient_id), "cases": CARD_CASES, "visits": CARD_VISITS},
    }
