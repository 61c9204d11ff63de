"""Accessibility checks for browser tests: axe-core (from npm) and WCAG 2.5.8 target sizes.

axe is evaluated through the DevTools protocol, not injected as a <script>, so a page's
Content-Security-Policy does not stop it.
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from playwright.sync_api import Page

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}

# Interactive elements a finger can hit. A seat with tabindex="-1" (roving tabindex) is still a
# pointer target, so roles count as well as tab stops.
TARGETS_JS = """
() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, ' +
    '[role=button], [role=checkbox], [role=link], [role=tab], [tabindex]:not([tabindex="-1"])';
  const inSentence = (el) => {
    if (el.tagName !== 'A' || getComputedStyle(el).display !== 'inline') return false;
    const text = (el.parentElement ? el.parentElement.textContent : '').trim();
    return text.length > el.textContent.trim().length + 2;
  };
  const targets = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.disabled || el.closest('details:not([open]) > :not(summary)')) continue;
    // A scroll box made reachable by keyboard (tabindex + role=region) is no pointer target.
    if (el.getAttribute('role') === 'region') continue;
    const style = getComputedStyle(el);
    if (style.pointerEvents === 'none' || style.visibility === 'hidden') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    // Only what is on screen in the page's own scroll position matters for a finger.
    targets.push({
      name: (el.getAttribute('aria-label') || el.textContent || el.name || el.id || el.tagName)
        .trim().slice(0, 60),
      tag: el.tagName.toLowerCase(),
      x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height,
      inline: inSentence(el),
    });
  }
  return targets;
}
"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now."""
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;undefined")
    results = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in results
        if v["impact"] in BLOCKING
    ]


def crowded_small_targets(page: Page) -> list[str]:
    """Targets under 24x24 px whose 24 px circle touches another target (WCAG 2.5.8)."""
    targets = page.evaluate(TARGETS_JS)
    small = [t for t in targets if (t["w"] < 24 or t["h"] < 24) and not t["inline"]]
    problems = []
    for t in small:
        cx, cy = t["x"] + t["w"] / 2, t["y"] + t["h"] / 2
        for other in targets:
            if other is t:
                continue
            ox, oy = other["x"] + other["w"] / 2, other["y"] + other["h"] / 2
            other_small = other in small
            if other_small:
                touching = (cx - ox) ** 2 + (cy - oy) ** 2 < 24**2
            else:
                # Distance from this target's centre to the other's box.
                dx = max(other["x"] - cx, 0, cx - (other["x"] + other["w"]))
                dy = max(other["y"] - cy, 0, cy - (other["y"] + other["h"]))
                touching = dx * dx + dy * dy < 12**2
            if touching:
                problems.append(
                    f"{t['tag']} “{t['name']}” {t['w']:.0f}x{t['h']:.0f}px"
                    f" crowded by {other['tag']} “{other['name']}”"
                )
                break
    return problems


def assert_accessible(page: Page, where: str) -> None:
    """No serious/critical axe violation and no crowded small target on the page."""
    violations = axe_violations(page)
    assert not violations, f"axe on {where}: {violations}"
    crowded = crowded_small_targets(page)
    assert not crowded, f"small crowded targets on {where}: {crowded[:10]}"
