"""The one rule for a file a client saves in their folder, shared by the Drive returns
(jobs.nightly.drive) and the SharePoint/OneDrive returns (jobs.nightly.sharepoint): it counts
for the client's expected work day on the local date it was added, and every sync ties the
stored files of the re-evaluation window again with the same rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from integrator.jobs.nightly.context import SyncContext
from integrator.reports.expected import expected_pairs
from integrator.store.models import Submission, WorkDay


class ClientDays(dict[tuple[int, date], int]):
    """(client id, local date) -> the client's expected work day of that date in this sync,
    computed per local date when a file of that date is first looked up: a night with few new
    files asks who is expected on a few dates, not on every day of the harvest window.

    A date read later (a file of the changes feed) is read in a short session of its own: the
    session the days were made in may be closed by then, and a read must not stay open beside
    the writes that follow."""

    def __init__(self, bind: Engine | Connection, ctx: SyncContext) -> None:
        super().__init__()
        self.bind, self.ctx = bind, ctx
        self.loaded: set[date] = set()

    def need(self, days: set[date], session: Session | None = None) -> None:
        """Make sure the dates are known (those of the sync's work days; one read for all of them)."""
        missing = days - self.loaded
        if not missing:
            return
        self.loaded |= missing
        work_days = [w for w in self.ctx.work_days.values() if w.day in missing]
        if not work_days:
            return
        if session is not None:
            self._add(session, work_days)
            return
        with Session(self.bind) as s:
            self._add(s, work_days)

    def _add(self, s: Session, work_days: list[WorkDay]) -> None:
        for p in expected_pairs(s, work_days):
            self[(p.client_id, self.ctx.work_days[p.work_day_id].day)] = p.work_day_id


def client_days(s: Session, ctx: SyncContext) -> ClientDays:
    """(client id, local date) -> the client's expected work day of that date in this sync (read
    per date as it is needed, see ClientDays)."""
    return ClientDays(s.get_bind(), ctx)


def drive_work_day(ctx: SyncContext, days: dict[tuple[int, date], int], client_id: int,
                   created_at: datetime | None) -> int | None:
    """The work day a file in a client's folder counts for: the client's expected day on the
    local date it was added. The one rule for a file read now and for one stored earlier."""
    if created_at is None:
        return None
    day = ctx.local_date(created_at)
    if isinstance(days, ClientDays):
        days.need({day})
    return days.get((client_id, day))


def retie_drive_returns(s: Session, ctx: SyncContext, days: dict[tuple[int, date], int], source: str = "drive",
                        late: Callable[[int | None, datetime], bool] | None = None) -> int:
    """Tie the stored Drive returns of the re-evaluation window to their work day again.

    The changes feed shows a file once; whether its day is known then depends on when the sync
    ran (the client's membership may be recorded later the same day). Returns how many moved.
    `source`: also the SharePoint returns (jobs.nightly.sharepoint), whose `late` follows the day.
    """
    since = ctx.window_start or ctx.start
    first = datetime.combine(since, time(), ctx.tz) - timedelta(days=1)  # a day's margin for the zones
    moved = 0
    rows = s.scalars(select(Submission).where(
        Submission.organisation_id == ctx.org_id, Submission.source == source,
        Submission.client_id.is_not(None), Submission.returned_at >= first)).all()
    if isinstance(days, ClientDays):  # the dates of these returns, in one read
        days.need({ctx.local_date(r.returned_at) for r in rows if r.returned_at is not None}, s)
    for row in rows:
        if row.client_id is None or (row.work_day_id is not None and row.work_day_id not in ctx.work_days):
            continue  # a day outside what this sync knows (cancelled, older): left as it is
        if row.returned_at is None or ctx.local_date(row.returned_at) < since:
            continue
        wd = drive_work_day(ctx, days, row.client_id, row.returned_at)
        is_late = late(wd, row.returned_at) if late is not None else row.late
        if (wd, is_late) != (row.work_day_id, row.late):
            ctx.changed(row.work_day_id, wd)
            row.work_day_id, row.late = wd, is_late
            moved += 1
    return moved
