"""Chapter 9: exosomes and the pre-metastatic niche. Metastatic colonisation as a size-structured population, with exosome priming of distant organs.

Units throughout: time t in days, tumour and colony sizes x in cells.

(a) The model of Iwata, Kawasaki & Shigesada (2000). The primary tumour and every
metastatic colony grow by the same Gompertz law from a single cell,

    dx/dt = g(x) = a x ln(b / x),   x(0) = 1   =>   x_p(t) = b^(1 - exp(-a t)),

and a tumour of size x founds new colonies at the rate beta(x) = m x^alpha (colonies per
day). The density rho(x, t) of colonies of size x (per cell of size, per patient) obeys
the McKendrick-von Foerster transport equation

    d rho / dt + d (g rho) / dx = 0,   1 < x < b,
    g(1) rho(1, t) = beta(x_p(t)) + [ integral_1^b beta(x) rho(x, t) dx ],   rho(x, 0) = 0.

The bracket is the second generation (metastases founded by metastases); without it only
the primary seeds. Because every colony starts at one cell and follows the same Gompertz
curve, the characteristics give the solution in closed form through the birth rate B(t)
of new colonies: the number of colonies larger than x at time t is

    N(>x, t) = integral_0^(t - tau(x)) B(s) ds,   tau(x) = -ln(1 - ln x / ln b) / a,

with B(t) = beta(x_p(t)) for the first generation, and for both generations the renewal
(Volterra) equation

    B(t) = beta(x_p(t)) + integral_0^t beta(x_p(t - s)) B(s) ds,

whose solutions grow like exp(lambda t), lambda the root of
integral_0^inf beta(x_p(u)) exp(-lambda u) du = 1 (the Malthusian rate of Devys, Goudon &
Lafitte 2009). A second, independent method solves the transport equation by finite
volumes (first-order upwind) in the log-size y = ln x, where the Gompertz velocity
a (ln b - y) is linear.

(b) Niche priming: an ILLUSTRATIVE EXTENSION, not part of Iwata et al. Exosomes shed in
proportion to the primary's size condition each organ k, whose receptivity R_k
(dimensionless) builds up and decays,

    dR_k/dt = s u_k x_p(t) / b - delta R_k,   R_k(0) = 0,

with u_k the organ's share of exosome uptake, set by the exosomal integrin profile
(Hoshino et al. 2015: alpha6beta4/alpha6beta1 -> lung, alphavbeta5 -> liver): u_lung = p,
u_liver = 1 - p. A receptive organ is colonised faster:

    B_k(t) = f_k beta(x_p(t)) (1 + R_k(t)),

f_k the organ's share of seeding without priming. Only first-generation colonies are
counted in (b). Every parameter of (b) is an assumption chosen for illustration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.integrate import quad
from scipy.linalg import solve_banded
from scipy.optimize import brentq

from .parameters import (
    BOOLEAN,
    FRACTION,
    Array,
    Domain,
    Parameter,
    ParameterSet,
    Relation,
    checked,
    count,
    interval,
    nonnegative,
    positive,
    Reproduction,
)

__all__ = [
    "PARAMETERS", "ORGANS", "T_END_DAYS", "DT_DAYS", "WIDGET_MODEL", "WIDGET_CONTROLS",
    "T_MAX_DAYS", "MIN_STEP_DAYS", "MAX_STEPS", "MAX_CELLS", "COUNT_CEILING",
    "MAX_TRANSPORT_STEPS", "TIME", "TIME_SPAN", "TIME_STEP", "GRID", "BIRTHS", "OUTPUT_TIMES",
    "FV_CELLS", "CFL", "SIZE_FROM_ZERO", "SIZE_FROM_ONE", "SIZE", "TIMES", "ColonyDensity",
    "NicheCourse", "gompertz_rate", "primary_size",
    "time_to_size", "colonisation_rate", "primary_seeding_rate", "time_grid", "birth_rate",
    "metastases_larger_than", "total_tumour_burden", "malthusian_rate", "solve_transport",
    "uptake_shares", "receptivity", "niche_priming",
    "CHAPTER", "MODEL_NAME", "REPRODUCTIONS",
]

# --- bounds on the inputs, each with its reason ------------------------------------------------

#: Longest time span (days): a century, longer than any patient's history.
T_MAX_DAYS = 36500.0
#: Shortest time step (days), about a quarter of an hour: every rate of the model is per
#: day, so finer steps add only cost (and the exact receptivity step loses digits as
#: niche_decay * dt goes to 0).
MIN_STEP_DAYS = 0.01
#: Most steps of a time grid: the renewal and burden sums cost the square of the number
#: of steps (10 000 steps take a few seconds).
MAX_STEPS = 10_000
#: Largest tumour or colony (cells): about 10 kg of tumour, more than any patient carries.
MAX_CELLS = 1e13
#: No count of colonies (per day, or per unit log-size) above 1e100 means anything (a body
#: has about 1e13 cells); below it every sum here stays finite in double precision.
COUNT_CEILING = 1e100
#: Most forward-Euler steps of solve_transport (a few seconds).
MAX_TRANSPORT_STEPS = 200_000

#: A time since the first cancer cell (days).
TIME = nonnegative(at_most=T_MAX_DAYS, why="a century, longer than any patient's history")
#: A time horizon (days): at least two of the shortest steps, so that a shorter horizon is
#: refused as such (not as a step that does not divide it).
TIME_SPAN = interval(2 * MIN_STEP_DAYS, T_MAX_DAYS, why="at least two of the shortest time "
                     "steps; a century, longer than any patient's history")
#: A time step (days).
TIME_STEP = interval(MIN_STEP_DAYS, T_MAX_DAYS / 2,
                     why="a quarter of an hour resolves every rate of the model (all per day)")


# Some inputs must also meet a condition between arguments (a Relation below: a uniform
# grid, births on that grid, a size below the plateau, increasing times). A spec's own
# example, a constant, meets none of them, so these specs give an example that does: the
# contract test and tools/probe_inputs.py call each function with it while they vary
# another argument, and a refusal must then name the argument they vary.


#: A time grid as time_grid makes it (uniform, from 0: see _UNIFORM_GRID).
GRID = Array(TIME, shape=(None,), at_most=MAX_STEPS + 1,
                         why="the renewal and burden sums cost the square of the grid's length",
                         make_example=lambda: time_grid())
#: Birth rates of colonies on a time grid (colonies/day).
BIRTHS = Array(
    nonnegative(at_most=COUNT_CEILING, why="far beyond any physical count; keeps every "
                "cumulative count and burden finite"),
    shape=(None,), at_most=MAX_STEPS + 1,
    why="the burden sum costs the square of the grid's length",
    make_example=lambda: primary_seeding_rate(time_grid()))
#: Output times of solve_transport (days): strictly increasing (see _INCREASING).
OUTPUT_TIMES = Array(TIME, shape=(None,), at_most=1000,
                                 why="each output time stores a density of n_cells numbers",
                                 make_example=lambda: np.array([500.0, 1000.0, 1500.0]))
#: Finite-volume cells of solve_transport.
FV_CELLS = count(4, at_most=2000, why="at least 4 cells to resolve a profile; the steps grow "
                 "with the cells, and a first-order scheme gains little from finer grids")
#: CFL number of solve_transport.
CFL = interval(0.01, 1.0, why="above 1 the upwind scheme is unstable; below 0.01 the steps "
               "only multiply (the error is the grid's, not the step's)")
#: Sizes in cells.
SIZE_FROM_ZERO = Array(nonnegative(at_most=MAX_CELLS, why="about 10 kg of tumour"),
                       scalar_ok=True)
SIZE_FROM_ONE = Array(
    interval(1.0, MAX_CELLS, why="grown from one cell; 1e13 cells is about 10 kg of tumour"),
    scalar_ok=True, make_example=lambda: np.full(3, PARAMETERS.default("primary_detection_size")))
#: A single size from zero, below the plateau where a function needs it (_BELOW_PLATEAU).
SIZE = Domain(0.0, MAX_CELLS, why="about 10 kg of tumour",
                          make_example=lambda: PARAMETERS.default("metastasis_detection_size"))
#: Times at which a closed form is evaluated: any time since the first cancer cell (a late
#: time costs no more than an early one).
TIMES = Array(nonnegative(), scalar_ok=True)

# --- parameters ---------------------------------------------------------------------------

IWATA_WHERE = ("fit to the hepatocellular carcinoma patient; value as in the public "
               "reimplementation we could read (the paper's own text was not available to us)")

PARAMETERS = ParameterSet([
    Parameter(
        "growth_rate", r"a", 0.00286, "1/day", "Gompertz growth rate of primary and colonies",
        "iwata2000", IWATA_WHERE,
        domain=interval(1e-6, 0.1, why="a single cell grows at a ln b per day (about 25 a): "
                        "at 0.1/day that is a doubling every 7 hours, beyond any cell cycle; "
                        "below 1e-6/day a tumour takes millennia to be seen"),
    ),
    Parameter(
        "carrying_capacity", r"b", 7.3e10, "cells", "Gompertz plateau (largest tumour size)",
        "iwata2000", IWATA_WHERE,
        domain=interval(1.0, MAX_CELLS, open_low=True, why="more than the first cell; 1e13 "
                        "cells is about 10 kg of tumour, more than any patient carries"),
    ),
    Parameter(
        "colonisation_coefficient", r"m", 5.3e-8, "colonies cell^-α day⁻¹",
        "colonisation coefficient in β(x) = m x^α", "iwata2000", IWATA_WHERE,
        domain=interval(1e-15, 1.0, why="a single cell founds at most one colony a day (it "
                        "can seed only itself); below 1e-15 a full-size tumour founds almost "
                        "no colony in a century"),
    ),
    Parameter(
        "fractal_dimension", r"\alpha", 0.663, "1",
        "exponent of β(x), read as the fractal dimension of the tumour's blood vessels", "iwata2000",
        "the value 0.663 we were given for this fit; NOT confirmed against the paper: the "
        "one reimplementation we could read uses 2/3 (0.5 % larger)",
        domain=interval(0.0, 1.0, why="seeding grows at most in proportion to the tumour's "
                        "cells (α = 1: every cell seeds; 2/3: its surface)"),
    ),
    Parameter(
        "primary_detection_size", r"x_D", 1e9, "cells",
        "size at which a primary becomes clinically detectable", None,
        "the usual rule of thumb: about 1 cm³ of tumour, about 10⁹ cells",
        domain=interval(1.0, MAX_CELLS, why="grown from one cell; 1e13 cells is about 10 kg"),
    ),
    Parameter(
        "metastasis_detection_size", r"x_d", 1e8, "cells",
        "size from which a metastasis counts as visible on imaging", None,
        "about 0.1 cm³ (a 6 mm nodule), near the resolution of CT",
        domain=interval(1.0, MAX_CELLS, why="grown from one cell; 1e13 cells is about 10 kg"),
    ),
    Parameter(
        "exosome_output", r"s", 0.1, "1/day",
        "receptivity built per day by the exosomes of a full-size primary (illustrative)",
        None, "illustrative extension: chosen so that priming at most about triples "
        "colonisation of the favoured organ",
        low=0.0, high=0.5,
        domain=nonnegative(at_most=1.0, why="one unit of receptivity a day already primes an "
                           "organ tens of times over, far beyond the illustration"),
    ),
    Parameter(
        "niche_decay", r"\delta", 0.05, "1/day",
        "rate at which a conditioned organ loses its receptivity (illustrative)", None,
        "illustrative extension: a half-life of two weeks; the slider spans 1.4 to 140 days",
        low=0.005, high=0.5,
        domain=interval(1e-3, 10.0, why="half-lives from 100 minutes to two years; the exact "
                        "receptivity step loses digits as niche_decay * dt goes to 0"),
    ),
    Parameter(
        "integrin_profile", r"p", 0.8, "1",
        "share of exosomal integrins that are lung-tropic (α6β4, α6β1); the rest "
        "liver-tropic (αvβ5)", None,
        "illustrative extension; the integrin-organ pairs are those of "
        "{cite:t}`hoshino2015`, the numbers are ours",
        low=0.0, high=1.0, domain=FRACTION,
    ),
    Parameter(
        "organ_share", r"f_k", 0.5, "1",
        "share of new colonies each organ receives without priming", None,
        "illustrative extension: lung and liver seeded equally, so that any difference "
        "comes from priming",
        domain=FRACTION,
    ),
])

#: The organs of the priming extension, in the order of every per-organ array.
ORGANS = ("lung", "liver")

#: Horizon and step of the chapter's time courses (days).
T_END_DAYS = 1500.0
DT_DAYS = 1.0


# --- conditions between arguments ------------------------------------------------------------


def _divides(t_end, dt):
    steps = int(round(t_end / dt))
    return 2 <= steps <= MAX_STEPS and bool(np.isclose(steps * dt, t_end, rtol=1e-9))


def _is_uniform_grid(t):
    return (t.size >= 2 and t[0] == 0 and t[1] - t[0] >= MIN_STEP_DAYS
            and bool(np.allclose(np.diff(t), t[1] - t[0])))


_STEPS_OF_T_END = Relation("dt", _divides, f"must divide t_end into 2 to {MAX_STEPS} steps")
_UNIFORM_GRID = Relation("t", _is_uniform_grid, "must be a uniform grid from 0 (as time_grid "
                         f"makes it): at least two points, steps of at least {MIN_STEP_DAYS} day")
_BIRTHS_ON_GRID = Relation("births", lambda t, births: births.shape == t.shape,
                           "must have the shape of the time grid t")
_BELOW_PLATEAU = Relation("x", lambda x, carrying_capacity: bool(np.all(x < carrying_capacity)),
                          "must lie below carrying_capacity (the plateau is never reached)")
_IMPLICIT_STEP = Relation(
    "dt", lambda dt, colonisation_coefficient, second_generation:
    not second_generation or dt * colonisation_coefficient < 2.0,
    "times colonisation_coefficient must stay below 2 (the trapezoidal renewal step divides "
    "by 1 - dt m / 2)")
_INCREASING = Relation("t_out", lambda t_out: bool(np.all(np.diff(t_out) > 0)),
                       "must be strictly increasing")
_TRANSPORT_WORK = Relation(
    "n_cells", lambda t_out, n_cells, cfl, growth_rate:
    t_out[-1] * growth_rate * n_cells / cfl <= MAX_TRANSPORT_STEPS,
    f"must keep the time steps, t_out[-1] growth_rate n_cells / cfl, at most "
    f"{MAX_TRANSPORT_STEPS}")


# --- (a) Iwata, Kawasaki & Shigesada (2000) ---------------------------------------------------


@checked(PARAMETERS, x=SIZE_FROM_ONE)
def gompertz_rate(x: float | np.ndarray, growth_rate: float | None = None,
                  carrying_capacity: float | None = None) -> float | np.ndarray:
    """Growth rate g(x) = a x ln(b / x) of a tumour of x cells (cells/day; negative above
    the plateau b, where a tumour shrinks)."""
    return growth_rate * x * np.log(carrying_capacity / x)


@checked(PARAMETERS, t=TIMES)
def primary_size(
    t: float | np.ndarray,
    growth_rate: float | None = None,
    carrying_capacity: float | None = None,
) -> float | np.ndarray:
    """Primary tumour size x_p(t) = b^(1 - exp(-a t)) (cells), grown from one cell at t = 0."""
    return np.exp(np.log(carrying_capacity) * -np.expm1(-growth_rate * t))


@checked(PARAMETERS, _BELOW_PLATEAU, x=SIZE_FROM_ONE)
def time_to_size(x: float | np.ndarray, growth_rate: float | None = None,
                 carrying_capacity: float | None = None) -> float | np.ndarray:
    """Time tau(x) (days) for a tumour to grow from one cell to x cells (inverse of x_p)."""
    return -np.log1p(-np.log(x) / np.log(carrying_capacity)) / growth_rate


@checked(PARAMETERS, x=SIZE_FROM_ZERO)
def colonisation_rate(x: float | np.ndarray, colonisation_coefficient: float | None = None,
                      fractal_dimension: float | None = None) -> float | np.ndarray:
    """Colonies founded per day by a tumour of x cells: beta(x) = m x^alpha."""
    return colonisation_coefficient * x**fractal_dimension


@checked(PARAMETERS, t=TIMES)
def primary_seeding_rate(t: float | np.ndarray, growth_rate: float | None = None,
                         carrying_capacity: float | None = None,
                         colonisation_coefficient: float | None = None,
                         fractal_dimension: float | None = None) -> float | np.ndarray:
    """beta(x_p(t)): colonies per day seeded by the primary at time t."""
    a, b, m, alpha = growth_rate, carrying_capacity, colonisation_coefficient, fractal_dimension
    # m x_p^alpha written as one exponential: no overflow, exact at t = 0
    return m * np.exp(alpha * np.log(b) * -np.expm1(-a * t))


def _cumulative_trapezoid(values, h):
    out = np.zeros_like(values)
    out[..., 1:] = np.cumsum(0.5 * h * (values[..., 1:] + values[..., :-1]), axis=-1)
    return out


@checked(PARAMETERS, _STEPS_OF_T_END, t_end=TIME_SPAN, dt=TIME_STEP)
def time_grid(t_end: float = T_END_DAYS, dt: float = DT_DAYS) -> np.ndarray:
    """Uniform grid 0, dt, ..., t_end (days)."""
    return np.linspace(0.0, t_end, int(round(t_end / dt)) + 1)


@checked(PARAMETERS, _STEPS_OF_T_END, _IMPLICIT_STEP, t_end=TIME_SPAN, dt=TIME_STEP,
         second_generation=BOOLEAN)
def birth_rate(
    t_end: float = T_END_DAYS,
    dt: float = DT_DAYS,
    second_generation: bool = True,
    growth_rate: float | None = None,
    carrying_capacity: float | None = None,
    colonisation_coefficient: float | None = None,
    fractal_dimension: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Birth rate B(t) of new colonies (per day) on time_grid(t_end, dt).

    First generation only: B = beta(x_p(t)). With the second generation, B
    solves the renewal equation B(t) = beta(x_p(t)) + int_0^t beta(x_p(t -
    s)) B(s) ds, solved by the trapezoidal rule (second order in dt; each
    step is one dot product). B then grows like exp(lambda t)
    (malthusian_rate): a horizon at which it passes COUNT_CEILING colonies
    a day is refused. Returns (t, B).
    """
    kinetics = (
        growth_rate,
        carrying_capacity,
        colonisation_coefficient,
        fractal_dimension,
    )
    t = time_grid(t_end, dt)
    seeding = primary_seeding_rate(t, *kinetics)
    if not second_generation:
        return t, seeding
    # Every colony grows like the primary, so the kernel is the primary's
    # seeding rate.
    kernel = seeding
    births = np.empty_like(seeding)
    diagonal = 1.0 - 0.5 * dt * kernel[0]
    births[0] = seeding[0]  # no history yet at t = 0
    for n in range(1, t.size):
        history = 0.5 * kernel[n] * births[0] + np.dot(
            kernel[n - 1 : 0 : -1], births[1:n]
        )
        births[n] = (seeding[n] + dt * history) / diagonal
    if not np.all(births <= COUNT_CEILING):
        raise ValueError(
            f"t_end: with both generations the birth rate passes "
            f"{COUNT_CEILING:g} colonies a day before t_end = {t_end:g} "
            f"days (it grows like exp(lambda t), lambda = "
            f"malthusian_rate()); take a shorter horizon"
        )
    return t, births


@checked(PARAMETERS, _UNIFORM_GRID, _BIRTHS_ON_GRID, _BELOW_PLATEAU,
         x=SIZE, t=GRID, births=BIRTHS)
def metastases_larger_than(
    x: float,
    t: np.ndarray,
    births: np.ndarray,
    growth_rate: float | None = None,
    carrying_capacity: float | None = None,
) -> np.ndarray:
    """N(>x, t_i) on the grid t: colonies larger than x cells, from the birth rate B(t).

    Characteristics: a colony founded at s has x_p(t - s) cells at t, so it is larger
    than x exactly when s < t - tau(x). The integral of B up to that time is read off the
    cumulative trapezoid of B by linear interpolation.
    """
    delay = (
        0.0
        if x <= 1.0
        else float(time_to_size(x, growth_rate, carrying_capacity))
    )
    cumulative = _cumulative_trapezoid(births, t[1] - t[0])
    return np.interp(t - delay, t, cumulative, left=0.0)


@checked(PARAMETERS, _UNIFORM_GRID, _BIRTHS_ON_GRID, t=GRID, births=BIRTHS)
def total_tumour_burden(t: np.ndarray, births: np.ndarray, growth_rate: float | None = None,
                        carrying_capacity: float | None = None) -> np.ndarray:
    """Cells in the primary plus all colonies, x_p(t) + int_0^t B(s) x_p(t - s) ds."""
    h = t[1] - t[0]
    size = primary_size(t, growth_rate, carrying_capacity)  # x_p on the same grid
    # trapezoid over s of B(s) x_p(t - s): a discrete convolution less the end halves
    colonies = h * (np.convolve(births, size)[:t.size]
                    - 0.5 * (births[0] * size + births * size[0]))
    return size + colonies


@checked(PARAMETERS)
def malthusian_rate(growth_rate: float | None = None, carrying_capacity: float | None = None,
                    colonisation_coefficient: float | None = None,
                    fractal_dimension: float | None = None) -> float:
    """Asymptotic growth rate lambda (1/day) of the colony population with both
    generations: the root of int_0^inf beta(x_p(u)) exp(-lambda u) du = 1."""
    a, b, m, alpha = growth_rate, carrying_capacity, colonisation_coefficient, fractal_dimension
    log_b = np.log(b)

    def seeding(u):  # beta(x_p(u)) without the array checks: quad calls it many times
        return m * math.exp(alpha * log_b * -math.expm1(-a * u))

    def laplace(lam):
        # in v = lam u the integrand decays like exp(-v) whatever lam is; the primary grows
        # within u ~ 10/a, so quad gets that stretch on its own
        def integrand(v):
            return seeding(v / lam) * math.exp(-v)

        grown = min(10.0 * lam / a, 50.0)
        head, _ = quad(integrand, 0.0, grown, epsabs=0.0, limit=400)
        tail, _ = quad(integrand, grown, np.inf, epsabs=0.0, limit=400)
        return (head + tail) / lam - 1.0

    # m <= beta(x_p) <= m b^alpha, so the transform lies between m / lambda and
    # m b^alpha / lambda: the root lies in [m, m b^alpha].
    return brentq(laplace, 0.5 * m, 2.0 * m * b**alpha, xtol=1e-12 * m, rtol=1e-10)


@dataclass(frozen=True)
class ColonyDensity:
    """Finite-volume solution: colonies per unit log-size on cells of y = ln x."""

    t: np.ndarray            # output times (days)
    edges: np.ndarray        # cell edges in y = ln x
    density: np.ndarray      # (len(t), cells): colonies per unit y
    births: np.ndarray       # inflow B(t) at the output times (colonies/day)

    @checked(None, x=positive(at_most=MAX_CELLS, why="about 10 kg of tumour"))
    def larger_than(self, x: float) -> np.ndarray:
        """Colonies larger than x cells at each output time (partial cell by linear share)."""
        y = np.log(x)
        width = np.diff(self.edges)
        share = np.clip((self.edges[1:] - y) / width, 0.0, 1.0)
        return self.density @ (share * width)

    @checked(None)
    def total(self) -> np.ndarray:
        """All colonies at each output time."""
        return self.larger_than(1.0)


@checked(PARAMETERS, _INCREASING, _TRANSPORT_WORK, t_out=OUTPUT_TIMES, n_cells=FV_CELLS,
         second_generation=BOOLEAN, cfl=CFL)
def solve_transport(
    t_out: np.ndarray,
    n_cells: int = 400,
    second_generation: bool = True,
    cfl: float = 0.9,
    growth_rate: float | None = None,
    carrying_capacity: float | None = None,
    colonisation_coefficient: float | None = None,
    fractal_dimension: float | None = None,
) -> ColonyDensity:
    """The transport equation solved directly, as a check on the
    characteristics.

    In y = ln x the Gompertz velocity v(y) = a (ln b - y) is linear and
    vanishes at the plateau, so colonies never leave [0, ln b]. First-order
    upwind finite volumes (a sparse flux-difference matrix) with forward
    Euler at the given CFL number; the inflow flux at y = 0 is the birth
    rate, beta(x_p(t)) plus, with the second generation, sum_i m exp(alpha
    y_i) n_i dy. The scheme conserves colonies exactly: their number
    changes only by the inflow. With the second generation the colonies
    grow like exp(lambda t) (malthusian_rate): output times at which the
    density passes COUNT_CEILING are refused.
    """
    a, b, m, alpha = (
        growth_rate,
        carrying_capacity,
        colonisation_coefficient,
        fractal_dimension,
    )
    y_max = np.log(b)
    edges = np.linspace(0.0, y_max, n_cells + 1)
    dy = edges[1] - edges[0]
    centres = 0.5 * (edges[1:] + edges[:-1])
    speed = a * (y_max - edges)  # at the edges; speed[-1] = 0
    # dn_i/dt = (v_{i-1/2} n_{i-1} - v_{i+1/2} n_i) / dy, inflow added
    # separately
    transport = sp.diags(
        [-speed[1:] / dy, speed[1:-1] / dy], [0, -1], format="csr"
    )
    seeding_weight = (
        m * np.exp(alpha * centres) * dy if second_generation else None
    )
    dt_max = cfl * dy / speed[0]
    log_b = y_max

    # beta(x_p(time)), scalar and unchecked: called every step
    def primary_inflow(time):
        return m * math.exp(alpha * log_b * -math.expm1(-a * time))

    density = np.zeros(n_cells)
    out = np.zeros((t_out.size, n_cells))
    births_out = np.zeros(t_out.size)
    t = 0.0
    for k, target in enumerate(t_out):
        while t < target - 1e-12:
            step = min(dt_max, target - t)
            inflow = primary_inflow(t)
            if second_generation:
                inflow += seeding_weight @ density
            rate = transport @ density
            rate[0] += inflow / dy
            density = density + step * rate
            t += step
        out[k] = density
        births_out[k] = primary_inflow(target) + (
            seeding_weight @ density if second_generation else 0.0
        )
    if not np.all(out <= COUNT_CEILING):
        raise ValueError(
            f"t_out: with both generations the colony density passes "
            f"{COUNT_CEILING:g} before t_out[-1] = {t_out[-1]:g} days "
            f"(it grows like exp(lambda t), lambda = malthusian_rate()); "
            f"take earlier times"
        )
    return ColonyDensity(t_out, edges, out, births_out)


# --- (b) niche priming: an illustrative extension ------------------------------------------


@checked(PARAMETERS)
def uptake_shares(integrin_profile: float | None = None) -> np.ndarray:
    """Share of exosome uptake by (lung, liver) for an integrin profile p: (p, 1 - p)."""
    return np.array([integrin_profile, 1.0 - integrin_profile])


@checked(PARAMETERS, _UNIFORM_GRID, t=GRID)
def receptivity(
    t: np.ndarray,
    exosome_output: float | None = None,
    niche_decay: float | None = None,
    integrin_profile: float | None = None,
    growth_rate: float | None = None,
    carrying_capacity: float | None = None,
) -> np.ndarray:
    """Receptivity R_k(t) of each organ (rows in ORGANS order) on a uniform grid t.

    dR/dt = s u_k x_p(t)/b - delta R, R(0) = 0, integrated exactly for input that is
    linear between grid points: an exponential filter, the lower-bidiagonal system
    R_n - e R_(n-1) = w0 q_(n-1) + w1 q_n (scipy.linalg.solve_banded; scipy.signal's
    lfilter gives the same to rounding but its import costs the chapter a third of a second).
    """
    s, delta = exosome_output, niche_decay
    shares = uptake_shares(integrin_profile)
    h = t[1] - t[0]
    drive = (
        s
        * primary_size(t, growth_rate, carrying_capacity)
        / carrying_capacity
    )
    # Exact step for piecewise-linear drive: R_{n+1} = e R_n + w0 q_n + w1
    # q_{n+1}.
    decay = np.exp(-delta * h)
    w1 = (delta * h - 1.0 + decay) / (delta**2 * h)
    w0 = (1.0 - decay) / delta - w1
    # R_0 = 0; then R_n - e R_(n-1) = w0 q_(n-1) + w1 q_n
    forcing = np.zeros_like(drive)
    forcing[1:] = w0 * drive[:-1] + w1 * drive[1:]
    bands = np.vstack([np.ones_like(drive), np.full_like(drive, -decay)])
    ready = solve_banded((1, 0), bands, forcing, check_finite=False)
    return shares[:, None] * ready[None, :]


@dataclass(frozen=True)
class NicheCourse:
    """Time courses of the priming extension (per-organ arrays in ORGANS order)."""

    t: np.ndarray
    receptivity: np.ndarray   # (organs, time), dimensionless
    primed: np.ndarray        # first-generation colonies per organ, with priming
    unprimed: np.ndarray      # the same without priming (f_k of all colonies)
    primed_visible: np.ndarray    # colonies larger than the metastasis detection size
    unprimed_visible: np.ndarray


@checked(PARAMETERS, _STEPS_OF_T_END, t_end=TIME_SPAN, dt=TIME_STEP)
def niche_priming(
    exosome_output: float | None = None,
    niche_decay: float | None = None,
    integrin_profile: float | None = None,
    t_end: float = T_END_DAYS,
    dt: float = DT_DAYS,
    organ_share: float | None = None,
) -> NicheCourse:
    """The chapter's widget model: metastases per organ over time, primed
    and unprimed."""
    t = time_grid(t_end, dt)
    ready = receptivity(t, exosome_output, niche_decay, integrin_profile)
    seeding = primary_seeding_rate(t)
    primed_births = organ_share * seeding[None, :] * (1.0 + ready)
    unprimed_births = np.repeat(
        organ_share * seeding[None, :], len(ORGANS), axis=0
    )
    visible_size = PARAMETERS.default("metastasis_detection_size")

    def larger_than(x, births):  # per organ
        return np.array(
            [metastases_larger_than(x, t, row) for row in births]
        )

    return NicheCourse(
        t,
        ready,
        larger_than(1.0, primed_births),
        larger_than(1.0, unprimed_births),
        larger_than(visible_size, primed_births),
        larger_than(visible_size, unprimed_births),
    )


#: The chapter's live panel: the model it reruns and the parameters on its sliders.
WIDGET_MODEL = niche_priming
WIDGET_CONTROLS = ("exosome_output", "niche_decay", "integrin_profile")


# --- what this chapter reproduces (collected by chapter 11's table) ----------------------

CHAPTER = 9
MODEL_NAME = "metastatic colony sizes (Iwata et al.)"


def _second_generation_effect() -> str:
    """'more colonies, little more mass' when metastases from metastases raise the colony
    count by more than half but the total mass by less than a tenth."""
    t, first = birth_rate(second_generation=False)
    _, both = birth_rate(second_generation=True)
    count_ratio = metastases_larger_than(1.0, t, both)[-1] / metastases_larger_than(1.0, t, first)[-1]
    burden_ratio = total_tumour_burden(t, both)[-1] / total_tumour_burden(t, first)[-1]
    return ("more colonies, little more mass" if count_ratio > 1.5 and burden_ratio < 1.1
            else "not so")


REPRODUCTIONS = (
    Reproduction(
        "metastases from metastases: effect on colony count and tumour mass",
        "more colonies, little more mass", _second_generation_effect, "bethge2012", "abstract",
        None, "same outcome (count ratio > 1.5, mass ratio < 1.1)", "abstract"),
)
