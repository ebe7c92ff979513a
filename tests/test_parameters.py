"""Every model parameter has units and a source that exists in references.bib."""

import importlib
import pkgutil
import re
from pathlib import Path

import pybtex.database
import pytest

import tmebook
import numpy as np

from tmebook.parameters import (
    ATOL, BOOLEAN, FRACTION, REAL, RTOL, SEED, Array, Function, Instance, Optional, Parameter,
    ParameterSet, Relation, Sequence, Values, checked, count, interval, nonnegative, one_of,
    parameter_appendix, parameter_table, positive, read_only, subset_of,
)

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


def test_the_appendix_lists_every_record_once_under_its_own_model():
    """The back matter's appendix (parameters.md): every module with records is named, and
    every distinct record has exactly one row (a module that only composes others names
    them instead of repeating their rows)."""
    text = parameter_appendix()
    with_records = [m for m in MODULES if isinstance(getattr(m, "PARAMETERS", None), ParameterSet)]
    for module in with_records:
        assert f"**`{module.__name__}`**" in text
    records = {id(p): p for _, p in ALL_PARAMETERS}.values()
    rows = [line for line in text.splitlines() if line.startswith("| $")]
    assert len(rows) == len(records)
    for p in records:
        assert sum(row.startswith(f"| ${p.symbol}$ | {p.description} |") for row in rows) >= 1
    composed = "The parameters of the models it composes"
    assert composed in text  # angiogenesis: growth, pressure and sprouting


@pytest.mark.parametrize("kwargs, message", [
    (dict(value=float("nan")), "finite"),
    (dict(low=1.0), "both"),
    (dict(value=5.0, low=0.0, high=1.0), "outside"),
    (dict(value=-1.0), "domain"),
    (dict(low=-1.0, high=1.0), "slider range"),
])
def test_malformed_parameter_records_are_refused(kwargs, message):
    base = dict(name="k", symbol="k", value=0.5, units="1/s", description="d", source=None,
                where="w", domain=positive(at_most=10.0))
    with pytest.raises(ValueError, match=message):
        Parameter(**{**base, **kwargs})


# --- the contract's primitives ---------------------------------------------------------------

DOMAINS = [positive(), nonnegative(10.0), count(2, 100), SEED, FRACTION, RTOL, ATOL, REAL,
           interval(0.0, 1.0, open_high=True), one_of("a", "b"), subset_of("x", "y"), BOOLEAN]


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.describe()[:30])
def test_a_domain_holds_its_example_and_refuses_its_bad_values(domain):
    assert domain.contains(domain.example())
    for bad in domain.bad_values():
        with pytest.raises((TypeError, ValueError)) as error:
            domain.check("rate", bad)
        assert str(error.value).startswith("rate"), str(error.value)


@pytest.mark.parametrize("value, converted", [(3, 3.0), (np.float32(0.5), 0.5), (np.array(2.0), 2.0)])
def test_a_real_domain_converts_to_float(value, converted):
    result = positive().check("x", value)
    assert result == converted and type(result) is float


def test_open_and_closed_bounds():
    assert not positive().contains(0.0) and nonnegative().contains(0.0)
    half_open = interval(0.0, 1.0, open_high=True)
    assert half_open.contains(0.0) and not half_open.contains(1.0)
    assert count(1, 5).check("n", 5.0) == 5 and not count(1, 5).contains(6)
    assert not count().contains(2.5) and not SEED.contains(None) and not SEED.contains(-1)


def test_the_error_says_what_is_allowed_and_why():
    domain = positive(at_most=100.0, why="a longer run would take minutes")
    with pytest.raises(ValueError, match=r"t_end must be a finite real > 0 and <= 100 \(a longer run"):
        domain.check("t_end", 1e300)
    with pytest.raises(ValueError, match="one of 'planar', 'sphere'"):
        one_of("planar", "sphere").check("geometry", "cube")


def test_array_specs_check_shape_elements_and_size():
    points = Array(FRACTION, shape=(None, 2))
    assert points.check("y0", [[0.1, 0.2]]).shape == (1, 2)
    for bad, message in [([[0.1, 0.2, 0.3]], "shape"), ([], "empty"), ([[0.1, np.nan]], "finite"),
                         ([[0.1, 2.0]], "each"), (0.5, "single number")]:
        with pytest.raises(ValueError, match=message):
            points.check("y0", bad)
    with pytest.raises(TypeError, match="^y0"):
        points.check("y0", "abc")
    with pytest.raises(ValueError, match="at most 4"):
        Array(at_most=4).check("x", np.zeros(5))
    assert Array(scalar_ok=True).check("x", 2.0).ndim == 0


def test_sequence_optional_instance_and_function_specs():
    assert Sequence(positive()).check("doses", [1, 2]) == (1.0, 2.0)
    with pytest.raises(ValueError, match=r"^doses\[1\]"):
        Sequence(positive()).check("doses", [1, -2])
    assert Optional(positive()).check("thickness", None) is None
    with pytest.raises(TypeError, match="^course"):
        Instance(dict).check("course", [])
    with pytest.raises(TypeError, match="^drive"):
        Function().check("drive", 3)


SET = ParameterSet([
    Parameter("rate", "k", 1.0, "1/day", "a rate", None, "w", low=0.5, high=2.0,
              domain=positive(at_most=1e3, why="stiff beyond")),
    Parameter("share", "f", 0.5, "1", "a share", None, "w", domain=FRACTION),
])


def test_a_parameter_set_resolves_overrides_one_way():
    values = SET.resolve(rate=2)
    assert values.rate == 2.0 and values["share"] == 0.5 and dict(values) == {"rate": 2.0, "share": 0.5}
    assert values.replace(share=1.0).share == 1.0 and values.share == 0.5
    assert values == SET.resolve(rate=2.0) and hash(values) == hash(SET.resolve(rate=2.0))
    with pytest.raises(ValueError, match="^speed is not a parameter of this model; known: rate, share"):
        SET.resolve(speed=1.0)
    with pytest.raises(ValueError, match="^share"):
        SET.resolve(share=1.5)
    with pytest.raises(AttributeError):
        values.rate = 3.0
    assert SET.default("rate") == 1.0


def test_a_model_class_derived_from_values_checks_its_constructor():
    class Model(Values, parameters=SET):
        def doubled(self):
            return 2 * self.rate

    assert Model(rate=3.0).doubled() == 6.0 and Model().rate == 1.0
    with pytest.raises(ValueError, match="^rate"):
        Model(rate=-1.0)
    assert isinstance(Model(rate=3.0).replace(share=0.1), Model)


def test_checked_fills_defaults_checks_in_order_and_tests_relations():
    calls = []

    @checked(SET, Relation("t_end", lambda t_start, t_end: t_end > t_start, "must exceed t_start"),
             t_start=nonnegative(), t_end=positive(at_most=100.0), params=SET)
    def run(t_start, t_end, rate=None, params=None):
        calls.append((t_start, t_end, rate, params))
        return rate

    assert run(0, 1) == 1.0 and run(0, 1, rate=2) == 2.0
    assert calls[0][3] == SET.resolve()
    for kwargs, first_word in [(dict(t_start=-1, t_end=1), "t_start"),
                               (dict(t_start=0, t_end=1e300), "t_end"),
                               (dict(t_start=0, t_end=1, rate=np.nan), "rate"),
                               (dict(t_start=0, t_end=1, params={"rate": 1}), "params"),
                               (dict(t_start=5, t_end=1), "t_end")]:
        with pytest.raises((ValueError, TypeError)) as error:
            run(**kwargs)
        assert str(error.value).startswith(first_word), error.value
    assert len(calls) == 2, "no bad call reached the body"
    assert set(run.__contract__) == {"t_start", "t_end", "rate", "params"}


def test_an_argument_without_a_domain_is_refused_at_import():
    with pytest.raises(TypeError, match="'speed' has no declared domain"):
        @checked(SET)
        def f(speed):
            return speed


def test_read_only_results_cannot_be_changed():
    array = read_only(np.arange(3.0))
    with pytest.raises(ValueError):
        array[0] = 1.0


def test_an_example_can_be_given_where_the_middle_would_break_a_relation():
    radius = positive(at_most=1e7).with_example(5.0)
    assert radius.example() == 5.0 and radius == positive(at_most=1e7)
    with pytest.raises(ValueError, match="outside"):
        positive().with_example(-1.0)
    times = Array(nonnegative(), shape=(None,), make_example=lambda: np.array([0.0, 0.5, 1.0]))
    assert np.all(np.diff(times.example()) > 0)


def test_a_flag_is_a_boolean_not_a_number():
    # 0 == False and 1 == True in Python; a flag given as 1 is a type mistake, said as such
    assert BOOLEAN.check("flag", True) is True and BOOLEAN.check("flag", np.bool_(False)) is False
    for number in (0, 1, 1.0):
        with pytest.raises(TypeError, match="flag"):
            BOOLEAN.check("flag", number)


def test_a_one_dimensional_shape_is_written_as_a_tuple():
    assert "of shape (3,)" in Array(FRACTION, shape=(3,)).describe()
    assert "of shape (n, 2)" in Array(FRACTION, shape=(None, 2)).describe()
