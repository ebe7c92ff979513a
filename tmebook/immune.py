"""Chapter 4: the immune system. Effector cells against a growing tumour, and its suppression.

The model is the effector-tumour system of Kuznetsov, Makalkin, Taylor & Perelson (1994),
fitted to the BCL1 lymphoma in the spleen of chimeric mice. In cells and days,

    dE/dt = s + p E T / (g + T) - m E T - d E        (effector cells E)
    dT/dt = a T (1 - b T) - n E T                   (tumour cells T)

s is a constant supply of effector cells, p E T/(g+T) their tumour-driven recruitment,
m E T their inactivation in contacts with tumour cells, d their death; the tumour grows
logistically (a, 1/b) and is killed in contacts with effectors at rate n. With
x = E/E0, y = T/T0 (E0 = T0 = 10^6 cells) and the time tau = n T0 t (dimensionless; one
unit of tau is 1/(n T0) = 9.08 days),

    dx/dtau = sigma + rho x y / (eta + y) - mu x y - delta x
    dy/dtau = alpha y (1 - beta y) - x y

with sigma = s/(n E0 T0), rho = p/(n T0), eta = g/T0, mu = m/n, delta = d/(n T0),
alpha = a/(n T0), beta = b T0 (all dimensionless).

Our change (not in the 1994 paper): immunosuppression by tumour-associated macrophages
(M2-polarised) and regulatory T cells, as one dimensionless strength S in [0, 1) that
scales down both the tumour-driven recruitment and the killing of the effectors:

    rho -> (1 - S) rho,        x y (killing term in dy/dtau) -> (1 - S) x y.

Either channel can be switched off (`channels`) to see which one matters.

Equilibria: the tumour-free state (sigma/delta, 0) and the positive states where the
y-nullcline x = alpha (1 - beta y) / (1 - S) meets the x-nullcline; eliminating x gives a
cubic in y whose roots in (0, 1/beta) are found by bracketing between the cubic's turning
points and refining with brentq. Stability from the eigenvalues of the Jacobian.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from .parameters import (
    REAL,
    Array,
    Instance,
    Parameter,
    ParameterSet,
    Relation,
    Values,
    checked,
    count,
    interval,
    one_of,
    positive,
    subset_of,
    Reproduction,
    zero_or,
)

__all__ = [
    "DIMENSIONAL_PUBLISHED", "NONDIMENSIONAL_PUBLISHED", "MU_ONLY_DORMANT_PUBLISHED",
    "SCALE_CELLS", "PARAMETERS", "CHANNELS", "RTOL", "ATOL", "PORTRAIT_Y", "FOLLOW_UP_DAYS",
    "nondimensional", "days_per_unit_time", "Model", "rhs", "jacobian", "x_nullcline",
    "y_nullcline", "equilibrium_cubic", "Equilibrium", "equilibria", "cubic_discriminant",
    "saddle_node", "Trajectory", "simulate", "end_states", "final_state", "oscillation_period",
    "unstable_manifold_end", "heteroclinic_threshold", "separatrix", "escape_thresholds",
    "PhasePortrait", "phase_portrait", "WIDGET_MODEL", "WIDGET_CONTROLS",
    "CHAPTER", "MODEL_NAME", "REPRODUCTIONS",
]

# --- published numbers --------------------------------------------------------------------

#: Dimensional estimates for BCL1 lymphoma in chimeric mice, Kuznetsov et al. 1994, Section 3
#: (as curated in BioModels BIOMD0000000762). Units: cells/day, 1/day, cells, 1/(cell day).
DIMENSIONAL_PUBLISHED = {
    "s": (1.3e4, "cells/day"),
    "p": (0.1245, "1/day"),
    "g": (2.019e7, "cells"),
    "m": (3.422e-10, "1/(cell day)"),
    "d": (0.0412, "1/day"),
    "a": (0.18, "1/day"),
    "b": (2.0e-9, "1/cell"),
    "n": (1.101e-7, "1/(cell day)"),
}
#: Non-dimensional values as printed by Kuznetsov et al. 1994, Section 4 (scaling
#: E0 = T0 = 10^6 cells); rounded by the authors, so they differ from the exact ratios of
#: the dimensional estimates in the fourth significant figure.
NONDIMENSIONAL_PUBLISHED = {
    "sigma": 0.1181, "rho": 1.131, "eta": 20.19, "mu": 0.00311,
    "delta": 0.3743, "alpha": 1.636, "beta": 2.0e-3,
}
#: Kuznetsov et al. 1994, Fig. 9 (as described by a public reproduction of the paper): at
#: mu = 0.0021 the saddle and the escape state have annihilated, only the dormant state is left.
MU_ONLY_DORMANT_PUBLISHED = 0.0021
SCALE_CELLS = 1.0e6  # E0 = T0, Kuznetsov et al. 1994, Section 4

#: The seven dimensionless groups: the estimates lie between 0.002 and 20. Bounded away
#: from 0 and infinity so that the tumour-free state sigma/delta, the carrying capacity
#: 1/beta and the integrations stay finite.
GROUP = interval(1e-6, 1e3, why="a dimensionless group (the estimates lie between 0.002 and "
                 "20); the bounds keep sigma/delta, 1/beta and the integrations finite")
#: Killing per contact n (the estimate is 1.1e-7 /(cell day)); bounded so that the time
#: unit 1/(n T0) stays finite.
KILL_RATE = interval(1e-20, 1.0, why="the estimate is 1.1e-7; the bounds keep the time "
                     "unit 1/(n T0) finite")
#: Cells in one unit of x or y: from one cell to 10^15 cells (more than a human body).
CELL_SCALE = interval(1.0, 1e15, why="one cell to 10^15 cells, more than a human body holds")
CHANNELS = ("recruitment", "killing")

PARAMETERS = ParameterSet([
    Parameter("sigma", r"\sigma", NONDIMENSIONAL_PUBLISHED["sigma"], "dimensionless",
              "constant supply of effector cells, s/(n E₀ T₀)", "kuznetsov1994",
              "Section 4 (s = 1.3 × 10⁴ cells/day, Section 3)", domain=GROUP),
    Parameter("rho", r"\rho", NONDIMENSIONAL_PUBLISHED["rho"], "dimensionless",
              "maximal tumour-driven recruitment of effectors, p/(n T₀)", "kuznetsov1994",
              "Section 4 (p = 0.1245 /day, Section 3)", domain=GROUP),
    Parameter("eta", r"\eta", NONDIMENSIONAL_PUBLISHED["eta"], "dimensionless",
              "tumour size of half-maximal recruitment, g/T₀", "kuznetsov1994",
              "Section 4 (g = 2.019 × 10⁷ cells, Section 3)", domain=GROUP),
    Parameter("mu", r"\mu", NONDIMENSIONAL_PUBLISHED["mu"], "dimensionless",
              "effector inactivation per tumour contact relative to killing, m/n",
              "kuznetsov1994", "Section 4 (m = 3.422 × 10⁻¹⁰ /(cell day), Section 3)",
              domain=GROUP),
    Parameter("delta", r"\delta", NONDIMENSIONAL_PUBLISHED["delta"], "dimensionless",
              "effector death rate, d/(n T₀)", "kuznetsov1994",
              "Section 4 (d = 0.0412 /day, Section 3)", domain=GROUP),
    Parameter("alpha", r"\alpha", NONDIMENSIONAL_PUBLISHED["alpha"], "dimensionless",
              "tumour growth rate, a/(n T₀)", "kuznetsov1994",
              "Section 4 (a = 0.18 /day, Section 3)", domain=GROUP),
    Parameter("beta", r"\beta", NONDIMENSIONAL_PUBLISHED["beta"], "dimensionless",
              "inverse carrying capacity of the tumour, b T₀", "kuznetsov1994",
              "Section 4 (b = 2 × 10⁻⁹ /cell, Section 3)", domain=GROUP),
    Parameter("kill_rate", r"n", DIMENSIONAL_PUBLISHED["n"][0], "1/(cell day)",
              "tumour-cell killing per effector contact; sets the time unit 1/(n T₀)",
              "kuznetsov1994", "Section 3; time scale of Section 4", domain=KILL_RATE),
    Parameter("cell_scale", r"E_0 = T_0", SCALE_CELLS, "cells",
              "cell number of one unit of x or y", "kuznetsov1994", "Section 4",
              domain=CELL_SCALE),
    Parameter("suppression", r"S", 0.0, "dimensionless",
              "immunosuppression by TAMs and Tregs: fraction removed from effector "
              "recruitment and killing", None,
              "our extension; 0 is the published model, the slider reaches past the "
              "loss of the dormant state (the saddle-node of S, computed by saddle_node "
              "and shown in chapter 4)", low=0.0, high=0.6,
              domain=interval(0.0, 1.0, open_high=True)),
    Parameter("channels", r"\mathrm{channels}", CHANNELS, "—",
              "which effector functions the suppression S acts on", None,
              "our extension; both by default, one alone to see which one matters",
              domain=subset_of(*CHANNELS)),
    Parameter("log10_initial_tumour", r"\log_{10} T(0)", 6.0, "log₁₀ cells",
              "initial tumour size (effectors start at their tumour-free level s/d)",
              None, "one million cells, a small palpable lymphoma in the mouse spleen; "
              "the slider spans 10³ to 5 × 10⁸ cells (the carrying capacity 1/b)",
              low=3.0, high=8.7,
              domain=interval(0.0, 9.0, why="one cell to 10⁹ cells, twice the carrying "
                              "capacity 1/b")),
])

#: Solver tolerances: the phase plane spans 10^-6 to 500 in y, so atol is set well below
#: the smallest tumour the chapter follows.
RTOL, ATOL = 1e-8, 1e-12

#: Tolerances of the unstable manifold's run (`unstable_manifold_end`, which
#: `heteroclinic_threshold` calls some twenty times): the run ends at a stable state, and
#: only which one matters. At these tolerances the chapter's two heteroclinic thresholds are
#: the same to the last digit as at RTOL, ATOL (100 times tighter), in 30 % less time.
MANIFOLD_RTOL, MANIFOLD_ATOL = 1e-6, 1e-10

#: Cell densities x, y (units of 10^6 cells): the carrying capacity is 500; 10^6 units
#: (10^12 cells) is beyond any tumour or effector population and keeps x y finite.
DENSITY = interval(0.0, 1e6, why="10^12 cells, beyond any tumour or effector population")
#: The smallest tumour the model follows: one cell, 10^-6 units of y. A positive tumour
#: below it is no tumour; and one near the solver's absolute tolerance ATOL (10^-12) is lost
#: in its error: the solver cannot follow its growth (a start at 1e-100 ended eliminated
#: instead of dormant).
ONE_CELL = 1e-6


#: An initial tumour: none (0) or at least one cell, and at most DENSITY's bound.
TUMOUR_START = zero_or(ONE_CELL, DENSITY.high,
                       why="no tumour, or at least one cell (10^-6 units): a smaller one is no "
                       "tumour, and near ATOL the solver loses it; at most 10^12 cells")
#: Dimensionless follow-up times: at least 10^-6 units of tau (about 0.8 s: no cell
#: divides, dies or kills in less; a span of 1e-300 never returned from LSODA); 10^4 units
#: are about 250 years, far beyond any follow-up, and the bound keeps every integration
#: short.
TAU_END = interval(1e-6, 1e4, why="10^-6 units of tau are about 0.8 s, less than any cell "
                   "process takes; 10^4 units are about 250 years")
#: Output points of a trajectory.
N_POINTS = count(2, 100_000, why="output points of one trajectory")
#: A step off an equilibrium along an eigenvector (relative for the saddle): below 1e-12
#: it drowns in the solver's absolute tolerance, above 1e-2 it is no longer small.
STEP = interval(1e-12, 1e-2, why="a small step off the equilibrium: below 1e-12 it drowns in "
                "atol, above 1e-2 it is not small")
#: The parameters whose value moves the equilibria (the ones a fold or a connection can be
#: sought in), and the bracket in which to seek it (each parameter's own domain applies too).
BIFURCATION_PARAMETERS = ("sigma", "rho", "eta", "mu", "delta", "alpha", "beta", "suppression")
BRACKET = interval(0.0, 1e3, why="a value of one of the model's parameters (each parameter's "
                   "own domain applies as well)")


class _Estimates:
    """Spec of the dimensional estimates: a mapping of s, p, g, m, d, a, b, n to positive
    numbers (n within KILL_RATE, the others at most 1e20, so every group stays finite).
    None means the published estimates."""

    domains = {**{key: positive(at_most=1e20, why="keeps the dimensionless groups finite")
                  for key in DIMENSIONAL_PUBLISHED}, "n": KILL_RATE}

    def check(self, name, value):
        if value is None:
            return {key: v[0] for key, v in DIMENSIONAL_PUBLISHED.items()}
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a mapping of {', '.join(self.domains)} to numbers, "
                            f"got {value!r}")
        if set(value) != set(self.domains):
            raise ValueError(f"{name} must give exactly {', '.join(self.domains)}, "
                             f"got {sorted(map(str, value))}")
        return {key: domain.check(f"{name}[{key!r}]", value[key])
                for key, domain in self.domains.items()}

    def example(self):
        return {key: v[0] for key, v in DIMENSIONAL_PUBLISHED.items()}

    def bad_values(self) -> list:
        published = self.example()
        return ["abc", 1.0, {"s": 1.0}, {**published, "n": -1.0}, {**published, "s": float("nan")},
                {**published, "a": 1e300}]


ESTIMATES = _Estimates()


@checked(PARAMETERS, dimensional=ESTIMATES)
def nondimensional(dimensional: Mapping | None = None, cell_scale: float | None = None) -> dict:
    """The seven dimensionless groups of Section 4 from the dimensional estimates (None:
    the published ones, `DIMENSIONAL_PUBLISHED`)."""
    dim, scale = dimensional, cell_scale
    n = dim["n"]
    return {
        "sigma": dim["s"] / (n * scale * scale),
        "rho": dim["p"] / (n * scale),
        "eta": dim["g"] / scale,
        "mu": dim["m"] / n,
        "delta": dim["d"] / (n * scale),
        "alpha": dim["a"] / (n * scale),
        "beta": dim["b"] * scale,
    }


@checked(PARAMETERS)
def days_per_unit_time(kill_rate: float | None = None, cell_scale: float | None = None) -> float:
    """Days in one unit of the dimensionless time tau = n T0 t."""
    return 1.0 / (kill_rate * cell_scale)


# --- the model ----------------------------------------------------------------------------


class Model(Values, parameters=PARAMETERS):
    """The dimensionless parameters and the suppression acting on them, e.g.
    `Model(suppression=0.3)` or `Model(mu=0.0055)`; `model.replace(mu=...)` for a copy."""

    @property
    def recruitment(self) -> float:
        """Effective rho: TAM/Treg suppression lowers the tumour-driven recruitment."""
        return self.rho * (1.0 - self.suppression if "recruitment" in self.channels else 1.0)

    @property
    def killing(self) -> float:
        """Factor on the killing term x y: suppressed effectors kill less per contact."""
        return 1.0 - self.suppression if "killing" in self.channels else 1.0


#: A model argument: an instance of Model (the published model by default).
MODEL = Instance(Model, Model)
STATE = Array(DENSITY, shape=(2,))


@checked(PARAMETERS, tau=REAL, state=STATE, model=MODEL)
def rhs(tau: float, state: ArrayLike, model: Model) -> np.ndarray:
    """Right-hand side of the dimensionless system at state = (x, y). The system is
    autonomous: any real tau is accepted (for solve_ivp) and not used."""
    x, y = state[0], state[1]
    dx = (
        model.sigma
        + model.recruitment * x * y / (model.eta + y)
        - model.mu * x * y
        - model.delta * x
    )
    dy = model.alpha * y * (1.0 - model.beta * y) - model.killing * x * y
    return np.array([dx, dy])


def _solver_rhs(model: Model):
    """`rhs` for the solvers: no checks per step, and the model's numbers as plain attributes
    (a Model looks each one up through Values.__getattr__, which costs more than the
    arithmetic of a step).

    The tumour enters as max(y, 0): near elimination the solver's y dips below zero by up
    to ATOL, and while x < alpha/killing the line y = 0 repels (tumours grow there), so a
    negative y would grow without bound until eta + y = 0 divides by zero.
    At y <= 0 the tumour term is zero: y = 0 stays invariant, as for the true densities."""
    plain = SimpleNamespace(**model.as_dict(), recruitment=model.recruitment,
                            killing=model.killing)
    return lambda t, z: rhs.__wrapped__(t, (z[0], max(z[1], 0.0)), plain)


@checked(PARAMETERS, x=DENSITY, y=DENSITY, model=MODEL)
def jacobian(x: float, y: float, model: Model) -> np.ndarray:
    """The Jacobian matrix of `rhs` at (x, y)."""
    r, k = model.recruitment, model.killing
    return np.array([
        [r * y / (model.eta + y) - model.mu * y - model.delta,
         r * x * model.eta / (model.eta + y) ** 2 - model.mu * x],
        [-k * y, model.alpha * (1.0 - 2.0 * model.beta * y) - k * x],
    ])


_jacobian = jacobian.__wrapped__  # equilibria far out (x > 10^6) are still classified


TUMOUR_SIZES = Array(DENSITY, scalar_ok=True)


@checked(PARAMETERS, y=TUMOUR_SIZES, model=MODEL)
def x_nullcline(y: ArrayLike, model: Model) -> np.ndarray:
    """Effector level where dx/dtau = 0, for tumour sizes y (NaN where none is positive)."""
    loss = model.delta + model.mu * y - model.recruitment * y / (model.eta + y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(loss > 0, model.sigma / loss, np.nan)


@checked(PARAMETERS, y=TUMOUR_SIZES, model=MODEL)
def y_nullcline(y: ArrayLike, model: Model) -> np.ndarray:
    """The tumour's non-trivial nullcline x = alpha (1 - beta y) / killing."""
    return model.alpha * (1.0 - model.beta * y) / model.killing


_y_nullcline = y_nullcline.__wrapped__


@checked(PARAMETERS, model=MODEL)
def equilibrium_cubic(model: Model) -> np.poly1d:
    """P(y) whose roots in (0, 1/beta) are the tumour sizes of the positive equilibria.

    On the y-nullcline, x = alpha (1 - beta y)/k; putting it into dx/dtau = 0 and
    multiplying by (eta + y) gives
        sigma k (eta + y) - alpha (1 - beta y) [(delta + mu y)(eta + y) - r y] = 0.
    """
    r, k = model.recruitment, model.killing
    supply = np.poly1d([model.sigma * k, model.sigma * k * model.eta])
    tumour_line = np.poly1d([-model.alpha * model.beta, model.alpha])
    net_loss = np.poly1d([model.mu, model.delta]) * np.poly1d(
        [1.0, model.eta]
    ) - np.poly1d([r, 0.0])
    return supply - tumour_line * net_loss


def _cubic_coefficients(model: Model) -> list[float]:
    """`equilibrium_cubic(model).coeffs` as plain floats, by the same operations in the same
    order (so bit for bit the same), without building five np.poly1d on every call."""
    values = model.as_dict()
    sigma, eta, mu, delta = values["sigma"], values["eta"], values["mu"], values["delta"]
    alpha, beta = values["alpha"], values["beta"]
    r, k = model.recruitment, model.killing
    net = [mu * 1.0, mu * eta + delta * 1.0 - r, delta * eta - 0.0]
    slope = -alpha * beta
    product = [slope * net[0], slope * net[1] + alpha * net[0],
               slope * net[2] + alpha * net[1], alpha * net[2]]
    coefficients = [0.0 - product[0], 0.0 - product[1], sigma * k - product[2],
                    sigma * k * eta - product[3]]
    while len(coefficients) > 1 and coefficients[0] == 0.0:  # as np.poly1d trims them
        coefficients.pop(0)
    return coefficients


@dataclass(frozen=True)
class Equilibrium:
    x: float
    y: float
    eigenvalues: np.ndarray = field(compare=False)

    @property
    def stable(self) -> bool:
        return bool(np.all(self.eigenvalues.real < 0))

    @property
    def kind(self) -> str:
        ev = self.eigenvalues
        if np.any(ev.real > 0) and np.any(ev.real < 0):
            return "saddle"
        spiral = abs(ev[0].imag) > 1e-12
        if self.stable:
            return "stable focus" if spiral else "stable node"
        return "unstable focus" if spiral else "unstable node"


def _positive_roots(coeffs: list[float], upper: float) -> list[float]:
    """Real roots in (0, upper) of the cubic with coefficients `coeffs`
    (highest power first): bracket between turning points, then brentq."""
    degree = len(coeffs) - 1
    # the derivative's coefficients, as np.poly1d.deriv
    slope = [c * (degree - i) for i, c in enumerate(coeffs[:-1])]
    turning = sorted(
        t.real
        for t in (np.roots(slope) if len(slope) > 1 else [])
        if abs(t.imag) < 1e-12 and 0 < t.real < upper
    )
    edges = [0.0, *turning, upper]

    def value(y):
        # Horner's scheme with plain floats: the same operations in the
        # same order as np.polyval (so the same roots), without its array
        # overhead on every brentq step
        total = 0.0
        for c in coeffs:
            total = total * y + c
        return total

    roots = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        f_lo, f_hi = value(lo), value(hi)
        if f_lo == 0.0 and lo > 0:
            roots.append(lo)
        elif f_lo * f_hi < 0:
            roots.append(brentq(value, lo, hi, xtol=1e-14, rtol=1e-13))
    return roots


@checked(PARAMETERS, model=MODEL)
def equilibria(model: Model = Model()) -> list[Equilibrium]:
    """Tumour-free state first, then the positive states in order of tumour
    size.

    With three positive states these are Kuznetsov's B (dormant), C
    (saddle), D (escape); the tumour-free state is their A.
    """
    states = [(model.sigma / model.delta, 0.0)]
    for y in _positive_roots(_cubic_coefficients(model), 1.0 / model.beta):
        states.append((float(_y_nullcline(y, model)), float(y)))
    return [
        Equilibrium(x, y, np.linalg.eigvals(_jacobian(x, y, model)))
        for x, y in states
    ]


@checked(PARAMETERS, model=MODEL)
def cubic_discriminant(model: Model) -> float:
    """Discriminant of the equilibrium cubic: > 0 with three distinct real roots, < 0 with one."""
    a, b, c, d = equilibrium_cubic(model).coeffs
    return float(18 * a * b * c * d - 4 * b**3 * d + b**2 * c**2 - 4 * a * c**3 - 27 * a**2 * d**2)


#: The bracket of a fold or connection search: ordered, and inside the parameter's domain.
BRACKET_RELATIONS = (
    Relation("low", lambda parameter, low: PARAMETERS[parameter].domain.contains(low),
             "must lie in the domain of the parameter"),
    Relation("high", lambda parameter, high: PARAMETERS[parameter].domain.contains(high),
             "must lie in the domain of the parameter"),
    Relation("high", lambda low, high: high > low, "must exceed low"),
)


@checked(PARAMETERS, *BRACKET_RELATIONS, parameter=one_of(*BIFURCATION_PARAMETERS),
         low=BRACKET, high=BRACKET, model=MODEL)
def saddle_node(parameter: str, low: float, high: float, model: Model = Model()) -> float:
    """Value of `parameter` in (low, high) where two positive equilibria merge (brentq on the
    discriminant, which changes sign exactly there)."""
    discriminant = cubic_discriminant.__wrapped__
    f = lambda v: discriminant(model.replace(**{parameter: v}))  # noqa: E731
    if f(low) * f(high) > 0:
        raise ValueError(f"no saddle-node of {parameter} between low={low} and high={high}")
    return brentq(f, low, high, xtol=1e-12)


# --- trajectories -------------------------------------------------------------------------


@dataclass(frozen=True)
class Trajectory:
    tau: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def days(self) -> np.ndarray:
        return self.tau * days_per_unit_time()

    @property
    def effector_cells(self) -> np.ndarray:
        return self.x * SCALE_CELLS

    @property
    def tumour_cells(self) -> np.ndarray:
        return self.y * SCALE_CELLS


@checked(PARAMETERS, x0=DENSITY, y0=TUMOUR_START, tau_end=TAU_END, model=MODEL,
         n_points=N_POINTS)
def simulate(x0: float, y0: float, tau_end: float, model: Model = Model(),
             n_points: int = 400) -> Trajectory:
    """Integrate from (x0, y0) for a dimensionless time tau_end (LSODA: stiff near y = 0).

    y0 is 0 (no tumour) or at least one cell (ONE_CELL). Near elimination the tumour may
    dip below zero by up to the solver's absolute tolerance (ATOL); it stays there (the
    solver sees max(y, 0)). A start far above the carrying capacity 1/beta of a very stiff
    model can defeat the solver: that is reported as a RuntimeError, never as NaN.
    """
    return _simulate(x0, y0, tau_end, model, n_points)


def _simulate(x0, y0, tau_end, model, n_points, rtol=RTOL, atol=ATOL) -> Trajectory:
    """`simulate` without its input checks, at tolerances rtol, atol."""
    t_eval = np.linspace(0.0, tau_end, n_points)
    sol = solve_ivp(_solver_rhs(model), (0.0, tau_end), [x0, y0],
                    method="LSODA", t_eval=t_eval, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"integration failed: {sol.message}")
    if not np.all(np.isfinite(sol.y)):
        raise RuntimeError("integration failed: the solution left the finite numbers")
    return Trajectory(sol.t, sol.y[0], sol.y[1])


#: Initial tumours of one batch of runs (`end_states`): at most 1000 runs in one call, each
#: as TUMOUR_START (0, or at least one cell: the Relation below).
TUMOUR_STARTS = Array(TUMOUR_START, shape=(None,), scalar_ok=True, at_most=1000,
                      why="runs of one batch: they share one solver")
EACH_TUMOUR_START = Relation(
    "y0", lambda y0: bool(np.all((y0 == 0.0) | (y0 >= ONE_CELL))),
    f"must hold tumours each {TUMOUR_START.describe()}")


@checked(PARAMETERS, EACH_TUMOUR_START, x0=DENSITY, y0=TUMOUR_STARTS, tau_end=TAU_END,
         model=MODEL)
def end_states(x0: float, y0: ArrayLike, tau_end: float,
               model: Model = Model()) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) at tau_end of the runs from (x0, y0[i]), one for each initial tumour y0[i].

    All runs are integrated together, as one system of 2 n equations with a banded
    Jacobian (LSODA, the tolerances of `simulate`): one solver instead of n, about half
    the time for the chapter's nine sizes over its follow-up (for two or three runs over
    1500 units it is slower than separate runs: the shared steps follow the hardest run). The solver controls the error of all runs
    together, so the ends agree with n separate `simulate` calls to about 1e-6
    (relative; the tests check it), not to the last digit.
    """
    y0 = np.atleast_1d(y0)
    n = y0.size
    plain = SimpleNamespace(**model.as_dict(), recruitment=model.recruitment,
                            killing=model.killing)

    def stacked(t, z):  # z = (x_1, y_1, x_2, y_2, ...): rhs for each run, as in _solver_rhs
        x, y = z[0::2], np.maximum(z[1::2], 0.0)
        out = np.empty_like(z)
        out[0::2] = (plain.sigma + plain.recruitment * x * y / (plain.eta + y)
                     - plain.mu * x * y - plain.delta * x)
        out[1::2] = plain.alpha * y * (1.0 - plain.beta * y) - plain.killing * x * y
        return out

    start = np.empty(2 * n)
    start[0::2], start[1::2] = x0, y0
    sol = solve_ivp(stacked, (0.0, tau_end), start, method="LSODA", t_eval=[tau_end],
                    rtol=RTOL, atol=ATOL, lband=1, uband=1)
    if not sol.success:
        raise RuntimeError(f"integration failed: {sol.message}")
    if not np.all(np.isfinite(sol.y)):
        raise RuntimeError("integration failed: the solution left the finite numbers")
    return sol.y[0::2, -1], sol.y[1::2, -1]


@checked(PARAMETERS, x0=DENSITY, y0=TUMOUR_START, model=MODEL, tau_end=TAU_END)
def final_state(x0: float, y0: float, model: Model = Model(),
                tau_end: float = 1500.0) -> Equilibrium:
    """The equilibrium a long integration from (x0, y0) ends nearest to (in log tumour size)."""
    path = simulate.__wrapped__(x0, y0, tau_end, model, n_points=2)
    states = equilibria(model)
    end = np.log10(max(path.y[-1], 1e-12))
    return min(states, key=lambda e: abs(np.log10(max(e.y, 1e-12)) - end) + abs(e.x - path.x[-1]))


@checked(PARAMETERS, equilibrium=Instance(Equilibrium, lambda: equilibria()[1]))
def oscillation_period(equilibrium: Equilibrium) -> float:
    """Period (dimensionless time) of the damped oscillation around a focus, 2 pi / Im(lambda)."""
    omega = abs(equilibrium.eigenvalues[0].imag)
    if omega == 0:
        raise ValueError("equilibrium is a node: no oscillation")
    return 2.0 * np.pi / omega


@checked(PARAMETERS, model=MODEL, tau_end=TAU_END, step=STEP)
def unstable_manifold_end(model: Model = Model(), tau_end: float = 3000.0,
                          step: float = 1e-6) -> float:
    """Tumour size at which the unstable manifold of the tumour-free state ends.

    A naive host (effectors at s/d) seeded with a very small tumour follows this manifold: it
    ends at the dormant state or, past the heteroclinic connection, at the escape state.
    """
    tumour_free = equilibria(model)[0]
    if tumour_free.stable:
        return 0.0
    values, vectors = np.linalg.eig(_jacobian(tumour_free.x, 0.0, model))
    v = np.real(vectors[:, int(np.argmax(values.real))])
    v = v if v[1] > 0 else -v
    start = np.array([tumour_free.x, 0.0]) + step * v / np.linalg.norm(v)
    return float(_simulate(start[0], start[1], tau_end, model, 2,
                           rtol=MANIFOLD_RTOL, atol=MANIFOLD_ATOL).y[-1])


@checked(PARAMETERS, *BRACKET_RELATIONS, parameter=one_of(*BIFURCATION_PARAMETERS),
         low=BRACKET, high=BRACKET, model=MODEL)
def heteroclinic_threshold(parameter: str, low: float, high: float,
                           model: Model = Model()) -> float:
    """Value of `parameter` where the unstable manifold of the tumour-free state switches
    from the dormant state to the escape state (brentq on log(y_end / y_saddle))."""

    def side(value):
        m = model.replace(**{parameter: value})
        states = equilibria(m)
        if len(states) != 4:
            raise ValueError(f"{parameter}={value}: needs the three positive equilibria")
        return np.log(max(unstable_manifold_end(m), 1e-12) / states[2].y)

    if side(low) * side(high) > 0:
        raise ValueError(f"no heteroclinic switch of {parameter} between low={low} and high={high}")
    return brentq(side, low, high, xtol=1e-6)


def _saddle_stable_direction(model: Model):
    """The saddle C and the unit eigenvector of its stable direction (None without C)."""
    states = equilibria(model)
    if len(states) != 4:
        return None, None
    saddle = states[2]
    values, vectors = np.linalg.eig(_jacobian(saddle.x, saddle.y, model))
    v = np.real(vectors[:, int(np.argmin(values.real))])
    return saddle, v / np.linalg.norm(v)


def _backward_branches(model: Model, tau_end, step, events=(), y_min=1e-9, y_max=1e6):
    """Both branches of the saddle's stable manifold, traced backwards in time until they
    leave the plane of interest (y outside (y_min, y_max), or x above 50)."""
    saddle, v = _saddle_stable_direction(model)
    if saddle is None:
        return []

    def gone(t, z):
        return min(z[1] - y_min, y_max - z[1], 50.0 - z[0])
    gone.terminal = True

    forward = _solver_rhs(model)
    branches = []
    for sign in (1.0, -1.0):
        start = np.array([saddle.x, saddle.y]) + sign * step * saddle.y * v
        branches.append(solve_ivp(lambda t, z: -forward(t, z), (0.0, tau_end), start,
                                  method="LSODA", events=(gone, *events), dense_output=True,
                                  rtol=RTOL, atol=ATOL))
    return branches


@checked(PARAMETERS, model=MODEL, tau_end=TAU_END, step=STEP, n_points=N_POINTS)
def separatrix(model: Model = Model(), tau_end: float = 200.0, step: float = 1e-7,
               n_points: int = 400) -> list:
    """The boundary between the dormant and the escape basins: the stable manifold of the
    saddle C, as two (x, y) branches (empty when C does not exist)."""
    curves = []
    # drawn between 10^-4 and 10^3 (100 to 10^9 cells): the chapter's plots show 10^3 to 10^9
    for sol in _backward_branches(model, tau_end, step, y_min=1e-4, y_max=1e3):
        t = np.linspace(0.0, sol.t[-1], n_points)
        curves.append(sol.sol(t))
    return curves


@checked(PARAMETERS, x0=interval(0.0, 1e6, open_low=True, why=DENSITY.why), model=MODEL,
         tau_end=TAU_END, step=STEP)
def escape_thresholds(x0: float, model: Model = Model(), tau_end: float = 200.0,
                      step: float = 1e-7) -> np.ndarray:
    """Initial tumour sizes y0 at which the outcome from (x0, y0) switches.

    The boundary between the basins of the dormant and the escape state is the stable
    manifold of the saddle C (`separatrix`). We trace both of its branches backwards in time
    and record where they cross the line x = x0; those crossings are the thresholds. Between
    two successive thresholds the outcome is the same (checked against forward runs in the
    tests).
    """

    def crossing(t, z):
        return z[0] - x0

    crossings = []
    for sol in _backward_branches(model, tau_end, step, events=(crossing,)):
        crossings.extend(np.asarray(sol.y_events[1]).reshape(-1, 2)[:, 1])
    return np.sort(np.asarray(crossings))


# --- the widget model ---------------------------------------------------------------------


@dataclass(frozen=True)
class PhasePortrait:
    model: Model
    states: list
    y_grid: np.ndarray
    x_null: np.ndarray
    y_null: np.ndarray
    trajectory: Trajectory
    outcome: str
    separatrix: list

    NAN_MEANS = {"x_null": "no positive effector level balances dx/dtau = 0 at that tumour "
                           "size (the x-nullcline leaves the plane)"}


#: Tumour sizes for nullclines (dimensionless, log-spaced) and the follow-up time.
PORTRAIT_Y = np.logspace(-3, np.log10(600.0), 300)
FOLLOW_UP_DAYS = 1000.0


def _classify(y_end: float, states: list) -> str:
    """'escape' near the large-tumour state, 'dormant' near a small one, 'eliminated' at y ~ 0."""
    if y_end < 1e-6:
        return "eliminated"
    positive = [e for e in states[1:] if e.stable]
    nearest = min(positive, key=lambda e: abs(np.log(y_end / e.y)))
    return "escape" if nearest.y > 100.0 else "dormant"


@checked(PARAMETERS)
def phase_portrait(suppression: float | None = None,
                   log10_initial_tumour: float | None = None) -> PhasePortrait:
    """The chapter's widget model: equilibria, nullclines, separatrix and the trajectory of a
    tumour of 10**log10_initial_tumour cells in a naive host (effectors at s/d), over 1000 days."""
    model = Model(suppression=suppression)
    states = equilibria(model)
    tau_end = FOLLOW_UP_DAYS / days_per_unit_time()
    path = simulate(model.sigma / model.delta, 10.0**log10_initial_tumour / SCALE_CELLS, tau_end,
                    model, n_points=600)
    return PhasePortrait(model, states, PORTRAIT_Y, x_nullcline(PORTRAIT_Y, model),
                         y_nullcline(PORTRAIT_Y, model), path, _classify(path.y[-1], states),
                         separatrix(model))


#: The chapter's live panel: the model it reruns and the parameters on its sliders.
WIDGET_MODEL = phase_portrait
WIDGET_CONTROLS = ("suppression", "log10_initial_tumour")


# --- what this chapter reproduces (collected by chapter 11's table) ----------------------

CHAPTER = 4
MODEL_NAME = "effector-tumour model"


def _nondimensional_row(name: str, published: float) -> Reproduction:
    return Reproduction(
        f"dimensionless {name}", published, lambda: nondimensional()[name], "kuznetsov1994",
        "Section 4 (the dimensional estimates of Section 3, scaled)", 1e-3 * abs(published),
        "0.1 %: the printed values are rounded in the fourth significant figure",
        "re-implementation")


_MU_LOW, _MU_HIGH = MU_ONLY_DORMANT_PUBLISHED, NONDIMENSIONAL_PUBLISHED["mu"]

REPRODUCTIONS = tuple(
    _nondimensional_row(name, published) for name, published in NONDIMENSIONAL_PUBLISHED.items()
) + (
    Reproduction(
        "μ at which escape state and saddle collide", (_MU_LOW + _MU_HIGH) / 2,
        lambda: saddle_node("mu", _MU_LOW, _MU_HIGH), "kuznetsov1994",
        "Fig. 9 (one state at μ = 0.0021; figure number from a re-implementation) and "
        "Section 4 (three at 0.00311)",
        (_MU_HIGH - _MU_LOW) / 2,
        "published interval: one state at μ = 0.0021 (Fig. 9), three at 0.00311",
        "re-implementation", published_text=f"between {_MU_LOW:g} and {_MU_HIGH:g}"),
)
