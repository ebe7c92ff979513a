"""Record every number the book shows: each chapter's glued values and the reproduction table.

    python tools/record_numbers.py OUT.json            # record
    python tools/record_numbers.py OUT.json --compare BEFORE.json

A refactor that must not change a published number records before and after and compares:
numbers agree to a relative 1e-9 (or absolute 1e-12), text must be identical.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--compare", help="an earlier record to compare with")
    parser.add_argument("--chapters", nargs="*", help="only these chapters (e.g. 05 10), no table")
    args = parser.parse_args()
    numbers = record(args.chapters)
    Path(args.out).write_text(json.dumps(numbers, indent=1, ensure_ascii=False) + "\n")
    count = sum(len(v) for v in numbers["glued"].values())
    print(f"{count} glued values, {len(numbers.get('reproductions', []))} reproductions -> {args.out}")
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        if args.chapters:
            before = {"glued": {c: v for c, v in before["glued"].items() if c in numbers["glued"]}}
        diff = differences(before, numbers)
        print("\n".join(diff) if diff else "no number changed")
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
