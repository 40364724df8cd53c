"""The Drive half of the returns: files clients put in their folders, read from the changes feed.

A file counts for the client's expected work day on the local date it was added. The feed shows
a file once, and whether its day is known then depends on when the sync ran (the local date
has turned but the UTC date not yet; the membership is recorded later the same day): so every
sync ties the stored files of the re-evaluation window again, with the same rule.
"""

from __future__ import annotations

from datetime import date

from integrator.jobs.nightly.context import SyncContext, get_cursor, set_cursor
from integrator.jobs.nightly.evidence import ReturnIn, upsert_returns
from integrator.jobs.nightly.returns import client_days, drive_work_day, retie_drive_returns
from integrator.jobs.runs import RunRecorder
from integrator.providers.google import harvest
from integrator.providers.google.client import GoogleClient
from integrator.store.db import Store

FOLDER_MIME = "application/vnd.google-apps.folder"


def _feeds(ctx: SyncContext) -> list[tuple[str, str, str | None]]:
    """(partition, subject, shared drive id): one changes feed per place client folders live."""
    google = ctx.org_cfg.google
    assert google is not None
    if google.shared_drive_id:
        return [(f"drive:{google.shared_drive_id}", google.admin_subject, google.shared_drive_id)]
    owners = sorted({o or google.admin_subject for o in ctx.folder_owners} or {google.admin_subject})
    return [(f"user:{o.lower()}", o, None) for o in owners]


def _drive_returns(ctx: SyncContext, files: list[harvest.DriveFileAdded],
                   days: dict[tuple[int, date], int]) -> list[ReturnIn]:
    out = []
    for f in files:
        client_id = next((ctx.folders[p] for p in f.parents if p in ctx.folders), None)
        if client_id is None or f.mime_type == FOLDER_MIME:
            continue
        if any(o in ctx.staff_emails for o in f.owners):
            continue  # put there by a coordinator (instructions, material): not the client's work
        wd = drive_work_day(ctx, days, client_id, f.created_at)
        out.append(ReturnIn(source="drive", external_id=f.file_id, client_id=client_id, work_day_id=wd,
                            state="removed" if f.removed else "added", returned_at=f.created_at, late=False,
                            mime_type=f.mime_type, raw={"parents": f.parents, "mimeType": f.mime_type}))
    return out


def harvest_drive(store: Store, ctx: SyncContext, gc: GoogleClient, rec: RunRecorder) -> None:
    if not ctx.folders:
        return
    with store.session() as s:
        days = client_days(s, ctx)
        retied = retie_drive_returns(s, ctx, days)
    if retied:
        rec.count("drive_returns_retied", retied)
    for partition, subject, drive_id in _feeds(ctx):
        with store.session() as s:
            token = get_cursor(s, ctx.org_id, "drive_changes", partition)
        files: list[harvest.DriveFileAdded] = []
        if token is None:
            # First run: take the token first, then list what is already there, so that nothing
            # added in between is missed (it is read twice at worst, and upserted once).
            new_token = harvest.start_page_token(gc, subject, drive_id)
            files = harvest.list_files(gc, subject, drive_id)
        else:
            page = harvest.read_changes(gc, subject, token, drive_id)
            files, new_token = page.files, page.new_start_token
        with store.session() as s:
            rec.count("drive_returns_written", upsert_returns(s, ctx, _drive_returns(ctx, files, days)))
            set_cursor(s, ctx.org_id, "drive_changes", partition, new_token)
        rec.count("drive_feeds_read")
