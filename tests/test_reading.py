"""What a reader sees, in Debian's chromium at a desktop width (1280 px) and a phone's (390 px).

* Code: with every "Show code cell source" toggle opened, no code block (`pre`) scrolls
  sideways at 1280 px (scrollWidth <= clientWidth).
* Figures: the build records each figure's smallest text height in image pixels
  (`tmebook.notebook.TEXT_HEIGHT_KEY`: a PNG text chunk of a figure's image, a
  `data-min-text-px` attribute on a scrubber's frame); on screen that text is
  height x displayed width / natural width, which must be at least 9 px at 1280 px and
  7 px at 390 px. Every image on a page must carry the record.

The page is read once per width in the shared visit (tests/conftest.py `visits`), by the
probe `reading`.
"""

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import numpy as np
from PIL import Image

from build_book import toc_files
from conftest import probe_result, register_probe

#: Smallest text height on screen (CSS px) at each viewport width.
MIN_TEXT_PX = {1280: 9.0, 390: 7.0}
TEXT_HEIGHT_KEY = "min_text_px"  # tmebook.notebook.TEXT_HEIGHT_KEY (kept in step by a test)


def open_every_toggle(page) -> None:
    """Open every collapsed cell (MyST-NB's hide-input toggles are <details>)."""
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")


def code_blocks_that_scroll(page) -> list[str]:
    """The first line of each code block wider than its box."""
    return page.evaluate("""() => [...document.querySelectorAll('article pre')]
        .filter(p => p.scrollWidth > p.clientWidth)
        .map(p => `${p.scrollWidth} > ${p.clientWidth}: ` +
             p.textContent.split('\\n').reduce((a, b) => (b.length > a.length ? b : a), ''))""")


def images_on_page(page) -> list[dict]:
    return page.evaluate("""() => [...document.querySelectorAll('article img')].map(i => ({
        src: i.currentSrc || i.src, natural: i.naturalWidth,
        shown: i.getBoundingClientRect().width,
        recorded: i.getAttribute('data-min-text-px')}))""")


def recorded_text_height(site: Path, image: dict) -> float | None:
    """The smallest text height the build recorded for this image, in image pixels."""
    if image["recorded"] is not None:
        return float(image["recorded"])
    if image["src"].startswith("data:"):
        return None
    path = site / unquote(urlparse(image["src"]).path).lstrip("/")
    with Image.open(path) as png:
        value = png.text.get(TEXT_HEIGHT_KEY) if hasattr(png, "text") else None
    return None if value is None else float(value)


def reading(page, name: str, width: int) -> dict:
    """What this file checks, read from one page at one width (the shared visit): with every
    toggle opened, the code blocks that scroll sideways and the images as displayed."""
    open_every_toggle(page)
    return {"scrolling": code_blocks_that_scroll(page), "images": images_on_page(page)}


register_probe("reading", python=reading, widths=tuple(sorted(MIN_TEXT_PX)), changes_page=True)


def smallest_text_on_screen(site: Path, images: list[dict]) -> list[tuple[str, float | None]]:
    """(image, smallest text height in CSS px as displayed) for every image of the page;
    None when the build recorded no height for it."""
    found = []
    for image in images:
        assert image["natural"] > 0, f"image did not load: {image['src'][:80]}"
        height = recorded_text_height(site, image)
        shown = None if height is None else height * image["shown"] / image["natural"]
        found.append((image["src"][:80], shown))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("width", sorted(MIN_TEXT_PX))
@pytest.mark.parametrize("name", toc_files())
def test_code_fits_and_figure_text_is_legible(visits, site, name, width):
    seen = probe_result(visits(name, width), "reading")
    if width == 1280:
        assert not seen["scrolling"], f"{name}: code blocks scroll sideways at {width} px: {seen['scrolling']}"
    problems = []
    for src, shown in smallest_text_on_screen(site, seen["images"]):
        if shown is None:
            problems.append(f"{src}: no text height recorded")
        elif shown < MIN_TEXT_PX[width]:
            problems.append(f"{src}: smallest text {shown:.1f} px < {MIN_TEXT_PX[width]:g} px")
    assert not problems, f"{name} at {width} px: " + "; ".join(problems)


def test_text_height_key_matches_the_package():
    from tmebook.notebook import TEXT_HEIGHT_KEY as package_key

    assert package_key == TEXT_HEIGHT_KEY


def test_figure_png_records_its_smallest_text_height():
    import io

    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties

    from tmebook.notebook import figure_png

    fig, ax = plt.subplots(figsize=(3, 2), dpi=96)
    ax.set_xlabel("small", fontsize=6)
    ax.set_title("large", fontsize=14)
    ax.tick_params(labelsize=8)
    with plt.rc_context({"savefig.dpi": 96}):
        png = figure_png(fig)
    renderer = fig.canvas.get_renderer()
    _, expected, _ = renderer.get_text_width_height_descent("lp", FontProperties(size=6), ismath=False)
    plt.close(fig)
    with Image.open(io.BytesIO(png)) as image:
        image.load()  # the PNG is intact: it decodes with the chunk inserted
        assert float(image.text[TEXT_HEIGHT_KEY]) == pytest.approx(expected)


def test_figure_png_is_matplotlibs_tight_png_drawn_once():
    """figure_png cuts the tight box from one drawing instead of matplotlib's two: the same
    picture to within a pixel (size, and where the ink is); a figure with text outside its
    canvas (an x label below it, no layout) goes through matplotlib's own tight saving."""
    import io

    import matplotlib.pyplot as plt
    from IPython.core.pylabtools import print_figure

    from tmebook.notebook import _tight_png, figure_png

    def ink(png):  # the box of non-white pixels, and the image's size
        pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
        rows, cols = np.nonzero(pixels < 250)
        return pixels.shape, (rows.min(), rows.max(), cols.min(), cols.max())

    fig, axes = plt.subplots(1, 2, figsize=(6, 2.5), dpi=96)
    for ax in axes:
        ax.plot([0, 1], [0, 2])
        ax.set_xlabel("time (days)")
        ax.set_ylabel("cells")
    fig.tight_layout()
    with plt.rc_context({"savefig.dpi": 96}):
        ours, theirs = figure_png(fig), print_figure(fig, "png", bbox_inches="tight", base64=False)
    (size, box), (their_size, their_box) = ink(ours), ink(theirs)
    assert np.all(np.abs(np.subtract(size, their_size)) <= 2), (size, their_size)
    assert np.all(np.abs(np.subtract(box, their_box)) <= 2), (box, their_box)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(3, 1), dpi=96)
    ax.set_xlabel("below the canvas")  # no layout: the label hangs outside the figure
    assert _tight_png(fig) is None
    assert ink(figure_png(fig))[0] == ink(print_figure(fig, "png", bbox_inches="tight", base64=False))[0]
    plt.close(fig)


def test_scrubber_frames_carry_their_smallest_text_height():
    import re

    from tmebook.notebook import scrubber

    class View:
        def __init__(self, fig):
            self.ax = fig.add_subplot()
            self.ax.set_xlabel("x", fontsize=7)
            self.title = fig.suptitle(" ", fontsize=12)

        def show(self, result, title):
            self.title.set_text(title)

    html = scrubber(View, [(1.0, 1), (2.0, 2)], figsize=(3, 2), alt="a frame", label="n").data
    recorded = re.search(r'<img alt="a frame" data-min-text-px="([0-9.]+)"', html)
    assert recorded and 5 <= float(recorded.group(1)) <= 12  # 7 pt at 80 dpi, in pixels


def test_show_source_refuses_long_or_wide_listings():
    from tmebook import sprouting
    from tmebook.notebook import LISTING_WIDTH, listing, show_source

    with pytest.raises(ValueError, match="^objects: the listing has"):
        show_source(sprouting.grow_network)
    shown = listing(sprouting.move_probabilities)
    assert not shown.startswith("@") and '"""' not in shown  # no decorator, no docstring
    assert max(map(len, shown.splitlines())) <= LISTING_WIDTH
