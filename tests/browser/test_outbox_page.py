"""The outbox page in a real Chromium at 1280 and 390 px: an admin finds an uncertain message,
reads what to check, confirms the Sent Items and requeues it; axe-core finds 0 critical and 0
serious violations; screenshots in tests/artifacts/screens/outbox-<width>.png."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from integrator.demo.rehearsal import Rehearsal
from integrator.domain.types import MessageKind, OutboxStatus
from integrator.jobs.notify.outbox import NewMessage, enqueue
from integrator.store.db import Store
from integrator.store.models import AuditEvent, Client, Organisation, OutboxMessage
from integrator.web import accounts
from tests.browser import test_coordinator_week as week_test
from tests.browser.axe import assert_no_serious
from tests.browser.test_coordinator_week import ARGS, CHROMIUM, PASSWORD
from tests.browser.test_register_grid import shot
from tests.web.world import REHEARSAL_NOW

pytestmark = week_test.pytestmark
served = week_test.served
WIDTHS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
ADMIN = "yllapito@rehearsal.example.fi"


def _messages(store: Store, org_key: str, width: int) -> int:
    """An uncertain reminder, a parked letter and a sent one for the width's walk; the uncertain id."""
    now = REHEARSAL_NOW  # the served app's clock
    with store.session() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == org_key))
        client = s.scalar(select(Client).where(Client.organisation_id == org_id).order_by(Client.id).limit(1))
        assert org_id is not None and client is not None
        keys = {status: f"{status.value}:{client.code}:{width}" for status in
                (OutboxStatus.UNCERTAIN, OutboxStatus.PARKED, OutboxStatus.SENT)}
        enqueue(s, [NewMessage(key=key, kind=MessageKind.REMINDER, organisation_id=org_id,
                               to_address=client.email or "asiakas@example.fi", subject="Muistutus: etätyöpäivä",
                               body_text="x", body_html=None, client_id=client.id) for key in keys.values()])
        rows = {m.key: m for m in s.scalars(select(OutboxMessage).where(OutboxMessage.key.in_(keys.values())))}
        for status, key in keys.items():
            rows[key].status = status
        rows[keys[OutboxStatus.UNCERTAIN]].last_error = "uncertain: provider answered 503"
        rows[keys[OutboxStatus.PARKED]].last_error = "provider daily limit"
        rows[keys[OutboxStatus.PARKED]].not_before = now + timedelta(hours=3)
        rows[keys[OutboxStatus.SENT]].sent_at = now - timedelta(hours=1)
        for row in rows.values():
            row.created_at = now - timedelta(hours=2)
        return rows[keys[OutboxStatus.UNCERTAIN]].id


def test_an_admin_resolves_an_uncertain_message(served: tuple[str, Rehearsal, Store]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, r, store = served
    accounts.add_staff(store, email=ADMIN, name="Ylläpitäjä", role="admin", org_key=r.org_key, password=PASSWORD)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            for width, size in WIDTHS.items():
                message_id = _messages(store, r.org_key, width)
                context = browser.new_context(viewport=size, locale="fi-FI")
                page = context.new_page()
                page.set_default_timeout(30_000)
                page.goto(base + "/login")
                page.get_by_label("Sähköposti").fill(ADMIN)
                page.get_by_label("Salasana").fill(PASSWORD)
                page.get_by_role("button", name="Kirjaudu").click()
                page.get_by_role("link", name="Lähetysjono").first.click()
                item = page.locator(f"#message-{message_id}")
                expect(item).to_contain_text("Lähetetyt")
                expect(item).to_contain_text("uncertain:")
                expect(page.locator("#outbox-parked")).to_contain_text("provider daily limit")
                shot(page, "outbox", width)
                assert_no_serious(page, f"outbox-{width}")
                item.get_by_label("Syy").first.fill("Ei löytynyt Lähetetyt-kansiosta")
                item.get_by_role("button", name="Lähetä uudelleen").click()
                # The browser's own check: the Sent Items box is required before the form leaves.
                expect(page.locator(f"#message-{message_id}")).to_be_visible()
                item.get_by_label("Tarkistin Lähetetyt-kansion").check()
                item.get_by_role("button", name="Lähetä uudelleen").click()
                expect(page.get_by_role("status")).to_contain_text("palautettiin jonoon")
                expect(page.locator(f"#message-{message_id}")).to_have_count(0)
                assert_no_serious(page, f"outbox-after-{width}")
                context.close()
                with store.session() as s:
                    msg = s.get(OutboxMessage, message_id)
                    assert msg is not None and msg.status is OutboxStatus.QUEUED
                    assert s.scalar(select(AuditEvent).where(AuditEvent.action == "outbox.requeue",
                                                             AuditEvent.entity_id == str(message_id)))
        finally:
            browser.close()
