"""What emission did (or, in a dry run, would do) to HubSpot's tasks: each change, and the report
a run's summary, its counts and the notifications are made from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Change:
    """One thing emission does (or, in a dry run, would do) to HubSpot."""

    action: str  # create | update | close | completed by a person | deleted by a person
    key: str
    subject: str
    owner_id: str | None
    due: date | None = None
    priority: str = ""
    reason: str | None = None
    task_id: str | None = None


@dataclass
class EmissionReport:
    created: int = 0
    recovered: int = 0  # found in HubSpot by its marker instead of being created again
    updated: int = 0
    closed: int = 0
    pending: int = 0  # wanted but not created in this run (they go out on the next)
    # A portal rule that refuses every new task (emission stopped at once): the line for people.
    refused_by_portal: str | None = None
    unsent: int = 0  # never sent because emission stopped (counted in ``pending``)
    read_back: int = 0  # open tasks read back from HubSpot before deciding
    completed_by_people: int = 0
    dismissed_by_people: int = 0
    kept_for_people: int = 0  # tasks where at least one field stayed as a person set it
    moved: int = 0  # tasks whose company or primary-contact links were re-pointed
    errors: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.pending == 0 and not self.errors and self.refused_by_portal is None

    def counts(self) -> dict[str, int]:
        return {
            "tasks_created": self.created,
            "tasks_recovered": self.recovered,
            "tasks_updated": self.updated,
            "tasks_closed": self.closed,
            "tasks_pending": self.pending,
            "tasks_read_back": self.read_back,
            "tasks_completed_by_people": self.completed_by_people,
            "tasks_dismissed_by_people": self.dismissed_by_people,
            "tasks_kept_for_people": self.kept_for_people,
            "tasks_moved": self.moved,
        }
