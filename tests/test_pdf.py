"""The book as one PDF (tools/make_pdf.py, `make pdf`): made from the built site by
Debian's chromium, linked from the intro page, and holding every chapter in order (its
title as a bookmark, at the page where the chapter starts) and, per chapter, one of the
published numbers the chapter reproduces (tmebook.integrated.reproduction_table())."""

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from build_book import toc_files
from make_pdf import PDF_NAME, book_pages

ROOT = Path(__file__).resolve().parent.parent


def normalised(text):
    """Text as compared: compatibility forms folded (the micro sign is a mu), soft hyphens
    dropped, white space collapsed (PDF text breaks lines anywhere)."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="session")
def book_pdf(site):
    """The PDF made from the built site by `make pdf`'s command, where the intro page links
    to it (its own chromium: it prints two pages at once with Playwright's async API)."""
    from pypdf import PdfReader

    output = site / PDF_NAME
    made = subprocess.run([sys.executable, str(ROOT / "tools" / "make_pdf.py"), "--html", str(site)],
                          capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stdout + made.stderr[-3000:]
    reader = PdfReader(output)
    contents = [(item.title, reader.get_destination_page_number(item)) for item in reader.outline]
    texts = [normalised(page.extract_text()) for page in reader.pages]
    return {"reader": reader, "contents": contents, "texts": texts}


def chapter_titles(site):
    titles = {}
    for name in toc_files():
        if name.startswith("chapters/"):
            soup = BeautifulSoup((site / f"{name}.html").read_text(encoding="utf-8"), "html.parser")
            titles[name] = normalised(soup.find("main").find("h1").get_text()).rstrip("#").strip()
    return titles


@pytest.mark.slow
def test_the_pdf_holds_every_chapter_in_order_from_its_bookmark(site, book_pdf):
    reader, texts = book_pdf["reader"], book_pdf["texts"]
    outline = [(reader.get_destination_page_number(item), normalised(item.title))
               for item in reader.outline]
    assert len(outline) == len(book_pages()), outline
    bookmarks = [title for _, title in outline]
    starts = [start for start, _ in outline]
    assert starts == sorted(starts) and len(set(starts)) == len(starts), outline
    order = []
    for name, title in chapter_titles(site).items():
        assert title in bookmarks, f"{name}: '{title}' is not a bookmark of the PDF"
        index = bookmarks.index(title)
        order.append(index)
        assert title in texts[starts[index]], f"{name}: its title is not on its first page"
    assert order == sorted(order), "chapters out of order"
    assert "Bibliography" in bookmarks and "Glimm" in " ".join(texts[starts[-1]:])


@pytest.mark.slow
def test_the_pdf_has_figures_and_equations(book_pdf):
    reader = book_pdf["reader"]
    images = 0
    for page in reader.pages:
        objects = page.get("/Resources", {}).get_object().get("/XObject", {}) or {}
        images += sum(1 for obj in objects.values() if obj.get_object().get("/Subtype") == "/Image")
    chapters = len(book_pdf["contents"]) - 3  # intro, appendix, bibliography
    assert images >= 2 * chapters, f"only {images} images in the PDF"
    # KaTeX's rendered formulae: their fonts are embedded, their text extractable
    fonts = set()
    for page in reader.pages:
        for font in (page.get("/Resources", {}).get_object().get("/Font", {}) or {}).values():
            fonts.add(str(font.get_object().get("/BaseFont", "")))
    assert any("KaTeX" in font for font in fonts), sorted(fonts)[:20]


@pytest.mark.slow
def test_the_pdf_holds_one_reproduction_per_chapter(book_pdf):
    from tmebook.integrated import reproduction_table

    text = " ".join(book_pdf["texts"])
    chapters = {}
    for row in reproduction_table():
        quantity = normalised(row.reproduction.quantity)
        chapters.setdefault(row.chapter, []).append(quantity in text)
    assert len(chapters) >= 10, sorted(chapters)
    missing = [chapter for chapter, found in chapters.items() if not any(found)]
    assert not missing, f"no reproduction of chapters {missing} in the PDF's text"


@pytest.mark.slow
def test_the_intro_page_links_to_the_pdf(site, book_pdf):
    soup = BeautifulSoup((site / "intro.html").read_text(encoding="utf-8"), "html.parser")
    links = [a["href"] for a in soup.find_all("a", href=True) if a["href"].endswith(".pdf")]
    assert links == [PDF_NAME]
    assert (site / links[0]).is_file() and (site / links[0]).read_bytes()[:5] == b"%PDF-"
