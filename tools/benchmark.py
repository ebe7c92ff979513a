"""Benchmark (not a pass/fail test): build times against a stock Jupyter Book (as ratios to
the median of three stock builds in the same run), the cold build split into executing and
rendering, the rebuild after editing one chapter, each widget's model-update time, the
weight of every page (with its images, and with its scripts and stylesheets as a first
visit loads them), and the profile of every chapter: the kernel's CPU time in kernel start,
imports, the model, figures, the scrubber's frames and glue.

Usage: python tools/benchmark.py [--widgets | --profile | --lcp [HTML]]   (from the repository)
  --widgets  only the widget models at every corner of their slider box (seconds)
  --profile  only the per-chapter profile (each chapter run alone, one after the other)
  --lcp      only each chapter's first visit: weight and Largest Contentful Paint on a slow
             connection, of the built site in HTML (default _build/html)

Both books are built in the same run on copies in a temporary folder, so the figures
compare like with like on this machine. Goals (from the project's issues): cold build at
most 5x the stock template, rebuild at most 1.5x the stock build, widget update at most
100 ms, page with its images at most 2 MB.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(command, cwd) -> tuple[float, str]:
    """Wall seconds of a command, and what it printed."""
    start = time.perf_counter()
    run = subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, run.stdout + run.stderr


def phases(log: str) -> tuple[float, float]:
    """(seconds executing chapters, seconds in Sphinx) from tools/build_book.py's output."""
    executing = re.search(r"executed \d+ of \d+ chapters .* in ([\d.]+) s", log)
    rendering = re.search(r"built the site in ([\d.]+) s", log)
    return (float(executing.group(1)) if executing else float("nan"),
            float(rendering.group(1)) if rendering else float("nan"))


def copy_of_repository(target: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    for name in files:
        if (ROOT / name).is_dir():  # e.g. a .venv linked in (a link, so not ignored as a folder)
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    # the npm packages (KaTeX's assets, esbuild, uPlot) as `npm ci` installed them here
    (target / "node_modules").symlink_to(ROOT / "node_modules")
    return target


# Run in each chapter's kernel before its first cell. It measures the kernel's own CPU time
# (time.process_time, which other processes on the machine barely disturb): what the kernel
# spent starting up, in each cell, and inside the figure drawing (outside the scrubber), the
# scrubber (its frames drawn and encoded) and glue.
PROFILE_SETUP = """
import time as _bench_time
_bench = {"kernel start": _bench_time.process_time(), "cells": [], "figures": 0.0,
          "scrubber": 0.0, "glue": 0.0, "frames": 0, "inside": 0}
import tmebook.notebook


def _bench_wrap(owner, name, key):
    original = getattr(owner, name)

    def wrapped(*args, **kwargs):
        if _bench["inside"]:  # a figure drawn inside the scrubber counts as the scrubber's
            return original(*args, **kwargs)
        if key == "scrubber":
            _bench["frames"] += len(args[1])
        _bench["inside"] = key == "scrubber"
        start = _bench_time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            _bench["inside"] = 0
            _bench[key] += _bench_time.process_time() - start

    setattr(owner, name, wrapped)


# every figure a chapter displays is drawn to PNG here (matplotlib's print_figure only as
# its fallback)
_bench_wrap(tmebook.notebook, "figure_png", "figures")
_bench_wrap(tmebook.notebook, "scrubber", "scrubber")
_bench_wrap(tmebook.notebook, "glue_numbers", "glue")


def _bench_pre(info):
    _bench["cell start"] = _bench_time.process_time()


def _bench_post(result):  # the inline backend's figures are drawn after this (post_execute)
    _bench["cells"].append(_bench_time.process_time() - _bench["cell start"])


get_ipython().events.register("pre_run_cell", _bench_pre)
get_ipython().events.register("post_run_cell", _bench_post)
_bench["setup"] = _bench_time.process_time() - _bench["kernel start"]
"""
PROFILE_COLUMNS = ("kernel start", "imports", "model", "figures", "scrubber", "glue")


def profile_chapter(path: str, kernel_manager_class=None) -> dict:
    """Execute one chapter as the build does (its folder as working directory; on a kernel
    from `kernel_manager_class`, by default a new one) and split the kernel's CPU time:
    kernel start, imports (the profiler's set-up and the chapter's first code cell, less its
    figures and glue), figures, scrubber, glue, and the rest of the cells (the model). Also
    the wall time of the whole run, kernel start included."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(PROFILE_SETUP))
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import json; _bench['end'] = _bench_time.process_time(); print(json.dumps(_bench))"))
    start = time.perf_counter()
    manager = {"kernel_manager_class": kernel_manager_class} if kernel_manager_class else {}
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).parent)}}, **manager).execute()
    wall = time.perf_counter() - start
    measured = json.loads(notebook.cells[-1].outputs[0]["text"])
    total = measured["end"] - measured["kernel start"]
    row = {key: measured[key] for key in ("kernel start", "figures", "scrubber", "glue", "frames")}
    # cells[0] is the last cell's own (the profiler's report): the set-up ran before the hook
    first = measured["cells"][0] if measured["cells"] else 0.0
    row["imports"] = measured["setup"] + first
    row["model"] = max(0.0, total - row["imports"] - row["figures"] - row["scrubber"] - row["glue"])
    row["total"] = measured["kernel start"] + total
    row["wall"] = wall
    return row


def chapter_profile(root: Path = ROOT) -> dict[str, dict]:
    """The profile of every chapter of the toc, one at a time (so they do not compete), on
    kernels forked from a template as the build runs them (tools/kernel_template.py)."""
    sys.path.insert(0, str(root / "tools"))
    from build_book import chapters_in_toc
    from kernel_template import KernelTemplate, TemplateKernelManager

    # the kernels import this tree's tmebook
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    with KernelTemplate() as template:
        if template.pid is None:
            raise RuntimeError("the kernel template could not be started (threads running)")
        return {p.relative_to(root).as_posix(): profile_chapter(str(p), TemplateKernelManager)
                for p in chapters_in_toc(root) if p.parent.name == "chapters"}


def print_profile(rows: dict[str, dict]) -> None:
    print("| chapter | " + " | ".join(PROFILE_COLUMNS) + " | scrubber frames | own work | "
          "CPU in all | wall |")
    print("|" + " --- |" * (len(PROFILE_COLUMNS) + 5))
    for name, row in rows.items():
        own = row["model"] + row["figures"] + row["scrubber"] + row["glue"]
        print(f"| {Path(name).stem} | " + " | ".join(f"{row[c]:.2f}" for c in PROFILE_COLUMNS)
              + f" | {row['frames']} | {own:.2f} | {row['total']:.2f} | {row['wall']:.2f} |")
    floor = sum(row["kernel start"] + row["imports"] for row in rows.values())
    own = sum(row["total"] for row in rows.values()) - floor
    print(f"\n(seconds of the kernel's CPU time, on kernels forked from the build's template, "
          f"which imported their libraries once; wall: the whole run, kernel start included.) "
          f"Kernel start and imports: {floor:.1f} s in all; the chapters' own work: {own:.1f} s.")


def widget_update_times() -> list[tuple[str, float, float, dict]]:
    """(module, median ms at the defaults, slowest median ms over every corner of the slider
    box, that corner): each setting warmed up once, then timed three times."""
    import tmebook
    from tmebook.parameters import slider_box_corners

    rows = []
    for info in pkgutil.iter_modules(tmebook.__path__):
        module = importlib.import_module(f"tmebook.{info.name}")
        if not hasattr(module, "WIDGET_MODEL"):
            continue
        settings = [{}] + slider_box_corners(module.PARAMETERS, module.WIDGET_CONTROLS)
        medians = []
        for kwargs in settings:
            module.WIDGET_MODEL(**kwargs)  # warm-up: imports, cached operators
            runs = []
            for _ in range(3):
                start = time.perf_counter()
                module.WIDGET_MODEL(**kwargs)
                runs.append(time.perf_counter() - start)
            medians.append(statistics.median(runs) * 1000)
        worst = max(range(1, len(settings)), key=lambda i: medians[i])
        rows.append((info.name, medians[0], medians[worst], settings[worst]))
    return rows


def print_widget_rows() -> None:
    for name, default_ms, worst_ms, corner in widget_update_times():
        where = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in corner.items())
        print(f"| widget model update, `{name}` (defaults / slowest corner: {where}) | "
              f"{default_ms:.0f} ms / {worst_ms:.0f} ms | ≤ 100 ms |")


def page_weights(html: Path) -> list[tuple[str, float, float]]:
    """(page, MB of the HTML with its images, MB with its scripts and stylesheets too)."""
    from bs4 import BeautifulSoup

    rows = []
    for page in sorted(html.rglob("*.html")):
        if page.name in ("search.html", "genindex.html") or "_static" in page.parts:
            continue
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")

        def local_size(ref):
            if not ref or ref.startswith(("data:", "http", "//")):
                return 0
            path = (page.parent / ref.split("?")[0]).resolve()
            return path.stat().st_size if path.is_file() else 0

        with_images = page.stat().st_size + sum(local_size(i.get("src")) for i in soup.select("img[src]"))
        assets = sum(local_size(s.get("src")) for s in soup.select("script[src]"))
        assets += sum(local_size(l.get("href")) for l in soup.select("link[rel=stylesheet]"))
        rows.append((page.relative_to(html).as_posix(), with_images / 1e6, (with_images + assets) / 1e6))
    return rows


def first_visit_rows(html: Path, loads: int = 3) -> list[tuple[str, float, float, str]]:
    """(page, MB transferred on a first visit, median Largest Contentful Paint in s, the LCP
    element) for every chapter: 1280x900, empty cache, served gzipped, on Lighthouse's
    "slow 4G" (1.6 Mbps, 150 ms); the median of `loads` cold loads. See tools/site_metrics.py."""
    from playwright.sync_api import sync_playwright

    from build_book import toc_files
    from site_metrics import first_visit_bytes, gzip_server, largest_contentful_paint

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"]
    rows = []
    with sync_playwright() as playwright, gzip_server(html) as base:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        for name in [f for f in toc_files() if f.startswith("chapters/")]:
            url = f"{base}/{name}.html"
            weight = sum(first_visit_bytes(browser, url).values()) / 1e6
            paints = [largest_contentful_paint(browser, url) for _ in range(loads)]
            times = sorted(time for time, _ in paints)
            rows.append((name, weight, statistics.median(times), paints[0][1]))
        browser.close()
    return rows


def print_first_visit_rows(html: Path = ROOT / "_build" / "html") -> None:
    """`--lcp`: the first visit of every chapter of the built site (`make book` first)."""
    print_first_visit_table(first_visit_rows(html))


def print_first_visit_table(rows) -> None:
    print("| chapter (first visit, 1280x900, cache empty, gzip) | transferred | LCP on slow 4G "
          "(median of 3) | LCP element | goal |")
    print("| --- | --- | --- | --- | --- |")
    for name, weight, lcp, element in rows:
        print(f"| {name} | {weight:.2f} MB | {lcp:.2f} s | {element} | ≤ 1.0 MB, ≤ 1.5 s |")


def main() -> None:
    if "--widgets" in sys.argv:  # only the widget timings (a few seconds)
        print_widget_rows()
        return
    if "--profile" in sys.argv:
        print_profile(chapter_profile())
        return
    if "--lcp" in sys.argv:  # only the first visit of each chapter page (about a minute)
        html = Path(sys.argv[sys.argv.index("--lcp") + 1]) if sys.argv[-1] != "--lcp" else None
        print_first_visit_rows(html or ROOT / "_build" / "html")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([str(BIN / "jupyter-book"), "create", str(tmp / "stock")], check=True,
                       stdout=subprocess.DEVNULL)
        stocks = []
        for _ in range(3):  # the stock build varies more than ours: the median of three
            shutil.rmtree(tmp / "stock" / "_build", ignore_errors=True)
            stocks.append(timed([str(BIN / "jupyter-book"), "build", str(tmp / "stock")], tmp)[0])
        stock = statistics.median(stocks)
        book = copy_of_repository(tmp / "book")
        cold, log = timed([sys.executable, "tools/build_book.py", "--fresh"], book)
        executing, rendering = phases(log)
        chapter = sorted((book / "chapters").glob("*.md"))[0]
        chapter.write_text(chapter.read_text() + "\nAn edited sentence, as an author would add.\n")
        rebuild = timed([sys.executable, "tools/build_book.py"], book)[0]
        weights = page_weights(book / "_build" / "html")
        profile = chapter_profile(book)
        first_visits = first_visit_rows(book / "_build" / "html")

    floor = sum(row["kernel start"] + row["imports"] for row in profile.values())
    print(f"stock builds: {', '.join(f'{t:.1f}' for t in stocks)} s; cold build: {executing:.1f} s "
          f"executing the chapters (in parallel on the cores), {rendering:.1f} s rendering (Sphinx)")
    print()
    print("| measure | this book | goal |")
    print("| --- | --- | --- |")
    print(f"| stock `jupyter-book create` template, cold build (median of three) | {stock:.1f} s | |")
    print(f"| this book, cold build (chapters executed from scratch) | {cold:.1f} s "
          f"({cold / stock:.1f}x stock) | ≤ 5x stock |")
    print(f"| of which Sphinx rendering | {rendering:.1f} s ({rendering / stock:.1f}x stock) | |")
    print(f"| floor: rendering + the kernels' CPU for start and imports, spread over two cores | "
          f"{rendering + floor / 2:.1f} s ({(rendering + floor / 2) / stock:.1f}x stock) | |")
    print(f"| rebuild after editing one chapter ({chapter.name}) | {rebuild:.1f} s "
          f"({rebuild / stock:.1f}x stock) | ≤ 1.5x stock |")
    print_widget_rows()
    heaviest = max(weights, key=lambda row: row[1])
    print(f"| heaviest page with its images ({heaviest[0]}) | {heaviest[1]:.2f} MB | ≤ 2 MB |")
    print()
    print("| page | with its images | with scripts and stylesheets too |")
    print("| --- | --- | --- |")
    for name, images, everything in weights:
        print(f"| {name} | {images:.2f} MB | {everything:.2f} MB |")
    print()
    print_profile(profile)
    print_first_visit_table(first_visits)


if __name__ == "__main__":
    main()
