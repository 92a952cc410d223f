"""What a HubSpot task says: subject and body in the configured language (en, es).

A person must see at a glance the client, what to do, why, and the numbers. Each rule carries
its own texts (``worker.rules``: ``Rule.texts``, ``Rule.words``); this module puts them together
with the parts every task shares: dates and days as the language writes them, and the marker
line the body ends with (see ``marker``), which is how the worker recognises its own tasks.
Texts are rendered from a reminder's ``facts`` and its due date only, never from today's date,
so re-rendering an unchanged reminder gives the same text.
"""

from __future__ import annotations

import hashlib
import html
import json
from datetime import date
from typing import Any, Mapping

from worker.rules.model import SUBSCRIPTION, stage_key
from worker.rules.registry import RULES
from worker.safe_text import for_terminal
from worker.words import NOT_RECORDED, day, product_list, when

MARKER_PREFIX = "rw1-"

# The marker line ends every task body: how the worker (and other tools) recognise its tasks.
MARKER_LINE = {
    "en": "Created by renewal-worker · ref {marker} · {key}",
    "es": "Creada por renewal-worker · ref {marker} · {key}",
}


def marker(key: str, generation: int) -> str:
    """The token that identifies one task of the worker: a hash of the reminder key and its
    generation (a reminder that comes back after being closed gets a new task, a new marker)."""
    return MARKER_PREFIX + hashlib.sha256(f"{key}#{generation}".encode()).hexdigest()[:16]


def fingerprint(facts: Mapping[str, Any]) -> str:
    """Changes exactly when the numbers a task shows change. Facts whose key starts with ``_``
    are context for the words (the deadline and who communicates, on a milestone): they shape a
    new task's text but never make the worker rewrite one it already wrote."""
    shown = {key: value for key, value in facts.items() if not key.startswith("_")}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()[:16]


def render(rule: str, facts: Mapping[str, Any], due: date, *, language: str, key: str, task_marker: str) -> tuple[str, str]:
    """(subject, body) of a task, from its rule's own texts (``Rule.texts``) and words. The body
    is HTML (HubSpot's task body is rich text): the worker's block, ending with the marker line.
    A step whose date has passed by the task's due date says that it is late instead of asking
    for something "before" a past date (the rule's ``.late`` texts)."""
    definition = RULES[rule]
    # "_kind": the kind as context only (a contact task about a service contract), never a fact
    # that would rewrite a task already written.
    t = definition.texts_for(language, facts.get("kind") or facts.get("_kind") or SUBSCRIPTION)
    values: dict[str, Any] = {k: v for k, v in facts.items() if not isinstance(v, (list, dict))}
    values["company"] = facts.get("company") or NOT_RECORDED[language]["company"]
    values["products"] = product_list(facts.get("products"), language) or NOT_RECORDED[language]["products"]
    for field in ("renewal_date", "emails_start", "deadline", "tell_by"):
        if facts.get(field):
            values[field] = day(facts[field], language)
    if facts.get("renewal_date"):
        values["when"] = when((date.fromisoformat(facts["renewal_date"]) - due).days, language, facts["renewal_date"])
    # Late: the day the client had to hear by (HubSpot's emails start; a service contract's
    # notice deadline; the renewal deadline itself) has passed by the due date.
    cutoff = facts.get("emails_start") or facts.get("tell_by") or facts.get("deadline")
    late = bool(cutoff) and date.fromisoformat(cutoff) < due
    values.update(definition.words(facts, language, t, due))
    subject = t[definition.subject_key(facts, values, late, t)].format(**values)
    if definition.lines is not None:
        lines = definition.lines(facts, values, late, t)
    else:
        lines = [line.format(**values) for line in t[stage_key("body", values, late, t)]]
    lines.append(MARKER_LINE[language].format(marker=task_marker, key=key))
    # Words from HubSpot with their control and bidi characters made visible: a task is read in
    # HubSpot's app, its mobile app and email reminders, where U+202E would turn text around.
    body = "<br>\n".join(html.escape(for_terminal(line), quote=False) for line in lines)
    return for_terminal(subject)[:250], body


def find_marker(body: str | None) -> str | None:
    """The worker's marker in a task body, if the task is one of ours."""
    if not body:
        return None
    start = body.find(MARKER_PREFIX)
    if start < 0:
        return None
    token = body[start : start + len(MARKER_PREFIX) + 16]
    return token if len(token) == len(MARKER_PREFIX) + 16 else None
