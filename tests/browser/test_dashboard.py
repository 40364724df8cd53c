"""The dashboard in a real browser at 1280 and 390 px on the rehearsal organisation: the to-do list
first, the groups folded and found by name, a hybrid day counted against who works remotely that
day; axe-core finds no critical or serious violation. Screenshots: tests/artifacts/screens/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from integrator.demo.rehearsal import Rehearsal
from integrator.domain import weeks
from integrator.domain.types import AttendanceStatus, JobStatus, MessageKind, OutboxStatus
from integrator.reports.expected import expected_pairs
from integrator.store.db import Store
from integrator.store.models import (
    AttendanceDay,
    Client,
    JobRun,
    MeetingAttendance,
    OutboxMessage,
    PeerGroup,
    WorkDay,
)
from tests.browser import test_coordinator_week as week_test
from tests.browser.axe import assert_no_serious
from tests.browser.test_coordinator_week import ARGS, ARTIFACTS, CHROMIUM, PASSWORD
from tests.web.world import REHEARSAL_NOW

pytestmark = week_test.pytestmark
served = week_test.served  # the rehearsal organisation served on loopback, on the tenant's clock
SIZES = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
SCREENS = ARTIFACTS / "screens"
LAST_WEEK = weeks.iso_week_of(REHEARSAL_NOW.date() - timedelta(days=7))  # its meetings are over


def last_week_happened(store: Store) -> None:
    """Last week's work days with attendance as the nightly sync leaves it, and one of each to-do."""
    statuses = [AttendanceStatus.PRESENT, AttendanceStatus.ABSENT, AttendanceStatus.PRESENT, AttendanceStatus.PENDING]
    with store.session() as s:
        org_id = 0
        days: list[WorkDay] = []
        for g in s.scalars(select(PeerGroup)):
            org_id = g.organisation_id
            for day in weeks.days_of(LAST_WEEK):
                if day.isoweekday() in g.weekdays:
                    start = datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC)
                    days.append(WorkDay(group_id=g.id, day=day, iso_week=LAST_WEEK, meeting_start=start,
                                        meeting_end=start + timedelta(hours=2)))
        s.add_all(days)
        s.flush()
        for i, pair in enumerate(expected_pairs(s, days)):
            s.add(AttendanceDay(client_id=pair.client_id, work_day_id=pair.work_day_id,
                                computed_status=statuses[i % len(statuses)], minutes=42 if i % 2 == 0 else 0))
        client = s.scalars(select(Client).order_by(Client.code)).first()
        assert client is not None
        s.add_all([
            MeetingAttendance(organisation_id=org_id, work_day_id=days[0].id, source="teams", record_key="x:1",
                              participant_key="phone:+358 40 *** **12", display_name="+358 40 *** **12",
                              via_phone=True, seconds=2400),
            OutboxMessage(organisation_id=org_id, key=f"reminder:{client.id}:{days[0].id}:60",
                          kind=MessageKind.REMINDER, client_id=client.id, to_address="a@example.fi",
                          subject="Muistutus", body_text="...", status=OutboxStatus.UNCERTAIN),
            JobRun(organisation_id=org_id, kind="notify_send", params={}, status=JobStatus.FAILED,
                   started_at=REHEARSAL_NOW - timedelta(hours=5))])


def test_the_dashboard_is_a_to_do_list_at_both_widths(served: tuple[str, Rehearsal, Store]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, r, store = served
    last_week_happened(store)
    SCREENS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            # axe-core is injected as a script: the page's CSP (script-src 'self') would block it.
            page = browser.new_page(viewport=SIZES[1280], locale="fi-FI", bypass_csp=True)
            page.set_default_timeout(30_000)
            page.goto(base + "/login")
            page.get_by_label("Sähköposti").fill(r.login_email)
            page.get_by_label("Salasana").fill(PASSWORD)
            page.get_by_role("button", name="Kirjaudu").click()
            expect(page.get_by_role("heading", name="Työlista")).to_be_visible()
            for width, size in SIZES.items():
                page.set_viewport_size(size)
                page.goto(f"{base}/?week={LAST_WEEK}")
                todo = page.locator("section.todo")
                for title in ("Tunnistamattomat osallistujat (1)", "Päätöstä odottavat päivät",
                              "Valmistelematta olevat viikot", "Epäonnistuneet ajot (1)", "Tarkistettavat viestit (1)"):
                    expect(todo.get_by_role("heading", name=title)).to_be_visible()
                # Four groups, folded to one line each; the hybrid group's Tuesday counts only the
                # three of its five clients who work remotely on Tuesdays (two are on site then).
                hybrid = page.locator("details.group", has_text="Hybridiryhmä ti+to")
                expect(hybrid.locator("table")).to_be_hidden()
                expect(hybrid.locator(".tally > span")).to_have_text(["ti 10.11.: läsnä 1/3", "to 12.11.: läsnä 3/5"])
                hybrid.locator("summary").click()
                expect(hybrid.locator("table")).to_be_visible()
                assert_no_serious(page, f"dashboard-{width}")
                page.screenshot(path=str(SCREENS / f"dashboard-{width}.png"), full_page=True)

                page.get_by_label("Hae ryhmää nimellä").fill("tiistai")
                page.get_by_role("button", name="Hae").click()
                expect(page.locator("#group-count")).to_have_text("Ryhmät 1–1 / 1")
                expect(page.locator("details.group")).to_have_count(1)
                expect(page.locator("details.group table")).to_be_visible()  # one group: open
                assert_no_serious(page, f"dashboard-filtered-{width}")
                page.screenshot(path=str(SCREENS / f"dashboard-filtered-{width}.png"), full_page=True)
        finally:
            browser.close()
