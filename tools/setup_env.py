"""Bring .venv in line with requirements.txt, pyproject.toml and postBuild; offline when it is.

Run by `make book` / `make test` with the venv's own Python (the Makefile creates the venv
first when it is missing). It compares what is installed with what is asked for, not file
times, so a `git pull` that touches those files without changing them costs nothing and
needs no network:

* every `name==version` line of requirements.txt: that version installed;
* the `-e .` line: the model package installed in editable mode from this folder, with the
  version and dependencies that pyproject.toml now declares;
* postBuild: run since it last changed (its hash is kept in .venv/.postBuild.sha256).

Only what differs is installed: the pins from the registries (the same set Binder installs),
the model package with `--no-build-isolation` (its build backend, setuptools, is one of the
pins, so pip does not download one into an isolated build environment), postBuild again.

Usage: .venv/bin/python tools/setup_env.py [--check] [--also FILE]
  --check   only report; exit status 1 when something would be installed.
  --also    the pins of another file too (`make test`: requirements-test.txt, the test-only
            packages, which Binder does not install); `name==version` lines only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTBUILD_HASH = Path(sys.prefix) / ".postBuild.sha256"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)$")

try:  # pip is in every venv made by `python -m venv`; it vendors `packaging`
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.version import Version
except ImportError:  # pragma: no cover - compare as written
    Requirement = str
    Version = str


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_requirements(path: Path = ROOT / "requirements.txt") -> tuple[dict[str, str], bool]:
    """({name: pinned version}, whether `-e .` is listed). Only these two kinds of line are
    understood (with comments and blank lines); anything else is an error, so that a new
    kind of line is not silently left out of the comparison."""
    pins, editable = {}, False
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line in ("-e .", "--editable ."):
            editable = True
        elif match := PIN.match(line):
            pins[normalize(match[1])] = match[2]
        else:
            raise SystemExit(f"{path.name}:{number}: only `name==version` and `-e .` lines are "
                             f"understood by {Path(__file__).name}, not {raw!r}")
    return pins, editable


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def pin_differences(pins: dict[str, str]) -> list[str]:
    out = []
    for name, wanted in pins.items():
        have = installed_version(name)
        if have is None:
            out.append(f"{name}: not installed ({wanted} pinned)")
        elif Version(have) != Version(wanted):
            out.append(f"{name}: {have} installed, {wanted} pinned")
    return out


def local_package_differences(root: Path = ROOT) -> list[str]:
    """Is the model package installed in editable mode from `root`, as pyproject.toml
    declares it now (name, version, dependencies)?"""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    name = project["name"]
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return [f"{name}: not installed (-e .)"]
    out = []
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    expected_url = root.resolve().as_uri()
    if direct.get("url") != expected_url or not direct.get("dir_info", {}).get("editable"):
        out.append(f"{name}: installed from {direct.get('url', 'an index')}, "
                   f"not in editable mode from {expected_url}")
    if Version(dist.version) != Version(project["version"]):
        out.append(f"{name}: {dist.version} installed, {project['version']} in pyproject.toml")
    declared = sorted(str(Requirement(r)) for r in project.get("dependencies", []))
    recorded = sorted(str(Requirement(r)) for r in dist.requires or [])
    if declared != recorded:
        out.append(f"{name}: installed with dependencies {recorded}, pyproject.toml says {declared}")
    return out


def postbuild_hash(root: Path = ROOT) -> str:
    return hashlib.sha256((root / "postBuild").read_bytes()).hexdigest()


def postbuild_differences(root: Path = ROOT) -> list[str]:
    if not POSTBUILD_HASH.exists():
        return ["postBuild: never run in this venv"]
    if POSTBUILD_HASH.read_text().strip() != postbuild_hash(root):
        return ["postBuild: changed since it last ran"]
    return []


def pip(*args: str, quiet: bool = True) -> None:
    run = subprocess.run([sys.executable, "-m", "pip", *args, *["--quiet"] * quiet,
                          "--disable-pip-version-check"], cwd=ROOT)
    if run.returncode != 0:
        raise SystemExit(f"set-up FAILED: `pip {' '.join(args[:3])} ...` exited with status "
                         f"{run.returncode} (its error is above)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report what differs")
    parser.add_argument("--also", action="append", default=[], metavar="FILE",
                        help="pins of another requirements file as well (no -e . there)")
    args = parser.parse_args(argv)
    if sys.prefix == sys.base_prefix:
        raise SystemExit("setup_env.py: run it with the venv's Python (.venv/bin/python)")

    pins, editable = read_requirements()
    for extra in args.also:
        extra_pins, extra_editable = read_requirements(ROOT / extra)
        if extra_editable:
            raise SystemExit(f"{extra}: `-e .` belongs in requirements.txt only")
        pins.update(extra_pins)
    pinned = pin_differences(pins)
    local = local_package_differences() if editable else []
    post = postbuild_differences()
    differences = pinned + local + post
    if not differences:
        print(f"set-up: {Path(sys.prefix).name} matches requirements.txt ({len(pins)} pins"
              f"{', -e .' if editable else ''}) and postBuild; nothing to install")
        return 0
    print("set-up: " + "\n        ".join(differences))
    if args.check:
        return 1

    if pinned:  # from the registries, like Binder (which runs pip on requirements.txt)
        pip("install", "--upgrade", "pip")
        pip("install", *(f"{name}=={version}" for name, version in pins.items()))
    if editable and local:
        # the build backend (setuptools) is pinned above: no download into an isolated
        # build environment, so this works offline; pip checks it meets pyproject.toml
        pip("install", "--no-build-isolation", "--check-build-dependencies", "--no-deps", "-e", ".")
    if post:  # the JupyterLab setting Binder gets: open chapter .md files as notebooks
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        subprocess.run(["bash", "postBuild"], check=True, cwd=ROOT, env=env)
        POSTBUILD_HASH.write_text(postbuild_hash() + "\n")

    left = pin_differences(pins) + (local_package_differences() if editable else []) + \
        postbuild_differences()
    if left:
        print("set-up FAILED, still different:\n  " + "\n  ".join(left), file=sys.stderr)
        return 1
    pip("check", quiet=False)  # the installed packages' own requirements are met
    print("set-up: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
