"""The reports stage: what the cache says, for people and tools. Nothing here calls HubSpot.

``renewals``, ``findings``, ``tasks`` and ``status`` each have a data function (the stable
``--json`` document, documented in docs/reference.md) and a renderer for people; ``table`` draws
the terminal's tables; ``panel`` is the web panel over the same data.
"""

from worker.reports.findings import client_companies, findings_data, render_findings
from worker.reports.renewals import (
    KIND_COLUMNS, MEASURED_COLUMNS, RENEWAL_COLUMNS, TERMS_COLUMNS, TIER_COLUMNS,
    open_findings, render_renewals, renewal_order, renewal_row, renewals_csv, renewals_data,
)
from worker.reports.table import table
from worker.reports.tasks import TASK_FIELDS, render_tasks, tasks_data

__all__ = [
    "KIND_COLUMNS", "MEASURED_COLUMNS", "RENEWAL_COLUMNS", "TASK_FIELDS", "TERMS_COLUMNS", "TIER_COLUMNS",
    "client_companies", "findings_data", "open_findings", "render_findings", "render_renewals", "render_tasks",
    "renewal_order", "renewal_row", "renewals_csv", "renewals_data", "table", "tasks_data",
]
