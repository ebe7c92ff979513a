"""jupyter-cache's `local-parallel` executor, with failures reported once and readably.

Used by tools/build_book.py (a module of its own, so that the pool's worker processes can
unpickle the worker class, and so that importing build_book stays cheap for the tests).

jupyter-cache's own worker logs each failing notebook as a warning carrying nbclient's
Python traceback, and stores that traceback in the cache's project database. This worker
stores instead `failure_report`: the file and the failing cell (its line in the file, its
number among the code cells, the first line of its source) and the kernel's traceback; the
executor's logger is set by the caller so that the warning is not printed. A kernel that
dies or does not start is reported the same way instead of as an executor error.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_cache.executors.base import ExecutorRunResult
from jupyter_cache.executors.basic import (
    ExecutionWorkerLocalMProc,
    JupyterExecutorLocalMproc,
    ProcessData,
)
from jupyter_cache.executors.utils import ExecutionResult, single_nb_execution
from kernel_template import TemplateKernelManager
from nbclient.exceptions import CellExecutionError

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def failure_report(uri: str, nb, cell_index: int | None, error: BaseException) -> str:
    """What went wrong in an executed notebook, for a person, in a compiler's format:
    `FILE:LINE: code cell N failed: FIRST LINE OF ITS SOURCE`, then the kernel's traceback,
    which ends with the exception's type and message. LINE is where the cell starts in the
    file (myst-nb's reader records it), N counts the code cells from the top."""
    if cell_index is None:
        return f"{uri}: failed before its first cell ran\n{type(error).__name__}: {error}"
    cell = nb.cells[cell_index]
    number = sum(c.cell_type == "code" for c in nb.cells[:cell_index + 1])
    lines = nb.metadata.get("source_map") or []
    where = f"{uri}:{lines[cell_index]}" if cell_index < len(lines) else uri
    source = cell.source.strip().splitlines() or [""]
    more = len(source) - 1
    first = source[0].strip() + (f"  [and {more} more line{'s' * (more > 1)}]" if more else "")
    # an exception in the cell: the kernel's own traceback (after a timeout, it shows
    # where the kernel was interrupted)
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    detail = "\n".join(errors[0].get("traceback", [])) if errors else ""
    if not isinstance(error, CellExecutionError):  # a timeout, a dead kernel
        message = str(error).strip().splitlines()
        detail += f"\n{type(error).__name__}: {message[0] if message else ''}"
    return f"{where}: code cell {number} failed: {first}\n{ANSI_ESCAPE.sub('', detail).strip()}"


class ReportingWorker(ExecutionWorkerLocalMProc):
    """Executes one notebook in its own folder, as jupyter-cache's local worker does, and
    on failure returns `failure_report` as the result's traceback string."""

    @staticmethod
    def execute(project_nb, data) -> ExecutionResult:
        current = {}  # the index of the cell the kernel was last asked to run

        def on_cell_execute(cell, cell_index):
            current["index"] = cell_index

        cwd = str(Path(project_nb.uri).parent)
        start = time.perf_counter()
        try:
            # on a kernel forked from the build's template when there is one
            # (tools/kernel_template.py), else on a new one
            result = single_nb_execution(project_nb.nb, cwd=cwd, timeout=data.timeout,
                                         allow_errors=data.allow_errors,
                                         on_cell_execute=on_cell_execute,
                                         kernel_manager_class=TemplateKernelManager)
        except Exception as error:  # noqa: BLE001 - a dead kernel is a chapter failure too
            result = ExecutionResult(project_nb.nb, cwd, time.perf_counter() - start, error)
        if result.err is not None:
            result.exc_string = failure_report(project_nb.uri, project_nb.nb,
                                               current.get("index"), result.err)
        return result


class ReportingExecutor(JupyterExecutorLocalMproc):
    """`local-parallel` (a process per core, and one more) with the reporting worker,
    handing out one notebook at a time: jupyter-cache's `pool.map` hands them out in
    chunks of two, in order, so one core could be left with two long chapters while the
    other sits idle."""

    _EXECUTION_WORKER = ReportingWorker

    def run_and_cache(self, *, filter_uris=None, filter_pks=None, timeout=30,
                      allow_errors=False, force=False,
                      meanwhile: Callable[[], None] | None = None) -> ExecutorRunResult:
        """As jupyter-cache's; `meanwhile` runs in a thread of this process while the
        notebooks execute (started once the workers are forked, so no worker inherits a
        half-done import)."""
        records = self.get_records(filter_uris, filter_pks, clear_tracebacks=True)
        work = [ProcessData(r.pk, r.uri, self.cache, timeout, allow_errors) for r in records]
        # as jupyter-cache does: the workers log through multiprocessing's logger, at the
        # caller's level (ERROR from build_book: failures are reported there, once)
        multiprocessing.log_to_stderr(self.logger.level)
        # one worker more than cores: while a kernel starts (about 0.6 s of waiting for
        # its sockets, little CPU), the other kernels keep both cores busy; measured on the
        # 2-core machine, three workers executed the book about 0.9 s sooner than two
        # (three cold builds each, 24.3 s against 25.2 s)
        with multiprocessing.Pool((os.cpu_count() or 1) + 1) as pool:
            running = pool.imap_unordered(self._EXECUTION_WORKER(), work, chunksize=1)
            side = threading.Thread(target=meanwhile, daemon=True) if meanwhile else None
            if side is not None:
                side.start()
            results = list(running)
            if side is not None:
                side.join()
        return ExecutorRunResult(succeeded=[uri for status, uri in results if status == 0],
                                 excepted=[uri for status, uri in results if status == 1],
                                 errored=[uri for status, uri in results if status == 2])
