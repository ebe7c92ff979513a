"""Chapter 7 (a): tumour growth under angiogenic control (Hahnfeldt et al. 1999).

Tumour volume V (mm^3) grows in Gompertz fashion towards a carrying capacity K (mm^3) set
by the vasculature; the tumour stimulates the vasculature (b V) and inhibits it through
factors whose effect scales like the tumour's surface, V^(2/3) (d K V^(2/3)):

    dV/dt = -lambda1 V ln(V / K)
    dK/dt = -lambda2 K + b V - d K V^(2/3)

lambda1 (1/day), lambda2 (1/day), b (1/day), d (1/(day mm^2)); t in days. The growth term
uses the natural logarithm: the paper's Eq. C1 obtains it as the Gompertz (small-exponent)
limit of generalised logistic growth, and (1 - x^a)/a -> -ln x as a -> 0 is the natural
logarithm (hahnfeldt_rhs takes ln V - ln K; "log10" is only a variant to compare). With
lambda2 = 0 the non-trivial steady state is V* = K* = (b / d)^(3/2); in general
((b - lambda2)/d)^(3/2).
The ODEs are integrated in log variables (ln V, ln K), which keeps V and K positive.

The one home of this model: chapter 7 shows it (tmebook.angiogenesis composes its panel),
chapter 10 adds drugs to it (tmebook.therapy) and chapter 11 couples it to oxygen
(tmebook.integrated), all through the functions and parameter records here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import root

from .parameters import (
    ATOL,
    RTOL,
    Array,
    Parameter,
    ParameterSet,
    Relation,
    Reproduction,
    broadcastable,
    checked,
    count,
    interval,
    nonnegative,
    one_of,
    positive,
)

__all__ = [
    # published numbers
    "HAHNFELDT_LAMBDA1_PER_DAY", "HAHNFELDT_B_PER_DAY", "HAHNFELDT_D_PER_DAY_MM2",
    "HAHNFELDT_K0_MM3", "HAHNFELDT_STEADY_STATE_MM3", "PRINTED_HALF_UNITS",
    "STEADY_STATE_TOLERANCE_MM3",
    # parameters and the domains of the other arguments
    "PARAMETERS", "VOLUME", "INHIBITION", "HAHNFELDT_RATE", "DAYS", "N_POINTS", "LOGARITHM",
    "ROOT_RESIDUAL",
    # the model
    "hahnfeldt_derivatives", "hahnfeldt_steady_state", "hahnfeldt_jacobian",
    "hahnfeldt_steady_state_by_root", "GrowthCurve", "simulate_hahnfeldt",
    "hahnfeldt_nullclines",
    # what it reproduces (collected by chapter 11's table)
    "CHAPTER", "MODEL_NAME", "REPRODUCTIONS",
]

# --- published numbers ----------------------------------------------------------------------

#: Hahnfeldt et al. 1999, Table 1: the fit to Lewis lung carcinoma in C57BL/6 mice (control
#: group), read in the paper's text; lambda2 = 0 and K0 = 625 mm^3 are in the same table.
HAHNFELDT_LAMBDA1_PER_DAY = 0.192
HAHNFELDT_B_PER_DAY = 5.85
HAHNFELDT_D_PER_DAY_MM2 = 0.00873
HAHNFELDT_K0_MM3 = 625.0
#: The size untreated tumours approach, "about 17,400 mm^3" (the text on Fig. 4A, p. 4773).
#: The 17,300 mm^3 of the Fig. 4 legend is a starting size of an example, not this limit.
HAHNFELDT_STEADY_STATE_MM3 = 17_400.0

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

# --- parameters ------------------------------------------------------------------------------

PARAMETERS = ParameterSet([
    Parameter(
        "growth_rate", r"\lambda_1", HAHNFELDT_LAMBDA1_PER_DAY, "1/day",
        "tumour growth rate (Gompertz)", "hahnfeldt1999",
        "Table 1: fit to Lewis lung carcinoma, control mice",
        domain=HAHNFELDT_RATE,
    ),
    Parameter(
        "stimulation", r"b", HAHNFELDT_B_PER_DAY, "1/day",
        "vascular stimulation by the tumour", "hahnfeldt1999",
        "Table 1: fit to Lewis lung carcinoma, control mice",
        low=1.0, high=12.0, domain=HAHNFELDT_RATE,
    ),
    Parameter(
        "inhibition", r"d", HAHNFELDT_D_PER_DAY_MM2, "1/(day mm²)",
        "vascular inhibition by the tumour (scales with V^{2/3})", "hahnfeldt1999",
        "Table 1: fit to Lewis lung carcinoma, control mice",
        low=0.002, high=0.02, domain=INHIBITION,
    ),
    Parameter(
        "capacity_loss", r"\lambda_2", 0.0, "1/day",
        "spontaneous loss of vascular support", "hahnfeldt1999",
        "Table 1: zero in the fit to Lewis lung carcinoma",
        domain=nonnegative(at_most=1e3, why=HAHNFELDT_RATE.why),
    ),
    Parameter(
        "initial_volume", r"V_0", 180.0, "mm³", "tumour volume at the start", None,
        "the starting volume of the canceR implementation's example of this model; not "
        "confirmed against the paper",
        domain=VOLUME,
    ),
    Parameter(
        "initial_capacity", r"K_0", HAHNFELDT_K0_MM3, "mm³", "carrying capacity at the start",
        "hahnfeldt1999", "Table 1: initial carrying capacity of the fit",
        domain=VOLUME,
    ),
])


# --- the model --------------------------------------------------------------------------------


def hahnfeldt_rhs(
    t,
    y,
    growth_rate,
    stimulation,
    inhibition,
    capacity_loss=0.0,
    logarithm="natural",
):
    """Right-hand side in log variables y = (ln V, ln K), V and K in mm^3, t in days.

    d lnV/dt = -lambda1 ln(V/K),  d lnK/dt = -lambda2 + b V/K - d V^(2/3).
    ln(V/K) is the natural logarithm, as the paper's Eq. C1 requires (the Gompertz limit of
    generalised logistic growth), taken as ln V - ln K. `logarithm="log10"` replaces it by
    log10(V/K), the variant some later papers print, to show what that choice changes.

    Unchecked on purpose: solve_ivp calls it at every step (here and in tmebook.therapy and
    tmebook.integrated, with arrays of tumours), so it takes the rates as they come.
    `hahnfeldt_derivatives` is its checked public form.
    """
    log_v, log_k = y
    ratio = log_v - log_k  # ln(V/K)
    if logarithm == "log10":
        ratio = ratio / np.log(10.0)
    d_log_v = -growth_rate * ratio
    d_log_k = (
        -capacity_loss
        + stimulation * np.exp(log_v - log_k)
        - inhibition * np.exp(2.0 * log_v / 3.0)
    )
    return np.array([d_log_v, d_log_k])


@checked(PARAMETERS, Relation("capacity", lambda volume, capacity: broadcastable(volume, capacity),
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
def hahnfeldt_steady_state(
    stimulation: float | None = None,
    inhibition: float | None = None,
    capacity_loss: float | None = None,
) -> float:
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


def _steady_state_is_a_volume(stimulation: float, inhibition: float, capacity_loss: float) -> bool:
    """No vascularised steady state (b <= lambda2), or one inside VOLUME, the volumes the
    model represents: ((b - lambda2)/d)^(3/2) underflows below them for b near lambda2 or
    b ~ 1e-300, and no root finder can find a state that double precision cannot hold."""
    return stimulation <= capacity_loss or VOLUME.contains(
        ((stimulation - capacity_loss) / inhibition) ** 1.5)


#: A root is accepted when both log rates are below this fraction of lambda1 + b + lambda2:
#: converged roots are within 1e-14 of it, while MINPACK's hybrid method reports success
#: with residuals of 15 % or more from a guess far below a large steady state (its Jacobian
#: there is nearly singular), returning the guess itself.
ROOT_RESIDUAL = 1e-9


@checked(PARAMETERS,
         Relation("stimulation", _steady_state_is_a_volume,
                  "too small: the steady state ((b - lambda2)/d)^(3/2) must be at least "
                  f"{VOLUME.low:g} mm^3, the smallest volume (or not exist: b <= lambda2)"),
         guess=Array(VOLUME, shape=(2,)))
def hahnfeldt_steady_state_by_root(guess: tuple | np.ndarray = (5000.0, 5000.0),
                                   stimulation: float | None = None,
                                   inhibition: float | None = None,
                                   capacity_loss: float | None = None) -> np.ndarray:
    """The steady state found numerically (scipy.optimize.root on ln V, ln K), for checking.

    Raises RuntimeError when the root finder fails (as it must for lambda2 >= b, where no
    vascularised steady state exists), also when it claims success at a point that is not
    a steady state (a guess far from it: its log rates exceed ROOT_RESIDUAL of the rates).
    """
    lam1 = PARAMETERS.default("growth_rate")

    def rates(y):
        return hahnfeldt_rhs(0.0, y, lam1, stimulation, inhibition, capacity_loss)

    sol = root(rates, np.log(guess), tol=1e-12)
    state = np.exp(sol.x)
    if not sol.success or not np.all(np.isfinite(state)):
        raise RuntimeError(f"root finding failed: {sol.message}")
    residual = float(np.max(np.abs(rates(sol.x))))
    if residual > ROOT_RESIDUAL * (lam1 + stimulation + capacity_loss):
        raise RuntimeError(f"root finding failed: the root finder stopped at V = {state[0]:.6g}, "
                           f"K = {state[1]:.6g} mm^3, where the log rates are still {residual:.3g}/day "
                           f"(start from a guess nearer the steady state)")
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


# --- what this model reproduces (collected by chapter 11's table) ---------------------------

CHAPTER = 7
MODEL_NAME = "tumour growth under angiogenic control"

#: Half a unit in the last printed figure: of "about 17,400" (mm^3), of b (1/day) and of d
#: (1/(day mm^2)), each printed to three figures.
PRINTED_HALF_UNITS = {"steady_state": 50.0, "stimulation": 0.005, "inhibition": 0.000005}
#: Tolerance of the steady state (mm^3): the rounding of "about 17,400", plus what rounding b
#: and d to three figures moves (b/d)^(3/2), 1.5 (db/b + dd/d) of it (about 37 mm^3).
STEADY_STATE_TOLERANCE_MM3 = PRINTED_HALF_UNITS["steady_state"] + 1.5 * (
    PRINTED_HALF_UNITS["stimulation"] / HAHNFELDT_B_PER_DAY
    + PRINTED_HALF_UNITS["inhibition"] / HAHNFELDT_D_PER_DAY_MM2
) * (HAHNFELDT_B_PER_DAY / HAHNFELDT_D_PER_DAY_MM2) ** 1.5

REPRODUCTIONS = (
    Reproduction(
        "steady state V* = K* (mm³)", HAHNFELDT_STEADY_STATE_MM3, lambda: hahnfeldt_steady_state(),
        "hahnfeldt1999", "text on Fig. 4A, p. 4773", STEADY_STATE_TOLERANCE_MM3,
        f"\"about\" and three figures (± {PRINTED_HALF_UNITS['steady_state']:.0f} mm³); b and d, "
        f"printed to three figures, move (b/d)^(3/2) by up to "
        f"± {STEADY_STATE_TOLERANCE_MM3 - PRINTED_HALF_UNITS['steady_state']:.0f} mm³ more "
        f"({STEADY_STATE_TOLERANCE_MM3 / HAHNFELDT_STEADY_STATE_MM3:.1%} in all)", "primary text",
        published_text=f"about {HAHNFELDT_STEADY_STATE_MM3:,.0f}"),
)
