"""A first visit to the built site as a reader on a static host would make it: the site
served on 127.0.0.1 with text gzip-compressed (as GitHub Pages, Netlify or nginx's
`gzip on` serve it), opened in Debian's chromium with an empty cache.

* `first_visit_bytes(browser, url)`: what the visit transfers, by resource type (Chromium's
  `encodedDataLength`, i.e. bytes on the wire with headers, after compression), summed over
  the HTML, scripts, stylesheets, fonts and images a page loads before it is idle.
* `largest_contentful_paint(browser, url)`: the page's Largest Contentful Paint in seconds
  on a throttled connection (1.6 Mbps down, 750 kbps up, 150 ms round trip: Lighthouse's
  "slow 4G"), cache empty.

Used by tests/test_weight.py (the byte budget) and by `make bench` (LCP per chapter).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import io
import threading
from pathlib import Path

# what static hosts compress (text); images and fonts are already compressed
GZIP_SUFFIXES = {".html", ".js", ".css", ".svg", ".json", ".txt", ".map", ".xml", ".ipynb", ".md"}
COUNTED_TYPES = {"Document", "Script", "Stylesheet", "Font", "Image"}
# Lighthouse's mobile throttling ("slow 4G"): 1.6 Mbps down, 750 kbps up, 150 ms RTT
SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8,
           "uploadThroughput": 750e3 / 8}


class GzipHandler(http.server.SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler that gzips text when the browser accepts it."""

    def log_message(self, *args):
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if (path.suffix not in GZIP_SUFFIXES or not path.is_file()
                or "gzip" not in self.headers.get("Accept-Encoding", "")):
            return super().send_head()
        body = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        return io.BytesIO(body)


@contextlib.contextmanager
def gzip_server(directory: Path):
    """The folder served on a free port of 127.0.0.1; yields the base URL."""
    handler = functools.partial(GzipHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _fresh_page(browser, width=1280, height=900):
    """A page in a new context: empty cache, no cookies, no service worker."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    return context, page, cdp


def count_transfers(page):
    """Start counting what `page` transfers, with its cache disabled; returns a function
    that gives the bytes so far by resource type (the types in COUNTED_TYPES)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    types, sizes = {}, {}
    cdp.on("Network.responseReceived", lambda e: types.__setitem__(e["requestId"], e["type"]))
    cdp.on("Network.loadingFinished",
           lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))

    def by_type() -> dict[str, int]:
        counted: dict[str, int] = {}
        for request, size in sizes.items():
            if (kind := types.get(request, "Other")) in COUNTED_TYPES:
                counted[kind] = counted.get(kind, 0) + int(size)
        return counted

    return by_type


def first_visit_bytes(browser, url: str) -> dict[str, int]:
    """Bytes transferred by a first visit at 1280x900, by resource type (only the types
    in COUNTED_TYPES), until the network is idle."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    transferred = count_transfers(page)
    try:
        response = page.goto(url, wait_until="networkidle")
        if response is None or not response.ok:
            raise RuntimeError(f"{url}: {response.status if response else 'no response'}")
        page.wait_for_timeout(300)  # let late loadingFinished events arrive
        return transferred()
    finally:
        context.close()


LCP_SCRIPT = """() => new Promise(resolve => {
    let last = null;
    new PerformanceObserver(list => {
        for (const entry of list.getEntries()) last = entry;
    }).observe({type: 'largest-contentful-paint', buffered: true});
    setTimeout(() => resolve(last ? {time: last.startTime,
        element: last.element ? last.element.tagName + '.' + last.element.className : ''} : null), 100);
})"""


def largest_contentful_paint(browser, url: str, network=SLOW_4G) -> tuple[float, str]:
    """(LCP in seconds, the LCP element's tag and class) for one cold visit at 1280x900 on
    the throttled network."""
    context, page, cdp = _fresh_page(browser)
    try:
        cdp.send("Network.emulateNetworkConditions", network)
        response = page.goto(url, wait_until="load", timeout=120_000)
        if response is None or not response.ok:
            raise RuntimeError(f"{url}: {response.status if response else 'no response'}")
        page.wait_for_timeout(500)
        result = page.evaluate(LCP_SCRIPT)
    finally:
        context.close()
    if result is None:
        raise RuntimeError(f"no largest-contentful-paint entry for {url}")
    return result["time"] / 1000, result["element"]


LOAD_ALL_IMAGES = """async () => {
    const images = [...document.images];
    for (const image of images) image.loading = 'eager';
    await Promise.all(images.map(image => image.complete ? null : new Promise(done => {
        image.addEventListener('load', done, {once: true});
        image.addEventListener('error', done, {once: true});
    })));
}"""


def load_all_images(page) -> None:
    """Load every image now, including those the page loads lazily (as a reader scrolls)."""
    page.evaluate(LOAD_ALL_IMAGES)
