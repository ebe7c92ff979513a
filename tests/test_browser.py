"""The built website as a reader's browser sees it: Debian's chromium driven by Playwright.

For every page of the book: it loads with no console error, every request stays on the
local server and succeeds, every image loads and has alt text, the mathematics is rendered
when the book is built (KaTeX), the kernel-free scrubber responds to its slider, and axe-core
finds no serious or critical accessibility violation. A full-page screenshot of each page
is saved under _build/screenshots/.
"""

import functools
import http.server
import threading
from pathlib import Path

import pytest

from build_book import toc_files
from site_metrics import load_all_images

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "_build" / "screenshots"
AXE = ROOT / ".venv" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def server(site):
    """The built site on 127.0.0.1, on a free port, for the session."""
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def visit(browser, url):
    """Open a page and record what a reader's browser would complain about."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    record = {"console": [], "failed": [], "external": []}
    host = url.split("/")[2]
    page.on("console", lambda m: record["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: record["console"].append(str(e)))
    page.on("requestfailed", lambda r: record["failed"].append(f"{r.url} {r.failure}"))
    page.on("response", lambda r: record["failed"].append(f"{r.url} {r.status}") if r.status >= 400 else None)
    page.on("request", lambda r: record["external"].append(r.url)
            if r.url.split("/")[2:3] != [host] and not r.url.startswith("data:") else None)
    page.goto(url, wait_until="networkidle")
    # MathJax typesets asynchronously; wait until it has finished on pages that use it
    page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)")
    page.evaluate("() => window.MathJax ? MathJax.startup.promise : null")
    return page, record


@pytest.mark.slow
@pytest.mark.parametrize("name", toc_files())
def test_page_in_a_real_browser(browser, server, name):
    page, record = visit(browser, f"{server}/{name}.html")
    try:
        assert not record["console"], record["console"]
        assert not record["failed"], record["failed"]
        assert not record["external"], f"requests leaving the site: {record['external']}"

        load_all_images(page)  # images in the text load lazily, as the reader scrolls
        images = page.evaluate("""() => [...document.images].map(i => ({
            src: i.currentSrc.slice(0, 80), loaded: i.complete && i.naturalWidth > 0,
            alt: (i.getAttribute('alt') || '').trim()}))""")
        for image in images:
            assert image["loaded"], f"image did not load: {image['src']}"
            assert image["alt"], f"image without alt text: {image['src']}"

        # the mathematics is rendered by KaTeX when the book is built (_ext/book_html.py)
        math_count = page.locator(".math").count()
        if math_count:
            assert page.locator(".math .katex").count() >= math_count, "maths not typeset"
            assert page.locator(".katex-error").count() == 0, "KaTeX could not render"
            assert "\\frac" not in page.inner_text("article")

        if name.startswith("chapters/"):
            check_scrubber_responds(page)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{Path(name).name}.png"), full_page=True)
    finally:
        page.close()


def check_scrubber_responds(page):
    animation = page.locator("div.animation").first
    assert animation.count() == 1, "no kernel-free scrubber on the page"
    frame = animation.locator("img")
    before = frame.get_attribute("src")
    slider = animation.locator("input[type=range]")
    slider.scroll_into_view_if_needed()
    slider.fill(slider.get_attribute("max"))  # a reader drags the slider to its end
    after = frame.get_attribute("src")
    assert after != before, "moving the scrubber's slider did not change the frame"


@pytest.mark.slow
@pytest.mark.parametrize("name", toc_files())
def test_page_has_no_serious_accessibility_violations(browser, server, name):
    assert AXE.exists(), "axe-core is missing: `make test` installs it with npm"
    page, _ = visit(browser, f"{server}/{name}.html")
    try:
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    finally:
        page.close()
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert not serious, "\n".join(serious)
