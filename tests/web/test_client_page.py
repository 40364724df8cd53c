"""The client page (/asiakkaat/<id>): what it shows, the task variant, a move and an early end
previewed and confirmed (and undone), bad input answered in Finnish next to the form, and who may
see and change what."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, date, datetime, time
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from integrator.domain.types import MeetingProvider, VariantKind
from integrator.jobs.weekly.tasks import choose_variant
from integrator.store.models import AuditEvent, ClientVariantChoice, Membership, PeerGroup, Period
from integrator.web.context import get_store
from tests.web.conftest import login
from tests.web.world import World

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # Friday


def _clock(app: Flask) -> None:
    app.config["CLOCK"] = lambda: NOW


def _page(client: FlaskClient, client_id: int) -> str:
    resp = client.get(f"/asiakkaat/{client_id}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return resp.get_data(as_text=True)


def _text(html: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _memberships(app: Flask, client_id: int) -> list[tuple[str, date, date | None]]:
    with get_store(app).session() as s:
        return sorted((m.group.key, m.start_date, m.end_date) for m in s.scalars(
            select(Membership).where(Membership.client_id == client_id)))


def _second_group_of_a(app: Flask, world: World) -> int:
    """Coordinator A gets a Thursday group too: a move between their own groups."""
    with get_store(app).session() as s:
        g = PeerGroup(organisation_id=world.org_a, key="to-a", name="Torstairyhmä A", coordinator_id=world.coord_a,
                      weekdays=[4], meeting_start=time(10, 0), meeting_end=time(12, 0),
                      meeting_provider=MeetingProvider.TEAMS)
        s.add(g)
        s.flush()
        return g.id


def test_the_page_shows_the_period_the_group_and_the_attendance_in_finnish(
        app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    _clock(app)
    text = _text(_page(as_coord_a, world.client_a))

    assert "Asiakas K-0001 Aino Asiakas" in text
    assert "pitkä jakso ti 1.9.2026 su 28.2.2027 ti" in text  # model, start, end, weekdays
    assert "Perehdytys" in text and "puuttuu" in text
    assert "Ryhmä ti-ryhma (nyt) ti 1.9.2026 toistaiseksi" in text
    assert "Marraskuu 2026 läsnä 0, poissa 1" in text
    assert "ti 24.11.2026 Ryhmä ti-ryhma Poissa" in text
    # Only the coordinator's own groups are offered for a move, and no group of another coordinator.
    assert "Ryhmä to-ryhma" not in text and "Ryhmä ke-ryhma" not in text


def test_the_group_page_and_the_register_link_to_the_client_page(as_coord_a: FlaskClient, world: World) -> None:
    link = f'href="/asiakkaat/{world.client_a}"'
    assert link in as_coord_a.get(f"/groups/{world.group_a}").get_data(as_text=True)
    assert link in as_coord_a.get(f"/groups/{world.group_a}/attendance?week=2026-W48").get_data(as_text=True)


def test_another_groups_coordinator_and_another_organisations_admin_get_404(
        app: Flask, as_coord_b: FlaskClient, world: World, configured: Path) -> None:
    _clock(app)
    admin_b = login(app.test_client(), "admin_b")
    for who in (as_coord_b, admin_b):
        assert who.get(f"/asiakkaat/{world.client_a}").status_code == 404
        for path, form in (("tehtavataso", {"variant": "easier"}),
                           ("siirto", {"group_id": str(world.group_b), "from": "2026-12-01"}),
                           ("keskeytys", {"on": "2026-11-26", "reason": "work"}),
                           ("keskeytyksen-peruminen", {})):
            resp = who.post(f"/asiakkaat/{world.client_a}/{path}", data=form)
            assert resp.status_code == 404, (path, resp.status_code)
            assert "K-0001" not in resp.get_data(as_text=True)
    with get_store(app).session() as s:
        assert s.scalars(select(AuditEvent)).all() == []
        assert s.scalars(select(ClientVariantChoice)).all() == []
    assert as_coord_b.get(f"/asiakkaat/{world.client_b}").status_code == 200


def test_the_task_variant_is_set_audited_and_read_by_the_weekly_setup(
        app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    resp = as_coord_a.post(f"/asiakkaat/{world.client_a}/tehtavataso", data={"variant": "easier"})

    assert resp.status_code == 302
    page = as_coord_a.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Tehtävätaso tallennettu: helpompi" in page
    assert re.search(r'value="easier" checked', page)
    with get_store(app).session() as s:
        kind = s.scalars(select(ClientVariantChoice.kind).where(ClientVariantChoice.client_id == world.client_a)).one()
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "client.variant_chosen")).one()
    assert choose_variant(False, kind, [VariantKind.STANDARD, VariantKind.EASIER]) is VariantKind.EASIER
    assert (event.actor, event.details) == (f"staff:{world.coord_a}",
                                            {"client": "K-0001", "from": "standard", "to": "easier"})

    as_coord_a.post(f"/asiakkaat/{world.client_a}/tehtavataso", data={"variant": "easier"})  # the same again
    as_coord_a.post(f"/asiakkaat/{world.client_a}/tehtavataso", data={"variant": "standard"})
    with get_store(app).session() as s:
        assert s.scalars(select(ClientVariantChoice)).all() == []
        assert [e.details["to"] for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))] == [
            "easier", "standard"]

    bad = as_coord_a.post(f"/asiakkaat/{world.client_a}/tehtavataso", data={"variant": "expert"})
    assert bad.status_code == 400 and "Tehtävätaso: valitse perustaso" in bad.get_data(as_text=True)


def test_a_move_between_own_groups_is_previewed_then_made_and_days_before_stay(
        app: Flask, as_coord_a: FlaskClient, world: World, configured: Path) -> None:
    _clock(app)
    thursday_group = _second_group_of_a(app, world)
    url = f"/asiakkaat/{world.client_a}/siirto"
    form = {"group_id": str(thursday_group), "from": "1.12.2026"}
    assert "Torstairyhmä A" in _page(as_coord_a, world.client_a)

    preview = as_coord_a.post(f"{url}/esikatselu", data=form)

    assert preview.status_code == 200, preview.get_data(as_text=True)[:500]
    text = _text(preview.get_data(as_text=True))
    assert "Esikatselu: mitään ei ole vielä muutettu." in text
    assert "Uusi ryhmä: Torstairyhmä A alkaen ti 1.12.2026." in text
    assert "Vanha ryhmä: Ryhmä ti-ryhma, viimeinen päivä siinä ma 30.11.2026." in text
    assert "Päivät ennen ti 1.12.2026 pysyvät ennallaan" in text
    assert "Vanhan ryhmän Ryhmä ti-ryhma Classroom-kurssilta asiakas poistetaan yöajossa ti 1.12.2026" in text
    assert 'name="from" value="2026-12-01"' in preview.get_data(as_text=True)  # the confirm form carries it
    assert _memberships(app, world.client_a) == [("ti-ryhma", date(2026, 9, 1), None)]

    done = as_coord_a.post(url, data={"group_id": str(thursday_group), "from": "2026-12-01"})

    assert done.status_code == 200 and "Tehty." in done.get_data(as_text=True)
    assert _memberships(app, world.client_a) == [("ti-ryhma", date(2026, 9, 1), date(2026, 11, 30)),
                                                 ("to-a", date(2026, 12, 1), None)]
    with get_store(app).session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "client.moved")).one()
        assert event.actor == f"staff:{world.coord_a}" and event.details["to"] == "to-a"
    again = as_coord_a.post(url, data={"group_id": str(thursday_group), "from": "2026-12-01"})
    assert "Ei muutettavaa" in again.get_data(as_text=True)


def test_a_coordinator_cannot_move_a_client_into_another_coordinators_group(
        app: Flask, as_coord_a: FlaskClient, world: World, configured: Path) -> None:
    _clock(app)
    resp = as_coord_a.post(f"/asiakkaat/{world.client_a}/siirto",
                           data={"group_id": str(world.group_b), "from": "2026-12-01"})
    assert resp.status_code == 400
    assert "Uusi ryhmä: valitse ryhmä listasta (vain omat ryhmäsi)." in resp.get_data(as_text=True)
    assert _memberships(app, world.client_a) == [("ti-ryhma", date(2026, 9, 1), None)]


def test_bad_input_is_answered_in_finnish_next_to_the_form_and_nothing_is_written(
        app: Flask, as_coord_a: FlaskClient, world: World, configured: Path) -> None:
    _clock(app)
    end = f"/asiakkaat/{world.client_a}/keskeytys"
    cases = [
        (end, {"on": "31.2.2026", "reason": "health"}, "Viimeinen päivä: päivämäärä '31.2.2026' ei kelpaa"),
        (end, {"on": "", "reason": "health"}, "Viimeinen päivä: anna päivämäärä"),
        (end, {"on": "2026-11-26", "reason": "sairas"}, "Syy: valitse keskeytyksen syy listasta."),
        (end, {"on": "2027-02-28", "reason": "work"},
         "Viimeinen päivä: jakso päättyy jo su 28.2.2027: keskeytyksen viimeisen päivän on oltava sitä ennen"),
        (end, {"on": "2026-08-01", "reason": "work"},
         "Viimeinen päivä: asiakkaalla K-0001 ei ole jaksoa, johon la 1.8.2026 kuuluu"),
        (f"/asiakkaat/{world.client_a}/siirto", {"group_id": str(world.group_a), "from": "2027-06-01"},
         "Alkaen: asiakkaalla K-0001 ei ole jaksoa, johon ti 1.6.2027 kuuluu"),
        (f"/asiakkaat/{world.client_a}/siirto/esikatselu", {"group_id": "x", "from": "2026-12-01"},
         "Uusi ryhmä: valitse ryhmä listasta"),
    ]
    for url, form, message in cases:
        resp = as_coord_a.post(url, data=form)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 400, (form, html[:300])
        assert message in _text(html), (form, _text(html)[:600])
        assert 'role="alert"' in html and 'aria-invalid="true"' in html
    with get_store(app).session() as s:
        assert s.scalars(select(AuditEvent)).all() == []
        assert s.scalars(select(Period.end_date)).all() == [date(2027, 2, 28), date(2027, 2, 28)]


def test_an_early_end_is_previewed_confirmed_and_undone_from_the_page(
        app: Flask, as_coord_a: FlaskClient, world: World, configured: Path) -> None:
    _clock(app)
    url = f"/asiakkaat/{world.client_a}/keskeytys"
    form = {"on": "2026-11-26", "reason": "education"}

    preview = _text(as_coord_a.post(f"{url}/esikatselu", data=form).get_data(as_text=True))

    assert "Jakson viimeinen päivä: to 26.11.2026 (syy: opiskelu tai kurssi)." in preview
    assert "Poistetaan nyt" in preview and "Tulevat viikkokirjeet ja muistutukset: 0 kirjettä, 0 muistutusta" in preview
    with get_store(app).session() as s:
        assert s.scalars(select(Period.end_date).where(Period.client_id == world.client_a)).one() == date(2027, 2, 28)

    done = as_coord_a.post(url, data=form)

    assert done.status_code == 200 and "Keskeytys tehty" in done.get_data(as_text=True)
    with get_store(app).session() as s:
        period = s.scalars(select(Period).where(Period.client_id == world.client_a)).one()
        assert (period.end_date, period.planned_end_date, period.end_reason) == (
            date(2026, 11, 26), date(2027, 2, 28), "education")
    page = _text(_page(as_coord_a, world.client_a))
    assert "keskeytetty (syy: opiskelu tai kurssi), suunniteltu loppu su 28.2.2027" in page
    assert "Esikatsele keskeytyksen peruminen" in page

    undo = _text(as_coord_a.post(f"/asiakkaat/{world.client_a}/keskeytyksen-peruminen/esikatselu")
                 .get_data(as_text=True))
    assert "Keskeytys to 26.11.2026 perutaan; jakso jatkuu su 28.2.2027 asti." in undo
    as_coord_a.post(f"/asiakkaat/{world.client_a}/keskeytyksen-peruminen")
    with get_store(app).session() as s:
        assert s.scalars(select(Period.end_date).where(Period.client_id == world.client_a)).one() == date(2027, 2, 28)
        assert [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))] == [
            "period.ended", "period.end_undone"]


def test_the_forms_need_the_csrf_token(app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    app.config["CSRF_ENABLED"] = True
    page = _page(as_coord_a, world.client_a)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None

    forged = as_coord_a.post(f"/asiakkaat/{world.client_a}/tehtavataso", data={"variant": "harder"})
    assert forged.status_code == 400 and "Lomakkeen tarkiste puuttuu" in forged.get_data(as_text=True)
    with get_store(app).session() as s:
        assert s.scalars(select(ClientVariantChoice)).all() == []

    sent = as_coord_a.post(f"/asiakkaat/{world.client_a}/tehtavataso",
                           data={"variant": "harder", "csrf_token": token.group(1)})
    assert sent.status_code == 302


def test_the_apis_refusal_is_finnish_and_names_the_field(app: Flask, as_admin: FlaskClient, world: World,
                                                        configured: Path) -> None:
    _clock(app)
    resp = as_admin.post(f"/api/v1/clients/{world.client_a}/move",
                         json={"to_group": "ei-ryhmaa", "from": "2026-12-01"})
    assert resp.status_code == 400
    assert resp.get_json()["message"] == "to_group: ryhmää 'ei-ryhmaa' ei ole organisaatiossa 'raisio'"
    resp = as_admin.post(f"/api/v1/clients/{world.client_a}/end", json={"on": "2027-03-01", "reason": "work"})
    assert resp.status_code == 400 and resp.get_json()["message"].startswith("on: asiakkaalla K-0001 ei ole jaksoa")
