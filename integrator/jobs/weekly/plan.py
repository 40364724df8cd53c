"""Diff the desired week against what the store knows exists outside: the weekly-setup plan.

The store's ExternalResource rows are the memory of what we created. A resource with no row
is created; a row marked ``pending`` is a create that was interrupted (it is looked for
before it is created again); a row whose fingerprint differs is updated; a row nobody wants any
more is removed, where removing is ours to do (enrolments, sharing, future coursework). Folders,
courses, topics and published coursework are never removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integrator.jobs.plan import Action, Op, Plan
from integrator.jobs.weekly.state import Desired, OrgWeek
from integrator.store.models import ExternalResource

REMOVABLE = ("enrolment", "permission", "coursework")


@dataclass
class PlannedOrg:
    """A plan with what its apply needs: the desired resources and the rows it was diffed with."""

    org_key: str
    org_id: int
    week: str
    plan: Plan
    desired: dict[str, Desired]
    rows: dict[tuple[str, str], ExternalResource]
    week_state: OrgWeek
    accepted: dict[str, str] = field(default_factory=dict)  # enrolment key -> Google user id, seen this run
    duplicates: dict[str, Any] = field(default_factory=dict)  # coursework key -> duplicates.Finding


def is_enrolled(d: Desired, rows: dict[tuple[str, str], ExternalResource], accepted: dict[str, str]) -> bool:
    """Whether the client can be given coursework: a domain student, or an accepted invitation."""
    if d.fp.get("mode") == "student":
        return True
    row = rows.get(("enrolment", d.key))
    return d.key in accepted or bool(row and row.status == "active" and row.state.get("accepted"))


def _action(op: Op, d: Desired, reason: str = "", **detail: Any) -> Action:
    return Action(op, d.kind, d.key, group=d.group, client=d.client, reason=reason, detail=detail)


def diff(ow: OrgWeek, desired: list[Desired], notes: list[Desired], rows: dict[tuple[str, str], ExternalResource],
         accepted: dict[str, str], now: datetime, group_key: str | None = None) -> PlannedOrg:
    plan = Plan()
    enrol = {d.key: d for d in desired if d.kind == "enrolment"}
    wanted: dict[str, Desired] = {}
    for d in desired:
        kept = _only_enrolled(d, enrol, rows, accepted, plan) if d.kind == "coursework" else d
        if kept is not None:
            wanted[kept.key] = kept
    for d in wanted.values():
        if group_key and not _in_group(d, group_key, ow):
            continue
        row = rows.get((d.kind, d.key))
        if row is None or row.status == "removed":
            plan.add(_action("create", d, "" if row is None else "back again"))
        elif row.status == "pending":
            plan.add(_action("create", d, "resume an interrupted create"))
        elif d.kind == "coursework":
            _diff_coursework(plan, d, row, now)
        elif row.state.get("fp") != d.fp:
            changed = sorted(k for k in d.fp if d.fp[k] != (row.state.get("fp") or {}).get(k))
            plan.add(_action("update", d, "changed: " + ", ".join(changed), fields=changed))
    active = {d.client for d in desired if d.kind == "enrolment"}
    for (kind, key), row in sorted(rows.items()):
        if kind not in REMOVABLE or key in wanted or row.status == "removed":
            continue
        if kind == "coursework" and key.split(":")[2] != ow.week:
            continue  # other weeks' work is not this plan's business
        group, client = _owner(kind, key, row)
        if kind == "permission" and not key.endswith(":client") and client not in active:
            continue  # a departed client's folder stays open to the coordinator, for the record
        if group_key and group != group_key and not (client and _client_in_group(client, group_key, ow)):
            continue
        if kind == "coursework" and datetime.fromisoformat(row.state.get("fp", {}).get("scheduled", "")) <= now:
            plan.add(Action("skip", kind, key, group=group, reason="already published: kept"))
            continue
        reason = ow.departed.get(client, "no longer in the group this week") if client else "work day moved or cancelled"
        plan.add(Action("remove", kind, key, group=group, client=client, reason=reason))
    for n in notes:
        if not group_key or n.group == group_key:
            plan.add(Action("skip", n.kind, n.key, group=n.group, client=n.client, reason=str(n.fp.get("reason", ""))))
    return PlannedOrg(ow.org_key, ow.org_id, ow.week, plan, wanted, rows, ow, accepted)


def _only_enrolled(d: Desired, enrol: dict[str, Desired], rows: dict[tuple[str, str], ExternalResource],
                   accepted: dict[str, str], plan: Plan) -> Desired | None:
    keep: list[str] = []
    for code in d.detail["assignees"]:
        e = enrol.get(f"enrolment:{d.group}:{code}")
        if e is not None and is_enrolled(e, rows, accepted):
            keep.append(code)
        elif e is not None:
            plan.add(Action("skip", "coursework", d.key, group=d.group, client=code,
                            reason="waiting for the class invitation to be accepted"))
    if not keep:
        return None
    return Desired(d.kind, d.key, d.group, d.client, d.fp, d.parent, {**d.detail, "assignees": keep})


def _diff_coursework(plan: Plan, d: Desired, row: ExternalResource, now: datetime) -> None:
    old = row.state.get("fp") or {}
    changed = sorted(k for k in d.fp if d.fp[k] != old.get(k))
    before = sorted(row.state.get("assignees") or [])
    after = sorted(d.detail["assignees"])
    add = sorted(set(after) - set(before))
    remove = sorted(set(before) - set(after))
    published = datetime.fromisoformat(old.get("scheduled", d.fp["scheduled"])) <= now
    if changed and not published:
        plan.add(_action("update", d, "changed: " + ", ".join(changed), fields=changed))
    elif changed:
        plan.add(_action("skip", d, "already published: changes not applied"))
    if add or remove:
        words = [f"+{len(add)} client(s)" if add else "", f"-{len(remove)} client(s)" if remove else ""]
        plan.add(Action("update", "assignees", d.key, group=d.group, reason=" ".join(w for w in words if w),
                        detail={"add": add, "remove": remove}))


def _owner(kind: str, key: str, row: ExternalResource) -> tuple[str | None, str | None]:
    parts = key.split(":")
    if kind == "enrolment":
        return parts[1], parts[2]
    if kind == "permission":
        return row.state.get("group"), parts[1]
    return parts[1], None


def _in_group(d: Desired, group_key: str, ow: OrgWeek) -> bool:
    if d.group == group_key:
        return True
    return bool(d.client and _client_in_group(d.client, group_key, ow))


def _client_in_group(code: str, group_key: str, ow: OrgWeek) -> bool:
    return any(g.key == group_key and any(c.code == code for c in g.clients) for g in ow.groups)
