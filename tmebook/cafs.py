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

from .parameters import Parameter, check_array, check_finite, check_nonnegative, check_positive

# --- published numbers used -----------------------------------------------------------------

#: Adler et al. (2020), parameter table (values taken over from Zhou et al. 2018):
#: myofibroblast proliferation and removal rates (1/day), and the maximal secretion and
#: endocytosis rates of PDGF by a myofibroblast (molecules per cell per minute).
ADLER_MYOFIBROBLAST_PROLIFERATION = 0.9   # lambda_1, 1/day
ADLER_MYOFIBROBLAST_REMOVAL = 0.3         # mu_1, 1/day
ADLER_PDGF_SECRETION_BY_MYOFIBROBLAST = 240.0   # beta_3, molecules/cell/min
ADLER_PDGF_ENDOCYTOSIS_BY_MYOFIBROBLAST = 510.0  # alpha_2, molecules/cell/min


def adler_autocrine_occupancy():
    """Receptor occupancy P/(k+P) that a dense myofibroblast population keeps by itself.

    In Adler et al.'s myofibroblast equations, when endocytosis dominates degradation the
    autocrine PDGF balance beta_3 F = alpha_2 F P/(k + P) gives P/(k + P) = beta_3/alpha_2.
    The cells then outgrow their removal only if lambda_1 P/(k + P) > mu_1. Returns
    (occupancy beta_3/alpha_2, occupancy needed mu_1/lambda_1).
    """
    return (ADLER_PDGF_SECRETION_BY_MYOFIBROBLAST / ADLER_PDGF_ENDOCYTOSIS_BY_MYOFIBROBLAST,
            ADLER_MYOFIBROBLAST_REMOVAL / ADLER_MYOFIBROBLAST_PROLIFERATION)


PARAMETERS = {
    p.name: p
    for p in [
        Parameter(
            "activation_strength", r"\sigma_T", 0.15, "1",
            "tumour-derived activating signal at full tumour burden, in units of its "
            "half-activation concentration", None,
            "illustrative; the slider spans both folds of the bistable window",
            low=0.0, high=0.5,
        ),
        Parameter(
            "caf_secretion", r"\sigma_C", 2.0, "1",
            "activating signal that a fully activated fibroblast pool makes itself "
            "(autocrine), same units", None,
            "illustrative; autocrine TGF-β maintains the CAF state in {cite:t}`kojima2010`",
            low=0.0, high=4.0,
        ),
        Parameter(
            "caf_growth_boost", r"\varepsilon", 1.0, "1",
            "relative gain in tumour growth rate per unit CAF fraction (CAF-secreted "
            "growth factors)", None,
            "illustrative; stroma raises tumour growth in {cite:t}`flach2011` and "
            "{cite:t}`picco2017`",
            low=0.0, high=3.0,
        ),
        Parameter(
            "activation_rate", r"k_a", 0.5, "1/day",
            "maximal rate at which a quiescent fibroblast is activated", None,
            "illustrative: activation over days, of the order of the CAF loss rate",
        ),
        Parameter(
            "caf_loss", r"\rho", ADLER_MYOFIBROBLAST_REMOVAL, "1/day",
            "rate at which CAFs are lost (deactivation or death)", "adler2020",
            "myofibroblast removal rate μ₁ in the parameter table (from "
            "{cite:t}`zhou2018`); read in reimplementations of the model, not in the paper",
        ),
        Parameter(
            "hill", r"n", 3.0, "1", "steepness (Hill coefficient) of activation by the signal",
            None, "illustrative; n ≥ 2 is needed for a switch, n = 3 gives a window in range",
        ),
        Parameter(
            "tumour_growth", r"r", 0.2, "1/day",
            "tumour growth rate without CAF support", None,
            "illustrative: a doubling time of about 3.5 days",
        ),
        Parameter(
            "drug_kill", r"\delta", 0.0, "1/day", "kill rate of a drug acting on tumour cells",
            None, "0 except in section (c), which varies it",
        ),
    ]
}


def default(name: str) -> float:
    return PARAMETERS[name].value


def _parameters(**given) -> dict:
    """Defaults overridden by `given`, each validated (rates >= 0, Hill and growth > 0)."""
    unknown = set(given) - set(PARAMETERS)
    if unknown:
        raise ValueError(f"unknown parameter(s): {sorted(unknown)}")
    p = {name: default(name) if given.get(name) is None else given[name] for name in PARAMETERS}
    for name in ("activation_strength", "caf_secretion", "caf_growth_boost", "drug_kill"):
        p[name] = check_nonnegative(name, p[name])
    for name in ("activation_rate", "caf_loss", "hill", "tumour_growth"):
        p[name] = check_positive(name, p[name])
    return p


# --- the model --------------------------------------------------------------------------------


def hill(signal, n):
    """Fraction of the maximal activation rate at a signal level: S^n / (1 + S^n)."""
    s = np.maximum(signal, 0.0)
    sn = s**n
    return sn / (1.0 + sn)


def signal(tau, c, activation_strength, caf_secretion):
    """Quasi-steady activating signal S = sigma_T tau + sigma_C c (units of half-activation)."""
    return activation_strength * tau + caf_secretion * c


def rhs(t, y, p):
    """Right-hand side d(tau, c)/dt for the parameter dict `p` (from `_parameters`)."""
    tau, c = y
    s = signal(tau, c, p["activation_strength"], p["caf_secretion"])
    growth = p["tumour_growth"] * (1.0 + p["caf_growth_boost"] * c)
    return [growth * tau * (1.0 - tau) - p["drug_kill"] * tau,
            p["activation_rate"] * hill(s, p["hill"]) * (1.0 - c) - p["caf_loss"] * c]


def jacobian(tau, c, **parameters):
    """Analytic Jacobian of (d tau/dt, d c/dt) with respect to (tau, c)."""
    p = _parameters(**parameters)
    tau, c = check_finite("tau", tau), check_finite("c", c)
    n = p["hill"]
    s = max(signal(tau, c, p["activation_strength"], p["caf_secretion"]), 0.0)
    dhill = n * s ** (n - 1) / (1.0 + s**n) ** 2 if s > 0 else 0.0
    r, eps = p["tumour_growth"], p["caf_growth_boost"]
    k, rho = p["activation_rate"], p["caf_loss"]
    return np.array([
        [r * (1 + eps * c) * (1 - 2 * tau) - p["drug_kill"], r * eps * tau * (1 - tau)],
        [k * dhill * p["activation_strength"] * (1 - c),
         k * dhill * p["caf_secretion"] * (1 - c) - k * hill(s, n) - rho],
    ])


def simulate(y0, t_end=120.0, n_points=241, **parameters):
    """Integrate the loop from y0 = (tau0, c0) to t_end days; returns (t, tau, c).

    LSODA with rtol 1e-8 and atol 1e-10: the variables are fractions of order 0.01-1.
    """
    p = _parameters(**parameters)
    y0 = check_array("y0", y0, ndim=1, shape_tail=(2,))
    if np.any((y0 < 0) | (y0 > 1)):
        raise ValueError("y0 must hold fractions tau0, c0 in [0, 1]")
    t_end = check_positive("t_end", t_end)
    t = np.linspace(0.0, t_end, int(n_points))
    solution = solve_ivp(rhs, (0.0, t_end), y0, method="LSODA", t_eval=t, args=(p,),
                         rtol=1e-8, atol=1e-10)
    if not solution.success:
        raise RuntimeError(f"solve_ivp failed: {solution.message}")
    return solution.t, solution.y[0], solution.y[1]


# --- steady states: continuation along c ----------------------------------------------------


def max_caf_fraction(**parameters):
    """Largest steady CAF fraction, reached at saturating signal: k_a / (k_a + rho)."""
    p = _parameters(**parameters)
    return p["activation_rate"] / (p["activation_rate"] + p["caf_loss"])


def tumour_level(c, **parameters):
    """Steady tumour burden given the CAF fraction: 1 - delta / (r (1 + eps c)), or 0."""
    p = _parameters(**parameters)
    c = check_array("c", c)
    level = 1.0 - p["drug_kill"] / (p["tumour_growth"] * (1.0 + p["caf_growth_boost"] * c))
    return np.maximum(level, 0.0)


def _signal_needed(c, p):
    """Signal S that holds the CAF fraction at c, and dS/dc (c below its maximum).

    From k_a H(S)(1 - c) = rho c: H = h(c) = rho c / (k_a (1 - c)), so
    S = (h / (1 - h))^(1/n).
    """
    k, rho, n = p["activation_rate"], p["caf_loss"], p["hill"]
    h = rho * c / (k * (1.0 - c))
    u = h / (1.0 - h)
    s = u ** (1.0 / n)
    dh = rho / (k * (1.0 - c) ** 2)
    du = dh / (1.0 - h) ** 2
    ds = np.where(u > 0, s / (n * np.where(u > 0, u, 1.0)) * du, np.inf)
    return s, ds


def activation_branch(c, **parameters):
    """The activation strength sigma_T at which c is a steady CAF fraction (tumour present).

    Closed form: sigma_T(c) = (S(c) - sigma_C c) / tau*(c), with S(c) from `_signal_needed`
    and tau*(c) the steady tumour burden. Also returns d sigma_T / dc. Points where the
    tumour cannot persist (tau* = 0) are NaN. c must lie in [0, k_a / (k_a + rho)).
    """
    p = _parameters(**parameters)
    c = check_array("c", c)
    c_max = max_caf_fraction(**parameters)
    if np.any((c < 0) | (c >= c_max)):
        raise ValueError(f"c must lie in [0, {c_max:.4g}) (the largest steady CAF fraction)")
    s, ds = _signal_needed(c, p)
    r, eps, delta = p["tumour_growth"], p["caf_growth_boost"], p["drug_kill"]
    tau = 1.0 - delta / (r * (1.0 + eps * c))
    dtau = delta * eps / (r * (1.0 + eps * c) ** 2)
    net = s - p["caf_secretion"] * c
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.where(tau > 0, net / tau, np.nan)
        dsigma = np.where(tau > 0, ((ds - p["caf_secretion"]) * tau - net * dtau) / tau**2, np.nan)
    return sigma, dsigma


def fold_points(n_grid=4000, **parameters):
    """Saddle-node points of the steady-state curve: list of (c, sigma_T), by c.

    Folds are the zeros of d sigma_T / dc, bracketed on a grid in c and refined with
    brentq. Two folds bound the bistable window of activation strengths; none means the
    CAF response to the tumour signal is graded (monostable).
    """
    c_max = max_caf_fraction(**parameters)
    grid = np.linspace(1e-6, c_max * (1 - 1e-6), int(n_grid))
    _, slope = activation_branch(grid, **parameters)

    def derivative(x):
        return float(activation_branch(x, **parameters)[1])

    folds = []
    valid = np.isfinite(slope)
    for i in np.where(valid[:-1] & valid[1:] & (np.sign(slope[:-1]) != np.sign(slope[1:])))[0]:
        c_fold = brentq(derivative, grid[i], grid[i + 1], xtol=1e-13, rtol=1e-12)
        folds.append((c_fold, float(activation_branch(c_fold, **parameters)[0])))
    return folds


def bistable_window(**parameters):
    """(low, high) activation strengths between which CAFs can be either off or on.

    Returns None when there is no fold pair. `low` < 0 means that once switched on, the
    CAFs stay on even with no tumour signal at all (irreversible activation).
    """
    folds = fold_points(**parameters)
    if len(folds) < 2:
        return None
    sigmas = [s for _, s in folds]
    return min(sigmas), max(sigmas)


def _autocrine_thresholds(p):
    """Critical CAF secretions: the cusp (bistability appears) and irreversibility.

    With tau = 1 and no drug, sigma_T(c) = S(c) - sigma_C c. Folds need S'(c) = sigma_C,
    so they first appear where S'' = 0 (the inflection of S, a cusp), and the lower fold
    sits at sigma_T = 0 where S(c) = c S'(c).
    """
    c_max = p["activation_rate"] / (p["activation_rate"] + p["caf_loss"])

    def slope(c):
        return float(_signal_needed(np.asarray(c), p)[1])

    def curvature(c, h=1e-6):
        return (slope(c + h) - slope(c - h)) / (2 * h)

    grid = np.linspace(1e-4, c_max * (1 - 1e-4), 2000)
    values = np.array([curvature(x) for x in grid])
    i = np.where(np.sign(values[:-1]) != np.sign(values[1:]))[0][0]
    c_cusp = brentq(curvature, grid[i], grid[i + 1], xtol=1e-12)

    def tangent_through_origin(c):
        s, ds = _signal_needed(np.asarray(c), p)
        return float(s - c * ds)

    g = np.array([tangent_through_origin(x) for x in grid])
    j = np.where(np.sign(g[:-1]) != np.sign(g[1:]))[0][0]
    c_origin = brentq(tangent_through_origin, grid[j], grid[j + 1], xtol=1e-13)
    return slope(c_cusp), slope(c_origin), c_cusp, c_origin


def critical_caf_secretions(**parameters):
    """(sigma_C at the cusp, sigma_C for irreversible activation) for tau = 1, no drug.

    Below the first, CAF activation rises smoothly with the tumour signal; between them it
    is a reversible switch with hysteresis; above the second, CAFs once activated sustain
    themselves through their own signal even if the tumour signal vanishes.
    """
    p = _parameters(**parameters)
    sigma_cusp, sigma_irreversible, _, _ = _autocrine_thresholds(p)
    return sigma_cusp, sigma_irreversible


def steady_states(n_grid=4000, **parameters):
    """All steady states (tau, c, stable) by root finding on the reduced equation in c.

    Tumour-present states: c solves k_a H(S)(1 - c) = rho c with tau = tau*(c) > 0;
    tumour-free states: the same with tau = 0. Roots are bracketed on a grid in c and
    refined with brentq; stability from the eigenvalues of the analytic Jacobian.
    """
    p = _parameters(**parameters)
    grid = np.linspace(0.0, 1.0, int(n_grid) + 1)
    k, rho, n = p["activation_rate"], p["caf_loss"], p["hill"]

    def residual(c, tumour_present):
        c = np.asarray(c, dtype=float)
        tau = tumour_level(c, **parameters) if tumour_present else 0.0 * c
        s = signal(tau, c, p["activation_strength"], p["caf_secretion"])
        return k * hill(s, n) * (1.0 - c) - rho * c

    states = []
    for tumour_present in (True, False):
        values = residual(grid, tumour_present)
        roots = list(grid[values == 0.0])
        for i in np.where(values[:-1] * values[1:] < 0)[0]:
            roots.append(brentq(lambda x: float(residual(x, tumour_present)), grid[i], grid[i + 1],
                                xtol=1e-14, rtol=1e-13))
        for c in roots:
            tau = float(tumour_level(c, **parameters)) if tumour_present else 0.0
            if tumour_present and tau == 0.0:
                continue  # a tumour-free state, found on the other pass
            eigenvalues = np.linalg.eigvals(jacobian(tau, c, **parameters))
            states.append((tau, float(c), bool(np.all(eigenvalues.real < 0))))
    return sorted(set(states), key=lambda s: (s[0], s[1]))


def hysteresis_sweep(strengths, hold_days=400.0, start=(1.0, 0.0), **parameters):
    """CAF fraction after holding each activation strength in turn for `hold_days`.

    Each step starts from where the previous one ended (a quasi-static ramp), so sweeping
    the strengths up and then down traces the two branches of a hysteresis loop.
    """
    strengths = check_array("strengths", strengths, ndim=1)
    if np.any(strengths < 0):
        raise ValueError("strengths must be non-negative")
    hold_days = check_positive("hold_days", hold_days)
    y = np.asarray(start, dtype=float)
    out = np.empty((strengths.size, 2))
    for i, strength in enumerate(strengths):
        p = _parameters(**{**parameters, "activation_strength": strength})
        solution = solve_ivp(rhs, (0.0, hold_days), y, method="LSODA", args=(p,),
                             rtol=1e-8, atol=1e-10)
        y = solution.y[:, -1]
        out[i] = y
    return out


# --- the live panel ---------------------------------------------------------------------------


@dataclass
class CafResponse:
    """Trajectories from a few-CAF and a many-CAF start, and the steady-state curve."""

    t: np.ndarray
    tumour: np.ndarray      # shape (2, len(t)): from few CAFs, from many CAFs
    caf: np.ndarray         # same shape
    branch_c: np.ndarray    # CAF fraction along the steady-state curve
    branch_sigma: np.ndarray  # activation strength along it
    branch_stable: np.ndarray  # bool: d sigma_T / dc > 0
    window: tuple | None    # bistable window of activation strength
    parameters: dict


#: Initial states of the panel's two runs: a small tumour with few CAFs, and the same
#: tumour in a stroma already rich in CAFs (fractions tau0, c0).
FEW_CAFS = (0.05, 0.01)
MANY_CAFS = (0.05, 0.5)


def caf_response(activation_strength=None, caf_secretion=None, caf_growth_boost=None,
                 t_end=120.0):
    """The chapter's widget model: both runs and the steady-state curve at these values."""
    given = dict(activation_strength=activation_strength, caf_secretion=caf_secretion,
                 caf_growth_boost=caf_growth_boost)
    p = _parameters(**given)
    t = np.linspace(0.0, t_end, 241)
    runs = [simulate(start, t_end=t_end, n_points=t.size, **given) for start in (FEW_CAFS, MANY_CAFS)]
    c_max = max_caf_fraction(**given)
    branch_c = np.linspace(0.0, c_max * 0.995, 600)
    sigma, slope = activation_branch(branch_c, **given)
    return CafResponse(
        t=t, tumour=np.array([run[1] for run in runs]), caf=np.array([run[2] for run in runs]),
        branch_c=branch_c, branch_sigma=sigma, branch_stable=slope > 0,
        window=bistable_window(**given), parameters=p,
    )


#: The chapter's live panel: the model it reruns and the parameters on its sliders (the
#: benchmark times WIDGET_MODEL at these sliders' ends).
WIDGET_MODEL = caf_response
WIDGET_CONTROLS = ("activation_strength", "caf_secretion", "caf_growth_boost")
