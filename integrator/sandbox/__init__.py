"""The sandbox tenant: a local, stateful emulator of the Google and Microsoft APIs we use.

``Sandbox`` is imported lazily so that ``integrator.sandbox.core`` can be used by either vendor
half without pulling in the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from integrator.sandbox.core import SandboxState, SentMail
    from integrator.sandbox.launcher import Sandbox

__all__ = ["Sandbox", "SandboxState", "SentMail"]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        from integrator.sandbox.launcher import Sandbox

        return Sandbox
    if name in ("SandboxState", "SentMail"):
        from integrator.sandbox import core

        return getattr(core, name)
    raise AttributeError(name)
