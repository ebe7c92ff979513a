"""Build the book into _build/html: execute the chapters in parallel, then run Sphinx.

Why not a plain `jupyter-book build`?
* Jupyter Book executes notebooks one after the other; each costs a kernel start and the
  numpy/scipy/matplotlib imports. Executing them first with jupyter-cache's parallel
  executor (one worker per core and one more, tools/book_executor.py), each on a kernel
  forked from a template that imported those libraries once (tools/kernel_template.py),
  and then building in `cache` mode fills the same cache that the build reads, so the
  build itself only renders: in this process (`render`), with the pages read on one
  process per core.
* A chapter whose cell fails is reported once, here: its file, the cell (number, line in
  the file, first line of its source) and the kernel's traceback. Every failing chapter is
  reported, each executed once, and Sphinx is then not run at all (in `cache` mode it would
  execute the failing chapters again and print each traceback twice more).
* jupyter-cache keys on the code cells only, so a change in the `tmebook` package would
  leave stale outputs in the cache. We store a hash of the package next to the cache and
  drop the cache when it changes.

* A notebook executed elsewhere (the test suite runs every chapter from scratch with
  nbmake) can be put into the cache with `store_executed`; the build then only renders it.

Usage: python tools/build_book.py [--fresh | --render-fresh] [--root DIR] [--jobs N]
  --fresh         a cold build: drop the execution cache (every chapter runs from scratch)
                  and Sphinx's saved environment and output.
  --render-fresh  drop Sphinx's saved environment and output only: every page is rendered
                  again from the execution cache (which still follows the package hash).
  --root          the book's folder (default: the repository this script is in).
  --jobs          processes for Sphinx's reading of the pages (default: one per core).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import logging
import os
import shutil
import sys
import time
from pathlib import Path

import yaml

# jsonschema (which nbformat imports, and jupyter-cache and myst-nb import nbformat) loads
# rfc3987-syntax when it is installed (jupyter-events asks for it) to check strings of the
# "iri" format; importing it compiles a grammar, about 1 s before the first chapter could
# start. No schema this build validates uses that format (nbformat's, Jupyter Book's), so
# this process and its workers go without it: the import fails and jsonschema skips it.
sys.modules.setdefault("rfc3987_syntax", None)

ROOT = Path(__file__).resolve().parent.parent
# myst-nb reads text notebooks with this jupyter-cache reader plugin; using the same one
# here makes the pre-executed entries match what the build looks up.
MYST_NB_READER = {"type": "plugin", "name": "myst_nb_md"}


def cache_folder(root: Path) -> Path:
    return root / "_build" / ".jupyter_cache"


def package_hash(root: Path = ROOT) -> str:
    """Hash of everything outside the code cells that can change a chapter's outputs."""
    digest = hashlib.sha256()
    for path in sorted((root / "tmebook").rglob("*.py")) + [root / "requirements.txt"]:
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def drop_rendered(root: Path = ROOT) -> None:
    """Drop Sphinx's saved environment and output: every page is rendered again."""
    for stale in ("html", ".doctrees", "jupyter_execute"):
        shutil.rmtree(root / "_build" / stale, ignore_errors=True)


def prepare_cache(root: Path = ROOT, fresh: bool = False) -> Path:
    """The execution cache's folder, emptied first when `fresh` or when the package hash
    recorded beside it is not that of the current `tmebook` and requirements. Emptying it
    also drops the rendered pages: Sphinx would otherwise keep the old outputs of every
    page whose own text did not change."""
    build = root / "_build"
    build.mkdir(exist_ok=True)
    hash_file, current = build / ".tmebook-package-hash", package_hash(root)
    if fresh or not hash_file.exists() or hash_file.read_text() != current:
        shutil.rmtree(cache_folder(root), ignore_errors=True)
        drop_rendered(root)
    hash_file.write_text(current)
    return cache_folder(root)


def read_as_the_build_does(markdown: Path):
    """The notebook as myst-nb reads the text file (the form the cache is keyed on)."""
    from jupyter_cache.readers import get_reader

    return get_reader(MYST_NB_READER)(str(markdown))


def store_executed(markdown: Path, executed, seconds: float, root: Path = ROOT) -> None:
    """Put a chapter executed elsewhere (`executed`: the notebook with its outputs, e.g. from
    nbmake) into the execution cache, as if pre-execution had run it, so that the build only
    renders it. The outputs are copied cell by cell into the notebook as the build reads the
    file; its code cells must be the same. The cache is first dropped if it belongs to
    another package hash, so what is stored counts as made from the current package: call
    this with outputs executed from the current `tmebook`."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    notebook = read_as_the_build_does(markdown)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    ran = [cell for cell in executed.cells if cell.cell_type == "code"]
    if [c.source.strip() for c in code] != [c.source.strip() for c in ran]:
        raise ValueError(f"executed: its code cells are not those of {markdown}")
    for cell, done in zip(code, ran):
        cell.outputs, cell.execution_count = done.outputs, done.execution_count
    cache = get_cache(str(prepare_cache(root)))
    cache.cache_notebook_bundle(
        CacheBundleIn(notebook, str(markdown.absolute()), data={"execution_seconds": seconds}),
        check_validity=False, overwrite=True)


def toc_files(root: Path = ROOT) -> list[str]:
    """Every page listed in _toc.yml, in order, as written there (no suffix)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    return [f.removesuffix(".md") for f in files]


def chapters_in_toc(root: Path = ROOT) -> list[Path]:
    """The notebook pages listed in _toc.yml, in order (text notebooks only)."""
    paths = [root / f"{f}.md" for f in toc_files(root)]
    return [p for p in paths if p.exists() and p.read_text().lstrip().startswith("---\njupytext:")]


def execution_timeout(root: Path = ROOT) -> int:
    config = yaml.safe_load((root / "_config.yml").read_text())
    return int(config["execute"]["timeout"])


def pre_execute(notebooks: list[Path], root: Path = ROOT) -> tuple[dict[Path, str], int]:
    """Execute the notebooks not yet in the cache, in parallel on all cores. Returns the
    failures, {notebook: report}, and how many notebooks were executed; successful
    notebooks are cached for the Sphinx build."""
    from kernel_template import KernelTemplate

    # forked first, while this process has imported little: it imports the kernels'
    # libraries while the cache is prepared, and each chapter's kernel is forked from it
    with KernelTemplate():
        return _execute(notebooks, root)


def _execute(notebooks: list[Path], root: Path) -> tuple[dict[Path, str], int]:
    from jupyter_cache import get_cache

    from book_executor import ReportingExecutor  # imports jupyter-cache: only when building

    cache = get_cache(str(cache_folder(root)))
    for nb in notebooks:
        cache.add_nb_to_project(str(nb), read_data=MYST_NB_READER)
    # jupyter-cache logs each failure (with nbclient's traceback) as a warning; we report
    # failures ourselves, so let only its own errors through (unreadable notebook, cache
    # write failure): those come with a traceback and are listed below as well.
    quiet = logging.getLogger("build_book.pre_execute")
    quiet.setLevel(logging.ERROR)
    executor = ReportingExecutor(cache, logger=quiet)
    uris = [str(nb.absolute()) for nb in notebooks]  # as add_nb_to_project records them
    # only these: the project may still list a chapter since removed from the toc
    result = executor.run_and_cache(filter_uris=uris, timeout=execution_timeout(root),
                                    allow_errors=False, meanwhile=import_renderer)
    failures = {}
    executed = len(set(uris) & set(result.succeeded + result.excepted + result.errored))
    for uri in uris:  # in the toc's order
        if uri in result.excepted:
            failures[Path(uri)] = cache.get_project_record(uri).traceback or "failed"
        elif uri in result.errored:
            failures[Path(uri)] = f"{uri}: could not be read or cached: see the error above"
    return failures, executed


def import_renderer() -> None:
    """Import what rendering will need (Jupyter Book, Sphinx, the extensions, and the model
    package, which the parameter appendix and the live figures' specifications read: about
    1.5 s) while the chapters execute, when a core is often free (a kernel waiting to start,
    the last chapter). Sphinx's readers and the specifications' process are forked from
    this process, so they find it all imported."""
    import importlib
    import pkgutil

    for name in ("jupyter_book.cli.main", "jupyter_book.sphinx", "myst_nb.sphinx_ext",
                 "sphinx_book_theme", "sphinxcontrib.bibtex", "sphinxcontrib.katex", "tmebook"):
        importlib.import_module(name)
    for module in pkgutil.iter_modules(sys.modules["tmebook"].__path__, "tmebook."):
        importlib.import_module(module.name)


def render(root: Path, jobs: int) -> int:
    """`jupyter-book build ROOT --builder html -n -W --keep-going`, in this process and with
    Sphinx reading the pages on `jobs` processes (the command offers no such
    option): the command's own configuration (its `get_config_only` path), its call of
    Sphinx and its reporting. In this process, because a new Python would import again what
    pre-execution already imported (nbformat's schema checker alone takes about 1.3 s).
    Returns the exit status the command would have."""
    import click
    from jupyter_book.cli.main import build, builder_specific_actions
    from jupyter_book.sphinx import build_sphinx

    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # for a kernel Sphinx would start
    path_config, source, overrides = build.callback(
        path_source=str(root), path_output=None, config=None, toc=None, warningiserror=True,
        nitpick=True, keep_going=True, freshenv=False, builder="html", custom_builder=None,
        verbose=0, quiet=0, individualpages=False, get_config_only=True)
    output = root / "_build" / "html"
    here = Path.cwd()
    os.chdir(root)  # as the command runs from the book's folder
    try:
        result = build_sphinx(source, output, use_external_toc=True, noconfig=True,
                              path_config=path_config, confoverrides=overrides,
                              builder="html", warningiserror=True, keep_going=True, jobs=jobs)
        builder_specific_actions(result, "html", output, "book", None, click.echo)
    except SystemExit as stop:  # jupyter-book exits with Sphinx's status after warnings
        return stop.code if isinstance(stop.code, int) else 1
    except RuntimeError as error:  # an exception inside Sphinx, with its message box
        print(error, file=sys.stderr)
        return 2
    finally:
        os.chdir(here)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    fresh = parser.add_mutually_exclusive_group()
    fresh.add_argument("--fresh", action="store_true", help="a cold build, from scratch")
    fresh.add_argument("--render-fresh", action="store_true",
                       help="render every page again from the execution cache")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the book's folder (default: the repository this script is in)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes for Sphinx's reading of the pages (default: one per core)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    build = root / "_build"
    build.mkdir(exist_ok=True)
    if args.render_fresh:
        drop_rendered(root)
    prepare_cache(root, fresh=args.fresh)

    start = time.perf_counter()
    chapters = chapters_in_toc(root)
    failures, count = pre_execute(chapters, root)
    executed = time.perf_counter()
    print(f"executed {count} of {len(chapters)} chapters (the others came from the cache) "
          f"in {executed - start:.1f} s", flush=True)
    if failures:
        for path, report in failures.items():
            print(f"\n{report}\n", file=sys.stderr)
        names = ", ".join(str(p.relative_to(root)) for p in failures)
        print(f"book build FAILED: {len(failures)} of {len(chapters)} chapters failed to execute "
              f"(reported above): {names}. Sphinx was not run.", file=sys.stderr)
        return 1
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    # Sphinx makes millions of small objects in reference cycles (docutils nodes know their
    # parents), so Python's cycle collector runs thousands of times, each older-generation
    # pass over a heap of several hundred thousand objects. What is loaded by now (modules,
    # the execution cache) is frozen out of its view and it runs less often: about 1 s less
    # rendering (7.0 s against 8.0 s; the forked readers inherit the setting). The price:
    # garbage in cycles lives a little longer, so memory peaks a little higher.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    returncode = render(root, jobs=args.jobs)
    done = time.perf_counter()
    print(f"built the site in {done - executed:.1f} s")
    if returncode != 0:
        print("book build FAILED: Sphinx reported the problems above "
              "(-n -W: every warning counts as an error)", file=sys.stderr)
        return returncode
    print(f"open {build / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    status = main()
    # Python's last cycle collection would walk every object the build made (about 600,000)
    # and take 1.5 s after the work is done; frozen objects are skipped and are freed with
    # the process anyway. (Only here: an in-process caller of main() keeps its collector.)
    gc.freeze()
    sys.exit(status)
