"""Every domain's tables on SQLModel's one metadata, and the data scope's session hooks: entry
points import it before their first session, so that no table is missing because its domain was
not imported yet, and no session runs without the hooks."""

from __future__ import annotations

from sqlmodel import SQLModel

from cases import tenancy
from cases.appeals import models as appeals
from cases.audit import models as audit
from cases.kit import models as kit
from cases.patients import models as patients
from cases.registry import models as registry
from cases.reminders import models as reminders
from cases.supervision import models as supervision
from cases.worklist import models as worklist

DOMAIN_MODELS = (registry, patients, supervision, worklist, reminders, appeals, audit, kit)
SCOPE_HOOKS = tenancy.install_scoping
metadata = SQLModel.metadata
