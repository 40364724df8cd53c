"""One sender per organisation (issue 16): organisations send at once, each from its own mailbox
under its own lock; a busy or taken-over sender of one organisation never stops another's.

Two organisations on the sandbox's Graph tenant, each with its own sending mailbox: Raisio (the
notify world, its week's letters) and Naantali (absence alerts to its social worker)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from integrator.config import Settings
from integrator.domain.types import MessageKind, OutboxStatus
from integrator.jobs.locks import acquire
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.jobs.notify.sender import GraphMailer, send_lock, send_outbox
from integrator.store.models import Organisation, OutboxMessage
from tests.jobs import notify_world as nw
from tests.jobs.notify_world import DOMAIN, LETTER_DAY, ORG, WEEK, World

sandbox_server, sb, world = nw.sandbox_server, nw.sb, nw.world  # fixtures

OTHER = "naantali"
OTHER_SENDER = f"posti.naantali@{DOMAIN}"


def with_second_organisation(w: World, alerts: int = 3) -> Settings:
    """Naantali: the same tenant, its own sending mailbox, `alerts` messages queued."""
    w.sb.graph.add_user(OTHER_SENDER, "Naantali Posti")
    raw = w.settings.model_dump(mode="json")
    other = {**raw["organisations"][0], "key": OTHER, "name": "Naantalin kaupunki"}
    other["microsoft"] = {**other["microsoft"], "mail_sender": OTHER_SENDER}
    raw["organisations"].append(other)
    settings = Settings.model_validate(raw)
    with w.store.session() as s:
        org = Organisation(key=OTHER, name="Naantalin kaupunki")
        s.add(org)
        s.flush()
        for i in range(alerts):
            s.add(OutboxMessage(organisation_id=org.id, key=f"alert:N-{i}", kind=MessageKind.ABSENCE_ALERT,
                                to_address=f"sosiaalityo@{DOMAIN}", subject="Poissaoloja", body_text="N-000"))
    return settings


def senders(w: World) -> Counter[str]:
    return Counter(m.sender for m in w.sb.sent_mail())


class MeetsTheOther:
    """The organisation's real Graph mailer, whose first message waits (up to 10 s) until the other
    organisation's sender is mid-send too: it passes only if the two send at the same time."""

    def __init__(self, settings: Settings, key: str, barrier: threading.Barrier) -> None:
        self.inner, self.barrier, self.first = GraphMailer(settings.organisation(key)), barrier, True

    def send(self, msg: OutboxMessage) -> str | None:
        if self.first:
            self.first = False
            self.barrier.wait()
        return self.inner.send(msg)

    def requests(self) -> int:
        return self.inner.requests()

    def close(self) -> None:
        self.inner.close()


def test_two_organisations_send_at_once_each_from_its_own_mailbox(world: World) -> None:
    settings = with_second_organisation(world)
    queue_weekly_letters(world.store, settings, ORG, WEEK)
    barrier = threading.Barrier(2, timeout=10)
    mailers: dict[str, Any] = {k: MeetsTheOther(settings, k, barrier) for k in (ORG, OTHER)}
    try:
        out = send_outbox(world.store, settings, LETTER_DAY, mailers=mailers, parallel=2)
    finally:
        for m in mailers.values():
            m.close()
    assert not barrier.broken, "the two organisations' senders did not run at the same time"
    assert out["sent"] == 7 + 3 and out["busy"] == 0
    assert senders(world) == {world.sender: 7, OTHER_SENDER: 3}


def test_an_organisation_whose_sender_is_busy_elsewhere_does_not_hold_up_another(world: World) -> None:
    settings = with_second_organisation(world)
    queue_weekly_letters(world.store, settings, ORG, WEEK)
    elsewhere = acquire(world.store, send_lock(ORG))  # Raisio's sender runs in another process
    try:
        out = send_outbox(world.store, settings, LETTER_DAY)
    finally:
        elsewhere.release()
    assert out["busy"] == 1 and out["sent"] == 3
    assert senders(world) == {OTHER_SENDER: 3}
    with world.store.session() as s:
        left = Counter(s.scalars(select(OutboxMessage.status).join(Organisation).where(Organisation.key == ORG)))
    assert left == {OutboxStatus.QUEUED: 7}, "the busy organisation's queue is left to its own sender"


def test_a_message_left_sending_by_one_organisation_is_not_made_uncertain_by_another(world: World) -> None:
    """Raisio's sender (another process) is mid-send: its SENDING row is its own. Naantali's sender
    starting meanwhile must not call it uncertain (only Raisio's next sender may recover it)."""
    settings = with_second_organisation(world)
    queue_weekly_letters(world.store, settings, ORG, WEEK)
    with world.store.session() as s:
        first = s.scalars(select(OutboxMessage).where(OutboxMessage.key.like("letter:%")).limit(1)).one()
        first.status = OutboxStatus.SENDING
    elsewhere = acquire(world.store, send_lock(ORG))
    try:
        out = send_outbox(world.store, settings, LETTER_DAY, org_keys=[OTHER])
    finally:
        elsewhere.release()
    assert out["recovered_uncertain"] == 0 and out["sent"] == 3
    with world.store.session() as s:
        assert s.get(OutboxMessage, first.id).status == OutboxStatus.SENDING  # type: ignore[union-attr]


@pytest.mark.parametrize("org_keys, sent", [([ORG], {"posti": 7}), ([OTHER], {"naantali": 3})])
def test_a_run_for_one_organisation_sends_only_its_queue(world: World, org_keys: list[str],
                                                          sent: dict[str, int]) -> None:
    settings = with_second_organisation(world)
    queue_weekly_letters(world.store, settings, ORG, WEEK)
    send_outbox(world.store, settings, LETTER_DAY, org_keys=org_keys)
    by_box = {("naantali" if s == OTHER_SENDER else "posti"): n for s, n in senders(world).items()}
    assert by_box == sent
