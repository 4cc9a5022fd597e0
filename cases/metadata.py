"""Every domain's tables on SQLModel's one metadata: import it before creating, comparing or
migrating the schema, so that no table is missing because its domain was not imported yet."""

from __future__ import annotations

from sqlmodel import SQLModel

from cases.appeals import models as appeals
from cases.kit import models as kit
from cases.patients import models as patients
from cases.registry import models as registry
from cases.reminders import models as reminders
from cases.supervision import models as supervision
from cases.worklist import models as worklist

DOMAIN_MODELS = (registry, patients, supervision, worklist, reminders, appeals, kit)
metadata = SQLModel.metadata
