"""The panel's web app: Starlette routes over the cache, Jinja2 templates, and the safety around
them (authentication, security headers, GET and HEAD only).

Every value from HubSpot reaches the page through the templates' autoescape (markup shows as
text) and ``finalize`` (control and format characters shown as escapes). The page loads no
script and nothing from another origin; the Content-Security-Policy says so to the browser.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import structlog
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from worker import words
from worker.cache.db import Cache
from worker.cache.models import HubSpotAccount
from worker.reports.panel import i18n, views
from worker.labels import rule_name
from worker.reports.panel import findings, tasks
from worker.reports.panel import week as weeks
from worker.reports.panel.live import LiveRenewals
from worker.reports import renewals_csv, renewals_data
from worker.rules import RuleConfig
from worker.rules.calendar import local_date
from worker.rules.tier import usage_percent
from worker.safe_text import for_terminal
from worker.settings import Settings

HERE = Path(__file__).parent
log = structlog.get_logger(__name__)
SECURITY_HEADERS = {
    # No script at all, styles and images only from the panel itself, never framed.
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    # Client names and emails: not kept by browsers or proxies.
    "cache-control": "no-store",
}


# The largest request head (request line and header fields) the panel reads, as documented.
MAX_HEAD_BYTES = 16 * 1024


def _head_size(scope: Scope) -> int:
    line = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + len(scope.get("method", "")) + 16
    return line + sum(len(name) + len(value) + 4 for name, value in scope.get("headers") or [])


class SecurityHeaders:
    """Every answer carries the security headers, errors included (a page that fails, a head too
    large); a bug on a page is one log line, never a traceback sent out."""

    def __init__(self, app: ASGIApp):
        self.app = app

    @staticmethod
    def _headed(send: Send) -> Send:
        async def headed(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in SECURITY_HEADERS]
                message["headers"] = kept + [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
            await send(message)

        return headed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False
        if _head_size(scope) > MAX_HEAD_BYTES:
            # uvicorn's h11 limit holds back a head that arrives in pieces, not one sent whole.
            await PlainTextResponse("Request header fields too large.", status_code=431)(scope, receive, self._headed(send))
            return

        headed = self._headed(send)

        async def with_headers(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await headed(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception as exc:  # noqa: BLE001 - a bug of ours: one log line, and an answer that still has its headers
            log.error("panel.page_failed", path=scope.get("path", "")[:200], error_type=type(exc).__name__)
            if not started:
                await PlainTextResponse("The page could not be shown; the log says why.", status_code=500)(scope, receive, with_headers)


class BasicAuth:
    """HTTP Basic authentication against ``user:password`` (the panel's secret, from the
    environment or a secret file); compared in constant time."""

    def __init__(self, app: ASGIApp, credentials: str | None):
        self.app = app
        self.expected = credentials.encode() if credentials else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.expected is None or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        response = PlainTextResponse("authentication required\n", status_code=401, headers={"WWW-Authenticate": 'Basic realm="renewal-worker", charset="UTF-8"'})
        await response(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, value = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            given = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        assert self.expected is not None
        return hmac.compare_digest(given, self.expected)


def _visible(value: Any) -> Any:
    """Every ``{{ value }}``: HubSpot text with control characters made visible (autoescape
    then takes care of markup)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return for_terminal(value)
    return value


def build_app(settings: Settings, cache: Cache, *, credentials: str | None = None, clock: Callable[[], datetime] | None = None) -> Starlette:
    """The panel over ``cache``. ``credentials`` (``user:password``) turns on Basic auth."""
    now = clock or (lambda: datetime.now(timezone.utc))
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True), finalize=_visible)
    env.globals.update(money=i18n.money, percent=i18n.percent, day=i18n.day, share=views.usage_share, contacts_percent=usage_percent)

    def language(request: Request) -> str:
        asked = request.query_params.get("lang", "")
        return asked if asked in i18n.LANGUAGES else settings.reminders.language

    def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = language(request)
        page = env.get_template(template).render(
            w=i18n.WORDS[lang], lang=lang, path=request.url.path, query=dict(request.query_params),
            moment=lambda value: i18n.moment(value, lang, settings.tz), number=lambda value: i18n.number(value, lang),
            plain_percent=lambda value: i18n.percent(value, lang).lstrip("+"),
            products=lambda value: words.product_list(value, lang) or i18n.WORDS[lang]["unknown"],
            count=lambda n, what: words.plural(n, i18n.WORDS[lang][what], lang), short_day=lambda value: i18n.short_day(value, lang),
            rule_name=lambda code: rule_name(code, lang),
            **context,
        )
        return HTMLResponse(page, status_code=status)

    def today() -> Any:
        return local_date(now(), settings.tz)

    rule_config = RuleConfig.from_settings(settings)
    live = LiveRenewals(settings, rule_config)
    # The pages are plain functions: Starlette runs them in its thread pool, so a page reading the
    # cache never holds up the event loop (nor the daemon's /healthz beside it).

    def renewals(request: Request) -> Response:
        query = views.RenewalQuery.parse(request.query_params, settings.reminders.horizon_days)
        with cache.transaction() as session:
            data = views.renewals_page(session, settings, today(), query, live=live)
        return render(request, "renewals.html", q=query, as_of=today(), **data)

    def renewals_export(request: Request) -> Response:
        query = views.RenewalQuery.parse(request.query_params, settings.reminders.horizon_days)
        with cache.transaction() as session:
            data = renewals_data(session, settings, today(), query.within)
        data["renewals"] = views.select_renewals(data["renewals"], query)
        return Response(renewals_csv(data), media_type="text/csv; charset=utf-8", headers={"content-disposition": 'attachment; filename="renewals.csv"'})

    def client(request: Request) -> Response:
        company_id = str(request.path_params["company_id"])
        if not views.is_record_id(company_id):
            return render(request, "missing.html", status=404)
        with cache.transaction() as session:
            data = views.client_page(session, company_id, rule_config, today())
            if data is None:
                return render(request, "missing.html", status=404)
            return render(request, "client.html", **data)

    def findings_list(request: Request) -> Response:
        with cache.transaction() as session:
            page = request.query_params.get("page", "1")
            rule = request.query_params.get("rule", "")[:100]
            data = findings.findings_page(session, language(request), views.whole_number(page, 1, 1, 1_000_000), rule)
            return render(request, "findings.html", **data)

    def week_tasks(session: Any, as_of: Any) -> list[weeks.WeekTask]:
        return live.tasks(session, as_of, lambda session: weeks.tasks_this_week(session, settings, as_of))

    def week(request: Request) -> Response:
        as_of, lang = today(), language(request)
        owner = request.query_params.get("owner", "")[:32]
        with cache.transaction() as session:
            rows = live.rows(session, as_of, views.EVERY_RENEWAL_DAYS)
            tasks = week_tasks(session, as_of)
            account = session.get(HubSpotAccount, 1)
        page = views.whole_number(request.query_params.get("page", "1"), 1, 1, 1_000_000)
        return render(
            request, "week.html", as_of=as_of, **weeks.week_page(rows, tasks, as_of, owner, page),
            deadline_words=lambda deadline, state: weeks.deadline_words(deadline, state, as_of, lang, i18n.WORDS[lang]),
            deadline_state=lambda deadline: weeks.deadline_state(deadline, as_of) if deadline else "",
            relative=lambda days, on: words.when(days, lang, on),
            task_url=lambda task_id: views.record_url(account, "tasks", task_id),
        )

    def task_list(request: Request) -> Response:
        params = request.query_params
        with cache.transaction() as session:
            data = tasks.tasks_page(session, params.get("state", ""), params.get("owner", "")[:32], views.whole_number(params.get("page", "1"), 1, 1, 1_000_000))
            return render(request, "tasks.html", **data)

    def runs(request: Request) -> Response:
        with cache.transaction() as session:
            return render(request, "runs.html", **views.runs_page(session))

    routes = [
        Route("/", renewals, methods=["GET"]),
        Route("/week", week, methods=["GET"]),
        Route("/renewals.csv", renewals_export, methods=["GET"]),
        Route("/clients/{company_id}", client, methods=["GET"]),
        Route("/tasks", task_list, methods=["GET"]),
        Route("/findings", findings_list, methods=["GET"]),
        Route("/runs", runs, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The renewals are read while the panel starts, not at its first view: at 10,000
        # companies that is a third of a second a person would otherwise wait.
        threading.Thread(target=warm, name="panel-warm-up", daemon=True).start()
        yield

    def warm() -> None:
        try:
            as_of = today()
            with cache.transaction() as session:
                live.rows(session, as_of, views.EVERY_RENEWAL_DAYS)
                week_tasks(session, as_of)
        except Exception as exc:  # noqa: BLE001 - the first view reads them instead, and says why if it cannot
            log.warning("panel.warm_up_failed", error_type=type(exc).__name__)
        finally:
            app.state.warm.set()

    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders), Middleware(BasicAuth, credentials=credentials)], lifespan=lifespan)
    app.state.warm = threading.Event()  # set once the warm-up is over (the bench waits on it)
    app.state.warm_up = warm  # for a host that mounts the panel (its lifespan does not run there)
    return app
