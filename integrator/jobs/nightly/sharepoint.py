"""The SharePoint/OneDrive half of the returns (organisations on Microsoft 365 alone): files
clients save in their task folders, read from each drive's delta query.

The same rule as the Drive returns (jobs.nightly.returns): a file counts for the client's expected
work day on the local date it was created, and only when the client created it; after that
day's return deadline (`rules.day_return_deadline`) it is stored as late, which never counts as
presence. What counts as "the client":
- the file is directly in the client's folder (the weekly side's ExternalResource "sp_folder",
  local key ``folder:<code>``, external id the folder's drive item id); as with Drive, a file in
  a subfolder of it is not read as a return;
- its creator is the client: their Entra object id when both sides know one, else their e-mail
  address (case-insensitive). Files put there by staff (instructions, material) are not returns.
A deleted file leaves its return as it was stored: the client did return the work that day, and
a paid day must not change because a file was tidied away (the stored row is the evidence).

One delta cursor per drive (SyncCursor source "sharepoint", partition ``drive:<id>``), saved in
the transaction of the returns it covers: a crash between leaves the old cursor, the next run
reads the same changes again and upserts them once (keyed by the drive item id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from integrator.jobs.nightly.context import SyncContext, get_cursor, set_cursor
from integrator.jobs.nightly.evidence import ReturnIn, upsert_returns
from integrator.jobs.nightly.returns import client_days, drive_work_day, retie_drive_returns
from integrator.jobs.runs import RunRecorder
from integrator.providers.microsoft import drive as graph_drive
from integrator.providers.microsoft.client import GraphClient
from integrator.store.db import Store
from integrator.store.models import Client

SOURCE = "sharepoint"


@dataclass(frozen=True)
class ClientIdentity:
    email: str | None  # lower-case
    object_id: str | None


def drives(ctx: SyncContext) -> list[str]:
    """The drives to read: the configured one and any an existing client folder lives in (a
    folder made before the configuration moved to another library still receives returns)."""
    ms = ctx.org_cfg.microsoft
    configured = ms.task_folders.drive_id if ms is not None and ms.task_folders is not None else None
    found = {d for d in ctx.task_folder_drives.values() if d}
    return sorted(found | {configured} if configured else found)


def is_the_client(who: ClientIdentity, change: graph_drive.DriveChange) -> bool:
    """The file's creator is the client: the Entra object id decides when both sides have one
    (it cannot be mistyped or reused); otherwise the e-mail address, case-insensitively."""
    if who.object_id and change.created_by_id:
        return who.object_id == change.created_by_id
    email = (change.created_by_email or "").strip().lower()
    return bool(email) and email == who.email


def _identities(store: Store, ctx: SyncContext) -> dict[int, ClientIdentity]:
    with store.session() as s:
        rows = s.execute(select(Client.id, Client.email, Client.entra_object_id).where(
            Client.organisation_id == ctx.org_id, Client.id.in_(set(ctx.task_folders.values())))).all()
    return {cid: ClientIdentity((email or "").strip().lower() or None, oid or None) for cid, email, oid in rows}


def is_late(ctx: SyncContext, work_day_id: int | None, created_at: datetime) -> bool:
    """After the day's return deadline: stored, but never presence (domain.attendance)."""
    return work_day_id is not None and created_at > ctx.deadline(work_day_id)


def returns_of(ctx: SyncContext, changes: list[graph_drive.DriveChange], days: dict[tuple[int, date], int],
               who: dict[int, ClientIdentity]) -> list[ReturnIn]:
    """The clients' returns among a delta round's changes."""
    out = []
    for ch in changes:
        if ch.is_folder or ch.deleted or ch.parent_id is None:
            continue  # a deleted file: its return stays as stored (see the module doc)
        client_id = ctx.task_folders.get(ch.parent_id)
        if client_id is None or client_id not in who:
            continue
        if (ch.created_by_email or "").strip().lower() in ctx.staff_emails or not is_the_client(who[client_id], ch):
            continue  # a coordinator's material, or someone else's file: not the client's work
        wd = drive_work_day(ctx, days, client_id, ch.created_at)
        out.append(ReturnIn(source=SOURCE, external_id=ch.id, client_id=client_id, work_day_id=wd, state="added",
                            returned_at=ch.created_at,
                            late=ch.created_at is not None and is_late(ctx, wd, ch.created_at), mime_type=None,
                            raw={"parent": ch.parent_id, "size": ch.size}))
    return out


def harvest_sharepoint(store: Store, ctx: SyncContext, graph: GraphClient, rec: RunRecorder) -> None:
    """Read each task-folder drive's delta since its cursor and store the clients' returns."""
    with store.session() as s:
        days = client_days(s, ctx)
        retied = retie_drive_returns(s, ctx, days, SOURCE, lambda wd, at: is_late(ctx, wd, at))
    if retied:
        rec.count("sharepoint_returns_retied", retied)
    who = _identities(store, ctx)
    for drive_id in drives(ctx):
        partition = f"drive:{drive_id}"
        with store.session() as s:
            token = get_cursor(s, ctx.org_id, SOURCE, partition)
        # No cursor yet: the whole drive (every page), which also lists what is already there.
        changes, next_token = graph_drive.delta(graph, drive_id, token)
        with store.session() as s:
            rec.count("sharepoint_returns_written", upsert_returns(s, ctx, returns_of(ctx, changes, days, who)))
            set_cursor(s, ctx.org_id, SOURCE, partition, next_token)
        rec.count("sharepoint_drives_read")
