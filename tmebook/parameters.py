"""Model parameters with units and sources, and the input checks every model uses.

Each model module declares its parameters once, as `Parameter` records. The chapters draw
their parameter tables, the widgets their slider ranges and the back-matter appendix its
rows from these records, so a value, its units and its source live in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np


@dataclass(frozen=True)
class Parameter:
    """A model parameter: value, units and where the value comes from.

    `source` is a BibTeX key from references.bib, or None when the value is a modelling
    assumption; `where` says where in the paper (table, equation, page) or, for an
    assumption, why the value was chosen. `low`/`high` bound the widget slider.
    """

    name: str
    symbol: str
    value: float
    units: str
    description: str
    source: str | None
    where: str
    low: float | None = None
    high: float | None = None

    def __post_init__(self):
        if not math.isfinite(self.value):
            raise ValueError(f"parameter {self.name!r}: value must be finite, got {self.value}")
        if (self.low is None) != (self.high is None):
            raise ValueError(f"parameter {self.name!r}: give both low and high, or neither")
        if self.low is not None and not (self.low <= self.value <= self.high):
            raise ValueError(
                f"parameter {self.name!r}: value {self.value} outside its range "
                f"[{self.low}, {self.high}]"
            )

    @property
    def citation(self) -> str:
        """The source as MyST markup: a citation with its location, or 'assumption'."""
        if self.source is None:
            return f"assumption: {self.where}"
        return f"{{cite:t}}`{self.source}`, {self.where}"


def parameter_table(parameters: Iterable[Parameter]) -> str:
    """A MyST markdown table of parameters (rendered by the chapters and the appendix)."""
    rows = [
        "| Symbol | Meaning | Value | Units | Source |",
        "| --- | --- | --- | --- | --- |",
    ]
    for p in parameters:
        rows.append(
            f"| ${p.symbol}$ | {p.description} | {p.value:g} | {p.units} | {p.citation} |"
        )
    return "\n".join(rows)


def with_defaults(parameters: dict, **values) -> dict:
    """The given keyword values, each None replaced by that parameter's recorded value."""
    return {name: parameters[name].value if value is None else value
            for name, value in values.items()}


# --- input checks -------------------------------------------------------------------------
# Every public model function validates its inputs with these, so bad input fails loudly
# with the parameter's name instead of returning NaN or garbage.


def check_finite(name: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def check_positive(name: str, value) -> float:
    number = check_finite(name, value)
    if number <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return number


def check_nonnegative(name: str, value) -> float:
    number = check_finite(name, value)
    if number < 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}")
    return number


def check_array(name: str, value, *, ndim: int | None = None, shape_tail=None) -> np.ndarray:
    """A finite float array; `shape_tail` fixes the trailing dimensions, e.g. (2,)."""
    array = np.asarray(value, dtype=float)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if shape_tail is not None and array.shape[-len(shape_tail):] != tuple(shape_tail):
        raise ValueError(f"{name} must have shape (..., {', '.join(map(str, shape_tail))}), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite numbers")
    return array
