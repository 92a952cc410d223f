"""The panel as a person sees it: headless Chromium (Debian's package, driven by Playwright)
loads the panel served by uvicorn over a sandbox-synced cache.

Set RENEWAL_WORKER_SCREENSHOTS=DIR to keep screenshots of the renewals page and a client page
(the README's come from there)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.test_panel import worked_cache
from worker.reports.panel.server import InThread, listening_socket, server_for

HOSTILE = "<script>alert(1)</script> S.A."
# As root (CI) Chromium needs --no-sandbox; the rest keep it off this machine's closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    found = os.environ.get("RENEWAL_WORKER_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("Chromium not found: `make test` installs Debian's chromium (scripts/ensure-chromium.sh)")
    return found


def _usage_history(settings, cache):
    """Each client's marketing contacts as its own portal counted them over two months (two
    estimates and a reading today), growing towards its tier: the client page's chart."""
    from datetime import datetime, timedelta, timezone

    from sqlmodel import select

    from tests import clock
    from worker.cache import usage
    from worker.cache.models import Subscription
    from worker.rules.model import UsagePoint

    today = clock.local_today(settings.tz)
    with cache.transaction() as session:
        tiers: dict[str, int] = {}
        # The tier of each client's nearest renewal: the one its client page draws against.
        for s in sorted(session.exec(select(Subscription)), key=lambda s: (s.renewal_date is None, s.renewal_date)):
            if s.company_id and s.contact_tier and 0 < s.contact_tier < 10**7 and s.renewal_date and s.renewal_date >= today and not s.archived:
                tiers.setdefault(s.company_id, s.contact_tier)
        for company_id, tier in tiers.items():
            points = [UsagePoint(today - timedelta(days=back), int(tier * (0.7 + 0.002 * (60 - back))), None, None, "estimated") for back in (60, 30)]
            points.append(UsagePoint(today, int(tier * 0.82), int(tier * 0.9), tier * 3, "measured"))
            usage.record(session, company_id, "48000001", points, datetime.now(timezone.utc))


@pytest.fixture(scope="module")
def panel_url(tmp_path_factory):
    settings, cache, _ = worked_cache(tmp_path_factory.mktemp("browser"), 150)
    _usage_history(settings, cache)
    panel = InThread(server_for(settings, cache, credentials=None), listening_socket("127.0.0.1", 0)).start()
    yield f"http://127.0.0.1:{panel.port}"
    panel.stop()
    cache.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = context.new_page()
    page.problems = []  # console errors (a CSP violation shows there) and dialogs (a script that ran)
    page.on("console", lambda message: page.problems.append(message.text) if message.type == "error" else None)
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    yield page
    context.close()


def _shot(page, name: str) -> None:
    folder = os.environ.get("RENEWAL_WORKER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=False)


def test_a_person_sees_the_renewals_with_a_hostile_name_as_plain_text(page, panel_url):
    page.goto(panel_url + "/")
    rows = page.locator("table.renewals tbody tr")
    assert rows.count() > 10
    assert page.locator("#total").inner_text().endswith("renewals")
    # The company named <script>…: shown as its text, and no script ran.
    assert page.get_by_text(HOSTILE, exact=True).first.is_visible()
    assert page.locator("table.renewals script").count() == 0
    assert page.locator("section.timeline svg rect.bar").count() == 18
    _shot(page, "renewals.png")
    assert page.problems == []


def test_a_filter_narrows_the_rows_and_survives_a_reload(page, panel_url):
    page.goto(panel_url + "/")
    everyone = int(page.locator("#total").inner_text().split()[0])
    owner = page.locator("select[name=owner] option").nth(1)
    name, owner_id = owner.inner_text(), owner.get_attribute("value")
    page.select_option("select[name=owner]", owner_id)
    page.click("button[type=submit]")
    page.wait_for_url(f"**owner={owner_id}**")
    mine = int(page.locator("#total").inner_text().split()[0])
    assert 0 < mine < everyone
    owners = {cell.inner_text().split(" (")[0] for cell in page.locator("table.renewals tbody tr td.owner").all()}
    assert owners == {name}
    page.reload()
    assert page.locator("select[name=owner]").input_value() == owner_id
    assert int(page.locator("#total").inner_text().split()[0]) == mine
    assert page.problems == []


def test_one_click_from_a_name_to_the_client_page(page, panel_url):
    page.goto(panel_url + "/?sort=client&kind=subscription")
    link = page.locator("table.renewals tbody tr td.client a").first
    name = link.inner_text()
    link.click()
    page.wait_for_url("**/clients/**")
    assert page.locator("h1.client-name").inner_text() == name
    assert page.get_by_role("heading", name="Subscriptions").is_visible()
    assert page.locator("td.usage svg.bar").count() >= 1
    assert page.get_by_role("heading", name="The worker's tasks").is_visible()
    assert page.locator("a", has_text="open in HubSpot").first.get_attribute("href").startswith("https://app-eu1.hubspot.com/contacts/")
    _shot(page, "client.png")
    # The partner's people, and the marketing contacts over time against the tier, drawn on the server.
    assert page.get_by_role("heading", name="The partner's people on this client").is_visible()
    chart = page.locator("section.usage-history")
    chart.scroll_into_view_if_needed()
    assert chart.locator("svg.usage-chart circle.measured").count() == 1 and chart.locator("svg.usage-chart circle.estimated").count() == 2
    assert "in the client's own HubSpot portal" in chart.inner_text()
    folder = os.environ.get("RENEWAL_WORKER_SCREENSHOTS")
    if folder:
        chart.screenshot(path=str(Path(folder) / "client-usage.png"))
    assert page.problems == []


def test_both_kinds_of_renewal_and_a_clients_service_contracts(page, panel_url):
    page.goto(panel_url + "/")
    kinds = {cell.inner_text() for cell in page.locator("table.renewals tbody tr td.kind").all()}
    assert kinds == {"HubSpot", "Service"}
    page.select_option("select[name=kind]", "service")
    page.click("button[type=submit]")
    page.wait_for_url("**kind=service**")
    assert {cell.get_attribute("title") for cell in page.locator("table.renewals tbody tr td.kind").all()} == {"Service contract"}
    link = page.locator("table.renewals tbody tr td.client a").first
    link.click()
    page.wait_for_url("**/clients/**")
    assert page.get_by_role("heading", name="Service contracts").is_visible()
    record = page.locator("table.services td.products a").first.get_attribute("href")
    assert "/record/0-162/" in record  # HubSpot's services object
    assert page.problems == []


def test_the_panel_in_spanish(page, panel_url):
    page.goto(panel_url + "/")
    page.click("nav .languages a:has-text('ES')")
    page.wait_for_url("**lang=es**")
    assert page.locator("h1").inner_text().startswith("Renovaciones")
    assert page.locator("th", has_text="Cliente").count() == 1
    assert page.problems == []


def test_the_partners_week_on_a_phone(browser, panel_url):
    """The week at 390 px: the page never scrolls sideways (a wide table scrolls in its own box),
    each renewal row says how its deadline stands in words, and one tap leads to the client."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="es-ES", is_mobile=True)
    page = context.new_page()
    try:
        page.goto(panel_url + "/?lang=es")
        page.click("nav a:has-text('Esta semana')")
        page.wait_for_url("**/week**")
        assert page.locator("h1").inner_text().startswith("Esta semana")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
        rows = page.locator("#deadlines ~ div tr[data-deadline-state]")
        assert rows.count() > 0
        for row in rows.all():
            state = row.get_attribute("data-deadline-state")
            words = row.locator(".state").inner_text()
            assert {"passed": "pasó el", "today": "hoy", "soon": "("}[state] in words, (state, words)
        _shot(page, "week.png")
        page.locator("#deadlines ~ div td.client a").first.click()
        page.wait_for_url("**/clients/**")
    finally:
        context.close()


AXE_PAGES = ("/", "/week", "/tasks", "/findings", "/runs", "/?lang=es", "/week?lang=es", "/tasks?lang=es&state=open")


@pytest.mark.parametrize("width", [390, 1440])
def test_every_page_passes_axe_core_at_phone_and_desktop_width(browser, panel_url, width):
    """axe-core (WCAG 2.1 A and AA rules) finds nothing on any page, and no page scrolls sideways."""
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    axe = Axe()
    try:
        page.goto(panel_url + "/")
        client = page.locator("table.renewals tbody tr td.client a").first.get_attribute("href")
        problems = {}
        for path in AXE_PAGES + (client,):
            page.goto(panel_url + path)
            results = axe.run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
            found = [(v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["target"]) for v in results.response["violations"]]
            if found:
                problems[path] = found
            wide = page.evaluate("document.scrollingElement.scrollWidth")
            if wide > width:
                problems.setdefault(path, []).append(("page scrolls sideways", wide))
        assert problems == {}, "\n".join(f"{path}: {found}" for path, found in problems.items())
    finally:
        context.close()
