"""`integrator demo`: the whole story of one week on an in-process sandbox tenant, in seconds.

One organisation, 20 pseudonymous clients in four groups (long-term, short-term, interval,
hybrid). The weekly setup makes courses, folders, coursework and meetings and the letters go
out; then the week is played on the sandbox clock (some attend, some return work, some are
absent, one dials in by phone, one returns a photo only), the nightly sync runs every night,
the coordinator maps the phone number and excuses a sick day, the social worker is alerted of
a repeated absence, and the attendance register is printed and written as CSV and XLSX.

Then a second, small organisation on Microsoft 365 alone (integrator.demo.msonly) plays the same
week: Teams meetings, letters by Graph mail, SharePoint task folders, a return saved in a folder
and Teams attendance read by the nightly sync; its register lines are printed.

The periods start in the demo week, so its letters carry the evaluation survey's start round:
one Google Form per group, made before the letters go; clients answer on their group's day, the
nightly sync harvests the answers, and a short summary shows the results (nothing under five).
"""

from __future__ import annotations

import shutil
import time as wall
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from integrator.demo.msonly import ORG_MS, MsOnlyDemo
from integrator.demo.world import ORG, DemoWorld, local
from integrator.domain.finnish import fi_decimal
from integrator.domain.surveys import MIN_ANSWERS, PILOT_START, shown
from integrator.domain.types import AttendanceStatus
from integrator.jobs.attendance.corrections import Actor, correct
from integrator.jobs.attendance.identity import map_identity, unmatched_attendees
from integrator.jobs.notify.sender import send_outbox
from integrator.reports import surveys as survey_results
from integrator.reports.export import day_heading, write
from integrator.reports.register import build_month, build_week
from integrator.sandbox import Sandbox
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import PeerGroup
from integrator.web.plan_text import plan_summary

WEEK = "2026-W03"
MON = date(2026, 1, 12)
TUE, WED, THU, FRI = (MON + timedelta(days=i) for i in range(1, 5))
PHONE = "+358 40 765 4321"
STATUS_FI = {"succeeded": "onnistui", "partial": "osittain", "failed": "epäonnistui"}
SETUP_AT = datetime(2026, 1, 9, 10, 0, tzinfo=UTC)  # the Friday before, 12:00 in Helsinki

# Who does what: (client, group, day, action, argument). The codes are pseudonyms; the
# register must explain each of these outcomes.
SCRIPT: list[tuple[str, str, date, str, Any]] = [
    ("K-0001", "pitka", TUE, "attend", 55),
    ("K-0002", "pitka", TUE, "attend", 20), ("K-0002", "pitka", TUE, "turn_in", None),
    ("K-0003", "pitka", TUE, "phone", 50),
    ("K-0004", "pitka", TUE, "file", ("kuva.jpg", "image/jpeg")),
    ("K-0006", "pitka", TUE, "attend", 25),
    ("K-0016", "hybridi", TUE, "absent", None),
    ("K-0018", "hybridi", TUE, "attend", 60),
    ("K-0020", "hybridi", TUE, "attend", 45),
    ("K-0007", "lyhyt", WED, "attend", 60),
    ("K-0008", "lyhyt", WED, "attend", 45), ("K-0008", "lyhyt", WED, "turn_in", None),
    ("K-0009", "lyhyt", WED, "file", ("video.mp4", "video/mp4")),
    ("K-0011", "lyhyt", WED, "late", None),
    ("K-0012", "intervalli", THU, "attend", 40),
    ("K-0013", "intervalli", THU, "attend", 20), ("K-0013", "intervalli", THU, "rejoin", 25),
    ("K-0014", "intervalli", THU, "turn_in", None),
    ("K-0017", "hybridi", THU, "attend", 50),
    ("K-0018", "hybridi", THU, "attend", 35),
    ("K-0019", "hybridi", THU, "turn_in", None),
]


# The start round's answers (digital support before the period, the option's index), anonymous,
# on the group's day: Tuesday's and Wednesday's groups answer enough for figures, Thursday's too
# few (suppressed), the hybrid group not at all.
SURVEY_ANSWERS: dict[str, tuple[date, list[int]]] = {
    "pitka": (TUE, [0, 1, 1, 2, 2, 3]),
    "lyhyt": (WED, [0, 0, 1, 1, 2]),
    "intervalli": (THU, [1, 2, 2]),
}


def _play(w: DemoWorld, day: date, say: Any) -> None:
    w.sb.state.clock.set(local(day, 12))
    done: list[str] = []
    for code, group, when, action, arg in SCRIPT:
        if when != day:
            continue
        if action == "attend":
            w.attend(code, group, day, int(arg))
            done.append(f"{code} kokouksessa {arg} min")
        elif action == "rejoin":
            w.attend(code, group, day, int(arg), late_by=25)
            done.append(f"{code} palasi kokoukseen {arg} min")
        elif action == "phone":
            w.attend(code, group, day, int(arg), phone=PHONE)
            done.append(f"{code} soitti kokoukseen puhelimella {arg} min")
        elif action == "turn_in":
            w.turn_in(code, group, day, at=local(day, 14))
            done.append(f"{code} palautti tehtävän Classroomiin")
        elif action == "late":
            w.turn_in(code, group, day, at=local(day + timedelta(days=1), 9))
            done.append(f"{code} palautti tehtävän myöhässä (seuraavana aamuna)")
        elif action == "file":
            name, mime = arg
            w.drop_file(code, WEEK, name, mime, at=local(day, 13))
            done.append(f"{code} palautti kansioon tiedoston {name}")
        elif action == "absent":
            done.append(f"{code} poissa")
    for group, (when, levels) in SURVEY_ANSWERS.items():
        if when == day:
            for i, level in enumerate(levels):
                w.answer_survey(group, "start", {"a01": [PILOT_START.question("a01").options[level]]},
                                at=local(day, 15, i))
            done.append(f"{len(levels)} ryhmän {group} asiakasta vastasi alkukyselyyn (nimettömästi)")
    say(f"  {day_heading(day)}: " + "; ".join(done))


def _night(w: DemoWorld, day: date, say: Any) -> None:
    w.sb.state.clock.set(local(day, 2))
    r = w.nightly_sync()
    c = r.counts
    say(f"  yöajo {day.day}.{day.month}. klo 2.00: {STATUS_FI.get(r.status.value, r.status.value)}, pyyntöjä {c.get('requests', 0)}, "
        f"läsnä {c.get('days_present', 0)}, poissa {c.get('days_absent', 0)}, odottaa {c.get('days_pending', 0)}, "
        f"hälytyksiä {c.get('alerts_queued', 0)}, kyselyvastauksia {c.get('survey_answers_stored', 0)}")


def _table(reg: Any) -> list[str]:
    dates = reg.dates
    head = f"{'asiakas':<8} {'ryhmä':<11}" + "".join(f"{day_heading(d):>11}" for d in dates) + "  läsnä  korvaus"
    lines = [head, "-" * len(head)]
    short = {"present": "läsnä", "absent": "poissa", "pending": "odottaa", "excused": "perusteltu"}
    for row in reg.rows:
        cells = ""
        for d in dates:
            st = row.status_on(d)
            label = short[st.value] if isinstance(st, AttendanceStatus) else ("-" if st is None else "")
            cells += f"{label:>11}"
        lines.append(f"{row.client_code:<8} {','.join(row.groups):<11}{cells}  {row.attended:>5}  {fi_decimal(row.amount):>6} €")
    lines.append(f"{'yhteensä':<20}" + " " * (11 * len(dates)) +
                 f"  {reg.total_compensation_days:>5}  {fi_decimal(reg.total_amount):>6} €")
    return lines


def _survey_summary(store: Store) -> tuple[list[str], dict[str, int]]:
    """The start round's results in a few Finnish lines: per group the answers and, from five
    answers up, the digital-support distribution (domain.surveys.shown)."""
    with store.session() as s:
        groups = list(s.scalars(select(PeerGroup).order_by(PeerGroup.id)))
        found = survey_results.build(s, groups, MON - timedelta(days=7), FRI + timedelta(days=7))
    answers = {g.group_name: g.answers.get("start", 0) for g in found}
    lines = [f"Kyselyt: alkukysely {sum(answers.values())} vastausta (Google Forms, yksi lomake ryhmää kohden; "
             f"tulokset sivulla /surveys)"]
    for g in found:
        n = answers[g.group_name]
        if not n:
            lines.append(f"  {g.group_name}: ei vastauksia")
            continue
        sh = g.shift  # the start round alone: its "before" side
        if sh is None or not shown(sh.n_before):
            lines.append(f"  {g.group_name}: {n} vastausta; alle {MIN_ANSWERS}, lukuja ei näytetä")
        else:
            spread = ", ".join(f"{label} {sh.before.get(i, 0)}" for i, label in enumerate(sh.levels, start=1))
            lines.append(f"  {g.group_name}: {n} vastausta; digituki ennen jaksoa: {spread}")
    return lines, answers


def _microsoft_only(sb: Sandbox, store: Store, folder: Path, db_url: str, say: Any) -> dict[str, Any]:
    """The second organisation's week, on Microsoft 365 alone: Teams, Graph mail, SharePoint folders."""
    sb.state.clock.set(SETUP_AT)
    m = MsOnlyDemo.build(sb, store, folder / ORG_MS, db_url)
    say("")
    say(f"Organisaatio {ORG_MS} (vain Microsoft 365): 3 asiakasta yhdessä ryhmässä; Teams-kokoukset, "
        f"Graph-posti ja SharePoint-tehtäväkansiot")
    say(f"Viikon {WEEK} valmistelu: " + plan_summary(m.weekly_setup(WEEK)))
    say(f"Viikkokirjeet: {m.letters(WEEK)} lähetetty Graphin kautta (linkki omaan tehtäväkansioon)")
    sb.state.clock.set(local(TUE, 12))
    m.attend("N-0001", TUE, 50)
    m.save_return("N-0002", TUE, "tehtava.docx")
    say(f"  {day_heading(TUE)}: N-0001 Teams-kokouksessa 50 min; N-0002 tallensi palautuksen tehtäväkansioonsa; "
        f"N-0003 poissa")
    for day, night in ((TUE, WED), (THU, FRI)):
        if day == THU:
            sb.state.clock.set(local(THU, 12))
            m.attend("N-0001", THU, 45)
            m.attend("N-0003", THU, 15)
            say(f"  {day_heading(THU)}: N-0001 Teams-kokouksessa 45 min; N-0003 vain 15 min; N-0002 poissa")
        sb.state.clock.set(local(night, 2))
        r = m.nightly_sync()
        c = r.counts
        say(f"  yöajo {night.day}.{night.month}. klo 2.00: {STATUS_FI.get(r.status.value, r.status.value)}, "
            f"läsnä {c.get('days_present', 0)}, poissa {c.get('days_absent', 0)}, "
            f"palautuksia kansiossa {c.get('sharepoint_returns_written', 0)}")
    reg = build_week(store, ORG_MS, WEEK, rules=m.settings.rules_for(ORG_MS))
    say(f"Läsnäolot viikolla {WEEK}, {ORG_MS}:")
    for line in _table(reg):
        say(line)
    return {"table": reg.table()}


def run_demo(folder: Path, say: Any = print) -> dict[str, Any]:
    started = wall.monotonic()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    db_url = f"sqlite:///{folder / 'demo.db'}"
    upgrade(db_url)
    store = Store(db_url)
    with Sandbox(page_size=20) as sb:
        sb.state.clock.set(SETUP_AT)
        w = DemoWorld.build(sb, store, folder, db_url=db_url, period_start=MON, surveys=True)
        say(f"Organisaatio {ORG}: 20 asiakasta neljässä ryhmässä (pitkä, lyhyt, intervalli, hybridi); "
            f"asetukset {w.config_path}")
        plan = w.weekly_setup(WEEK)
        say(f"Viikon {WEEK} valmistelu: " + plan_summary(plan.counts()))
        letters = w.letters(WEEK)
        say(f"Viikkokirjeet: {letters['sent']} lähetetty (mukana alkukyselyn linkki)")
        say("Viikko:")
        for day, night in ((TUE, WED), (WED, THU), (THU, FRI)):
            _play(w, day, say)
            _night(w, night, say)
        _night(w, FRI + timedelta(days=1), say)

        org_id = 1
        for u in unmatched_attendees(store, org_id):
            if u.via_phone:
                map_identity(store, org_id, u.source, u.participant_key, w.client_id("K-0003"), "staff:1")
                say("Ohjaaja yhdisti tunnistamattoman puhelinosallistujan asiakkaaseen K-0003 "
                    "(käytetään jatkossa automaattisesti)")
        wd = next(wd for wd, g in w.work_days() if g == "pitka" and wd.day == TUE)
        correct(store, w.client_id("K-0005"), wd.day, "excused", "sairausloma", Actor.staff(1), group_key="pitka",
                today=sb.state.clock.now().date())
        say("Ohjaaja merkitsi K-0005:n tiistain perustelluksi poissaoloksi (sairausloma)")
        sent = send_outbox(store, w.settings, now=sb.state.clock.now())
        alerts = [m for m in sb.sent_mail() if m.subject.startswith("Toistuvia poissaoloja")]
        for m in alerts:
            say(f"Poissaolohälytys -> {', '.join(m.to)}: {m.text.strip()}")
        rules = w.settings.rules_for(ORG)
        week_reg = build_week(store, ORG, WEEK, rules=rules)
        say("")
        say(f"Läsnäolot viikolla {WEEK} (kulukorvaus {fi_decimal(week_reg.rate)} € / päivä):")
        for line in _table(week_reg):
            say(line)
        say("")
        survey_lines, survey_answers = _survey_summary(store)
        for line in survey_lines:
            say(line)
        month = build_month(store, ORG, "2026-01", rules=rules)
        csv_path = write(month, "csv", folder / "lasnaolot-2026-01.csv")
        xlsx_path = write(month, "xlsx", folder / "lasnaolot-2026-01.xlsx")
        microsoft = _microsoft_only(sb, store, folder, db_url, say)
    elapsed = wall.monotonic() - started
    say("")
    say(f"Rekisteri: {csv_path.resolve()}")
    say(f"           {xlsx_path.resolve()}")
    say(f"Valmis {elapsed:.1f} sekunnissa.")
    store.dispose()
    return {"table": week_reg.table(), "alerts": len(alerts), "sent": sent, "csv": csv_path, "xlsx": xlsx_path,
            "seconds": elapsed, "survey_answers": survey_answers, "microsoft_table": microsoft["table"]}
