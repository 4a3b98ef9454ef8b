"""Run axe-core (installed from npm by ``make test``) on a Playwright page."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Serious and critical WCAG 2.1 A/AA violations on the current page.

    The page's context must be created with ``bypass_csp=True``: the portal's CSP forbids
    injected scripts, axe included.
    """
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]
