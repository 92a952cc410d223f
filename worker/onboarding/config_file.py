"""Writing what ``init`` settled into the user's config file, keeping everything already there.

Pure text in, text out (tomlkit keeps comments, order and the keys ``init`` does not own). It
writes only the keys the config file documents: ``[subscriptions] object_type``,
``[subscriptions.properties]``, ``[subscriptions.values]``, the same under ``[services]``, and
``[primary_contact] association_label``. A role nothing fits is written as "" (not read: a
default name the portal lacks would fail the preflight), with a comment saying what to look for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

import tomlkit
from tomlkit.items import Table


@dataclass(frozen=True)
class SourceChoice:
    """One kind of renewal as the person settled it."""

    object_type: str
    properties: Mapping[str, str]  # role → property name; "" not read
    missing: Mapping[str, str] = field(default_factory=dict)  # role → what to look for (a comment)
    values: Mapping[str, Any] = field(default_factory=dict)  # [section.values] keys to set


@dataclass(frozen=True)
class Choices:
    subscriptions: SourceChoice | None = None  # None: leave the section as it is
    services: SourceChoice | None = None
    association_label: str | None = None


def updated_config(existing: str, choices: Choices, today: date) -> str:
    """``existing`` (TOML, possibly empty) with ``choices`` written in."""
    document = tomlkit.parse(existing) if existing.strip() else _new_document(today)
    created: list[Table] = []
    for section, choice in (("subscriptions", choices.subscriptions), ("services", choices.services)):
        if choice is not None:
            _write_source(_table(document, section, created), choice, created)
    if choices.association_label is not None:
        _table(document, "primary_contact", created)["association_label"] = choices.association_label
    for table in created:  # a blank line after each new table's keys, or the next table would touch them
        if not any(isinstance(value, Table) for value in table.values()):
            table.add(tomlkit.nl())
    # tomlkit separates some new tables itself: never more than one blank line in a row.
    return re.sub(r"\n{3,}", "\n\n", tomlkit.dumps(document))


def _new_document(today: date) -> tomlkit.TOMLDocument:
    document = tomlkit.document()
    document.add(tomlkit.comment(f"renewal-worker settings, written by `renewal-worker init` on {today.isoformat()}."))
    document.add(tomlkit.comment("Every key and its default: config.example.toml. The token never goes here (HUBSPOT_ACCESS_TOKEN)."))
    document.add(tomlkit.nl())
    return document


def _table(parent: Any, name: str, created: list[Table]) -> Table:
    if name not in parent:
        parent.add(name, tomlkit.table())
        created.append(parent[name])
    found = parent[name]
    if not isinstance(found, Table):  # an inline table or a dotted key: rewritten as a table
        table = tomlkit.table()
        for key, value in dict(found).items():
            table[key] = value
        parent[name] = table
        found = parent[name]
    return found


def _write_source(section: Table, choice: SourceChoice, created: list[Table]) -> None:
    section["object_type"] = choice.object_type
    properties = _table(section, "properties", created)
    for role, name in choice.properties.items():
        item = tomlkit.item(name)
        if not name and role in choice.missing:
            item.comment(f"none chosen by init: look for {choice.missing[role]}")
            item.trivia.comment_ws = "  "
        properties[role] = item
    if choice.values:
        values = _table(section, "values", created)
        for key, value in choice.values.items():
            values[key] = list(value) if isinstance(value, (tuple, list)) else value
