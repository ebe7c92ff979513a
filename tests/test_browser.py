"""The built website as a reader's browser sees it: Debian's chromium driven by Playwright.

For every page of the book: it loads with no console error, every request stays on the
local server and succeeds, every image loads and has alt text, the mathematics is rendered
when the book is built (KaTeX), the kernel-free scrubber responds to its slider, and
axe-core finds no serious or critical accessibility violation. A full-page screenshot of
each chapter is saved under _build/screenshots/ (NAME-1280.png, NAME-390.png).

Each page is visited once for all of these (tests/conftest.py `visits`, which also loads
the images a page loads lazily): the checks are probes evaluated during that visit.
"""

from pathlib import Path

import pytest

from build_book import toc_files
from conftest import probe_result, register_probe

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "_build" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # pinned in package-lock.json


def is_chapter(name):
    return name.startswith("chapters/")


register_probe("images", js="""() => [...document.images].map(i => ({
    src: i.currentSrc.slice(0, 80), loaded: i.complete && i.naturalWidth > 0,
    alt: (i.getAttribute('alt') || '').trim()}))""")
register_probe("maths", js="""() => ({
    math: document.querySelectorAll('.math').length,
    typeset: document.querySelectorAll('.math .katex').length,
    errors: document.querySelectorAll('.katex-error').length,
    raw_tex: (document.querySelector('article') || document.body).innerText.includes('\\\\frac')})""")
register_probe("axe", js="async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
               ".map(v => ({id: v.id, impact: v.impact, help: v.help, "
               "targets: v.nodes.slice(0, 3).map(n => n.target)}))",
               scripts=(AXE,), widths=(1280, 390))


def screenshot(page, name, width):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{Path(name).name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return str(path)


register_probe("screenshot", python=screenshot, pages=is_chapter, widths=(1280, 390))
# A reader drags the scrubber's slider to its end; the frame changes.
register_probe("scrubber", pages=is_chapter, changes_page=True, js="""() => {
    const animations = document.querySelectorAll('div.animation');
    if (animations.length === 0) return {scrubbers: 0};
    const frame = animations[0].querySelector('img');
    const slider = animations[0].querySelector('input[type=range]');
    const before = frame.getAttribute('src');
    slider.value = slider.max;
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    return {scrubbers: animations.length, changed: frame.getAttribute('src') !== before};
}""")


@pytest.mark.slow
@pytest.mark.parametrize("name", toc_files())
def test_page_in_a_real_browser(visits, name):
    record = visits(name)
    assert not record["console"], record["console"]
    assert not record["failed"], record["failed"]
    assert not record["external"], f"requests leaving the site: {record['external']}"

    for image in probe_result(record, "images"):
        assert image["loaded"], f"image did not load: {image['src']}"
        assert image["alt"], f"image without alt text: {image['src']}"

    # the mathematics is rendered by KaTeX when the book is built (_ext/book_html.py)
    maths = probe_result(record, "maths")
    if maths["math"]:
        assert maths["typeset"] >= maths["math"], "maths not typeset"
        assert not maths["errors"], "KaTeX could not render"
        assert not maths["raw_tex"], "raw TeX on the page"

    if is_chapter(name):
        scrubber = probe_result(record, "scrubber")
        assert scrubber["scrubbers"] == 1, "no kernel-free scrubber on the page"
        assert scrubber["changed"], "moving the scrubber's slider did not change the frame"
        assert Path(probe_result(record, "screenshot")).is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name", toc_files())
def test_page_has_no_serious_accessibility_violations(visits, name):
    assert AXE.exists(), "axe-core is missing: `make test` installs it with npm"
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['targets']}"
        for v in probe_result(visits(name), "axe") if v["impact"] in ("serious", "critical")
    ]
    assert not serious, "\n".join(serious)
