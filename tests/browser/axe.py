"""axe-core in the browser tests: the page's accessibility violations, and the rule of the issue
(0 critical and 0 serious on every page, at every width), counted and printed.

axe.min.js comes from the dev dependency axe-playwright-python (no network: the script is
injected from the installed package).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import axe_playwright_python

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE_JS = Path(axe_playwright_python.__file__).parent / "axe.min.js"
BLOCKING = ("critical", "serious")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Every axe-core violation on the page as it is now (axe's own dicts: id, impact, nodes...)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return list(result["violations"])


def assert_no_serious(page: Page, name: str) -> None:
    """Counts the critical and serious violations on the page, prints the count, asserts 0."""
    found = [v for v in axe_violations(page) if v.get("impact") in BLOCKING]
    print(f"axe {name}: {len(found)} critical/serious")
    assert not found, f"axe on {name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}" for v in found)
