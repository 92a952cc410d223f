"""How people of a language write dates, numbers and spans of days (Babel, CLDR data).

Shared by every rule's task text; the rules' own words live with each rule
(``worker/rules/renewal.py``, ``worker/rules/contacts.py``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal, is_currency

_WHEN = {
    "en": ("today", "tomorrow", {"one": "in {n} day", "other": "in {n} days"}),
    "es": ("hoy", "mañana", {"one": "en {n} día", "other": "en {n} días"}),
}

# What a text says where HubSpot recorded nothing, instead of "?".
NOT_RECORDED = {
    "en": {"company": "(client name not recorded)", "products": "(products not recorded)", "value": "not recorded"},
    "es": {"company": "(nombre del cliente sin registrar)", "products": "(productos sin registrar)", "value": "sin registrar"},
}


def plural(count: int, forms: dict[str, str], language: str) -> str:
    """``forms[category]`` for ``count`` by the language's CLDR plural rule (one / other; other
    languages have few / many too), with ``{n}`` as the number people of the language write:
    plural(1, {"one": "{n} renewal", "other": "{n} renewals"}, "en") → "1 renewal"."""
    category = Locale.parse(language).plural_form(abs(count))
    return forms.get(category, forms["other"]).format(n=number(count, language))


def product_list(products: str | None, language: str) -> str:
    """HubSpot's multiple values ("a;b", as a multi-select property holds them) as a list people
    of ``language`` write (CLDR: "A and B", "A, B y C"); "" for none. Commas inside a name stay."""
    items = [item.strip() for item in (products or "").split(";") if item.strip()]
    return format_list(items, style="standard", locale=language) if items else ""


def number(value: Any, language: str, decimals: int = 0) -> str:
    """A number as people of ``language`` write it: 1,234.50 / 1.234,50."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(Decimal(str(value)), format=pattern, locale=language)


def percent(value: Any, language: str, *, signed: bool = False) -> str:
    """10% / 10 % for a whole number, 12.5% / 12,5 % otherwise (one decimal)."""
    decimal = Decimal(str(value))
    shown = abs(decimal).quantize(Decimal("0.1"))
    text = number(shown, language, 0 if shown == shown.to_integral_value() else 1) + (" %" if language == "es" else "%")
    if signed:
        text = ("+" if decimal >= 0 else "−") + text
    return text


def money(value: Any, currency: str | None, language: str) -> str:
    """A price in its currency as people of ``language`` write it, with the currency's own
    decimals (CLDR: $1,200.00, 1.200,00 US$, CLP 3.200); the bare number with two decimals and
    the code when the currency is missing or not one CLDR knows (a HubSpot value is whatever was
    typed)."""
    amount = Decimal(str(value))
    code = (currency or "").strip().upper()
    if is_currency(code):
        return format_currency(amount, code, locale=language)
    return number(amount, language, 2) + (f" {currency.strip()}" if currency and currency.strip() else "")


def day(value: str | date, language: str) -> str:
    """A date as people of ``language`` write it: March 1, 2027 / 1 de marzo de 2027."""
    moment = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(moment, format="long", locale=language)


_PASSED = {"en": "on {day}", "es": "el {day}"}


def when(days: int, language: str, on: str | date | None = None) -> str:
    """today / tomorrow / in 5 days (never "in 1 days"); a day already past (``days`` < 0) is
    named by its date ("on December 5, 2026"), never "today", when ``on`` gives it."""
    today, tomorrow, later = _WHEN[language]
    if days < 0 and on is not None:
        return _PASSED[language].format(day=day(on, language))
    return today if days <= 0 else tomorrow if days == 1 else plural(days, later, language)


def usage(used: Any, limit: Any, language: str) -> str:
    """``used`` as a share of ``limit`` (? when either is unknown)."""
    if used is None or not limit:
        return "?"
    return percent(Decimal(used) * 100 / Decimal(limit), language)
