"""Chapter 3: cancer-associated fibroblasts. A paracrine loop that switches fibroblasts into CAFs.

Two variables, time t in days:

    tau = T / K_T   tumour burden as a fraction of the tissue's carrying capacity (1),
    c   = C / N     fraction of the local fibroblast pool N that is activated into CAFs (1);
                    the rest, 1 - c, are quiescent fibroblasts (the pool is conserved).

An activating signal S (TGF-beta-like, in units of its half-activation concentration) is
made by tumour cells and by CAFs themselves and decays fast, so it sits at quasi-steady
state, S = sigma_T tau + sigma_C c. The CAFs secrete tumour-promoting factors (growth
factors such as HGF or SDF-1) whose level, also at quasi-steady state, is proportional to c:

    d tau/dt = r (1 + eps c) tau (1 - tau) - delta tau,
    d c/dt   = k_a H(S) (1 - c) - rho c,        H(S) = S^n / (1 + S^n).

sigma_T is the activation strength (tumour signal at full burden), sigma_C the CAFs' own
(autocrine) secretion of the activating signal, eps the largest relative gain in tumour
growth rate that CAF factors give, delta a drug's kill rate (1/day), k_a the maximal
activation rate and rho the rate at which CAFs are lost (deactivation or death), both 1/day.

With tau fixed, the steady states of c satisfy k_a H(S)(1 - c) = rho c, which can be solved
for sigma_T in closed form along the whole curve of steady states (a natural
continuation in c); folds of that curve bound the bistable window of sigma_T, and the
autocrine strength sigma_C at which the lower fold reaches sigma_T = 0 makes activation
irreversible. The CAF loss rate rho is the myofibroblast removal rate of Adler et al.
(2020); every other value is illustrative (see PARAMETERS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from .parameters import (
    FRACTION,
    REAL,
    Array,
    Parameter,
    ParameterSet,
    Relation,
    Values,
    checked,
    count,
    interval,
    nonnegative,
    positive,
    Reproduction,
)

__all__ = [
    "ADLER_MYOFIBROBLAST_PROLIFERATION", "ADLER_MYOFIBROBLAST_REMOVAL",
    "ADLER_PDGF_SECRETION_BY_MYOFIBROBLAST", "ADLER_PDGF_ENDOCYTOSIS_BY_MYOFIBROBLAST",
    "adler_autocrine_occupancy", "PARAMETERS", "rhs", "jacobian", "simulate",
    "max_caf_fraction", "tumour_level", "ActivationBranch", "activation_branch", "fold_points",
    "bistable_window",
    "critical_caf_secretions", "steady_states", "hysteresis_sweep", "CafResponse", "FEW_CAFS",
    "MANY_CAFS", "caf_response", "WIDGET_MODEL", "WIDGET_CONTROLS",
    "CHAPTER", "MODEL_NAME", "REPRODUCTIONS",
]

# --- published numbers used -----------------------------------------------------------------

#: Adler et al. (2020), parameter table (values taken over from Zhou et al. 2018):
#: myofibroblast proliferation and removal rates (1/day), and the maximal secretion and
#: endocytosis rates of PDGF by a myofibroblast (molecules per cell per minute).
ADLER_MYOFIBROBLAST_PROLIFERATION = 0.9   # lambda_1, 1/day
ADLER_MYOFIBROBLAST_REMOVAL = 0.3         # mu_1, 1/day
ADLER_PDGF_SECRETION_BY_MYOFIBROBLAST = 240.0   # beta_3, molecules/cell/min
ADLER_PDGF_ENDOCYTOSIS_BY_MYOFIBROBLAST = 510.0  # alpha_2, molecules/cell/min


@checked()
def adler_autocrine_occupancy() -> tuple[float, float]:
    """Receptor occupancy P/(k+P) that a dense myofibroblast population keeps by itself.

    In Adler et al.'s myofibroblast equations, when endocytosis dominates degradation the
    autocrine PDGF balance beta_3 F = alpha_2 F P/(k + P) gives P/(k + P) = beta_3/alpha_2.
    The cells then outgrow their removal only if lambda_1 P/(k + P) > mu_1. Returns
    (occupancy beta_3/alpha_2, occupancy needed mu_1/lambda_1).
    """
    return (ADLER_PDGF_SECRETION_BY_MYOFIBROBLAST / ADLER_PDGF_ENDOCYTOSIS_BY_MYOFIBROBLAST,
            ADLER_MYOFIBROBLAST_REMOVAL / ADLER_MYOFIBROBLAST_PROLIFERATION)


#: Signals are in units of their half-activation concentration: 10^4 saturates the switch,
#: and larger values would only risk overflow of S^n.
SIGNAL = nonnegative(at_most=1e4, why="in units of the half-activation concentration: 10^4 "
                     "saturates activation, larger values only risk overflow of S^n")
#: Rates per day: a thousand per day (a minute and a half) is far faster than the days over
#: which fibroblasts switch, and faster rates would only make the solves stiff.
RATE = positive(at_most=1e3, why="per day: faster than any process of the model (days), and "
                "faster rates only make the solves stiff")

PARAMETERS = ParameterSet([
    Parameter(
        "activation_strength", r"\sigma_T", 0.15, "1",
        "tumour-derived activating signal at full tumour burden, in units of its "
        "half-activation concentration", None,
        "illustrative; the slider spans both folds of the bistable window",
        low=0.0, high=0.5, domain=SIGNAL,
    ),
    Parameter(
        "caf_secretion", r"\sigma_C", 2.0, "1",
        "activating signal that a fully activated fibroblast pool makes itself "
        "(autocrine), same units", None,
        "illustrative; autocrine TGF-β maintains the CAF state in {cite:t}`kojima2010`",
        low=0.0, high=4.0, domain=SIGNAL,
    ),
    Parameter(
        "caf_growth_boost", r"\varepsilon", 1.0, "1",
        "relative gain in tumour growth rate per unit CAF fraction (CAF-secreted "
        "growth factors)", None,
        "illustrative; stroma raises tumour growth in {cite:t}`flach2011` and "
        "{cite:t}`picco2017`",
        low=0.0, high=3.0,
        domain=nonnegative(at_most=100.0, why="a hundredfold faster growth is beyond any "
                           "stromal support, and only makes the tumour equation stiff"),
    ),
    Parameter(
        "activation_rate", r"k_a", 0.5, "1/day",
        "maximal rate at which a quiescent fibroblast is activated", None,
        "illustrative: activation over days, of the order of the CAF loss rate", domain=RATE,
    ),
    Parameter(
        "caf_loss", r"\rho", ADLER_MYOFIBROBLAST_REMOVAL, "1/day",
        "rate at which CAFs are lost (deactivation or death)", "adler2020",
        "myofibroblast removal rate μ₁ in the parameter table (from "
        "{cite:t}`zhou2018`); read in reimplementations of the model, not in the paper",
        domain=RATE,
    ),
    Parameter(
        "hill", r"n", 3.0, "1", "steepness (Hill coefficient) of activation by the signal",
        None, "illustrative; n ≥ 2 is needed for a switch, n = 3 gives a window in range",
        domain=positive(at_most=20.0, why="steeper than any signalling switch; S^n would "
                        "overflow at large signals"),
    ),
    Parameter(
        "tumour_growth", r"r", 0.2, "1/day",
        "tumour growth rate without CAF support", None,
        "illustrative: a doubling time of about 3.5 days", domain=RATE,
    ),
    Parameter(
        "drug_kill", r"\delta", 0.0, "1/day", "kill rate of a drug acting on tumour cells",
        None, "0 except in section (c), which varies it",
        domain=nonnegative(at_most=1e3, why="per day: faster than any process of the model "
                           "(days), and faster rates only make the solves stiff"),
    ),
])

# --- specs of the other inputs, each bound with its reason ------------------------------------

#: A state (tau, c): tumour burden and CAF fraction, both fractions.
STATE = Array(FRACTION, shape=(2,))
#: Where the right-hand side is evaluated: fractions, with room for a solver's or a finite
#: difference's step beyond [0, 1].
STATE_OR_STEP = Array(interval(-1.0, 2.0, why="fractions, with room for a solver's or a "
                               "finite difference's step beyond [0, 1]"), shape=(2,))
#: Shortest and longest time spans, in days. The fastest rate allowed is 10^3 per day
#: (RATE), so in 10^-6 day (a tenth of a second) no variable moves by more than a
#: thousandth; and on spans near the underflow limit LSODA's step control never returns (a
#: span of 1e-300 hangs). 10^4 days (27 years) is longer than any tumour-stroma process the
#: model describes, and bounds the run time.
SHORTEST_SPAN = 1e-6
LONGEST_SPAN = 1e4
DAYS = interval(SHORTEST_SPAN, LONGEST_SPAN,
                why="days: in less than 1e-6 day nothing moves and the solver's step control "
                "can fail to return; 1e4 days is longer than any process the model describes, "
                "and it bounds the run time")
#: Output points of a run.
OUTPUT_POINTS = count(2, 100_000, why="points stored per run")
#: Grid points in c that bracket roots and folds: each costs one evaluation.
GRID_POINTS = count(10, 1_000_000, why="grid points that bracket roots: each costs an evaluation")
#: Activation strengths of a quasi-static ramp: each is one solve of `hold_days`.
STRENGTHS = Array(SIGNAL, shape=(None,), at_most=1000,
                  why="each strength of the ramp is one solve of hold_days")


# --- the model --------------------------------------------------------------------------------


def _hill(signal, n):
    """Fraction of the maximal activation rate at a signal level: S^n / (1 + S^n)."""
    s = np.maximum(signal, 0.0)
    sn = s**n
    return sn / (1.0 + sn)


def _signal(tau, c, activation_strength, caf_secretion):
    """Quasi-steady activating signal S = sigma_T tau + sigma_C c (units of half-activation)."""
    return activation_strength * tau + caf_secretion * c


@checked(PARAMETERS, t=REAL, y=STATE_OR_STEP, params=PARAMETERS)
def rhs(
    t: float, y: np.ndarray, params: Values | None = None
) -> list[float]:
    """Right-hand side d(tau, c)/dt (t may be any real: the loop is autonomous). The
    solvers call it without its checks and with `params` as a plain dict of the values.
    """
    p = params
    tau, c = y
    s = _signal(tau, c, p["activation_strength"], p["caf_secretion"])
    growth = p["tumour_growth"] * (1.0 + p["caf_growth_boost"] * c)
    return [
        growth * tau * (1.0 - tau) - p["drug_kill"] * tau,
        p["activation_rate"] * _hill(s, p["hill"]) * (1.0 - c)
        - p["caf_loss"] * c,
    ]


@checked(PARAMETERS, tau=FRACTION, c=FRACTION, params=PARAMETERS)
def jacobian(tau: float, c: float, params: Values | None = None) -> np.ndarray:
    """Analytic Jacobian of (d tau/dt, d c/dt) with respect to (tau, c)."""
    p = params
    n = p["hill"]
    s = max(_signal(tau, c, p["activation_strength"], p["caf_secretion"]), 0.0)
    dhill = n * s ** (n - 1) / (1.0 + s**n) ** 2 if s > 0 else 0.0
    r, eps = p["tumour_growth"], p["caf_growth_boost"]
    k, rho = p["activation_rate"], p["caf_loss"]
    return np.array([
        [r * (1 + eps * c) * (1 - 2 * tau) - p["drug_kill"], r * eps * tau * (1 - tau)],
        [k * dhill * p["activation_strength"] * (1 - c),
         k * dhill * p["caf_secretion"] * (1 - c) - k * _hill(s, n) - rho],
    ])


@checked(PARAMETERS, y0=STATE, t_end=DAYS, n_points=OUTPUT_POINTS, params=PARAMETERS)
def simulate(y0: np.ndarray, t_end: float = 120.0, n_points: int = 241,
             params: Values | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integrate the loop from y0 = (tau0, c0) to t_end days; returns (t, tau, c).

    LSODA with rtol 1e-8 and atol 1e-10: the variables are fractions of order 0.01-1.
    They are clipped to [0, 1]: the solver's error (about 1e-10) can take a vanishing one a
    little below 0, or a tumour at full burden a little above 1.
    """
    t = np.linspace(0.0, t_end, n_points)
    # rhs without its input checks, on a plain dict of the values: the solver calls it at
    # every step
    solution = solve_ivp(rhs.__wrapped__, (0.0, t_end), y0, method="LSODA", t_eval=t,
                         args=(params.as_dict(),), rtol=1e-8, atol=1e-10)
    if not solution.success:
        raise RuntimeError(f"solve_ivp failed: {solution.message}")
    tau, c = np.clip(solution.y, 0.0, 1.0)
    return solution.t, tau, c


# --- steady states: continuation along c ----------------------------------------------------


@checked(PARAMETERS)
def max_caf_fraction(activation_rate: float | None = None, caf_loss: float | None = None
                     ) -> float:
    """Largest steady CAF fraction, reached at saturating signal: k_a / (k_a + rho)."""
    return activation_rate / (activation_rate + caf_loss)


@checked(PARAMETERS, c=Array(FRACTION, scalar_ok=True))
def tumour_level(c: np.ndarray, tumour_growth: float | None = None,
                 caf_growth_boost: float | None = None, drug_kill: float | None = None
                 ) -> np.ndarray:
    """Steady tumour burden given the CAF fraction: 1 - delta / (r (1 + eps c)), or 0."""
    level = 1.0 - drug_kill / (tumour_growth * (1.0 + caf_growth_boost * c))
    return np.maximum(level, 0.0)


def _signal_needed(c, activation_rate, caf_loss, hill):
    """Signal S that holds the CAF fraction at c, and dS/dc (c below its maximum).

    From k_a H(S)(1 - c) = rho c: H = h(c) = rho c / (k_a (1 - c)), so
    S = (h / (1 - h))^(1/n).
    """
    k, rho, n = activation_rate, caf_loss, hill
    h = rho * c / (k * (1.0 - c))
    u = h / (1.0 - h)
    s = u ** (1.0 / n)
    dh = rho / (k * (1.0 - c) ** 2)
    du = dh / (1.0 - h) ** 2
    # at c = 0 (u = 0), dS/dc = (1/n) u^(1/n - 1) du is infinite for n > 1 (S grows like
    # c^(1/n)), du for n = 1 and 0 for n < 1
    at_zero = np.inf if n > 1 else (du if n == 1 else 0.0)
    ds = np.where(u > 0, s / (n * np.where(u > 0, u, 1.0)) * du, at_zero)
    return s, ds


@dataclass(frozen=True)
class ActivationBranch:
    """The curve of steady states of `activation_branch`: at each CAF fraction c given, the
    activation strength sigma_T that holds it (`sigma`) and d sigma_T / dc (`slope`, positive
    on the stable parts). Unpacks as (sigma, slope).

    Both are NaN where the tumour cannot persist (tau* = 0); `slope` is +inf at c = 0 when the
    Hill coefficient n > 1 (NAN_MEANS)."""

    sigma: np.ndarray
    slope: np.ndarray

    NAN_MEANS = {
        "sigma": "NaN where the tumour cannot persist at that CAF fraction (tau* = 0), so no "
                 "tumour signal holds it",
        "slope": "NaN where the tumour cannot persist (tau* = 0); +inf at c = 0 when the Hill "
                 "coefficient n > 1: the branch leaves the origin vertically, c growing like "
                 "sigma_T^n",
    }

    def __iter__(self):
        return iter((self.sigma, self.slope))


@checked(PARAMETERS, Relation("c", lambda c, params: bool(np.all(
             c < max_caf_fraction(params["activation_rate"], params["caf_loss"]))),
             "must lie below the largest steady CAF fraction k_a / (k_a + rho)"),
         c=Array(FRACTION, scalar_ok=True), params=PARAMETERS)
def activation_branch(
    c: np.ndarray, params: Values | None = None
) -> ActivationBranch:
    """The activation strength sigma_T at which c is a steady CAF fraction
    (tumour present).

    Closed form: sigma_T(c) = (S(c) - sigma_C c) / tau*(c), with S(c) from
    `_signal_needed` and tau*(c) the steady tumour burden. Returns an
    `ActivationBranch` (sigma_T and d sigma_T / dc; it unpacks as the
    pair). Both are NaN where the tumour cannot persist (tau* = 0), and at
    c = 0 the slope is +inf when n > 1 (the curve is vertical there), as
    `ActivationBranch.NAN_MEANS` declares. c must lie in [0, k_a / (k_a +
    rho)).
    """
    p = params
    s, ds = _signal_needed(
        c, p["activation_rate"], p["caf_loss"], p["hill"]
    )
    r, eps, delta = (
        p["tumour_growth"],
        p["caf_growth_boost"],
        p["drug_kill"],
    )
    tau = tumour_level.__wrapped__(c, r, eps, delta)
    dtau = delta * eps / (r * (1.0 + eps * c) ** 2)
    net = s - p["caf_secretion"] * c
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.where(tau > 0, net / tau, np.nan)
        dsigma = np.where(
            tau > 0,
            ((ds - p["caf_secretion"]) * tau - net * dtau) / tau**2,
            np.nan,
        )
    return ActivationBranch(sigma, dsigma)


@checked(PARAMETERS, n_grid=GRID_POINTS, params=PARAMETERS)
def fold_points(
    n_grid: int = 4000, params: Values | None = None
) -> list[tuple[float, float]]:
    """Saddle-node points of the steady-state curve: list of (c, sigma_T),
    by c.

    Folds are the zeros of d sigma_T / dc, bracketed on a grid in c and
    refined with brentq. Two folds bound the bistable window of activation
    strengths; none means the CAF response to the tumour signal is graded
    (monostable).
    """
    c_max = max_caf_fraction(params["activation_rate"], params["caf_loss"])
    grid = np.linspace(1e-6 * c_max, c_max * (1 - 1e-6), n_grid)
    _, slope = activation_branch(grid, params)
    # without input checks: brentq calls it often
    branch = activation_branch.__wrapped__

    def derivative(x):
        return float(branch(x, params).slope)

    folds = []
    valid = np.isfinite(slope)
    for i in np.where(
        valid[:-1]
        & valid[1:]
        & (np.sign(slope[:-1]) != np.sign(slope[1:]))
    )[0]:
        c_fold = brentq(
            derivative, grid[i], grid[i + 1], xtol=1e-13, rtol=1e-12
        )
        folds.append((c_fold, float(branch(c_fold, params).sigma)))
    return folds


@checked(PARAMETERS, params=PARAMETERS)
def bistable_window(params: Values | None = None) -> tuple[float, float] | None:
    """(low, high) activation strengths between which CAFs can be either off or on.

    Returns None when there is no fold pair. `low` < 0 means that once switched on, the
    CAFs stay on even with no tumour signal at all (irreversible activation).
    """
    folds = fold_points(params=params)
    if len(folds) < 2:
        return None
    sigmas = [s for _, s in folds]
    return min(sigmas), max(sigmas)


def _autocrine_thresholds(activation_rate, caf_loss, hill):
    """Critical CAF secretions: the cusp (bistability appears) and irreversibility.

    With tau = 1 and no drug, sigma_T(c) = S(c) - sigma_C c. Folds need S'(c) = sigma_C,
    so they first appear where S'' = 0 (the inflection of S, a cusp), and the lower fold
    sits at sigma_T = 0 where S(c) = c S'(c).
    """
    c_max = activation_rate / (activation_rate + caf_loss)

    def slope(c):
        return float(_signal_needed(np.asarray(c), activation_rate, caf_loss, hill)[1])

    def curvature(c, h=1e-6 * c_max):
        return (slope(c + h) - slope(c - h)) / (2 * h)

    grid = np.linspace(1e-4 * c_max, c_max * (1 - 1e-4), 2000)
    values = np.array([curvature(x) for x in grid])
    i = np.where(np.sign(values[:-1]) != np.sign(values[1:]))[0][0]
    c_cusp = brentq(curvature, grid[i], grid[i + 1], xtol=1e-12)

    def tangent_through_origin(c):
        s, ds = _signal_needed(np.asarray(c), activation_rate, caf_loss, hill)
        return float(s - c * ds)

    g = np.array([tangent_through_origin(x) for x in grid])
    j = np.where(np.sign(g[:-1]) != np.sign(g[1:]))[0][0]
    c_origin = brentq(tangent_through_origin, grid[j], grid[j + 1], xtol=1e-13)
    return slope(c_cusp), slope(c_origin), c_cusp, c_origin


@checked(PARAMETERS, Relation("hill", lambda hill: hill >= 1.01,
                              "must be at least 1.01: the steady states fold only for n > 1 "
                              "(for n <= 1 the response is graded at every CAF secretion), and "
                              "closer to 1 the cusp lies below the CAF fractions searched"))
def critical_caf_secretions(activation_rate: float | None = None, caf_loss: float | None = None,
                            hill: float | None = None) -> tuple[float, float]:
    """(sigma_C at the cusp, sigma_C for irreversible activation) for tau = 1, no drug.

    Below the first, CAF activation rises smoothly with the tumour signal; between them it
    is a reversible switch with hysteresis; above the second, CAFs once activated sustain
    themselves through their own signal even if the tumour signal vanishes.
    """
    sigma_cusp, sigma_irreversible, _, _ = _autocrine_thresholds(activation_rate, caf_loss, hill)
    return sigma_cusp, sigma_irreversible


@checked(PARAMETERS, n_grid=GRID_POINTS, params=PARAMETERS)
def steady_states(n_grid: int = 4000, params: Values | None = None
                  ) -> list[tuple[float, float, bool]]:
    """All steady states (tau, c, stable) by root finding on the reduced equation in c.

    Tumour-present states: c solves k_a H(S)(1 - c) = rho c with tau = tau*(c) > 0;
    tumour-free states: the same with tau = 0. Roots are bracketed on a grid in c and
    refined with brentq; stability from the eigenvalues of the analytic Jacobian.
    """
    p = params
    grid = np.linspace(0.0, 1.0, n_grid + 1)
    k, rho, n = p["activation_rate"], p["caf_loss"], p["hill"]
    # the helpers without their input checks: brentq calls them at every iteration
    level, jacobian_at = tumour_level.__wrapped__, jacobian.__wrapped__
    growth = (p["tumour_growth"], p["caf_growth_boost"], p["drug_kill"])

    def residual(c, tumour_present):
        c = np.asarray(c, dtype=float)
        tau = level(c, *growth) if tumour_present else 0.0 * c
        s = _signal(tau, c, p["activation_strength"], p["caf_secretion"])
        return k * _hill(s, n) * (1.0 - c) - rho * c

    states = []
    for tumour_present in (True, False):
        values = residual(grid, tumour_present)
        roots = list(grid[values == 0.0])
        for i in np.where(values[:-1] * values[1:] < 0)[0]:
            roots.append(brentq(lambda x: float(residual(x, tumour_present)), grid[i], grid[i + 1],
                                xtol=1e-14, rtol=1e-13))
        for c in roots:
            tau = float(level(c, *growth)) if tumour_present else 0.0
            if tumour_present and tau == 0.0:
                continue  # a tumour-free state, found on the other pass
            eigenvalues = np.linalg.eigvals(jacobian_at(tau, c, p))
            states.append((tau, float(c), bool(np.all(eigenvalues.real < 0))))
    return sorted(set(states), key=lambda s: (s[0], s[1]))


@checked(PARAMETERS, strengths=STRENGTHS, hold_days=DAYS, start=STATE, params=PARAMETERS)
def hysteresis_sweep(strengths: np.ndarray, hold_days: float = 400.0,
                     start: np.ndarray = (1.0, 0.0), params: Values | None = None) -> np.ndarray:
    """State (tau, c) after holding each activation strength in turn for `hold_days`,
    one row per strength, starting from `start`.

    Each step starts from where the previous one ended (a quasi-static ramp), so sweeping
    the strengths up and then down traces the two branches of a hysteresis loop. The
    activation strength of `params` is replaced by each of `strengths` in turn. The states
    are clipped to [0, 1], as in `simulate`.
    """
    y = start
    out = np.empty((strengths.size, 2))
    for i, strength in enumerate(strengths):
        # rhs without its input checks, on a plain dict (the solver calls it at every step)
        solution = solve_ivp(rhs.__wrapped__, (0.0, hold_days), y, method="LSODA",
                             args=(params.replace(activation_strength=strength).as_dict(),),
                             rtol=1e-8, atol=1e-10)
        y = solution.y[:, -1]
        out[i] = y
    return np.clip(out, 0.0, 1.0)


# --- the live panel ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CafResponse:
    """Trajectories from a few-CAF and a many-CAF start, and the steady-state curve."""

    t: np.ndarray
    tumour: np.ndarray      # shape (2, len(t)): from few CAFs, from many CAFs
    caf: np.ndarray         # same shape
    branch_c: np.ndarray    # CAF fraction along the steady-state curve
    branch_sigma: np.ndarray  # activation strength along it
    branch_stable: np.ndarray  # bool: d sigma_T / dc > 0
    window: tuple | None    # bistable window of activation strength
    parameters: Values      # every parameter value of the run


#: Initial states of the panel's two runs: a small tumour with few CAFs, and the same
#: tumour in a stroma already rich in CAFs (fractions tau0, c0).
FEW_CAFS = (0.05, 0.01)
MANY_CAFS = (0.05, 0.5)


@checked(PARAMETERS, t_end=DAYS)
def caf_response(activation_strength: float | None = None, caf_secretion: float | None = None,
                 caf_growth_boost: float | None = None, t_end: float = 120.0) -> CafResponse:
    """The chapter's widget model: both runs and the steady-state curve at these values."""
    params = PARAMETERS.resolve(activation_strength=activation_strength,
                                caf_secretion=caf_secretion, caf_growth_boost=caf_growth_boost)
    t = np.linspace(0.0, t_end, 241)
    runs = [simulate(start, t_end=t_end, n_points=t.size, params=params)
            for start in (FEW_CAFS, MANY_CAFS)]
    c_max = max_caf_fraction(params["activation_rate"], params["caf_loss"])
    branch_c = np.linspace(0.0, c_max * 0.995, 600)
    sigma, slope = activation_branch(branch_c, params)
    return CafResponse(
        t=t, tumour=np.array([run[1] for run in runs]), caf=np.array([run[2] for run in runs]),
        branch_c=branch_c, branch_sigma=sigma, branch_stable=slope > 0,
        window=bistable_window(params), parameters=params,
    )


#: The chapter's live panel: the model it reruns and the parameters on its sliders (the
#: benchmark times WIDGET_MODEL at these sliders' ends).
WIDGET_MODEL = caf_response
WIDGET_CONTROLS = ("activation_strength", "caf_secretion", "caf_growth_boost")


# --- what this chapter reproduces (collected by chapter 11's table) ----------------------

CHAPTER = 3
MODEL_NAME = "CAF activation loop"


def _self_sustaining() -> str:
    occupancy, needed = adler_autocrine_occupancy()
    return "self-sustaining state exists" if occupancy > needed else "no such state"


REPRODUCTIONS = (
    Reproduction(
        "myofibroblasts sustain themselves on their own PDGF", "self-sustaining state exists",
        _self_sustaining, "adler2020",
        "parameter table (λ₁, μ₁, β₃, α₂, taken over from Zhou et al. 2018)", None,
        "same outcome", "re-implementation"),
)
