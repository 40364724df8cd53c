"""The outbox in the browser ("Lähetysjono"): messages that need a person's look, and the pace.

Who sees what. An admin sees the outbox of their organisation (every organisation when they have
none). A coordinator sees only the messages about clients of their own groups (the same rule as
every client page: `access.clients_query`), and the daily counts of those messages; the sending
mailbox's limit is the organisation's, shown to admins only. The page links from the admins' menu;
a coordinator reaches it from a send run's notice (the same people `jobs.notify.send_runs` tells).

Nothing here names a recipient by address: a message is its key (client code or id, day), its
kind, and the recipient's role (the client, or the client's social worker for an absence alert).
Requeue and cancel are `jobs.notify.outbox.requeue` / `cancel_key`, the functions behind
`integrator notify requeue|cancel`: one rule, audited there (who, when, from -> to, why).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from integrator.config import Settings
from integrator.domain.finnish import HELSINKI
from integrator.domain.types import MessageKind, OutboxStatus
from integrator.jobs.notify.outbox import REQUEUABLE, cancel_key, requeue, sent_in_window
from integrator.jobs.notify.sender import sending_limits
from integrator.providers.google.gmail import message_id_for
from integrator.store.models import Client, Organisation, OutboxMessage
from integrator.web import access, context
from integrator.web.auth import Principal, current_principal
from integrator.web.context import get_settings, get_store

bp = Blueprint("outbox", __name__)

KIND_FI = {MessageKind.WEEKLY_LETTER: "viikkokirje", MessageKind.REMINDER: "muistutus",
           MessageKind.ABSENCE_ALERT: "poissaoloilmoitus",
           MessageKind.ABSENCE_ALERT_CORRECTION: "poissaoloilmoituksen korjaus",
           MessageKind.SURVEY: "kysely", MessageKind.SURVEY_REMINDER: "kyselyn muistutus"}
#: An alert goes to the client's social worker (staff data): the page shows the role, not the address.
TO_SOCIAL_WORKER = (MessageKind.ABSENCE_ALERT, MessageKind.ABSENCE_ALERT_CORRECTION)
STATUS_FI = {OutboxStatus.UNCERTAIN: "epävarma", OutboxStatus.FAILED: "epäonnistui",
             OutboxStatus.CANCELLED: "peruttu", OutboxStatus.PARKED: "odottaa",
             OutboxStatus.QUEUED: "jonossa", OutboxStatus.SENDING: "lähdössä", OutboxStatus.SENT: "lähetetty"}
DAYS_SHOWN = 7
LISTED = 200


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _messages(p: Principal) -> Select[OutboxMessage]:
    q = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if p.is_admin:
        return q if p.organisation_id is None else q.where(OutboxMessage.organisation_id == p.organisation_id)
    own = access.clients_query(p).order_by(None).with_only_columns(Client.id)
    return q.where(OutboxMessage.client_id.in_(own))


def _message_or_404(s: Session, p: Principal, message_id: int) -> OutboxMessage:
    msg = s.scalar(_messages(p).where(OutboxMessage.id == message_id))
    if msg is None:
        abort(404)
    return msg


@dataclass(frozen=True)
class Mailbox:
    organisation: str
    address: str | None  # the organisation's sending mailbox (a service account, not a person)
    via: str | None
    per_day: int | None
    sent_24h: int


def _settings() -> Settings | None:
    try:
        return get_settings()
    except LookupError:
        return None


def _mailbox(s: Session, settings: Settings | None, org: Organisation, now: datetime) -> Mailbox:
    sent, _ = sent_in_window(s, org.id, now)
    try:
        cfg = settings.organisation(org.key) if settings is not None else None
    except (LookupError, KeyError):
        cfg = None
    if cfg is None:
        return Mailbox(org.name, None, None, None, sent)
    vendor = cfg.google if cfg.mail.via == "gmail" else cfg.microsoft
    return Mailbox(org.name, vendor.mail_sender if vendor is not None else None, cfg.mail.via,
                   sending_limits(cfg)[1], sent)


def _row(msg: OutboxMessage, code: str | None, mailbox: Mailbox | None) -> dict[str, Any]:
    created = _aware(msg.created_at)
    out: dict[str, Any] = {
        "id": msg.id, "key": msg.key, "kind": KIND_FI.get(msg.kind, msg.kind.value), "client": code,
        "recipient": "asiakkaan sosiaalityöntekijä" if msg.kind in TO_SOCIAL_WORKER else "asiakas",
        "subject": msg.subject, "status": msg.status, "status_fi": STATUS_FI.get(msg.status, msg.status.value),
        "attempts": msg.attempts, "error": msg.last_error, "created": created,
        "resume": _aware(msg.not_before), "requeuable": msg.status in REQUEUABLE,
        "mailbox": mailbox.address if mailbox else None, "message_id": None}
    if mailbox is not None and mailbox.via == "gmail" and mailbox.address and "@" in mailbox.address:
        out["message_id"] = message_id_for(msg.key, mailbox.address.rsplit("@", 1)[1])
    return out


def _daily(msgs: list[OutboxMessage], today: date) -> list[tuple[date, int]]:
    counts = Counter(_aware(m.sent_at).astimezone(HELSINKI).date()  # type: ignore[union-attr]
                     for m in msgs if m.sent_at is not None)
    return [(today - timedelta(days=n), counts.get(today - timedelta(days=n), 0)) for n in range(DAYS_SHOWN)]


@bp.get("/outbox")
def outbox_page() -> ResponseReturnValue:
    p = current_principal()
    now, today = context.now(), context.today()
    settings = _settings()
    with get_store().session() as s:
        base = _messages(p)
        attention = list(s.scalars(base.where(OutboxMessage.status.in_(
            (OutboxStatus.UNCERTAIN, OutboxStatus.FAILED, OutboxStatus.PARKED))).limit(LISTED)))
        since = datetime.combine(today - timedelta(days=DAYS_SHOWN), datetime.min.time(), HELSINKI)
        sent = list(s.scalars(base.where(OutboxMessage.status == OutboxStatus.SENT,
                                         OutboxMessage.sent_at >= since.astimezone(UTC))))
        orgs = list(s.scalars(access.organisations_query(p))) if p.is_admin else []
        mailboxes = {o.id: _mailbox(s, settings, o, now) for o in orgs}
        ids = [m.client_id for m in attention if m.client_id is not None]
        codes = {cid: code for cid, code in s.execute(select(Client.id, Client.code).where(Client.id.in_(ids)))}
        rows = [_row(m, codes.get(m.client_id) if m.client_id else None, mailboxes.get(m.organisation_id))
                for m in attention]
    return render_template(
        "outbox.html", now=now,
        uncertain=[r for r in rows if r["status"] is OutboxStatus.UNCERTAIN],
        failed=[r for r in rows if r["status"] is OutboxStatus.FAILED],
        parked=[r for r in rows if r["status"] is OutboxStatus.PARKED],
        daily=_daily(sent, today), mailboxes=list(mailboxes.values()) if p.is_admin else [])


def _reason() -> str:
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        abort(400, description="syy: kirjoita lyhyesti, miksi (esim. ”ei löytynyt Lähetetyt-kansiosta”)")
    if len(reason) > 300:
        abort(400, description="syy: enintään 300 merkkiä")
    return reason


@bp.post("/outbox/<id:message_id>/requeue")
def requeue_message(message_id: int) -> ResponseReturnValue:
    p = current_principal()
    store = get_store()
    with store.session() as s:
        msg = _message_or_404(s, p, message_id)
        key, status = msg.key, msg.status
    reason = _reason()
    if status is OutboxStatus.UNCERTAIN and request.form.get("sent_items_checked") != "yes":
        # The one way to send a letter twice: the provider may have accepted it already.
        abort(400, description="vahvistus: tarkista ensin lähettäjän Lähetetyt-kansio ja vahvista, "
                               "ettei viestiä ole siellä")
    if not requeue(store, key, actor=p.actor, reason=reason):
        abort(409, description="tila: viestiä ei voi enää lähettää uudelleen (sen tila on muuttunut)")
    flash(f"Viesti {key} palautettiin jonoon; se lähtee seuraavassa lähetysajossa.", "ok")
    return redirect(url_for("outbox.outbox_page"))


@bp.post("/outbox/<id:message_id>/cancel")
def cancel_message(message_id: int) -> ResponseReturnValue:
    p = current_principal()
    store = get_store()
    with store.session() as s:
        key = _message_or_404(s, p, message_id).key
    reason = _reason()
    if not cancel_key(store, key, reason, actor=p.actor):
        abort(409, description="tila: viestiä ei voi perua (se on jo lähetetty tai lähdössä)")
    flash(f"Viesti {key} peruttiin.", "ok")
    return redirect(url_for("outbox.outbox_page"))
