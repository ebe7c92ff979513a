"""Every model parameter has units and a source that exists in references.bib."""

import importlib
import pkgutil
import re
from pathlib import Path

import pybtex.database
import pytest

import tmebook
from tmebook.parameters import Parameter, check_array, check_positive, parameter_table

ROOT = Path(__file__).resolve().parent.parent
BIB_KEYS = set(pybtex.database.parse_file(ROOT / "references.bib").entries)
MODULES = [importlib.import_module(f"tmebook.{m.name}") for m in pkgutil.iter_modules(tmebook.__path__)]
ALL_PARAMETERS = [(m.__name__, p) for m in MODULES for p in getattr(m, "PARAMETERS", {}).values()]


def test_there_are_parameters_to_check():
    assert len(ALL_PARAMETERS) >= 10


@pytest.mark.parametrize("module, p", ALL_PARAMETERS, ids=[f"{m}.{p.name}" for m, p in ALL_PARAMETERS])
def test_parameter_has_units_and_a_source(module, p):
    assert p.units.strip(), "units missing"
    assert p.description.strip() and p.where.strip()
    cited = set(re.findall(r"\{cite:[tp]\}`([^`]+)`", p.citation))
    for key in cited | ({p.source} if p.source else set()):
        assert key in BIB_KEYS, f"{key} not in references.bib"


def test_parameter_table_renders_every_row_with_its_citation():
    rows = [p for _, p in ALL_PARAMETERS]
    table = parameter_table(rows).splitlines()
    assert len(table) == len(rows) + 2
    sourced = next(p for p in rows if p.source)
    assert f"{{cite:t}}`{sourced.source}`" in parameter_table([sourced])
    assumed = next(p for p in rows if p.source is None)
    assert "assumption" in parameter_table([assumed])


@pytest.mark.parametrize("kwargs, message", [
    (dict(value=float("nan")), "finite"),
    (dict(low=1.0), "both"),
    (dict(value=5.0, low=0.0, high=1.0), "outside"),
])
def test_malformed_parameter_records_are_refused(kwargs, message):
    base = dict(name="k", symbol="k", value=0.5, units="1/s", description="d", source=None, where="w")
    with pytest.raises(ValueError, match=message):
        Parameter(**{**base, **kwargs})


def test_checks_name_the_parameter():
    with pytest.raises(ValueError, match="rate"):
        check_positive("rate", -1)
    with pytest.raises(ValueError, match="rate"):
        check_positive("rate", "fast")
    with pytest.raises(ValueError, match="points"):
        check_array("points", [[1.0, 2.0]], shape_tail=(3,))


def test_with_defaults_fills_only_missing_values():
    from tmebook import hypoxia
    from tmebook.parameters import with_defaults

    values = with_defaults(hypoxia.PARAMETERS, p_vessel=None, consumption=3.0)
    assert values == {"p_vessel": hypoxia.PARAMETERS["p_vessel"].value, "consumption": 3.0}
    with pytest.raises(KeyError):
        with_defaults(hypoxia.PARAMETERS, not_a_parameter=None)
