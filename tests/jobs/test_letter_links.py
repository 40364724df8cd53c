"""The weekly letter links each day's task (the Classroom coursework) and the client's return folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from integrator.demo.world import DemoWorld
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.sandbox import Sandbox
from integrator.store.db import Store
from integrator.store.models import ExternalResource, OutboxMessage
from tests.jobs.test_nightly_sync import WEEK, _world


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
