"""The environment: Binder, CI and the Makefile use the same Python, and the set-up needs no
network once .venv matches requirements.txt, pyproject.toml and postBuild."""

import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import setup_env

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def runtime_python() -> tuple[int, int]:
    """The Python Binder (repo2docker) installs: runtime.txt, `python-X.Y`."""
    match = re.fullmatch(r"python-(\d+)\.(\d+)", (ROOT / "runtime.txt").read_text().strip())
    assert match, "runtime.txt must read python-X.Y"
    return int(match[1]), int(match[2])


def lowest_python() -> tuple[int, int]:
    requires = PYPROJECT["project"]["requires-python"]
    match = re.fullmatch(r">=\s*(\d+)\.(\d+)", requires)
    assert match, f"requires-python should be '>=X.Y', not {requires!r}"
    return int(match[1]), int(match[2])


def test_binder_ci_and_the_makefile_use_the_same_python():
    makefile = (ROOT / "Makefile").read_text()
    check = re.search(r"sys\.version_info < \((\d+), (\d+)\)", makefile)
    assert check, "the Makefile's Python version check is gone"
    assert (int(check[1]), int(check[2])) == lowest_python(), \
        "the Makefile and pyproject.toml's requires-python disagree on the oldest Python"
    assert f"Python {lowest_python()[0]}.{lowest_python()[1]}+" in (ROOT / "README.md").read_text()
    runtime = runtime_python()
    assert runtime >= lowest_python(), "runtime.txt names a Python that pyproject.toml refuses"
    # the tests run where CI runs them (`make test` with python3): Binder must get that Python
    assert sys.version_info[:2] == runtime, (
        f"the tests run on Python {sys.version_info[0]}.{sys.version_info[1]}, but Binder would "
        f"install {runtime[0]}.{runtime[1]} (runtime.txt)")


def test_every_pinned_package_supports_binders_python_and_the_oldest_allowed():
    pins, _ = setup_env.read_requirements()
    versions = {".".join(map(str, runtime_python())), ".".join(map(str, lowest_python()))}
    for name in pins:
        requires = metadata.metadata(name).get("Requires-Python")
        for version in versions if requires else ():
            assert SpecifierSet(requires).contains(Version(version)), \
                f"{name} {pins[name]} needs Python {requires}, not {version}"


def test_the_build_backend_is_pinned_so_the_model_package_installs_offline():
    pins, editable = setup_env.read_requirements()
    assert editable, "requirements.txt installs the model package with `-e .`"
    for requirement in map(Requirement, PYPROJECT["build-system"]["requires"]):
        name = setup_env.normalize(requirement.name)
        assert name in pins, f"{name} (build-system.requires) is not pinned in requirements.txt"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} vs {requirement}"


def test_setup_reads_pins_and_reports_differences(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\nPyYAML==6.0.4  # why\n\n-e .\n")
    assert setup_env.read_requirements(requirements) == ({"pyyaml": "6.0.4"}, True)
    requirements.write_text("numpy>=2\n")
    with pytest.raises(SystemExit, match="only `name==version`"):
        setup_env.read_requirements(requirements)
    installed = metadata.version("pytest")
    assert setup_env.pin_differences({"pytest": installed}) == []
    assert setup_env.pin_differences({"pytest": "0.1", "no-such-package-here": "1.0"}) == [
        f"pytest: {installed} installed, 0.1 pinned", "no-such-package-here: not installed (1.0 pinned)"]


def site_packages_listing() -> dict[str, int]:
    """Every entry of site-packages with its modification time: an install or removal of
    any distribution changes it."""
    folders = {Path(p) for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix)}
    return {str(entry): entry.stat().st_mtime_ns for folder in folders for entry in folder.iterdir()}


@pytest.mark.skipif(Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
                    reason="runs in this checkout's own .venv (as `make test` does)")
def test_setup_needs_no_network_when_everything_is_installed():
    """`make setup` after the requirement files were touched (as a `git pull` does), with
    pip cut off from every index and wheel folder: it succeeds and installs nothing."""
    for name in ("requirements.txt", "pyproject.toml", "postBuild"):
        os.utime(ROOT / name)
    before = site_packages_listing()
    env = {key: value for key, value in os.environ.items()
           if key not in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")}
    env.update(PIP_CONFIG_FILE="/dev/null", PIP_NO_INDEX="1")
    run = subprocess.run(["make", "--no-print-directory", "setup"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "nothing to install" in run.stdout, run.stdout + run.stderr
    assert site_packages_listing() == before
