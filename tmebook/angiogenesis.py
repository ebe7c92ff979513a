"""Chapter 7: angiogenesis and lymphatics. Vessel growth, tumour growth and interstitial fluid pressure.

Three models, each tied to a published one.

(a) Tumour growth under angiogenic control (Hahnfeldt, Panigrahy, Folkman & Hlatky 1999).
    Tumour volume V (mm^3) grows in Gompertz fashion towards a carrying capacity K (mm^3)
    set by the vasculature; the tumour stimulates the vasculature (b V) and inhibits it
    through factors whose effect scales with the tumour's surface-to-volume ratio
    (d K V^(2/3)):

        dV/dt = -lambda1 V ln(V / K)
        dK/dt = -lambda2 K + b V - d K V^(2/3)

    lambda1 (1/day), lambda2 (1/day), b (1/day), d (1/(day mm^2)); t in days. The growth
    term uses the natural logarithm (see the chapter for the evidence). With lambda2 = 0 the
    non-trivial steady state is V* = K* = (b / d)^(3/2); in general ((b - lambda2)/d)^(3/2).
    The ODEs are integrated in log variables (ln V, ln K), which keeps V and K positive.

(b) Sprouting towards a tumour (Anderson & Chaplain 1998), discrete tip-cell model.
    Non-dimensional: lengths in units of L (domain [0, 1]^2), time in units of L^2 / D_c
    (D_c the diffusion coefficient of the tumour angiogenic factor, TAF), c (TAF) and f
    (fibronectin) scaled to reference concentrations; every quantity is dimensionless.
    The continuum model

        n_t = D lap(n) - div(chi(c) n grad c) - div(rho n grad f),  chi(c) = chi0 / (1 + alpha c)
        f_t = beta n - gamma n f
        c_t = -eta n c

    is discretised with the explicit five-point scheme (space step h, time step k). The
    coefficients of n at the five points, P0 (stay), P1 (left), P2 (right), P3 (down),
    P4 (up), are read as the probabilities with which one endothelial tip cell moves.
    Tips leave a trail (the sprout); a sprout older than a threshold age may branch, with
    a probability that rises with the local TAF concentration; a tip that runs into
    another sprout fuses with it (anastomosis) and stops. Tips that reach the tumour
    (distance <= tumour radius from (1, 1/2)) stop there. Seeded: numpy default_rng(seed).

(c) Interstitial fluid pressure in a spherical tumour (Baxter & Jain 1989).
    Starling filtration from uniformly distributed leaky vessels (L_p, S/V) into an
    interstitium with Darcy flow (hydraulic conductivity K_t), no functional lymphatics
    inside the tumour, pressure zero at the surface r = R:

        K_t lap(p) = L_p (S/V) (p - p_e),   p_e = p_v - sigma (pi_v - pi_i)

        p(r) / p_e = 1 - sinh(alpha r / R) / ((r / R) sinh(alpha)),
        alpha = R sqrt(L_p (S/V) / K_t).

    Units: r, R in cm; pressures in mmHg; L_p in cm/(mmHg s); S/V in 1/cm; K_t in
    cm^2/(mmHg s); interstitial velocity u = -K_t dp/dr in cm/s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.integrate import solve_ivp
from scipy.optimize import root

from .parameters import (
    Parameter,
    check_array,
    check_finite,
    check_nonnegative,
    check_positive,
    with_defaults,
)

# --- published numbers this chapter reproduces ----------------------------------------------

#: Hahnfeldt et al. 1999, fitted to Lewis lung carcinoma in C57BL/6 mice (control group);
#: the values as restated by independent implementations of the model (see the chapter).
HAHNFELDT_LAMBDA1_PER_DAY = 0.192
HAHNFELDT_B_PER_DAY = 5.85
HAHNFELDT_D_PER_DAY_MM2 = 0.00873
#: Steady state quoted for the fit, V* = K* = (b/d)^(3/2), "about 17,300 mm^3" (as quoted to
#: us for the paper; not confirmed against its text).
HAHNFELDT_STEADY_STATE_MM3 = 17_300.0

#: Baxter & Jain 1989: tumour tissue values, Table 1 as restated in later work (see chapter).
BAXTER_JAIN_TUMOUR = {
    "hydraulic_conductivity": 4.13e-8,  # cm^2 / (mmHg s), K_t
    "vessel_permeability": 2.8e-7,      # cm / (mmHg s), L_p
    "surface_per_volume": 200.0,        # 1/cm, S/V
    "vascular_pressure": 25.0,          # mmHg, p_v
    "reflection": 0.82,                 # sigma_T
    "plasma_oncotic": 20.0,             # mmHg, pi_v
    "interstitial_oncotic": 15.0,       # mmHg, pi_i
}

#: Anderson & Chaplain 1998 time scale: L = 2 mm, D_c = 2.9e-7 cm^2/s, so one unit of
#: non-dimensional time is L^2 / D_c (converted to days here).
AC_LENGTH_MM = 2.0
AC_TAF_DIFFUSIVITY_CM2_S = 2.9e-7
AC_TIME_UNIT_DAYS = (AC_LENGTH_MM / 10.0) ** 2 / AC_TAF_DIFFUSIVITY_CM2_S / 86400.0


def ifp_alpha_from_tissue(radius_cm, hydraulic_conductivity, vessel_permeability,
                          surface_per_volume):
    """alpha = R sqrt(L_p (S/V) / K_t): the tumour radius in units of the pressure's decay length."""
    radius = check_positive("radius_cm", radius_cm)
    k_t = check_positive("hydraulic_conductivity", hydraulic_conductivity)
    l_p = check_positive("vessel_permeability", vessel_permeability)
    s_v = check_positive("surface_per_volume", surface_per_volume)
    return float(radius * np.sqrt(l_p * s_v / k_t))


def effective_pressure(vascular_pressure, reflection, plasma_oncotic, interstitial_oncotic):
    """p_e = p_v - sigma (pi_v - pi_i) (mmHg): the IFP at which filtration stops."""
    p_v = check_nonnegative("vascular_pressure", vascular_pressure)
    sigma = check_finite("reflection", reflection)
    if not 0.0 <= sigma <= 1.0:
        raise ValueError(f"reflection must lie in [0, 1], got {reflection!r}")
    pi_v = check_nonnegative("plasma_oncotic", plasma_oncotic)
    pi_i = check_nonnegative("interstitial_oncotic", interstitial_oncotic)
    return p_v - sigma * (pi_v - pi_i)


_BJ = BAXTER_JAIN_TUMOUR
_DEFAULT_ALPHA = round(ifp_alpha_from_tissue(1.0, _BJ["hydraulic_conductivity"],
                                             _BJ["vessel_permeability"],
                                             _BJ["surface_per_volume"]), 2)

PARAMETERS = {
    p.name: p
    for p in [
        # (a) Hahnfeldt et al. 1999
        Parameter(
            "growth_rate", r"\lambda_1", HAHNFELDT_LAMBDA1_PER_DAY, "1/day",
            "tumour growth rate (Gompertz)", "hahnfeldt1999",
            "fit to Lewis lung carcinoma, control mice (value confirmed through independent "
            "implementations, not the paper's text)",
        ),
        Parameter(
            "stimulation", r"b", HAHNFELDT_B_PER_DAY, "1/day",
            "vascular stimulation by the tumour", "hahnfeldt1999",
            "fit to Lewis lung carcinoma, control mice (value confirmed through independent "
            "implementations, not the paper's text)",
            low=1.0, high=12.0,
        ),
        Parameter(
            "inhibition", r"d", HAHNFELDT_D_PER_DAY_MM2, "1/(day mm²)",
            "vascular inhibition by the tumour (scales with V^{2/3})", "hahnfeldt1999",
            "fit to Lewis lung carcinoma, control mice (value confirmed through independent "
            "implementations, not the paper's text)",
            low=0.002, high=0.02,
        ),
        Parameter(
            "capacity_loss", r"\lambda_2", 0.0, "1/day",
            "spontaneous loss of vascular support", "hahnfeldt1999",
            "set to zero in the fitted version of the model",
        ),
        Parameter(
            "initial_volume", r"V_0", 180.0, "mm³", "tumour volume at the start", None,
            "the starting values used by the canceR implementation's example of this "
            "model; not confirmed against the paper",
        ),
        Parameter(
            "initial_capacity", r"K_0", 625.0, "mm³", "carrying capacity at the start", None,
            "as for V_0",
        ),
        # (b) Anderson & Chaplain 1998, non-dimensional
        Parameter(
            "tip_diffusion", r"D", 0.00035, "1", "random motility of tip cells",
            "anderson1998", "non-dimensional parameter values of the simulations",
        ),
        Parameter(
            "chemotaxis", r"\chi_0", 0.38, "1", "chemotactic sensitivity to TAF",
            "anderson1998", "non-dimensional parameter values of the simulations",
            low=0.05, high=1.0,
        ),
        Parameter(
            "chemotaxis_saturation", r"\alpha", 0.6, "1",
            "fall of chemotactic sensitivity with TAF, χ = χ₀/(1 + αc)", "anderson1998",
            "non-dimensional parameter values of the simulations",
        ),
        Parameter(
            "haptotaxis", r"\rho", 0.34, "1", "haptotactic sensitivity to fibronectin",
            "anderson1998", "non-dimensional parameter values of the simulations",
        ),
        Parameter(
            "fibronectin_production", r"\beta", 0.05, "1",
            "fibronectin production by endothelial cells", "anderson1998",
            "non-dimensional parameter values of the simulations",
        ),
        Parameter(
            "fibronectin_uptake", r"\gamma", 0.1, "1",
            "fibronectin uptake by endothelial cells", "anderson1998",
            "non-dimensional parameter values of the simulations",
        ),
        Parameter(
            "taf_uptake", r"\eta", 0.1, "1", "TAF uptake by endothelial cells",
            "anderson1998", "non-dimensional parameter values of the simulations",
        ),
        Parameter(
            "taf_strength", r"c_0", 1.0, "1",
            "TAF at the tumour edge (scales the initial TAF field)", None,
            "1 is the normalised field of {cite:t}`anderson1998`; the slider scales it",
            low=0.3, high=2.0,
        ),
        Parameter(
            "branch_age", r"\psi", 0.5, "1", "youngest sprout that may branch", None,
            "the rule (a minimum sprout age) is {cite:t}`anderson1998`'s; this value "
            "was not confirmed against the paper",
        ),
        Parameter(
            "time_step", r"k", 0.01, "1", "time step of the scheme", None,
            "small enough that every probability of the random walk stays in [0, 1] "
            "without chemotaxis (4kD/h² = 0.56)",
        ),
        Parameter(
            "space_step", r"h", 0.005, "1", "grid spacing (201 × 201 grid)", None,
            "the grid of {cite:t}`anderson1998`'s discrete simulations",
        ),
        # (c) Baxter & Jain 1989
        Parameter(
            "hydraulic_conductivity", r"K_t", _BJ["hydraulic_conductivity"], "cm²/(mmHg s)",
            "hydraulic conductivity of tumour interstitium", None,
            "the tumour value 4.13 × 10⁻⁸ attributed to {cite:t}`baxter1989` (Table 1) "
            "by later models; not confirmed against the paper",
        ),
        Parameter(
            "vessel_permeability", r"L_p", _BJ["vessel_permeability"], "cm/(mmHg s)",
            "hydraulic permeability of tumour vessel walls", None,
            "tumour value of {cite:t}`baxter1989` Table 1 as we recall it; not confirmed",
        ),
        Parameter(
            "surface_per_volume", r"S/V", _BJ["surface_per_volume"], "1/cm",
            "vessel surface area per tumour volume", None,
            "tumour value of {cite:t}`baxter1989` Table 1 as we recall it; not confirmed",
        ),
        Parameter(
            "vascular_pressure", r"p_v", _BJ["vascular_pressure"], "mmHg",
            "microvascular pressure", None,
            "{cite:t}`baxter1989` Table 1 as we recall it; not confirmed",
        ),
        Parameter(
            "reflection", r"\sigma", _BJ["reflection"], "1",
            "osmotic reflection coefficient of tumour vessels", None,
            "{cite:t}`baxter1989` Table 1 as we recall it; not confirmed",
        ),
        Parameter(
            "plasma_oncotic", r"\pi_v", _BJ["plasma_oncotic"], "mmHg",
            "oncotic pressure of plasma", None,
            "{cite:t}`baxter1989` Table 1 as we recall it; not confirmed",
        ),
        Parameter(
            "interstitial_oncotic", r"\pi_i", _BJ["interstitial_oncotic"], "mmHg",
            "oncotic pressure of tumour interstitial fluid", None,
            "{cite:t}`baxter1989` Table 1 as we recall it; not confirmed",
        ),
        Parameter(
            "tumour_radius", r"R", 1.0, "cm", "tumour radius", None,
            "a tumour 2 cm across, a round size for illustration",
        ),
        Parameter(
            "ifp_alpha", r"\alpha_p", _DEFAULT_ALPHA, "1",
            "tumour radius over the pressure decay length, R √(L_p S/V / K_t)", None,
            "computed from the tissue values above for R = 1 cm",
            low=1.0, high=80.0,
        ),
    ]
}


def default(name: str) -> float:
    return PARAMETERS[name].value


# --- (a) Hahnfeldt et al. 1999 ----------------------------------------------------------------


def hahnfeldt_rhs(t, y, growth_rate, stimulation, inhibition, capacity_loss=0.0,
                  logarithm="natural"):
    """Right-hand side in log variables y = (ln V, ln K), V and K in mm^3, t in days.

    d lnV/dt = -lambda1 log(V/K),  d lnK/dt = -lambda2 + b V/K - d V^(2/3).
    `logarithm="log10"` replaces ln(V/K) by log10(V/K), the variant some later papers
    print, to show what that choice changes.
    """
    log_v, log_k = y
    ratio = log_v - log_k  # ln(V/K)
    if logarithm == "log10":
        ratio = ratio / np.log(10.0)
    d_log_v = -growth_rate * ratio
    d_log_k = -capacity_loss + stimulation * np.exp(log_v - log_k) - inhibition * np.exp(2.0 * log_v / 3.0)
    return np.array([d_log_v, d_log_k])


def _hahnfeldt_rates(growth_rate, stimulation, inhibition, capacity_loss):
    return (check_positive("growth_rate", growth_rate),
            check_positive("stimulation", stimulation),
            check_positive("inhibition", inhibition),
            check_nonnegative("capacity_loss", capacity_loss))


def hahnfeldt_steady_state(stimulation=None, inhibition=None, capacity_loss=None):
    """V* = K* = ((b - lambda2) / d)^(3/2) (mm^3); zero if lambda2 >= b (no vascularised state)."""
    b = check_positive("stimulation", default("stimulation") if stimulation is None else stimulation)
    d = check_positive("inhibition", default("inhibition") if inhibition is None else inhibition)
    lam2 = check_nonnegative("capacity_loss", default("capacity_loss") if capacity_loss is None else capacity_loss)
    return float(max(b - lam2, 0.0) / d) ** 1.5


def hahnfeldt_jacobian(volume, capacity, growth_rate=None, stimulation=None, inhibition=None,
                       capacity_loss=None):
    """Jacobian of (dV/dt, dK/dt) with respect to (V, K) at a state (mm^3)."""
    lam1, b, d, lam2 = _hahnfeldt_rates(
        default("growth_rate") if growth_rate is None else growth_rate,
        default("stimulation") if stimulation is None else stimulation,
        default("inhibition") if inhibition is None else inhibition,
        default("capacity_loss") if capacity_loss is None else capacity_loss)
    v = check_positive("volume", volume)
    k = check_positive("capacity", capacity)
    return np.array([
        [-lam1 * (np.log(v / k) + 1.0), lam1 * v / k],
        [b - 2.0 / 3.0 * d * k * v ** (-1.0 / 3.0), -lam2 - d * v ** (2.0 / 3.0)],
    ])


def hahnfeldt_steady_state_by_root(guess=(5000.0, 5000.0), stimulation=None, inhibition=None,
                                   capacity_loss=None):
    """The steady state found numerically (scipy.optimize.root on ln V, ln K), for checking."""
    lam1 = default("growth_rate")
    b = default("stimulation") if stimulation is None else stimulation
    d = default("inhibition") if inhibition is None else inhibition
    lam2 = default("capacity_loss") if capacity_loss is None else capacity_loss
    _hahnfeldt_rates(lam1, b, d, lam2)
    guess = check_array("guess", guess, ndim=1, shape_tail=(2,))
    if np.any(guess <= 0):
        raise ValueError("guess must hold two positive volumes")
    sol = root(lambda y: hahnfeldt_rhs(0.0, y, lam1, b, d, lam2), np.log(guess), tol=1e-12)
    if not sol.success:
        raise RuntimeError(f"root finding failed: {sol.message}")
    return np.exp(sol.x)


@dataclass(frozen=True)
class GrowthCurve:
    """V(t), K(t) in mm^3 at days t."""

    t: np.ndarray
    volume: np.ndarray
    capacity: np.ndarray


def simulate_hahnfeldt(t_end=30.0, initial_volume=None, initial_capacity=None, growth_rate=None,
                       stimulation=None, inhibition=None, capacity_loss=None,
                       logarithm="natural", n_points=301, rtol=1e-8, atol=1e-10):
    """Integrate the Hahnfeldt model from (V0, K0) over [0, t_end] days (solve_ivp, LSODA).

    rtol/atol apply to ln V and ln K, so they are relative tolerances on V and K.
    """
    pars = with_defaults(
        PARAMETERS, initial_volume=initial_volume, initial_capacity=initial_capacity,
        growth_rate=growth_rate, stimulation=stimulation, inhibition=inhibition,
        capacity_loss=capacity_loss)
    lam1, b, d, lam2 = _hahnfeldt_rates(pars["growth_rate"], pars["stimulation"],
                                        pars["inhibition"], pars["capacity_loss"])
    v0 = check_positive("initial_volume", pars["initial_volume"])
    k0 = check_positive("initial_capacity", pars["initial_capacity"])
    t_end = check_positive("t_end", t_end)
    if logarithm not in ("natural", "log10"):
        raise ValueError(f"logarithm must be 'natural' or 'log10', got {logarithm!r}")
    if int(n_points) != n_points or n_points < 2:
        raise ValueError("n_points must be an integer >= 2")
    t = np.linspace(0.0, t_end, int(n_points))
    sol = solve_ivp(hahnfeldt_rhs, (0.0, t_end), [np.log(v0), np.log(k0)], method="LSODA",
                    t_eval=t, args=(lam1, b, d, lam2, logarithm), rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"integration failed: {sol.message}")
    return GrowthCurve(t, np.exp(sol.y[0]), np.exp(sol.y[1]))


def hahnfeldt_nullclines(volume, stimulation=None, inhibition=None, capacity_loss=None):
    """K on the two nullclines at volumes V: dV/dt = 0 on K = V; dK/dt = 0 on K = bV/(lambda2 + d V^(2/3))."""
    v = check_array("volume", volume)
    if np.any(v <= 0):
        raise ValueError("volume must be positive")
    b = check_positive("stimulation", default("stimulation") if stimulation is None else stimulation)
    d = check_positive("inhibition", default("inhibition") if inhibition is None else inhibition)
    lam2 = check_nonnegative("capacity_loss", default("capacity_loss") if capacity_loss is None else capacity_loss)
    return v.copy(), b * v / (lam2 + d * v ** (2.0 / 3.0))


# --- (b) Anderson & Chaplain 1998 -------------------------------------------------------------

#: Moves in the order of the probabilities P0..P4: stay, left, right, down, up (dx, dy).
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])
TUMOUR_CENTRE = (1.0, 0.5)
TUMOUR_RADIUS = 0.1
#: Initial fibronectin f = F0 exp(-x^2 / eps2), made by the parent vessel at x = 0; and the
#: shape constant nu of the TAF profile (Anderson & Chaplain's forms; F0, eps2 as we recall them).
FIBRONECTIN_F0 = 0.75
FIBRONECTIN_EPS = 0.45
TAF_NU = (np.sqrt(5.0) - 0.1) / (np.sqrt(5.0) - 1.0)
#: Branching probability against local TAF: (lower edge of the TAF band, probability). The
#: rule that branching needs more TAF is Anderson & Chaplain's; these bands are ours.
BRANCH_PROBABILITY = ((0.3, 0.2), (0.5, 0.3), (0.7, 0.4), (0.8, 1.0))
#: Initial sprouts along the parent vessel (x = 0).
INITIAL_SPROUTS_Y = (0.1, 0.3, 0.5, 0.7, 0.9)
EMPTY, PARENT = -2, -1

#: Grid and step of the widget's coarser run (h = 0.01, k = 0.04: the same 4kD/h^2 = 0.56).
WIDGET_SPACE_STEP = 0.01
WIDGET_TIME_STEP = 0.04
WIDGET_T_MAX = 8.0


def initial_taf(x, y, taf_strength=1.0):
    """TAF c(x, y, 0) = c0 (nu - r)^2 / (nu - 0.1) outside the tumour, its edge value inside.

    r is the distance from the tumour centre (1, 1/2), nu = (sqrt 5 - 0.1)/(sqrt 5 - 1):
    the circular-tumour profile of Anderson & Chaplain as we recall it (c0 = 1), with the
    value inside the tumour (r < 0.1) held at the edge value so that c is continuous.
    """
    x = check_array("x", x)
    y = check_array("y", y)
    c0 = check_positive("taf_strength", taf_strength)
    r = np.maximum(np.hypot(x - TUMOUR_CENTRE[0], y - TUMOUR_CENTRE[1]), TUMOUR_RADIUS)
    return c0 * (TAF_NU - r) ** 2 / (TAF_NU - TUMOUR_RADIUS)


def initial_fibronectin(x):
    """Fibronectin f(x, 0) = 0.75 exp(-x^2 / 0.45), highest along the parent vessel."""
    x = check_array("x", x)
    return FIBRONECTIN_F0 * np.exp(-x**2 / FIBRONECTIN_EPS)


def move_probabilities(c, f, iy, ix, space_step, time_step, tip_diffusion, chemotaxis,
                       chemotaxis_saturation, haptotaxis):
    """P0..P4 (stay, left, right, down, up) for tips at grid cells (iy, ix); shape (m, 5).

    The coefficients of the explicit five-point scheme of the continuum model at each tip
    (central differences of c and f; fields padded by their edge values, i.e. no flux).
    Negative coefficients are set to zero, moves off the grid are forbidden, and each row
    is normalised to sum to one.
    """
    # neighbours, with indices clipped at the edges (edge padding: zero gradient, no flux)
    ny, nx = c.shape
    left, right = np.maximum(ix - 1, 0), np.minimum(ix + 1, nx - 1)
    down, up = np.maximum(iy - 1, 0), np.minimum(iy + 1, ny - 1)
    h2, k = space_step**2, time_step
    c0 = c[iy, ix]
    dcx = c[iy, right] - c[iy, left]
    dcy = c[up, ix] - c[down, ix]
    dfx = f[iy, right] - f[iy, left]
    dfy = f[up, ix] - f[down, ix]
    lap_c = c[iy, right] + c[iy, left] + c[up, ix] + c[down, ix] - 4.0 * c0
    lap_f = f[iy, right] + f[iy, left] + f[up, ix] + f[down, ix] - 4.0 * f[iy, ix]
    chi = chemotaxis / (1.0 + chemotaxis_saturation * c0)
    random = k * tip_diffusion / h2
    drift_x = k / (4.0 * h2) * (chi * dcx + haptotaxis * dfx)
    drift_y = k / (4.0 * h2) * (chi * dcy + haptotaxis * dfy)
    stay = (1.0 - 4.0 * random
            + k * chemotaxis_saturation * chi / (4.0 * h2 * (1.0 + chemotaxis_saturation * c0)) * (dcx**2 + dcy**2)
            - k * chi / h2 * lap_c - k * haptotaxis / h2 * lap_f)
    p = np.empty((c0.size, 5))
    p[:, 0] = stay
    p[:, 1] = random - drift_x
    p[:, 2] = random + drift_x
    p[:, 3] = random - drift_y
    p[:, 4] = random + drift_y
    np.maximum(p, 0.0, out=p)
    p[:, 1] *= ix > 0
    p[:, 2] *= ix < nx - 1
    p[:, 3] *= iy > 0
    p[:, 4] *= iy < ny - 1
    # a tip whose every coefficient is zero stays put
    p[:, 0] += p.sum(axis=1) == 0.0
    return p / p.sum(axis=1, keepdims=True)


_BRANCH_EDGES = np.array([lower for lower, _ in BRANCH_PROBABILITY])
_BRANCH_VALUES = np.array([0.0] + [value for _, value in BRANCH_PROBABILITY])


def branch_probability(taf):
    """Probability that an eligible sprout tip branches at TAF concentration c (0 below 0.3)."""
    taf = check_array("taf", taf)
    return _BRANCH_VALUES[np.searchsorted(_BRANCH_EDGES, taf, side="right")]


def midline_drift(x, chemotaxis=None, taf_strength=None, haptotaxis=None,
                  chemotaxis_saturation=None):
    """Mean tip velocity along x on the line y = 1/2 in the initial fields (chemotaxis + haptotaxis).

    v(x) = chi(c) dc/dx + rho df/dx: chemotaxis pulls tips towards the tumour, haptotaxis
    back up the fibronectin gradient towards the parent vessel. The walk's mean velocity
    is exactly this drift (the scheme's P_right - P_left, times h/k).
    """
    x = check_array("x", x)
    if np.any((x < 0) | (x > 1)):
        raise ValueError("x must lie in [0, 1]")
    chi0 = check_nonnegative("chemotaxis", default("chemotaxis") if chemotaxis is None else chemotaxis)
    c0 = check_positive("taf_strength", default("taf_strength") if taf_strength is None else taf_strength)
    rho = check_nonnegative("haptotaxis", default("haptotaxis") if haptotaxis is None else haptotaxis)
    sat = check_nonnegative("chemotaxis_saturation",
                            default("chemotaxis_saturation") if chemotaxis_saturation is None else chemotaxis_saturation)
    r = np.maximum(1.0 - x, TUMOUR_RADIUS)
    c = c0 * (TAF_NU - r) ** 2 / (TAF_NU - TUMOUR_RADIUS)
    dc_dx = np.where(1.0 - x > TUMOUR_RADIUS, 2.0 * c0 * (TAF_NU - r) / (TAF_NU - TUMOUR_RADIUS), 0.0)
    df_dx = -2.0 * x / FIBRONECTIN_EPS * FIBRONECTIN_F0 * np.exp(-x**2 / FIBRONECTIN_EPS)
    return chi0 / (1.0 + sat * c) * dc_dx + rho * df_dx


def critical_chemotaxis(taf_strength=None, haptotaxis=None):
    """Smallest chi0 for which the midline drift points towards the tumour everywhere on [0, 0.9].

    Below it haptotaxis holds tips back somewhere between the vessel and the tumour. The
    drift is linear in chi0, so the threshold is the maximum over x of
    -rho f_x (1 + alpha c) / c_x: located on a grid, then refined with a bounded scalar
    minimisation (scipy.optimize.minimize_scalar).
    """
    from scipy.optimize import minimize_scalar

    edge = 1.0 - TUMOUR_RADIUS - 1e-9

    def needed(x):
        # chi0 at which the drift at x is exactly zero (the drift is chi0 * a(x) + h(x))
        unit = midline_drift(x, 1.0, taf_strength, 0.0)
        hold = midline_drift(x, 0.0, taf_strength, haptotaxis)
        return -hold / unit

    xs = np.linspace(0.0, edge, 2001)
    values = needed(xs)
    i = int(np.argmax(values))
    if values[i] <= 0.0:
        return 0.0
    lo, hi = xs[max(i - 1, 0)], xs[min(i + 1, xs.size - 1)]
    best = minimize_scalar(lambda x: -float(needed(np.array([x]))[0]), bounds=(lo, hi),
                           method="bounded", options={"xatol": 1e-12})
    return float(max(values[i], -best.fun))


@dataclass
class Network:
    """Result of a sprouting run. Fields are indexed [iy, ix]; x = ix h, y = iy h."""

    x: np.ndarray
    taf: np.ndarray
    fibronectin: np.ndarray
    taf_initial: np.ndarray
    owner: np.ndarray            # sprout id of each vessel cell, -1 parent vessel, -2 empty
    segments: np.ndarray         # (n, 2, 2) moves of tips as line segments, (x, y)
    tips: np.ndarray             # (m, 2) (x, y) of the tips still active at the end
    arrival_time: float          # non-dimensional time the first tip reached the tumour (nan: never)
    time: float                  # non-dimensional time at the end of the run
    n_branches: int
    n_anastomoses: int
    n_sprouts: int
    steps: int = field(default=0)

    @property
    def arrival_days(self):
        return self.arrival_time * AC_TIME_UNIT_DAYS

    def vessel_fraction(self):
        """Fraction of the grid cells occupied by new sprouts."""
        return float(np.mean(self.owner >= 0))


def grow_network(chemotaxis=None, taf_strength=None, seed=0, space_step=None, time_step=None,
                 t_max=10.0, stop_at_arrival=True, max_tips=80, haptotaxis=None,
                 tip_diffusion=None, chemotaxis_saturation=None, branch_age=None,
                 taf_uptake=None, fibronectin_production=None, fibronectin_uptake=None):
    """Grow sprouts from the parent vessel (x = 0) towards the tumour at (1, 1/2); seeded.

    Each step of length k: every active tip moves (or stays) with the probabilities
    P0..P4 at its cell; a move back onto its own sprout (or the one it branched from)
    retraces it; a move onto any other sprout, or onto a free cell another tip takes in
    the same step, is an anastomosis and ends the tip; a tip within the tumour
    radius has arrived and stops. Tips at least `branch_age` old branch with the
    probability `branch_probability(c)` into a free neighbouring cell (both ages reset).
    Endothelial cells on the sprouts take up TAF (eta) and fibronectin (gamma) and make
    fibronectin (beta): explicit Euler steps of the c and f equations with n = 1 on
    sprout cells. Stops at the first arrival (`stop_at_arrival`) or at t_max.
    """
    pars = with_defaults(
        PARAMETERS, chemotaxis=chemotaxis, taf_strength=taf_strength,
        space_step=space_step, time_step=time_step, haptotaxis=haptotaxis,
        tip_diffusion=tip_diffusion, chemotaxis_saturation=chemotaxis_saturation,
        branch_age=branch_age, taf_uptake=taf_uptake,
        fibronectin_production=fibronectin_production,
        fibronectin_uptake=fibronectin_uptake)
    chi0 = check_nonnegative("chemotaxis", pars["chemotaxis"])
    c0 = check_positive("taf_strength", pars["taf_strength"])
    h = check_positive("space_step", pars["space_step"])
    k = check_positive("time_step", pars["time_step"])
    rho = check_nonnegative("haptotaxis", pars["haptotaxis"])
    d_tip = check_nonnegative("tip_diffusion", pars["tip_diffusion"])
    sat = check_nonnegative("chemotaxis_saturation", pars["chemotaxis_saturation"])
    age_min = check_nonnegative("branch_age", pars["branch_age"])
    eta = check_nonnegative("taf_uptake", pars["taf_uptake"])
    beta = check_nonnegative("fibronectin_production", pars["fibronectin_production"])
    gamma = check_nonnegative("fibronectin_uptake", pars["fibronectin_uptake"])
    t_max = check_positive("t_max", t_max)
    if int(seed) != seed:
        raise ValueError("seed must be an integer")
    n = int(round(1.0 / h)) + 1
    if abs((n - 1) * h - 1.0) > 1e-9 or n < 11:
        raise ValueError("space_step must divide 1 into at least 10 intervals")
    if 4.0 * k * d_tip / h**2 > 1.0:
        raise ValueError("time_step too large: 4 k D / h^2 must not exceed 1")
    if k * max(eta, gamma) >= 1.0:
        raise ValueError("time_step too large for the uptake rates (k eta, k gamma < 1)")

    rng = np.random.default_rng(int(seed))
    x = np.linspace(0.0, 1.0, n)
    xx, yy = np.meshgrid(x, x)
    taf = initial_taf(xx, yy, c0)
    taf_initial = taf.copy()
    fib = initial_fibronectin(xx)
    owner = np.full((n, n), EMPTY, dtype=np.int64)
    owner[:, 0] = PARENT
    # flat indices of sprout cells (endothelial cells that take up TAF, fibronectin)
    sprout_cells = np.empty(n * n, dtype=np.int64)
    n_sprout_cells = 0
    taf_flat, fib_flat = taf.reshape(-1), fib.reshape(-1)
    in_tumour = np.hypot(xx - TUMOUR_CENTRE[0], yy - TUMOUR_CENTRE[1]) <= TUMOUR_RADIUS

    tip_iy = np.array([int(round(y / h)) for y in INITIAL_SPROUTS_Y])
    tip_ix = np.zeros_like(tip_iy)
    tip_id = np.arange(tip_iy.size)
    tip_parent = np.full(tip_iy.size, PARENT)
    tip_age = np.zeros(tip_iy.size)
    owner[tip_iy, tip_ix] = PARENT  # the tips start on the parent vessel
    next_id = tip_iy.size
    segments = []
    n_branches = n_anastomoses = 0
    arrival = np.nan
    uptake_c, keep_f = 1.0 - k * eta, 1.0 - k * gamma
    steps = int(np.ceil(t_max / k - 1e-9))
    step = 0
    for step in range(1, steps + 1):
        if tip_iy.size == 0:
            break
        p = move_probabilities(taf, fib, tip_iy, tip_ix, h, k, d_tip, chi0, sat, rho)
        choice = (p.cumsum(axis=1) < rng.random(tip_iy.size)[:, None]).sum(axis=1)
        choice = np.minimum(choice, 4)
        new_ix = tip_ix + MOVES[choice, 0]
        new_iy = tip_iy + MOVES[choice, 1]
        target = owner[new_iy, new_ix]
        moving = choice != 0
        # a move back onto the tip's own sprout (or the one it branched from) retraces it
        own = (target == tip_id) | (target == tip_parent)
        # the parent vessel is not rejoined by the initial sprouts' own tips
        blocked = moving & (target == PARENT) & (tip_parent == PARENT)
        moving &= ~blocked
        new_ix = np.where(moving, new_ix, tip_ix)
        new_iy = np.where(moving, new_iy, tip_iy)
        fuse = moving & (target != EMPTY) & ~own
        # two tips taking the same free cell in one step: the first keeps it, the rest fuse
        flat = new_iy * n + new_ix
        free_move = moving & ~fuse & ~own
        order = np.flatnonzero(free_move)
        _, first = np.unique(flat[order], return_index=True)
        clash = np.zeros(tip_iy.size, dtype=bool)
        clash[order] = True
        clash[order[first]] = False
        fuse |= clash
        free_move &= ~clash
        # record moves (the fusing ones too: the sprout reaches the vessel it joins)
        moved = np.flatnonzero(moving)
        if moved.size:
            segments.append((tip_ix[moved], tip_iy[moved], new_ix[moved], new_iy[moved]))
        owner[new_iy[free_move], new_ix[free_move]] = tip_id[free_move]
        added = flat[free_move]
        sprout_cells[n_sprout_cells:n_sprout_cells + added.size] = added
        n_sprout_cells += added.size
        tip_ix, tip_iy = new_ix, new_iy
        tip_age += k
        n_anastomoses += int(fuse.sum())
        arrived = in_tumour[tip_iy, tip_ix] & ~fuse
        if arrived.any() and np.isnan(arrival):
            arrival = step * k
        keep = ~(fuse | arrived)
        tip_ix, tip_iy, tip_id, tip_parent, tip_age = (a[keep] for a in (tip_ix, tip_iy, tip_id, tip_parent, tip_age))
        # endothelial cells on the sprouts take up TAF and fibronectin and make fibronectin
        cells = sprout_cells[:n_sprout_cells]
        taf_flat[cells] *= uptake_c
        fib_flat[cells] = fib_flat[cells] * keep_f + k * beta
        if stop_at_arrival and not np.isnan(arrival):
            break
        # branching: an old enough tip puts a new tip on a free neighbouring cell
        eligible = np.flatnonzero(tip_age >= age_min)
        room = max_tips - tip_iy.size
        if eligible.size and room > 0:
            chance = _BRANCH_VALUES[np.searchsorted(
                _BRANCH_EDGES, taf[tip_iy[eligible], tip_ix[eligible]], side="right")]
            parents = eligible[rng.random(eligible.size) < chance][:room]
            if parents.size:
                cand_x = tip_ix[parents, None] + MOVES[None, 1:, 0]
                cand_y = tip_iy[parents, None] + MOVES[None, 1:, 1]
                inside = (cand_x >= 0) & (cand_x < n) & (cand_y >= 0) & (cand_y < n)
                free = inside & (owner[np.clip(cand_y, 0, n - 1), np.clip(cand_x, 0, n - 1)] == EMPTY)
                # a random free neighbour: the largest random key among the free ones
                keys = np.where(free, rng.random(free.shape), -1.0)
                pick = keys.argmax(axis=1)
                ok = free[np.arange(parents.size), pick]
                parents, pick = parents[ok], pick[ok]
                bx = tip_ix[parents] + MOVES[1 + pick, 0]
                by = tip_iy[parents] + MOVES[1 + pick, 1]
                _, first = np.unique(by * n + bx, return_index=True)  # one branch per cell
                parents, bx, by = parents[first], bx[first], by[first]
                if parents.size:
                    ids = next_id + np.arange(parents.size)
                    next_id += parents.size
                    owner[by, bx] = ids
                    sprout_cells[n_sprout_cells:n_sprout_cells + parents.size] = by * n + bx
                    n_sprout_cells += parents.size
                    segments.append((tip_ix[parents], tip_iy[parents], bx, by))
                    tip_age[parents] = 0.0
                    tip_iy = np.concatenate([tip_iy, by])
                    tip_ix = np.concatenate([tip_ix, bx])
                    tip_parent = np.concatenate([tip_parent, tip_id[parents]])
                    tip_id = np.concatenate([tip_id, ids])
                    tip_age = np.concatenate([tip_age, np.zeros(parents.size)])
                    n_branches += parents.size
    if segments:
        x0, y0, x1, y1 = (np.concatenate(part).astype(float) * h for part in zip(*segments))
        segs = np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y1])], axis=1)
    else:
        segs = np.zeros((0, 2, 2))
    return Network(x=x, taf=taf, fibronectin=fib, taf_initial=taf_initial, owner=owner,
                   segments=segs, tips=np.column_stack([tip_ix, tip_iy]) * h,
                   arrival_time=float(arrival), time=step * k, n_branches=n_branches,
                   n_anastomoses=n_anastomoses, n_sprouts=next_id, steps=step)


# --- (c) Baxter & Jain 1989 -------------------------------------------------------------------


def ifp_profile(r_over_radius, ifp_alpha):
    """p / p_e at r / R in a uniformly perfused spherical tumour with p(R) = 0.

    p/p_e = 1 - sinh(alpha s) / (s sinh alpha), s = r/R; written with exponentials so it
    neither overflows for large alpha nor loses the centre value 1 - alpha / sinh(alpha).
    """
    s = check_array("r_over_radius", r_over_radius)
    if np.any((s < 0) | (s > 1)):
        raise ValueError("r_over_radius must lie in [0, 1]")
    a = check_positive("ifp_alpha", ifp_alpha)
    safe = np.where(s > 0, s, 1.0)
    # sinh(a s)/sinh(a) = exp(a (s - 1)) (1 - exp(-2 a s)) / (1 - exp(-2 a))
    ratio = np.exp(a * (safe - 1.0)) * (-np.expm1(-2.0 * a * safe)) / (-np.expm1(-2.0 * a))
    centre = 1.0 - a / np.sinh(a) if a < 700 else 1.0
    result = np.where(s > 0, 1.0 - ratio / safe, centre)
    return result if result.ndim else float(result)


def ifp_gradient(r_over_radius, ifp_alpha):
    """d(p/p_e)/d(r/R) of the analytic profile (negative: pressure falls outwards)."""
    s = check_array("r_over_radius", r_over_radius)
    if np.any((s <= 0) | (s > 1)):
        raise ValueError("r_over_radius must lie in (0, 1]")
    a = check_positive("ifp_alpha", ifp_alpha)
    # d/ds [sinh(a s)/(s sinh a)] = [a s cosh(a s) - sinh(a s)] / (s^2 sinh a)
    e = np.exp(a * (s - 1.0)) / (-np.expm1(-2.0 * a))
    sinh_r = e * (-np.expm1(-2.0 * a * s))        # sinh(a s)/sinh(a)
    cosh_r = e * (1.0 + np.exp(-2.0 * a * s))     # cosh(a s)/sinh(a)
    return -(a * s * cosh_r - sinh_r) / s**2


def interstitial_velocity(r_over_radius, ifp_alpha, p_effective, hydraulic_conductivity, radius_cm):
    """Outward interstitial fluid velocity u = -K_t dp/dr (cm/s) at r/R."""
    p_e = check_nonnegative("p_effective", p_effective)
    k_t = check_positive("hydraulic_conductivity", hydraulic_conductivity)
    radius = check_positive("radius_cm", radius_cm)
    return -k_t * p_e / radius * ifp_gradient(r_over_radius, ifp_alpha)


def surface_velocity(ifp_alpha, p_effective, hydraulic_conductivity, radius_cm):
    """u(R) = K_t p_e / R (alpha coth(alpha) - 1) (cm/s): fluid leaving the tumour surface."""
    a = check_positive("ifp_alpha", ifp_alpha)
    p_e = check_nonnegative("p_effective", p_effective)
    k_t = check_positive("hydraulic_conductivity", hydraulic_conductivity)
    radius = check_positive("radius_cm", radius_cm)
    return k_t * p_e / radius * (a / np.tanh(a) - 1.0)


def ifp_numerical(ifp_alpha, n_cells=200):
    """Finite-volume solve of (1/s^2)(s^2 q')' = alpha^2 (q - 1), q'(0) = 0, q(1) = 0.

    q = p/p_e on nodes s_i = i/n; control volumes [s_{i-1/2}, s_{i+1/2}] with exact s^2
    volumes and face areas s_{i+1/2}^2: a second-order scheme assembled with scipy.sparse.
    Returns (s, q).
    """
    a = check_positive("ifp_alpha", ifp_alpha)
    if int(n_cells) != n_cells or n_cells < 2:
        raise ValueError("n_cells must be an integer >= 2")
    n = int(n_cells)
    s = np.linspace(0.0, 1.0, n + 1)
    h = 1.0 / n
    faces = np.concatenate(([0.0], (s[:-1] + s[1:]) / 2.0, [1.0]))
    volume = (faces[1:] ** 3 - faces[:-1] ** 3) / 3.0
    conductance = faces[1:-1] ** 2 / h  # between nodes i and i+1
    # node i (0..n-1) exchanges with i-1 and i+1; node n is the boundary, q(1) = 0
    main = conductance.copy()
    main[1:] += conductance[:-1]
    main += a**2 * volume[:n]
    off = -conductance[:-1]
    matrix = sp.diags([off, main, off], [-1, 0, 1], format="csc")
    rhs = a**2 * volume[:n]  # the boundary value q(1) = 0 adds nothing
    q = np.zeros(n + 1)
    q[:n] = spla.spsolve(matrix, rhs)
    return s, q


@dataclass(frozen=True)
class PanelResult:
    """Everything the chapter's live panel draws."""

    network: Network
    growth: GrowthCurve
    steady_state: float
    s: np.ndarray
    ifp: np.ndarray
    ifp_alpha: float


def chapter_panel(chemotaxis=None, taf_strength=None, stimulation=None, inhibition=None,
                  ifp_alpha=None, seed=0):
    """The widget model: a coarse sprouting run, the Hahnfeldt curves and the IFP profile."""
    net = grow_network(chemotaxis, taf_strength, seed=seed, space_step=WIDGET_SPACE_STEP,
                       time_step=WIDGET_TIME_STEP, t_max=WIDGET_T_MAX)
    b = default("stimulation") if stimulation is None else stimulation
    d = default("inhibition") if inhibition is None else inhibition
    growth = simulate_hahnfeldt(30.0, stimulation=b, inhibition=d, n_points=121, rtol=1e-6, atol=1e-8)
    a = default("ifp_alpha") if ifp_alpha is None else ifp_alpha
    s = np.linspace(0.0, 1.0, 201)
    return PanelResult(net, growth, hahnfeldt_steady_state(b, d), s, ifp_profile(s, a), float(a))


#: The chapter's live panel: the model it reruns and the parameters on its sliders (the
#: benchmark times WIDGET_MODEL at these sliders' ends).
WIDGET_MODEL = chapter_panel
WIDGET_CONTROLS = ("chemotaxis", "taf_strength", "stimulation", "inhibition", "ifp_alpha")
