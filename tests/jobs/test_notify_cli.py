"""`integrator notify ...` end to end on the sandbox, as an operator would run it."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select, update

from integrator.cli import cli
from integrator.domain.types import JobStatus, OutboxStatus
from integrator.store.models import JobRun, Organisation, OutboxMessage
from tests.jobs import notify_world as nw
from tests.jobs.notify_world import LETTER_DAY, WEEK, World, at, monday

sandbox_server, sb, world = nw.sandbox_server, nw.sb, nw.world  # fixtures


def invoke(w: World, *args: str) -> str:
    result = CliRunner().invoke(cli, ["notify", *args], env=w.env(), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_meetings_letters_and_send_from_the_command_line(world: World) -> None:
    dry = invoke(world, "meetings", "--week", WEEK, "--dry-run")
    assert "create meeting      meeting:tiistai:2026-01-13" in dry
    invoke(world, "meetings", "--week", WEEK)
    invoke(world, "letters", "--week", WEEK)
    sent = invoke(world, "send", "--now", LETTER_DAY.isoformat())

    assert '"sent": 7' in sent
    assert len(world.sb.sent_mail()) == 7
    with world.store.session() as s:
        run = s.scalar(select(JobRun).where(JobRun.kind == "notify_send"))
        assert run is not None and run.status == JobStatus.SUCCEEDED and run.counts["sent"] == 7
    assert "Nothing to do" in invoke(world, "meetings", "--week", WEEK, "--dry-run")


def test_the_outbox_listing_shows_codes_not_addresses_and_an_uncertain_message_can_be_requeued(
        world: World) -> None:
    invoke(world, "letters", "--week", WEEK)
    with world.store.session() as s:
        key = s.scalar(select(OutboxMessage.key).order_by(OutboxMessage.key))
        s.execute(update(OutboxMessage).where(OutboxMessage.key == key).values(status=OutboxStatus.UNCERTAIN))

    listing = invoke(world, "outbox", "--status", "uncertain")
    assert f"uncertain  {key}" in listing and "@" not in listing
    assert f"requeued {key}" in invoke(world, "requeue", "--yes", str(key))
    assert '"sent": 7' in invoke(world, "send", "--now", LETTER_DAY.isoformat())


def test_the_scheduler_entry_point_sends_letters_when_due_and_reminders_before_meetings(world: World) -> None:
    invoke(world, "meetings", "--week", WEEK)
    before = invoke(world, "run", "--now", (LETTER_DAY - timedelta(minutes=5)).isoformat())
    due = invoke(world, "run", "--now", LETTER_DAY.isoformat())
    again = invoke(world, "run", "--now", (LETTER_DAY + timedelta(minutes=5)).isoformat())
    tuesday = invoke(world, "run", "--now", at(monday() + timedelta(days=1), 9, 2).isoformat())

    assert '"letters"' not in before and json.loads(due)["send"]["sent"] == 7
    assert json.loads(again)["send"]["sent"] == 0
    assert json.loads(tuesday)["send"]["sent"] == 4
    assert len(world.sb.sent_mail()) == 11


# ---- uncertain messages reach the people who must decide on them ----------------------------


def send_runs(w: World) -> list[JobRun]:
    with w.store.session() as s:
        return list(s.scalars(select(JobRun).where(JobRun.kind == "notify_send").order_by(JobRun.id)))


def raisio_id(w: World) -> int:
    with w.store.session() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == nw.ORG))
    assert org_id is not None
    return org_id


def test_a_send_with_a_5xx_records_the_organisations_run_naming_the_uncertain_message(world: World) -> None:
    invoke(world, "letters", "--week", WEEK)
    world.sb.state.faults.inject(vendor="graph", path_glob="*sendMail", rate=1.0, status=503, count=1)

    invoke(world, "send", "--now", LETTER_DAY.isoformat())

    [run] = send_runs(world)
    with world.store.session() as s:
        msg = s.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.UNCERTAIN)).one()
        code = msg.key.split(":")[2]
    group = "tiistai" if code <= "K-0004" else "keskiviikko"  # TWO_GROUPS: 4 clients, then 3
    assert run.organisation_id == raisio_id(world) and run.status == JobStatus.PARTIAL
    assert run.triggered_by == "cli" and run.params == {"trigger": "send"}
    assert run.counts["sent"] == 6 and run.counts["uncertain"] == 1
    assert [(e["item"], e["kind"], e["group"], e["client"]) for e in run.errors] == [
        (msg.key, "uncertain", group, code)]
    assert "@" not in json.dumps(run.errors)


def test_notify_run_records_a_message_left_in_flight_by_a_killed_run_as_uncertain(world: World) -> None:
    invoke(world, "letters", "--week", WEEK)
    with world.store.session() as s:
        key = s.scalar(select(OutboxMessage.key).where(OutboxMessage.key.like("%K-0005%")))
        s.execute(update(OutboxMessage).where(OutboxMessage.key == key).values(status=OutboxStatus.SENDING))

    out = json.loads(invoke(world, "run", "--now", LETTER_DAY.isoformat()).splitlines()[-1])  # after the log line

    assert out["send"]["recovered_uncertain"] == 1 and out["send"]["sent"] == 6
    [run] = send_runs(world)
    assert run.organisation_id == raisio_id(world) and run.params == {"trigger": "run"}
    assert [(e["item"], e["kind"], e["group"], e["client"]) for e in run.errors] == [
        (key, "uncertain", "keskiviikko", "K-0005")]


def test_a_send_run_with_nothing_to_send_records_nothing(world: World) -> None:
    """The scheduler sends every few minutes: an empty run per organisation would bury the
    nightly syncs in the job list."""
    invoke(world, "send", "--now", LETTER_DAY.isoformat())
    assert send_runs(world) == []


def uncertain_letter(w: World) -> str:
    invoke(w, "letters", "--week", WEEK)
    with w.store.session() as s:
        key = s.scalar(select(OutboxMessage.key).order_by(OutboxMessage.key))
        s.execute(update(OutboxMessage).where(OutboxMessage.key == key).values(
            status=OutboxStatus.UNCERTAIN, last_error="uncertain: 503 from the provider"))
    assert key is not None
    return key


def status_of(w: World, key: str) -> OutboxStatus:
    with w.store.session() as s:
        status = s.scalar(select(OutboxMessage.status).where(OutboxMessage.key == key))
    assert status is not None
    return status


def test_a_requeue_without_a_terminal_and_without_yes_is_refused(world: World) -> None:
    key = uncertain_letter(world)

    result = CliRunner().invoke(cli, ["notify", "requeue", key], env=world.env(), input="y\n")

    assert result.exit_code == 1
    assert "vaatii vahvistuksen" in result.output and "Lähetetyt-kansio" in result.output
    assert "--yes" in result.output
    assert status_of(world, key) == OutboxStatus.UNCERTAIN
    assert f"requeued {key}" in invoke(world, "requeue", "--yes", key)
    assert status_of(world, key) == OutboxStatus.QUEUED


def on_a_terminal(w: World, answer: str, *args: str) -> tuple[int, str]:
    """`integrator notify ...` in a subprocess whose stdin is a terminal (a pty), answering once."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "integrator", "notify", *args], stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=w.env(), text=True)
        os.close(slave)
        os.write(master, f"{answer}\n".encode())
        out, _ = proc.communicate(timeout=120)
    finally:
        os.close(master)
    return proc.returncode, out


def test_a_requeue_on_a_terminal_shows_the_status_and_asks_first(world: World) -> None:
    key = uncertain_letter(world)

    declined = on_a_terminal(world, "n", "requeue", key)
    assert status_of(world, key) == OutboxStatus.UNCERTAIN
    accepted = on_a_terminal(world, "y", "requeue", key)

    assert declined[0] == 1 and "Viestiä ei lähetetty uudelleen." in declined[1]
    for _, out in (declined, accepted):
        assert f"Viesti {key}: tila epävarma" in out and "503 from the provider" in out
        assert "tarkista lähettäjän Lähetetyt-kansio" in out and f"integrator notify cancel {key}" in out
        assert "Lähetetäänkö viesti uudelleen? [y/N]" in out
    assert accepted[0] == 0 and f"requeued {key}" in accepted[1]
    assert status_of(world, key) == OutboxStatus.QUEUED
