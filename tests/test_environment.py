"""The environment: the set-up needs no network once .venv matches requirements.txt,
pyproject.toml and postBuild."""

import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import setup_env

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


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
