"""Build the book from scratch (-n -W --keep-going) and check the HTML a reader gets."""

import re
from pathlib import Path

import pybtex.database
import pytest
from bs4 import BeautifulSoup

from build_book import toc_files

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
ARTICLE_AND_ITS_REFERENCES = [
    "glimm2025", "yuan2016", "quail2013", "wang2023", "lunt2009", "goubran2014",
    "lorusso2008", "wang2021", "neophytou2021", "spano2012", "spill2016",
]
PAGE_BUDGET_BYTES = 2 * 1024 * 1024


def chapter_files():
    return [f for f in toc_files() if f.startswith("chapters/")]


def page(site, name):
    return BeautifulSoup((site / f"{name}.html").read_text(encoding="utf-8"), "html.parser")


@pytest.mark.slow
def test_every_toc_entry_has_a_page(site):
    for name in toc_files():
        assert (site / f"{name}.html").is_file(), name
    assert (site / "index.html").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name", chapter_files())
def test_chapter_has_captioned_figures_with_alt_text(site, name):
    soup = page(site, name)
    figures = soup.select("figure")
    assert figures, "no figure"
    for figure in figures:
        assert figure.select_one("figcaption") and figure.select_one("figcaption").get_text(strip=True)
    # the kernel-free interactive figure: matplotlib's animation with its slider
    assert soup.select("input[type=range]"), "no kernel-free scrubber"


@pytest.mark.slow
@pytest.mark.parametrize("name", toc_files())
def test_images_have_alt_text_and_no_errors_are_shown(site, name):
    soup = page(site, name)
    for image in soup.select("img"):
        assert image.get("alt", "").strip(), f"image without alt text: {str(image)[:120]}"
    text = soup.get_text()
    assert "Traceback (most recent call last)" not in text
    assert not soup.select(".output.error, .output.traceback, .output.stderr"), "error output on page"
    for citation in soup.select("a[href*='bibliography.html#']"):
        assert citation.get_text(strip=True) not in ("", "??")


@pytest.mark.slow
@pytest.mark.parametrize("name", toc_files())
def test_pages_load_nothing_from_a_cdn(site, name):
    soup = page(site, name)
    for tag, attribute in (("script", "src"), ("link", "href"), ("img", "src")):
        for element in soup.find_all(tag):
            if tag == "link" and "stylesheet" not in element.get("rel", []):
                continue
            assert not re.match(r"(https?:)?//", element.get(attribute, "")), str(element)[:120]


@pytest.mark.slow
def test_citations_point_at_bibliography_entries(site):
    anchors = {tag["id"] for tag in page(site, "bibliography").find_all(id=True)}
    cited = 0
    for name in toc_files():
        for link in page(site, name).select("a[href*='bibliography.html#']"):
            assert link["href"].split("#", 1)[1] in anchors, link["href"]
            cited += 1
    assert cited > 0


@pytest.mark.slow
def test_bibliography_lists_the_article_and_its_ten_references_with_dois(site):
    entries = pybtex.database.parse_file(ROOT / "references.bib").entries
    links = {a.get("href", "") for a in page(site, "bibliography").find_all("a")}
    for key in ARTICLE_AND_ITS_REFERENCES:
        doi = entries[key].fields["doi"]
        assert f"https://doi.org/{doi}" in links, key


@pytest.mark.slow
@pytest.mark.parametrize("name", chapter_files())
def test_chapter_page_weight_is_within_budget(site, name):
    html_path = site / f"{name}.html"
    soup = page(site, name)
    size = html_path.stat().st_size
    for image in soup.select("img[src]"):
        if not image["src"].startswith("data:"):
            size += (html_path.parent / image["src"]).resolve().stat().st_size
    assert size <= PAGE_BUDGET_BYTES, f"{size / 1e6:.2f} MB"


@pytest.mark.slow
def test_numbers_in_the_prose_come_from_code(site):
    # glue roles were replaced by computed values (an unresolved one would leave its name)
    soup = page(site, "chapters/05-hypoxia")
    text = soup.get_text(" ")
    assert "glue:text" not in text and "{glue" not in text
    assert re.search(r"our diffusion limit is\s+2\d\d\s+µm", text)


@pytest.mark.slow
def test_every_internal_link_and_anchor_resolves(site):
    """Offline link check of the built HTML: local targets exist, #anchors exist."""
    ids = {}

    def anchors(path):
        if path not in ids:
            soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
            ids[path] = {tag["id"] for tag in soup.find_all(id=True)} | \
                        {tag["name"] for tag in soup.find_all("a", attrs={"name": True})}
        return ids[path]

    checked = 0
    for page_path in sorted(site.rglob("*.html")):
        if "_static" in page_path.parts:
            continue
        soup = BeautifulSoup(page_path.read_text(encoding="utf-8"), "html.parser")
        for link in soup.find_all("a", href=True):
            href = link["href"]
            if re.match(r"[a-z][a-z0-9+.-]*:", href) or href.startswith("//"):
                continue  # external (https:, mailto:, ...): not checked offline
            target, _, fragment = href.partition("#")
            if target == "tme-book.pdf":
                continue  # the book's PDF: made by `make pdf`, checked in tests/test_pdf.py
            target_path = (page_path.parent / target).resolve() if target else page_path
            if target_path.is_dir():
                target_path = target_path / "index.html"
            assert target_path.is_file(), f"{page_path.relative_to(site)}: broken link {href}"
            if fragment and target_path.suffix == ".html":
                assert fragment in anchors(target_path), \
                    f"{page_path.relative_to(site)}: missing anchor {href}"
            checked += 1
    assert checked > 100


def test_every_doi_is_well_formed():
    entries = pybtex.database.parse_file(ROOT / "references.bib").entries
    dois = {key: e.fields["doi"] for key, e in entries.items() if "doi" in e.fields}
    assert len(dois) >= len(ARTICLE_AND_ITS_REFERENCES)
    for key, doi in dois.items():
        assert re.fullmatch(r"10\.\d{4,9}/\S+", doi), f"{key}: malformed DOI {doi!r}"
    for key, entry in entries.items():
        if "doi" not in entry.fields:  # an entry without a DOI must say why
            assert "DOI" in entry.fields.get("note", ""), key


@pytest.mark.slow
def test_every_doi_is_rendered_as_a_link(site):
    entries = pybtex.database.parse_file(ROOT / "references.bib").entries
    links = {a.get("href", "") for a in page(site, "bibliography").find_all("a")}
    for key, entry in entries.items():
        if "doi" in entry.fields:
            assert f"https://doi.org/{entry.fields['doi']}" in links, key


@pytest.mark.slow
def test_execution_status_page_lists_every_chapter(site):
    text = page(site, "execution").get_text(" ")
    for name in chapter_files():
        assert name.split("/")[-1] in text, name
