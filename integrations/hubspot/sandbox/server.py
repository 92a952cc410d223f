"""A HubSpot-compatible HTTP server on 127.0.0.1, for tests, the demo and the benchmark.

Shapes follow HubSpot's API reference (developers.hubspot.com/docs/api-reference, CRM objects v3,
search, batch read, associations v4 batch read, owners v3) and the SDK's generated models
(hubspot-api-client 12.0.0: ``CollectionResponseSimplePublicObjectWithAssociationsForwardPaging``,
``CollectionResponseWithTotalSimplePublicObjectForwardPaging``, ``BatchResponseSimplePublicObject``,
``BatchResponsePublicAssociationMultiWithLabel``, ``CollectionResponsePublicOwnerForwardPaging``).

It also behaves like HubSpot where clients get hurt: the rolling ten-second limit and the search
API's per-second limit with HubSpot's 429 body (``policyName``) and ``X-HubSpot-RateLimit-*``
headers, a daily limit, the search API's 10,000-result cap, 401 and 403 with missing scopes; and
it injects faults on demand (429 with and without Retry-After, 5xx, connection reset, slow and
truncated responses, and complete 200 answers whose body is garbled: see ``faults.GARBLES``).
"""

from __future__ import annotations

import json
from datetime import timedelta
import random
import re
import socket
import struct
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from integrations.hubspot.sandbox.faults import Fault, SandboxStats, chaos_fault, garbled_body, rate_limit_body
from integrations.hubspot.sandbox.generator import mutate_portal
from integrations.hubspot.sandbox.portal import SandboxPortal, canonical_type
from integrations.hubspot.sandbox.routes import (
    _ApiError,
    _error,
    route_association_labels,
    route_associations,
    route_batch_read,
    route_list_objects,
    route_list_properties,
    route_email_statistics,
    route_list_schemas,
    route_owners,
    route_search,
)
from integrations.hubspot.sandbox.write_routes import (
    route_associations_archive,
    route_associations_create,
    route_batch_create,
    route_batch_update,
)

DEMO_TOKEN = "sandbox-demo-token"

_READ_SCOPES = {
    "companies": "crm.objects.companies.read",
    "contacts": "crm.objects.contacts.read",
    "deals": "crm.objects.deals.read",
    "subscriptions": "crm.objects.subscriptions.read",
    "services": "crm.objects.services.read",  # the services guide's scope requirements
    # The partner objects' specs (2026-09): their own read scopes.
    "partner_services": "crm.objects.partner-services.read",
    "partner_clients": "crm.objects.partner-clients.read",
    "owners": "crm.objects.owners.read",
    "tasks": "crm.objects.contacts.read",  # HubSpot's specs list tasks under the contacts scopes
    # The schemas API (2026-09 spec): private apps may hold crm.schemas.custom.read or
    # crm.objects.custom.read; the sandbox asks for the first.
    "schemas": "crm.schemas.custom.read",
    # Marketing email statistics (the Marketing Emails spec's security: "content").
    "marketing_emails": "content",
}


def read_scope(object_type: str) -> str:
    return _READ_SCOPES.get(canonical_type(object_type), "crm.objects.custom.read")


ALL_SCOPES = frozenset(_READ_SCOPES.values()) | {"crm.objects.custom.read"}


class SandboxHubSpot:
    """The server: a portal, its tokens and limits, faults, and counters. Use as a context manager."""

    def __init__(
        self,
        portal: SandboxPortal | None = None,
        *,
        tokens: dict[str, frozenset[str]] | None = None,
        requests_per_10s: int = 100,
        search_requests_per_s: int = 4,
        daily_limit: int = 500_000,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_s: float = 0.0,
    ):
        self.portal = portal or SandboxPortal()
        # HubSpot takes about 150 ms to answer a CRM request (the measurement; its status
        # page shows the same order): each API answer waits this long after the request was
        # counted against the rate limit, as HubSpot counts a request when it arrives.
        self.latency_s = latency_s
        self.tokens = tokens if tokens is not None else {DEMO_TOKEN: ALL_SCOPES}
        self.requests_per_10s = requests_per_10s
        self.search_requests_per_s = search_requests_per_s
        self.daily_limit = daily_limit
        self.daily_used = 0
        self.stats = SandboxStats()
        self.faults: list[Fault] = []
        self.chaos: tuple[float, random.Random, tuple[str, ...]] | None = None
        self.mutation_rng: dict[int, random.Random] = {}
        # Each portal its own rate limit (a client portal's token reads that portal only).
        self._windows: dict[int, tuple[deque[float], deque[float]]] = {}
        # Client portals on the same host, each reached with its own token (HubSpot's API is one
        # host for every portal: the token says which); any other token reaches ``portal``.
        self.client_portals: dict[str, SandboxPortal] = {}
        self.calls_by_token: Counter[tuple[str, str]] = Counter()  # (token, route) → calls
        self.client_tokens_dir: str | None = None  # where a demo wrote the client portals' keys
        self._lock = threading.Lock()
        self._httpd = _QuietServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "SandboxHubSpot":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="sandbox-hubspot", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "SandboxHubSpot":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def set_chaos(self, rate: float, seed: int, kinds: tuple[str, ...] = ("429", "503", "reset", "reset_after", "truncate", "garble")) -> None:
        """Seeded random faults on a share of API requests (for soak tests and fault-equivalence)."""
        with self._lock:
            self.chaos = (rate, random.Random(seed), kinds) if rate > 0 else None

    def summary(self) -> dict[str, Any]:
        """What the portal holds, for computing a sync's theoretical minimum of API calls."""
        with self.portal.lock:
            tables = {
                name: {"active": sum(1 for o in rows.values() if not o.archived), "archived": sum(1 for o in rows.values() if o.archived)}
                for name, rows in self.portal.objects.items()
            }
            primaries = sum(
                1
                for company_id, linked in self.portal.associations.get(("companies", "contacts"), {}).items()
                if not self.portal.table("companies")[company_id].archived
                for types in linked.values()
                if any(t.label == "Primary" for t in types)
            )
            owners = {
                "active": sum(1 for o in self.portal.owners.values() if not o.archived),
                "archived": sum(1 for o in self.portal.owners.values() if o.archived),
            }
        return {"objects": tables, "primary_contacts": primaries, "owners": owners}

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = SandboxStats()

    def _take_fault(self, request_line: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times <= 0 or not re.search(fault.match, request_line):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.times -= 1
                self.stats.faults_applied += 1
                return fault
            if self.chaos:
                rate, rng, kinds = self.chaos
                if rng.random() < rate:
                    self.stats.faults_applied += 1
                    return chaos_fault(rng, kinds)
        return None

    # -- rate limits (HubSpot counts per portal in a rolling window)

    def portal_for(self, token: str | None) -> SandboxPortal:
        return self.client_portals.get(token or "", self.portal)

    def _rate_limit(self, is_search: bool, portal: SandboxPortal | None = None) -> tuple[dict[str, str], dict[str, Any] | None]:
        now = time.monotonic()
        with self._lock:
            self.daily_used += 1
            window, search_window = self._windows.setdefault(id(portal or self.portal), (deque(), deque()))
            while window and window[0] <= now - 10.0:
                window.popleft()
            while search_window and search_window[0] <= now - 1.0:
                search_window.popleft()
            window.append(now)
            if is_search:
                search_window.append(now)
            headers = {
                "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(self.daily_limit - self.daily_used, 0)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                "X-HubSpot-RateLimit-Max": str(self.requests_per_10s),
                "X-HubSpot-RateLimit-Remaining": str(max(self.requests_per_10s - len(window), 0)),
            }
            if is_search:
                # HubSpot documents that search responses carry no X-HubSpot-RateLimit headers.
                headers = {}
            if self.daily_used > self.daily_limit:
                return headers, rate_limit_body("DAILY", "You have reached your daily limit.")
            if len(window) > self.requests_per_10s:
                return headers, rate_limit_body("TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.")
            if is_search and len(search_window) > self.search_requests_per_s:
                return headers, rate_limit_body("SECONDLY", "You have reached your secondly limit.")
        return headers, None


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Resets and truncations are injected on purpose; a client hanging up is not news.
        return


# Each route answers on its legacy path (v3 objects and owners, v4 associations) and on the
# date-versioned ones (HubSpot's spec collection, 2026-03 and 2026-09): the version segment sits
# after /crm/objects, /crm/associations and /crm/owners.
_VERSION = r"(?P<version>2026-03|2026-09)"
_OBJECTS = rf"^/crm/(?:v3/objects|objects/{_VERSION})/(?P<type>[^/]+)"
_ASSOCIATIONS = rf"^/crm/(?:v4/associations|associations/{_VERSION})/(?P<from>[^/]+)/(?P<to>[^/]+)"
_ROUTES = [
    ("GET", re.compile(_OBJECTS + r"/?$"), "list_objects"),
    ("POST", re.compile(_OBJECTS + r"/search/?$"), "search_objects"),
    ("POST", re.compile(_OBJECTS + r"/batch/read/?$"), "batch_read_objects"),
    ("POST", re.compile(_ASSOCIATIONS + r"/batch/read/?$"), "batch_read_associations"),
    ("GET", re.compile(rf"^/crm/(?:v3/owners|owners/{_VERSION})/?$"), "list_owners"),
    ("POST", re.compile(_OBJECTS + r"/batch/create/?$"), "batch_create_objects"),
    ("POST", re.compile(_OBJECTS + r"/batch/update/?$"), "batch_update_objects"),
    ("GET", re.compile(_ASSOCIATIONS + r"/labels/?$"), "association_labels"),
    ("POST", re.compile(_ASSOCIATIONS + r"/batch/create/?$"), "batch_create_associations"),
    ("POST", re.compile(_ASSOCIATIONS + r"/batch/archive/?$"), "batch_archive_associations"),
    ("GET", re.compile(rf"^/crm/(?:v3/properties|properties/{_VERSION})/(?P<type>[^/]+)/?$"), "list_properties"),
    # Account details (HubSpot's API reference, "Retrieve account details": /account-info/v3/details
    # and /account-info/2026-03/details): the portal id that record links need.
    ("GET", re.compile(rf"^/account-info/(?:v3|{_VERSION})/details/?$"), "account_details"),
    # The portal's custom objects (PublicApiSpecs/CRM/Schemas: /crm-object-schemas/2026-09/schemas, v3 /crm/v3/schemas).
    ("GET", re.compile(rf"^/(?:crm/v3|crm-object-schemas/{_VERSION})/schemas/?$"), "list_schemas"),
    # A portal's marketing email statistics (PublicApiSpecs/Marketing/Marketing Emails, 2026-09).
    ("GET", re.compile(rf"^/marketing/(?:v3/emails|emails/{_VERSION})/statistics/list/?$"), "email_statistics"),
]
_WRITES = {"batch_create_objects", "batch_update_objects", "batch_create_associations", "batch_archive_associations"}


def _make_handler(server: SandboxHubSpot) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as HubSpot: the client reuses connections

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def finish(self) -> None:
            try:
                super().finish()
            except OSError:
                pass  # the connection was reset on purpose

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if parts.path.startswith("/_sandbox/"):
                self._control(method, parts.path, raw)
                return
            fault = server._take_fault(f"{method} {parts.path}")
            if fault and fault.kind == "reset":
                self._reset()
                return
            if fault and fault.kind == "slow" and not fault.processed:
                time.sleep(fault.delay_s)
            status, body, headers = self._dispatch(method, parts.path, parse_qs(parts.query), raw, fault)
            if status == 207 and "/2026-09/" in parts.path + "/":
                # 2026-09 answers a batch with some failures 200 (201 for a create), with errors
                # and numErrors in the body, instead of 207.
                status = 201 if parts.path.rstrip("/").endswith("/batch/create") else 200
            if fault and fault.kind == "slow" and fault.processed:
                time.sleep(fault.delay_s)  # the write is made; its answer is late
            if fault and fault.kind == "reset_after":
                self._reset()
                return
            if fault and fault.kind == "status":
                status, body = fault.status, (
                    rate_limit_body(fault.policy, "You have reached your ten_secondly_rolling limit.")
                    if fault.status == 429
                    else _error("Internal error" if fault.status >= 500 else "Injected error", "INJECTED")
                )
                if fault.retry_after is not None:
                    headers["Retry-After"] = fault.retry_after
            with server._lock:
                server.stats.statuses[status] += 1
                if status == 429:
                    server.stats.rate_limited += 1
            garble = fault.garble if fault and fault.kind == "garble" and 200 <= status < 300 else None
            if server.latency_s:
                time.sleep(server.latency_s)
            self._send(status, body, headers, truncate=bool(fault and fault.kind == "truncate"), garble=garble)

        def _dispatch(self, method: str, path: str, query: dict[str, list[str]], raw: bytes, fault: Fault | None = None):
            header = self.headers.get("Authorization", "")
            token = header[7:] if header.startswith("Bearer ") else None
            portal = server.portal_for(token)
            for route_method, pattern, name in _ROUTES:
                match = pattern.match(path)
                if route_method != method or not match:
                    continue
                groups = match.groupdict()
                object_type = groups.get("type") or groups.get("from") or {"account_details": "account", "list_schemas": "schemas", "email_statistics": "marketing_emails"}.get(name, "owners")
                with server._lock:
                    server.stats.calls[f"{name}:{canonical_type(object_type)}"] += 1
                    server.calls_by_token[(token or "", name)] += 1
                if fault and fault.kind == "status" and (fault.status == 429 or not fault.processed):
                    return fault.status, {}, {}  # answered before the request was carried out
                if groups.get("type") and not portal.knows_type(groups["type"]):
                    return 404, _error(f"Unable to infer object type from: {groups['type']}", "OBJECT_NOT_FOUND"), {}
                try:
                    # Task writes: HubSpot's scope for tasks isn't modelled here; the token is still checked.
                    scoped = [] if name in _WRITES or name in {"association_labels", "account_details"} else [t for t in (groups.get("type"), groups.get("from"), groups.get("to")) if t] or [object_type]
                    self._authorize(scoped)
                    headers, limited = server._rate_limit(is_search=name == "search_objects", portal=portal)
                    if limited:
                        return 429, limited, headers
                    body = json.loads(raw) if raw else None
                    if name == "list_objects":
                        return 200, route_list_objects(portal, groups["type"], query, body), headers
                    if name == "search_objects":
                        return 200, route_search(portal, groups["type"], query, body), headers
                    if name == "batch_read_objects":
                        status, answer = route_batch_read(portal, groups["type"], query, body)
                        return status, answer, headers
                    if name == "batch_read_associations":
                        status, answer = route_associations(portal, groups["from"], groups["to"], body)
                        return status, answer, headers
                    if name == "batch_create_objects":
                        status, answer = route_batch_create(portal, groups["type"], body)
                        return status, answer, headers
                    if name == "batch_update_objects":
                        status, answer = route_batch_update(portal, groups["type"], body)
                        return status, answer, headers
                    if name == "batch_create_associations":
                        status, answer = route_associations_create(portal, groups["from"], groups["to"], body)
                        return status, answer, headers
                    if name == "batch_archive_associations":
                        status, answer = route_associations_archive(portal, groups["from"], groups["to"], body)
                        return status, answer, headers
                    if name == "list_properties":
                        return 200, route_list_properties(portal, groups["type"]), headers
                    if name == "account_details":
                        return 200, portal.account_details(), headers
                    if name == "email_statistics":
                        return 200, route_email_statistics(portal, query), headers
                    if name == "list_schemas":
                        return 200, route_list_schemas(portal), headers
                    if name == "association_labels":
                        return 200, route_association_labels(portal, groups["from"], groups["to"]), headers
                    return 200, route_owners(portal, query), headers
                except _ApiError as exc:
                    return exc.status, exc.body, {}
                except (ValueError, KeyError, TypeError) as exc:
                    return 400, _error(f"Invalid input: {type(exc).__name__}", "VALIDATION_ERROR"), {}
            return 404, _error(f"Unable to infer object type from: {path}", "OBJECT_NOT_FOUND"), {}

        def _authorize(self, object_types: list[str]) -> None:
            header = self.headers.get("Authorization", "")
            token = header[7:] if header.startswith("Bearer ") else None
            if token is None or token not in server.tokens:
                raise _ApiError(
                    401,
                    _error(
                        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                        "INVALID_AUTHENTICATION",
                    ),
                )
            granted = server.tokens[token]
            missing = sorted({read_scope(t) for t in object_types} - set(granted))
            if missing:
                raise _ApiError(
                    403,
                    _error(
                        "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
                        "MISSING_SCOPES",
                        errors=[{"message": "One or more of the following scopes are required.", "context": {"requiredGranularScopes": missing}}],
                    ),
                )

        def _control(self, method: str, path: str, raw: bytes) -> None:
            if path == "/_sandbox/stats":
                self._send(200, {**server.stats.as_dict(), "daily_used": server.daily_used}, {})
            elif path == "/_sandbox/summary":
                self._send(200, server.summary(), {})
            elif path == "/_sandbox/faults" and method == "POST":
                for item in json.loads(raw or b"[]"):
                    server.add_fault(Fault(**item))
                self._send(200, {"ok": True}, {})
            elif path == "/_sandbox/chaos" and method == "POST":
                spec = json.loads(raw or b"{}")
                server.set_chaos(float(spec.get("rate", 0)), int(spec.get("seed", 0)))
                self._send(200, {"ok": True}, {})
            elif path == "/_sandbox/mutate" and method == "POST":
                spec = json.loads(raw or b"{}")
                rng = server.mutation_rng.setdefault(int(spec.get("seed", 0)), random.Random(int(spec.get("seed", 0))))
                self._send(200, {"done": mutate_portal(server.portal, rng, int(spec.get("count", 1)))}, {})
            elif path == "/_sandbox/tasks" and method == "POST":
                # What a person does to a task in HubSpot's UI: {"id", "action", "properties"}.
                spec = json.loads(raw or b"{}")
                server.portal.person_works_task(int(spec["id"]), str(spec["action"]), spec.get("properties"))
                self._send(200, {"ok": True}, {})
            elif path == "/_sandbox/age" and method == "POST":
                # {"seconds": N}: every record's last change N seconds further back.
                server.portal.age(timedelta(seconds=float(json.loads(raw or b"{}").get("seconds", 0))))
                self._send(200, {"ok": True}, {})
            elif path == "/_sandbox/reset-stats" and method == "POST":
                server.reset_stats()
                self._send(200, {"ok": True}, {})
            else:
                self._send(404, {"status": "error", "message": "unknown sandbox control"}, {})

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str], *, truncate: bool = False, garble: str | None = None) -> None:
            payload = b"" if status == 204 else json.dumps(body, ensure_ascii=False).encode("utf-8")
            if garble:
                payload = garbled_body(garble, payload)
                if garble == "html":
                    headers = {**headers, "Content-Type": "text/html; charset=utf-8"}
            self.send_response(status)
            if "Content-Type" not in headers:
                self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            if truncate:
                self.send_header("Connection", "close")
            self.end_headers()
            if truncate:
                # Promise the full length, deliver half, hang up: what a dropped proxy looks like.
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(payload)

        def _reset(self) -> None:
            # SO_LINGER 0 turns close() into a TCP RST: the client sees "connection reset by peer".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

    return Handler
