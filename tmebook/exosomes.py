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
from scipy.optimize import brentq
from scipy.signal import lfilter

from .parameters import (
    Parameter,
    check_array,
    check_nonnegative,
    check_positive,
)

# --- parameters ---------------------------------------------------------------------------

IWATA_WHERE = ("fit to the hepatocellular carcinoma patient; value as in the public "
               "reimplementation we could read (the paper's own text was not available to us)")

PARAMETERS = {
    p.name: p
    for p in [
        Parameter(
            "growth_rate", r"a", 0.00286, "1/day", "Gompertz growth rate of primary and colonies",
            "iwata2000", IWATA_WHERE,
        ),
        Parameter(
            "carrying_capacity", r"b", 7.3e10, "cells", "Gompertz plateau (largest tumour size)",
            "iwata2000", IWATA_WHERE,
        ),
        Parameter(
            "colonisation_coefficient", r"m", 5.3e-8, "colonies cell^-α day⁻¹",
            "colonisation coefficient in β(x) = m x^α", "iwata2000", IWATA_WHERE,
        ),
        Parameter(
            "fractal_dimension", r"\alpha", 0.663, "1",
            "exponent of β(x), read as the fractal dimension of the tumour's blood vessels", "iwata2000",
            "the value 0.663 we were given for this fit; NOT confirmed against the paper: the "
            "one reimplementation we could read uses 2/3 (0.5 % larger)",
        ),
        Parameter(
            "primary_detection_size", r"x_D", 1e9, "cells",
            "size at which a primary becomes clinically detectable", None,
            "the usual rule of thumb: about 1 cm³ of tumour, about 10⁹ cells",
        ),
        Parameter(
            "metastasis_detection_size", r"x_d", 1e8, "cells",
            "size from which a metastasis counts as visible on imaging", None,
            "about 0.1 cm³ (a 6 mm nodule), near the resolution of CT",
        ),
        Parameter(
            "exosome_output", r"s", 0.1, "1/day",
            "receptivity built per day by the exosomes of a full-size primary (illustrative)",
            None, "illustrative extension: chosen so that priming at most about triples "
            "colonisation of the favoured organ",
            low=0.0, high=0.5,
        ),
        Parameter(
            "niche_decay", r"\delta", 0.05, "1/day",
            "rate at which a conditioned organ loses its receptivity (illustrative)", None,
            "illustrative extension: a half-life of two weeks; the slider spans 1.4 to 140 days",
            low=0.005, high=0.5,
        ),
        Parameter(
            "integrin_profile", r"p", 0.8, "1",
            "share of exosomal integrins that are lung-tropic (α6β4, α6β1); the rest "
            "liver-tropic (αvβ5)", None,
            "illustrative extension; the integrin-organ pairs are those of "
            "{cite:t}`hoshino2015`, the numbers are ours",
            low=0.0, high=1.0,
        ),
        Parameter(
            "organ_share", r"f_k", 0.5, "1",
            "share of new colonies each organ receives without priming", None,
            "illustrative extension: lung and liver seeded equally, so that any difference "
            "comes from priming",
        ),
    ]
}

#: The organs of the priming extension, in the order of every per-organ array.
ORGANS = ("lung", "liver")

#: Horizon and step of the chapter's time courses (days).
T_END_DAYS = 1500.0
DT_DAYS = 1.0


def default(name: str) -> float:
    return PARAMETERS[name].value


def _kinetics(growth_rate, carrying_capacity, colonisation_coefficient, fractal_dimension):
    """Validated (a, b, m, alpha), defaults for None."""
    a = check_positive("growth_rate", default("growth_rate") if growth_rate is None else growth_rate)
    b = check_positive("carrying_capacity",
                       default("carrying_capacity") if carrying_capacity is None else carrying_capacity)
    if b <= 1.0:
        raise ValueError(f"carrying_capacity must exceed one cell, got {b!r}")
    m = check_positive("colonisation_coefficient", default("colonisation_coefficient")
                       if colonisation_coefficient is None else colonisation_coefficient)
    alpha = check_nonnegative("fractal_dimension", default("fractal_dimension")
                              if fractal_dimension is None else fractal_dimension)
    return a, b, m, alpha


def _times(t, name="t"):
    t = check_array(name, t)
    if np.any(t < 0):
        raise ValueError(f"{name} must be non-negative (days since the first cancer cell)")
    return t


# --- (a) Iwata, Kawasaki & Shigesada (2000) ---------------------------------------------------


def gompertz_rate(x, growth_rate=None, carrying_capacity=None):
    """Growth rate g(x) = a x ln(b / x) of a tumour of x cells (cells/day)."""
    a, b, _, _ = _kinetics(growth_rate, carrying_capacity, None, None)
    x = check_array("x", x)
    if np.any(x <= 0):
        raise ValueError("x must be positive (cells)")
    return a * x * np.log(b / x)


def primary_size(t, growth_rate=None, carrying_capacity=None):
    """Primary tumour size x_p(t) = b^(1 - exp(-a t)) (cells), grown from one cell at t = 0."""
    a, b, _, _ = _kinetics(growth_rate, carrying_capacity, None, None)
    t = _times(t)
    return np.exp(np.log(b) * -np.expm1(-a * t))


def time_to_size(x, growth_rate=None, carrying_capacity=None):
    """Time tau(x) (days) for a tumour to grow from one cell to x cells (inverse of x_p)."""
    a, b, _, _ = _kinetics(growth_rate, carrying_capacity, None, None)
    x = check_array("x", x)
    if np.any((x < 1) | (x >= b)):
        raise ValueError("x must lie in [1, carrying_capacity): the plateau is never reached")
    return -np.log1p(-np.log(x) / np.log(b)) / a


def colonisation_rate(x, colonisation_coefficient=None, fractal_dimension=None):
    """Colonies founded per day by a tumour of x cells: beta(x) = m x^alpha."""
    _, _, m, alpha = _kinetics(None, None, colonisation_coefficient, fractal_dimension)
    x = check_array("x", x)
    if np.any(x < 0):
        raise ValueError("x must be non-negative (cells)")
    return m * x**alpha


def primary_seeding_rate(t, growth_rate=None, carrying_capacity=None,
                         colonisation_coefficient=None, fractal_dimension=None):
    """beta(x_p(t)): colonies per day seeded by the primary at time t."""
    a, b, m, alpha = _kinetics(growth_rate, carrying_capacity, colonisation_coefficient,
                               fractal_dimension)
    # m x_p^alpha written as one exponential: no overflow, exact at t = 0
    return m * np.exp(alpha * np.log(b) * -np.expm1(-a * _times(t)))


def _cumulative_trapezoid(values, h):
    out = np.zeros_like(values)
    out[..., 1:] = np.cumsum(0.5 * h * (values[..., 1:] + values[..., :-1]), axis=-1)
    return out


def time_grid(t_end=T_END_DAYS, dt=DT_DAYS):
    """Uniform grid 0, dt, ..., t_end (days)."""
    t_end = check_positive("t_end", t_end)
    dt = check_positive("dt", dt)
    steps = int(round(t_end / dt))
    if steps < 2 or not np.isclose(steps * dt, t_end, rtol=1e-9):
        raise ValueError("dt must divide t_end into at least two steps")
    return np.linspace(0.0, t_end, steps + 1)


def birth_rate(t_end=T_END_DAYS, dt=DT_DAYS, second_generation=True, growth_rate=None,
               carrying_capacity=None, colonisation_coefficient=None, fractal_dimension=None):
    """Birth rate B(t) of new colonies (per day) on time_grid(t_end, dt).

    First generation only: B = beta(x_p(t)). With the second generation, B solves the
    renewal equation B(t) = beta(x_p(t)) + int_0^t beta(x_p(t - s)) B(s) ds, solved by
    the trapezoidal rule (second order in dt; each step is one dot product).
    Returns (t, B).
    """
    kinetics = (growth_rate, carrying_capacity, colonisation_coefficient, fractal_dimension)
    t = time_grid(t_end, dt)
    seeding = primary_seeding_rate(t, *kinetics)
    if not second_generation:
        return t, seeding
    # Every colony grows like the primary, so the kernel is the primary's seeding rate.
    kernel = seeding
    births = np.empty_like(seeding)
    diagonal = 1.0 - 0.5 * dt * kernel[0]
    births[0] = seeding[0]  # no history yet at t = 0
    for n in range(1, t.size):
        history = 0.5 * kernel[n] * births[0] + np.dot(kernel[n - 1:0:-1], births[1:n])
        births[n] = (seeding[n] + dt * history) / diagonal
    return t, births


def _grid_and_births(t, births):
    t = _times(t)
    births = check_array("births", births)
    if t.ndim != 1 or t.size < 2 or births.shape != t.shape:
        raise ValueError("births must have the shape of the 1-D time grid t")
    if t[0] != 0 or not np.allclose(np.diff(t), t[1] - t[0]):
        raise ValueError("t must be a uniform grid starting at 0")
    if np.any(births < 0):
        raise ValueError("births must be non-negative")
    return t, births


def metastases_larger_than(x, t, births, growth_rate=None, carrying_capacity=None):
    """N(>x, t_i) on the grid t: colonies larger than x cells, from the birth rate B(t).

    Characteristics: a colony founded at s has x_p(t - s) cells at t, so it is larger
    than x exactly when s < t - tau(x). The integral of B up to that time is read off the
    cumulative trapezoid of B by linear interpolation.
    """
    x = check_nonnegative("x", x)
    t, births = _grid_and_births(t, births)
    delay = 0.0 if x <= 1.0 else float(time_to_size(x, growth_rate, carrying_capacity))
    cumulative = _cumulative_trapezoid(births, t[1] - t[0])
    return np.interp(t - delay, t, cumulative, left=0.0)


def total_tumour_burden(t, births, growth_rate=None, carrying_capacity=None):
    """Cells in the primary plus all colonies, x_p(t) + int_0^t B(s) x_p(t - s) ds."""
    t, births = _grid_and_births(t, births)
    h = t[1] - t[0]
    size = primary_size(t, growth_rate, carrying_capacity)  # x_p on the same grid
    # trapezoid over s of B(s) x_p(t - s): a discrete convolution less the end halves
    colonies = h * (np.convolve(births, size)[:t.size]
                    - 0.5 * (births[0] * size + births * size[0]))
    return size + colonies


def malthusian_rate(growth_rate=None, carrying_capacity=None, colonisation_coefficient=None,
                    fractal_dimension=None):
    """Asymptotic growth rate lambda (1/day) of the colony population with both
    generations: the root of int_0^inf beta(x_p(u)) exp(-lambda u) du = 1."""
    kinetics = (growth_rate, carrying_capacity, colonisation_coefficient, fractal_dimension)
    a, b, m, alpha = _kinetics(*kinetics)

    log_b = np.log(b)

    def seeding(u):  # beta(x_p(u)) without the array checks: quad calls it many times
        return m * math.exp(alpha * log_b * -math.expm1(-a * u))

    def laplace(lam):
        value, _ = quad(lambda u: seeding(u) * math.exp(-lam * u), 0.0, np.inf, limit=400)
        return value - 1.0

    # beta(x_p) never exceeds m b^alpha, so the transform is below m b^alpha / lambda.
    upper = 2.0 * m * b**alpha + 1.0
    return brentq(laplace, 1e-9, upper, xtol=1e-12, rtol=1e-10)


@dataclass
class ColonyDensity:
    """Finite-volume solution: colonies per unit log-size on cells of y = ln x."""

    t: np.ndarray            # output times (days)
    edges: np.ndarray        # cell edges in y = ln x
    density: np.ndarray      # (len(t), cells): colonies per unit y
    births: np.ndarray       # inflow B(t) at the output times (colonies/day)

    def larger_than(self, x):
        """Colonies larger than x cells at each output time (partial cell by linear share)."""
        y = np.log(check_positive("x", x))
        width = np.diff(self.edges)
        share = np.clip((self.edges[1:] - y) / width, 0.0, 1.0)
        return self.density @ (share * width)

    def total(self):
        return self.larger_than(1.0)


def solve_transport(t_out, n_cells=400, second_generation=True, cfl=0.9, growth_rate=None,
                    carrying_capacity=None, colonisation_coefficient=None, fractal_dimension=None):
    """The transport equation solved directly, as a check on the characteristics.

    In y = ln x the Gompertz velocity v(y) = a (ln b - y) is linear and vanishes at the
    plateau, so colonies never leave [0, ln b]. First-order upwind finite volumes (a
    sparse flux-difference matrix) with forward Euler at the given CFL number; the inflow
    flux at y = 0 is the birth rate, beta(x_p(t)) plus, with the second generation,
    sum_i m exp(alpha y_i) n_i dy. The scheme conserves colonies exactly: their number
    changes only by the inflow.
    """
    a, b, m, alpha = _kinetics(growth_rate, carrying_capacity, colonisation_coefficient,
                               fractal_dimension)
    t_out = _times(t_out, "t_out")
    if t_out.ndim != 1 or np.any(np.diff(t_out) <= 0):
        raise ValueError("t_out must be a strictly increasing 1-D array of times")
    if int(n_cells) != n_cells or n_cells < 4:
        raise ValueError("n_cells must be an integer >= 4")
    cfl = check_positive("cfl", cfl)
    if cfl > 1.0:
        raise ValueError("cfl must not exceed 1 (stability of the upwind scheme)")
    n_cells = int(n_cells)
    y_max = np.log(b)
    edges = np.linspace(0.0, y_max, n_cells + 1)
    dy = edges[1] - edges[0]
    centres = 0.5 * (edges[1:] + edges[:-1])
    speed = a * (y_max - edges)                      # at the edges; speed[-1] = 0
    # dn_i/dt = (v_{i-1/2} n_{i-1} - v_{i+1/2} n_i) / dy, inflow added separately
    transport = sp.diags([-speed[1:] / dy, speed[1:-1] / dy], [0, -1], format="csr")
    seeding_weight = m * np.exp(alpha * centres) * dy if second_generation else None
    dt_max = cfl * dy / speed[0]
    log_b = y_max

    def primary_inflow(time):  # beta(x_p(time)), scalar and unchecked: called every step
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
            seeding_weight @ density if second_generation else 0.0)
    return ColonyDensity(t_out, edges, out, births_out)


# --- (b) niche priming: an illustrative extension ------------------------------------------


def uptake_shares(integrin_profile):
    """Share of exosome uptake by (lung, liver) for an integrin profile p: (p, 1 - p)."""
    p = check_nonnegative("integrin_profile", integrin_profile)
    if p > 1.0:
        raise ValueError(f"integrin_profile must lie in [0, 1], got {integrin_profile!r}")
    return np.array([p, 1.0 - p])


def receptivity(t, exosome_output, niche_decay, integrin_profile, growth_rate=None,
                carrying_capacity=None):
    """Receptivity R_k(t) of each organ (rows in ORGANS order) on a uniform grid t.

    dR/dt = s u_k x_p(t)/b - delta R, R(0) = 0, integrated exactly for input that is
    linear between grid points (an exponential filter, run by scipy.signal.lfilter).
    """
    s = check_nonnegative("exosome_output", exosome_output)
    delta = check_positive("niche_decay", niche_decay)
    shares = uptake_shares(integrin_profile)
    _, b, _, _ = _kinetics(growth_rate, carrying_capacity, None, None)
    t = _times(t)
    h = t[1] - t[0]
    if t.ndim != 1 or t[0] != 0 or not np.allclose(np.diff(t), h):
        raise ValueError("t must be a uniform 1-D grid starting at 0")
    drive = s * primary_size(t, growth_rate, carrying_capacity) / b   # per day, per unit share
    # Exact step for piecewise-linear drive: R_{n+1} = e R_n + w0 q_n + w1 q_{n+1}.
    decay = np.exp(-delta * h)
    w1 = (delta * h - 1.0 + decay) / (delta**2 * h)
    w0 = (1.0 - decay) / delta - w1
    filtered = lfilter([w1, w0], [1.0, -decay], drive)   # filter output n = R_n
    filtered -= w1 * drive[0] * decay ** np.arange(t.size)  # R_0 = 0, not w1 q_0
    return shares[:, None] * filtered[None, :]


@dataclass
class NicheCourse:
    """Time courses of the priming extension (per-organ arrays in ORGANS order)."""

    t: np.ndarray
    receptivity: np.ndarray   # (organs, time), dimensionless
    primed: np.ndarray        # first-generation colonies per organ, with priming
    unprimed: np.ndarray      # the same without priming (f_k of all colonies)
    primed_visible: np.ndarray    # colonies larger than the metastasis detection size
    unprimed_visible: np.ndarray


def niche_priming(exosome_output=None, niche_decay=None, integrin_profile=None,
                  t_end=T_END_DAYS, dt=DT_DAYS, organ_share=None):
    """The chapter's widget model: metastases per organ over time, primed and unprimed."""
    s = default("exosome_output") if exosome_output is None else exosome_output
    delta = default("niche_decay") if niche_decay is None else niche_decay
    p = default("integrin_profile") if integrin_profile is None else integrin_profile
    share = check_nonnegative("organ_share", default("organ_share") if organ_share is None
                              else organ_share)
    if share > 1.0:
        raise ValueError(f"organ_share must lie in [0, 1], got {organ_share!r}")
    t = time_grid(t_end, dt)
    ready = receptivity(t, s, delta, p)
    seeding = primary_seeding_rate(t)
    primed_births = share * seeding[None, :] * (1.0 + ready)
    unprimed_births = np.repeat(share * seeding[None, :], len(ORGANS), axis=0)
    delay = float(time_to_size(default("metastasis_detection_size")))
    primed = _cumulative_trapezoid(primed_births, dt)
    unprimed = _cumulative_trapezoid(unprimed_births, dt)

    def visible(counts):
        return np.array([np.interp(t - delay, t, row, left=0.0) for row in counts])

    return NicheCourse(t, ready, primed, unprimed, visible(primed), visible(unprimed))


#: The chapter's live panel: the model it reruns and the parameters on its sliders.
WIDGET_MODEL = niche_priming
WIDGET_CONTROLS = ("exosome_output", "niche_decay", "integrin_profile")
