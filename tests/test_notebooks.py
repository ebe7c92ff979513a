"""Every chapter runs from scratch through nbmake: no cache, a fresh kernel each.

nbmake collects only .ipynb files, so each jupytext chapter is converted to a hidden
.ipynb beside it (the kernel's working directory is then the chapter folder, as in the
book build) and run with nbmake's own NotebookRun (tests/executions.py). That one run per
chapter is shared: the book build of tests/conftest.py renders it instead of executing the
chapter again. The run must glue every name the page pastes, in its prose and in its figure
captions, and each name once.

Each chapter is also kept in the form jupytext writes, so that saving it from JupyterLab
changes nothing, and its alt texts hold no numbers: an alt text is cell metadata, which
no code computes (a figure's numbers go in its caption, as {glue:text} roles).
"""

import difflib
import re
from pathlib import Path

import jupytext
import pytest

from build_book import chapters_in_toc

ROOT = Path(__file__).resolve().parent.parent
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


def pages():
    """The notebook pages of the toc, and any chapter file (so a new one is run too)."""
    listed = chapters_in_toc()
    return listed + [p for p in sorted((ROOT / "chapters").glob("*.md")) if p not in listed]


# {glue}`name`, {glue:text}`name:.1f`, ... (a `doc::name` from another page is not checked)
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`")
# ```{glue:figure} name, :::{glue:md} name
GLUE_DIRECTIVE = re.compile(r"^\s*(?:`{3,}|:{3,})\{glue(?::\w+)?\}\s+(\S+)", re.MULTILINE)
# a digit that starts a number, not one inside a name such as pO2, HIF-1 or miR-200
NUMBER_IN_TEXT = re.compile(r"(?<![\w\-.,])\d")


def figure_texts(cell) -> dict[str, str]:
    """The caption and alt text a cell's metadata gives its figure."""
    meta = cell.metadata.get("mystnb", {})
    return {key: meta.get(where, {}).get(key) for where, key in (("figure", "caption"), ("image", "alt"))
            if meta.get(where, {}).get(key)}


def pasted_names(notebook) -> set[str]:
    """The glue names a page pastes: in its markdown and in its figure captions."""
    texts = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    texts += [figure_texts(cell).get("caption", "") for cell in notebook.cells]
    names = set()
    for text in texts:
        names |= {match.split(":")[0] for match in GLUE_ROLE.findall(text) if "::" not in match}
        names |= set(GLUE_DIRECTIVE.findall(text))
    return names


def glued_names(notebook) -> list[str]:
    """Every name the run glued, once per glue call."""
    names = [output.get("metadata", {}).get("scrapbook", {}).get("name")
             for cell in notebook.cells if cell.cell_type == "code"
             for output in cell.get("outputs", [])]
    return [name for name in names if name is not None]


@pytest.mark.slow
@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_page_executes_from_scratch(executed_chapter, page):
    result = executed_chapter(page)
    assert result["error"] is None, result["error"]
    glued = glued_names(result["notebook"])
    missing = pasted_names(result["notebook"]) - set(glued)
    assert not missing, f"pasted but never glued (the built page would show a warning): {sorted(missing)}"
    twice = sorted({name for name in glued if glued.count(name) > 1})
    assert not twice, f"glued more than once (MyST-NB warns of a duplicate glue key): {twice}"


def test_pasted_names_are_found_in_prose_and_captions():
    notebook = jupytext.reads(JUPYTEXT_HEADER + """
A value {glue:text}`in_prose:.1f` and {glue}`plain`, one from elsewhere {glue:text}`other::x`.

```{glue:figure} pasted_figure
:alt: A figure.
```

```{code-cell} ipython3
---
mystnb:
  figure:
    caption: 'Its value is {glue:text}`in_caption:,.0f` mm³.'
---
glue("in_caption", 1.0)
```
""", fmt="md:myst")
    assert pasted_names(notebook) == {"in_prose", "plain", "pasted_figure", "in_caption"}


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_page_survives_a_save_from_jupyterlab(page):
    """JupyterLab opens a chapter through jupytext and writes it back the same way on save:
    the file must already be in the form jupytext writes, or a save rewrites it (a caption
    written as a YAML `|` block comes back as a quoted string with blank lines)."""
    text = page.read_text(encoding="utf-8")
    notebook = jupytext.reads(text, fmt="md:myst")
    assert notebook.metadata["jupytext"]["text_representation"]["format_name"] == "myst"
    saved = jupytext.writes(notebook, fmt="md:myst")
    diff = list(difflib.unified_diff(text.splitlines(), saved.splitlines(), "as committed",
                                     "as saved", lineterm="", n=1))
    assert not diff, (
        f"a save from JupyterLab would rewrite {page.name}. Write each caption and alt text as "
        "one paragraph (a YAML string folded over lines, not a `|` block, whose line breaks "
        "would come back as blank lines), then let jupytext write the file: python -c "
        "\"import jupytext, sys; p = sys.argv[1]; jupytext.write(jupytext.read(p), p, "
        f"fmt='md:myst')\" {page.relative_to(ROOT)}\n" + "\n".join(diff[:60]))


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_alt_texts_hold_no_typed_numbers(page):
    for cell in jupytext.read(page).cells:
        alt = figure_texts(cell).get("alt", "")
        numbers = [alt[max(0, m.start() - 30):m.start() + 10] for m in NUMBER_IN_TEXT.finditer(alt)]
        assert not numbers, (
            f"{page.name}: an alt text holds numbers typed by hand, which no code checks; put "
            f"them in the caption as {{glue:text}} roles: {numbers}")


def test_typed_numbers_in_alt_texts_are_found():
    found = [m.group() for m in NUMBER_IN_TEXT.finditer(
        "HIF-1 and miR-200 in pO2 maps of B16F1 cells, 1-D runs over 60 days, falling to 0.5")]
    assert found == ["1", "6", "0"]
