"""The weekly setup's task folders and the nightly Teams harvest at scale (issue 18, benchmark
"Microsoft 365 alone"): permission reads in `$batch`, drive writes a few at a time, the
organisers' accounts looked up in one envelope. The world of test_msonly_folders ("naantali",
K-0001..K-0005, one coordinator).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from integrator.jobs.nightly.teams import _Organizers
from integrator.providers.errors import Fatal
from integrator.providers.microsoft import drive as graph_drive
from integrator.sandbox import Sandbox
from integrator.store.db import Store
from integrator.store.models import JobRun
from tests.jobs import msonly_world as mw
from tests.jobs.msonly_world import DOMAIN, MsOnlyWorld, fresh
from tests.jobs.test_msonly_folders import CODES, files_in, folders, grants

sandbox_server = mw.sandbox_server  # fixture: one sandbox per module


@pytest.fixture
def world(sandbox_server: Sandbox, store: Store, tmp_path: Path) -> Iterator[MsOnlyWorld]:
    yield MsOnlyWorld.build(fresh(sandbox_server), store, tmp_path, task_folders=True)
    sandbox_server.state.faults.clear()
    sandbox_server.state.latency_ms = 0


def entries(w: MsOnlyWorld, operation: str) -> list[Any]:
    return [e for e in w.sb.state.log.items() if e.vendor == "graph" and e.operation == operation]


def last_run(w: MsOnlyWorld) -> JobRun:
    with w.store.session() as s:
        run = s.scalars(select(JobRun).where(JobRun.kind == "weekly_setup").order_by(JobRun.id.desc())).first()
        assert run is not None
        return run


def test_the_folders_permissions_are_read_in_batch_envelopes_before_sharing(world: MsOnlyWorld) -> None:
    world.sb.state.log.reset()
    world.weekly_setup()

    reads = entries(world, "permissions list")
    assert len(reads) == len(CODES), "each folder's permissions read once"
    assert {e.kind for e in reads} == {"part"}, "read as items of a $batch, not one GET each"
    assert len(entries(world, "invite")) == 2 * len(CODES)
    for code, folder in folders(world).items():
        assert grants(world, folder) == sorted([(world.emails[code], ("write",)), (world.coordinator, ("write",))])


def test_a_folder_whose_permissions_cannot_be_read_is_not_shared_this_run_and_the_next_run_shares_it(
        world: MsOnlyWorld) -> None:
    world.client_folders()  # the folders exist; K-0003's permissions will not be readable
    k3 = world.folders["K-0003"]
    world.sb.state.faults.inject(vendor="graph", path_glob=f"*/items/{k3}/permissions", http_method="GET",
                                 rate=1.0, status=403, reason="accessDenied")

    world.weekly_setup()

    assert grants(world, k3) == [], "no blind invite when who has access is unknown"
    for code in CODES:
        if code != "K-0003":
            assert world.emails[code] in [e for e, _ in grants(world, world.folders[code])]
    errors = [i for i in last_run(world).errors if "K-0003" in str(i)]
    assert errors and all("permission:K-0003" in str(i) for i in errors), errors

    world.sb.state.faults.clear()
    world.weekly_setup()
    assert grants(world, k3) == sorted([(world.emails["K-0003"], ("write",)), (world.coordinator, ("write",))])


def test_throttled_batch_items_are_retried_alone_after_their_retry_after(world: MsOnlyWorld) -> None:
    world.sb.state.faults.inject(vendor="graph", path_glob="*/permissions", http_method="GET", rate=1.0,
                                 status=429, retry_after=1, count=2)
    world.sb.state.log.reset()

    world.weekly_setup()

    reads = entries(world, "permissions list")
    assert Counter(e.status for e in reads) == Counter({429: 2, 200: len(CODES)})
    assert last_run(world).errors == []
    for code, folder in folders(world).items():
        assert grants(world, folder) == sorted([(world.emails[code], ("write",)), (world.coordinator, ("write",))])


def test_ten_percent_faults_on_batch_items_and_concurrent_writes_converge_with_one_letter_each(
        world: MsOnlyWorld) -> None:
    faults = world.sb.state.faults
    faults.inject(vendor="graph", path_glob="*/permissions", http_method="GET", rate=0.1, status=429, retry_after=0)
    faults.inject(vendor="graph", path_glob="*/permissions", http_method="GET", rate=0.1, status=503)
    for status in (429, 503):
        faults.inject(vendor="graph", path_glob="*/drives/*", rate=0.05, status=status, retry_after=0)
    for method in ("POST", "PUT"):
        faults.lose_answer("graph", "*/drives/*", method, rate=0.1, how="reset")

    for _ in range(8):
        plan, _ = world.weekly_setup()
        if not [a for a in plan.actions if a.resource in ("folder", "permission", "document")]:
            break
    faults.clear()
    final, _ = world.weekly_setup()

    assert [a for a in final.actions if a.resource in ("folder", "permission", "document")] == []
    found = folders(world)  # asserts no name twice
    assert sorted(found) == CODES
    for code in CODES:
        assert grants(world, found[code]) == sorted([(world.emails[code], ("write",)), (world.coordinator, ("write",))])
    invitations = Counter(m.to[0] for m in world.sb.sent_mail() if m.sender.startswith("no-reply@"))
    assert invitations == Counter({world.emails[c]: 1 for c in CODES} | {world.coordinator: 5})


def test_drive_writes_go_a_few_at_a_time(world: MsOnlyWorld) -> None:
    """At 500 ms a request, 12 documents one by one take 6 s at the least; four at a time, 1.5 s."""
    assert world.drive_id is not None
    folder = world.client_folders()["K-0001"]
    files = {f"d{n}": (folder, f"tehtava-{n}.txt", b"teht") for n in range(12)}
    graph = world.graph()
    world.sb.state.latency_ms = 500
    try:
        started = time.perf_counter()
        written = graph_drive.upload_many(graph, world.drive_id, files, limit=4)
        took = time.perf_counter() - started
    finally:
        world.sb.state.latency_ms = 0
        graph.close()
    assert all(isinstance(f, graph_drive.DriveFile) for f in written.values()), written
    assert len(files_in(world, folder)) == 12
    assert took < 12 * 0.5 - 1, f"{took:.1f} s: the writes went one by one"


def test_the_nights_organisers_are_looked_up_in_one_batch_and_an_unknown_one_is_an_error_of_its_own(
        world: MsOnlyWorld) -> None:
    others = [f"ohjaaja{n}@{DOMAIN}" for n in (2, 3)]
    ids = {upn: world.sb.graph.add_user(upn, "Ohjaaja") for upn in others}
    unknown = f"poissa@{DOMAIN}"
    world.sb.state.log.reset()
    graph = world.graph()
    try:
        organizers = _Organizers(graph)
        organizers.prefetch([world.coordinator, *others, unknown, world.coordinator])
        assert organizers.object_id(others[0]) == ids[others[0]]
        assert organizers.object_id(others[1]) == ids[others[1]]
        assert organizers.object_id(world.coordinator)
        with pytest.raises(LookupError):
            organizers.object_id(unknown)
    finally:
        graph.close()
    lookups = entries(world, "get")
    assert [e.kind for e in lookups if e.api == "users"] == ["part"] * 4, "four accounts, each once, in $batch"
    assert len([e for e in world.sb.state.log.entries if e.kind == "batch"]) == 1


def test_an_organiser_looked_up_alone_is_read_as_json_and_an_unknown_one_is_still_an_error_of_its_own(
        world: MsOnlyWorld) -> None:
    """Without `prefetch` (one organiser in the night), each lookup is one plain GET: the id comes
    from the JSON answer, and a fresh process doing it imports none of msgraph's model classes but
    the error ones (the SDK's `User` deserializer imported most of them: 1.6 CPU s, +32 MB)."""
    other = f"ohjaaja2@{DOMAIN}"
    oid = world.sb.graph.add_user(other, "Ohjaaja")
    graph = world.graph()
    try:
        organizers = _Organizers(graph)
        assert organizers.object_id(other) == oid
        assert organizers.object_id(other) == oid  # remembered: one request
        with pytest.raises(Fatal) as err:
            organizers.object_id(f"poissa@{DOMAIN}")
        assert err.value.status == 404
    finally:
        graph.close()
    assert len([e for e in entries(world, "get") if e.api == "users"]) == 2
    tenant = world.settings.organisation(mw.ORG).microsoft
    assert tenant is not None
    script = f"""
import sys
from integrator.config.models import MicrosoftTenant
from integrator.jobs.nightly.teams import _Organizers
from integrator.providers.microsoft.client import GraphClient
before = {{m for m in sys.modules if m.startswith("msgraph.generated.models.")}}
with GraphClient(MicrosoftTenant.model_validate_json(sys.argv[1])) as graph:
    assert _Organizers(graph).object_id({other!r}) == {oid!r}
print(sorted({{m for m in sys.modules if m.startswith("msgraph.generated.models.")}} - before))
"""
    out = subprocess.run([sys.executable, "-c", script, tenant.model_dump_json()], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", "reading the organiser built msgraph models"
