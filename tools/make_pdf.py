"""The book as one PDF: every page of _toc.yml in order (the execution-status page left
out), printed by Debian's chromium through Playwright and joined with pypdf into
_build/html/tme-book.pdf, which the intro page links to.

Usage: python tools/make_pdf.py [--html DIR] [--output FILE]   (`make pdf`, after `make book`)

Each page is printed with the book's print stylesheet (_ext/static/book-print.css): no
header, sidebars or buttons; code kept behind "Show code cell source" stays hidden, as on
the page; the kernel-free scrubber prints as its first frame, without its controls; images
that the page loads lazily are all loaded first; the mathematics is already HTML (KaTeX
renders it when the book is built). Exercise solutions (not yet in this branch): whether
they print depends on how sphinx-exercise hides them; sphinx-togglebutton's dropdowns are
set to open for printing (toggleOpenOnPrint), closed <details> print closed; check the
PDF once they are merged. Each page's title becomes a
bookmark; links between pages of the site are removed (they would point at the local
server), links to the outside world (DOIs) are kept.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from build_book import toc_files
from site_metrics import LOAD_ALL_IMAGES, gzip_server

ROOT = Path(__file__).resolve().parent.parent
PDF_NAME = "tme-book.pdf"
LEFT_OUT = {"execution"}  # the build's execution report is not part of the book
CHROMIUM = "/usr/bin/chromium"  # Debian's; a browser is never downloaded
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
FOOTER = ('<div style="font-size:8px; width:100%; text-align:center; color:#555;">'
          '<span class="title"></span> · <span class="pageNumber"></span></div>')


def book_pages(root: Path = ROOT) -> list[str]:
    """The pages that go into the PDF, in the book's order."""
    return [name for name in toc_files(root) if name not in LEFT_OUT]


async def print_page(browser, url: str, target: Path) -> str:
    """Print one page of the site to `target`; returns its title (the first heading)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    try:
        await page.goto(url, wait_until="load")
        await page.evaluate(LOAD_ALL_IMAGES)  # the page loads its images lazily
        await page.evaluate("() => document.fonts.ready")
        await page.emulate_media(media="print")
        title = (await page.locator("main h1").first.inner_text()).strip().rstrip("#").strip()
        await page.pdf(path=str(target), format="A4", print_background=True,
                       prefer_css_page_size=True, display_header_footer=True,
                       header_template="<span></span>", footer_template=FOOTER)
    finally:
        await context.close()
    return title


async def print_pages(base: str, names: list[str], folder: Path, at_once: int) -> list[str]:
    """Print the pages, `at_once` at a time (chromium renders each in its own process)."""
    from playwright.async_api import async_playwright

    limit = asyncio.Semaphore(at_once)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        async def one(number, name):
            async with limit:
                return await print_page(browser, f"{base}/{name}.html", folder / f"{number:02d}.pdf")

        try:
            return await asyncio.gather(*(one(n, name) for n, name in enumerate(names)))
        finally:
            await browser.close()


def drop_local_links(writer, base: str) -> int:
    """Remove link annotations that point at the local server; returns how many."""
    dropped = 0
    for page in writer.pages:
        annotations = page.get("/Annots")
        if annotations is None:
            continue
        kept = []
        for reference in annotations.get_object():
            annotation = reference.get_object()
            uri = str(annotation.get("/A", {}).get("/URI", ""))
            if uri.startswith(base):
                dropped += 1
            else:
                kept.append(reference)
        from pypdf.generic import ArrayObject, NameObject

        page[NameObject("/Annots")] = ArrayObject(kept)
    return dropped


def make_pdf(html: Path, output: Path, at_once: int = 2) -> list[tuple[str, int]]:
    """Print the site in `html` to one PDF at `output`. Returns (title, first page index)
    for each page of the book, in order."""
    from pypdf import PdfReader, PdfWriter

    if not (html / "intro.html").is_file():
        raise ValueError(f"html: no built book in {html} (run `make book` first)")
    if not isinstance(at_once, int) or at_once < 1:
        raise ValueError(f"at_once: a positive number of pages printed at once, not {at_once!r}")
    contents = []
    writer = PdfWriter()
    names = book_pages()
    with gzip_server(html) as base, tempfile.TemporaryDirectory() as tmp:
        titles = asyncio.run(print_pages(base, names, Path(tmp), at_once))
        for number, title in enumerate(titles):
            contents.append((title, len(writer.pages)))
            writer.append(PdfReader(Path(tmp) / f"{number:02d}.pdf"), outline_item=title)
        drop_local_links(writer, base)
    writer.add_metadata({"/Title": "The tumour microenvironment in metastatic progression: "
                                   "an executable book"})
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "wb") as stream:
        writer.write(stream)
    return contents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--at-once", type=int, default=2, help="pages printed at once (2)")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"default: HTML/{PDF_NAME}, where the intro page links to it")
    args = parser.parse_args(argv)
    output = args.output or args.html / PDF_NAME
    start = time.perf_counter()
    contents = make_pdf(args.html, output, args.at_once)
    pages = len(__import__("pypdf").PdfReader(output).pages)
    print(f"{output}: {pages} pages, {output.stat().st_size / 1e6:.1f} MB, "
          f"{len(contents)} parts, in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
