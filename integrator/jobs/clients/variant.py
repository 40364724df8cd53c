"""The coordinator's choice of a client's task variant (eriyttäminen): plain-language, easier,
harder or standard. The weekly setup and the weekly letter read it (`ClientVariantChoice`, see
`jobs.weekly.state.load_week` and `jobs.weekly.tasks.choose_variant`); a client flagged for plain
language gets the plain-language variant whatever is chosen here.

"Standard" is stored as no choice at all: the readers take a missing row as the standard variant.
Each change is audited (who, when, from -> to); choosing the same again writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.domain.types import VariantKind
from integrator.store.db import Store
from integrator.store.models import AuditEvent, Client, ClientVariantChoice

#: The choices, in Finnish, in the order a coordinator reads them.
VARIANT_FI: dict[VariantKind, str] = {
    VariantKind.STANDARD: "perustaso",
    VariantKind.PLAIN_LANGUAGE: "selkokieli",
    VariantKind.EASIER: "helpompi",
    VariantKind.HARDER: "vaativampi",
}


@dataclass(frozen=True)
class VariantChange:
    code: str
    before: VariantKind
    after: VariantKind

    @property
    def changed(self) -> bool:
        return self.before != self.after


def current_variant(s: Session, client_id: int) -> VariantKind:
    """The client's chosen variant (standard when none is chosen)."""
    kind = s.scalar(select(ClientVariantChoice.kind).where(ClientVariantChoice.client_id == client_id))
    return VariantKind(kind) if kind is not None else VariantKind.STANDARD


def set_variant(store: Store, client_id: int, kind: VariantKind, actor: str) -> VariantChange:
    """Choose the client's task variant from the next weekly setup on; audited when it changes."""
    with store.session() as s:
        client = s.get(Client, client_id)
        if client is None:
            raise LookupError(f"no client {client_id}")
        row = s.scalars(select(ClientVariantChoice).where(ClientVariantChoice.client_id == client_id)).one_or_none()
        before = row.kind if row is not None else VariantKind.STANDARD
        change = VariantChange(client.code, before, kind)
        if not change.changed:
            return change
        if kind is VariantKind.STANDARD:
            s.delete(row)
        elif row is None:
            s.add(ClientVariantChoice(client_id=client_id, kind=kind))
        else:
            row.kind = kind
        s.add(AuditEvent(organisation_id=client.organisation_id, actor=actor, action="client.variant_chosen",
                         entity="client", entity_id=str(client_id),
                         details={"client": client.code, "from": before.value, "to": kind.value}))
        return change
