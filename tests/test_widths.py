"""The site at a desktop's width (1280 px) and a phone's (390 px), in Debian's chromium:

* one search box on every page at either width, and searching the static site (Sphinx's
  search index, in the browser) for a word that only one chapter uses finds that chapter;
* at 390 px, nothing makes the page scroll sideways: tables and wide equations scroll
  inside their own box; axe-core finds no serious or critical violation at 390 px (the
  1280 px run is in tests/test_browser.py);
* a full-page screenshot of every chapter at both widths in _build/screenshots/
  (NAME-1280.png, NAME-390.png);
* the notebook each chapter offers for download carries the build's outputs (figures
  included), so a reader sees them without running it.

The browser checks are one function per (page, width), `check_page_at_width`, so that
they can join a single visit per page and width.
"""

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from build_book import toc_files
from site_metrics import gzip_server, load_all_images

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "_build" / "screenshots"
AXE = ROOT / ".venv" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {1280: 900, 390: 844}  # viewport width: height (a desktop; a current phone)


def chapter_files():
    return [f for f in toc_files() if f.startswith("chapters/")]


@pytest.fixture(scope="session")
def served(site):
    with gzip_server(site) as base:
        yield base


VISIBLE_SEARCH = """() => [...document.querySelectorAll(
    '.search-button__button, .search-button-field, input[type=search], form.bd-search')]
    .filter(e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
                   return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'; })
    .map(e => e.className || e.tagName)"""

# every table and display equation: its own width, the width of the box around it that
# scrolls (the nearest ancestor with overflow-x auto or scroll), and that box's right edge
WIDE_CONTENT = """() => [...document.querySelectorAll('article table, article .katex-display')]
    .map(e => { let box = e.parentElement;
                while (box && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX))
                    box = box.parentElement;
                if (getComputedStyle(e).overflowX === 'auto') box = e;
                return {what: e.tagName + '.' + e.className, width: e.scrollWidth,
                        box: box ? box.className : null,
                        boxRight: box ? box.getBoundingClientRect().right : null}; })"""


def check_page_at_width(browser, base, name, width, axe=False):
    """Every check of one page at one width (see the module's docstring)."""
    context = browser.new_context(viewport={"width": width, "height": WIDTHS[width]})
    page = context.new_page()
    try:
        page.goto(f"{base}/{name}.html", wait_until="networkidle")
        searches = page.evaluate(VISIBLE_SEARCH)
        assert len(searches) == 1, f"{name} at {width} px: search boxes {searches}"
        if width < 600:
            viewport = page.evaluate("() => document.documentElement.clientWidth")
            for item in page.evaluate(WIDE_CONTENT):
                if item["width"] > viewport:
                    assert item["box"] is not None and item["boxRight"] <= viewport + 1, \
                        f"{name} at {width} px: {item} is wider than the screen and not in a box of its own"
            overflow = page.evaluate("() => document.documentElement.scrollWidth")
            assert overflow <= viewport, f"{name} at {width} px: the page scrolls sideways ({overflow} px)"
        if axe:
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            serious = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
                       for v in result["violations"] if v["impact"] in ("serious", "critical")]
            assert not serious, f"{name} at {width} px:\n" + "\n".join(serious)
        if name.startswith("chapters/"):
            load_all_images(page)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{Path(name).name}-{width}.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize("name", toc_files())
def test_page_at_a_desktop_and_a_phone_width(browser, served, name, width):
    assert AXE.exists(), "axe-core is missing: `make test` installs it with npm"
    check_page_at_width(browser, served, name, width, axe=width < 600)


def page_words(site, name):
    soup = BeautifulSoup((site / f"{name}.html").read_text(encoding="utf-8"), "html.parser")
    article = soup.find("article") or soup
    return set(re.findall(r"\b[a-z]{7,}\b", article.get_text(" ").lower()))


def word_of_its_own(site, name):
    """A word of the chapter's text found on no other page (the longest; ties by order)."""
    others = set().union(*(page_words(site, other) for other in toc_files() if other != name))
    own = sorted(page_words(site, name) - others, key=lambda word: (-len(word), word))
    assert own, f"{name}: no word of its own"
    return own[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", [chapter_files()[0], "chapters/05-hypoxia", chapter_files()[-1]])
def test_searching_for_a_word_of_a_chapter_finds_that_chapter(browser, site, served, name):
    word = word_of_its_own(site, name)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{served}/intro.html", wait_until="networkidle")
        page.locator(".search-button__button:visible").first.click()  # the one search box
        field = page.locator("#pst-search-dialog input[type=search], .search-button__wrapper input")
        field.first.fill(word)
        field.first.press("Enter")
        page.wait_for_url("**/search.html*")
        page.wait_for_selector("#search-results ul.search li", timeout=20_000)
        found = page.eval_on_selector_all("#search-results ul.search li a",
                                          "links => links.map(a => a.getAttribute('href'))")
    finally:
        context.close()
    assert any(href.split("?")[0].split("#")[0] == f"{name}.html" for href in found), \
        f"searching for '{word}' found {found}, not {name}"


@pytest.mark.slow
@pytest.mark.parametrize("name", chapter_files())
def test_the_downloadable_notebook_carries_the_build_outputs(site, name):
    soup = BeautifulSoup((site / f"{name}.html").read_text(encoding="utf-8"), "html.parser")
    links = [a["href"] for a in soup.find_all("a", href=True) if a["href"].endswith(".ipynb")]
    assert links, f"{name}: no notebook to download"
    notebook = json.loads(((site / name).parent / links[0]).read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    outputs = [output for cell in code for output in cell.get("outputs", [])]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert outputs and figures, f"{name}: the download has {len(outputs)} outputs, {len(figures)} figures"
    # the outputs are those of the build: the page shows the same number of figures
    shown = len(soup.select("article img"))
    assert len(figures) >= shown - 2, (len(figures), shown)  # (less the Binder logo and the scrubber)
