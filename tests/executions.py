"""Each chapter runs from scratch once per test run, through nbmake, and that one execution
is shared: the nbmake test checks it, and the book build renders it (it is stored into the
execution cache that tools/build_book.py reads, so the build executes nothing again).

pytest-xdist runs the suite in several worker processes, each with its own session
fixtures, so what is shared lives in files under _build/test-run/, guarded by file locks:

* `run-id` names the test run (xdist gives its workers one id). The first to find another
  id there starts the run afresh: the execution cache is emptied, earlier results removed.
* `NAME.json` is a chapter's result in this run (its error, if any, and the executed
  notebook beside it, `NAME.ipynb`). Whoever needs a chapter first executes it, under the
  chapter's lock; everyone else waits for that lock and reads the result.
* `site-built` holds the run id once the book has been built from these executions.

The outputs come from the current code: tools/build_book.py keys the cache on the chapters'
code cells and drops it when the `tmebook` package or the requirements change
(tests/test_build.py shows a stored chapter executed again after an edit of `tmebook`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import uuid
from pathlib import Path

import jupytext
import nbformat
import yaml

from build_book import prepare_cache, store_executed

ROOT = Path(__file__).resolve().parent.parent
RUN_FOLDER = ROOT / "_build" / "test-run"
TIMEOUT = int(yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"])
#: this test run's id: xdist's for all its workers (set by conftest), else one of our own
RUN_ID_VARIABLE = "TMEBOOK_TEST_RUN"


def run_id() -> str:
    return os.environ.setdefault(RUN_ID_VARIABLE, uuid.uuid4().hex)


@contextlib.contextmanager
def locked(name: str, blocking: bool = True):
    """An exclusive lock shared by every process of the machine (fcntl on a file); yields
    False instead of waiting when `blocking` is false and someone else holds it."""
    RUN_FOLDER.mkdir(parents=True, exist_ok=True)
    with open(RUN_FOLDER / f"{name}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start_run() -> None:
    """Once per test run (the first caller): empty the execution cache and the results of
    earlier runs, so that every chapter of this run is executed from scratch."""
    with locked("run"):
        marker = RUN_FOLDER / "run-id"
        if marker.exists() and marker.read_text() == run_id():
            return
        for old in RUN_FOLDER.iterdir():
            if old.suffix in (".json", ".ipynb") or old.name == "site-built":
                old.unlink()
        prepare_cache(ROOT, fresh=True)
        marker.write_text(run_id())


def run_with_nbmake(markdown: Path):
    """The chapter converted from its jupytext markdown to a hidden .ipynb beside it (so the
    kernel's working directory is the chapter's folder, as in the build) and executed from
    scratch by nbmake's NotebookRun (a fresh kernel). Returns nbmake's result and seconds."""
    notebook = markdown.parent / f".{markdown.stem}.nbmake.ipynb"
    nbformat.write(jupytext.read(markdown), notebook)
    start = time.perf_counter()
    try:
        # imported here: nbmake's import is not needed by the processes that only read results
        from nbmake.nb_run import NotebookRun

        return NotebookRun(notebook, TIMEOUT).execute(), time.perf_counter() - start
    finally:
        notebook.unlink()


def key(markdown: Path) -> str:
    return markdown.resolve().relative_to(ROOT).as_posix().replace("/", "__").removesuffix(".md")


def executed(markdown: Path, blocking: bool = True) -> dict | None:
    """This run's execution of a chapter: {"error": text or None, "notebook": the executed
    notebook, "seconds": ...}. Executes it (nbmake, from scratch) if nobody has yet in this
    run, and stores a successful run in the execution cache the build reads. With
    `blocking` false, returns None instead of waiting for another process running it."""
    start_run()
    name = key(markdown)
    result, saved = RUN_FOLDER / f"{name}.json", RUN_FOLDER / f"{name}.ipynb"
    with locked(name, blocking) as mine:
        if not mine:
            return None
        if not result.exists():
            outcome, seconds = run_with_nbmake(markdown)
            error = None if outcome.error is None else f"{outcome.error.summary}\n{outcome.error.trace}"
            nbformat.write(outcome.nb, saved)
            if error is None:
                store_executed(markdown, outcome.nb, seconds, ROOT)
            result.write_text(json.dumps({"error": error, "seconds": seconds}))
    record = json.loads(result.read_text())
    record["notebook"] = nbformat.read(saved, as_version=4)
    return record


def execute_all(chapters: list[Path]) -> dict[Path, dict]:
    """Every chapter's execution in this run: first those nobody else is running, then
    (waiting) the rest."""
    done = {}
    for blocking in (False, True):
        for chapter in chapters:
            if chapter not in done:
                record = executed(chapter, blocking)
                if record is not None:
                    done[chapter] = record
    return done


def site_built() -> bool:
    marker = RUN_FOLDER / "site-built"
    return marker.exists() and marker.read_text() == run_id()


def mark_site_built() -> None:
    (RUN_FOLDER / "site-built").write_text(run_id())


def run_build(*options: str, cwd: Path = ROOT, timeout: float = 900) -> tuple[int, str]:
    """Run tools/build_book.py with `options`: (exit status, what it printed). Its output goes
    to a file, not a pipe, and whatever it started is stopped when it ends: a process it
    leaves behind (once, a KaTeX node server) cannot keep the test waiting for the end of
    its output."""
    import signal
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryFile("w+") as log:
        build = subprocess.Popen([sys.executable, str(ROOT / "tools" / "build_book.py"), *options],
                                 cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True,
                                 start_new_session=True)
        try:
            code = build.wait(timeout=timeout)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(build.pid, signal.SIGKILL)
            build.wait()
        log.seek(0)
        return code, log.read()
