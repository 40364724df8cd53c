"""`integrator serve --sandbox`: an in-process sandbox tenant and the demo organisation
(integrator.demo.world), so a coordinator can rehearse a week in the browser without touching a
real tenant. The sandbox clock starts now (or at the `now` a test pins) and the demo periods
around that day, so "next week" in the pages is a week the clients take part in. The web app runs
on the same clock (its CLOCK config, see web.context.now). Nothing here talks to the internet.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from integrator.config import Settings
from integrator.demo.world import DemoWorld
from integrator.sandbox import Sandbox
from integrator.store.db import Store
from integrator.store.types import utcnow
from integrator.web import accounts

log = logging.getLogger(__name__)


@dataclass
class Rehearsal:
    sandbox: Any
    world: Any  # integrator.demo.world.DemoWorld: simulate clients (attend, turn_in) in tests
    settings: Settings
    login_email: str
    password: str
    password_file: Path
    workdir: Path

    @property
    def clock(self) -> Callable[[], datetime]:
        """The sandbox tenant's clock, for the app's CLOCK: the pages' "today" is the tenant's."""
        now: Callable[[], datetime] = self.sandbox.state.clock.now
        return now

    @property
    def org_key(self) -> str:
        return str(self.settings.organisations[0].key)

    def allow_sign_in_at(self, base_url: str) -> None:
        """The product serves at `base_url`: the sandbox's Entra ID and Google send sign-ins back there."""
        self.world.allow_sign_in_at(base_url)

    def stop(self) -> None:
        self.sandbox.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_rehearsal(store: Store, *, password: str | None = None, now: datetime | None = None) -> Rehearsal:
    """`now`: where the sandbox clock starts (an aware datetime; default the wall clock)."""
    start = now or utcnow()
    sb = Sandbox(start_time=start).start()
    workdir = Path(tempfile.mkdtemp(prefix="integrator-rehearsal-"))
    try:
        world = DemoWorld.build(sb, store, workdir / "tenant", period_start=start.date() - timedelta(days=30),
                                surveys=True, sign_in=True)
        password = password or secrets.token_urlsafe(12)
        accounts.set_password(store, accounts.staff_id_by_email(store, world.coordinator), password)
    except BaseException:
        sb.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    password_file = workdir / "password.txt"
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    log.info("rehearsal tenant ready", extra={"groups": [g.key for g in world.groups]})
    return Rehearsal(sandbox=sb, world=world, settings=world.settings, login_email=world.coordinator,
                     password=password, password_file=password_file, workdir=workdir)
