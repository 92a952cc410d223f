"""The panel's words in English and Spanish, and dates and money as people of each write them
(Babel: CLDR data, as for the task texts)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from babel.dates import format_date, format_datetime, format_skeleton

from worker import words
from worker.labels import LABELS

LANGUAGES = ("en", "es")

# The panel's own words over the reports' (worker.labels): a column or a state has one name
# in each language, in the CLI and on the page.
WORDS: dict[str, dict[str, Any]] = {
    "en": {
        **LABELS["en"],
        "title": "Renewals", "renewals": "Renewals", "findings": "Findings", "runs": "Runs",
        "within": "Within (days)", "all_owners": "All owners", "all_comm": "Anyone communicates", "only_findings": "Only with findings",
        "filter": "Show", "csv": "Download CSV", "page": "Page", "of": "of", "previous": "Previous", "next": "Next",
        "timeline": "The next 120 days", "renewals_per_week": "renewals per week",
        "deadlines": "deadlines", "week_of": "week of", "no_renewals": "No renewal matches.",
        "as_of": "as of", "company": "Company", "domain": "Domain", "subscriptions": "Subscriptions", "tier_usage": "Contact tier",
        "contacts_used": "contacts used", "emails_sent": "emails sent this month", "tasks": "The worker's tasks",
        "outcome": "Outcome",
        "started": "Started", "duration": "Duration", "api_calls": "API calls", "rate_limited": "429s",
        "open_in_hubspot": "open in HubSpot", "status": "Status", "no_contact": "no primary contact",
        "email": "Email", "price": "Price", "back": "All renewals",
        "not_found": "Not in the cache.", "language": "Language",
        "discount_until": "{percent} discount until {date}", "discount_ends": "discount until {date}",
        "renewal_manager": "HubSpot renewal manager", "renewal_options": "renewal options",
        "kind_subscription": "HubSpot subscription", "kind_service": "Service contract", "all_kinds": "Both kinds",
        "services": "Service contracts",
        "skip": "Skip to the content",
        "deadline_default": "HubSpot's default: renewal − {n} days", "deadline_default_service": "default notice: renewal − {n} days",
        "tier_contacts_exceeded": "Over the {limit}-contact tier: the client moves to a higher tier at renewal and pays more.",
        "tier_contacts_warning": "At {share} of the {limit}-contact tier: past it by the renewal, the client moves to a higher tier.",
        "tier_emails_exceeded": "Over the {limit} marketing emails a month (10 × the tier): the client moves to a higher tier at renewal.",
        "tier_emails_warning": "At {share} of the {limit} marketing emails a month (10 × the tier) allowed.", "all_rules": "Every rule", "all_states": "Every state",
        "tasks_page": "Tasks", "no_tasks": "No task matches.", "state_group_people": "completed or deleted by a person",
        "n_renewals": {"one": "{n} renewal", "other": "{n} renewals"}, "n_deadlines": {"one": "{n} deadline", "other": "{n} deadlines"}, "week": "This week", "week_deadlines": "Deadlines to cancel or renegotiate, and those passed",
        "week_renewing": "Renewing in the next 7 days", "week_tasks": "The worker's open tasks due by {date}",
        "week_overdue": "overdue since {date}", "week_no_deadlines": "No deadline this week.",
        "week_no_renewals": "Nothing renews this week.", "week_no_tasks": "No open task due this week.", "week_earlier_pages": "All on the earlier pages.",
        "deadline_passed": "passed on {date}", "deadline_passed_note": "the renewal terms apply", "deadline_today": "today, {date}",
        "deadline_today_note": "the last day to cancel or renegotiate",
        "deadline_soon": "{date} ({when})", "deadline_within": "Deadline within (days)",
        "usage_title": "Marketing contacts over time, in the client's own portal",
        "usage_chart": "Marketing contacts day by day against the {tier}-contact tier",
        "usage_latest": "{count} marketing contacts of the {tier}-contact tier ({share}), {contacts} contacts in all; {emails} marketing emails this month. Measured on {date} in the client's own HubSpot portal.",
        "usage_stale": "No reading of the client's portal in the last week: the tier figures above are the ones typed on the subscription.",
        "usage_projection": "At +{pace} marketing contacts a month ({readings} since {since}), the tier is reached around {date}, before the renewal on {renewal}.",
        "usage_projection_after": "At +{pace} marketing contacts a month ({readings} since {since}), the tier would be reached around {date}, after the renewal on {renewal}.",
        "usage_estimated": "hollow dots: estimated from the create dates of today's marketing contacts",
        "usage_tier": "tier", "usage_renewal": "renewal", "usage_measured_note": "measured on {date}: {count}",
        "n_readings": {"one": "{n} reading", "other": "{n} readings"},
        "people": "The partner's people on this client", "role_owner": "Company owner", "role_additional_owner": "Also an owner",
        "teams": "teams", "client_team": "The company's team",
        "marketing_contacts": "marketing contacts", "measured_in_portal": "measured on {date} in the client's portal",
    },
    "es": {
        **LABELS["es"],
        "title": "Renovaciones", "renewals": "Renovaciones", "findings": "Problemas", "runs": "Ejecuciones",
        "within": "En los próximos (días)", "all_owners": "Todos los propietarios", "all_comm": "Comunique quien comunique",
        "only_findings": "Solo con problemas", "filter": "Mostrar", "csv": "Descargar CSV", "page": "Página", "of": "de",
        "previous": "Anterior", "next": "Siguiente",
        "timeline": "Los próximos 120 días",
        "renewals_per_week": "renovaciones por semana", "deadlines": "fechas tope", "week_of": "semana del",
        "no_renewals": "Ninguna renovación coincide.", "as_of": "a fecha de", "company": "Empresa", "domain": "Dominio",
        "subscriptions": "Suscripciones", "tier_usage": "Nivel de contactos", "contacts_used": "contactos usados",
        "emails_sent": "correos enviados este mes", "tasks": "Las tareas del worker",
        "outcome": "Resultado", "started": "Inicio", "duration": "Duración",
        "api_calls": "Llamadas API", "rate_limited": "429", "open_in_hubspot": "abrir en HubSpot", "status": "Estado",
        "no_contact": "sin contacto principal", "email": "Correo", "price": "Precio", "back": "Todas las renovaciones",
        "not_found": "No está en la caché.", "language": "Idioma",
        "discount_until": "descuento del {percent} hasta el {date}", "discount_ends": "descuento hasta el {date}",
        "renewal_manager": "Mánager de renovación de HubSpot", "renewal_options": "opciones de renovación",
        "kind_subscription": "Suscripción de HubSpot", "kind_service": "Contrato de servicios", "all_kinds": "Ambos tipos",
        "services": "Contratos de servicios",
        "skip": "Saltar al contenido",
        "deadline_default": "por defecto de HubSpot: renovación − {n} días", "deadline_default_service": "preaviso por defecto: renovación − {n} días",
        "tier_contacts_exceeded": "Supera el nivel de {limit} contactos: el cliente pasa a un nivel superior en la renovación y paga más.",
        "tier_contacts_warning": "Al {share} del nivel de {limit} contactos: si lo supera antes de la renovación, pasa a un nivel superior.",
        "tier_emails_exceeded": "Supera los {limit} correos de marketing al mes (10 × el nivel): el cliente pasa a un nivel superior en la renovación.",
        "tier_emails_warning": "Al {share} de los {limit} correos de marketing al mes (10 × el nivel) permitidos.", "all_rules": "Todas las reglas", "all_states": "Todos los estados",
        "tasks_page": "Tareas", "no_tasks": "Ninguna tarea coincide.", "state_group_people": "completadas o eliminadas por una persona",
        "n_renewals": {"one": "{n} renovación", "other": "{n} renovaciones"}, "n_deadlines": {"one": "{n} fecha tope", "other": "{n} fechas tope"}, "week": "Esta semana", "week_deadlines": "Fechas tope para cancelar o renegociar, y las ya pasadas",
        "week_renewing": "Renovaciones en los próximos 7 días", "week_tasks": "Tareas abiertas del worker que vencen hasta el {date}",
        "week_overdue": "atrasada desde el {date}", "week_no_deadlines": "Ninguna fecha tope esta semana.",
        "week_no_renewals": "Nada se renueva esta semana.", "week_no_tasks": "Ninguna tarea abierta vence esta semana.", "week_earlier_pages": "Todas en las páginas anteriores.",
        "deadline_passed": "pasó el {date}", "deadline_passed_note": "se aplican las condiciones de renovación", "deadline_today": "hoy, {date}",
        "deadline_today_note": "último día para cancelar o renegociar",
        "deadline_soon": "{date} ({when})", "deadline_within": "Fecha tope en (días)",
        "usage_title": "Contactos de marketing en el tiempo, en el portal del propio cliente",
        "usage_chart": "Contactos de marketing día a día frente al nivel de {tier} contactos",
        "usage_latest": "{count} contactos de marketing del nivel de {tier} contactos ({share}), {contacts} contactos en total; {emails} correos de marketing este mes. Medido el {date} en el portal de HubSpot del propio cliente.",
        "usage_stale": "Sin lectura del portal del cliente en la última semana: las cifras del nivel de arriba son las registradas en la suscripción.",
        "usage_projection": "Con +{pace} contactos de marketing al mes ({readings} desde el {since}), el nivel se alcanza hacia el {date}, antes de la renovación del {renewal}.",
        "usage_projection_after": "Con +{pace} contactos de marketing al mes ({readings} desde el {since}), el nivel se alcanzaría hacia el {date}, después de la renovación del {renewal}.",
        "usage_estimated": "puntos huecos: estimados por la fecha de creación de los contactos de marketing de hoy",
        "usage_tier": "nivel", "usage_renewal": "renovación", "usage_measured_note": "medido el {date}: {count}",
        "n_readings": {"one": "{n} lectura", "other": "{n} lecturas"},
        "people": "Las personas del partner en este cliente", "role_owner": "Propietario de la empresa", "role_additional_owner": "También propietario",
        "teams": "equipos", "client_team": "Equipo de la empresa",
        "marketing_contacts": "contactos de marketing", "measured_in_portal": "medido el {date} en el portal del cliente",
    },
}


# A page repeats the same days and prices many times; Babel formats each from its CLDR pattern.
@lru_cache(maxsize=8192)
def day(value: date | None, language: str) -> str:
    """A date on one line (no-break spaces: "9\u00a0dic\u00a02026" never breaks in a narrow column)."""
    return format_date(value, format="medium", locale=language).replace(" ", "\u00a0") if value else WORDS[language]["none"]


def moment(value: datetime | None, language: str, tz: Any) -> str:
    return format_datetime(value, format="short", tzinfo=tz, locale=language) if value else WORDS[language]["none"]


@lru_cache(maxsize=8192)
def money(value: Any, currency: str | None, language: str) -> str:
    """A price as the task texts write it (``worker.words.money``); "unknown" for none, and a
    value that is not a number as typed."""
    if value is None or value == "":
        return WORDS[language]["unknown"]
    try:
        return words.money(value, currency, language)
    except InvalidOperation:
        return str(value)


@lru_cache(maxsize=1024)
def short_day(value: date, language: str) -> str:
    """Day and month as the language writes them, for an axis: Dec 9 / 9 dic."""
    return format_skeleton("MMMd", value, locale=language).replace(" ", "\u00a0")


def number(value: Any, language: str) -> str:
    return WORDS[language]["unknown"] if value is None else words.number(value, language)


@lru_cache(maxsize=8192)
def percent(value: Any, language: str) -> str:
    """A change in percent as the task texts write it (+10.0% / −3,5 %); no sign on 0."""
    if value is None:
        return ""
    return words.percent(value, language, signed=Decimal(str(value)) != 0)
