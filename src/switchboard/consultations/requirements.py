"""What the domain's ETL jobs need configured to do anything (a job skips, saying why, without)."""

from __future__ import annotations

from switchboard.core.jobs import Requirement

_ONEC_MISSING = "1C is not configured (ODATA_BASEURL_CL)"

ONEC_CATALOGS = Requirement(
    met=lambda runtime: runtime.adapters.reference_source is not None, missing=_ONEC_MISSING
)
ONEC_STAFF = Requirement(
    met=lambda runtime: runtime.adapters.staff_source is not None, missing=_ONEC_MISSING
)
ONEC_ACCOUNTING = Requirement(
    met=lambda runtime: runtime.adapters.accounting is not None, missing=_ONEC_MISSING
)
CHATWOOT = Requirement(
    met=lambda runtime: runtime.adapters.chat is not None,
    missing="Chatwoot is not configured (CHATWOOT_*)",
)
