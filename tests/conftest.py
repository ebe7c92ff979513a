"""Shared test setup: headless matplotlib, the build tools importable, the built site."""

import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
sys.path.insert(0, str(ROOT / "tools"))


@pytest.fixture(scope="session")
def site():
    """A cold build (-n -W --keep-going): the execution cache is dropped, every chapter
    runs again. Shared by the HTML checks and the browser tests."""
    build = subprocess.run([sys.executable, str(ROOT / "tools" / "build_book.py"), "--fresh"],
                           cwd=ROOT, capture_output=True, text=True)
    log = build.stdout + build.stderr
    assert build.returncode == 0, log[-5000:]
    assert "WARNING" not in log, [line for line in log.splitlines() if "WARNING" in line]
    return HTML


CHROMIUM = "/usr/bin/chromium"  # Debian's; a browser is never downloaded
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session (Playwright's sync API allows one at a time)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make test` installs it"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
