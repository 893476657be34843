"""Browser tests: Playwright driving Debian's Chromium against a live server.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``) and, for the accessibility
check, ``node_modules/axe-core`` (installed here with ``npm ci`` when missing; axe is
injected into the page by the test, never served by the app). Without Chromium the tests
are skipped with the reason, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MANYI_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install manyi[dev])")
    if not Path(CHROMIUM).is_file():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core's script from the npm registry (``npm ci`` from package-lock.json)."""
    if not AXE.is_file():
        npm = shutil.which("npm")
        if npm is None:
            _unavailable("npm is missing; it installs axe-core for the accessibility check")
        command = "ci" if (ROOT / "package-lock.json").is_file() else "install"
        subprocess.run(
            [npm, command, "--no-audit", "--no-fund"], cwd=ROOT, check=True, capture_output=True
        )
    return AXE


def axe_violations(page: Any, script: Path, impacts: tuple[str, ...] = ("serious", "critical")):
    """Run axe-core in ``page``; return the violations of the given impacts."""
    page.add_script_tag(path=str(script))
    result = page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v["impact"] in impacts]
