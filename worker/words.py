"""How people of a language write dates, numbers and spans of days (Babel, CLDR data).

Shared by every rule's task text; the rules' own words live with each rule
(``worker/rules/renewal.py``, ``worker/rules/contacts.py``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal

_WHEN = {
    "en": ("today", "tomorrow", "in {n} days"),
    "es": ("hoy", "mañana", "en {n} días"),
}


def number(value: Any, language: str, decimals: int = 0) -> str:
    """A number as people of ``language`` write it: 1,234.50 / 1.234,50."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(Decimal(str(value)), format=pattern, locale=language)


def percent(value: Any, language: str, *, signed: bool = False) -> str:
    decimal = Decimal(str(value))
    text = number(abs(decimal), language, 1) + (" %" if language == "es" else "%")
    if signed:
        text = ("+" if decimal >= 0 else "−") + text
    return text


def day(value: str | date, language: str) -> str:
    """A date as people of ``language`` write it: March 1, 2027 / 1 de marzo de 2027."""
    moment = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(moment, format="long", locale=language)


def when(days: int, language: str) -> str:
    """today / tomorrow / in 5 days (never "in 1 days")."""
    today, tomorrow, later = _WHEN[language]
    return today if days <= 0 else tomorrow if days == 1 else later.format(n=days)


def usage(used: Any, limit: Any, language: str) -> str:
    """``used`` as a share of ``limit`` (? when either is unknown)."""
    if used is None or not limit:
        return "?"
    return percent(Decimal(used) * 100 / Decimal(limit), language)
