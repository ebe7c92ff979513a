"""Record every number the book shows: each chapter's glued values and the reproduction table.

    python tools/record_numbers.py OUT.json            # record
    python tools/record_numbers.py OUT.json --compare BEFORE.json

A refactor that must not change a published number records before and after and compares:
numbers agree to a relative 1e-9 (or absolute 1e-12), text must be identical.

    python tools/record_numbers.py OUT.json --compare BEFORE.json --shown

compares what the reader sees instead: each glued value as every `{glue:text}` role of the
chapters formats it (a faster solver may move the tenth digit of a value shown to three),
and the reproduction table's rows as they were (still within their tolerances: the tests).
A glued value that no role shows (used by a figure or a caption's code) is not compared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def glued_values(chapter: str) -> dict:
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(ROOT / chapter)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str((ROOT / chapter).parent)}}).execute()
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is None:
                continue
            data = output.get("data", {})
            text = next((v for k, v in data.items() if k.endswith("text/plain")), None)
            values[name] = text
    return values


def record(only: list[str] | None = None) -> dict:
    sys.path.insert(0, str(ROOT))
    # the kernels import this tree's tmebook, not an installed copy
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    from tmebook import integrated

    chapters = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "chapters").glob("*.md"))
    chapters = [c for c in chapters if not only or any(o in c for o in only)]
    with ProcessPoolExecutor(2) as pool:
        glued = dict(zip(chapters, pool.map(glued_values, chapters)))
    if only:
        return {"glued": glued}
    def plain(v):
        return v if isinstance(v, (int, float, str, bool)) or v is None else repr(v)

    rows = []
    for row in integrated.reproduction_table():
        r = row.reproduction
        rows.append({"chapter": row.chapter, "model": row.model, "source": r.source,
                     "quantity": r.quantity, "published": plain(r.published), "ours": plain(r.ours),
                     "tolerance": plain(r.tolerance), "basis": r.basis,
                     "published_text": r.published_text})
    return {"glued": glued, "reproductions": rows}


def _numbers(text: str) -> list[float]:
    return [float(x) for x in NUMBER.findall(str(text))]


def differences(before, after, path="") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        out = [f"{path}/{k}: only before" for k in before.keys() - after.keys()]
        out += [f"{path}/{k}: only after" for k in after.keys() - before.keys()]
        for k in before.keys() & after.keys():
            out += differences(before[k], after[k], f"{path}/{k}")
        return out
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [f"{path}: {len(before)} items before, {len(after)} after"]
        return [d for i, (b, a) in enumerate(zip(before, after)) for d in differences(b, a, f"{path}[{i}]")]
    nb, na = _numbers(before), _numbers(after)
    skeleton_b, skeleton_a = NUMBER.sub("#", str(before)), NUMBER.sub("#", str(after))
    if skeleton_b != skeleton_a or len(nb) != len(na) or not all(
            math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) for x, y in zip(nb, na)):
        return [f"{path}: {before!r} -> {after!r}"]
    return []


GLUE_ROLE = re.compile(r"\{glue:text\}`([^`:]+)(?::([^`]*))?`")


def shown_formats(chapter: str) -> dict[str, set[str]]:
    """{glued name: the format specifications its `{glue:text}` roles use} in a chapter."""
    formats: dict[str, set[str]] = {}
    for name, spec in GLUE_ROLE.findall((ROOT / chapter).read_text()):
        formats.setdefault(name, set()).add(spec)
    return formats


def as_shown(text: str, spec: str) -> str:
    """A glued value's text/plain as a `{glue:text}` role with `spec` shows it (myst-nb
    formats the value parsed as a number, or the text itself when it is not one)."""
    if not spec:
        return text
    try:
        return format(float(text), spec)
    except ValueError:
        return format(text.strip("'\""), spec)


def shown_differences(before: dict, after: dict) -> list[str]:
    out = []
    for chapter, values in before["glued"].items():
        now = after["glued"].get(chapter, {})
        for name, specs in shown_formats(chapter).items():
            if name not in values or name not in now:
                out.append(f"{chapter}/{name}: shown but not glued before and after")
                continue
            for spec in specs:
                if as_shown(values[name], spec) != as_shown(now[name], spec):
                    out.append(f"{chapter}/{name} shown as {spec or 'text'}: "
                               f"{as_shown(values[name], spec)} -> {as_shown(now[name], spec)}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--compare", help="an earlier record to compare with")
    parser.add_argument("--chapters", nargs="*", help="only these chapters (e.g. 05 10), no table")
    parser.add_argument("--shown", action="store_true",
                        help="compare the glued values as the chapters show them")
    args = parser.parse_args()
    numbers = record(args.chapters)
    Path(args.out).write_text(json.dumps(numbers, indent=1, ensure_ascii=False) + "\n")
    count = sum(len(v) for v in numbers["glued"].values())
    print(f"{count} glued values, {len(numbers.get('reproductions', []))} reproductions -> {args.out}")
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        if args.chapters:
            before = {"glued": {c: v for c, v in before["glued"].items() if c in numbers["glued"]}}
        diff = shown_differences(before, numbers) if args.shown else differences(before, numbers)
        print("\n".join(diff) if diff else "no number changed")
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
