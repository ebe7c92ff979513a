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

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from .parameters import Parameter, check_finite, check_nonnegative, check_positive

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

PARAMETERS = {
    p.name: p
    for p in [
        Parameter("sigma", r"\sigma", NONDIMENSIONAL_PUBLISHED["sigma"], "dimensionless",
                  "constant supply of effector cells, s/(n E₀ T₀)", "kuznetsov1994",
                  "Section 4 (s = 1.3 × 10⁴ cells/day, Section 3)"),
        Parameter("rho", r"\rho", NONDIMENSIONAL_PUBLISHED["rho"], "dimensionless",
                  "maximal tumour-driven recruitment of effectors, p/(n T₀)", "kuznetsov1994",
                  "Section 4 (p = 0.1245 /day, Section 3)"),
        Parameter("eta", r"\eta", NONDIMENSIONAL_PUBLISHED["eta"], "dimensionless",
                  "tumour size of half-maximal recruitment, g/T₀", "kuznetsov1994",
                  "Section 4 (g = 2.019 × 10⁷ cells, Section 3)"),
        Parameter("mu", r"\mu", NONDIMENSIONAL_PUBLISHED["mu"], "dimensionless",
                  "effector inactivation per tumour contact relative to killing, m/n",
                  "kuznetsov1994", "Section 4 (m = 3.422 × 10⁻¹⁰ /(cell day), Section 3)"),
        Parameter("delta", r"\delta", NONDIMENSIONAL_PUBLISHED["delta"], "dimensionless",
                  "effector death rate, d/(n T₀)", "kuznetsov1994",
                  "Section 4 (d = 0.0412 /day, Section 3)"),
        Parameter("alpha", r"\alpha", NONDIMENSIONAL_PUBLISHED["alpha"], "dimensionless",
                  "tumour growth rate, a/(n T₀)", "kuznetsov1994",
                  "Section 4 (a = 0.18 /day, Section 3)"),
        Parameter("beta", r"\beta", NONDIMENSIONAL_PUBLISHED["beta"], "dimensionless",
                  "inverse carrying capacity of the tumour, b T₀", "kuznetsov1994",
                  "Section 4 (b = 2 × 10⁻⁹ /cell, Section 3)"),
        Parameter("kill_rate", r"n", DIMENSIONAL_PUBLISHED["n"][0], "1/(cell day)",
                  "tumour-cell killing per effector contact; sets the time unit 1/(n T₀)",
                  "kuznetsov1994", "Section 3; time scale of Section 4"),
        Parameter("cell_scale", r"E_0 = T_0", SCALE_CELLS, "cells",
                  "cell number of one unit of x or y", "kuznetsov1994", "Section 4"),
        Parameter("suppression", r"S", 0.0, "dimensionless",
                  "immunosuppression by TAMs and Tregs: fraction removed from effector "
                  "recruitment and killing", None,
                  "our extension; 0 is the published model, the slider reaches past the "
                  "loss of the dormant state (at about 0.41)", low=0.0, high=0.6),
        Parameter("log10_initial_tumour", r"\log_{10} T(0)", 6.0, "log₁₀ cells",
                  "initial tumour size (effectors start at their tumour-free level s/d)",
                  None, "one million cells, a small palpable lymphoma in the mouse spleen; "
                  "the slider spans 10³ to 5 × 10⁸ cells (the carrying capacity 1/b)",
                  low=3.0, high=8.7),
    ]
}

#: Solver tolerances: the phase plane spans 10^-6 to 500 in y, so atol is set well below
#: the smallest tumour the chapter follows.
RTOL, ATOL = 1e-8, 1e-12
CHANNELS = ("recruitment", "killing")


def default(name: str) -> float:
    return PARAMETERS[name].value


def nondimensional(dimensional=None, scale=SCALE_CELLS) -> dict:
    """The seven dimensionless groups of Section 4 from the dimensional estimates."""
    dim = {k: v[0] for k, v in DIMENSIONAL_PUBLISHED.items()} if dimensional is None else dict(dimensional)
    for key in DIMENSIONAL_PUBLISHED:
        check_positive(key, dim[key])
    scale = check_positive("scale", scale)
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


def days_per_unit_time(kill_rate=None, scale=SCALE_CELLS) -> float:
    """Days in one unit of the dimensionless time tau = n T0 t."""
    n = default("kill_rate") if kill_rate is None else check_positive("kill_rate", kill_rate)
    return 1.0 / (n * check_positive("scale", scale))


# --- the model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """The dimensionless parameters and the suppression acting on them."""

    sigma: float = default("sigma")
    rho: float = default("rho")
    eta: float = default("eta")
    mu: float = default("mu")
    delta: float = default("delta")
    alpha: float = default("alpha")
    beta: float = default("beta")
    suppression: float = 0.0
    channels: tuple = CHANNELS

    def __post_init__(self):
        for name in ("sigma", "rho", "eta", "mu", "delta", "alpha", "beta"):
            check_positive(name, getattr(self, name))
        s = check_nonnegative("suppression", self.suppression)
        if s >= 1.0:
            raise ValueError(f"suppression must be below 1, got {self.suppression!r}")
        unknown = set(self.channels) - set(CHANNELS)
        if unknown:
            raise ValueError(f"channels must be among {CHANNELS}, got {sorted(unknown)}")

    @property
    def recruitment(self) -> float:
        """Effective rho: TAM/Treg suppression lowers the tumour-driven recruitment."""
        return self.rho * (1.0 - self.suppression if "recruitment" in self.channels else 1.0)

    @property
    def killing(self) -> float:
        """Factor on the killing term x y: suppressed effectors kill less per contact."""
        return 1.0 - self.suppression if "killing" in self.channels else 1.0

    def with_(self, **changes) -> "Model":
        return Model(**{**self.__dict__, **changes})


def make_model(suppression=0.0, **overrides) -> Model:
    return Model(suppression=suppression, **overrides)


def rhs(tau, state, model: Model):
    """Right-hand side of the dimensionless system (vectorised over trailing axes)."""
    x, y = state[0], state[1]
    dx = model.sigma + model.recruitment * x * y / (model.eta + y) - model.mu * x * y - model.delta * x
    dy = model.alpha * y * (1.0 - model.beta * y) - model.killing * x * y
    return np.array([dx, dy])


def jacobian(x, y, model: Model) -> np.ndarray:
    r, k = model.recruitment, model.killing
    return np.array([
        [r * y / (model.eta + y) - model.mu * y - model.delta,
         r * x * model.eta / (model.eta + y) ** 2 - model.mu * x],
        [-k * y, model.alpha * (1.0 - 2.0 * model.beta * y) - k * x],
    ])


def x_nullcline(y, model: Model):
    """Effector level where dx/dtau = 0, for tumour sizes y (NaN where none is positive)."""
    y = np.asarray(y, dtype=float)
    loss = model.delta + model.mu * y - model.recruitment * y / (model.eta + y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(loss > 0, model.sigma / loss, np.nan)


def y_nullcline(y, model: Model):
    """The tumour's non-trivial nullcline x = alpha (1 - beta y) / killing."""
    return model.alpha * (1.0 - model.beta * np.asarray(y, dtype=float)) / model.killing


def equilibrium_cubic(model: Model) -> np.poly1d:
    """P(y) whose roots in (0, 1/beta) are the tumour sizes of the positive equilibria.

    On the y-nullcline, x = alpha (1 - beta y)/k; putting it into dx/dtau = 0 and
    multiplying by (eta + y) gives
        sigma k (eta + y) - alpha (1 - beta y) [(delta + mu y)(eta + y) - r y] = 0.
    """
    r, k = model.recruitment, model.killing
    supply = np.poly1d([model.sigma * k, model.sigma * k * model.eta])
    tumour_line = np.poly1d([-model.alpha * model.beta, model.alpha])
    net_loss = np.poly1d([model.mu, model.delta]) * np.poly1d([1.0, model.eta]) - np.poly1d([r, 0.0])
    return supply - tumour_line * net_loss


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


def _positive_roots(cubic: np.poly1d, upper: float) -> list[float]:
    """Real roots of a cubic in (0, upper): bracket between turning points, then brentq."""
    turning = sorted(t.real for t in cubic.deriv().r if abs(t.imag) < 1e-12 and 0 < t.real < upper)
    edges = [0.0, *turning, upper]
    roots = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        f_lo, f_hi = cubic(lo), cubic(hi)
        if f_lo == 0.0 and lo > 0:
            roots.append(lo)
        elif f_lo * f_hi < 0:
            roots.append(brentq(cubic, lo, hi, xtol=1e-14, rtol=1e-13))
    return roots


def equilibria(model: Model | None = None) -> list[Equilibrium]:
    """Tumour-free state first, then the positive states in order of tumour size.

    With three positive states these are Kuznetsov's B (dormant), C (saddle), D (escape);
    the tumour-free state is their A.
    """
    model = make_model() if model is None else model
    states = [(model.sigma / model.delta, 0.0)]
    for y in _positive_roots(equilibrium_cubic(model), 1.0 / model.beta):
        states.append((float(y_nullcline(y, model)), float(y)))
    return [Equilibrium(x, y, np.linalg.eigvals(jacobian(x, y, model))) for x, y in states]


def cubic_discriminant(model: Model) -> float:
    """Discriminant of the equilibrium cubic: > 0 with three distinct real roots, < 0 with one."""
    a, b, c, d = equilibrium_cubic(model).coeffs
    return float(18 * a * b * c * d - 4 * b**3 * d + b**2 * c**2 - 4 * a * c**3 - 27 * a**2 * d**2)


def saddle_node(parameter: str, low: float, high: float, model: Model | None = None) -> float:
    """Value of `parameter` in (low, high) where two positive equilibria merge (brentq on the
    discriminant, which changes sign exactly there)."""
    model = make_model() if model is None else model
    if parameter not in model.__dict__ or parameter == "channels":
        raise ValueError(f"parameter must be a model parameter, got {parameter!r}")
    low, high = check_finite("low", low), check_finite("high", high)
    f = lambda v: cubic_discriminant(model.with_(**{parameter: v}))  # noqa: E731
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


def simulate(x0, y0, tau_end, model: Model | None = None, n_points=400, backward=False) -> Trajectory:
    """Integrate from (x0, y0) for a dimensionless time tau_end (LSODA: stiff near y = 0)."""
    model = make_model() if model is None else model
    x0 = check_nonnegative("x0", x0)
    y0 = check_nonnegative("y0", y0)
    tau_end = check_positive("tau_end", tau_end)
    if int(n_points) < 2:
        raise ValueError(f"n_points must be at least 2, got {n_points!r}")
    sign = -1.0 if backward else 1.0
    t_eval = sign * np.linspace(0.0, tau_end, int(n_points))
    sol = solve_ivp(lambda t, z: rhs(t, z, model), (0.0, sign * tau_end), [x0, y0],
                    method="LSODA", t_eval=t_eval, rtol=RTOL, atol=ATOL)
    if not sol.success:
        raise RuntimeError(f"integration failed: {sol.message}")
    return Trajectory(np.abs(sol.t), sol.y[0], sol.y[1])


def final_state(x0, y0, model: Model | None = None, tau_end=1500.0) -> Equilibrium:
    """The equilibrium a long integration from (x0, y0) ends nearest to (in log tumour size)."""
    model = make_model() if model is None else model
    path = simulate(x0, y0, tau_end, model, n_points=2)
    states = equilibria(model)
    end = np.log10(max(path.y[-1], 1e-12))
    return min(states, key=lambda e: abs(np.log10(max(e.y, 1e-12)) - end) + abs(e.x - path.x[-1]))


def oscillation_period(equilibrium: Equilibrium) -> float:
    """Period (dimensionless time) of the damped oscillation around a focus, 2 pi / Im(lambda)."""
    omega = abs(equilibrium.eigenvalues[0].imag)
    if omega == 0:
        raise ValueError("equilibrium is a node: no oscillation")
    return 2.0 * np.pi / omega


def unstable_manifold_end(model: Model | None = None, tau_end=3000.0, step=1e-6) -> float:
    """Tumour size at which the unstable manifold of the tumour-free state ends.

    A naive host (effectors at s/d) seeded with a very small tumour follows this manifold: it
    ends at the dormant state or, past the heteroclinic connection, at the escape state.
    """
    model = make_model() if model is None else model
    tumour_free = equilibria(model)[0]
    if tumour_free.stable:
        return 0.0
    values, vectors = np.linalg.eig(jacobian(tumour_free.x, 0.0, model))
    v = np.real(vectors[:, int(np.argmax(values.real))])
    v = v if v[1] > 0 else -v
    start = np.array([tumour_free.x, 0.0]) + step * v / np.linalg.norm(v)
    return float(simulate(start[0], start[1], tau_end, model, n_points=2).y[-1])


def heteroclinic_threshold(parameter: str, low: float, high: float,
                           model: Model | None = None) -> float:
    """Value of `parameter` where the unstable manifold of the tumour-free state switches
    from the dormant state to the escape state (brentq on log(y_end / y_saddle))."""
    model = make_model() if model is None else model
    low, high = check_finite("low", low), check_finite("high", high)

    def side(value):
        m = model.with_(**{parameter: value})
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
    values, vectors = np.linalg.eig(jacobian(saddle.x, saddle.y, model))
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

    branches = []
    for sign in (1.0, -1.0):
        start = np.array([saddle.x, saddle.y]) + sign * step * saddle.y * v
        branches.append(solve_ivp(lambda t, z: -rhs(t, z, model), (0.0, tau_end), start,
                                  method="LSODA", events=(gone, *events), dense_output=True,
                                  rtol=RTOL, atol=ATOL))
    return branches


def separatrix(model: Model | None = None, tau_end=200.0, step=1e-7, n_points=400) -> list:
    """The boundary between the dormant and the escape basins: the stable manifold of the
    saddle C, as two (x, y) branches (empty when C does not exist)."""
    model = make_model() if model is None else model
    curves = []
    # drawn between 10^-4 and 10^3 (100 to 10^9 cells): the chapter's plots show 10^3 to 10^9
    for sol in _backward_branches(model, check_positive("tau_end", tau_end), step,
                                  y_min=1e-4, y_max=1e3):
        t = np.linspace(0.0, sol.t[-1], int(n_points))
        curves.append(sol.sol(t))
    return curves


def escape_thresholds(x0, model: Model | None = None, tau_end=200.0, step=1e-7) -> np.ndarray:
    """Initial tumour sizes y0 at which the outcome from (x0, y0) switches.

    The boundary between the basins of the dormant and the escape state is the stable
    manifold of the saddle C (`separatrix`). We trace both of its branches backwards in time
    and record where they cross the line x = x0; those crossings are the thresholds. Between
    two successive thresholds the outcome is the same (checked against forward runs in the
    tests).
    """
    model = make_model() if model is None else model
    x0 = check_positive("x0", x0)

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


#: Tumour sizes for nullclines (dimensionless, log-spaced) and the follow-up time.
PORTRAIT_Y = np.logspace(-3, np.log10(600.0), 300)
FOLLOW_UP_DAYS = 1000.0


def classify(y_end: float, states: list) -> str:
    """'escape' near the large-tumour state, 'dormant' near a small one, 'eliminated' at y ~ 0."""
    if y_end < 1e-6:
        return "eliminated"
    positive = [e for e in states[1:] if e.stable]
    nearest = min(positive, key=lambda e: abs(np.log(y_end / e.y)))
    return "escape" if nearest.y > 100.0 else "dormant"


def phase_portrait(suppression=None, log10_initial_tumour=None) -> PhasePortrait:
    """The chapter's widget model: equilibria, nullclines, separatrix and the trajectory of a
    tumour of 10**log10_initial_tumour cells in a naive host (effectors at s/d), over 1000 days."""
    s = default("suppression") if suppression is None else suppression
    lg = default("log10_initial_tumour") if log10_initial_tumour is None else log10_initial_tumour
    s = check_nonnegative("suppression", s)
    lg = check_finite("log10_initial_tumour", lg)
    if not 0.0 <= lg <= 9.0:
        raise ValueError(f"log10_initial_tumour must lie in [0, 9], got {lg!r}")
    model = make_model(s)
    states = equilibria(model)
    tau_end = FOLLOW_UP_DAYS / days_per_unit_time()
    path = simulate(model.sigma / model.delta, 10.0**lg / SCALE_CELLS, tau_end, model, n_points=600)
    return PhasePortrait(model, states, PORTRAIT_Y, x_nullcline(PORTRAIT_Y, model),
                         y_nullcline(PORTRAIT_Y, model), path, classify(path.y[-1], states),
                         separatrix(model))


#: The chapter's live panel: the model it reruns and the parameters on its sliders.
WIDGET_MODEL = phase_portrait
WIDGET_CONTROLS = ("suppression", "log10_initial_tumour")
