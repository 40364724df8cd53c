"""Diff the desired week against what the store knows exists outside: the weekly-setup plan.

The store's ExternalResource rows are the memory of what we created. A resource with no row
is created; a row marked ``pending`` is a create that was interrupted (it is looked for
before it is created again); a row whose fingerprint differs is updated; a row nobody wants any
more is removed, where removing is ours to do (enrolments, sharing, future coursework). Folders,
courses, topics and published coursework are never removed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from integrator.domain.finnish import fi_count, fi_day_month
from integrator.jobs.plan import Action, Op, Plan
from integrator.jobs.weekly.state import Desired, OrgWeek
from integrator.store.models import ExternalResource

REMOVABLE = ("enrolment", "permission", "coursework")
# Removals that take a client's (or a coordinator's) access away: applied only when confirmed.
ACCESS_REMOVALS = ("enrolment", "permission")
ALL_CONFIRMED: Literal["all"] = "all"
Confirmed = Collection[str] | Literal["all"]
NOT_CONFIRMED = "poistoa ei vahvistettu: pääsy säilyy"
# The fingerprint fields a coordinator may see changed, in Finnish.
FIELD_FI = {"title": "otsikko", "text": "ohje", "scheduled": "julkaisuaika", "due": "palautusaika",
            "material": "materiaali", "mode": "liittymistapa", "name": "nimi", "owner": "omistaja",
            "role": "oikeus", "section": "osio"}


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


def label(d: Desired) -> str:
    """What the resource is, for a person: a task's title with its day, a topic's name, a week."""
    if d.kind == "coursework":
        return str(d.fp.get("title", ""))
    if d.kind in ("course", "topic"):
        return str(d.fp.get("name", ""))
    if d.kind == "week_folder":
        return f"viikko {int(str(d.fp.get('name', ''))[-2:])}" if d.fp.get("name") else ""
    return ""


def _action(op: Op, d: Desired, reason: str = "", **detail: Any) -> Action:
    return Action(op, d.kind, d.key, group=d.group, client=d.client, reason=reason,
                  detail={**detail, "label": label(d)})


def _changed(fields: list[str]) -> str:
    return "muuttunut: " + ", ".join(FIELD_FI.get(f, f) for f in fields)


def diff(ow: OrgWeek, desired: list[Desired], notes: list[Desired], rows: dict[tuple[str, str], ExternalResource],
         accepted: dict[str, str], now: datetime, group_keys: Collection[str] | None = None) -> PlannedOrg:
    plan = Plan()
    enrol = {d.key: d for d in desired if d.kind == "enrolment"}
    wanted: dict[str, Desired] = {}
    for d in desired:
        kept = _only_enrolled(d, enrol, rows, accepted, plan) if d.kind == "coursework" else d
        if kept is not None:
            wanted[kept.key] = kept
    for d in wanted.values():
        if group_keys is not None and not _in_groups(d, group_keys, ow):
            continue
        row = rows.get((d.kind, d.key))
        if row is None or row.status == "removed":
            plan.add(_action("create", d, "" if row is None else "palautetaan"))
        elif row.status == "pending":
            plan.add(_action("create", d, "keskeytynyt luonti jatkuu"))
        elif d.kind == "coursework":
            _diff_coursework(plan, d, row, now)
        elif row.state.get("fp") != d.fp:
            changed = sorted(k for k in d.fp if d.fp[k] != (row.state.get("fp") or {}).get(k))
            plan.add(_action("update", d, _changed(changed), fields=changed))
    active = {d.client for d in desired if d.kind == "enrolment"}
    for (kind, key), row in sorted(rows.items()):
        if kind not in REMOVABLE or key in wanted or row.status == "removed":
            continue
        if kind == "coursework" and key.split(":")[2] != ow.week:
            continue  # other weeks' work is not this plan's business
        group, client = _owner(kind, key, row)
        if kind == "permission" and not key.endswith(":client") and client not in active:
            continue  # a departed client's folder stays open to the coordinator, for the record
        if group_keys is not None and group not in group_keys and not (
                client and any(_client_in_group(client, g, ow) for g in group_keys)):
            continue
        title = str((row.state.get("fp") or {}).get("title", ""))
        if kind == "coursework" and datetime.fromisoformat(row.state.get("fp", {}).get("scheduled", "")) <= now:
            plan.add(Action("skip", kind, key, group=group, reason="jo julkaistu: säilytetään",
                            detail={"label": title}))
            continue
        if client and client in ow.kept:
            plan.add(Action("skip", kind, key, group=group, client=client, reason=ow.kept[client]))
            continue
        plan.add(Action("remove", kind, key, group=group, client=client,
                        reason=_why_removed(kind, key, group, client, ow), detail={"label": title}))
    for n in notes:
        if group_keys is None or n.group in group_keys:
            plan.add(Action("skip", n.kind, n.key, group=n.group, client=n.client, reason=str(n.fp.get("reason", ""))))
    return PlannedOrg(ow.org_key, ow.org_id, ow.week, plan, wanted, rows, ow, accepted)


def _why_removed(kind: str, key: str, group: str | None, client: str | None, ow: OrgWeek) -> str:
    """The true reason, in Finnish: "jakso päättyi 27.9.2026", "siirtyi ryhmään Torstai 15.12."."""
    if client is None:
        return "tehtävää ei enää tarvita: päivä siirtyi tai peruttiin, tai kukaan ei osallistu siihen"
    if client in ow.departed:
        return ow.departed[client]
    if kind == "permission" and not key.endswith(":client"):
        return "ryhmän ohjaaja vaihtui"
    elsewhere = [(name, since) for g, name, since in ow.placed.get(client, []) if g != group]
    if elsewhere:
        name, since = max(elsewhere, key=lambda p: p[1])
        return f"siirtyi ryhmään {name} {fi_day_month(since)}"
    return "ei enää ryhmässä tällä viikolla"


def hold_unconfirmed_removals(plan: Plan, confirmed: Confirmed) -> int:
    """Turn each removal of access that was not confirmed into a note: access stays.

    `confirmed` is the keys a person saw in a preview and confirmed (or ALL_CONFIRMED, the
    command line's --confirm-removals). A removal the preview did not show is never applied.
    Returns how many removals were held back.
    """
    held = 0
    kept: list[Action] = []
    for a in plan.actions:
        if a.op == "remove" and a.resource in ACCESS_REMOVALS and (confirmed != ALL_CONFIRMED
                                                                  and a.key not in confirmed):
            plan.notes.append(Action("skip", a.resource, a.key, group=a.group, client=a.client,
                                     reason=f"{a.reason}; {NOT_CONFIRMED}", detail={**a.detail, "held": True}))
            held += 1
        else:
            kept.append(a)
    plan.actions[:] = kept
    return held


def _only_enrolled(d: Desired, enrol: dict[str, Desired], rows: dict[tuple[str, str], ExternalResource],
                   accepted: dict[str, str], plan: Plan) -> Desired | None:
    keep: list[str] = []
    for code in d.detail["assignees"]:
        e = enrol.get(f"enrolment:{d.group}:{code}")
        if e is not None and is_enrolled(e, rows, accepted):
            keep.append(code)
        elif e is not None:
            plan.add(Action("skip", "coursework", d.key, group=d.group, client=code,
                            reason="odottaa, että asiakas hyväksyy kurssikutsun", detail={"label": label(d)}))
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
        plan.add(_action("update", d, _changed(changed), fields=changed))
    elif changed:
        plan.add(_action("skip", d, "jo julkaistu: muutoksia ei tehdä"))
    if add or remove:
        words = [f"+{fi_count(len(add), 'asiakas', 'asiakasta')}" if add else "",
                 f"-{fi_count(len(remove), 'asiakas', 'asiakasta')}" if remove else ""]
        plan.add(Action("update", "assignees", d.key, group=d.group, reason=" ".join(w for w in words if w),
                        detail={"add": add, "remove": remove, "label": label(d)}))


def _owner(kind: str, key: str, row: ExternalResource) -> tuple[str | None, str | None]:
    parts = key.split(":")
    if kind == "enrolment":
        return parts[1], parts[2]
    if kind == "permission":
        return row.state.get("group"), parts[1]
    return parts[1], None


def _in_groups(d: Desired, group_keys: Collection[str], ow: OrgWeek) -> bool:
    if d.group in group_keys:
        return True
    return bool(d.client and any(_client_in_group(d.client, g, ow) for g in group_keys))


def _client_in_group(code: str, group_key: str, ow: OrgWeek) -> bool:
    return any(g.key == group_key and any(c.code == code for c in g.clients) for g in ow.groups)
