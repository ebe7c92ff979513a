"""Chapter 6: the epithelial-mesenchymal transition. The miR-34/SNAIL/miR-200/ZEB switch.

The model is the microRNA-transcription-factor circuit of Lu, Jolly, Levine, Onuchic &
Ben-Jacob (2013): two "chimeric" modules, each a microRNA and a transcription factor that
repress one another, coupled in series. An external signal I (for TGF-beta exposure, see
below) drives transcription of SNAIL; SNAIL drives ZEB and represses both microRNAs; the
miR-200/ZEB module has up to three stable states, read as the epithelial (E), hybrid
(E/M) and mesenchymal (M) phenotypes.

Units: every species is a number of molecules per cell; time in hours (h).

State x = (mu200, mZ, Z, mu34, mS, S): miR-200, ZEB mRNA, ZEB protein, miR-34, SNAIL
mRNA, SNAIL protein.

    d mu200/dt = g_mu200 H(Z; Z0_mu200) H(S; S0_mu200) - mZ Y_mu(mu200; 6) - k_mu200 mu200
    d mZ/dt    = g_mZ    H(Z; Z0_mZ)    H(S; S0_mZ)    - mZ Y_m(mu200; 6)  - k_mZ mZ
    d Z/dt     = g_Z mZ L(mu200; 6) - k_Z Z
    d mu34/dt  = g_mu34  H(S; S0_mu34)  H(Z; Z0_mu34)  - mS Y_mu(mu34; 2)  - k_mu34 mu34
    d mS/dt    = g_mS    H(I; I0_mS)    H(S; S0_mS)    - mS Y_m(mu34; 2)   - k_mS mS
    d S/dt     = g_S mS L(mu34; 2) - k_S S

H is the shifted Hill function H(X; X0, n, lam) = H-(X) + lam (1 - H-(X)) with
H-(X) = 1 / (1 + (X/X0)^n): lam < 1 is repression, lam > 1 activation. The microRNA
terms count an mRNA with n binding sites carrying i bound microRNAs (binomial statistics,
M = mu / mu0):

    L(mu)    = sum_i l_i     C(n,i) M^i / (1+M)^n      translation rate factor
    Y_m(mu)  = sum_i gm_i    C(n,i) M^i / (1+M)^n      microRNA-induced mRNA decay (1/h)
    Y_mu(mu) = sum_i gmu_i i C(n,i) M^i / (1+M)^n      microRNA consumed with it (1/h)

Steady states are computed by reducing the six equations to one curve parametrised by the
ZEB protein level: for a given Z, every other species and the input I that makes the
state stationary follow from one-dimensional root problems (see
`states_on_branch`). Stability is read from the eigenvalues of the full 6 x 6 Jacobian.

TGF-beta enters only through I, with an illustrative Hill mapping (an assumption of this
book, not of Lu et al.): I = I_basal + I_gain T / (T + K_T), T in ng/mL.

Parameters follow the book's model contract (tmebook/parameters.py): functions that need the
whole set take `params`, a `Values` from `PARAMETERS.resolve(name=value, ...)` (None = the
published values), and every public function checks its arguments before any model work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq, root

from .parameters import (
    Array,
    Domain,
    Function,
    Parameter,
    ParameterSet,
    Relation,
    Values,
    checked,
    count,
    interval,
    nonnegative,
    one_of,
    positive,
    Reproduction,
    Either,
)

__all__ = [
    "PARAMETERS", "PHENOTYPES", "WIDGET_MODEL", "WIDGET_CONTROLS",
    "TRANSLATION_FACTORS", "MRNA_DECAY_FACTORS", "MIRNA_DECAY_FACTORS",
    "BINDING_SITES_ZEB", "BINDING_SITES_SNAIL", "BRANCH_ZEB_RANGE", "BRANCH_POINTS",
    "SOLVER_RTOL", "SOLVER_ATOL", "SHORTEST_HOURS",
    "shifted_hill", "microrna_terms", "rates", "jacobian", "max_growth_rate",
    "BranchStates", "states_on_branch", "ZebModuleCurve", "zeb_module_curve",
    "BifurcationDiagram", "zeb_module_folds",
    "bifurcation_diagram", "steady_states", "steady_states_from_guesses", "continue_branch",
    "integrate", "ramp_input", "hysteresis_loop", "switching_inputs", "epithelial_state",
    "ecadherin_like", "tgf_to_input", "input_to_tgf", "Outcome", "starting_states",
    "reach_steady_state",
    "CHAPTER", "MODEL_NAME", "REPRODUCTIONS",
]

SOURCE = "lu2013"
TABLE = "SI parameter table (values checked against re-implementations, not the SI itself)"

# --- the published parameter table -----------------------------------------------------------

#: microRNA-mRNA binding terms, Lu et al. 2013 SI (the same l_i, gamma_mi, gamma_mui for both
#: microRNAs; miR-34/SNAIL uses the first three entries because SNAIL mRNA has 2 sites). As
#: for every published value here, checked against independent re-implementations of the
#: model (the SI itself could not be read).
TRANSLATION_FACTORS = (1.0, 0.6, 0.3, 0.1, 0.05, 0.05, 0.05)       # l_i (1)
MRNA_DECAY_FACTORS = (0.0, 0.04, 0.2, 1.0, 1.0, 1.0, 1.0)          # gamma_mi (1/h)
MIRNA_DECAY_FACTORS = (0.0, 0.005, 0.05, 0.5, 0.5, 0.5, 0.5)       # gamma_mui (1/h)
BINDING_SITES_ZEB = 6    # miR-200 binding sites on ZEB mRNA (Lu et al. 2013)
BINDING_SITES_SNAIL = 2  # miR-34 binding sites on SNAIL mRNA (Lu et al. 2013)

# --- domains, each with its reason --------------------------------------------------------------

#: Molecule numbers per cell. A human cell holds about 1e10 protein molecules in all, so no
#: species of the circuit can have more (and the powers (X/X0)^n stay finite).
MOLECULES = nonnegative(at_most=1e10, why="molecules per cell: a cell holds about 1e10 "
                        "protein molecules in all")
#: The same, strictly positive: ZEB levels along the steady-state curve (it is parametrised
#: by log ZEB) and steady states (every species of a steady state is present).
POSITIVE_MOLECULES = positive(at_most=1e10, why="molecules per cell: a cell holds about 1e10 "
                              "protein molecules in all")
#: The input I (molecules) at which steady states are looked up on the computed curve. The
#: curve, computed for ZEB up to 1.2e6 molecules, ends at an input of 7.3e7, so every input
#: up to 7e7 has its steady states on it; and beyond 1e7 (200 times the input threshold I0)
#: the input's Hill term is within 0.5 % of its saturation, so larger inputs change nothing.
#: (The rates and the integrator take any input of MOLECULES.)
INPUT = nonnegative(at_most=7e7, why="molecules: the computed steady-state curve ends at "
                    "7.3e7, and beyond 1e7 the input's effect is saturated (within 0.5 %)")
#: Transcription rates (molecules/h): with decay rates of at least 1e-4 /h, levels g/k stay
#: below the 1e10 molecules a cell holds.
TRANSCRIPTION = positive(at_most=1e6, why="molecules/h: with decay rates >= 1e-4 /h, levels "
                         "g/k stay below the 1e10 molecules a cell holds")
TRANSLATION = positive(at_most=1e4, why="proteins per mRNA per hour: a fully loaded "
                       "polysome makes at most a few thousand")
DECAY = interval(1e-4, 1e3, why="1/h: lifetimes from about 4 s to about a year; outside, "
                 "levels run past a cell's molecule count or the equations turn stiff")
#: Thresholds of the Hill functions and microRNA binding scales (molecules).
THRESHOLD = interval(1.0, 1e10, why="molecules: from one molecule to more than a cell holds")
HILL = count(1, 10, why="whole numbers of cooperating sites (Lu et al.: 1 to 3): a fractional "
             "power of a negative number (an integrator's trial state, the continued input "
             "below zero) is not real; more than ten makes the switch a step")
REPRESSION = interval(0.0, 1.0, open_high=True, why="a repression: fold change below 1 "
                      "(1 is no interaction, and the reduction divides by 1 - lambda)")
ACTIVATION = interval(1.0, 1e3, open_low=True, why="an activation: fold change above 1 (the "
                      "reduction divides by lambda - 1); published values are 7.5 to 10, "
                      "a thousand-fold is beyond any promoter")
#: Any fold change, for the generic shifted Hill function.
FOLD_CHANGE = nonnegative(at_most=1e3, why="fold change: a thousand-fold is beyond any promoter")
#: TGF-beta concentration (ng/mL): in-vitro EMT protocols use a few ng/mL.
TGF = nonnegative(at_most=1e4, why="ng/mL: 10 ug/mL, a thousand times any EMT protocol")
#: The shortest duration (h): 1e-6 h (3.6 ms) is a thousandth of the shortest lifetime the
#: decay rates allow (1e3 /h), so nothing moves by more than 0.1 % in less (and a span of
#: 1e-300 h never returned from LSODA).
SHORTEST_HOURS = 1e-6
#: Durations of integrations (h).
DURATION = interval(SHORTEST_HOURS, 1e6, why="hours: from 3.6 ms, a thousandth of the shortest "
                    "lifetime the decay rates allow, to about 114 years, longer than any cell "
                    "lives")
RAMP_HOURS = interval(SHORTEST_HOURS, 5e5, why="hours: from 3.6 ms (see the durations); the "
                      "ramp goes up and down, and an integration lasts at most 1e6 h")
OUTPUT_POINTS = count(2, 100_000, why="output times: 1e5 states are about 5 MB")
#: Numbers of inputs a continuation steps through (one root solve, about 1 ms, each).
CONTINUATION_STEPS = 10_000
#: Points of a steady-state curve or of a batch of states (the diagram uses 3000): two
#: 64-step bisections, or a 6 x 6 Jacobian, per point.
CURVE_POINTS = 100_000


#: One state (6,) or several states (6, N), molecules.
STATES = Either(Array(MOLECULES, shape=(6,)), Array(MOLECULES, shape=(6, None), at_most=6 * CURVE_POINTS))
#: A single input or one input per state (molecules). Its example is a single input (the
#: reference input of the starting states, as a 0-d array), which fits any state.
INPUTS = Array(MOLECULES, scalar_ok=True, at_most=CURVE_POINTS,
                           make_example=lambda: np.array(1e3 * PARAMETERS.default("reference_input")))
#: A number or an array of molecule numbers.
LEVELS = Array(MOLECULES, scalar_ok=True)
#: ZEB levels along the steady-state curve.
ZEB_GRID = Array(POSITIVE_MOLECULES, shape=(None,), at_most=CURVE_POINTS,
                 why="two 64-step bisections per point")


def _one_input_per_state(state, input_signal) -> bool:
    return np.ndim(input_signal) == 0 or np.shape(input_signal) == np.shape(state)[1:]


INPUT_PER_STATE = Relation("input_signal", _one_input_per_state,
                           "must be a single number or hold one number per state")


def _record(name, symbol, value, units, description, domain):
    return Parameter(name, symbol, value, units, description, SOURCE, TABLE, domain=domain)


_PUBLISHED = [
    # production rates
    _record("g_mu200", r"g_{\mu_{200}}", 2100.0, "molecules/h", "miR-200 transcription rate", TRANSCRIPTION),
    _record("g_mZ", r"g_{m_Z}", 11.0, "molecules/h", "ZEB mRNA transcription rate", TRANSCRIPTION),
    _record("g_Z", r"g_Z", 100.0, "1/h", "ZEB translation rate per mRNA", TRANSLATION),
    _record("g_mu34", r"g_{\mu_{34}}", 1350.0, "molecules/h", "miR-34 transcription rate", TRANSCRIPTION),
    _record("g_mS", r"g_{m_S}", 90.0, "molecules/h", "SNAIL mRNA transcription rate", TRANSCRIPTION),
    _record("g_S", r"g_S", 100.0, "1/h", "SNAIL translation rate per mRNA", TRANSLATION),
    # degradation rates
    _record("k_mu200", r"k_{\mu_{200}}", 0.05, "1/h", "miR-200 degradation rate", DECAY),
    _record("k_mZ", r"k_{m_Z}", 0.5, "1/h", "ZEB mRNA degradation rate", DECAY),
    _record("k_Z", r"k_Z", 0.1, "1/h", "ZEB protein degradation rate", DECAY),
    _record("k_mu34", r"k_{\mu_{34}}", 0.05, "1/h", "miR-34 degradation rate", DECAY),
    _record("k_mS", r"k_{m_S}", 0.5, "1/h", "SNAIL mRNA degradation rate", DECAY),
    _record("k_S", r"k_S", 0.125, "1/h", "SNAIL protein degradation rate", DECAY),
    # microRNA binding scales
    _record("mu0_200", r"\mu^0_{200}", 10e3, "molecules", "miR-200 level for half-occupied sites", THRESHOLD),
    _record("mu0_34", r"\mu^0_{34}", 10e3, "molecules", "miR-34 level for half-occupied sites", THRESHOLD),
    # thresholds of the shifted Hill functions
    _record("Z0_mu200", r"Z^0_{\mu_{200}}", 220e3, "molecules", "ZEB threshold on miR-200 transcription", THRESHOLD),
    _record("S0_mu200", r"S^0_{\mu_{200}}", 180e3, "molecules", "SNAIL threshold on miR-200 transcription", THRESHOLD),
    _record("Z0_mZ", r"Z^0_{m_Z}", 25e3, "molecules", "ZEB threshold on its own transcription", THRESHOLD),
    _record("S0_mZ", r"S^0_{m_Z}", 180e3, "molecules", "SNAIL threshold on ZEB transcription", THRESHOLD),
    _record("S0_mu34", r"S^0_{\mu_{34}}", 300e3, "molecules", "SNAIL threshold on miR-34 transcription", THRESHOLD),
    _record("Z0_mu34", r"Z^0_{\mu_{34}}", 600e3, "molecules", "ZEB threshold on miR-34 transcription", THRESHOLD),
    _record("S0_mS", r"S^0_{m_S}", 200e3, "molecules", "SNAIL threshold on its own transcription", THRESHOLD),
    _record("I0_mS", r"I^0_{m_S}", 50e3, "molecules", "input threshold on SNAIL transcription", THRESHOLD),
    # Hill coefficients
    _record("n_Z_mu200", r"n_{Z\mu_{200}}", 3.0, "1", "Hill coefficient, ZEB on miR-200", HILL),
    _record("n_S_mu200", r"n_{S\mu_{200}}", 2.0, "1", "Hill coefficient, SNAIL on miR-200", HILL),
    _record("n_Z_mZ", r"n_{Zm_Z}", 2.0, "1", "Hill coefficient, ZEB on ZEB", HILL),
    _record("n_S_mZ", r"n_{Sm_Z}", 2.0, "1", "Hill coefficient, SNAIL on ZEB", HILL),
    _record("n_S_mu34", r"n_{S\mu_{34}}", 1.0, "1", "Hill coefficient, SNAIL on miR-34", HILL),
    _record("n_Z_mu34", r"n_{Z\mu_{34}}", 1.0, "1", "Hill coefficient, ZEB on miR-34", HILL),
    _record("n_S_mS", r"n_{Sm_S}", 1.0, "1", "Hill coefficient, SNAIL on SNAIL", HILL),
    _record("n_I_mS", r"n_{Im_S}", 1.0, "1", "Hill coefficient, input on SNAIL", HILL),
    # fold changes (lambda < 1 represses, > 1 activates)
    _record("l_Z_mu200", r"\lambda_{Z\mu_{200}}", 0.1, "1", "fold change, ZEB on miR-200 (repression)", REPRESSION),
    _record("l_S_mu200", r"\lambda_{S\mu_{200}}", 0.1, "1", "fold change, SNAIL on miR-200 (repression)", REPRESSION),
    _record("l_Z_mZ", r"\lambda_{Zm_Z}", 7.5, "1", "fold change, ZEB on ZEB (self-activation)", ACTIVATION),
    _record("l_S_mZ", r"\lambda_{Sm_Z}", 10.0, "1", "fold change, SNAIL on ZEB (activation)", ACTIVATION),
    _record("l_S_mu34", r"\lambda_{S\mu_{34}}", 0.1, "1", "fold change, SNAIL on miR-34 (repression)", REPRESSION),
    _record("l_Z_mu34", r"\lambda_{Z\mu_{34}}", 0.2, "1", "fold change, ZEB on miR-34 (repression)", REPRESSION),
    _record("l_S_mS", r"\lambda_{Sm_S}", 0.1, "1", "fold change, SNAIL on SNAIL (self-repression)", REPRESSION),
    _record("l_I_mS", r"\lambda_{Im_S}", 10.0, "1", "fold change, input on SNAIL (activation)", ACTIVATION),
]

PHENOTYPES = ("E", "E/M", "M")

_ASSUMED = [
    Parameter(
        "input_signal", r"I", 62.0, "10³ molecules",
        "external signal driving SNAIL transcription (the widget's input level)", None,
        "our choice of range, covering every threshold of the model; the default lies "
        "where the epithelial state no longer exists",
        low=0.0, high=120.0,
        domain=nonnegative(at_most=7e4, why="10³ molecules: the computed steady-state curve "
                           "ends at 7.3e7 molecules, and beyond 1e7 the input's effect is "
                           "saturated (within 0.5 %)"),
    ),
    Parameter(
        "start_phenotype", r"\phi_0", "E", "1",
        "starting phenotype (E, E/M or M): the stable state of that phenotype at the "
        "reference input", None,
        "a choice of initial condition, not a model parameter",
        domain=one_of(*PHENOTYPES),
    ),
    Parameter(
        "reference_input", r"I_\mathrm{ref}", 53.0, "10³ molecules",
        "input at which the starting phenotypes are prepared (inside the tristable window)", None,
        "any input where E, E/M and M all exist would do",
        domain=nonnegative(at_most=7e4, why="10³ molecules: the range of the input"),
    ),
    Parameter(
        "ecad_threshold", r"Z_E", 50e3, "molecules",
        "ZEB level halving the E-cadherin-like readout", None,
        "illustrative: ZEB represses E-cadherin (CDH1); Lu et al. model no E-cadherin. "
        "Placed inside the hybrid state's ZEB range so the hybrid keeps part of it",
        domain=THRESHOLD,
    ),
    Parameter(
        "tgf_half", r"K_T", 2.0, "ng/mL",
        "TGF-β concentration giving half the maximal input gain", None,
        "illustrative: in-vitro EMT protocols use TGF-β1 at a few ng/mL",
        domain=positive(at_most=1e4, why="ng/mL: 10 ug/mL, a thousand times any EMT protocol"),
    ),
    Parameter(
        "input_basal", r"I_\mathrm{basal}", 20e3, "molecules",
        "input without TGF-β", None,
        "illustrative: below every threshold, so untreated cells have one (epithelial) state",
        domain=nonnegative(at_most=3.5e7, why="molecules: I_basal + I_gain stays within the "
                           "input range, 7e7"),
    ),
    Parameter(
        "input_gain", r"I_\mathrm{gain}", 80e3, "molecules",
        "maximal extra input from saturating TGF-β", None,
        "illustrative: large enough that saturating TGF-β leaves only the M state",
        domain=interval(1.0, 3.5e7, why="molecules: at least one (below, TGF-β moves the "
                        "input by less than a molecule); I_basal + I_gain stays within the "
                        "input range, 7e7"),
    ),
]

PARAMETERS = ParameterSet(_PUBLISHED + _ASSUMED)


# --- the model --------------------------------------------------------------------------------


@checked(PARAMETERS, x=LEVELS, threshold=THRESHOLD, n=HILL, fold=FOLD_CHANGE)
def shifted_hill(x: Any, threshold: float, n: int, fold: float) -> Any:
    """H(x) = H-(x) + fold (1 - H-(x)), H- = 1/(1 + (x/threshold)^n). 1 at x = 0, `fold` at x -> inf.

    Plain arithmetic, so it works on floats (fast, for the integrator) and arrays alike.
    """
    repression = 1.0 / (1.0 + (x / threshold) ** n)
    return repression + fold * (1.0 - repression)


@checked(PARAMETERS, mirna=LEVELS, mu0=THRESHOLD,
         sites=count(0, len(TRANSLATION_FACTORS) - 1, why="the tables of l_i, gamma_mi and "
                     "gamma_mui list 0 to 6 bound microRNAs (ZEB mRNA has 6 sites, the most)"))
def microrna_terms(mirna: Any, mu0: float, sites: int) -> tuple:
    """L, Y_m and Y_mu of Lu et al. 2013 for an mRNA with `sites` binding sites.

    Returns the translation factor L (1), the microRNA-induced mRNA decay rate Y_m (1/h)
    and the microRNA decay rate per mRNA Y_mu (1/h), from the binomial occupancy
    C(n,i) M^i / (1+M)^n of the sites at M = mirna / mu0. Floats or arrays.
    """
    ratio = mirna / mu0
    free = 1.0 / (1.0 + ratio)
    all_free = free**sites  # the same for every i: computed once
    translation = mrna_decay = mirna_decay = 0.0
    for i in range(sites + 1):
        occupancy = math.comb(sites, i) * ratio**i * all_free
        translation = translation + TRANSLATION_FACTORS[i] * occupancy
        mrna_decay = mrna_decay + MRNA_DECAY_FACTORS[i] * occupancy
        mirna_decay = mirna_decay + i * MIRNA_DECAY_FACTORS[i] * occupancy
    return translation, mrna_decay, mirna_decay


# The model's inner loops (the integrator, root finding, bisection) call these two without
# the argument checks.
_shifted_hill = shifted_hill.__wrapped__
_microrna_terms = microrna_terms.__wrapped__


@checked(PARAMETERS, INPUT_PER_STATE, state=STATES, input_signal=INPUTS, params=PARAMETERS)
def rates(state: np.ndarray, input_signal: Any, params: Values | None = None) -> np.ndarray:
    """dx/dt (molecules/h) for states of shape (6,) or (6, N) at input I (molecules): one
    input, or one per state."""
    return _rates(state, input_signal, params)


def _rates(state, input_signal, p):
    """dx/dt for already checked values (the integrator calls this)."""
    if isinstance(state, np.ndarray) and state.ndim == 1:
        state = state.tolist()  # Python floats: faster than 0-d arrays
    mu200, mzeb, zeb, mu34, msnail, snail = state
    M, H = _microrna_terms, _shifted_hill
    l200, ym200, ymu200 = M(mu200, p["mu0_200"], BINDING_SITES_ZEB)
    l34, ym34, ymu34 = M(mu34, p["mu0_34"], BINDING_SITES_SNAIL)
    return np.array([
        p["g_mu200"]
        * H(zeb, p["Z0_mu200"], p["n_Z_mu200"], p["l_Z_mu200"])
        * H(snail, p["S0_mu200"], p["n_S_mu200"], p["l_S_mu200"])
        - mzeb * ymu200 - p["k_mu200"] * mu200,
        p["g_mZ"] * H(zeb, p["Z0_mZ"], p["n_Z_mZ"], p["l_Z_mZ"])
        * H(snail, p["S0_mZ"], p["n_S_mZ"], p["l_S_mZ"])
        - mzeb * ym200 - p["k_mZ"] * mzeb,
        p["g_Z"] * mzeb * l200 - p["k_Z"] * zeb,
        p["g_mu34"] * H(snail, p["S0_mu34"], p["n_S_mu34"], p["l_S_mu34"])
        * H(zeb, p["Z0_mu34"], p["n_Z_mu34"], p["l_Z_mu34"])
        - msnail * ymu34 - p["k_mu34"] * mu34,
        p["g_mS"] * H(input_signal, p["I0_mS"], p["n_I_mS"], p["l_I_mS"])
        * H(snail, p["S0_mS"], p["n_S_mS"], p["l_S_mS"])
        - msnail * ym34 - p["k_mS"] * msnail,
        p["g_S"] * msnail * l34 - p["k_S"] * snail,
    ])


RELATIVE_STEP = interval(1e-10, 1e-2, why="central differences: below 1e-10 round-off, above "
                         "1e-2 the truncation error dominates")


@checked(PARAMETERS, INPUT_PER_STATE, state=STATES, input_signal=INPUTS, params=PARAMETERS,
         relative_step=RELATIVE_STEP)
def jacobian(state: np.ndarray, input_signal: Any, params: Values | None = None, *,
             relative_step: float = 1e-6) -> np.ndarray:
    """6 x 6 Jacobian d(rates)/d(state) (1/h) by central differences; state shape (6,) or (6, N).

    Returns shape (6, 6) or (N, 6, 6). Each column uses a step relative to its species'
    level (molecule numbers span 1 to 10^6).
    """
    p = params
    state = np.asarray(state, dtype=float)
    single = state.ndim == 1
    x = state[:, None] if single else state
    columns = []
    for j in range(6):
        step = relative_step * np.maximum(np.abs(x[j]), 1.0)
        up, down = x.copy(), x.copy()
        up[j] += step
        down[j] -= step
        columns.append((_rates(up, input_signal, p) - _rates(down, input_signal, p)) / (2 * step))
    jac = np.moveaxis(np.array(columns), [0, 1, 2], [2, 1, 0])  # (N, row, column)
    return jac[0] if single else jac


_jacobian = jacobian.__wrapped__  # without the checks: the diagram's curve includes I < 0


@checked(PARAMETERS, INPUT_PER_STATE, state=STATES, input_signal=INPUTS, params=PARAMETERS)
def max_growth_rate(state: np.ndarray, input_signal: Any, params: Values | None = None) -> Any:
    """Largest real part of the Jacobian eigenvalues (1/h): negative means stable."""
    return np.max(np.linalg.eigvals(_jacobian(state, input_signal, params)).real, axis=-1)


_max_growth_rate = max_growth_rate.__wrapped__


# --- steady states: a one-parameter reduction ---------------------------------------------------


def _inverse_shifted_hill(value, threshold, n, fold):
    """x with shifted_hill(x) = value, for a repressing hill (fold < value < 1); NaN outside."""
    value = np.asarray(value, dtype=float)
    inside = (value > fold) & (value < 1.0)
    repression = np.where(inside, (value - fold) / (1.0 - fold), 0.5)
    return np.where(inside, threshold * (1.0 / repression - 1.0) ** (1.0 / n), np.nan)


def _bisect(function, low, high, iterations=64):
    """Vectorised bisection for increasing or decreasing functions with a sign change."""
    f_low = function(low)
    for _ in range(iterations):
        middle = 0.5 * (low + high)
        f_middle = function(middle)
        keep_low = np.sign(f_middle) == np.sign(f_low)
        low = np.where(keep_low, middle, low)
        f_low = np.where(keep_low, f_middle, f_low)
        high = np.where(keep_low, high, middle)
    return 0.5 * (low + high)


def _zeb_module(zeb, p):
    """miR-200, ZEB mRNA and SNAIL (molecules) that make ZEB level `zeb` stationary in the
    miR-200/ZEB module (steps 1-2 of `states_on_branch`); NaN where no such SNAIL exists."""

    def snail_and_mrna(log_mu200):
        mu200 = np.exp(log_mu200)
        l200, ym200, ymu200 = _microrna_terms(mu200, p["mu0_200"], BINDING_SITES_ZEB)
        mzeb = p["k_Z"] * zeb / (p["g_Z"] * l200)
        zeb_term = _shifted_hill(zeb, p["Z0_mu200"], p["n_Z_mu200"], p["l_Z_mu200"])
        snail_term = (mzeb * ymu200 + p["k_mu200"] * mu200) / (p["g_mu200"] * zeb_term)
        return mu200, mzeb, ym200, snail_term

    def zeb_mrna_balance(log_mu200):
        mu200, mzeb, ym200, snail_term = snail_and_mrna(log_mu200)
        # snail_term <= fold means SNAIL -> infinity, >= 1 means SNAIL = 0 (edges of range)
        snail = _inverse_shifted_hill(np.clip(snail_term, p["l_S_mu200"] + 1e-15, 1 - 1e-15),
                                      p["S0_mu200"], p["n_S_mu200"], p["l_S_mu200"])
        snail = np.where(snail_term <= p["l_S_mu200"], np.inf, np.where(snail_term >= 1, 0.0, snail))
        activation = _shifted_hill(snail, p["S0_mZ"], p["n_S_mZ"], p["l_S_mZ"])
        activation = np.where(np.isinf(snail), p["l_S_mZ"], activation)
        return (p["g_mZ"] * _shifted_hill(zeb, p["Z0_mZ"], p["n_Z_mZ"], p["l_Z_mZ"]) * activation
                - mzeb * (ym200 + p["k_mZ"]))

    ones = np.ones_like(zeb)
    log_mu200 = _bisect(zeb_mrna_balance, math.log(1e-2) * ones, math.log(1e8) * ones)
    mu200, mzeb, _, snail_term = snail_and_mrna(log_mu200)
    snail = _inverse_shifted_hill(snail_term, p["S0_mu200"], p["n_S_mu200"], p["l_S_mu200"])
    scale = p["g_mZ"] * p["l_Z_mZ"] * p["l_S_mZ"]
    solved = np.abs(zeb_mrna_balance(log_mu200)) < 1e-6 * scale
    return mu200, mzeb, np.where(solved, snail, np.nan)


@dataclass(frozen=True)
class BranchStates:
    """Steady states along the curve parametrised by the ZEB level (`states_on_branch`):
    `states` (6, N, molecules) and the input that holds each, `input_signal` (N, molecules;
    negative where no non-negative input can hold the state). Unpacks, and indexes, as the
    pair (states, input_signal).

    Both are NaN at a ZEB level that no finite input holds (NAN_MEANS).
    """

    states: np.ndarray
    input_signal: np.ndarray

    NAN_MEANS = {
        "states": "NaN at a ZEB level that no steady state of the circuit has (no SNAIL level "
                  "holds it in the miR-200/ZEB module, or no finite input holds that SNAIL)",
        "input_signal": "NaN where `states` is NaN: no finite input holds that ZEB level",
    }

    def __iter__(self):
        return iter((self.states, self.input_signal))

    def __getitem__(self, index):
        return (self.states, self.input_signal)[index]

    def __len__(self) -> int:
        return 2


@checked(PARAMETERS, zeb=ZEB_GRID, params=PARAMETERS)
def states_on_branch(
    zeb: np.ndarray, params: Values | None = None
) -> BranchStates:
    """Steady states parametrised by the ZEB protein level: a
    `BranchStates`, unpacking as (states (6, N), input I (N)).

    At steady state, for a given ZEB level Z:
      1. ZEB mRNA is k_Z Z / (g_Z L(mu200)), and the miR-200 balance then
         fixes the SNAIL level S(Z, mu200) by inverting the SNAIL Hill
         function on miR-200;
      2. the ZEB-mRNA balance R(mu200) = 0 picks mu200 (bisection in log
         mu200; R changes sign once over the whole range for these
         parameters, and a ZEB level where it does not change sign gets
         NaN);
      3. with S and Z known, the miR-34 balance is increasing in mu34 (one
         root);
      4. the SNAIL-mRNA balance then gives the input I explicitly
         (inverting the input's shifted Hill function).
    Points where no finite I exists are NaN (for the published parameters,
    ZEB below about 430 or above about 1.1e6 molecules:
    `BranchStates.NAN_MEANS`); negative I marks states that no
    (non-negative) input can hold. The curve I(Z) is the whole bifurcation
    diagram; its local extrema are the saddle-node points.
    """
    p = params
    mu200, mzeb, snail = _zeb_module(zeb, p)
    ones = np.ones_like(zeb)

    miR34_production = (
        p["g_mu34"]
        * _shifted_hill(snail, p["S0_mu34"], p["n_S_mu34"], p["l_S_mu34"])
        * _shifted_hill(zeb, p["Z0_mu34"], p["n_Z_mu34"], p["l_Z_mu34"])
    )

    def snail_mrna_and_terms(log_mu34):
        mu34 = np.exp(log_mu34)
        l34, ym34, ymu34 = _microrna_terms(
            mu34, p["mu0_34"], BINDING_SITES_SNAIL
        )
        return mu34, p["k_S"] * snail / (p["g_S"] * l34), ym34, ymu34

    def mir34_balance(log_mu34):
        mu34, msnail, _, ymu34 = snail_mrna_and_terms(log_mu34)
        # increasing in mu34
        return msnail * ymu34 + p["k_mu34"] * mu34 - miR34_production

    log_mu34 = _bisect(
        mir34_balance, math.log(1e-3) * ones, math.log(1e9) * ones
    )
    mu34, msnail, ym34, _ = snail_mrna_and_terms(log_mu34)
    input_term = (
        msnail
        * (ym34 + p["k_mS"])
        / (
            p["g_mS"]
            * _shifted_hill(snail, p["S0_mS"], p["n_S_mS"], p["l_S_mS"])
        )
    )
    # shifted_hill(I) = (1 + lam r)/(1 + r) with r = (I/I0)^n, increasing
    # from 1 to lam. Below 1 the state would need a negative input: we
    # continue r below zero (an odd extension) so that crossings of I = 0
    # are found too; such points are unreachable.
    fold = p["l_I_mS"]
    finite = (input_term > 0.0) & (input_term < fold)
    ratio = np.where(
        finite,
        (input_term - 1.0) / (fold - np.where(finite, input_term, 0.0)),
        np.nan,
    )
    input_signal = (
        p["I0_mS"] * np.sign(ratio) * np.abs(ratio) ** (1.0 / p["n_I_mS"])
    )
    states = np.array([mu200, mzeb, zeb, mu34, msnail, snail])
    bad = ~np.isfinite(input_signal) | ~np.all(np.isfinite(states), axis=0)
    states[:, bad] = np.nan
    input_signal = np.where(bad, np.nan, input_signal)
    return BranchStates(states, input_signal)


_states_on_branch = states_on_branch.__wrapped__  # for the fold refinement's local grids


@dataclass(frozen=True)
class ZebModuleCurve:
    """The steady states of the miR-200/ZEB module driven by SNAIL (`zeb_module_curve`):
    at each ZEB level `zeb` (molecules), the SNAIL level `snail` (molecules) that holds it.

    `snail` is NaN at a ZEB level that no SNAIL level holds (NAN_MEANS).
    """

    zeb: np.ndarray
    snail: np.ndarray

    NAN_MEANS = {"snail": "NaN at a ZEB level that no SNAIL level holds stationary in the "
                          "module (for the published parameters, below about 430 or above "
                          "about 1.5e6 molecules of ZEB)"}


@checked(PARAMETERS, zeb=ZEB_GRID, params=PARAMETERS)
def zeb_module_curve(zeb: np.ndarray, params: Values | None = None) -> ZebModuleCurve:
    """The miR-200/ZEB module alone, driven by SNAIL as its input: the SNAIL level
    (molecules) at which each ZEB level is stationary (step 1-2 of `states_on_branch`), as
    a `ZebModuleCurve`; its `snail` is NaN where no SNAIL level holds that ZEB level. Its
    local extrema are the module's saddle-node points (its tristability)."""
    return ZebModuleCurve(zeb, _zeb_module(zeb, params)[2])


def _four_folds(folds) -> None:
    """The phenotype windows need the four saddle-nodes of the tristable switch."""
    if len(folds) != 4:
        raise ValueError(f"params: this parameter set gives {len(folds)} saddle-node(s), not "
                         "the four of the tristable switch, so the phenotypes E, E/M and M "
                         "are not defined")


@dataclass(frozen=True)
class BifurcationDiagram:
    """The steady-state curve of the full circuit against the input I.

    `states` (6, N) along the curve ordered by ZEB, `input_signal` (N, molecules),
    `stable` (N) and `growth_rate` (N, 1/h: largest real part of the Jacobian's
    eigenvalues), and `folds`, the saddle-node points (input, ZEB) ordered by ZEB.
    The arrays are read-only: the diagram is cached and handed out again.
    """

    states: np.ndarray
    input_signal: np.ndarray
    stable: np.ndarray
    growth_rate: np.ndarray
    folds: tuple

    @property
    def zeb(self) -> np.ndarray:
        return self.states[2]

    def fold_inputs(self) -> tuple:
        """Input (molecules) at the saddle-nodes, ordered by ZEB: E ends, E/M begins,
        E/M ends, M begins. For this parameter set: 4 folds."""
        return tuple(f[0] for f in self.folds)

    def windows(self) -> dict:
        """Input intervals (molecules) in which each phenotype exists as a stable state."""
        _four_folds(self.folds)
        f = self.fold_inputs()
        return {"E": (0.0, f[0]), "E/M": (f[1], f[2]), "M": (f[3], math.inf)}

    @checked(zeb=POSITIVE_MOLECULES)
    def phenotype_of_zeb(self, zeb: float) -> str:
        """Label a ZEB level by the stable branch it lies on (or between)."""
        _four_folds(self.folds)
        z = [f[1] for f in self.folds]
        if zeb <= z[0]:
            return "E"
        if zeb < z[1]:
            return "E–E/M saddle"
        if zeb <= z[2]:
            return "E/M"
        if zeb < z[3]:
            return "E/M–M saddle"
        return "M"


#: ZEB range of the curve (molecules): covers I from 0 to beyond 10^6 molecules.
BRANCH_ZEB_RANGE = (300.0, 1.2e6)
BRANCH_POINTS = 3000


def _extrema(log_zeb, values, curve):
    """Local extrema of values(log Z) on a grid, each refined on a dense local grid of
    `curve` (a vectorised function of Z) with a parabola through the three points around
    the extremum. Returns a tuple of (value, Z)."""
    slope = np.sign(np.diff(values))
    turns = np.flatnonzero(slope[1:] != slope[:-1]) + 1
    found = []
    for k in turns:
        sign = slope[k - 1]  # +1: a maximum, -1: a minimum
        grid = np.linspace(log_zeb[k - 1], log_zeb[k + 1], 401)
        local = curve(np.exp(grid))
        j = int(np.clip(np.nanargmax(sign * local), 1, grid.size - 2))
        y0, y1, y2 = local[j - 1: j + 2]
        curvature = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / curvature if curvature != 0 else 0.0
        vertex = y1 - (y0 - y2) ** 2 / (8 * curvature) if curvature != 0 else y1
        found.append((float(vertex), float(math.exp(grid[j] + shift * (grid[1] - grid[0])))))
    return tuple(found)


def _frozen(array) -> np.ndarray:
    """`array` as an array nobody can write to (it is cached and handed out again)."""
    array = np.array(array)
    array.flags.writeable = False
    return array


@lru_cache(maxsize=4)
def _diagram(params: Values) -> BifurcationDiagram:
    zeb = np.geomspace(*BRANCH_ZEB_RANGE, BRANCH_POINTS)
    states, inputs = _states_on_branch(zeb, params)
    keep = np.isfinite(inputs)
    states, inputs = states[:, keep], inputs[keep]
    growth = _max_growth_rate(states, inputs, params)
    folds = _extrema(np.log(states[2]), inputs, lambda z: _states_on_branch(z, params)[1])
    return BifurcationDiagram(_frozen(states), _frozen(inputs), _frozen(growth < 0), _frozen(growth),
                              folds)


@checked(PARAMETERS, params=PARAMETERS)
def zeb_module_folds(params: Values | None = None) -> tuple:
    """Saddle-node points of the miR-200/ZEB module driven by SNAIL: ((SNAIL, ZEB), ...)
    in molecules, ordered by ZEB. Four folds: E ends, E/M begins, E/M ends, M begins."""
    return _module_folds(params)


@lru_cache(maxsize=4)
def _module_folds(params: Values) -> tuple:
    zeb = np.geomspace(*BRANCH_ZEB_RANGE, BRANCH_POINTS)
    snail = _zeb_module(zeb, params)[2]
    keep = np.isfinite(snail)
    return _extrema(np.log(zeb[keep]), snail[keep], lambda z: _zeb_module(z, params)[2])


@checked(PARAMETERS, params=PARAMETERS)
def bifurcation_diagram(params: Values | None = None) -> BifurcationDiagram:
    """The steady states against the input (cached: computed once per parameter set; its
    arrays are read-only)."""
    return _diagram(params)


def _to_log(state):
    return np.log(np.maximum(np.asarray(state, dtype=float), 1e-300))


def _polish(state, input_signal, p):
    """Newton-type polish (scipy.optimize.root) of a steady state, in log variables with
    the relative rates dx/dt / x as residuals (the species span six decades)."""
    def residual(log_state):
        x = np.exp(np.clip(log_state, -30.0, 30.0))  # keeps wild trial steps finite
        return _rates(x, input_signal, p) / x

    solution = root(residual, _to_log(state), method="hybr", options={"xtol": 1e-12})
    size = np.max(np.abs(solution.fun))
    # A guess that is already a root (the curve's states are) can leave hybr "not making
    # good progress" at a residual of 1e-16: a root to round-off is a root.
    converged = (bool(solution.success) and size < 1e-8) or size < 1e-13
    return np.exp(np.clip(solution.x, -30.0, 30.0)), converged and np.all(np.abs(solution.x) < 30.0)


@checked(PARAMETERS, input_signal=INPUT, params=PARAMETERS)
def steady_states(input_signal: float, params: Values | None = None) -> list[dict]:
    """All steady states at an input (molecules), ordered by ZEB.

    Crossings of the precomputed curve I(Z) with the requested input, each polished with
    scipy.optimize.root on the full six equations and classified by the Jacobian
    eigenvalues. Returns a list of dicts: state, stable, growth_rate, phenotype (empty if
    the curve of a parameter set does not reach the input). The phenotype labels need the
    four saddle-nodes of the tristable switch: for a parameter set without them, a
    ValueError naming `params` says so.
    """
    diagram = _diagram(params)
    p = params.as_dict()  # plain dict: faster look-ups in the solver's inner loop
    difference = diagram.input_signal - input_signal
    crossings = np.flatnonzero(np.sign(difference[:-1]) != np.sign(difference[1:]))
    found = []
    for k in crossings:
        weight = difference[k] / (difference[k] - difference[k + 1])
        guess = np.exp((1 - weight) * _to_log(diagram.states[:, k]) + weight * _to_log(diagram.states[:, k + 1]))
        state, ok = _polish(guess, input_signal, p)
        if not ok:
            raise RuntimeError(f"steady state near ZEB = {guess[2]:.4g} did not converge")
        growth = float(_max_growth_rate(state, input_signal, p))
        found.append({"state": state, "stable": growth < 0, "growth_rate": growth,
                      "phenotype": diagram.phenotype_of_zeb(state[2])})
    return found


@checked(PARAMETERS, input_signal=MOLECULES, params=PARAMETERS,
         n_per_axis=count(2, 20, why="n^2 x 9 root solves: 20 is 3600, about 10 s"))
def steady_states_from_guesses(input_signal: float, n_per_axis: int = 6,
                               params: Values | None = None) -> list[np.ndarray]:
    """Independent check: scipy.optimize.root from a grid of initial guesses.

    Guesses span miR-200, ZEB, miR-34 and SNAIL over their physiological decades (the two
    mRNAs start at their quasi-steady values for a mid-range microRNA level); converged
    roots are de-duplicated. Slow (hundreds of solves): for tests and checks only.
    """
    p = params.as_dict()
    roots = []
    axes = [np.geomspace(5e2, 5e4, n_per_axis), np.geomspace(3e2, 2e6, n_per_axis),
            np.geomspace(1e3, 3e4, 3), np.geomspace(2e4, 6e5, 3)]
    for mu200 in axes[0]:
        for zeb in axes[1]:
            for mu34 in axes[2]:
                for snail in axes[3]:
                    guess = np.array([mu200, zeb / 800, zeb, mu34, snail / 600, snail])
                    state, ok = _polish(guess, input_signal, p)
                    if ok and np.all(state > 0) and not any(
                            np.allclose(_to_log(state), _to_log(r), atol=1e-6) for r in roots):
                        roots.append(state)
    return sorted(roots, key=lambda s: s[2])


@checked(PARAMETERS, inputs=Array(MOLECULES, shape=(None,), at_most=CONTINUATION_STEPS,
                                  why="one root solve (about 1 ms) per input"),
         start_state=Array(POSITIVE_MOLECULES, shape=(6,)), params=PARAMETERS,
         max_log_jump=interval(0.0, 10.0, open_low=True,
                               why="a change of log ZEB; the whole curve spans 8.3 "
                                   "(300 to 1.2e6 molecules), so more means 'never stop'"))
def continue_branch(inputs: np.ndarray, start_state: np.ndarray, params: Values | None = None, *,
                    max_log_jump: float = 0.5) -> np.ndarray:
    """Natural-parameter continuation: follow a steady state as the input steps through
    `inputs` (molecules), each solve (scipy.optimize.root) starting from the last.

    Stops at the first input where the solver fails or the state jumps by more than
    `max_log_jump` in log ZEB (the branch has ended at a saddle-node): returns the states
    reached, shape (6, k) for the first k inputs.
    """
    p = params.as_dict()
    state = start_state
    path = []
    for value in inputs:
        new, ok = _polish(state, value, p)
        if not ok or abs(math.log(new[2] / state[2])) > max_log_jump:
            break
        path.append(new)
        state = new
    return np.array(path).T.reshape(6, -1)


# --- time integration -----------------------------------------------------------------------------

SOLVER_RTOL, SOLVER_ATOL = 1e-6, 1e-3  # solve_ivp tolerances: relative, and absolute in molecules


def _constant_drive():
    return lambda t: 50e3


@checked(PARAMETERS, input_signal=Either(MOLECULES, Function(_constant_drive)),
         start_state=Array(MOLECULES, shape=(6,)), t_end=DURATION, n_out=OUTPUT_POINTS,
         params=PARAMETERS)
def integrate(input_signal: float | Callable[[float], float], start_state: np.ndarray,
              t_end: float = 600.0, n_out: int = 200,
              params: Values | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Integrate the circuit (solve_ivp, LSODA) at a constant or time-varying input.

    `input_signal` is a number (molecules) or a callable t -> input (non-negative
    molecules, at most 1e10; not checked at each step). Returns (t (h), states (6, n_out)).
    """
    drive = input_signal if callable(input_signal) else (lambda t: input_signal)
    p = params.as_dict()  # plain dict: faster look-ups in the right-hand side
    times = np.linspace(0.0, t_end, int(n_out))
    solution = solve_ivp(lambda t, x: _rates(x, drive(t), p), (0.0, t_end), start_state, method="LSODA",
                         t_eval=times, rtol=SOLVER_RTOL, atol=SOLVER_ATOL)
    if not solution.success or not np.all(np.isfinite(solution.y)):
        raise RuntimeError(f"integration failed: {solution.message}")
    return solution.t, solution.y


def _rises(low, high) -> bool:
    return high > low


@checked(PARAMETERS, Relation("high", _rises, "must exceed low"), low=MOLECULES,
         high=POSITIVE_MOLECULES, ramp_hours=RAMP_HOURS)
def ramp_input(low: float, high: float, ramp_hours: float) -> Callable[[float], float]:
    """Input that rises linearly from `low` to `high` over `ramp_hours`, then falls back."""

    def drive(t):
        phase = min(t, 2 * ramp_hours)
        rising = phase <= ramp_hours
        fraction = phase / ramp_hours if rising else 2.0 - phase / ramp_hours
        return low + (high - low) * fraction

    return drive


def _e_threshold(params: Values) -> float:
    """The input (molecules) at which the epithelial state ends (the first saddle-node)."""
    return _diagram(params).windows()["E"][1]


def _below_e_threshold_low(low, params) -> bool:
    return low < _e_threshold(params)


def _below_e_threshold(input_signal, params) -> bool:
    return input_signal < _e_threshold(params)


E_THRESHOLD = "must lie below the E -> E/M threshold (the input at the first saddle-node)"


@checked(PARAMETERS, Relation("high", _rises, "must exceed low"),
         Relation("low", _below_e_threshold_low, E_THRESHOLD),
         low=INPUT, high=POSITIVE_MOLECULES, ramp_hours=RAMP_HOURS,
         n_out=OUTPUT_POINTS, params=PARAMETERS)
def hysteresis_loop(low: float = 0.0, high: float = 100e3, ramp_hours: float = 10000.0,
                    n_out: int = 2000, params: Values | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ramp the input up and down slowly from the epithelial state: (t, input, states)."""
    drive = ramp_input.__wrapped__(low, high, ramp_hours)
    start = epithelial_state.__wrapped__(low, params)
    t, states = integrate.__wrapped__(drive, start, 2 * ramp_hours, n_out, params)
    return t, np.array([drive(s) for s in t]), states


def _one_state_per_input(inputs, states) -> bool:
    return states.shape[1] == inputs.size


@checked(PARAMETERS, Relation("states", _one_state_per_input, "must hold one column per input"),
         inputs=Array(MOLECULES, shape=(None,)), states=Array(MOLECULES, shape=(6, None)),
         params=PARAMETERS)
def switching_inputs(inputs: np.ndarray, states: np.ndarray,
                     params: Values | None = None) -> list[tuple]:
    """Where a trajectory changes phenotype: list of (input (molecules), from, to).

    A state is labelled by which side of the unstable branches its ZEB level lies: the
    boundaries are the geometric means of the ZEB levels at the two ends of each unstable
    branch (the saddles between E and E/M and between E/M and M). For a slow ramp these
    are the observed switching thresholds, to compare with the saddle-node inputs.
    """
    diagram = _diagram(params)
    _four_folds(diagram.folds)
    folds = [f[1] for f in diagram.folds]
    boundaries = [math.sqrt(folds[0] * folds[1]), math.sqrt(folds[2] * folds[3])]
    labels = np.searchsorted(boundaries, states[2])
    changes = np.flatnonzero(np.diff(labels)) + 1
    return [(float(inputs[k]), PHENOTYPES[labels[k - 1]], PHENOTYPES[labels[k]]) for k in changes]


@checked(PARAMETERS, Relation("input_signal", _below_e_threshold, E_THRESHOLD),
         input_signal=INPUT, params=PARAMETERS)
def epithelial_state(input_signal: float = 0.0, params: Values | None = None) -> np.ndarray:
    """The E steady state (the one with least ZEB) at an input below the E fold."""
    return steady_states.__wrapped__(input_signal, params)[0]["state"]


# --- readouts and TGF-beta ------------------------------------------------------------------------


@checked(PARAMETERS, zeb=LEVELS)
def ecadherin_like(zeb: Any, ecad_threshold: float | None = None) -> Any:
    """Illustrative E-cadherin level (fraction of maximum) repressed by ZEB: 1/(1 + (Z/Z_E)^2)."""
    level = 1.0 / (1.0 + (zeb / ecad_threshold) ** 2)
    return level if level.ndim else float(level)


@checked(PARAMETERS, tgf=Array(TGF, scalar_ok=True))
def tgf_to_input(tgf: Any, input_basal: float | None = None, input_gain: float | None = None,
                 tgf_half: float | None = None) -> Any:
    """Input I (molecules) from TGF-beta (ng/mL): I_basal + I_gain T/(T + K_T). Illustrative."""
    result = input_basal + input_gain * tgf / (tgf + tgf_half)
    return result if result.ndim else float(result)


def _dose_gives(input_signal, input_basal, input_gain) -> bool:
    return input_basal <= input_signal < input_basal + input_gain


#: An input that a TGF-beta dose gives (molecules); its example is the input at the
#: half-maximal dose of the recorded map, inside [I_basal, I_basal + I_gain).
DOSE_INPUT = Domain(
    MOLECULES.low, MOLECULES.high, why=MOLECULES.why,
    make_example=lambda: PARAMETERS.default("input_basal") + 0.5 * PARAMETERS.default("input_gain"))


@checked(PARAMETERS, Relation("input_signal", _dose_gives,
                              "must lie in [input_basal, input_basal + input_gain), the inputs "
                              "a TGF-beta dose gives"),
         input_signal=DOSE_INPUT)
def input_to_tgf(input_signal: float, input_basal: float | None = None,
                 input_gain: float | None = None, tgf_half: float | None = None) -> float:
    """TGF-beta (ng/mL) giving an input (molecules): the inverse of `tgf_to_input`.

    Found with brentq on the monotone map, so it stays valid if the map changes shape. An
    input outside [I_basal, I_basal + I_gain), which no dose gives, is refused (ValueError
    naming `input_signal`).
    """

    def dose_map(tgf):
        return tgf_to_input.__wrapped__(np.asarray(tgf, dtype=float), input_basal, input_gain, tgf_half)

    upper = 1.0
    while dose_map(upper) < input_signal:
        upper *= 10.0
    return brentq(lambda t: dose_map(t) - input_signal, 0.0, upper, xtol=1e-12, rtol=1e-12)


# --- the widget ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the live panel shows: the route from the starting phenotype and where it ends."""

    input_signal: float          # molecules
    start_phenotype: str
    t: np.ndarray                # h
    states: np.ndarray           # (6, n)
    final_state: np.ndarray      # the stable steady state the route converges to
    phenotype: str
    start_state: np.ndarray      # the starting state, prepared at the reference input

    @property
    def ecadherin(self) -> Any:
        return ecadherin_like(self.states[2])

    @property
    def final_ecadherin(self) -> float:
        """The E-cadherin-like level of the steady state reached."""
        return ecadherin_like(self.final_state[2])


def _tristable(reference_input) -> bool:
    windows = _diagram(PARAMETERS.resolve()).windows()
    low = max(lo for lo, _ in windows.values())
    high = min(hi for _, hi in windows.values())
    return low < 1e3 * reference_input < high


@checked(PARAMETERS, Relation("reference_input", _tristable,
                              "must lie in the tristable window, where E, E/M and M all exist"))
def starting_states(reference_input: float | None = None) -> dict:
    """The E, E/M and M stable states at the reference input (10³ molecules), as a dict of
    read-only arrays (they are cached and handed out again)."""
    return dict(_starting_states(1e3 * reference_input))


@lru_cache(maxsize=4)
def _starting_states(reference):
    stable = [s for s in steady_states.__wrapped__(reference, PARAMETERS.resolve()) if s["stable"]]
    labels = [s["phenotype"] for s in stable]
    if labels != list(PHENOTYPES):  # a model statement: the windows promised all three
        raise RuntimeError(f"stable states {labels} at {reference:g} molecules, not E, E/M and M")
    return tuple((s["phenotype"], _frozen(s["state"])) for s in stable)


#: A phenotype by its index in PHENOTYPES (0 = E, 1 = E/M, 2 = M), the code that
#: `integrated.follow_branches` returns.
PHENOTYPE_CODE = one_of(*range(len(PHENOTYPES)))


@checked(PARAMETERS, t_end=DURATION,
         start_phenotype=Either(PARAMETERS["start_phenotype"], PHENOTYPE_CODE),
         max_extensions=count(0, 20, why="each extension integrates t_end hours more"))
def reach_steady_state(input_signal: float | None = None, start_phenotype: str | int | None = None,
                       t_end: float = 1000.0, max_extensions: int = 4) -> Outcome:
    """The widget's model: from a starting phenotype (E, E/M or M, or its index in
    PHENOTYPES), integrate at the chosen input (10^3 molecules) and report the stable state
    the route converges to.

    The integration (solve_ivp) runs for `t_end` hours (50 microRNA lifetimes), and for
    further `t_end` stretches (at most `max_extensions`) while its end point is not yet
    within 1 % of a stable steady state (slow passages near a saddle-node). The stable
    states at that input come from the precomputed diagram (a lookup, polished by root
    finding); the nearest one names the phenotype.
    """
    start_label = start_phenotype if isinstance(start_phenotype, str) else PHENOTYPES[int(start_phenotype)]
    start = starting_states()[start_label]
    candidates = [s for s in steady_states(1e3 * input_signal) if s["stable"]]
    t, states = integrate(1e3 * input_signal, start, t_end, n_out=150)
    for _ in range(max_extensions + 1):
        distances = [np.max(np.abs(_to_log(s["state"]) - _to_log(states[:, -1]))) for s in candidates]
        if min(distances) < 0.01:
            break
        more_t, more = integrate(1e3 * input_signal, states[:, -1], t_end, n_out=150)
        t = np.concatenate([t, t[-1] + more_t[1:]])
        states = np.concatenate([states, more[:, 1:]], axis=1)
    nearest = candidates[int(np.argmin(distances))]
    return Outcome(1e3 * input_signal, start_label, t, states, nearest["state"], nearest["phenotype"],
                   start)


#: The chapter's live panel: the model it reruns and the parameters on its sliders.
WIDGET_MODEL = reach_steady_state
WIDGET_CONTROLS = ("input_signal", "start_phenotype")


# --- what this chapter reproduces (collected by chapter 11's table) ----------------------

CHAPTER = 6
MODEL_NAME = "miR-34/SNAIL/miR-200/ZEB circuit"

REPRODUCTIONS = (
    Reproduction(
        "stable states coexisting (ternary switch)", 3.0,
        lambda: len([s for s in steady_states(1e3 * PARAMETERS.default("reference_input"))
                     if s["stable"]]),
        "lu2013", "abstract: the miR-200/ZEB module is a ternary switch", 0.5,
        "a count: must be exact", "abstract"),
)
