"""Helpers of the browser tests: axe-core, screenshots, "no reload happened" marks."""

from __future__ import annotations

import json
from typing import Any

from bench.launcher import REPO

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# What a person would call broken; "moderate" and "minor" findings are worth reading, not failing.
AXE_BLOCKING = {"serious", "critical"}


def axe_violations(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now.

    Injected by CDP evaluation, which the page's Content Security Policy does not govern
    (an injected <script> would be refused, as it should be)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    results = page.evaluate(
        """async () => {
            const results = await axe.run(document, {resultTypes: ["violations"]});
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                targets: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
            }));
        }"""
    )
    return [v for v in results if v["impact"] in AXE_BLOCKING]


def axe_report(name: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"axe-core: {len(violations)} serious/critical violation(s) on the {name} page"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["targets"][:8]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    at {node['target']}: {summary[:300]}")
    return "\n".join(lines)


def screenshots(page: Any, name: str) -> None:
    """The page at phone and at desktop width, full length, as test artifacts (not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size(before)


def mark_loaded(page: Any) -> None:
    """Marks the page's window: a reload or a navigation wipes the mark (see still_loaded)."""
    page.evaluate("() => { window.__pbSameDocument = true; }")


def still_loaded(page: Any) -> bool:
    return page.evaluate("() => window.__pbSameDocument === true")


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)


def audit(page: Any, name: str, axe_source: str) -> list[dict[str, Any]]:
    """Screenshots at phone and desktop width, and axe-core's serious/critical violations at
    each (a layout can hide a label or squeeze a contrast at one width only)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    found: dict[str, dict[str, Any]] = {}
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png", full_page=True)
        for violation in axe_violations(page, axe_source):
            known = found.setdefault(violation["id"], {**violation, "targets": []})
            seen = {node["target"] for node in known["targets"]}
            known["targets"] += [n for n in violation["targets"] if n["target"] not in seen]
    page.set_viewport_size(before)
    return list(found.values())


def read_screen(projector) -> tuple[str, str]:
    """What a person in the room reads off the projector: the code and the QR code's link."""
    box = projector.locator("#screen-join")
    code = box.locator("[data-screen-code]").inner_text()
    return code, box.locator("[data-screen-url]").get_attribute("data-screen-url")
