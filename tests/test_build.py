"""tools/build_book.py on a small book (a temporary folder, built with --root): a failing
chapter is reported once, clearly, and executed once; a good book builds from the cache
that pre-execution filled, without Sphinx executing anything again; a chapter executed by
the test suite's nbmake run is rendered from that run, until the `tmebook` package changes."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from build_book import store_executed
from executions import run_build, run_with_nbmake
from test_notebooks import JUPYTEXT_HEADER  # one header for every test-made chapter

ROOT = Path(__file__).resolve().parent.parent


def chapter(title: str, *cells: str) -> str:
    text = JUPYTEXT_HEADER + f"\n# {title}\n"
    for source in cells:
        text += f"\nSome prose.\n\n```{{code-cell}} ipython3\n{source}\n```\n"
    return text


def book_folder(folder: Path, pages: list[str], also: tuple[str, ...] = ()) -> Path:
    """`folder`/book with the project's configuration, references, extensions, templates,
    figures and the files or folders `also`, KaTeX's npm assets, and a table of contents:
    the root page `intro`, then `pages`."""
    book = folder / "book"
    (book / "chapters").mkdir(parents=True)
    for name in ("_config.yml", "references.bib", "_ext", "_templates", "figures", *also):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, book / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, book / name)
    (book / "node_modules").symlink_to(ROOT / "node_modules")  # KaTeX's assets (npm ci)
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n"
                                   + "".join(f"  - file: {page}\n" for page in pages))
    return book


def small_book(folder: Path, runs: Path) -> Path:
    """The project's configuration with three chapters of its own: `good`, and `bad1` and
    `bad2`, whose last cells fail. Each chapter's last cell appends the chapter's name to
    `runs`, so the file counts the executions."""
    book = book_folder(folder, ["chapters/good", "chapters/bad1", "chapters/bad2"])
    (book / "intro.md").write_text("# A small book\n\nThree chapters, two of them broken.\n")
    (book / "chapters" / "good.md").write_text(chapter(
        "Good", f"with open({str(runs)!r}, 'a') as runs:\n    runs.write('good\\n')\nx = 1 + 1"))
    (book / "chapters" / "bad1.md").write_text(chapter(
        "Bad one", "y = 2",
        f"open({str(runs)!r}, 'a').write('bad1\\n')\nraise ValueError('broken chapter one')"))
    (book / "chapters" / "bad2.md").write_text(chapter(
        "Bad two", f"def f():\n    open({str(runs)!r}, 'a').write('bad2\\n')\n    return 1 / 0\n\nf()"))
    return book


def last_cell_line(path: Path) -> int:
    """The line (from 1) where the file's last code cell starts."""
    lines = path.read_text().splitlines()
    return max(number for number, text in enumerate(lines, 1) if text.startswith("```{code-cell}"))


def build(book: Path, *options: str) -> tuple[int, str]:
    return run_build("--root", str(book), *options)


@pytest.mark.slow
def test_failing_chapters_are_each_executed_once_and_reported_once(tmp_path):
    runs = tmp_path / "runs.log"
    book = small_book(tmp_path, runs)
    chapters = book / "chapters"
    line = {name: last_cell_line(chapters / f"{name}.md") for name in ("bad1", "bad2")}

    code, log = build(book)

    assert code != 0
    # each chapter ran once: pre-execution, and no second run inside Sphinx
    assert sorted(runs.read_text().split()) == ["bad1", "bad2", "good"], log
    assert "Running Sphinx" not in log and not (book / "_build" / "html").exists()
    # one report per failing chapter: file:line, the cell, the first line of its source,
    # then the kernel's traceback once, ending with the exception's type and message
    header1 = f"{chapters / 'bad1.md'}:{line['bad1']}: code cell 2 failed: open({str(runs)!r}, 'a')"
    header2 = f"{chapters / 'bad2.md'}:{line['bad2']}: code cell 1 failed: def f():  [and 4 more lines]"
    assert log.count(header1) == 1 and log.count(header2) == 1, log
    assert log.count("ValueError: broken chapter one") == 1, log
    assert log.count("ZeroDivisionError: division by zero") == 1, log
    assert log.count("Traceback (most recent call last)") == 2, log
    assert "\x1b[" not in log  # no terminal colour codes in the traceback
    last = log.strip().splitlines()[-1]
    assert last.startswith("book build FAILED: 2 of 3 chapters failed to execute"), last
    assert "chapters/bad1.md" in last and "chapters/bad2.md" in last
    assert len(log.splitlines()) < 40, log  # the old build printed ~200 lines here

    # fixed: the good chapter comes from the cache, the two others run once each, and
    # Sphinx only renders (it executes nothing) and passes with -n -W
    for name in ("bad1", "bad2"):
        path = chapters / f"{name}.md"
        path.write_text(path.read_text().replace("raise ValueError", "print")
                        .replace("return 1 / 0", "return 1"))
    code, log = build(book)
    assert code == 0, log[-3000:]
    assert sorted(runs.read_text().split()) == ["bad1", "bad1", "bad2", "bad2", "good"]
    assert "Executing notebook" not in log  # myst-nb's message when Sphinx executes one
    assert (book / "_build" / "html" / "chapters" / "bad2.html").is_file()


def test_failure_report_for_a_timeout_names_the_cell_and_the_timeout():
    from nbclient.exceptions import CellTimeoutError

    from book_executor import failure_report

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"),
                nbformat.v4.new_code_cell("import time"),
                nbformat.v4.new_code_cell("\ntime.sleep(1000)\n")]
    nb.metadata["source_map"] = [12, 14, 20]
    nb.cells[2].outputs = [nbformat.v4.new_output(
        "error", ename="KeyboardInterrupt", evalue="",
        traceback=["\x1b[31mKeyboardInterrupt\x1b[39m Traceback", "----> 1 time.sleep(1000)"])]
    error = CellTimeoutError("A cell timed out while it was being executed, after 3 seconds.\n"
                             "Here is a preview of the cell contents: ...")
    report = failure_report("/book/chapters/slow.md", nb, 2, error).splitlines()
    assert report == [
        "/book/chapters/slow.md:20: code cell 2 failed: time.sleep(1000)",
        "KeyboardInterrupt Traceback",
        "----> 1 time.sleep(1000)",
        "CellTimeoutError: A cell timed out while it was being executed, after 3 seconds.",
    ]


@pytest.mark.slow
def test_a_stored_nbmake_run_is_rendered_until_the_package_changes(tmp_path, monkeypatch):
    """What the suite does with each chapter (tests/executions.py), on a copy of the book
    with one chapter that imports `tmebook`: run it with nbmake, store it in the execution
    cache; the build then renders it without executing it. Edit `tmebook` in the copy and
    the next build executes the chapter again, and the page shows the edited package."""
    runs = tmp_path / "runs.log"
    book = book_folder(tmp_path, ["chapters/uses"], also=("requirements.txt", "tmebook"))
    (book / "intro.md").write_text("# A small book\n\nOne chapter, which uses the package.\n")
    chapter = book / "chapters" / "uses.md"
    chapter.write_text(globals()["chapter"](
        "Uses the package", f"import tmebook\nopen({str(runs)!r}, 'a').write('uses\\n')\n"
        "print('package says:', getattr(tmebook, 'EDITED', 'as committed'))"))
    monkeypatch.setenv("PYTHONPATH", str(book))  # the kernels import the copy's tmebook
    page = book / "_build" / "html" / "chapters" / "uses.html"

    outcome, seconds = run_with_nbmake(chapter)
    assert outcome.error is None, outcome.error
    store_executed(chapter, outcome.nb, seconds, root=book)
    code, log = build(book)
    assert code == 0, log[-3000:]
    assert "executed 0 of 1 chapters" in log and "Executing notebook" not in log, log[-3000:]
    assert runs.read_text().split() == ["uses"]  # nbmake's run only
    assert "package says: as committed" in page.read_text()

    init = book / "tmebook" / "__init__.py"
    init.write_text(init.read_text() + "\nEDITED = 'edited in the copy'\n")
    code, log = build(book)
    assert code == 0, log[-3000:]
    assert "executed 1 of 1 chapters" in log, log[-3000:]
    assert runs.read_text().split() == ["uses", "uses"]
    assert "package says: edited in the copy" in page.read_text()


@pytest.mark.slow
def test_pages_built_on_two_processes_are_those_built_on_one(tmp_path):
    """Sphinx reads the pages on one process per core (tools/build_book.py, with
    sphinx-multitoc-numbering declared safe for it in _ext/book_html.py): the same pages as
    on one process, for a small book with what crosses pages: citations and the
    bibliography, glued numbers, cross-references, mathematics, an exercise with its
    solution and the shared table of contents."""
    book = book_folder(tmp_path, ["chapters/one", "chapters/two", "bibliography"])
    (book / "intro.md").write_text("# A small book\n\nSee {ref}`second`.\n")
    (book / "bibliography.md").write_text("# Bibliography\n\n```{bibliography}\n```\n")
    (book / "chapters" / "one.md").write_text(chapter(
        "One", "from myst_nb import glue\nglue('rate', 0.25, display=False)")
        + "\nThe rate is {glue:text}`rate:.2f` per day {cite:p}`quail2013`, and\n"
        "$$\\frac{dV}{dt} = rV$$\n\n"
        "```{exercise}\n:label: ex-one\n\nDouble the rate.\n```\n\n"
        "```{solution} ex-one\n:class: dropdown\n\nIt is 0.5.\n```\n")
    (book / "chapters" / "two.md").write_text(chapter(
        "Two", "print(2 * 3)").replace("# Two", "(second)=\n# Two")
        + "\nAs {cite:t}`thomlinson1955` put it; see {ref}`ex-one`.\n")
    pages = {}
    for jobs in ("1", "2"):
        code, log = build(book, "--render-fresh", "--jobs", jobs)
        assert code == 0, log[-3000:]
        html = book / "_build" / "html"
        pages[jobs] = {p.relative_to(html).as_posix(): p.read_bytes()
                       for p in sorted(html.rglob("*.html"))}
    assert pages["1"].keys() == pages["2"].keys()
    assert {"chapters/one.html", "chapters/two.html", "bibliography.html"} <= pages["1"].keys()
    different = [name for name in pages["1"] if pages["1"][name] != pages["2"][name]]
    assert not different, different
    one = pages["2"]["chapters/one.html"].decode()
    assert "0.25" in one and "Quail" in one and "katex" in one


def test_no_schema_the_build_validates_asks_for_the_iri_format():
    """tools/build_book.py keeps jsonschema from loading rfc3987-syntax (its check of the
    "iri" string format, about 1 s to import): right only while no schema that the build's
    packages validate against uses that format."""
    import importlib
    import json

    def formats(node):
        if isinstance(node, dict):
            if isinstance(node.get("format"), str):
                yield node["format"]
            for value in node.values():
                yield from formats(value)
        elif isinstance(node, list):
            for value in node:
                yield from formats(value)

    schemas = []
    for package in ("nbformat", "jupyter_book", "jupyter_cache", "myst_nb", "sphinx_external_toc"):
        folder = Path(importlib.import_module(package).__file__).parent
        schemas += [path for path in folder.rglob("*.json") if "schema" in path.name]
    assert any(path.parent.name == "v4" for path in schemas), "nbformat's schemas not found"
    for path in schemas:
        used = set(formats(json.loads(path.read_text(encoding="utf-8"))))
        assert not {f for f in used if f.startswith("iri")}, path


# Run in a new Python (a pytest-xdist worker has threads, which a fork must not copy):
# executes NOTEBOOK on a new kernel and on one forked from the template, prints both
# notebooks' outputs as JSON, then checks that the template's kernels end as new ones do
# when a cell kills the kernel or runs past the timeout.
TEMPLATE_CHECK = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from kernel_template import KernelTemplate, TemplateKernelManager

def run(cells, manager=None, timeout=60):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    extra = {"kernel_manager_class": manager} if manager else {}
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": sys.argv[2]}}, **extra).execute()
    return [cell.outputs for cell in nb.cells]

cells = json.loads(sys.argv[3])
new = run(cells)
with KernelTemplate() as template:
    assert template.pid is not None, "no template"
    forked = run(cells, TemplateKernelManager)
    ends = {}
    for name, cell, error in (("dies", "import os; os._exit(3)", DeadKernelError),
                              ("times out", "import time; time.sleep(120)", CellTimeoutError)):
        start = time.monotonic()
        try:
            run([cell], TemplateKernelManager, timeout=3)
            ends[name] = "ran on"
        except error:
            ends[name] = round(time.monotonic() - start, 1)
print(json.dumps({"new": new, "forked": forked, "ends": ends}))
"""


@pytest.mark.slow
def test_a_kernel_forked_from_the_template_starts_as_a_new_one_would(tmp_path):
    """tools/kernel_template.py: the same working directory, module path, arguments,
    matplotlib backend, parent watch and outputs (a figure's PNG byte for byte) as a new
    kernel; the book's package not imported beforehand; and a kernel that dies or runs
    past the timeout ends the run with nbclient's error, within seconds."""
    cells = [
        "import json, os, sys, matplotlib\n"
        "from ipykernel.kernelapp import IPKernelApp\n"
        "print(json.dumps({'cwd': os.getcwd(), 'path': sys.path, 'argv0': sys.argv[0],\n"
        "    'backend': matplotlib.get_backend(), 'tmebook': 'tmebook' in sys.modules,\n"
        "    'poller': type(IPKernelApp.instance().poller).__name__,\n"
        "    'stdin': os.isatty(0)}))",
        "import matplotlib.pyplot as plt\nplt.plot([0, 1, 2], [0, 1, 4], label='a')\n"
        "plt.title('a figure')\n_ = plt.legend()",
        "import tmebook.growth\nprint(tmebook.growth.__name__)",
    ]
    folder = tmp_path / "chapters"
    folder.mkdir()
    run = subprocess.run([sys.executable, "-c", TEMPLATE_CHECK, str(ROOT / "tools"), str(folder),
                          json.dumps(cells)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])

    def comparable(outputs):  # execution counts aside
        return [[{key: value for key, value in output.items() if key != "execution_count"}
                 for output in cell] for cell in outputs]

    new, forked = comparable(result["new"]), comparable(result["forked"])
    state = json.loads(forked[0][0]["text"])
    assert state["cwd"] == str(folder) and state["backend"].endswith("backend_inline")
    assert not state["tmebook"] and state["poller"] == "ParentPollerUnix"
    assert any("image/png" in output.get("data", {}) for output in forked[1])
    assert forked == new
    assert all(isinstance(seconds, float) and seconds < 30 for seconds in result["ends"].values()), \
        result["ends"]


# A stand-in for KaTeX's node server: binds the socket at once, listens only after DELAY
# seconds (never if DELAY is negative), then answers nothing.
SLOW_SERVER = r"""
import socket, sys, time
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
delay = float(sys.argv[2])
if delay < 0:
    time.sleep(60)
time.sleep(delay)
server.listen()
time.sleep(60)
"""


@pytest.mark.parametrize("delay, starts", [(0.3, True), (-1.0, False)])
def test_katex_server_start_waits_for_it_to_listen_and_stops_it_if_it_never_does(
        tmp_path, monkeypatch, delay, starts):
    """_ext/book_html.py's `start_katex_reliably`: sphinxcontrib-katex connected once, as
    soon as the socket file appeared, and left the node process running when refused."""
    sys.path.insert(0, str(ROOT / "_ext"))
    import book_html
    from sphinxcontrib.katex import KaTeXError, KaTeXServer

    monkeypatch.setattr(KaTeXServer, "start_server_process", KaTeXServer.start_server_process)
    monkeypatch.setattr(KaTeXServer, "build_command", classmethod(
        lambda cls, socket: [sys.executable, "-c", SLOW_SERVER, str(socket), str(delay)]))
    book_html.start_katex_reliably(None, None)
    if starts:
        process, sock = KaTeXServer.start_server_process(tmp_path, timeout=10)
        assert process.poll() is None and sock.gettimeout() is None
        sock.close()
        process.kill()
        process.wait()
    else:
        with pytest.raises(KaTeXError):
            KaTeXServer.start_server_process(tmp_path, timeout=1)
        assert not [line for line in subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                                    text=True).stdout.splitlines()
                    if str(tmp_path) in line], "the server process was left running"
