"""Build the book into _build/html: execute the chapters in parallel, then run Sphinx.

Why not a plain `jupyter-book build`?
* Jupyter Book executes notebooks one after the other; each costs a kernel start and the
  numpy/scipy/matplotlib imports. Executing them first with jupyter-cache's parallel
  executor (both cores) and then building in `cache` mode fills the same cache that the
  build reads, so the build itself only renders.
* MathJax is served from the site itself (copied from the pinned `django-static-mathjax`
  wheel, which ships MathJax 3), so equations render offline and without a CDN.
* jupyter-cache keys on the code cells only, so a change in the `tmebook` package would
  leave stale outputs in the cache. We store a hash of the package next to the cache and
  drop the cache when it changes.

Usage: python tools/build_book.py [--fresh]
  --fresh   a cold build: drop the execution cache (every chapter runs from scratch) and
            Sphinx's saved environment and output.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
CACHE = BUILD / ".jupyter_cache"
HASH_FILE = BUILD / ".tmebook-package-hash"
# myst-nb reads text notebooks with this jupyter-cache reader plugin; using the same one
# here makes the pre-executed entries match what the build looks up.
MYST_NB_READER = {"type": "plugin", "name": "myst_nb_md"}


VENDOR = ROOT / "_vendor"  # html_static_path; not _static/, whose *.js JB1 injects everywhere


def vendor_mathjax() -> None:
    """Copy MathJax's TeX-to-HTML bundle and its fonts into _vendor/mathjax/."""
    import mathjax  # the django-static-mathjax wheel: MathJax 3 static files, no Django needed

    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    target = VENDOR / "mathjax"
    shutil.rmtree(target, ignore_errors=True)
    (target / "output" / "chtml" / "fonts").mkdir(parents=True)
    shutil.copy2(source / "tex-chtml.js", target / "tex-chtml.js")
    shutil.copytree(source / "output" / "chtml" / "fonts" / "woff-v2",
                    target / "output" / "chtml" / "fonts" / "woff-v2")


def package_hash() -> str:
    """Hash of everything outside the code cells that can change a chapter's outputs."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "tmebook").rglob("*.py")) + [ROOT / "requirements.txt"]:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def toc_files() -> list[str]:
    """Every page listed in _toc.yml, in order, as written there (no suffix)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
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


def chapters_in_toc() -> list[Path]:
    """The notebook pages listed in _toc.yml, in order (text notebooks only)."""
    paths = [ROOT / f"{f}.md" for f in toc_files()]
    return [p for p in paths if p.exists() and p.read_text().lstrip().startswith("---\njupytext:")]


def execution_timeout() -> int:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return int(config["execute"]["timeout"])


def pre_execute(notebooks: list[Path]) -> None:
    """Execute the notebooks not yet in the cache, in parallel on all cores."""
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    cache = get_cache(str(CACHE))
    for nb in notebooks:
        cache.add_nb_to_project(str(nb), read_data=MYST_NB_READER)
    executor = load_executor("local-parallel", cache)
    result = executor.run_and_cache(timeout=execution_timeout(), allow_errors=False)
    if result.errored:
        # The build will report the failing cells with their tracebacks.
        print(f"pre-execution failed for: {', '.join(result.errored)}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="a cold build, from scratch")
    args = parser.parse_args()

    BUILD.mkdir(exist_ok=True)
    current = package_hash()
    if args.fresh:
        for stale in (BUILD / "html", BUILD / ".doctrees", BUILD / "jupyter_execute"):
            shutil.rmtree(stale, ignore_errors=True)
    if args.fresh or not HASH_FILE.exists() or HASH_FILE.read_text() != current:
        shutil.rmtree(CACHE, ignore_errors=True)
    HASH_FILE.write_text(current)

    vendor_mathjax()
    start = time.perf_counter()
    pre_execute(chapters_in_toc())
    executed = time.perf_counter()
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    build = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--builder", "html", "-n", "-W", "--keep-going"],
        cwd=ROOT,
        env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    )
    done = time.perf_counter()
    print(f"executed chapters in {executed - start:.1f} s, built the site in {done - executed:.1f} s")
    if build.returncode != 0:
        print("book build FAILED (warnings are errors)", file=sys.stderr)
        return build.returncode
    print(f"open {BUILD / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
