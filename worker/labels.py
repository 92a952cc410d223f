"""The words people read in the reports, in English and Spanish: column names, states, kinds, the
names of the rules behind findings, and the reports' sentences. The CLI (``worker.reports``)
and the panel (``worker.reports.panel.i18n``, which adds its own) share them, so a
column or a state has one name in each language wherever it is shown.

Counts go through ``worker.words.plural`` (CLDR plural forms): a label holding ``{n}`` is a dict
of forms ("one", "other").
"""

from __future__ import annotations

from typing import Any, Mapping

LANGUAGES = ("en", "es")

LABELS: dict[str, dict[str, Any]] = {
    "en": {
        # Columns
        "client": "Client", "kind": "Kind", "comm_owner": "Communication", "products": "Products", "deadline": "Deadline",
        "renewal_date": "Renewal", "days_left": "Days left", "now_month": "Now / month", "renewal_month": "Renewal / month",
        "change": "Change", "owner": "Owner", "primary_contact": "Primary contact", "open_findings": "Findings",
        "rule": "Rule", "record": "Record", "value": "Value", "what": "What is wrong", "since": "Since", "state": "State",
        "subject": "Subject", "due": "Due", "priority": "Priority", "task": "Task", "why_closed": "Why closed / last error",
        "action": "Action", "why": "Why",
        # Values
        "hubspot": "HubSpot", "partner": "Partner", "not_recorded": "not recorded (HubSpot by default)", "inactive": "inactive",
        "none": "—", "unknown": "unknown", "open": "open", "resolved": "resolved",
        "kind_short_subscription": "HubSpot", "kind_short_service": "Service",
        "state_open": "open", "state_pending": "waiting to be created", "state_closed": "closed by the worker",
        "state_completed_in_hubspot": "completed by a person", "state_dismissed": "deleted by a person",
        "priority_HIGH": "high", "priority_MEDIUM": "medium", "priority_LOW": "low",
        "severity": "Severity", "severity_high": "high", "severity_medium": "medium", "severity_low": "low",
        # Sentences
        "renewals_title": "Renewals from {as_of} within {days}: {count}",
        "days": {"one": "{n} day", "other": "{n} days"},
        "findings_title": "Open findings: {count}",
        "tasks_title": "Tasks in the ledger: {count}",
        "sync_line": "sync ({mode}) in {seconds} s, {calls}: {counts}",
        "api_calls_count": {"one": "{n} API call", "other": "{n} API calls"},
        "nothing_changed": "nothing changed",
        "count_companies": "companies {n}", "count_contacts": "contacts {n}", "count_subscriptions": "subscriptions {n}",
        "dry_run_line": "dry run: {changes} would be made in HubSpot; nothing was written",
        "changes": {"one": "{n} change", "other": "{n} changes"},
        "tasks_line": "tasks: {created} created, {recovered} recovered, {updated} updated, {closed} closed, {pending} pending; findings open: {findings} from the rules",
        "action_create": "create", "action_update": "update", "action_close": "close",
        "action_completed by a person": "completed by a person", "action_deleted by a person": "deleted by a person",
        "status_cache": "Cache", "status_streams": "Sync streams", "status_runs": "Last runs", "status_no_runs": "(none)",
        "status_never_synced": "(never synced: run `renewal-worker --sync-now`)", "never": "never",
        "status_stream": "watermark {watermark}, last full pass {full}", "status_in_progress": "(pass in progress: {phase})",
        "status_took": "in {seconds} s",
    },
    "es": {
        "client": "Cliente", "kind": "Tipo", "comm_owner": "Comunicación", "products": "Productos", "deadline": "Fecha tope",
        "renewal_date": "Renovación", "days_left": "Días", "now_month": "Actual / mes", "renewal_month": "Renovación / mes",
        "change": "Cambio", "owner": "Propietario", "primary_contact": "Contacto principal", "open_findings": "Problemas",
        "rule": "Regla", "record": "Registro", "value": "Valor", "what": "Qué falla", "since": "Desde", "state": "Estado",
        "subject": "Asunto", "due": "Vence", "priority": "Prioridad", "task": "Tarea", "why_closed": "Por qué se cerró / último error",
        "action": "Acción", "why": "Por qué",
        "hubspot": "HubSpot", "partner": "Partner", "not_recorded": "sin registrar (HubSpot por defecto)", "inactive": "inactivo",
        "none": "—", "unknown": "sin registrar", "open": "abierto", "resolved": "resuelto",
        "kind_short_subscription": "HubSpot", "kind_short_service": "Servicio",
        "state_open": "abierta", "state_pending": "pendiente de crear", "state_closed": "cerrada por el worker",
        "state_completed_in_hubspot": "completada por una persona", "state_dismissed": "eliminada por una persona",
        "priority_HIGH": "alta", "priority_MEDIUM": "media", "priority_LOW": "baja",
        "severity": "Gravedad", "severity_high": "alta", "severity_medium": "media", "severity_low": "baja",
        "renewals_title": "Renovaciones desde el {as_of} en los próximos {days}: {count}",
        "days": {"one": "{n} día", "other": "{n} días"},
        "findings_title": "Problemas abiertos: {count}",
        "tasks_title": "Tareas en el registro: {count}",
        "sync_line": "sincronización ({mode}) en {seconds} s, {calls}: {counts}",
        "api_calls_count": {"one": "{n} llamada a la API", "other": "{n} llamadas a la API"},
        "nothing_changed": "sin cambios",
        "count_companies": "empresas {n}", "count_contacts": "contactos {n}", "count_subscriptions": "suscripciones {n}",
        "dry_run_line": "simulación: se harían {changes} en HubSpot; no se ha escrito nada",
        "changes": {"one": "{n} cambio", "other": "{n} cambios"},
        "tasks_line": "tareas: {created} creadas, {recovered} recuperadas, {updated} actualizadas, {closed} cerradas, {pending} pendientes; problemas abiertos: {findings} de las reglas",
        "action_create": "crear", "action_update": "actualizar", "action_close": "cerrar",
        "action_completed by a person": "completada por una persona", "action_deleted by a person": "eliminada por una persona",
        "status_cache": "Caché", "status_streams": "Flujos de sincronización", "status_runs": "Últimas ejecuciones", "status_no_runs": "(ninguna)",
        "status_never_synced": "(nunca sincronizado: ejecutar `renewal-worker --sync-now`)", "never": "nunca",
        "status_stream": "sincronizado hasta {watermark}, última pasada completa {full}", "status_in_progress": "(pasada en curso: {phase})",
        "status_took": "en {seconds} s",
    },
}

# What each finding's rule is about, for people (the code stays in --json and CSV).
RULE_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "contact.missing": "No primary contact", "contact.email_missing": "Primary contact without email",
        "contact.email_malformed": "Primary contact's email malformed", "contact.email_bounced": "Primary contact's email bounced",
        "contact.opted_out": "Primary contact opted out", "contact.name_missing": "Primary contact without a name",
        "owner.missing": "No owner", "owner.deactivated": "Owner deactivated", "owner.fallback_unusable": "Fallback owner unusable",
        "renewal.no_communication_owner": "Nobody chosen to communicate",
        "data.malformed_value": "Malformed value", "data.missing_value": "Missing value", "data.unknown_value": "Unknown value",
        "data.unstorable_value": "Value too long to keep", "data.unstorable": "Record too large to keep",
        "data.not_associated": "Not associated with a client", "data.primary_contact": "Primary contact unclear",
        "data.primary_contact_ambiguous": "Several primary contacts",
        "sync.reconcile_refused": "Deletions not trusted", "sync.reconcile_many_deleted": "Many records deleted",
        "sync.owners_refused": "Owners answer not trusted", "sync.links_refused": "Association changes not trusted",
        "renewal.tier_projection": "Contact tier reached before the renewal (projection)",
        "usage.token_revoked": "Client portal key revoked", "usage.missing_scope": "Client portal key lacks a scope",
        "usage.wrong_portal": "Client portal key for another portal", "usage.unreadable": "Client portal not readable",
        "usage.token_file": "Client portal key file unusable", "usage.bad_portal_id": "Client portal id malformed",
    },
    "es": {
        "contact.missing": "Sin contacto principal", "contact.email_missing": "Contacto principal sin correo",
        "contact.email_malformed": "Correo del contacto principal mal formado", "contact.email_bounced": "Correo del contacto principal rebotado",
        "contact.opted_out": "El contacto principal se dio de baja", "contact.name_missing": "Contacto principal sin nombre",
        "owner.missing": "Sin propietario", "owner.deactivated": "Propietario desactivado", "owner.fallback_unusable": "Propietario de reserva no válido",
        "renewal.no_communication_owner": "Nadie elegido para comunicar",
        "data.malformed_value": "Valor mal formado", "data.missing_value": "Valor ausente", "data.unknown_value": "Valor desconocido",
        "data.unstorable_value": "Valor demasiado largo para guardar", "data.unstorable": "Registro demasiado grande para guardar",
        "data.not_associated": "Sin cliente asociado", "data.primary_contact": "Contacto principal dudoso",
        "data.primary_contact_ambiguous": "Varios contactos principales",
        "sync.reconcile_refused": "Borrados no fiables", "sync.reconcile_many_deleted": "Muchos registros borrados",
        "sync.owners_refused": "Respuesta de propietarios no fiable", "sync.links_refused": "Cambios de asociaciones no fiables",
        "renewal.tier_projection": "Nivel de contactos alcanzado antes de la renovación (proyección)",
        "usage.token_revoked": "Clave del portal del cliente revocada", "usage.missing_scope": "A la clave del portal del cliente le falta un permiso",
        "usage.wrong_portal": "Clave de otro portal", "usage.unreadable": "Portal del cliente ilegible",
        "usage.token_file": "Archivo de clave del portal inutilizable", "usage.bad_portal_id": "Id de portal del cliente mal formado",
    },
}


# How much a finding threatens a renewal: a primary contact the renewal emails will not reach, a
# task nobody owns, or a sync answer the worker refused is high; a gap a person should close is
# medium; the rest is low.
HIGH_SEVERITY = frozenset({
    "contact.missing", "contact.email_missing", "contact.email_malformed", "contact.email_bounced", "contact.opted_out",
    "owner.missing", "owner.deactivated", "owner.fallback_unusable",
    "sync.reconcile_refused", "sync.owners_refused", "sync.links_refused",
})
MEDIUM_SEVERITY = frozenset({
    "renewal.no_communication_owner", "data.malformed_value", "data.missing_value", "data.not_associated",
    "data.primary_contact", "data.primary_contact_ambiguous", "sync.reconcile_many_deleted",
    # A client portal the worker cannot read: its tier usage falls back to the numbers typed.
    "renewal.tier_projection", "usage.token_revoked", "usage.missing_scope", "usage.wrong_portal", "usage.token_file",
})


def severity(rule: str) -> str:
    """high | medium | low (see HIGH_SEVERITY)."""
    family = rule.rsplit(":", 1)[0]
    if rule in HIGH_SEVERITY or family in HIGH_SEVERITY:
        return "high"
    return "medium" if rule in MEDIUM_SEVERITY or family in MEDIUM_SEVERITY else "low"


def rule_name(rule: str, language: str) -> str:
    """A finding's rule as people read it; a code without a name (a sync stream's own, say
    ``sync.owners``) by its family, then the code itself."""
    names = RULE_NAMES[language]
    return names.get(rule) or names.get(rule.rsplit(":", 1)[0]) or rule


def labels(language: str) -> Mapping[str, Any]:
    return LABELS[language if language in LABELS else "en"]
