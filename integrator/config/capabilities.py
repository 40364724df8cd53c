"""What an organisation gets from its tenants, in an IT admin's words.

`integrator config check` prints it per organisation, so that whoever writes the file sees what a
tenant block buys before the first weekly setup runs:

    raisio: Classroom courses, Drive folders, Meet meetings, Gmail mail
    naantali: SharePoint folders, Teams meetings, Graph mail
    turku: Teams meetings, Graph mail; no task folders (SharePoint folders are not configured)

Every organisation gets its work days, tasks and attendance register from the store, whatever
its tenants; this list is what the tenants add. The combinations that would give nothing, or
contradict themselves, are refused by `config.checks`, not described here.
"""

from __future__ import annotations

from integrator.config.models import OrganisationConfig

#: Said of an organisation on Microsoft 365 alone without `microsoft.task_folders`: its clients
#: get no task folders; with it, `capabilities` says "SharePoint folders" (as "Drive folders").
NO_SHAREPOINT_FOLDERS = "no task folders (SharePoint folders are not configured)"

_MEETINGS = {"meet": "Meet meetings", "teams": "Teams meetings"}
_MAIL = {"gmail": "Gmail mail", "graph": "Graph mail"}


def capabilities(org: OrganisationConfig) -> list[str]:
    """What the organisation's tenants give it, in the order a week uses them."""
    out: list[str] = []
    if org.google is not None:
        out += ["Classroom courses", "Drive folders"]
    elif org.microsoft is not None and org.microsoft.task_folders is not None:
        out.append("SharePoint folders")
    providers = sorted({g.meeting.provider for g in org.groups}, key=lambda p: list(_MEETINGS).index(p))
    out += [_MEETINGS[p] for p in providers]
    if org.google is not None or org.microsoft is not None:
        out.append(_MAIL[org.mail.via])
    if org.surveys.enabled:
        out.append("Forms surveys" if org.surveys.mode == "forms" else "surveys on the own page")
    return out


def describe(org: OrganisationConfig) -> str:
    """One line: "naantali: Teams meetings, Graph mail; no task folders (...)"."""
    gets = capabilities(org)
    notes: list[str] = []
    if org.google is None and org.microsoft is not None and org.microsoft.task_folders is None:
        notes.append(NO_SHAREPOINT_FOLDERS)
    if not org.groups:
        notes.append("no groups yet")
    if org.google is None and org.microsoft is None:
        notes.append("no tenant: staff only")
    text = ", ".join(gets)
    if notes:
        text = f"{text}; {'; '.join(notes)}" if text else "; ".join(notes)
    return f"{org.key}: {text}"
