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

The browser checks read the shared visit of each page at each width (tests/conftest.py
`visits`); the screenshots and axe-core's run are test_browser's probes, at both widths.
"""

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from build_book import toc_files
from conftest import probe_result, register_probe
from test_browser import AXE

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = {1280: 900, 390: 844}  # viewport width: height (a desktop; a current phone)


def chapter_files():
    return [f for f in toc_files() if f.startswith("chapters/")]


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


def wide_content(page, name, width) -> dict:
    return {"viewport": page.evaluate("() => document.documentElement.clientWidth"),
            "items": page.evaluate(WIDE_CONTENT),
            "page_width": page.evaluate("() => document.documentElement.scrollWidth")}


register_probe("search_boxes", js=VISIBLE_SEARCH, widths=tuple(WIDTHS))
register_probe("wide_content", python=wide_content, widths=(390,))


@pytest.mark.slow
@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize("name", toc_files())
def test_one_search_box_and_nothing_wider_than_a_phone(visits, name, width):
    """In the shared visit of the page at this width (tests/conftest.py); its screenshot
    and axe-core's run at both widths are test_browser's probes."""
    record = visits(name, width)
    searches = probe_result(record, "search_boxes")
    assert len(searches) == 1, f"{name} at {width} px: search boxes {searches}"
    if width < 600:
        seen = probe_result(record, "wide_content")
        viewport = seen["viewport"]
        for item in seen["items"]:
            if item["width"] > viewport:
                assert item["box"] is not None and item["boxRight"] <= viewport + 1, \
                    f"{name} at {width} px: {item} is wider than the screen and not in a box of its own"
        assert seen["page_width"] <= viewport, \
            f"{name} at {width} px: the page scrolls sideways ({seen['page_width']} px)"
        assert AXE.exists(), "axe-core is missing: `make test` installs it with npm"
        serious = [f"{v['id']} ({v['impact']}): {v['help']} at {v['targets']}"
                   for v in probe_result(record, "axe") if v["impact"] in ("serious", "critical")]
        assert not serious, f"{name} at {width} px:\n" + "\n".join(serious)


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
def test_searching_for_a_word_of_a_chapter_finds_that_chapter(browser, site, server, name):
    word = word_of_its_own(site, name)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{server}/intro.html", wait_until="networkidle")
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
