"""Client task folders in a document library: idempotent folder, sharing, uploads and delta.

Against the sandbox over real sockets, with the GraphClient the product builds; a lost answer
is the sandbox's ``lose_answer`` fault (the server acted, the caller heard nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from integrator.config import MicrosoftTenant
from integrator.providers.errors import Retriable
from integrator.providers.microsoft import drive as d
from integrator.providers.microsoft.client import GraphClient
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.launcher import Sandbox

DOMAIN = "sandbox.example.fi"
COACH, CLIENT = f"ohjaaja@{DOMAIN}", f"k-0001@{DOMAIN}"
ONCE = RetryPolicy(max_attempts=1, sleep=lambda s: None)
RETRYING = RetryPolicy(max_attempts=3, sleep=lambda s: None)


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with Sandbox(page_size=3) as sb:
        yield sb


@pytest.fixture
def sb(server: Sandbox) -> Iterator[Sandbox]:
    server.reset()
    server.graph.add_user(COACH, "Olli Ohjaaja")
    server.graph.add_user(CLIENT, "K 0001")
    yield server
    server.state.faults.clear()


def graph(sb: Sandbox, tmp_path: Path, policy: RetryPolicy = ONCE) -> GraphClient:
    client_id, secret = sb.graph.register_app(permissions=["Files.ReadWrite.All"])
    (tmp_path / "secret").write_text(secret)
    tenant = MicrosoftTenant.model_validate({
        "tenant_id": sb.graph.tenant_id, "client_id": client_id, "client_secret": {"file": str(tmp_path / "secret")},
        "mail_sender": COACH, "authority": sb.login_authority, "graph_base_url": sb.graph_url,
        "ca_bundle": sb.ca_cert_path})
    return GraphClient(tenant, policy=policy)


def root(sb: Sandbox, drive_id: str) -> str:
    return str(sb.graph.drives.drives[drive_id].root_id)


def folders_named(sb: Sandbox, name: str) -> int:
    with sb.state.lock:
        return sum(1 for i in sb.graph.drives.items.values() if i.name == name and i.is_folder and not i.deleted)


def arrivals(sb: Sandbox, path_end: str, method: str) -> int:
    return sum(1 for e in sb.state.log.entries if e.http_method == method and e.path.endswith(path_end))


def test_ensure_folder_twice_gives_the_same_folder(sb: Sandbox, tmp_path: Path) -> None:
    drive_id = sb.graph.add_drive("kuntouttava")
    with graph(sb, tmp_path) as client:
        first = d.ensure_folder(client, drive_id, root(sb, drive_id), "K-0001")
        for n in range(4):  # the lookup reads every page of the parent (page size 3)
            d.ensure_folder(client, drive_id, root(sb, drive_id), f"K-100{n}")
        again = d.ensure_folder(client, drive_id, root(sb, drive_id), "K-0001")
    assert again == first and first.name == "K-0001" and first.parent_id == root(sb, drive_id)
    assert folders_named(sb, "K-0001") == 1


@pytest.mark.parametrize("policy", [ONCE, RETRYING], ids=["re-run", "retried"])
def test_a_lost_answer_on_folder_create_never_makes_a_second_folder(sb: Sandbox, tmp_path: Path,
                                                                     policy: RetryPolicy) -> None:
    drive_id = sb.graph.add_drive("kuntouttava")
    sb.state.faults.inject(vendor="graph", path_glob="*/children", http_method="POST", rate=1.0, count=1,
                           mode="lost_answer")
    with graph(sb, tmp_path, policy) as client:
        if policy is ONCE:
            with pytest.raises(Retriable):
                d.ensure_folder(client, drive_id, root(sb, drive_id), "K-0001")
        folder = d.ensure_folder(client, drive_id, root(sb, drive_id), "K-0001")
    assert len(sb.state.faults.lost) == 1
    assert folders_named(sb, "K-0001") == 1
    assert folder.id == next(i.id for i in sb.graph.drives.items.values() if i.name == "K-0001")


def test_share_invites_only_who_lacks_the_role_and_a_lost_invite_is_not_sent_again(sb: Sandbox,
                                                                                   tmp_path: Path) -> None:
    drive_id = sb.graph.add_drive("kuntouttava")
    with graph(sb, tmp_path, RETRYING) as client:
        folder = d.ensure_folder(client, drive_id, root(sb, drive_id), "K-0001")
        sb.state.faults.inject(vendor="graph", path_glob="*/invite", http_method="POST", rate=1.0, count=1,
                               mode="lost_answer")
        with pytest.raises(Retriable):  # letters go out with the invite: never repeated blindly
            d.share(client, drive_id, folder.id, [CLIENT], "write")
        assert d.share(client, drive_id, folder.id, [CLIENT], "write") == [], "the re-run finds the permission"
        made = d.share(client, drive_id, folder.id, [CLIENT, COACH], "read")
        assert [g.email for g in made] == [COACH], "write already covers read for the client"
        grants = d.grants(client, drive_id, folder.id)
    assert arrivals(sb, "/invite", "POST") == 2
    assert sorted(m.to[0] for m in sb.sent_mail()) == [CLIENT, COACH], "one invitation letter each"
    assert {(g.email, g.roles) for g in grants} == {(CLIENT, ("write",)), (COACH, ("read",))}


def test_unshare_removes_only_that_persons_access_and_the_files_stay(sb: Sandbox, tmp_path: Path) -> None:
    drive_id = sb.graph.add_drive("kuntouttava")
    with graph(sb, tmp_path) as client:
        folder = d.ensure_folder(client, drive_id, root(sb, drive_id), "K-0001")
        d.share(client, drive_id, folder.id, [CLIENT, COACH], "write", send_invitation=False)
        d.upload_small(client, drive_id, folder.id, "tehtava.txt", b"Viikon tehtava")
        sb.graph.upload_as(CLIENT, drive_id, folder.id, "vastaus.txt", b"valmis")
        assert d.unshare(client, drive_id, folder.id, CLIENT) is True
        assert d.unshare(client, drive_id, folder.id, CLIENT) is False, "a re-run has nothing to remove"
        left = [g.email for g in d.grants(client, drive_id, folder.id)]
        files = sorted(c.name for c in d.children(client, drive_id, folder.id))
    assert left == [COACH]
    assert files == ["tehtava.txt", "vastaus.txt"]
    assert sb.sent_mail() == [], "sendInvitation false sends no letter"


def test_upload_small_replaces_the_task_document_and_big_ones_go_in_a_session(sb: Sandbox, tmp_path: Path) -> None:
    drive_id = sb.graph.add_drive("kuntouttava")
    big = bytes(range(256)) * (5 * 4096)  # 5 MiB
    with graph(sb, tmp_path) as client:
        folder = d.ensure_folder(client, drive_id, root(sb, drive_id), "K-0001")
        first = d.upload_small(client, drive_id, folder.id, "tehtava.txt", b"versio 1")
        second = d.upload_small(client, drive_id, folder.id, "tehtava.txt", b"versio 2 pidempi")
        large = d.upload_small(client, drive_id, folder.id, "video.bin", big)
    assert second.id == first.id and second.size == len(b"versio 2 pidempi")
    assert sb.graph.drives.items[first.id].content == b"versio 2 pidempi"
    assert large.size == len(big) and sb.graph.drives.items[large.id].content == big
    assert arrivals(sb, ":/createUploadSession", "POST") == 1
    assert arrivals(sb, ":/content", "PUT") == 2


def test_delta_gives_only_uploads_after_the_cursor_and_tells_client_uploads_from_staff(sb: Sandbox,
                                                                                       tmp_path: Path) -> None:
    drive_id = sb.graph.add_drive("kuntouttava")
    with graph(sb, tmp_path) as client:
        folder = d.ensure_folder(client, drive_id, root(sb, drive_id), "K-0001")
        for n in range(4):
            d.upload_small(client, drive_id, folder.id, f"tehtava-{n}.txt", b"teht")
        before, cursor = d.delta(client, drive_id, None)  # 6 items over pages of 3
        sb.graph.upload_as(CLIENT, drive_id, folder.id, "vastaus.txt", b"valmis")
        sb.graph.upload_as(COACH, drive_id, folder.id, "palaute.txt", b"hyva")
        after, cursor2 = d.delta(client, drive_id, cursor)
        quiet, _ = d.delta(client, drive_id, cursor2)
    assert len(before) == 6 and {c.name for c in before} >= {"K-0001", "tehtava-3.txt"}
    assert [(c.name, c.created_by_email) for c in after] == [("vastaus.txt", CLIENT), ("palaute.txt", COACH)]
    assert all(c.parent_id == folder.id and not c.is_folder and not c.deleted for c in after)
    assert quiet == []
    staff = {COACH}
    returns = [c.name for c in after if c.created_by_email not in staff]
    assert returns == ["vastaus.txt"]
