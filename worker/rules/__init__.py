"""The renewal rules of ``docs/DOMAIN.md`` as pure functions: (portfolio, as-of date) → plan."""

from worker.rules.engine import assign, evaluate, why_gone
from worker.rules.model import (
    RULE_FINDING_PREFIXES,
    CompanyRow,
    ContactRow,
    OwnerRow,
    Plan,
    Portfolio,
    Reminder,
    RuleConfig,
    RuleFinding,
    SubscriptionRow,
)

__all__ = [
    "RULE_FINDING_PREFIXES",
    "CompanyRow",
    "ContactRow",
    "OwnerRow",
    "Plan",
    "Portfolio",
    "Reminder",
    "RuleConfig",
    "RuleFinding",
    "SubscriptionRow",
    "assign",
    "evaluate",
    "why_gone",
]
