"""Shared test setup: headless matplotlib, the build tools importable, the built site, and
one browser visit per page and width for every browser check.

`make test` runs pytest with xdist on every core (`-n auto --dist loadgroup`). Tests that
share something expensive are kept on one worker, in a group given here from the fixtures
they use: the chapters' nbmake runs, the built site and the browser visits form the group
"site" (in that order), the Jupyter-server tests the group "jupyter". The rest is spread
over the workers. Run alone (`pytest tests/test_site.py`), everything still works: what a
test needs is made on demand, and shared between workers through files (tests/executions.py).

The groups are scheduled by `FixtureGroupScheduling` below, not by xdist's own `loadgroup`:
with pytest 9.2, xdist 3.8 cannot see `xdist_group` marks (it renames the test ids, which
pytest no longer lets it do: pytest-xdist issue #1386), and it sends the tests of a group
to every worker.
"""

import json
import os
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
sys.path.insert(0, str(ROOT / "tools"))

import executions  # needs tools/ on the path
from build_book import chapters_in_toc
from site_metrics import count_transfers, gzip_server, load_all_images

GROUPS = {"site": ("executed_chapter", "site", "visits", "server"), "jupyter": ("lab",)}


def pytest_configure(config):
    # one id for the whole run: xdist hands its workers the same testrunuid
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        os.environ[executions.RUN_ID_VARIABLE] = worker["testrunuid"]
    executions.run_id()


def group_of(item):
    names = getattr(item, "fixturenames", ())
    return next((group for group, fixtures in GROUPS.items() if any(f in names for f in fixtures)), None)


GROUPS_FILE = executions.RUN_FOLDER / "xdist-groups"


@pytest.hookimpl(tryfirst=True)  # before xdist's own tells the controller collection is done
def pytest_collection_finish(session):
    """In each xdist worker: write every test's group for the controller's scheduler."""
    if getattr(session.config, "workerinput", None) is None:
        return
    groups = {item.nodeid: group for item in session.items if (group := group_of(item))}
    executions.RUN_FOLDER.mkdir(parents=True, exist_ok=True)
    written = GROUPS_FILE.with_name(f"xdist-groups.{os.getpid()}")
    written.write_text(json.dumps(groups))
    written.replace(GROUPS_FILE)  # atomic: every worker writes the same groups


def pytest_xdist_make_scheduler(config, log):
    """With `--dist loadgroup`: our groups, each sent as one unit to one worker (largest
    first), every other test on its own to whichever worker is free."""
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FixtureGroupScheduling(LoadScopeScheduling):
        groups = None

        def _split_scope(self, nodeid):
            if self.groups is None:  # read once every worker has collected
                self.groups = json.loads(GROUPS_FILE.read_text()) if GROUPS_FILE.exists() else {}
            return self.groups.get(nodeid, nodeid)

    return FixtureGroupScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """The nbmake runs before the site checks, which render them, and those before the
    browser checks (an xdist group runs in this order)."""

    def order(item):
        names = getattr(item, "fixturenames", ())
        return (0 if "executed_chapter" in names else 2 if "visits" in names
                else 1 if "site" in names else 3)

    items.sort(key=order)  # stable: otherwise in collection order


@pytest.fixture
def executed_chapter():
    """This run's nbmake execution of a chapter (executed on first use, then shared)."""
    return executions.executed


@pytest.fixture(scope="session")
def site():
    """The book built with -n -W --keep-going from this run's executions: every chapter runs
    from scratch once (through nbmake, stored into the execution cache); the build renders
    every page again (Sphinx's environment and output dropped) and executes nothing. Built
    once per run, whichever worker needs it first."""
    with executions.locked("site"):
        if executions.site_built():
            return HTML
        chapters = chapters_in_toc()
        failed = [chapter.relative_to(ROOT).as_posix()
                  for chapter, record in executions.execute_all(chapters).items() if record["error"]]
        assert not failed, f"chapters failed to execute (see their nbmake tests): {failed}"
        code, log = executions.run_build("--render-fresh")
        assert code == 0, log[-5000:]
        assert "WARNING" not in log, [line for line in log.splitlines() if "WARNING" in line]
        # the build rendered this run's executions: it executed no chapter itself
        assert f"executed 0 of {len(chapters)} chapters" in log, log[-3000:]
        assert "Executing notebook" not in log, log[-3000:]
        executions.mark_site_built()
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


@pytest.fixture(scope="session")
def server(site):
    """The built site on 127.0.0.1, on a free port, with text gzip-compressed as static hosts
    serve it (tools/site_metrics.py), for the session."""
    with gzip_server(site) as base:
        yield base


# --- One browser visit per (page, width) for all browser checks -------------------------
#
# A check that needs something from a page in the browser registers a probe (at import of
# its test module, so before any visit):
#
#     from conftest import register_probe
#     register_probe("headings", js="() => [...document.querySelectorAll('h1')].length",
#                    widths=(1280, 390))
#
# and its test reads the result from the shared visit:
#
#     def test_one_heading(visits, name):
#         assert visits(name, 390)["headings"] == 1
#
# A probe is JavaScript (a function, may be async, evaluated in the page; its value must
# be JSON-like) or Python (`python=lambda page, name, width: ...`, given Playwright's page).
# `scripts` are injected into the page first (e.g. axe-core). Probes run in the order
# registered, after the page and all its images have loaded; one that moves or clicks
# something should say so, and be registered after the probes that read the page as
# loaded. `pages` limits a probe to some pages (a predicate on the page name). Each visit
# also records what the browser complained about: "console" (errors), "failed" (requests
# failed or >= 400), "external" (requests leaving the site), and "transferred" (bytes by
# resource type, gzip-served, cache empty: the first visit's weight). A probe that raises is
# recorded as {"error": ...} under its name and fails only the tests that read it.

WIDTHS = (1280, 390)  # a laptop and a phone, CSS pixels
PROBES = {}


def register_probe(name, js=None, python=None, widths=(1280,), pages=None, scripts=(),
                   changes_page=False):
    """Add a probe to the shared visits. Probes that only read the page run in the order
    registered, then those that change it (`changes_page`: click, scroll, open toggles,
    move sliders), in the order registered."""
    if (js is None) == (python is None):
        raise ValueError("a probe is either js or python")
    if name in PROBES or name in ("console", "failed", "external", "transferred"):
        raise ValueError(f"probe name already taken: {name}")
    PROBES[name] = {"js": js, "python": python, "widths": tuple(widths), "pages": pages,
                    "scripts": tuple(scripts), "changes_page": changes_page}


class ProbeError(Exception):
    pass


def open_page(browser, url, width):
    """Open a page at a viewport width as a first visit (a new context, cache disabled) and
    record what a reader's browser complains about, and what the visit transferred before
    the network was idle ("transferred": Chromium's encodedDataLength by resource type, of
    the types in site_metrics.COUNTED_TYPES), before the images below the fold are loaded."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    record = {"console": [], "failed": [], "external": [], "transferred": {}}
    transferred = count_transfers(page)
    host = url.split("/")[2]
    page.on("console", lambda m: record["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: record["console"].append(str(e)))
    page.on("requestfailed", lambda r: record["failed"].append(f"{r.url} {r.failure}"))
    page.on("response", lambda r: record["failed"].append(f"{r.url} {r.status}") if r.status >= 400 else None)
    page.on("request", lambda r: record["external"].append(r.url)
            if r.url.split("/")[2:3] != [host] and not r.url.startswith("data:") else None)
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(300)  # let late loadingFinished events arrive
    record["transferred"] = transferred()
    load_all_images(page)  # images in the text load lazily, as a reader scrolls to them
    return page, record


@pytest.fixture(scope="session")
def visits(browser, server):
    """visits(name, width=1280): the results of the one visit of page `name` (as in
    _toc.yml, e.g. "chapters/05-hypoxia") at that width, with every probe registered for it."""
    cache = {}

    def visit(name, width=1280):
        if (name, width) not in cache:
            page, record = open_page(browser, f"{server}/{name}.html", width)
            try:
                injected = set()
                ordered = sorted(PROBES.items(), key=lambda item: item[1]["changes_page"])  # stable
                for probe_name, probe in ordered:
                    if width not in probe["widths"] or (probe["pages"] and not probe["pages"](name)):
                        continue
                    try:
                        for script in probe["scripts"]:
                            if script not in injected:
                                page.add_script_tag(path=str(script))
                                injected.add(script)
                        record[probe_name] = (page.evaluate(probe["js"]) if probe["js"] is not None
                                              else probe["python"](page, name, width))
                    except Exception as error:  # noqa: BLE001 - reported to the tests that read it
                        record[probe_name] = ProbeError(f"probe {probe_name} on {name} at {width}px: {error}")
            finally:
                page.close()
            cache[name, width] = record
        record = cache[name, width]
        return record

    return visit


def probe_result(record, name):
    """A probe's result from a visit; raises the probe's own error if it failed."""
    value = record[name]
    if isinstance(value, ProbeError):
        raise value
    return value
