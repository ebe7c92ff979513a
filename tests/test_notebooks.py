"""Every chapter runs from scratch through nbmake: no cache, a fresh kernel each.

nbmake collects only .ipynb files, so each jupytext chapter is converted to a hidden
.ipynb beside it (the kernel's working directory is then the chapter folder, as in the
book build) and run with nbmake's own NotebookRun.
"""

from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from nbmake.nb_run import NotebookRun

from build_book import chapters_in_toc

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = int(yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"])
JUPYTEXT_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def run_with_nbmake(markdown: Path):
    notebook = markdown.parent / f".{markdown.stem}.nbmake.ipynb"
    nbformat.write(jupytext.read(markdown), notebook)
    try:
        return NotebookRun(notebook, TIMEOUT).execute()
    finally:
        notebook.unlink()


def pages():
    """The notebook pages of the toc, and any chapter file (so a new one is run too)."""
    listed = chapters_in_toc()
    return listed + [p for p in sorted((ROOT / "chapters").glob("*.md")) if p not in listed]


@pytest.mark.slow
@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_page_executes_from_scratch(page):
    result = run_with_nbmake(page)
    assert result.error is None, f"{result.error.summary}\n{result.error.trace}"


def test_there_is_at_least_one_chapter():
    assert any(p.parent.name == "chapters" for p in chapters_in_toc())


def test_every_chapter_file_is_in_the_toc():
    listed = set(chapters_in_toc())
    for chapter in (ROOT / "chapters").glob("*.md"):
        assert chapter in listed, f"{chapter.name} is not in _toc.yml"


@pytest.mark.slow
def test_a_failing_cell_fails_the_run(tmp_path):
    good = tmp_path / "good.md"
    good.write_text(JUPYTEXT_HEADER + "\n```{code-cell} ipython3\nx = 1 + 1\n```\n")
    bad = tmp_path / "bad.md"
    bad.write_text(JUPYTEXT_HEADER + "\n```{code-cell} ipython3\nraise ValueError('broken chapter')\n```\n")
    assert run_with_nbmake(good).error is None
    error = run_with_nbmake(bad).error
    assert error is not None and "broken chapter" in error.trace
