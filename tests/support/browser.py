"""A real headless Chromium (Debian's `chromium` package) driven by Playwright, and the checks
every console page gets in it.

    with chromium() as browser:               # fails, saying how to install it, when it is missing
        context = new_context(browser, bypass_csp=True)
        page = context.new_page()
        checks = PageChecks(artifacts_dir())
        page.goto(url)
        checks.check(page, "leads")           # screenshots, no sideways scroll at 375 px, axe
        checks.assert_clean()

Playwright never downloads a browser here: it drives /usr/bin/chromium, which
scripts/install-test-clients.sh installs with apt. axe-core comes from
tests/clients/node/node_modules (the same script's `npm ci`).

The console's pages forbid inline scripts (Content-Security-Policy), and axe-core is injected
as one: a context that runs axe needs `bypass_csp=True`; the policy itself is checked in a
context without it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .server import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = REPO_ROOT / "tests/clients/node/node_modules/axe-core/axe.min.js"
# As Chromium is run on these machines: headless, no GPU, and nothing that reaches out on its
# own (no QUIC, background networking, component updates or sync).
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
ACTION_TIMEOUT_MS = 15_000
NAVIGATION_TIMEOUT_MS = 30_000
BLOCKING_IMPACTS = ("serious", "critical")


def artifacts_dir() -> Path:
    """Where screenshots and the axe report go: $MKTOWS_ARTIFACTS, else tests/artifacts/console/."""
    configured = os.environ.get("MKTOWS_ARTIFACTS")
    out = Path(configured) if configured else REPO_ROOT / "tests/artifacts/console"
    out.mkdir(parents=True, exist_ok=True)
    return out


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A Playwright `Browser` on Debian's Chromium; each browser gets a fresh profile of its own
    (Playwright makes a temporary user data dir and removes it on close)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's chromium package; "
            "install it with `bash scripts/install-test-clients.sh` (or `apt-get install chromium`)",
            pytrace=False,
        )
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.fail("the Python package playwright is missing: `pip install -e '.[test]'`", pytrace=False)
    expect.set_options(timeout=ACTION_TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, timeout=NAVIGATION_TIMEOUT_MS)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Any, *, bypass_csp: bool = False) -> Any:
    """A desktop-sized context with bounded waits: an action or assertion that cannot complete
    fails after ACTION_TIMEOUT_MS instead of hanging."""
    context = browser.new_context(viewport=DESKTOP, bypass_csp=bypass_csp, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    return context


@dataclass
class AxeViolation:
    page: str
    viewport: str
    rule: str
    impact: str | None
    help: str
    help_url: str
    nodes: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"[{self.impact}] {self.page} ({self.viewport}): {self.rule}: {self.help} <{self.help_url}>"]
        for node in self.nodes:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html']}")
            lines.append("      " + (node.get("summary") or "").replace("\n", "\n      "))
        return "\n".join(lines)


# axe's own run; the message page's sandboxed frame holds the email's HTML, which runs no script
# (so no axe either) and is the campaign author's content rather than the console's.
_AXE_RUN = """async () => {
  const result = await axe.run(document, {iframes: false, resultTypes: ["violations"]});
  return result.violations.map(v => ({
    rule: v.id, impact: v.impact, help: v.help, help_url: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary})),
  }));
}"""

# Elements whose right edge lies past the viewport, outermost first: what makes a page scroll
# sideways (an element inside a container that scrolls on its own does not count).
_WIDE_ELEMENTS = """() => {
  const width = window.innerWidth, found = [];
  const clipped = el => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden") return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 0.5 && !clipped(el)) {
      found.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className ? "." + el.className : ""}`
        + ` (right edge ${Math.round(r.right)} px)`);
    }
    if (found.length >= 8) break;
  }
  return found;
}"""


class PageChecks:
    """What every page visited gets: a whole-page screenshot at desktop size and at 375 px wide,
    no sideways scrolling at 375 px, and an axe-core run at both sizes. Problems are collected
    (so one run lists them all) and `assert_clean()` fails on them; every axe violation, of any
    impact, is printed and written to axe-violations.json beside the screenshots."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.violations: list[AxeViolation] = []
        self.problems: list[str] = []
        self.screenshots: list[Path] = []
        self._save()

    def check(self, page: Any, name: str) -> None:
        try:
            page.set_viewport_size(DESKTOP)
            self._axe(page, name, "desktop")
            self._shoot(page, DESKTOP, f"{name}-desktop.png")
            page.set_viewport_size(PHONE)
            self._no_sideways_scroll(page, name)
            self._axe(page, name, "375px")
            self._shoot(page, PHONE, f"{name}-375px.png")
        finally:
            page.set_viewport_size(DESKTOP)

    def _shoot(self, page: Any, viewport: dict[str, int], filename: str) -> None:
        """The whole page at this width. Not Playwright's `full_page`: headless Chromium leaves
        a frame of another process (the message's sandboxed HTML) blank when it lies below the
        fold, so the viewport is made as tall as the page for the shot instead."""
        height = page.evaluate("() => document.documentElement.scrollHeight")
        page.set_viewport_size({"width": viewport["width"], "height": max(viewport["height"], height)})
        try:
            page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
            path = self.out / filename
            page.screenshot(path=str(path))
        finally:
            page.set_viewport_size(viewport)
        assert path.stat().st_size > 1000, f"{path} is (nearly) empty"
        self.screenshots.append(path)

    def _no_sideways_scroll(self, page: Any, name: str) -> None:
        scroll_width, inner_width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if scroll_width > inner_width:
            wide = page.evaluate(_WIDE_ELEMENTS)
            self.problems.append(
                f"{name}: at {inner_width} px wide the page scrolls sideways (scrollWidth {scroll_width});"
                f" too wide: {', '.join(wide) or 'no single element found'}"
            )

    def _axe(self, page: Any, name: str, viewport: str) -> None:
        if not AXE_JS.exists():
            pytest.fail(
                f"{AXE_JS} is missing: run `bash scripts/install-test-clients.sh` (npm ci in tests/clients/node)",
                pytrace=False,
            )
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE_JS))
        for found in page.evaluate(_AXE_RUN):
            violation = AxeViolation(page=name, viewport=viewport, **found)
            self.violations.append(violation)
            print(violation.describe())
            if violation.impact in BLOCKING_IMPACTS:
                self.problems.append(f"axe {violation.impact}: {name} ({viewport}): {violation.rule}: {violation.help}")
        self._save()

    def _save(self) -> None:
        report = [asdict(v) for v in self.violations]
        (self.out / "axe-violations.json").write_text(json.dumps(report, indent=2), encoding="utf-8")

    def assert_clean(self) -> None:
        assert not self.problems, "the console's pages have problems:\n" + "\n".join(self.problems)
