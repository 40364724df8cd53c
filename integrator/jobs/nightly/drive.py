"""The Drive half of the returns: files clients put in their folders, read from the changes feed.

A file counts for the client's expected work day on the local date it was added. The feed shows
a file once, and whether its day is known then depends on when the sync ran (the local date
has turned but the UTC date not yet; the membership is recorded later the same day): so every
sync ties the stored files of the re-evaluation window again, with the same rule.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.jobs.nightly.context import SyncContext, get_cursor, set_cursor
from integrator.jobs.nightly.evidence import ReturnIn, upsert_returns
from integrator.jobs.runs import RunRecorder
from integrator.providers.google import harvest
from integrator.providers.google.client import GoogleClient
from integrator.reports.expected import expected_pairs
from integrator.store.db import Store
from integrator.store.models import Submission

FOLDER_MIME = "application/vnd.google-apps.folder"


def _feeds(ctx: SyncContext) -> list[tuple[str, str, str | None]]:
    """(partition, subject, shared drive id): one changes feed per place client folders live."""
    google = ctx.org_cfg.google
    assert google is not None
    if google.shared_drive_id:
        return [(f"drive:{google.shared_drive_id}", google.admin_subject, google.shared_drive_id)]
    owners = sorted({o or google.admin_subject for o in ctx.folder_owners} or {google.admin_subject})
    return [(f"user:{o.lower()}", o, None) for o in owners]


def _client_days(s: Session, ctx: SyncContext) -> dict[tuple[int, date], int]:
    return {(p.client_id, ctx.work_days[p.work_day_id].day): p.work_day_id
            for p in expected_pairs(s, list(ctx.work_days.values()))}


def drive_work_day(ctx: SyncContext, days: dict[tuple[int, date], int], client_id: int,
                   created_at: datetime | None) -> int | None:
    """The work day a file in a client's folder counts for: the client's expected day on the
    local date it was added. The one rule for a file read now and for one stored earlier."""
    return days.get((client_id, ctx.local_date(created_at))) if created_at else None


def retie_drive_returns(s: Session, ctx: SyncContext, days: dict[tuple[int, date], int]) -> int:
    """Tie the stored Drive returns of the re-evaluation window to their work day again.

    The changes feed shows a file once; whether its day is known then depends on when the sync
    ran (the client's membership may be recorded later the same day). Returns how many moved.
    """
    since = ctx.window_start or ctx.start
    first = datetime.combine(since, time(), ctx.tz) - timedelta(days=1)  # a day's margin for the zones
    moved = 0
    for row in s.scalars(select(Submission).where(
            Submission.organisation_id == ctx.org_id, Submission.source == "drive",
            Submission.client_id.is_not(None), Submission.returned_at >= first)).all():
        if row.client_id is None or (row.work_day_id is not None and row.work_day_id not in ctx.work_days):
            continue  # a day outside what this sync knows (cancelled, older): left as it is
        if row.returned_at is None or ctx.local_date(row.returned_at) < since:
            continue
        wd = drive_work_day(ctx, days, row.client_id, row.returned_at)
        if wd != row.work_day_id:
            row.work_day_id = wd
            moved += 1
    return moved


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
        days = _client_days(s, ctx)
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
