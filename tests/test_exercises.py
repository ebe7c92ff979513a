"""Every chapter ends with 2-4 exercises, each with a hidden solution that asserts its answer.

Fast: the chapters are parsed (jupytext), not run. That the solutions' code runs, and that
each assertion holds, is checked where every chapter is executed (tests/test_notebooks.py
and the book build): the solutions are ordinary code cells between sphinx-exercise's gated
`solution-start` and `solution-end` directives.

What a chapter must have, after its last section and before `## References`:
* a `## Exercises` section with 2-4 `{exercise}` directives, each with a `:label:`;
* for each exercise one gated solution, `{solution-start} <label>` with `:class: dropdown`
  (hidden until the reader opens it), holding at least one code cell and no figure: the
  last code cell's last statement is an `assert` (the answer the solution's text states,
  checked against the model's output);
* nothing else that draws (a solution adds no image to the page);
* code lines of at most MAX_LINE characters: inside the solution's dropdown, a code block
  at 1280 px holds 69 characters of the theme's monospace font before it scrolls sideways.
"""

import ast
import re
from pathlib import Path

import jupytext
import pytest
import yaml

from build_book import chapters_in_toc

ROOT = Path(__file__).resolve().parent.parent

DIRECTIVE = re.compile(r"^(`{3,}|:{3,})\{(exercise|solution-start|solution-end|solution)\}[ \t]*(.*)$",
                       re.MULTILINE)
OPTION = re.compile(r"^:(\w[\w-]*):[ \t]*(.*)$")
MAX_LINE = 66  # characters of a solution's code line (see the module's docstring)
# calls that put a figure (or a widget) on the page
DRAWING = re.compile(r"\b(plt\.|subplots\(|\.plot\(|imshow\(|scrubber\(|live_panel\(|display\()")


def directive_options(text: str, start: int) -> dict[str, str]:
    """The `:name: value` lines right after a directive's first line."""
    options = {}
    for line in text[start:].split("\n")[1:]:
        match = OPTION.match(line.strip())
        if not match:
            break
        options[match.group(1)] = match.group(2).strip()
    return options


def exercise_problems(markdown_text: str) -> tuple[list[str], list[str]]:
    """(exercise labels in order, problems found) for one chapter's jupytext markdown."""
    notebook = jupytext.reads(markdown_text, fmt="md:myst")
    problems, labels, solved = [], [], {}
    in_exercises = False
    open_solution = None  # label of the gated solution being read
    solution_cells = []
    headings = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            headings += [(line, in_exercises) for line in cell.source.splitlines() if line.startswith("## ")]
            if "## Exercises" in cell.source.splitlines():
                in_exercises = True
            for match in DIRECTIVE.finditer(cell.source):
                kind, argument = match.group(2), match.group(3).strip()
                options = directive_options(cell.source, match.start())
                if not in_exercises:
                    problems.append(f"an {{{kind}}} directive before the `## Exercises` section")
                if kind == "exercise":
                    if "label" not in options:
                        problems.append(f"exercise '{argument}' has no :label:")
                    labels.append(options.get("label", argument))
                elif kind == "solution":
                    problems.append(f"solution to {argument} is not gated (use solution-start/-end, "
                                    "so its code cells run)")
                elif kind == "solution-start":
                    if open_solution is not None:
                        problems.append(f"solution to {open_solution} is not closed before the next one")
                    open_solution, solution_cells = argument, []
                    if options.get("class") != "dropdown":
                        problems.append(f"solution to {argument} is not hidden by default "
                                        "(:class: dropdown)")
                    if argument not in labels:
                        problems.append(f"solution to {argument} does not follow an exercise of that label")
                elif kind == "solution-end":
                    if open_solution is None:
                        problems.append("a solution-end without a solution-start")
                    else:
                        solved[open_solution] = solved.get(open_solution, 0) + 1
                        problems += solution_problems(open_solution, solution_cells)
                        open_solution = None
        elif open_solution is not None:
            solution_cells.append(cell)
        elif in_exercises and cell.cell_type == "code":
            problems.append("a code cell in the exercises outside any solution")
    if open_solution is not None:
        problems.append(f"solution to {open_solution} is never closed (solution-end)")
    if not in_exercises:
        problems.append("no `## Exercises` section")
    else:
        after = [line for line, seen in headings if seen and line not in ("## Exercises", "## References")]
        if after:
            problems.append(f"sections after `## Exercises` (it must be the last before References): {after}")
    if in_exercises and not 2 <= len(labels) <= 4:
        problems.append(f"{len(labels)} exercises (2 to 4 wanted)")
    for label in labels:
        if solved.get(label) != 1:
            problems.append(f"exercise {label} has {solved.get(label, 0)} solutions (one wanted)")
    if len(set(labels)) != len(labels):
        problems.append(f"exercise labels repeat: {labels}")
    return labels, problems


def solution_problems(label: str, cells) -> list[str]:
    code = [cell for cell in cells if cell.cell_type == "code"]
    if not code:
        return [f"solution to {label} runs no code"]
    problems = []
    for cell in code:
        if DRAWING.search(cell.source) or "mystnb" in cell.metadata:
            problems.append(f"solution to {label} draws a figure (solutions add no images)")
        long = [line for line in cell.source.splitlines() if len(line) > MAX_LINE]
        if long:
            problems.append(f"solution to {label} has code lines longer than {MAX_LINE} "
                            f"characters (they would scroll sideways): {long}")
    try:
        body = ast.parse(code[-1].source).body
    except SyntaxError as error:
        return problems + [f"solution to {label}: its last code cell does not parse ({error})"]
    if not body or not isinstance(body[-1], ast.Assert):
        problems.append(f"solution to {label} does not end with an assert of its answer")
    return problems


CHAPTERS = [p for p in chapters_in_toc() if p.parent.name == "chapters"]


def test_every_chapter_is_checked():
    assert len(CHAPTERS) == len(list((ROOT / "chapters").glob("*.md"))) >= 11


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_ends_with_exercises_and_hidden_asserted_solutions(chapter):
    text = chapter.read_text(encoding="utf-8")
    _, problems = exercise_problems(text)
    assert not problems, f"{chapter.name}: " + "; ".join(problems)
    tail = text[text.index("## Exercises"):]
    assert tail.count("## References") <= 1 and "{exercise}" not in tail.split("## References")[-1]


def test_sphinx_exercise_is_registered_and_pinned():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "sphinx_exercise" in config["sphinx"]["extra_extensions"]
    assert "sphinx-exercise==1.2.1" in (ROOT / "requirements.txt").read_text().splitlines()


HEADER = "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n---\n\n"
GOOD = """## Exercises

```{exercise} One
:label: t-one

Predict.
```

```{solution-start} t-one
:class: dropdown
```

It is 2.

```{code-cell} ipython3
x = 1 + 1
assert x == 2
```

```{solution-end}
```

```{exercise} Two
:label: t-two

Predict again.
```

```{solution-start} t-two
:class: dropdown
```

```{code-cell} ipython3
assert 3 > 2
```

```{solution-end}
```

## References
"""


def test_the_check_accepts_a_good_chapter_and_finds_each_fault():
    assert exercise_problems(HEADER + GOOD) == (["t-one", "t-two"], [])
    faults = {
        "not hidden": GOOD.replace(":class: dropdown\n```\n\nIt is 2.", "```\n\nIt is 2."),
        "does not end with an assert": GOOD.replace("x = 1 + 1\nassert x == 2", "assert True\nx = 1 + 1"),
        "runs no code": GOOD.replace("```{code-cell} ipython3\nassert 3 > 2\n```\n", ""),
        "draws a figure": GOOD.replace("x = 1 + 1", "plt.plot([1, 2])\nx = 1 + 1"),
        "longer than": GOOD.replace("x = 1 + 1", "x = 1 + 1" + " + 0" * 20),
        "1 exercises": GOOD[:GOOD.index("```{exercise} Two")] + "## References\n",
        "has 0 solutions": GOOD.replace("```{solution-start} t-two\n:class: dropdown\n```\n\n"
                                        "```{code-cell} ipython3\nassert 3 > 2\n```\n\n```{solution-end}\n```\n", ""),
        "not gated": GOOD.replace("{solution-start} t-two", "{solution} t-two"),
        "no `## Exercises` section": "Text only.\n",
    }
    for expected, text in faults.items():
        _, problems = exercise_problems(HEADER + text)
        assert any(expected in problem for problem in problems), (expected, problems)
