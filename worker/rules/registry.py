"""Every rule the worker knows, by name: what the engine evaluates, what explains a closed task,
what a task says. Adding a rule is a ``Rule`` in its module and a line here."""

from __future__ import annotations

from worker.rules import contacts, renewal
from worker.rules.model import Rule

RULES: dict[str, Rule] = {rule.name: rule for rule in (*renewal.RULES, contacts.CONTACT_RULE)}
