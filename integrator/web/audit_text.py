"""The audit log as an admin reads it: who (staff by name and role, jobs in Finnish), what (one
Finnish label per audited action), and a readable summary of the details ("läsnä → poissa").

The one place for the actions' Finnish labels: `ACTION_FI`. An action without a label is shown
as it is stored (tests/web/test_audit_page.py checks that every action the code writes has one).

Client data by code only. The writers keep details pseudonymous (client codes, ids, day dates),
but a free-text reason is typed by a person and might name the client, and a future writer might
add a field it should not. So what is shown or exported passes `redact_details`: fields that name
a person are dropped, addresses and tokens are removed (`observability.redaction`), and the name
of any client a row refers to (by code) is replaced in its texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from integrator.domain.finnish import fi_date
from integrator.domain.periods import END_REASONS
from integrator.domain.types import StaffRole
from integrator.domain.weeks import WEEKDAY_FI
from integrator.observability.redaction import redact

#: Every action the code audits (grep `action=` and the `_audit(...)` helpers), in Finnish.
ACTION_FI: dict[str, str] = {
    "attendance.override": "läsnäolon korjaus",
    "attendance.override_removed": "läsnäolon korjauksen peruminen",
    "attendance.recomputed": "läsnäolo laskettu uudelleen",
    "attendance.withdrawn": "läsnäolopäivä poistettu",
    "alert.withdrawn": "poissaoloilmoitus peruttu",
    "identity.map": "osallistuja yhdistetty asiakkaaseen",
    "identity.unmap": "osallistujan yhdistäminen purettu",
    "identity.not_a_client": "merkitty: ei asiakas",
    "identity.not_a_client_removed": "ei asiakas -merkintä poistettu",
    "outbox.requeue": "viesti palautettu jonoon",
    "outbox.cancel": "viesti peruttu",
    "client.moved": "asiakas siirretty ryhmään",
    "client.variant_chosen": "tehtävätaso valittu",
    "period.ended": "jakso keskeytetty",
    "period.end_undone": "keskeytys peruttu",
    "coursework.duplicate_repaired": "tehtävän kaksoiskappale korjattu",
    "sharepoint.access_removed": "tehtäväkansion jako poistettu",
    "audit.exported": "tapahtumaloki viety tiedostoon",
    "job.retry": "ajo käynnistetty uudelleen",
    "tenant.check": "vuokraajan tarkistus",
    "sign_in.linked": "kirjautumistili yhdistetty",
    "sign_in.refused": "kirjautuminen estetty",
    "staff.add": "henkilö lisätty",
    "staff.change": "henkilön rooli tai ryhmät muutettu",
    "staff.deactivate": "henkilö poistettu käytöstä",
    "staff.reactivate": "henkilö palautettu käyttöön",
    "staff.password_reset": "salasana vaihdettu",
    "token.create": "API-tunnus luotu",
    "token.revoke": "API-tunnus peruttu",
}

#: Jobs and tools that act on their own (the actor's text after "system:"), and other non-staff actors.
SYSTEM_FI: dict[str, str] = {
    "system:nightly_sync": "yöajo",
    "system:weekly_setup": "viikon valmistelu (ajastettu)",
    "system:reevaluate": "uudelleenlaskenta",
    "system:cli": "komentorivi",
    "system": "järjestelmä",
    "import": "asiakastuonti",
}
ROLE_FI = {StaffRole.ADMIN: "ylläpitäjä", StaffRole.COORDINATOR: "ohjaaja",
           StaffRole.SOCIAL_WORKER: "sosiaalityöntekijä"}

ENTITY_FI = {"client": "asiakas", "attendance_day": "läsnäolopäivä", "outbox_message": "viesti",
             "period": "jakso", "coursework": "tehtävä", "meeting_attendance": "osallistumistieto",
             "audit_event": "tapahtumaloki"}

#: Detail fields in the order and words a summary uses; others follow under their own names.
KEY_FI = {"client": "asiakas", "group": "ryhmä", "day": "päivä", "days": "päivät", "on": "viimeinen päivä",
          "from_date": "alkaen", "reason": "syy", "why": "peruste", "computed": "laskettu",
          "override": "ohjaajan päätös", "advance": "etukäteen", "via": "kautta", "key": "viesti",
          "correction": "korjausviesti", "source": "lähde", "records": "tietueita", "stable": "pysyvä tunniste",
          "reused": "muistettu yhdistys", "mapping_removed": "yhdistys poistettu", "minutes": "minuutteja",
          "planned_end": "suunniteltu loppu", "old_end": "vanha loppu", "weekdays": "viikonpäivät",
          "groups": "ryhmät", "memberships": "jäsenyydet", "cancelled": "perutut viestit",
          "requeued": "palautetut viestit", "kept": "säilytetty", "removed": "poistetut",
          "moved_from": "siirretty kohteesta", "work_days": "toimintapäivät", "staff_id": "henkilö (id)",
          "previous_client_id": "edellinen asiakas (id)", "filter": "rajaus", "rows": "rivejä",
          "actor": "tekijä", "action": "tapahtuma", "organisation": "organisaatio", "from": "alkaen",
          "to": "päättyen"}
SKIPPED = {"v"}  # the details' format version: nothing for a reader

#: Status words stored in "from"/"to"/"computed" (attendance days, outbox messages).
VALUE_FI = {"present": "läsnä", "absent": "poissa", "excused": "perusteltu poissaolo", "pending": "odottaa",
            "queued": "jonossa", "sending": "lähdössä", "sent": "lähetetty", "parked": "odottaa",
            "failed": "epäonnistui", "cancelled": "peruttu", "uncertain": "epävarma",
            "standard": "perustaso", "plain_language": "selkokieli", "easier": "helpompi", "harder": "vaativampi",
            **END_REASONS}

#: Fields that would name a person or reach them: never shown, whoever wrote them.
PERSONAL_KEYS = frozenset({"name", "display_name", "first_name", "last_name", "full_name", "email", "e_mail",
                           "address", "to_address", "phone", "participant_key", "upn", "user_principal_name"})
REMOVED = "[poistettu]"
NAME_REMOVED = "[nimi poistettu]"
LIST_SHOWN = 6
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def action_label(action: str) -> str:
    return ACTION_FI.get(action, action)


def entity_label(entity: str, entity_id: str | None) -> str:
    name = ENTITY_FI.get(entity, entity)
    return f"{name} {entity_id}" if entity_id else name


@dataclass(frozen=True)
class Staff:
    name: str
    role: StaffRole


def actor_label(actor: str, staff: Mapping[int, Staff]) -> str:
    """'Ohjaaja A (ohjaaja)', 'yöajo', 'komentorivi (olli)'; anything unknown as stored."""
    kind, _, rest = actor.partition(":")
    if kind == "staff" and rest.isdigit():
        who = staff.get(int(rest))
        return f"{who.name} ({ROLE_FI.get(who.role, who.role.value)})" if who else f"henkilö #{rest}"
    if actor in SYSTEM_FI:
        return SYSTEM_FI[actor]
    if kind == "cli" and rest:
        return f"komentorivi ({rest})"
    if kind == "system" and rest:
        return f"järjestelmä ({rest})"
    return actor


def client_codes(details: Mapping[str, Any]) -> set[str]:
    code = details.get("client")
    return {code} if isinstance(code, str) and code else set()


def redact_details(details: Any, names: Iterable[str] = ()) -> Any:
    """The details without personal fields, addresses, tokens, or any of `names` in their texts."""
    patterns = [re.compile(r"(?<!\w)" + re.escape(n) + r"(?!\w)", re.IGNORECASE)
                for n in sorted({n for n in names if len(n) >= 3}, key=len, reverse=True)]
    return _redact(details, patterns)


def client_name_parts(display_name: str) -> list[str]:
    """A client's whole name and each part of it: a reason may say only 'Aino oli sairas'."""
    name = " ".join(display_name.split())
    return [name, *name.split(" ")] if name else []


def _redact(value: Any, patterns: list[re.Pattern[str]]) -> Any:
    if isinstance(value, dict):
        return {k: REMOVED if str(k).lower() in PERSONAL_KEYS else _redact(v, patterns) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, patterns) for v in value]
    if isinstance(value, str):
        text = redact(value)
        for pattern in patterns:
            text = pattern.sub(NAME_REMOVED, text)
        return text
    return value


def summary(details: Mapping[str, Any]) -> str:
    """One line: 'läsnä → poissa · asiakas K-0001 · ryhmä ti-ryhma · päivä 24.11.2026 · syy: Sairas'."""
    parts: list[str] = []
    if "from" in details and "to" in details:
        parts.append(f"{_value('from', details['from'])} → {_value('to', details['to'])}")
    ordered = [k for k in KEY_FI if k in details and k not in ("from", "to")]
    ordered += [k for k in details if k not in KEY_FI and k not in SKIPPED]
    for key in ordered:
        parts.append(f"{KEY_FI.get(key, key)}: {_value(key, details[key])}")
    return " · ".join(parts)


def _value(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "kyllä" if value else "ei"
    if isinstance(value, dict):
        if set(value) == {"from", "to"}:
            return f"{_value(key, value['from'])} → {_value(key, value['to'])}"
        return ", ".join(f"{KEY_FI.get(str(k), str(k)) if not _ISO_DAY.fullmatch(str(k)) else _value('', k)} "
                         f"{_value(str(k), v)}" for k, v in value.items() if v not in (None, "", []))
    if isinstance(value, list):
        if key == "weekdays" and all(isinstance(d, int) and d in WEEKDAY_FI for d in value):
            return ", ".join(WEEKDAY_FI[d] for d in value) or "–"
        shown = [_value(key, v) for v in value[:LIST_SHOWN]]
        more = f" … ({len(value)})" if len(value) > LIST_SHOWN else ""
        return (", ".join(shown) + more) if shown else "–"
    if isinstance(value, str):
        if _ISO_DAY.fullmatch(value):
            try:
                return fi_date(date.fromisoformat(value))
            except ValueError:
                return value
        return VALUE_FI.get(value, value)
    return str(value)
