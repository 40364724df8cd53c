"""Client task folders in SharePoint for an organisation on Microsoft 365 alone (issue 18).

The world of test_msonly ("naantali", week 2026-W03: "tiistai" Tue 13.1. and Thu 15.1. with
K-0001..K-0003, K-0002 reading plain language; "keskiviikko" Wed 14.1. with K-0004, K-0005), with
a document library the app may write through a Sites.Selected grant. The weekly setup makes a
folder per client named by the code, shares it with the client and the coordinator, writes a task
document per work day in the client's variant, and an early end takes the client's access away.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from integrator.domain.types import VariantKind
from integrator.jobs.clients.changes import end_period, undo_end_period
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.jobs.weekly.sharepoint import AUDIT_REMOVED, DOCUMENT_KIND, FOLDER_KIND
from integrator.jobs.weekly.tasks import DEFAULT_PLAIN_NO_RETURN
from integrator.sandbox import Sandbox
from integrator.store.db import Store
from integrator.store.models import (
    AuditEvent,
    Client,
    ClientVariantChoice,
    ExternalResource,
    JobRun,
    OutboxMessage,
)
from tests.jobs import msonly_world as mw
from tests.jobs.msonly_world import ORG, THU, WED, WEEK, MsOnlyWorld, fresh, local

CODES = ["K-0001", "K-0002", "K-0003", "K-0004", "K-0005"]
TASKS = """
week: 2026-W03
tasks:
  - title: Päiväkirja
    instructions: Kirjoita lyhyesti, mitä teit tänään.
    variants:
      plain_language: {title: Päiväkirja, instructions: Kirjoita kolme lausetta.}
      harder: {title: "Päiväkirja: pohdinta", instructions: "Pohdi, mikä tänään onnistui ja miksi."}
"""

sandbox_server = mw.sandbox_server  # fixture: one sandbox per module


@pytest.fixture
def world(sandbox_server: Sandbox, store: Store, tmp_path: Path) -> Iterator[MsOnlyWorld]:
    yield MsOnlyWorld.build(fresh(sandbox_server), store, tmp_path, task_folders=True)
    sandbox_server.state.faults.clear()


def folders(w: MsOnlyWorld) -> dict[str, str]:
    """The library's folders under its root: name -> item id (a name twice would be a duplicate)."""
    assert w.drive_id is not None
    drive = w.sb.graph.drives.drives[w.drive_id]
    with w.sb.state.lock:
        found = [(i.name, i.id) for i in w.sb.graph.drives.items.values()
                 if i.is_folder and not i.deleted and i.parent_id == drive.root_id]
    assert len(found) == len({n for n, _ in found}), f"a folder made twice: {sorted(n for n, _ in found)}"
    return dict(found)


def files_in(w: MsOnlyWorld, folder_id: str) -> dict[str, bytes]:
    with w.sb.state.lock:
        found = [(i.name, bytes(i.content or b"")) for i in w.sb.graph.drives.items.values()
                 if not i.is_folder and not i.deleted and i.parent_id == folder_id]
    assert len(found) == len({n for n, _ in found}), f"a document written twice: {found}"
    return dict(found)


def grants(w: MsOnlyWorld, folder_id: str) -> list[tuple[str, tuple[str, ...]]]:
    with w.sb.state.lock:
        perms = list(w.sb.graph.drives.permissions.get(folder_id, []))
    return sorted((str(p["invitation"]["email"]).lower(), tuple(p["roles"])) for p in perms)


def drive_writes(w: MsOnlyWorld) -> list[str]:
    return [e.path for e in w.sb.state.log.writes() if "/drives/" in e.path]


def test_folders_are_made_shared_with_the_client_and_coordinator_and_a_rerun_writes_nothing(
        world: MsOnlyWorld) -> None:
    preview, _ = world.weekly_setup(dry_run=True)
    made = sorted(a.key for a in preview.actions if a.resource == "folder" and a.op == "create")
    assert made == [f"folder:{c}" for c in CODES]
    assert {a.key for a in preview.actions if a.resource == "permission"} >= {f"permission:{c}:client" for c in CODES}
    assert drive_writes(world) == [] and folders(world) == {}, "a dry run writes nothing to the tenant"

    world.weekly_setup()

    found = folders(world)
    assert sorted(found) == CODES  # pseudonymous: the code, never a name
    for code in CODES:
        assert grants(world, found[code]) == sorted([(world.emails[code], ("write",)),
                                                     (world.coordinator, ("write",))])
    with world.store.session() as s:
        rows = {r.local_key: r for r in s.scalars(select(ExternalResource).where(ExternalResource.kind == FOLDER_KIND))}
    assert rows["folder:K-0001"].external_id == found["K-0001"]
    assert rows["folder:K-0001"].state["web_url"].startswith("https://")
    assert len(rows["folder:K-0001"].state["shared"]) == 2 and "client" in rows["folder:K-0001"].state["shared"]

    before = len(world.writes())
    again, _ = world.weekly_setup()
    assert [a for a in again.actions if a.resource in ("folder", "permission", "document")] == []
    assert len(world.writes()) == before, "a re-run writes nothing"


def test_task_documents_carry_the_variant_each_client_gets(world: MsOnlyWorld, tmp_path: Path) -> None:
    with world.store.session() as s:
        k3 = s.scalars(select(Client).where(Client.code == "K-0003")).one()
        s.add(ClientVariantChoice(client_id=k3.id, kind=VariantKind.HARDER))
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text(TASKS, encoding="utf-8")

    world.weekly_setup(tasks_file=tasks)

    found = folders(world)
    k1, k2, k3_files = (files_in(world, found[c]) for c in ("K-0001", "K-0002", "K-0003"))
    assert sorted(k1) == ["2026-01-13 Päiväkirja.txt", "2026-01-15 Päiväkirja.txt"]
    assert "Kirjoita lyhyesti" in k1["2026-01-13 Päiväkirja.txt"].decode()
    assert "ti 13.1.2026" in k1["2026-01-13 Päiväkirja.txt"].decode()
    assert "Kirjoita kolme lausetta." in k2["2026-01-13 Päiväkirja.txt"].decode()  # plain language
    assert sorted(k3_files) == ["2026-01-13 Päiväkirja- pohdinta.txt", "2026-01-15 Päiväkirja- pohdinta.txt"]
    assert "Pohdi" in k3_files["2026-01-13 Päiväkirja- pohdinta.txt"].decode()  # the coordinator's choice
    assert sorted(files_in(world, found["K-0004"])) == ["2026-01-14 Päiväkirja.txt"]
    with world.store.session() as s:
        docs = list(s.scalars(select(ExternalResource).where(ExternalResource.kind == DOCUMENT_KIND)))
    assert len(docs) == 8 and all(d.state.get("hash") for d in docs)

    before = len(world.writes())
    world.weekly_setup(tasks_file=tasks)
    assert len(world.writes()) == before, "the same content is not written again"

    tasks.write_text(TASKS.replace("Kirjoita lyhyesti", "Kirjoita muutama rivi"), encoding="utf-8")
    plan, _ = world.weekly_setup(tasks_file=tasks)
    updated = sorted(a.client or "" for a in plan.actions if a.resource == "document" and a.op == "update")
    assert updated == ["K-0001", "K-0001", "K-0004", "K-0005"]  # K-0002 and K-0003 read other variants
    assert "Kirjoita muutama rivi" in files_in(world, found["K-0001"])["2026-01-13 Päiväkirja.txt"].decode()
    assert len(files_in(world, found["K-0001"])) == 2, "replaced, not copied"


def test_the_default_task_document_and_the_letter_links_the_clients_folder(world: MsOnlyWorld) -> None:
    world.weekly_setup()
    found = folders(world)
    k2 = files_in(world, found["K-0002"])
    assert DEFAULT_PLAIN_NO_RETURN in k2["2026-01-13 Päivän tehtävä.txt"].decode()

    queue_weekly_letters(world.store, world.settings, ORG, WEEK, now=world.sb.state.clock.now())

    with world.store.session() as s:
        url = s.scalars(select(ExternalResource).where(ExternalResource.kind == FOLDER_KIND,
                                                       ExternalResource.local_key == "folder:K-0001")).one().state["web_url"]
        letter = s.scalar(select(OutboxMessage).where(OutboxMessage.to_address == world.emails["K-0001"]))
    assert letter is not None and url in letter.body_text and url in letter.body_html
    assert "google" not in letter.body_html.lower()


def test_an_early_end_removes_the_clients_access_at_once_after_a_preview_and_the_files_stay(
        world: MsOnlyWorld) -> None:
    world.weekly_setup()
    folder = folders(world)["K-0001"]
    files = files_in(world, folder)
    today = date(2026, 1, 9)
    now = world.sb.state.clock.now()

    preview = end_period(world.store, world.settings, "K-0001", today, "work", "staff:1", now=now)
    removals = [a for a in preview.followed.tenant.actions if a.op == "remove"]
    assert [(a.resource, a.key) for a in removals] == [("permission", "permission:K-0001:client")]
    assert world.emails["K-0001"] in [e for e, _ in grants(world, folder)], "a preview removes nothing"

    applied = end_period(world.store, world.settings, "K-0001", today, "work", "staff:1", now=now, apply=True)

    assert applied.followed.errors == []
    assert grants(world, folder) == [(world.coordinator, ("write",))]  # the coordinator keeps the record
    assert files_in(world, folder) == files, "the folder and its files stay"
    assert world.emails["K-0002"] in [e for e, _ in grants(world, folders(world)["K-0002"])]
    with world.store.session() as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == AUDIT_REMOVED)).one()
        row = s.scalars(select(ExternalResource).where(ExternalResource.local_key == "folder:K-0001")).one()
    assert audit.entity_id == "K-0001" and audit.details["from"] == "write" and audit.details["to"] is None
    assert "keskeytyi" in audit.details["reason"] and world.emails["K-0001"] not in str(audit.details)
    assert "client" not in row.state["shared"]

    before = len(world.writes())
    plan, _ = world.weekly_setup()
    assert [a for a in plan.actions if a.client == "K-0001"] == [] and len(world.writes()) == before

    undone = undo_end_period(world.store, world.settings, "K-0001", "staff:1", now=now, apply=True)
    assert undone.followed.errors == []
    assert world.emails["K-0001"] in [e for e, _ in grants(world, folder)], "the undo gives the access back"


def test_a_future_early_end_takes_the_access_away_the_night_after_its_day(world: MsOnlyWorld) -> None:
    world.weekly_setup()
    folder = folders(world)["K-0004"]
    ended = end_period(world.store, world.settings, "K-0004", WED, "health", "staff:1",
                       now=world.sb.state.clock.now(), apply=True)
    assert ended.access_later == THU
    assert world.emails["K-0004"] in [e for e, _ in grants(world, folder)], "kept until the day is over"

    world.sb.state.clock.set(local(THU, 2))
    result = world.nightly_sync()  # the night after the last day: its follow-up removes the share

    assert result.status is not None and grants(world, folder) == [(world.coordinator, ("write",))]
    with world.store.session() as s:
        run = s.scalars(select(JobRun).where(JobRun.kind == "nightly_sync").order_by(JobRun.id.desc())).first()
        assert run is not None and run.counts.get("access_ended") == 1, run.counts


def test_the_weekly_setup_holds_an_unconfirmed_removal_of_access(world: MsOnlyWorld) -> None:
    world.weekly_setup()
    folder = folders(world)["K-0005"]
    with world.store.session() as s:  # K-0005's period ended before the week (no early end)
        client = s.scalars(select(Client).where(Client.code == "K-0005")).one()
        client.periods[0].end_date = date(2026, 1, 4)

    held, _ = world.weekly_setup()
    assert [n.key for n in held.notes if n.detail.get("held")] == ["permission:K-0005:client"]
    assert world.emails["K-0005"] in [e for e, _ in grants(world, folder)]

    world.weekly_setup(confirmed=["permission:K-0005:client"])
    assert grants(world, folder) == [(world.coordinator, ("write",))]


def test_ten_percent_faults_and_lost_answers_converge_with_no_duplicates(world: MsOnlyWorld) -> None:
    faults = world.sb.state.faults
    for status in (429, 503):
        faults.inject(vendor="graph", path_glob="*/drives/*", rate=0.05, status=status, retry_after=0)
    for method in ("POST", "PUT", "DELETE"):
        faults.lose_answer("graph", "*/drives/*", method, rate=0.1, how="reset")

    for _ in range(8):
        plan, _ = world.weekly_setup()
        if not [a for a in plan.actions if a.resource in ("folder", "permission", "document")]:
            break
    lost = faults.lost
    faults.clear()
    final, _ = world.weekly_setup()

    assert [a for a in final.actions if a.resource in ("folder", "permission", "document")] == []
    assert lost and all("/drives/" in path for _v, _m, path, _h in lost), "answers were lost on the way"
    found = folders(world)
    assert sorted(found) == CODES
    for code in CODES:
        assert grants(world, found[code]) == sorted([(world.emails[code], ("write",)),
                                                     (world.coordinator, ("write",))])
        assert len(files_in(world, found[code])) == (1 if code in ("K-0004", "K-0005") else 2)
    invitations = Counter(m.to[0] for m in world.sb.sent_mail() if m.sender.startswith("no-reply@"))
    assert invitations == Counter({world.emails[c]: 1 for c in CODES} | {world.coordinator: 5}), \
        "one sharing letter per person and folder, never a second"


def test_the_teams_meeting_body_says_the_days_task_is_in_the_clients_own_folder(world: MsOnlyWorld) -> None:
    world.weekly_setup()

    with world.sb.state.lock:
        bodies = [str(e.data["body"]["content"]) for e in world.sb.graph.events.values()]
    assert len(bodies) == 3  # tiistai Tue and Thu, keskiviikko Wed
    for body in bodies:
        assert "Päivän tehtävä on omassa tehtäväkansiossasi" in body
        assert "sharepoint" not in body.lower(), "one event for the whole group links no client's own folder"
