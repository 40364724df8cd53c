"""The weekly letter: links to each day's task (the Classroom coursework) and to the client's return
folder; a short letter for a week whose days all fall on holidays or closure days."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from integrator.config import Settings
from integrator.demo.world import DemoWorld
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.sandbox import Sandbox
from integrator.store.db import Store
from integrator.store.models import ExternalResource, OutboxMessage
from tests.jobs.msonly_world import THU as ms_thu
from tests.jobs.msonly_world import TUE as ms_tue
from tests.jobs.msonly_world import WED as ms_wed
from tests.jobs.msonly_world import MsOnlyWorld, fresh
from tests.jobs.test_nightly_sync import GROUPS, WEEK, _world


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def world(sandbox_server: Sandbox, store: Store, tmp_path: Path) -> DemoWorld:
    return _world(sandbox_server, store, tmp_path)


def letters(w: DemoWorld) -> dict[str, OutboxMessage]:
    queue_weekly_letters(w.store, w.settings, "raisio", WEEK)
    with w.store.session() as s:
        return {str(m.key).split(":")[2]: m for m in s.scalars(select(OutboxMessage))}


def task_links(w: DemoWorld, group: str) -> dict[int, dict[str, str]]:
    """work day id -> variant -> the coursework's Classroom link, as weekly setup stored it."""
    out: dict[int, dict[str, str]] = {}
    with w.store.session() as s:
        for r in s.scalars(select(ExternalResource).where(ExternalResource.kind == "coursework",
                                                          ExternalResource.local_key.like(f"coursework:{group}:%"))):
            _, _, _, wd, _, variant = r.local_key.split(":")
            out.setdefault(int(wd[2:]), {})[variant] = str(r.state["alternateLink"])
    return out


@pytest.mark.parametrize(("code", "group", "variant"), [("K-0001", "tiistai", "standard"),
                                                         ("K-0004", "keskiviikko", "plain_language")])
def test_a_letter_links_each_days_coursework_and_the_return_folder(world: DemoWorld, code: str, group: str,
                                                                    variant: str) -> None:
    links = task_links(world, group)
    days = [wd.id for wd, g in world.work_days() if g == group]
    assert sorted(links) == sorted(days) and days
    folder = world.resource("folder", f"folder:{code}")
    assert folder is not None and folder.external_id
    letter = letters(world)[code]
    for wd in days:
        link = links[wd].get(variant) or links[wd]["standard"]
        assert link.startswith("https://classroom.google.com/c/")
        assert link in letter.body_text and f'href="{link}"' in str(letter.body_html)
    folder_url = f"https://drive.google.com/drive/folders/{folder.external_id}"
    assert folder_url in letter.body_text and f'href="{folder_url}"' in str(letter.body_html)
    with world.store.session() as s:  # each client's letter has only their own folder
        others = [f.external_id for f in s.scalars(select(ExternalResource).where(
            ExternalResource.kind == "folder", ExternalResource.local_key != f"folder:{code}"))]
    assert others and not any(str(o) in letter.body_text for o in others)


# ---- a week without work days --------------------------------------------------------------

LOPPIAINEN_WEEK = "2027-W01"  # Wednesday 6.1.2027 is Loppiainen; Tuesday 5.1. and Thursday 7.1. are work days


def holiday_world(sb: Sandbox, store: Store, tmp_path: Path, closures: list[date] | None = None) -> DemoWorld:
    sb.reset()
    w = DemoWorld.build(sb, store, tmp_path / "demo", groups=GROUPS, db_url=store.url, period_start=date(2026, 11, 2))
    if closures:
        raw = yaml.safe_load(w.config_path.read_text(encoding="utf-8"))
        raw["organisations"][0]["closure_days"] = list(closures)
        w.settings = Settings.model_validate(raw)
    return w


def queued(w: DemoWorld, week: str) -> dict[str, OutboxMessage]:
    with w.store.session() as s:
        return {str(m.key).split(":")[2]: m for m in s.scalars(select(OutboxMessage))
                if str(m.key).endswith(f":{week}")}


def test_a_week_whose_only_day_is_a_holiday_gets_a_short_letter_once(sandbox_server: Sandbox, store: Store,
                                                                       tmp_path: Path) -> None:
    w = holiday_world(sandbox_server, store, tmp_path)
    counts = queue_weekly_letters(w.store, w.settings, "raisio", LOPPIAINEN_WEEK)
    letters_ = queued(w, LOPPIAINEN_WEEK)
    # The Wednesday group's clients: their one day is Loppiainen. The Tuesday/Thursday group works
    # (its days are not set up yet, so no letter yet - and certainly not one saying the week is off).
    assert sorted(letters_) == ["K-0004", "K-0005", "K-0006"] and counts["queued"] == 3
    plain = letters_["K-0005"]
    assert plain.key == f"letter:raisio:K-0005:{LOPPIAINEN_WEEK}"
    assert "Ensi viikolla (viikko 1) ei ole etätyötoimintaa: Loppiainen (keskiviikko 6.1.)." in plain.body_text
    assert "Loppiainen (keskiviikko 6.1.)" in str(plain.body_html)
    selko = letters_["K-0004"]  # plain language
    assert "Ensi viikolla ei ole etätyötoimintaa." in selko.body_text
    assert "Keskiviikko 6.1.: Loppiainen." in selko.body_text and "Loppiainen" in str(selko.body_html)
    again = queue_weekly_letters(w.store, w.settings, "raisio", LOPPIAINEN_WEEK)
    assert (again["queued"], again["already"]) == (0, 3)
    assert len(queued(w, LOPPIAINEN_WEEK)) == 3


def test_a_week_closed_on_every_day_says_the_place_is_closed(sandbox_server: Sandbox, store: Store,
                                                             tmp_path: Path) -> None:
    w = holiday_world(sandbox_server, store, tmp_path, closures=[date(2027, 1, 5), date(2027, 1, 7)])
    queue_weekly_letters(w.store, w.settings, "raisio", LOPPIAINEN_WEEK)
    letters_ = queued(w, LOPPIAINEN_WEEK)
    assert sorted(letters_) == ["K-0001", "K-0002", "K-0003", "K-0004", "K-0005", "K-0006"]
    assert ("ei ole etätyötoimintaa: toimipiste on suljettu (tiistai 5.1.), toimipiste on suljettu "
            "(torstai 7.1.).") in letters_["K-0001"].body_text


def test_a_microsoft_only_letter_links_each_days_date_named_document_and_a_missing_one_links_the_folder(
        sandbox_server: Sandbox, store: Store, tmp_path: Path) -> None:
    w = MsOnlyWorld.build(fresh(sandbox_server), store, tmp_path, task_folders=True)
    w.weekly_setup()
    with w.store.session() as s:
        rows = {r.local_key: r.state for r in s.scalars(select(ExternalResource).where(
            ExternalResource.kind.in_(("sp_document", "sp_folder"))))}
        del_doc = s.scalars(select(ExternalResource).where(  # K-0004's Wednesday document went missing
            ExternalResource.local_key == f"document:K-0004:{ms_wed.isoformat()}:t1")).one()
        s.delete(del_doc)
    tue, thu = (rows[f"document:K-0001:{d.isoformat()}:t1"]["web_url"] for d in (ms_tue, ms_thu))

    queue_weekly_letters(w.store, w.settings, "naantali", "2026-W03", now=w.sb.state.clock.now())

    with w.store.session() as s:
        sent = {m.to_address: m for m in s.scalars(select(OutboxMessage))}
    first, plain, fourth = (sent[w.emails[c]] for c in ("K-0001", "K-0002", "K-0004"))
    assert tue != thu and tue.startswith("https://") and "2026-01-13" in tue
    for url in (tue, thu):
        assert url in first.body_text and f'href="{url}"' in first.body_html
    assert first.body_text.index("Tiistai 13.1.") < first.body_text.index(tue) < first.body_text.index("Torstai 15.1.") \
        < first.body_text.index(thu), "each day's own document under that day"
    assert "tiedostona 2026-01-13 Päivän tehtävä." in first.body_text
    assert "Tiedoston nimi on 2026-01-13 Päivän tehtävä." in plain.body_text  # plain language
    folder = rows["folder:K-0004"]["web_url"]
    assert f"- Päivän tehtävä: {folder}\n" in fourth.body_text, "no document: the folder, never a broken link"
    assert "google" not in first.body_html.lower()
    with w.sb.state.lock:
        bodies = {str(e.data["body"]["content"]) for e in w.sb.graph.events.values()}
    assert any("tiedostona, jonka nimi alkaa päivämäärällä 2026-01-13" in b for b in bodies)
    assert all("sharepoint" not in b.lower() for b in bodies), "one event per group links no client's folder"
