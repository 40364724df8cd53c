"""The stored marker "this work day's meeting attendance is final" (a published Teams report, an
ended Meet conference record), shared by the harvest, the evaluation and its incremental choice."""

from __future__ import annotations

#: ExternalResource kind under which the harvest records "this work day's meeting report is in".
REPORT_KIND = "meeting_report"


#: The report id of the markers older versions stored for "no report after a grace time". They
#: are not final evidence (a report published late must still count): ignored, never written.
LEGACY_NO_REPORT = "none"


def report_key(work_day_id: int, source: str, report_id: str) -> str:
    return f"{REPORT_KIND}:{work_day_id}:{source}:{report_id}"


def is_final_report(key: str) -> bool:
    """A stored report marker that is final evidence: a real report, not a legacy "none"."""
    parts = key.split(":")
    return len(parts) >= 4 and parts[1].isdigit() and parts[-1] != LEGACY_NO_REPORT
