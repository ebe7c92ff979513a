"""Benchmark (not a pass/fail test): build times against a stock Jupyter Book, the
rebuild after editing one chapter, each widget's model-update time, and the weight of every
page (with its images, and with its scripts and stylesheets as a first visit loads them).

Usage: python tools/benchmark.py [--widgets | --lcp [HTML]]   (from the repository; ~2 minutes,
       or seconds for --widgets, which times only the widget models at every corner of their
       slider box; --lcp: only each chapter's first visit, weight and Largest Contentful Paint
       on a slow connection, of the built site in HTML, default _build/html)

Both books are built in the same run on copies in a temporary folder, so the figures
compare like with like on this machine. Goals (from the project's issues): cold build at
most 5x the stock template, rebuild at most 1.5x the stock build, widget update at most
100 ms, page with its images at most 2 MB.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(command, cwd) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def copy_of_repository(target: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


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
    if "--lcp" in sys.argv:  # only the first visit of each chapter page (about a minute)
        html = Path(sys.argv[sys.argv.index("--lcp") + 1]) if sys.argv[-1] != "--lcp" else None
        print_first_visit_rows(html or ROOT / "_build" / "html")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([str(BIN / "jupyter-book"), "create", str(tmp / "stock")], check=True,
                       stdout=subprocess.DEVNULL)
        stock = timed([str(BIN / "jupyter-book"), "build", str(tmp / "stock")], tmp)
        book = copy_of_repository(tmp / "book")
        cold = timed([sys.executable, "tools/build_book.py", "--fresh"], book)
        chapter = sorted((book / "chapters").glob("*.md"))[0]
        chapter.write_text(chapter.read_text() + "\nAn edited sentence, as an author would add.\n")
        rebuild = timed([sys.executable, "tools/build_book.py"], book)
        weights = page_weights(book / "_build" / "html")
        first_visits = first_visit_rows(book / "_build" / "html")

    print("| measure | this book | goal |")
    print("| --- | --- | --- |")
    print(f"| stock `jupyter-book create` template, cold build | {stock:.1f} s | |")
    print(f"| this book, cold build (chapters executed from scratch) | {cold:.1f} s "
          f"({cold / stock:.1f}x stock) | ≤ 5x stock |")
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
    print_first_visit_table(first_visits)


if __name__ == "__main__":
    main()
