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
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.integrate import solve_ivp
from scipy.optimize import minimize_scalar, root

from .parameters import (
    ATOL,
    BOOLEAN,
    FRACTION,
    RTOL,
    SEED,
    Array,
    Parameter,
    ParameterSet,
    Relation,
    checked,
    count,
    interval,
    nonnegative,
    one_of,
    positive,
    read_only,
    Reproduction,
)

__all__ = [
    # published numbers and constants
    "HAHNFELDT_LAMBDA1_PER_DAY", "HAHNFELDT_B_PER_DAY", "HAHNFELDT_D_PER_DAY_MM2",
    "HAHNFELDT_STEADY_STATE_MM3", "BAXTER_JAIN_TUMOUR", "AC_LENGTH_MM",
    "AC_TAF_DIFFUSIVITY_CM2_S", "AC_TIME_UNIT_DAYS", "MOVES", "TUMOUR_CENTRE", "TUMOUR_RADIUS",
    "FIBRONECTIN_F0", "FIBRONECTIN_EPS", "TAF_NU", "BRANCH_PROBABILITY", "INITIAL_SPROUTS_Y",
    "EMPTY", "PARENT", "WIDGET_SPACE_STEP", "WIDGET_TIME_STEP", "WIDGET_T_MAX",
    # parameters and the domains of the other arguments
    "PARAMETERS", "VOLUME", "INHIBITION", "HAHNFELDT_RATE", "DAYS", "N_POINTS", "LOGARITHM",
    "CONCENTRATION", "NON_DIMENSIONAL_TIME", "MAX_STEPS", "MAX_TIPS", "RADIUS_CM",
    "P_EFFECTIVE", "INTERIOR_RADIUS", "N_CELLS",
    # (a) Hahnfeldt et al. 1999
    "hahnfeldt_derivatives", "hahnfeldt_steady_state", "hahnfeldt_jacobian",
    "hahnfeldt_steady_state_by_root", "GrowthCurve", "simulate_hahnfeldt",
    "hahnfeldt_nullclines",
    # (b) Anderson & Chaplain 1998
    "initial_taf", "initial_fibronectin", "move_probabilities", "branch_probability",
    "midline_drift", "critical_chemotaxis", "Network", "grow_network",
    # (c) Baxter & Jain 1989
    "ifp_alpha_from_tissue", "effective_pressure", "ifp_profile", "ifp_gradient",
    "interstitial_velocity", "surface_velocity", "ifp_numerical",
    # the widget
    "PanelResult", "chapter_panel", "WIDGET_MODEL", "WIDGET_CONTROLS",
    "CHAPTER", "MODEL_NAME", "REPRODUCTIONS",
]

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


def _ifp_alpha(radius_cm, hydraulic_conductivity, vessel_permeability, surface_per_volume):
    # the formula of ifp_alpha_from_tissue, unchecked: it also sets the default alpha below
    return float(radius_cm * np.sqrt(vessel_permeability * surface_per_volume / hydraulic_conductivity))


_BJ = BAXTER_JAIN_TUMOUR
_DEFAULT_ALPHA = round(_ifp_alpha(1.0, _BJ["hydraulic_conductivity"], _BJ["vessel_permeability"],
                                  _BJ["surface_per_volume"]), 2)

# --- domains: what each input may be, and why each bound ------------------------------------

#: Tumour volumes and carrying capacities (mm^3).
VOLUME = interval(1e-9, 1e15, why="mm^3: from below one cell to far beyond any body; within "
                  "these bounds V/K, b V/K and V^(2/3) stay finite in double precision")
#: The rates of the Hahnfeldt model (1/day).
HAHNFELDT_RATE = positive(at_most=1e3, why="1/day: a thousand per day is beyond any tumour's "
                          "biology, and bounded so that a stiff integration still ends")
#: The inhibition d (1/(day mm^2)): bounded below so that V* = (b/d)^(3/2) stays finite.
INHIBITION = interval(1e-6, 10.0, why="1/(day mm^2): at most about a thousand times the "
                      "published value, at least 1e-6 so that (b/d)^(3/2) stays finite")
#: Time spans of the Hahnfeldt model (days).
DAYS = interval(1e-6, 1e5, why="days: from a tenth of a second (shorter spans are not resolved "
                "in double precision) to about 270 years, far beyond any tumour")
#: Output points of a growth curve.
N_POINTS = count(2, 100_000, why="output points: more cannot be drawn and only cost memory")
#: The logarithm in the growth term: the natural one (the model) or base 10 (a variant).
LOGARITHM = one_of("natural", "log10")
#: TAF and fibronectin concentrations (non-dimensional; the model's fields stay below ~10).
CONCENTRATION = nonnegative(at_most=1e3, why="non-dimensional concentration: the model's "
                            "fields stay below 10; bounded so that every drift stays finite")
#: Run time of a sprouting run (non-dimensional; one unit is about 1.6 days).
NON_DIMENSIONAL_TIME = positive(at_most=100.0, why="non-dimensional time: 100 units are about "
                                "160 days, long after every sprout has arrived or stalled")
#: Steps of one sprouting run (t_max / time_step).
MAX_STEPS = 10_000
#: Active tips at a time.
MAX_TIPS = count(1, 200, why="active tips at a time: the cap keeps the cost of a step bounded")
#: Tumour radii (cm).
RADIUS_CM = interval(1e-4, 100.0, why="cm: from a micrometre (smaller than a cell) to a "
                     "metre (larger than any tumour); keeps velocities K_t p_e / R finite")
#: Effective (filtration) pressures (mmHg).
P_EFFECTIVE = nonnegative(at_most=1e3, why="mmHg: above any vascular pressure")
#: Relative radius r/R inside the tumour, away from the centre (where the gradient is zero).
INTERIOR_RADIUS = interval(1e-6, 1.0, why="r/R: below 1e-6 the closed form of the gradient "
                           "is all rounding error (the gradient at the centre is zero)")
#: Cells of the finite-volume solve of the IFP.
N_CELLS = count(2, 100_000, why="cells of the radial grid: 100,000 resolve any alpha allowed")

# --- parameters ------------------------------------------------------------------------------

_NON_DIMENSIONAL = "non-dimensional: beyond 100 (hundreds of times the published value) " \
                   "the drift dwarfs every other term"
_UPTAKE = "non-dimensional rate: hundreds of times the published value; k times it must stay below 1"
_PRESSURE = "mmHg: above any pressure in the body"

PARAMETERS = ParameterSet([
    # (a) Hahnfeldt et al. 1999
    Parameter(
        "growth_rate", r"\lambda_1", HAHNFELDT_LAMBDA1_PER_DAY, "1/day",
        "tumour growth rate (Gompertz)", "hahnfeldt1999",
        "fit to Lewis lung carcinoma, control mice (value confirmed through independent "
        "implementations, not the paper's text)",
        domain=HAHNFELDT_RATE,
    ),
    Parameter(
        "stimulation", r"b", HAHNFELDT_B_PER_DAY, "1/day",
        "vascular stimulation by the tumour", "hahnfeldt1999",
        "fit to Lewis lung carcinoma, control mice (value confirmed through independent "
        "implementations, not the paper's text)",
        low=1.0, high=12.0, domain=HAHNFELDT_RATE,
    ),
    Parameter(
        "inhibition", r"d", HAHNFELDT_D_PER_DAY_MM2, "1/(day mm²)",
        "vascular inhibition by the tumour (scales with V^{2/3})", "hahnfeldt1999",
        "fit to Lewis lung carcinoma, control mice (value confirmed through independent "
        "implementations, not the paper's text)",
        low=0.002, high=0.02, domain=INHIBITION,
    ),
    Parameter(
        "capacity_loss", r"\lambda_2", 0.0, "1/day",
        "spontaneous loss of vascular support", "hahnfeldt1999",
        "set to zero in the fitted version of the model",
        domain=nonnegative(at_most=1e3, why=HAHNFELDT_RATE.why),
    ),
    Parameter(
        "initial_volume", r"V_0", 180.0, "mm³", "tumour volume at the start", None,
        "the starting values used by the canceR implementation's example of this "
        "model; not confirmed against the paper",
        domain=VOLUME,
    ),
    Parameter(
        "initial_capacity", r"K_0", 625.0, "mm³", "carrying capacity at the start", None,
        "as for V_0",
        domain=VOLUME,
    ),
    # (b) Anderson & Chaplain 1998, non-dimensional
    Parameter(
        "tip_diffusion", r"D", 0.00035, "1", "random motility of tip cells",
        "anderson1998", "non-dimensional parameter values of the simulations",
        domain=nonnegative(at_most=1.0, why="non-dimensional motility: thousands of times the "
                           "published value; 4kD/h² must stay at most 1 as well"),
    ),
    Parameter(
        "chemotaxis", r"\chi_0", 0.38, "1", "chemotactic sensitivity to TAF",
        "anderson1998", "non-dimensional parameter values of the simulations",
        low=0.05, high=1.0, domain=nonnegative(at_most=100.0, why=_NON_DIMENSIONAL),
    ),
    Parameter(
        "chemotaxis_saturation", r"\alpha", 0.6, "1",
        "fall of chemotactic sensitivity with TAF, χ = χ₀/(1 + αc)", "anderson1998",
        "non-dimensional parameter values of the simulations",
        domain=nonnegative(at_most=100.0, why=_NON_DIMENSIONAL),
    ),
    Parameter(
        "haptotaxis", r"\rho", 0.34, "1", "haptotactic sensitivity to fibronectin",
        "anderson1998", "non-dimensional parameter values of the simulations",
        domain=nonnegative(at_most=100.0, why=_NON_DIMENSIONAL),
    ),
    Parameter(
        "fibronectin_production", r"\beta", 0.05, "1",
        "fibronectin production by endothelial cells", "anderson1998",
        "non-dimensional parameter values of the simulations",
        domain=nonnegative(at_most=100.0, why="non-dimensional rate: thousands of times the "
                           "published value; keeps the fibronectin field finite"),
    ),
    Parameter(
        "fibronectin_uptake", r"\gamma", 0.1, "1",
        "fibronectin uptake by endothelial cells", "anderson1998",
        "non-dimensional parameter values of the simulations",
        domain=nonnegative(at_most=100.0, why=_UPTAKE),
    ),
    Parameter(
        "taf_uptake", r"\eta", 0.1, "1", "TAF uptake by endothelial cells",
        "anderson1998", "non-dimensional parameter values of the simulations",
        domain=nonnegative(at_most=100.0, why=_UPTAKE),
    ),
    Parameter(
        "taf_strength", r"c_0", 1.0, "1",
        "TAF at the tumour edge (scales the initial TAF field)", None,
        "1 is the normalised field of {cite:t}`anderson1998`; the slider scales it",
        low=0.3, high=2.0,
        domain=interval(1e-3, 100.0, why="a thousandth to a hundred times the normalised "
                        "field: weaker is no signal (the chemotactic threshold overflows), "
                        "stronger leaves the concentration bound"),
    ),
    Parameter(
        "branch_age", r"\psi", 0.5, "1", "youngest sprout that may branch", None,
        "the rule (a minimum sprout age) is {cite:t}`anderson1998`'s; this value "
        "was not confirmed against the paper",
        domain=nonnegative(at_most=100.0, why="non-dimensional time: no run lasts longer "
                           "(an older threshold means no branching at all)"),
    ),
    Parameter(
        "time_step", r"k", 0.01, "1", "time step of the scheme", None,
        "small enough that every probability of the random walk stays in [0, 1] "
        "without chemotaxis (4kD/h² = 0.56)",
        domain=positive(at_most=1.0, why="non-dimensional time: a step longer than 1 skips "
                        "the whole approach; the run takes at most "
                        f"{MAX_STEPS} steps (t_max / k)"),
    ),
    Parameter(
        "space_step", r"h", 0.005, "1", "grid spacing (201 × 201 grid)", None,
        "the grid of {cite:t}`anderson1998`'s discrete simulations",
        domain=interval(0.0025, 0.1, why="the unit square in 10 to 400 intervals (twice as "
                        "fine as the paper's grid): coarser is no network, finer costs more "
                        "than any run is worth"),
    ),
    # (c) Baxter & Jain 1989
    Parameter(
        "hydraulic_conductivity", r"K_t", _BJ["hydraulic_conductivity"], "cm²/(mmHg s)",
        "hydraulic conductivity of tumour interstitium", None,
        "the tumour value 4.13 × 10⁻⁸ attributed to {cite:t}`baxter1989` (Table 1) "
        "by later models; not confirmed against the paper",
        domain=interval(1e-12, 1e-3, why="cm²/(mmHg s): measured tissues lie within "
                        "1e-9 to 1e-6; the bounds keep alpha finite"),
    ),
    Parameter(
        "vessel_permeability", r"L_p", _BJ["vessel_permeability"], "cm/(mmHg s)",
        "hydraulic permeability of tumour vessel walls", None,
        "tumour value of {cite:t}`baxter1989` Table 1 as we recall it; not confirmed",
        domain=positive(at_most=1e-3, why="cm/(mmHg s): thousands of times the leakiest "
                        "measured vessels; keeps alpha finite"),
    ),
    Parameter(
        "surface_per_volume", r"S/V", _BJ["surface_per_volume"], "1/cm",
        "vessel surface area per tumour volume", None,
        "tumour value of {cite:t}`baxter1989` Table 1 as we recall it; not confirmed",
        domain=positive(at_most=1e4, why="1/cm: fifty times the tumour value, more vessel "
                        "wall than tissue; keeps alpha finite"),
    ),
    Parameter(
        "vascular_pressure", r"p_v", _BJ["vascular_pressure"], "mmHg",
        "microvascular pressure", None,
        "{cite:t}`baxter1989` Table 1 as we recall it; not confirmed",
        domain=nonnegative(at_most=1e3, why=_PRESSURE),
    ),
    Parameter(
        "reflection", r"\sigma", _BJ["reflection"], "1",
        "osmotic reflection coefficient of tumour vessels", None,
        "{cite:t}`baxter1989` Table 1 as we recall it; not confirmed",
        domain=FRACTION,
    ),
    Parameter(
        "plasma_oncotic", r"\pi_v", _BJ["plasma_oncotic"], "mmHg",
        "oncotic pressure of plasma", None,
        "{cite:t}`baxter1989` Table 1 as we recall it; not confirmed",
        domain=nonnegative(at_most=1e3, why=_PRESSURE),
    ),
    Parameter(
        "interstitial_oncotic", r"\pi_i", _BJ["interstitial_oncotic"], "mmHg",
        "oncotic pressure of tumour interstitial fluid", None,
        "{cite:t}`baxter1989` Table 1 as we recall it; not confirmed",
        domain=nonnegative(at_most=1e3, why=_PRESSURE),
    ),
    Parameter(
        "tumour_radius", r"R", 1.0, "cm", "tumour radius", None,
        "a tumour 2 cm across, a round size for illustration",
        domain=RADIUS_CM,
    ),
    Parameter(
        "ifp_alpha", r"\alpha_p", _DEFAULT_ALPHA, "1",
        "tumour radius over the pressure decay length, R √(L_p S/V / K_t)", None,
        "computed from the tissue values above for R = 1 cm",
        low=1.0, high=80.0,
        domain=interval(1e-6, 1e6, why="below 1e-6 the pressure is below 1e-13 of p_e and the "
                        "closed forms lose their digits; above 1e6 the boundary layer is "
                        "thinner than a cell in any tumour"),
    ),
])


# --- (a) Hahnfeldt et al. 1999 ----------------------------------------------------------------


def hahnfeldt_rhs(t, y, growth_rate, stimulation, inhibition, capacity_loss=0.0,
                  logarithm="natural"):
    """Right-hand side in log variables y = (ln V, ln K), V and K in mm^3, t in days.

    d lnV/dt = -lambda1 log(V/K),  d lnK/dt = -lambda2 + b V/K - d V^(2/3).
    `logarithm="log10"` replaces ln(V/K) by log10(V/K), the variant some later papers
    print, to show what that choice changes.

    Unchecked on purpose: solve_ivp calls it at every step (here and in tmebook.therapy and
    tmebook.integrated, with arrays of tumours), so it takes the rates as they come.
    `hahnfeldt_derivatives` is its checked public form.
    """
    log_v, log_k = y
    ratio = log_v - log_k  # ln(V/K)
    if logarithm == "log10":
        ratio = ratio / np.log(10.0)
    d_log_v = -growth_rate * ratio
    d_log_k = -capacity_loss + stimulation * np.exp(log_v - log_k) - inhibition * np.exp(2.0 * log_v / 3.0)
    return np.array([d_log_v, d_log_k])


def _broadcast(a: np.ndarray, b: np.ndarray) -> bool:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        return False
    return True


def _hahnfeldt_rates(growth_rate, stimulation, inhibition, capacity_loss):
    """The four rates, each checked against its domain (tmebook.therapy keeps a copy)."""
    return tuple(PARAMETERS[name].domain.check(name, value) for name, value in (
        ("growth_rate", growth_rate), ("stimulation", stimulation),
        ("inhibition", inhibition), ("capacity_loss", capacity_loss)))


@checked(PARAMETERS, Relation("capacity", lambda volume, capacity: _broadcast(volume, capacity),
                              "must have the shape of volume (or broadcast against it)"),
         volume=Array(VOLUME, scalar_ok=True), capacity=Array(VOLUME, scalar_ok=True),
         logarithm=LOGARITHM)
def hahnfeldt_derivatives(volume: float | np.ndarray, capacity: float | np.ndarray,
                          growth_rate: float | None = None, stimulation: float | None = None,
                          inhibition: float | None = None, capacity_loss: float | None = None,
                          logarithm: str = "natural") -> tuple[np.ndarray, np.ndarray]:
    """(dV/dt, dK/dt) in mm^3/day at volumes V and capacities K (mm^3; arrays broadcast).

    The checked form of `hahnfeldt_rhs`: V d lnV/dt and K d lnK/dt.
    """
    d_log_v, d_log_k = hahnfeldt_rhs(0.0, [np.log(volume), np.log(capacity)], growth_rate,
                                     stimulation, inhibition, capacity_loss, logarithm)
    return volume * d_log_v, capacity * d_log_k


@checked(PARAMETERS)
def hahnfeldt_steady_state(stimulation: float | None = None, inhibition: float | None = None,
                           capacity_loss: float | None = None) -> float:
    """V* = K* = ((b - lambda2) / d)^(3/2) (mm^3); zero if lambda2 >= b (no vascularised state)."""
    return float(max(stimulation - capacity_loss, 0.0) / inhibition) ** 1.5


@checked(PARAMETERS, volume=VOLUME, capacity=VOLUME)
def hahnfeldt_jacobian(volume: float, capacity: float, growth_rate: float | None = None,
                       stimulation: float | None = None, inhibition: float | None = None,
                       capacity_loss: float | None = None) -> np.ndarray:
    """Jacobian of (dV/dt, dK/dt) with respect to (V, K) at a state (mm^3)."""
    lam1, b, d, lam2 = growth_rate, stimulation, inhibition, capacity_loss
    v, k = volume, capacity
    return np.array([
        [-lam1 * (np.log(v / k) + 1.0), lam1 * v / k],
        [b - 2.0 / 3.0 * d * k * v ** (-1.0 / 3.0), -lam2 - d * v ** (2.0 / 3.0)],
    ])


@checked(PARAMETERS, guess=Array(VOLUME, shape=(2,)))
def hahnfeldt_steady_state_by_root(guess: tuple | np.ndarray = (5000.0, 5000.0),
                                   stimulation: float | None = None,
                                   inhibition: float | None = None,
                                   capacity_loss: float | None = None) -> np.ndarray:
    """The steady state found numerically (scipy.optimize.root on ln V, ln K), for checking.

    Raises RuntimeError when the root finder fails (as it must for lambda2 >= b, where no
    vascularised steady state exists).
    """
    lam1 = PARAMETERS.default("growth_rate")
    sol = root(lambda y: hahnfeldt_rhs(0.0, y, lam1, stimulation, inhibition, capacity_loss),
               np.log(guess), tol=1e-12)
    state = np.exp(sol.x)
    if not sol.success or not np.all(np.isfinite(state)):
        raise RuntimeError(f"root finding failed: {sol.message}")
    return state


@dataclass(frozen=True)
class GrowthCurve:
    """V(t), K(t) in mm^3 at days t."""

    t: np.ndarray
    volume: np.ndarray
    capacity: np.ndarray


@checked(PARAMETERS, t_end=DAYS, logarithm=LOGARITHM, n_points=N_POINTS, rtol=RTOL, atol=ATOL)
def simulate_hahnfeldt(t_end: float = 30.0, initial_volume: float | None = None,
                       initial_capacity: float | None = None, growth_rate: float | None = None,
                       stimulation: float | None = None, inhibition: float | None = None,
                       capacity_loss: float | None = None, logarithm: str = "natural",
                       n_points: int = 301, rtol: float = 1e-8, atol: float = 1e-10) -> GrowthCurve:
    """Integrate the Hahnfeldt model from (V0, K0) over [0, t_end] days (solve_ivp, LSODA).

    rtol/atol apply to ln V and ln K, so they are relative tolerances on V and K. Raises
    RuntimeError when the integration fails or leaves finite numbers (extreme rates with
    loose tolerances). V and K may underflow to zero when lambda2 > b (the tumour dies out).
    """
    t = np.linspace(0.0, t_end, n_points)
    sol = solve_ivp(hahnfeldt_rhs, (0.0, t_end), [np.log(initial_volume), np.log(initial_capacity)],
                    method="LSODA", t_eval=t, rtol=rtol, atol=atol,
                    args=(growth_rate, stimulation, inhibition, capacity_loss, logarithm))
    if not sol.success:
        raise RuntimeError(f"integration failed: {sol.message}")
    volume, capacity = np.exp(sol.y[0]), np.exp(sol.y[1])
    if not (np.all(np.isfinite(volume)) and np.all(np.isfinite(capacity))):
        raise RuntimeError("integration failed: V or K left finite numbers (tighten rtol/atol)")
    return GrowthCurve(t, volume, capacity)


@checked(PARAMETERS, volume=Array(VOLUME, scalar_ok=True))
def hahnfeldt_nullclines(volume: float | np.ndarray, stimulation: float | None = None,
                         inhibition: float | None = None,
                         capacity_loss: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """K on the two nullclines at volumes V: dV/dt = 0 on K = V; dK/dt = 0 on K = bV/(lambda2 + d V^(2/3))."""
    v = volume
    return v.copy(), stimulation * v / (capacity_loss + inhibition * v ** (2.0 / 3.0))


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


@dataclass(frozen=True)
class _Indices(Array):
    """Grid indices: an array of non-negative integers, handed to the function as integers."""

    element: object = count(0)

    def check(self, name, value):
        return super().check(name, value).astype(np.intp)


@lru_cache(maxsize=2)
def _grid(ny: int, nx: int) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours of each cell of an ny x nx grid, computed once per grid.

    (5, ny nx): the flat index iy * nx + ix of each cell and of its neighbours left, right,
    down and up, the cell itself where a neighbour would lie off the grid; and (ny nx, 5):
    True where the move (stay, left, right, down, up) stays on the grid.
    """
    iy, ix = np.divmod(np.arange(ny * nx), nx)
    at = iy * nx + ix
    neighbours = np.array([at, at - (ix > 0), at + (ix < nx - 1), at - nx * (iy > 0), at + nx * (iy < ny - 1)])
    on_grid = (neighbours != at).T
    on_grid[:, 0] = True
    return read_only(neighbours), read_only(on_grid)


#: Positions in the unit square (non-dimensional x or y).
_POSITIONS = Array(FRACTION, scalar_ok=True)
#: A TAF or fibronectin field on the grid, indexed [iy, ix].
_FIELD = Array(CONCENTRATION, shape=(None, None))


@checked(PARAMETERS, Relation("y", lambda x, y: _broadcast(x, y),
                              "must have the shape of x (or broadcast against it)"),
         x=_POSITIONS, y=_POSITIONS)
def initial_taf(x: float | np.ndarray, y: float | np.ndarray,
                taf_strength: float | None = None) -> np.ndarray:
    """TAF c(x, y, 0) = c0 (nu - r)^2 / (nu - 0.1) outside the tumour, its edge value inside.

    r is the distance from the tumour centre (1, 1/2), nu = (sqrt 5 - 0.1)/(sqrt 5 - 1):
    the circular-tumour profile of Anderson & Chaplain as we recall it (c0 = 1), with the
    value inside the tumour (r < 0.1) held at the edge value so that c is continuous.
    """
    r = np.maximum(np.hypot(x - TUMOUR_CENTRE[0], y - TUMOUR_CENTRE[1]), TUMOUR_RADIUS)
    return taf_strength * (TAF_NU - r) ** 2 / (TAF_NU - TUMOUR_RADIUS)


@checked(PARAMETERS, x=_POSITIONS)
def initial_fibronectin(x: float | np.ndarray) -> np.ndarray:
    """Fibronectin f(x, 0) = 0.75 exp(-x^2 / 0.45), highest along the parent vessel."""
    return FIBRONECTIN_F0 * np.exp(-x**2 / FIBRONECTIN_EPS)


@checked(PARAMETERS,
         Relation("f", lambda c, f: f.shape == c.shape, "must have the shape of c"),
         Relation("ix", lambda iy, ix: ix.shape == iy.shape, "must have the shape of iy"),
         Relation("iy", lambda c, iy: bool(np.all(iy < c.shape[0])), "must index rows of c"),
         Relation("ix", lambda c, ix: bool(np.all(ix < c.shape[1])), "must index columns of c"),
         c=_FIELD, f=_FIELD, iy=_Indices(shape=(None,)), ix=_Indices(shape=(None,)))
def move_probabilities(c: np.ndarray, f: np.ndarray, iy: np.ndarray, ix: np.ndarray,
                       space_step: float | None = None, time_step: float | None = None,
                       tip_diffusion: float | None = None, chemotaxis: float | None = None,
                       chemotaxis_saturation: float | None = None,
                       haptotaxis: float | None = None) -> np.ndarray:
    """P0..P4 (stay, left, right, down, up) for tips at grid cells (iy, ix); shape (m, 5).

    The coefficients of the explicit five-point scheme of the continuum model at each tip
    (central differences of c and f; fields padded by their edge values, i.e. no flux).
    Negative coefficients are set to zero, moves off the grid are forbidden, and each row
    is normalised to sum to one.
    """
    # the tip's cell and its neighbours left, right, down and up (flat indices iy * nx + ix;
    # at an edge the cell itself: edge padding, zero gradient, no flux)
    ny, nx = c.shape
    neighbours, on_grid = _grid(ny, nx)
    at = iy * nx + ix
    cells = neighbours.take(at, axis=1)
    c0, c_left, c_right, c_down, c_up = c.ravel()[cells]
    f0, f_left, f_right, f_down, f_up = f.ravel()[cells]
    h2, k = space_step**2, time_step
    dcx = c_right - c_left
    dcy = c_up - c_down
    dfx = f_right - f_left
    dfy = f_up - f_down
    lap_c = c_right + c_left + c_up + c_down - 4.0 * c0
    lap_f = f_right + f_left + f_up + f_down - 4.0 * f0
    saturation = 1.0 + chemotaxis_saturation * c0
    chi = chemotaxis / saturation
    random = k * tip_diffusion / h2
    drift_x = k / (4.0 * h2) * (chi * dcx + haptotaxis * dfx)
    drift_y = k / (4.0 * h2) * (chi * dcy + haptotaxis * dfy)
    stay = (1.0 - 4.0 * random
            + k * chemotaxis_saturation * chi / (4.0 * h2 * saturation) * (dcx**2 + dcy**2)
            - k * chi / h2 * lap_c - k * haptotaxis / h2 * lap_f)
    p = np.empty((c0.size, 5))
    p[:, 0] = stay
    p[:, 1] = random - drift_x
    p[:, 2] = random + drift_x
    p[:, 3] = random - drift_y
    p[:, 4] = random + drift_y
    np.maximum(p, 0.0, out=p)
    p *= on_grid[at]  # no move off the grid
    total = p.sum(axis=1, keepdims=True)
    if not total.all():  # a tip whose every coefficient is zero stays put
        stuck = total == 0.0
        p[:, :1] += stuck
        total += stuck
    return p / total


_BRANCH_EDGES = np.array([lower for lower, _ in BRANCH_PROBABILITY])
_BRANCH_VALUES = np.array([0.0] + [value for _, value in BRANCH_PROBABILITY])


@checked(PARAMETERS, taf=Array(CONCENTRATION, scalar_ok=True))
def branch_probability(taf: float | np.ndarray) -> np.ndarray:
    """Probability that an eligible sprout tip branches at TAF concentration c (0 below 0.3)."""
    return _BRANCH_VALUES[np.searchsorted(_BRANCH_EDGES, taf, side="right")]


@checked(PARAMETERS, x=_POSITIONS)
def midline_drift(x: float | np.ndarray, chemotaxis: float | None = None,
                  taf_strength: float | None = None, haptotaxis: float | None = None,
                  chemotaxis_saturation: float | None = None) -> np.ndarray:
    """Mean tip velocity along x on the line y = 1/2 in the initial fields (chemotaxis + haptotaxis).

    v(x) = chi(c) dc/dx + rho df/dx: chemotaxis pulls tips towards the tumour, haptotaxis
    back up the fibronectin gradient towards the parent vessel. The walk's mean velocity
    is exactly this drift (the scheme's P_right - P_left, times h/k).
    """
    chi0, c0, rho, sat = chemotaxis, taf_strength, haptotaxis, chemotaxis_saturation
    r = np.maximum(1.0 - x, TUMOUR_RADIUS)
    c = c0 * (TAF_NU - r) ** 2 / (TAF_NU - TUMOUR_RADIUS)
    dc_dx = np.where(1.0 - x > TUMOUR_RADIUS, 2.0 * c0 * (TAF_NU - r) / (TAF_NU - TUMOUR_RADIUS), 0.0)
    df_dx = -2.0 * x / FIBRONECTIN_EPS * FIBRONECTIN_F0 * np.exp(-x**2 / FIBRONECTIN_EPS)
    return chi0 / (1.0 + sat * c) * dc_dx + rho * df_dx


@checked(PARAMETERS)
def critical_chemotaxis(taf_strength: float | None = None, haptotaxis: float | None = None,
                        chemotaxis_saturation: float | None = None) -> float:
    """Smallest chi0 for which the midline drift points towards the tumour everywhere on [0, 0.9].

    Below it haptotaxis holds tips back somewhere between the vessel and the tumour. The
    drift is linear in chi0, so the threshold is the maximum over x of
    -rho f_x (1 + alpha c) / c_x: located on a grid, then refined with a bounded scalar
    minimisation (scipy.optimize.minimize_scalar).
    """
    drift = midline_drift.__wrapped__  # checked once here, not at every evaluation
    edge = 1.0 - TUMOUR_RADIUS - 1e-9

    def needed(x):
        # chi0 at which the drift at x is exactly zero (the drift is chi0 * a(x) + h(x))
        unit = drift(x, 1.0, taf_strength, 0.0, chemotaxis_saturation)
        hold = drift(x, 0.0, taf_strength, haptotaxis, chemotaxis_saturation)
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

    #: arrival_time is NaN when no tip reached the tumour during the run.
    NAN_MEANS = {"arrival_time": "no tip reached the tumour during the run"}

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
    def arrival_days(self) -> float:
        """arrival_time in days (NaN when no tip arrived)."""
        return self.arrival_time * AC_TIME_UNIT_DAYS

    def vessel_fraction(self) -> float:
        """Fraction of the grid cells occupied by new sprouts."""
        return float(np.mean(self.owner >= 0))


def _divides_unit_interval(space_step: float) -> bool:
    n = int(round(1.0 / space_step)) + 1
    return abs((n - 1) * space_step - 1.0) <= 1e-9


@checked(PARAMETERS,
         Relation("space_step", _divides_unit_interval, "must divide 1 into a whole number of intervals"),
         Relation("time_step", lambda time_step, tip_diffusion, space_step:
                  4.0 * time_step * tip_diffusion / space_step**2 <= 1.0,
                  "too large: 4 k D / h^2 must not exceed 1 (the walk's probabilities)"),
         Relation("time_step", lambda time_step, taf_uptake, fibronectin_uptake:
                  time_step * max(taf_uptake, fibronectin_uptake) < 1.0,
                  "too large for the uptake rates: k eta and k gamma must stay below 1"),
         Relation("time_step", lambda time_step, t_max: t_max / time_step <= MAX_STEPS,
                  f"too small for t_max: a run takes at most {MAX_STEPS} steps (t_max / k)"),
         seed=SEED, t_max=NON_DIMENSIONAL_TIME, stop_at_arrival=BOOLEAN, max_tips=MAX_TIPS)
def grow_network(chemotaxis: float | None = None, taf_strength: float | None = None,
                 seed: int = 0, space_step: float | None = None, time_step: float | None = None,
                 t_max: float = 10.0, stop_at_arrival: bool = True, max_tips: int = 80,
                 haptotaxis: float | None = None, tip_diffusion: float | None = None,
                 chemotaxis_saturation: float | None = None, branch_age: float | None = None,
                 taf_uptake: float | None = None, fibronectin_production: float | None = None,
                 fibronectin_uptake: float | None = None) -> Network:
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
    chi0, c0, rho, d_tip, sat = chemotaxis, taf_strength, haptotaxis, tip_diffusion, chemotaxis_saturation
    h, k, age_min = space_step, time_step, branch_age
    eta, beta, gamma = taf_uptake, fibronectin_production, fibronectin_uptake
    n = int(round(1.0 / h)) + 1
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, n)
    xx, yy = np.meshgrid(x, x)
    taf = initial_taf(xx, yy, c0)
    taf_initial = taf.copy()
    fib = initial_fibronectin(xx)
    owner = np.full((n, n), EMPTY, dtype=np.int64)
    owner[:, 0] = PARENT
    # cells are numbered iy * n + ix: the flat views below, and `step_to` the number each move adds
    taf_flat, fib_flat, owner_flat = taf.reshape(-1), fib.reshape(-1), owner.reshape(-1)
    in_tumour = (np.hypot(xx - TUMOUR_CENTRE[0], yy - TUMOUR_CENTRE[1]) <= TUMOUR_RADIUS).reshape(-1)
    step_to = MOVES[:, 0] + n * MOVES[:, 1]
    _, on_grid = _grid(n, n)
    # sprout cells (endothelial cells that take up TAF, fibronectin)
    sprout_cells = np.empty(n * n, dtype=np.int64)
    n_sprout_cells = 0

    # the tips start on the parent vessel (x = 0)
    tip_at = np.array([int(round(y / h)) * n for y in INITIAL_SPROUTS_Y])
    tip_id = np.arange(tip_at.size)
    tip_parent = np.full(tip_at.size, PARENT)
    tip_age = np.zeros(tip_at.size)
    next_id = tip_at.size
    segments = []
    n_branches = n_anastomoses = 0
    arrival = np.nan
    uptake_c, keep_f = 1.0 - k * eta, 1.0 - k * gamma
    steps = int(np.ceil(t_max / k - 1e-9))
    step = 0
    for step in range(1, steps + 1):
        if tip_at.size == 0:
            break
        tip_iy, tip_ix = np.divmod(tip_at, n)
        p = move_probabilities.__wrapped__(taf, fib, tip_iy, tip_ix, h, k, d_tip, chi0, sat, rho)
        # the move whose band of the cumulative probabilities holds a uniform random number
        choice = (p.cumsum(axis=1)[:, :4] < rng.random(tip_at.size)[:, None]).sum(axis=1)
        new_at = tip_at + step_to[choice]
        target = owner_flat[new_at]
        moving = choice != 0
        # a move back onto the tip's own sprout (or the one it branched from) retraces it
        own = (target == tip_id) | (target == tip_parent)
        # the parent vessel is not rejoined by the initial sprouts' own tips
        moving &= ~(own & (target == PARENT))
        new_at = np.where(moving, new_at, tip_at)
        # a move onto another sprout is an anastomosis, onto a free cell it extends the sprout
        away = moving & ~own
        free_move = away & (target == EMPTY)
        fuse = away ^ free_move
        # two tips taking the same free cell in one step (rare): the first keeps it, the rest fuse
        taken = np.sort(new_at[free_move])
        if (taken[1:] == taken[:-1]).any():
            order = np.flatnonzero(free_move)
            _, first = np.unique(new_at[order], return_index=True)
            clash = np.zeros(tip_at.size, dtype=bool)
            clash[order] = True
            clash[order[first]] = False
            fuse |= clash
            free_move &= ~clash
        # record moves (the fusing ones too: the sprout reaches the vessel it joins)
        if moving.any():
            segments.append((tip_at[moving], new_at[moving]))
        added = new_at[free_move]
        owner_flat[added] = tip_id[free_move]
        sprout_cells[n_sprout_cells:n_sprout_cells + added.size] = added
        n_sprout_cells += added.size
        tip_at = new_at
        tip_age += k
        n_anastomoses += int(np.count_nonzero(fuse))
        arrived = in_tumour[tip_at] & ~fuse
        if arrived.any() and np.isnan(arrival):
            arrival = step * k
        ended = fuse | arrived
        if ended.any():
            keep = ~ended
            tip_at, tip_id, tip_parent, tip_age = tip_at[keep], tip_id[keep], tip_parent[keep], tip_age[keep]
        # endothelial cells on the sprouts take up TAF and fibronectin and make fibronectin
        cells = sprout_cells[:n_sprout_cells]
        taf_flat[cells] *= uptake_c
        fib_flat[cells] = fib_flat[cells] * keep_f + k * beta
        if stop_at_arrival and not np.isnan(arrival):
            break
        # branching: an old enough tip puts a new tip on a free neighbouring cell
        eligible = (tip_age >= age_min).nonzero()[0]
        room = max_tips - tip_at.size
        if eligible.size and room > 0:
            chance = branch_probability.__wrapped__(taf_flat[tip_at[eligible]])
            parents = eligible[rng.random(eligible.size) < chance][:room]
            if parents.size:
                candidates = tip_at[parents, None] + step_to[None, 1:]
                free = on_grid[tip_at[parents], 1:] & (owner_flat.take(candidates, mode="clip") == EMPTY)
                # a random free neighbour: the largest random key among the free ones
                keys = np.where(free, rng.random(free.shape), -1.0)
                pick = keys.argmax(axis=1)
                ok = free[np.arange(parents.size), pick]
                parents, pick = parents[ok], pick[ok]
                born = tip_at[parents] + step_to[1 + pick]
                if born.size > 1:  # one branch per cell
                    _, first = np.unique(born, return_index=True)
                    parents, born = parents[first], born[first]
                if parents.size:
                    ids = next_id + np.arange(parents.size)
                    next_id += parents.size
                    owner_flat[born] = ids
                    sprout_cells[n_sprout_cells:n_sprout_cells + parents.size] = born
                    n_sprout_cells += parents.size
                    segments.append((tip_at[parents], born))
                    tip_age[parents] = 0.0
                    tip_at = np.concatenate([tip_at, born])
                    tip_parent = np.concatenate([tip_parent, tip_id[parents]])
                    tip_id = np.concatenate([tip_id, ids])
                    tip_age = np.concatenate([tip_age, np.zeros(parents.size)])
                    n_branches += parents.size
    if segments:
        start, end = (np.concatenate(part) for part in zip(*segments))
        (y0, x0), (y1, x1) = np.divmod(start, n), np.divmod(end, n)
        segs = np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y1])], axis=1) * h
    else:
        segs = np.zeros((0, 2, 2))
    tip_iy, tip_ix = np.divmod(tip_at, n)
    return Network(x=x, taf=taf, fibronectin=fib, taf_initial=taf_initial, owner=owner,
                   segments=segs, tips=np.column_stack([tip_ix, tip_iy]) * h,
                   arrival_time=float(arrival), time=step * k, n_branches=n_branches,
                   n_anastomoses=n_anastomoses, n_sprouts=next_id, steps=step)


# --- (c) Baxter & Jain 1989 -------------------------------------------------------------------


@checked(PARAMETERS, radius_cm=RADIUS_CM)
def ifp_alpha_from_tissue(radius_cm: float, hydraulic_conductivity: float | None = None,
                          vessel_permeability: float | None = None,
                          surface_per_volume: float | None = None) -> float:
    """alpha = R sqrt(L_p (S/V) / K_t): the tumour radius in units of the pressure's decay length."""
    return _ifp_alpha(radius_cm, hydraulic_conductivity, vessel_permeability, surface_per_volume)


@checked(PARAMETERS)
def effective_pressure(vascular_pressure: float | None = None, reflection: float | None = None,
                       plasma_oncotic: float | None = None,
                       interstitial_oncotic: float | None = None) -> float:
    """p_e = p_v - sigma (pi_v - pi_i) (mmHg): the IFP at which filtration stops.

    Negative when the oncotic difference outweighs the vascular pressure (fluid is drawn in).
    """
    return vascular_pressure - reflection * (plasma_oncotic - interstitial_oncotic)


@checked(PARAMETERS, r_over_radius=Array(FRACTION, scalar_ok=True))
def ifp_profile(r_over_radius: float | np.ndarray, ifp_alpha: float | None = None) -> float | np.ndarray:
    """p / p_e at r / R in a uniformly perfused spherical tumour with p(R) = 0.

    p/p_e = 1 - sinh(alpha s) / (s sinh alpha), s = r/R; written with exponentials so it
    neither overflows for large alpha nor loses the centre value 1 - alpha / sinh(alpha).
    """
    s, a = r_over_radius, ifp_alpha
    safe = np.where(s > 0, s, 1.0)
    # sinh(a s)/sinh(a) = exp(a (s - 1)) (1 - exp(-2 a s)) / (1 - exp(-2 a))
    ratio = np.exp(a * (safe - 1.0)) * (-np.expm1(-2.0 * a * safe)) / (-np.expm1(-2.0 * a))
    centre = 1.0 - a / np.sinh(a) if a < 700 else 1.0
    result = np.where(s > 0, 1.0 - ratio / safe, centre)
    return result if result.ndim else float(result)


@checked(PARAMETERS, r_over_radius=Array(INTERIOR_RADIUS, scalar_ok=True))
def ifp_gradient(r_over_radius: float | np.ndarray, ifp_alpha: float | None = None) -> np.ndarray:
    """d(p/p_e)/d(r/R) of the analytic profile (negative: pressure falls outwards)."""
    s, a = r_over_radius, ifp_alpha
    # d/ds [sinh(a s)/(s sinh a)] = [a s cosh(a s) - sinh(a s)] / (s^2 sinh a)
    e = np.exp(a * (s - 1.0)) / (-np.expm1(-2.0 * a))
    sinh_r = e * (-np.expm1(-2.0 * a * s))        # sinh(a s)/sinh(a)
    cosh_r = e * (1.0 + np.exp(-2.0 * a * s))     # cosh(a s)/sinh(a)
    return -(a * s * cosh_r - sinh_r) / s**2


@checked(PARAMETERS, r_over_radius=Array(INTERIOR_RADIUS, scalar_ok=True),
         p_effective=P_EFFECTIVE, radius_cm=RADIUS_CM)
def interstitial_velocity(r_over_radius: float | np.ndarray, ifp_alpha: float | None,
                          p_effective: float, hydraulic_conductivity: float | None,
                          radius_cm: float) -> np.ndarray:
    """Outward interstitial fluid velocity u = -K_t dp/dr (cm/s) at r/R."""
    return -hydraulic_conductivity * p_effective / radius_cm * ifp_gradient.__wrapped__(
        r_over_radius, ifp_alpha)


@checked(PARAMETERS, p_effective=P_EFFECTIVE, radius_cm=RADIUS_CM)
def surface_velocity(ifp_alpha: float | None, p_effective: float,
                     hydraulic_conductivity: float | None, radius_cm: float) -> float:
    """u(R) = K_t p_e / R (alpha coth(alpha) - 1) (cm/s): fluid leaving the tumour surface."""
    a = ifp_alpha
    return hydraulic_conductivity * p_effective / radius_cm * (a / np.tanh(a) - 1.0)


@checked(PARAMETERS, n_cells=N_CELLS)
def ifp_numerical(ifp_alpha: float | None = None, n_cells: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Finite-volume solve of (1/s^2)(s^2 q')' = alpha^2 (q - 1), q'(0) = 0, q(1) = 0.

    q = p/p_e on nodes s_i = i/n; control volumes [s_{i-1/2}, s_{i+1/2}] with exact s^2
    volumes and face areas s_{i+1/2}^2: a second-order scheme assembled with scipy.sparse.
    Returns (s, q).
    """
    a, n = ifp_alpha, n_cells
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
    """Everything the chapter's live panel draws, with the slider values its titles show."""

    network: Network
    growth: GrowthCurve
    steady_state: float
    s: np.ndarray
    ifp: np.ndarray
    ifp_alpha: float
    chemotaxis: float
    taf_strength: float
    stimulation: float
    inhibition: float


@checked(PARAMETERS, seed=SEED)
def chapter_panel(chemotaxis: float | None = None, taf_strength: float | None = None,
                  stimulation: float | None = None, inhibition: float | None = None,
                  ifp_alpha: float | None = None, seed: int = 0) -> PanelResult:
    """The widget model: a coarse sprouting run, the Hahnfeldt curves and the IFP profile."""
    net = grow_network(chemotaxis, taf_strength, seed=seed, space_step=WIDGET_SPACE_STEP,
                       time_step=WIDGET_TIME_STEP, t_max=WIDGET_T_MAX)
    growth = simulate_hahnfeldt(30.0, stimulation=stimulation, inhibition=inhibition,
                                n_points=121, rtol=1e-6, atol=1e-8)
    s = np.linspace(0.0, 1.0, 201)
    return PanelResult(net, growth, hahnfeldt_steady_state(stimulation, inhibition), s,
                       ifp_profile(s, ifp_alpha), float(ifp_alpha), float(chemotaxis),
                       float(taf_strength), float(stimulation), float(inhibition))


#: The chapter's live panel: the model it reruns and the parameters on its sliders (the
#: benchmark times WIDGET_MODEL at these sliders' ends).
WIDGET_MODEL = chapter_panel
WIDGET_CONTROLS = ("chemotaxis", "taf_strength", "stimulation", "inhibition", "ifp_alpha")


# --- what this chapter reproduces (collected by chapter 11's table) ----------------------

CHAPTER = 7
MODEL_NAME = "tumour growth under angiogenic control"

REPRODUCTIONS = (
    Reproduction(
        "steady state V* = K* (mm³)", HAHNFELDT_STEADY_STATE_MM3, lambda: hahnfeldt_steady_state(),
        "hahnfeldt1999", "Fig. 4 legend", 50.0,
        "quoted to 3 significant figures: half a unit of the third, 50 mm³", "primary text",
        published_text=f"about {HAHNFELDT_STEADY_STATE_MM3:,.0f}"),
)
