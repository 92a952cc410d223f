"""``init``'s conversation: each proposal with its evidence, and the person's answer (accept, pick
another, skip). Without a person (``--yes``) every proposal is accepted and still shown.

``ask`` and ``say`` are the only I/O (a terminal's input and print); everything the portal wrote
(labels, sample values) is shown through ``for_terminal``: a label can hold control codes.
"""

from __future__ import annotations

from typing import Callable

from worker.onboarding.choose import InitPlan, SourcePlan, source_plan
from worker.onboarding.config_file import Choices, SourceChoice
from worker.onboarding.propose import ROLES, SURE, LIKELY, Proposal, cancelled_statuses, communication_values
from worker.safe_text import for_terminal

Ask = Callable[[str], str]
Say = Callable[[str], None]
_WHAT = {role.key: role.what for role in ROLES}
SECTION_MEANING = {
    "subscriptions": "the clients' HubSpot subscriptions",
    "services": "the partner's own service contracts",
}
_ATTEMPTS = 3  # answers that mean nothing before the proposal stands as it is


def sureness_words(value: float) -> str:
    return "sure" if value >= SURE else "likely" if value >= LIKELY else "a guess"


def settle(plan: InitPlan, ask: Ask | None, say: Say) -> Choices:
    """What to write: the plan as the person amended it (``ask`` None: as proposed)."""
    chosen: dict[str, SourceChoice | None] = {}
    for section, proposed in (("subscriptions", plan.subscriptions), ("services", plan.services)):
        source = _settle_object(section, proposed, plan, ask, say)
        chosen[section] = _settle_source(source, ask, say) if source else None
    label = _settle_label(plan.association_label, ask, say)
    return Choices(chosen["subscriptions"], chosen["services"], label)


def _settle_object(section: str, proposed: SourcePlan | None, plan: InitPlan, ask: Ask | None, say: Say) -> SourcePlan | None:
    say("")
    if proposed is None:
        say(f"[{section}] ({SECTION_MEANING[section]}): no object in this portal carries them; the section is left as it is.")
        return None
    found = proposed.found
    say(
        f"[{section}] ({SECTION_MEANING[section]}) from {for_terminal(found.label)} ({found.object_type}): "
        f"{found.count} records, {found.with_company} of {found.sampled} looked at tied to a company."
    )
    if ask is None:
        return proposed
    others = [f.object_type for f in plan.candidates if f.object_type != found.object_type]
    hint = f" / another object type ({', '.join(others)})" if others else ""
    for _ in range(_ATTEMPTS):
        answer = ask(f"  Read [{section}] from {found.object_type}? [Y]es / [n]o, leave the section as it is{hint}: ").strip()
        if answer.lower() in {"", "y", "yes", "s", "si", "sí"}:
            return proposed
        if answer.lower() in {"n", "no"}:
            return None
        other = next((f for f in plan.candidates if f.object_type == answer), None)
        if other is not None:
            return source_plan(other, section)
        say(f"  {for_terminal(answer)!r} is not one of: yes, no{', ' + ', '.join(others) if others else ''}")
    return proposed


def _settle_source(source: SourcePlan, ask: Ask | None, say: Say) -> SourceChoice:
    definitions = {d.name: d for d in source.found.definitions}
    names: dict[str, str] = {}
    for proposal in source.proposals:
        names[proposal.role] = _settle_role(proposal, definitions, source, ask, say)
    values = dict(source.values)
    if names.get("communication_owner") != _proposed(source, "communication_owner"):
        values = {k: v for k, v in values.items() if not k.startswith("communication_owner_")}
        for meaning, value in communication_values(definitions.get(names.get("communication_owner", ""))).items():
            values[f"communication_owner_{meaning}"] = value
    if names.get("status") != _proposed(source, "status"):
        values.pop("cancelled_statuses", None)
        cancelled = cancelled_statuses(definitions.get(names.get("status", "")))
        if cancelled:
            values["cancelled_statuses"] = cancelled
    for key, value in values.items():
        shown = ", ".join(repr(v) for v in value) if isinstance(value, tuple) else repr(value)
        say(f"  values: {key} = {for_terminal(shown)} (from the property's options)")
    missing = {role: _WHAT[role] for role, name in names.items() if not name}
    return SourceChoice(source.found.object_type, names, missing, values)


def _proposed(source: SourcePlan, role: str) -> str:
    return next((p.name or "" for p in source.proposals if p.role == role), "")


def _settle_role(proposal: Proposal, definitions: dict, source: SourcePlan, ask: Ask | None, say: Say) -> str:
    if proposal.name:
        say(f"  {proposal.role:<20} → {for_terminal(proposal.name)}: {for_terminal(proposal.evidence)} ({sureness_words(proposal.sureness)} {proposal.sureness:.2f})")
    else:
        say(f"  {proposal.role:<20} → (none): {for_terminal(proposal.evidence)}")
    if proposal.alternatives:
        say("  " + " " * 20 + "   other candidates: " + ", ".join(f"{n}) {for_terminal(name)}" for n, name in enumerate(proposal.alternatives, 1)))
    if ask is None:
        return proposal.name or ""
    required = proposal.role == "renewal_date"
    for _ in range(_ATTEMPTS):
        answer = ask("    [Enter] accept · 1-3 another · a property's name · s skip: ").strip()
        if not answer:
            return proposal.name or ""
        if answer.isdigit() and 1 <= int(answer) <= len(proposal.alternatives):
            return proposal.alternatives[int(answer) - 1]
        if answer.lower() in {"s", "skip", "-"}:
            if required:
                say("    the renewal date cannot be skipped: it is what makes a record a renewal")
                continue
            return ""
        if answer in definitions:
            return answer
        say(f"    {source.found.object_type} has no property named {for_terminal(answer)!r}")
    return proposal.name or ""


def _settle_label(label: str | None, ask: Ask | None, say: Say) -> str | None:
    say("")
    if label is None:
        say("[primary_contact] association_label: no company–contact label names a primary contact; left as it is.")
        return None
    say(f"[primary_contact] association_label → {for_terminal(label)!r} (the company–contact label that marks the primary contact)")
    if ask is None:
        return label
    answer = ask("  [Enter] accept · another label · s skip: ").strip()
    if not answer:
        return label
    return None if answer.lower() in {"s", "skip", "-"} else answer
