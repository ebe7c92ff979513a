"""A reader's first visit to a chapter is light: at 1280x900, with an empty cache, from a
server that gzips text as static hosts do, a chapter page transfers at most 1.0 MB
(Chromium's encodedDataLength over the HTML, scripts, stylesheets, fonts and images it
loads before the network is idle; images further down the page load as the reader
scrolls). The Largest Contentful Paint on a slow connection is measured by `make bench`
(tools/benchmark.py --lcp), not here: timings do not belong in tests.
"""

import gzip
import urllib.request

import pytest

from build_book import toc_files

FIRST_VISIT_BUDGET = 1.0e6  # bytes transferred, per chapter page (issue 14)


def chapter_files():
    return [f for f in toc_files() if f.startswith("chapters/")]


@pytest.mark.slow
@pytest.mark.parametrize("name", chapter_files())
def test_first_visit_to_a_chapter_transfers_at_most_one_megabyte(visits, name):
    """The shared visit at 1280 px is a first visit (tests/conftest.py `open_page`)."""
    by_type = visits(name, 1280)["transferred"]
    # the measure must see the page itself and its styles, or it measures nothing
    assert by_type.get("Document", 0) > 1000 and by_type.get("Stylesheet", 0) > 1000, by_type
    total = sum(by_type.values())
    detail = ", ".join(f"{kind} {size / 1e3:.0f} kB" for kind, size in sorted(by_type.items()))
    assert total <= FIRST_VISIT_BUDGET, f"{name}: {total / 1e6:.2f} MB on a first visit ({detail})"


@pytest.mark.slow
def test_the_server_compresses_text_as_a_static_host_does(site, server):
    """The budget assumes gzip-served text; a server that did not compress would make the
    test stricter than any real host, one that lied about it would make it meaningless."""
    page = site / "chapters" / (chapter_files()[0].split("/")[1] + ".html")
    request = urllib.request.Request(f"{server}/{chapter_files()[0]}.html",
                                     headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        body = response.read()
    assert gzip.decompress(body) == page.read_bytes()
    assert len(body) < page.stat().st_size / 2
