"""The model contract: parameters with units, sources and domains, and checked inputs.

Every model module follows one contract, so a maintainer who knows one module knows them all:

* **Parameters.** The module declares its parameters once, as `Parameter` records (value,
  units, source, slider range and the `Domain` of values the model accepts), gathered in one
  `ParameterSet` named `PARAMETERS`. The chapters draw their parameter tables, the widgets
  their sliders and the back-matter appendix its rows from these records.
* **Overrides.** A function that uses model parameters takes them as keywords named as in
  the set; `None` (the default) means the recorded value. A function that needs the whole
  set takes `params`, a `Values` made by `PARAMETERS.resolve(name=value, ...)` (or a module
  class derived from `Values`). Either way the set fills the defaults and checks each value
  against its domain: there is one way to override a parameter.
* **Checked inputs.** Every public function carries `@checked(PARAMETERS, arg=spec, ...)`.
  The decorator refuses, before any model work, a value outside its declared domain with a
  `ValueError` (or `TypeError` for the wrong kind of value) whose message starts with the
  argument's name. An argument without a declared domain is an error when the module is
  imported, so no input goes unchecked. The function bodies keep only the model.

Domains bound what could run away (time spans, grid sizes, rates, tolerances); each bound
is written with its reason.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

# --- domains --------------------------------------------------------------------------------


def _number(name: str, value) -> float:
    """`value` as a finite float; bool and strings are refused (they are not quantities)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.ndarray)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if isinstance(value, np.ndarray):
        if value.ndim != 0 or not np.issubdtype(value.dtype, np.number) or np.issubdtype(
                value.dtype, np.complexfloating):
            raise TypeError(f"{name} must be a real number, got an array of shape {value.shape}")
        value = value.item()
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


@dataclass(frozen=True)
class Domain:
    """The values a scalar argument or parameter may take.

    A closed or half-open interval of finite reals (`low`/`high`, `open_low`/`open_high`),
    optionally integers only; or one of a list of `choices`; or a tuple of distinct choices
    (`subset=True`). `why` gives the reason for a bound that is not physical (for instance
    a time span bounded so that a run cannot go on for hours).
    """

    low: float = -math.inf
    high: float = math.inf
    open_low: bool = False
    open_high: bool = False
    integer: bool = False
    choices: tuple | None = None
    subset: bool = False
    why: str = ""
    #: A valid example where the midpoint would break a Relation with another argument.
    make_example: Callable[[], Any] | None = field(default=None, compare=False)

    def describe(self) -> str:
        if self.choices is not None:
            listed = ", ".join(repr(c) for c in self.choices)
            return (f"a tuple of distinct names from ({listed})" if self.subset
                    else f"one of {listed}")
        kind = "an integer" if self.integer else "a finite real"
        parts = []
        if self.low > -math.inf:
            parts.append(f"{'>' if self.open_low else '>='} {self.low:g}")
        if self.high < math.inf:
            parts.append(f"{'<' if self.open_high else '<='} {self.high:g}")
        text = kind + (" " + " and ".join(parts) if parts else "")
        return text + (f" ({self.why})" if self.why else "")

    def check(self, name: str, value):
        """The value converted (float, int, str or tuple), or a clear error naming `name`."""
        if self.choices is not None:
            return self._check_choice(name, value)
        if self.integer:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
                if isinstance(value, (numbers.Real, np.floating)) and not isinstance(value, bool) \
                        and math.isfinite(float(value)) and float(value) == int(value):
                    value = int(value)
                else:
                    raise TypeError(f"{name} must be {self.describe()}, got {value!r}")
            number = int(value)
        else:
            number = _number(name, value)
        too_low = number <= self.low if self.open_low else number < self.low
        too_high = number >= self.high if self.open_high else number > self.high
        if too_low or too_high:
            raise ValueError(f"{name} must be {self.describe()}, got {value!r}")
        return number

    def _check_choice(self, name: str, value):
        if self.subset:
            if isinstance(value, str) or not isinstance(value, (tuple, list)):
                raise TypeError(f"{name} must be {self.describe()}, got {value!r}")
            unknown = [v for v in value if v not in self.choices]
            if unknown or len(set(value)) != len(value):
                raise ValueError(f"{name} must be {self.describe()}, got {value!r}")
            return tuple(value)
        if all(isinstance(c, bool) for c in self.choices):
            # 0 == False and 1 == True in Python: a flag must be a real boolean
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be {self.describe()}, got {value!r}")
            value = bool(value)
        try:
            known = value in self.choices
        except TypeError:  # unhashable or uncomparable
            known = False
        if not known:
            raise ValueError(f"{name} must be {self.describe()}, got {value!r}")
        return value

    def with_example(self, value) -> "Domain":
        """This domain with `value` (inside it) as its example: a typical value of the
        argument, where the middle of the domain would break a Relation."""
        if not self.contains(value):
            raise ValueError(f"example {value!r} outside {self.describe()}")
        return replace(self, make_example=lambda: value)

    def contains(self, value) -> bool:
        try:
            self.check("value", value)
        except (TypeError, ValueError):
            return False
        return True

    def example(self):
        """A value inside the domain (for the contract test and the probe)."""
        if self.make_example is not None:
            return self.make_example()
        if self.choices is not None:
            return self.choices[:1] if self.subset else self.choices[0]
        finite_low, finite_high = self.low > -math.inf, self.high < math.inf
        if finite_low and finite_high:
            value = (self.low + self.high) / 2
        elif finite_low:
            value = self.low + 1.0
        elif finite_high:
            value = self.high - 1.0
        else:
            value = 1.0
        if self.integer:
            value = math.floor(value)
            value = value if self.contains(value) else value + 1
        return int(value) if self.integer else value

    def bad_values(self) -> list:
        """Values outside the domain, of every kind the contract test feeds."""
        if self.choices is not None:
            bad = ["no such name", 1.5, None]
            return bad + (["a string, not a tuple", ("no such name",)] if self.subset else [])
        bad = [math.nan, math.inf, -math.inf, "abc", None, [1.0, 2.0], True]
        if self.low > -math.inf:
            bad += [self.low if self.open_low else self.low - max(1.0, abs(self.low)), -1e300]
        if self.high < math.inf:
            bad += [self.high if self.open_high else self.high + max(1.0, abs(self.high)), 1e300]
        if self.integer:
            bad += [self.example() + 0.5]
        return bad


def interval(low: float = -math.inf, high: float = math.inf, *, open_low=False, open_high=False,
             why: str = "") -> Domain:
    return Domain(low, high, open_low, open_high, why=why)


def positive(at_most: float = math.inf, *, why: str = "") -> Domain:
    """Reals > 0 (and <= at_most)."""
    return Domain(0.0, at_most, open_low=True, why=why)


def nonnegative(at_most: float = math.inf, *, why: str = "") -> Domain:
    """Reals >= 0 (and <= at_most)."""
    return Domain(0.0, at_most, why=why)


def count(at_least: int = 1, at_most: float = math.inf, *, why: str = "") -> Domain:
    """Integers in [at_least, at_most]."""
    return Domain(at_least, at_most, integer=True, why=why)


def one_of(*choices) -> Domain:
    return Domain(choices=tuple(choices))


def subset_of(*choices) -> Domain:
    return Domain(choices=tuple(choices), subset=True)


#: A finite real with no bound: only for a quantity whose sign and size are both free
#: (say so in the docstring of the function that uses it).
REAL = Domain()
#: A share of a whole, a probability or a saturation: [0, 1].
FRACTION = Domain(0.0, 1.0)
PROBABILITY = FRACTION
#: Seeds of numpy's random generator: a non-negative integer, never None (runs are
#: deterministic).
SEED = Domain(0, 2**32 - 1, integer=True)
BOOLEAN = Domain(choices=(False, True))
#: Relative and absolute solver tolerances. Below 1e-13 a step cannot meet them in double
#: precision (the solver would shrink its step for ever); above 0.1 the answer means nothing.
RTOL = Domain(1e-13, 0.1, why="solver tolerance: below 1e-13 it cannot be met, above 0.1 it means nothing")
ATOL = Domain(1e-14, 1.0, why="absolute solver tolerance: below 1e-14 a solution near zero "
              "cannot meet it (the solver stalls), above 1 it means nothing")


@dataclass(frozen=True)
class ZeroOr(Domain):
    """0, or the values from `floor` to `high`: a quantity that is absent, or present with at
    least `floor` (a population of at least one cell, a constant that is 0 or resolvable)."""

    floor: float = 0.0

    def describe(self) -> str:
        return (f"0 or a finite real >= {self.floor:g} and <= {self.high:g}"
                + (f" ({self.why})" if self.why else ""))

    def check(self, name: str, value):
        number = super().check(name, value)
        if 0.0 < number < self.floor:
            raise ValueError(f"{name} must be {self.describe()}, got {value!r}")
        return number

    def bad_values(self) -> list:
        return super().bad_values() + [self.floor / 2, 1e-300]


def zero_or(at_least: float, at_most: float = math.inf, *, why: str = "") -> ZeroOr:
    """0, or reals in [at_least, at_most]."""
    return ZeroOr(0.0, at_most, floor=at_least, why=why)


# --- specs for arguments that are not single numbers --------------------------------------


@dataclass(frozen=True)
class Array:
    """A non-empty array of finite numbers, each in `element`, with an optional shape.

    `shape` gives each dimension's length, None for any length: (None, 2) is a list of
    points. `scalar_ok` also accepts a single number (returned as a 0-d array, as numpy
    functions do). `at_most` bounds the number of elements (a grid that cannot run away).
    """

    element: Domain = REAL
    shape: tuple | None = None
    scalar_ok: bool = False
    at_most: int = 10_000_000
    why: str = ""
    #: A valid example where a constant array would break a Relation (a uniform grid, times
    #: that increase): the contract test and the probe call with it while varying another
    #: argument, and the refusal must then name the argument they vary.
    make_example: Callable[[], Any] | None = field(default=None, compare=False)

    def describe(self) -> str:
        shape = "" if self.shape is None else " of shape (" + ", ".join(
            "n" if s is None else str(s) for s in self.shape) + ("," if len(self.shape) == 1 else "") + ")"
        return f"a non-empty array{shape} of numbers, each {self.element.describe()}"

    def check(self, name: str, value) -> np.ndarray:
        if isinstance(value, (str, bytes, dict, bool)) or value is None:
            raise TypeError(f"{name} must be {self.describe()}, got {value!r}")
        try:
            array = np.array(value, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be {self.describe()}, got {value!r}") from None
        if array.ndim == 0 and not self.scalar_ok:
            raise ValueError(f"{name} must be {self.describe()}, got a single number")
        if self.shape is not None and array.ndim != 0:
            if array.ndim != len(self.shape) or any(
                    s is not None and s != n for s, n in zip(self.shape, array.shape)):
                raise ValueError(f"{name} must be {self.describe()}, got shape {array.shape}")
        if array.size == 0:
            raise ValueError(f"{name} must be {self.describe()}, got an empty array")
        if array.size > self.at_most:
            raise ValueError(f"{name} must hold at most {self.at_most} numbers, got {array.size}"
                             + (f" ({self.why})" if self.why else ""))
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must contain only finite numbers")
        element = self.element
        if element.integer and np.any(array != np.round(array)):
            raise ValueError(f"{name} must hold integers")
        low_bad = array <= element.low if element.open_low else array < element.low
        high_bad = array >= element.high if element.open_high else array > element.high
        if np.any(low_bad | high_bad):
            raise ValueError(f"{name} must hold numbers each {element.describe()}")
        return array.astype(np.intp) if element.integer else array

    def example(self):
        if self.make_example is not None:
            return self.make_example()
        shape = tuple(3 if s is None else s for s in (self.shape or (3,)))
        return np.full(shape, float(self.element.example()))

    def bad_values(self) -> list:
        good = np.asarray(self.example(), dtype=float)
        bad = [[], "abc", None, np.full(good.shape, np.nan), np.full(good.shape, np.inf)]
        if not self.scalar_ok:
            bad.append(float(good.flat[0]))
        if self.shape is not None and len(self.shape) > 1 or (self.shape and self.shape[0]):
            bad.append(np.zeros((2, 2, 2)))
        for outside in (v for v in self.element.bad_values() if isinstance(v, float)
                        and math.isfinite(v)):
            bad.append(np.full(good.shape, outside))
        return bad


class Either:
    """A value accepted by the first of `specs` that accepts it: a number or a drive, one
    state or many. Refused when every spec refuses it; the message names the argument."""

    def __init__(self, *specs):
        self.specs = specs

    def check(self, name: str, value):
        errors = []
        for spec in self.specs:
            try:
                return spec.check(name, value)
            except (TypeError, ValueError) as error:
                errors.append(error)
        # a value of the right kind but out of bounds is a ValueError, as for a single spec
        kind = ValueError if any(isinstance(e, ValueError) for e in errors) else TypeError
        raise kind("; or ".join(str(e) for e in errors if isinstance(e, kind))) from None

    def accepts(self, value) -> bool:
        try:
            self.check("value", value)
        except (TypeError, ValueError):
            return False
        return True

    def example(self):
        return self.specs[0].example()

    def bad_values(self) -> list:
        return [v for spec in self.specs for v in spec.bad_values() if not self.accepts(v)]


@dataclass(frozen=True)
class Optional:
    """`None` (with the meaning the docstring gives) or a value of `spec`."""

    spec: Any

    def check(self, name, value):
        return None if value is None else self.spec.check(name, value)

    def example(self):
        return None

    def bad_values(self) -> list:
        return [v for v in self.spec.bad_values() if v is not None]


@dataclass(frozen=True)
class Instance:
    """An instance of `kind` (a class of the model package); `example()` makes one."""

    kind: type
    make_example: Callable[[], Any] | None = None

    def check(self, name, value):
        if not isinstance(value, self.kind):
            raise TypeError(f"{name} must be a {self.kind.__name__}, got {value!r}")
        return value

    def example(self):
        if self.make_example is None:
            raise LookupError(f"no example {self.kind.__name__}")
        return self.make_example()

    def bad_values(self) -> list:
        return ["abc", 1.0, None]


@dataclass(frozen=True)
class Sequence:
    """A non-empty list or tuple of values of `item` (at most `at_most`), returned as a tuple."""

    item: Any
    at_least: int = 1
    at_most: int = 1000

    def check(self, name, value):
        if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple)):
            raise TypeError(f"{name} must be a list or tuple, got {value!r}")
        if not self.at_least <= len(value) <= self.at_most:
            raise ValueError(f"{name} must hold {self.at_least} to {self.at_most} items, "
                             f"got {len(value)}")
        return tuple(self.item.check(f"{name}[{i}]", v) for i, v in enumerate(value))

    def example(self):
        return (self.item.example(),) * max(1, self.at_least)

    def bad_values(self) -> list:
        bad = ["abc", None, 1.0]
        if self.at_least > 0:
            bad.append([])
        return bad + [[v] for v in self.item.bad_values()[:3]]


@dataclass(frozen=True)
class Function:
    """A callable (a drive, a drawing function); `example()` returns one."""

    make_example: Callable[[], Any] | None = None

    def check(self, name, value):
        if not callable(value):
            raise TypeError(f"{name} must be callable, got {value!r}")
        return value

    def example(self):
        if self.make_example is None:
            raise LookupError("no example function")
        return self.make_example()

    def bad_values(self) -> list:
        return ["abc", 1.0, None]


# --- parameters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """A model parameter: value, units, where the value comes from, and what it may be.

    `source` is a BibTeX key from references.bib, or None when the value is a modelling
    assumption; `where` says where in the paper (table, equation, page) or, for an
    assumption, why the value was chosen. `low`/`high` bound the widget slider; `domain`
    is every value the model accepts (the slider lies inside it).
    """

    name: str
    symbol: str
    value: Any
    units: str
    description: str
    source: str | None
    where: str
    low: float | None = None
    high: float | None = None
    domain: Domain | None = None

    def __post_init__(self):
        if isinstance(self.value, numbers.Real) and not math.isfinite(self.value):
            raise ValueError(f"parameter {self.name!r}: value must be finite, got {self.value}")
        if (self.low is None) != (self.high is None):
            raise ValueError(f"parameter {self.name!r}: give both low and high, or neither")
        if self.domain is None:
            raise ValueError(f"parameter {self.name!r}: declare its domain")
        if not self.domain.contains(self.value):
            raise ValueError(f"parameter {self.name!r}: value {self.value!r} outside its domain, "
                             f"{self.domain.describe()}")
        if self.low is not None:
            if not (self.low <= self.value <= self.high):
                raise ValueError(f"parameter {self.name!r}: value {self.value} outside its range "
                                 f"[{self.low}, {self.high}]")
            if not (self.domain.contains(self.low) and self.domain.contains(self.high)):
                raise ValueError(f"parameter {self.name!r}: slider range [{self.low}, {self.high}] "
                                 f"outside its domain, {self.domain.describe()}")

    @property
    def citation(self) -> str:
        """The source as MyST markup: a citation with its location, or 'assumption'."""
        if self.source is None:
            return f"assumption: {self.where}"
        return f"{{cite:t}}`{self.source}`, {self.where}"

    def check(self, name: str, value):
        """`value` checked against the domain; None means the recorded value."""
        return self.value if value is None else self.domain.check(name, value)

    def example(self):
        return self.value

    def bad_values(self) -> list:
        return [v for v in self.domain.bad_values() if v is not None]


class ParameterSet(Mapping):
    """A module's parameters by name (a read-only mapping of `Parameter` records)."""

    def __init__(self, records: Iterable[Parameter]):
        self._records = {}
        for record in records:
            if record.name in self._records:
                raise ValueError(f"parameter {record.name!r} declared twice")
            self._records[record.name] = record

    def __getitem__(self, name: str) -> Parameter:
        return self._records[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return f"ParameterSet({', '.join(self._records)})"

    def default(self, name: str):
        """The recorded value of parameter `name`."""
        return self._known(name).value

    def _known(self, name: str) -> Parameter:
        if name not in self._records:
            raise ValueError(f"{name} is not a parameter of this model; "
                             f"known: {', '.join(self._records)}")
        return self._records[name]

    def check_overrides(self, overrides: Mapping) -> dict:
        """Each given value checked against its record's domain; unknown names refused."""
        if not isinstance(overrides, Mapping):
            raise TypeError(f"overrides must be a mapping of parameter names to values, "
                            f"got {overrides!r}")
        return {name: self._known(name).check(name, value) for name, value in overrides.items()}

    def resolve(self, **overrides) -> "Values":
        """All values: the recorded ones, with `overrides` (checked) in their place."""
        return Values(self, **overrides)

    # A ParameterSet is also the spec of a `params` argument: None means the defaults.
    def check(self, name: str, value) -> "Values":
        if value is None:
            return self.resolve()
        if isinstance(value, Values) and value.parameters is self:
            return value
        raise TypeError(f"{name} must be a set of this model's values (from resolve()), "
                        f"got {value!r}")

    def example(self):
        return None

    def bad_values(self) -> list:
        return ["abc", 1.0, {"no_such_parameter": 1.0}]


class Values(Mapping):
    """A checked, read-only set of parameter values: `v.name` or `v["name"]`.

    Made by `ParameterSet.resolve(**overrides)`. A model module may derive a class from it
    to add the model's own methods (`class Game(Values, parameters=PARAMETERS)`); then
    `Game(beta=1.2)` resolves and checks in the same way.
    """

    parameters: ParameterSet | None = None

    def __init_subclass__(cls, parameters: ParameterSet | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if parameters is not None:
            cls.parameters = parameters

    def __init__(self, *args, **overrides):
        if type(self) is Values:
            (parameters,) = args
        else:
            if args:
                raise TypeError(f"{type(self).__name__} takes parameter values by name only")
            parameters = type(self).parameters
        checked_values = parameters.check_overrides(overrides)
        values = {name: checked_values.get(name, p.value) for name, p in parameters.items()}
        object.__setattr__(self, "parameters", parameters)
        object.__setattr__(self, "_values", values)
        # plain attributes, so that v.name in a solver's right-hand side is a fast lookup
        clash = [name for name in values if hasattr(type(self), name)]
        if clash:
            raise ValueError(f"parameter names {clash} clash with the names of {type(self).__name__}")
        self.__dict__.update(values)

    def __setattr__(self, name, value):
        raise AttributeError("parameter values are read-only: use replace(name=value)")

    def __getitem__(self, name: str):
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __hash__(self) -> int:
        return hash((type(self), tuple(self._values.items())))

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other._values == self._values

    def __repr__(self) -> str:
        changed = {k: v for k, v in self._values.items() if v != self.parameters[k].value}
        inner = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({inner})"

    def replace(self, **changes) -> "Values":
        """A copy with `changes` (checked)."""
        merged = {**self._values, **changes}
        if type(self) is Values:
            return Values(self.parameters, **merged)
        return type(self)(**merged)

    def as_dict(self) -> dict:
        return dict(self._values)


# --- the decorator --------------------------------------------------------------------------


def _short(value) -> str:
    """A value as an error message shows it: arrays by shape and range, not in full."""
    if isinstance(value, np.ndarray) and value.size > 6:
        return f"array of shape {value.shape} in [{value.min():g}, {value.max():g}]"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class Relation:
    """A condition between checked arguments, tested after each has passed its own spec.

    `holds` is called with the arguments its signature names; when it returns False the
    error names `blame`: f"{blame} {requirement}, got ...".
    """

    blame: str
    holds: Callable[..., bool]
    requirement: str

    def check(self, arguments: dict) -> None:
        names = inspect.signature(self.holds).parameters
        if not self.holds(**{n: arguments[n] for n in names}):
            shown = ", ".join(f"{n}={_short(arguments[n])}" for n in names)
            raise ValueError(f"{self.blame} {self.requirement}, got {shown}")


def broadcastable(*arrays, at_most: float = math.inf) -> bool:
    """True if the arrays (or scalars) broadcast together, to at most `at_most` numbers: the
    test of a `Relation` between array arguments that a function combines element by element."""
    try:
        shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    except ValueError:
        return False
    return int(np.prod(shape)) <= at_most


@dataclass(frozen=True)
class _Overrides:
    """The constructor of a `Values` class, as the contract test sees it: names of the set."""

    parameters: ParameterSet

    def check(self, name, value):
        return self.parameters.check_overrides(value)


def checked(parameters: ParameterSet | None = None, /, *relations: Relation, **specs) -> Callable:
    """Check every argument of the decorated function before it runs.

    Each argument's spec is the keyword of the same name here (a `Domain`, `Array`,
    `Optional`, `Instance`, `Sequence`, `Function` or a `ParameterSet` for a `params`
    argument), or else the `Parameter` record of that name in `parameters` (None means the
    recorded value). An argument with no
    spec is refused when the module is imported. `relations` are conditions between
    arguments (r_tissue > r_vessel), tested after the single checks. The specs are kept as
    `__contract__`, the relations as `__relations__`.
    """

    def decorate(function):
        signature = inspect.signature(function)
        contract = {}
        for name, argument in signature.parameters.items():
            if name in ("self", "cls"):
                continue
            if name in specs:
                contract[name] = specs[name]
            elif parameters is not None and name in parameters:
                contract[name] = parameters[name]
            else:
                raise TypeError(f"{function.__qualname__}: argument {name!r} has no declared domain")
        unknown = set(specs) - set(contract)
        unknown |= {n for r in relations for n in [r.blame, *inspect.signature(r.holds).parameters]
                    if n not in signature.parameters}
        if unknown:
            raise TypeError(f"{function.__qualname__}: specs for no argument: {sorted(unknown)}")

        @functools.wraps(function)
        def checked_function(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as error:
                raise TypeError(f"{function.__qualname__}: {error}") from None
            bound.apply_defaults()
            for name, spec in contract.items():
                bound.arguments[name] = spec.check(name, bound.arguments[name])
            for relation in relations:
                relation.check(bound.arguments)
            return function(*bound.args, **bound.kwargs)

        checked_function.__contract__ = contract
        checked_function.__relations__ = relations
        return checked_function

    return decorate


def slider_box_corners(parameters: ParameterSet, controls) -> list[dict]:
    """Every corner of a widget's slider box: each slider at its low or high end, each
    choice control at each of its choices (the settings a widget must answer quickly at)."""
    import itertools

    axes = []
    for name in controls:
        p = parameters[name]
        axes.append(p.domain.choices if p.domain is not None and p.domain.choices is not None
                    else (p.low, p.high))
    return [dict(zip(controls, values)) for values in itertools.product(*axes)]


def read_only(array: np.ndarray) -> np.ndarray:
    """A view of `array` that cannot be written: for results cached and handed out again."""
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


# --- reproductions --------------------------------------------------------------------------

#: How a published value was confirmed: read in the paper itself, in its abstract only,
#: taken from an independent re-implementation of the paper, or not confirmed at all.
CONFIRMATIONS = ("primary text", "abstract", "re-implementation", "not confirmed")


@dataclass(frozen=True)
class Reproduction:
    """A published result beside the book's, declared by the module that reproduces it.

    `ours` is computed by calling the model (never stored). Numeric rows agree when
    |ours - published| <= tolerance (published may be the midpoint of a published interval
    and tolerance its half-width; `basis` says why this tolerance). Outcome rows
    (tolerance None) agree when both are the same words. `where` is the place in the paper
    (table, figure, page, abstract); `confirmed` one of CONFIRMATIONS.
    """

    quantity: str
    published: float | str
    compute: Callable[[], float | str]
    source: str
    where: str
    tolerance: float | None
    basis: str
    confirmed: str
    published_text: str = ""

    def __post_init__(self):
        if self.confirmed not in CONFIRMATIONS:
            raise ValueError(f"confirmed must be one of {CONFIRMATIONS}, got {self.confirmed!r}")
        if (self.tolerance is None) != isinstance(self.published, str):
            raise ValueError(f"{self.quantity}: a numeric row needs a tolerance, an outcome row none")

    @functools.cached_property
    def ours(self) -> float | str:
        value = self.compute()
        return value if isinstance(value, str) else float(value)

    @property
    def agrees(self) -> bool:
        if self.tolerance is None:
            return self.ours == self.published
        return bool(abs(self.ours - self.published) <= self.tolerance)


# --- tables ---------------------------------------------------------------------------------


def parameter_table(parameters: Iterable[Parameter]) -> str:
    """A MyST markdown table of parameters (rendered by the chapters and the appendix)."""
    rows = [
        "| Symbol | Meaning | Value | Units | Source |",
        "| --- | --- | --- | --- | --- |",
    ]
    for p in parameters:
        value = f"{p.value:g}" if isinstance(p.value, numbers.Real) else f"{p.value}"
        rows.append(f"| ${p.symbol}$ | {p.description} | {value} | {p.units} | {p.citation} |")
    return "\n".join(rows)


def parameter_appendix() -> str:
    """The back matter's appendix of every model parameter, as MyST markdown: for each module
    of the package that declares `PARAMETERS` (alphabetically), its name and one-line summary,
    then its table. A module that composes others (its set holds exactly their records, the
    same objects) names them instead of repeating their rows, so each record is listed once,
    under its own model. The `parameter-appendix` directive (_ext/parameter_appendix.py)
    renders it when the page is read."""
    import importlib
    import pkgutil

    import tmebook

    modules = [importlib.import_module(f"tmebook.{info.name}")
               for info in sorted(pkgutil.iter_modules(tmebook.__path__), key=lambda m: m.name)]
    modules = [m for m in modules if isinstance(getattr(m, "PARAMETERS", None), ParameterSet)]
    parts = []
    for module in modules:
        mine = {id(p) for p in module.PARAMETERS.values()}
        composed = [m for m in modules if m is not module and len(m.PARAMETERS)
                    and all(id(p) in mine for p in m.PARAMETERS.values())]
        covered = {id(p) for m in composed for p in m.PARAMETERS.values()}
        parts.append(f"**`{module.__name__}`**: {module.__doc__.strip().splitlines()[0]}")
        if composed and covered == mine:
            names = ", ".join(f"`{m.__name__}`" for m in composed)
            parts.append(f"The parameters of the models it composes: {names}.")
        else:
            parts.append(parameter_table(module.PARAMETERS.values()))
    return "\n\n".join(parts)
