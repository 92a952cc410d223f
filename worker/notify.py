"""What the webhook says: a summary after each run, and once a day each owner's open tasks.

Failures to notify are logged and never fail a run: the tasks in HubSpot are what matters.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable, TypeVar

import structlog
from sqlalchemy import func, select

from integrations.webhook import WebhookFailed, WebhookNotifier
from worker.cache import repo
from worker.cache.db import Cache
from worker.cache.models import Owner, TaskLedger
from worker.rules.calendar import local_date
from worker.safe_text import for_terminal, inert
from worker.settings import Settings
from worker.sync.passes import utcnow

log = structlog.get_logger(__name__)

T = TypeVar("T")

DIGEST_STREAM = "digest"
DIGEST_DAYS_AHEAD = 7


def build_notifier(settings: Settings, **kw: Any) -> WebhookNotifier | None:
    if settings.webhook_url is None:
        return None
    n = settings.notifications
    return WebhookNotifier(
        settings.webhook_url.get_secret_value(), format=n.format, timeout_s=n.timeout_s, max_attempts=n.max_attempts,
        max_retry_after_s=n.max_retry_after_s, **kw,
    )


def _guarded(kind: str, send: Callable[[], T], default: T) -> T:
    """A notification never fails a run or a job: whatever goes wrong (the webhook, the
    database behind the digest, a bug) is one log event with its class, never the URL."""
    try:
        return send()
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.warning("notify.failed", message_kind=kind, error_type=type(exc).__name__)
        return default


def send_notifications(settings: Settings, result: Any, *, notifier: WebhookNotifier | None = None, now: datetime | None = None) -> dict[str, int]:
    """Post the run summary and, if today's is still due, the daily digest. Returns what was sent."""
    sent = {"run_summary": 0, "digest": 0}
    notifier = notifier or _guarded("run_summary", lambda: build_notifier(settings), None)
    if notifier is None:
        return sent
    moment = now or utcnow()
    try:
        if settings.notifications.run_summary:
            _guarded("run_summary", lambda: _post(notifier, "run_summary", *run_summary(result), sent), False)
        if settings.notifications.daily_digest and result.ok:
            sent["digest"] += _guarded("digest", lambda: daily_digest(settings, notifier, moment), 0)
    finally:
        notifier.close()
    return sent


def post_run_summary(settings: Settings, result: Any) -> bool:
    """The daemon's use: a summary of one job's run, if a webhook is set."""

    def send() -> bool:
        notifier = build_notifier(settings)
        if notifier is None or not settings.notifications.run_summary:
            return False
        try:
            return _post(notifier, "run_summary", *run_summary(result), {})
        finally:
            notifier.close()

    return _guarded("run_summary", send, False)


def post_daily_digest(settings: Settings, now: datetime | None = None) -> int:
    """The daemon's digest job: today's digest unless it went out already."""

    def send() -> int:
        notifier = build_notifier(settings)
        if notifier is None or not settings.notifications.daily_digest:
            return 0
        try:
            return daily_digest(settings, notifier, now or utcnow())
        finally:
            notifier.close()

    return _guarded("digest", send, 0)


def _post(notifier: WebhookNotifier, event: str, text: str, lines: list[str], data: dict[str, Any], sent: dict[str, int]) -> bool:
    try:
        # Words from HubSpot (company names) with their control and bidi characters made visible.
        notifier.post(event, for_terminal(text), [for_terminal(line) for line in lines], inert(data))  # type: ignore[arg-type]
    except WebhookFailed as exc:
        # structlog's first argument is the event: the message's kind goes under its own key.
        log.warning("notify.failed", message_kind=event, reason=str(exc))
        return False
    sent[event] = sent.get(event, 0) + 1
    return True


def run_summary(result: Any) -> tuple[str, list[str], dict[str, Any]]:
    counts = result.counts
    outcome = "ok" if result.ok else result.outcome.upper()
    job = getattr(result, "job", "sync")
    text = f"renewal-worker {'run' if job == 'sync' else job + ' job'} {outcome} ({result.mode}, {result.duration_s:.1f}s)"
    lines = [
        f"• tasks: {counts.get('tasks_created', 0)} created, {counts.get('tasks_updated', 0)} updated, "
        f"{counts.get('tasks_closed', 0)} closed, {counts.get('tasks_pending', 0)} pending",
        f"• findings from the rules: {counts.get('rule_findings', 0)}; data problems seen in this sync: {counts.get('data_problems', 0)}",
        f"• HubSpot API calls: {result.api.get('total_calls', 0)}, 429s: {result.api.get('rate_limited', 0)}",
    ]
    if result.error:
        lines.append(f"• error: {result.error}")
    data = {
        "outcome": result.outcome,
        "mode": result.mode,
        "run_id": result.run_id,
        "duration_s": result.duration_s,
        "counts": dict(counts),
        "api_calls": result.api.get("total_calls", 0),
        "rate_limited": result.api.get("rate_limited", 0),
        "error": result.error,
    }
    return text, lines, data


def daily_digest(settings: Settings, notifier: WebhookNotifier, now: datetime) -> int:
    """Once per local day: for each owner, their open tasks due within a week (or overdue)."""
    today = local_date(now, settings.tz)
    cache = Cache.existing(settings.database.url)
    try:
        with cache.transaction() as session:
            state = repo.load_state(session, DIGEST_STREAM)
            if state.watermark is not None and local_date(state.watermark, settings.tz) >= today:
                return 0
            horizon = now + timedelta(days=DIGEST_DAYS_AHEAD)
            # The task as HubSpot last showed it: a person may have reassigned or re-dated it.
            owner = func.coalesce(TaskLedger.hubspot_owner_id, TaskLedger.owner_id).label("owner_id")
            due = func.coalesce(TaskLedger.hubspot_due_at, TaskLedger.due_at).label("due_at")
            rows = session.execute(
                select(owner, TaskLedger.subject, due, TaskLedger.priority, TaskLedger.task_id)
                .where(TaskLedger.state == "open", due <= horizon)
                .order_by(owner, due)
            ).all()
            names = {o.id: " ".join(p for p in (o.first_name, o.last_name) if p) or o.email or o.id for (o,) in session.execute(select(Owner))}
        per_owner: dict[str, list[Any]] = {}
        for row in rows:
            per_owner.setdefault(row.owner_id or "", []).append(row)
        sent = {"digest": 0}
        all_sent = True
        for owner_id, items in per_owner.items():
            who = names.get(owner_id, owner_id) if owner_id else "unassigned"
            lines = [
                f"• {item.due_at.astimezone(settings.tz).date().isoformat()} [{item.priority}] {item.subject}"
                + (" (overdue)" if item.due_at < now else "")
                for item in items
            ]
            data = {
                "owner_id": owner_id or None,
                "owner": who,
                "date": today.isoformat(),
                "tasks": [{"task_id": i.task_id, "subject": i.subject, "due_at": i.due_at.isoformat(), "priority": i.priority} for i in items],
            }
            all_sent &= _post(notifier, "digest", f"Renewal tasks for {who}: {len(items)} due by {(today + timedelta(days=DIGEST_DAYS_AHEAD)).isoformat()}", lines, data, sent)
        if all_sent:  # else the next run tries today's digest again
            with cache.transaction() as session:
                repo.save_state(session, DIGEST_STREAM, now, watermark=now)
        return sent["digest"]
    finally:
        cache.close()
