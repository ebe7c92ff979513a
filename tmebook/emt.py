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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq, root

from .parameters import Parameter, check_array, check_finite, check_nonnegative, check_positive

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

SPECIES = ("mir200", "zeb_mrna", "zeb", "mir34", "snail_mrna", "snail")


def _record(name, symbol, value, units, description, low=None, high=None):
    return Parameter(name, symbol, value, units, description, SOURCE, TABLE, low=low, high=high)


_PUBLISHED = [
    # production rates
    _record("g_mu200", r"g_{\mu_{200}}", 2100.0, "molecules/h", "miR-200 transcription rate"),
    _record("g_mZ", r"g_{m_Z}", 11.0, "molecules/h", "ZEB mRNA transcription rate"),
    _record("g_Z", r"g_Z", 100.0, "1/h", "ZEB translation rate per mRNA"),
    _record("g_mu34", r"g_{\mu_{34}}", 1350.0, "molecules/h", "miR-34 transcription rate"),
    _record("g_mS", r"g_{m_S}", 90.0, "molecules/h", "SNAIL mRNA transcription rate"),
    _record("g_S", r"g_S", 100.0, "1/h", "SNAIL translation rate per mRNA"),
    # degradation rates
    _record("k_mu200", r"k_{\mu_{200}}", 0.05, "1/h", "miR-200 degradation rate"),
    _record("k_mZ", r"k_{m_Z}", 0.5, "1/h", "ZEB mRNA degradation rate"),
    _record("k_Z", r"k_Z", 0.1, "1/h", "ZEB protein degradation rate"),
    _record("k_mu34", r"k_{\mu_{34}}", 0.05, "1/h", "miR-34 degradation rate"),
    _record("k_mS", r"k_{m_S}", 0.5, "1/h", "SNAIL mRNA degradation rate"),
    _record("k_S", r"k_S", 0.125, "1/h", "SNAIL protein degradation rate"),
    # microRNA binding scales
    _record("mu0_200", r"\mu^0_{200}", 10e3, "molecules", "miR-200 level for half-occupied sites"),
    _record("mu0_34", r"\mu^0_{34}", 10e3, "molecules", "miR-34 level for half-occupied sites"),
    # thresholds of the shifted Hill functions
    _record("Z0_mu200", r"Z^0_{\mu_{200}}", 220e3, "molecules", "ZEB threshold on miR-200 transcription"),
    _record("S0_mu200", r"S^0_{\mu_{200}}", 180e3, "molecules", "SNAIL threshold on miR-200 transcription"),
    _record("Z0_mZ", r"Z^0_{m_Z}", 25e3, "molecules", "ZEB threshold on its own transcription"),
    _record("S0_mZ", r"S^0_{m_Z}", 180e3, "molecules", "SNAIL threshold on ZEB transcription"),
    _record("S0_mu34", r"S^0_{\mu_{34}}", 300e3, "molecules", "SNAIL threshold on miR-34 transcription"),
    _record("Z0_mu34", r"Z^0_{\mu_{34}}", 600e3, "molecules", "ZEB threshold on miR-34 transcription"),
    _record("S0_mS", r"S^0_{m_S}", 200e3, "molecules", "SNAIL threshold on its own transcription"),
    _record("I0_mS", r"I^0_{m_S}", 50e3, "molecules", "input threshold on SNAIL transcription"),
    # Hill coefficients
    _record("n_Z_mu200", r"n_{Z\mu_{200}}", 3.0, "1", "Hill coefficient, ZEB on miR-200"),
    _record("n_S_mu200", r"n_{S\mu_{200}}", 2.0, "1", "Hill coefficient, SNAIL on miR-200"),
    _record("n_Z_mZ", r"n_{Zm_Z}", 2.0, "1", "Hill coefficient, ZEB on ZEB"),
    _record("n_S_mZ", r"n_{Sm_Z}", 2.0, "1", "Hill coefficient, SNAIL on ZEB"),
    _record("n_S_mu34", r"n_{S\mu_{34}}", 1.0, "1", "Hill coefficient, SNAIL on miR-34"),
    _record("n_Z_mu34", r"n_{Z\mu_{34}}", 1.0, "1", "Hill coefficient, ZEB on miR-34"),
    _record("n_S_mS", r"n_{Sm_S}", 1.0, "1", "Hill coefficient, SNAIL on SNAIL"),
    _record("n_I_mS", r"n_{Im_S}", 1.0, "1", "Hill coefficient, input on SNAIL"),
    # fold changes (lambda < 1 represses, > 1 activates)
    _record("l_Z_mu200", r"\lambda_{Z\mu_{200}}", 0.1, "1", "fold change, ZEB on miR-200 (repression)"),
    _record("l_S_mu200", r"\lambda_{S\mu_{200}}", 0.1, "1", "fold change, SNAIL on miR-200 (repression)"),
    _record("l_Z_mZ", r"\lambda_{Zm_Z}", 7.5, "1", "fold change, ZEB on ZEB (self-activation)"),
    _record("l_S_mZ", r"\lambda_{Sm_Z}", 10.0, "1", "fold change, SNAIL on ZEB (activation)"),
    _record("l_S_mu34", r"\lambda_{S\mu_{34}}", 0.1, "1", "fold change, SNAIL on miR-34 (repression)"),
    _record("l_Z_mu34", r"\lambda_{Z\mu_{34}}", 0.2, "1", "fold change, ZEB on miR-34 (repression)"),
    _record("l_S_mS", r"\lambda_{Sm_S}", 0.1, "1", "fold change, SNAIL on SNAIL (self-repression)"),
    _record("l_I_mS", r"\lambda_{Im_S}", 10.0, "1", "fold change, input on SNAIL (activation)"),
]

_ASSUMED = [
    Parameter(
        "input_signal", r"I", 62.0, "10³ molecules",
        "external signal driving SNAIL transcription (the widget's input level)", None,
        "our choice of range, covering every threshold of the model; the default lies "
        "where the epithelial state no longer exists",
        low=0.0, high=120.0,
    ),
    Parameter(
        "start_phenotype", r"\phi_0", 0.0, "1",
        "starting phenotype: 0 = E, 1 = E/M, 2 = M (rounded); the stable state of that "
        "phenotype at the reference input", None,
        "a choice of initial condition, not a model parameter",
        low=0.0, high=2.0,
    ),
    Parameter(
        "reference_input", r"I_\mathrm{ref}", 53.0, "10³ molecules",
        "input at which the starting phenotypes are prepared (inside the tristable window)", None,
        "any input where E, E/M and M all exist would do",
    ),
    Parameter(
        "ecad_threshold", r"Z_E", 50e3, "molecules",
        "ZEB level halving the E-cadherin-like readout", None,
        "illustrative: ZEB represses E-cadherin (CDH1); Lu et al. model no E-cadherin. "
        "Placed inside the hybrid state's ZEB range so the hybrid keeps part of it",
    ),
    Parameter(
        "tgf_half", r"K_T", 2.0, "ng/mL",
        "TGF-β concentration giving half the maximal input gain", None,
        "illustrative: in-vitro EMT protocols use TGF-β1 at a few ng/mL",
    ),
    Parameter(
        "input_basal", r"I_\mathrm{basal}", 20e3, "molecules",
        "input without TGF-β", None,
        "illustrative: below every threshold, so untreated cells have one (epithelial) state",
    ),
    Parameter(
        "input_gain", r"I_\mathrm{gain}", 80e3, "molecules",
        "maximal extra input from saturating TGF-β", None,
        "illustrative: large enough that saturating TGF-β leaves only the M state",
    ),
]

PARAMETERS = {p.name: p for p in _PUBLISHED + _ASSUMED}

#: Model parameter values (molecules, hours) used by default.
DEFAULTS = {p.name: p.value for p in _PUBLISHED}

PHENOTYPES = ("E", "E/M", "M")


def default(name: str) -> float:
    return PARAMETERS[name].value


def _params(overrides=None) -> dict:
    if not overrides:
        return DEFAULTS
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown model parameter(s): {sorted(unknown)}")
    merged = dict(DEFAULTS)
    for name, value in overrides.items():
        merged[name] = check_positive(name, value)
    return merged


# --- the model --------------------------------------------------------------------------------


def shifted_hill(x, threshold, n, fold):
    """H(x) = H-(x) + fold (1 - H-(x)), H- = 1/(1 + (x/threshold)^n). 1 at x = 0, `fold` at x -> inf.

    Plain arithmetic, so it works on floats (fast, for the integrator) and arrays alike.
    """
    repression = 1.0 / (1.0 + (x / threshold) ** n)
    return repression + fold * (1.0 - repression)


def microrna_terms(mirna, mu0, sites):
    """L, Y_m and Y_mu of Lu et al. 2013 for an mRNA with `sites` binding sites.

    Returns the translation factor L (1), the microRNA-induced mRNA decay rate Y_m (1/h)
    and the microRNA decay rate per mRNA Y_mu (1/h), from the binomial occupancy
    C(n,i) M^i / (1+M)^n of the sites at M = mirna / mu0. Floats or arrays.
    """
    ratio = mirna / mu0
    free = 1.0 / (1.0 + ratio)
    translation = mrna_decay = mirna_decay = 0.0
    for i in range(sites + 1):
        occupancy = math.comb(sites, i) * ratio**i * free**sites
        translation = translation + TRANSLATION_FACTORS[i] * occupancy
        mrna_decay = mrna_decay + MRNA_DECAY_FACTORS[i] * occupancy
        mirna_decay = mirna_decay + i * MIRNA_DECAY_FACTORS[i] * occupancy
    return translation, mrna_decay, mirna_decay


def rates(state, input_signal, params=None):
    """dx/dt (molecules/h) for states of shape (6, ...) at input I (molecules)."""
    return _rates(state, input_signal, _params(params))


def _rates(state, input_signal, p):
    """`rates` with an already validated parameter dict (the integrator calls this)."""
    if isinstance(state, np.ndarray) and state.ndim == 1:
        state = state.tolist()  # Python floats: several times faster than 0-d arrays
    mu200, mzeb, zeb, mu34, msnail, snail = state
    l200, ym200, ymu200 = microrna_terms(mu200, p["mu0_200"], BINDING_SITES_ZEB)
    l34, ym34, ymu34 = microrna_terms(mu34, p["mu0_34"], BINDING_SITES_SNAIL)
    return np.array([
        p["g_mu200"] * shifted_hill(zeb, p["Z0_mu200"], p["n_Z_mu200"], p["l_Z_mu200"])
        * shifted_hill(snail, p["S0_mu200"], p["n_S_mu200"], p["l_S_mu200"])
        - mzeb * ymu200 - p["k_mu200"] * mu200,
        p["g_mZ"] * shifted_hill(zeb, p["Z0_mZ"], p["n_Z_mZ"], p["l_Z_mZ"])
        * shifted_hill(snail, p["S0_mZ"], p["n_S_mZ"], p["l_S_mZ"])
        - mzeb * ym200 - p["k_mZ"] * mzeb,
        p["g_Z"] * mzeb * l200 - p["k_Z"] * zeb,
        p["g_mu34"] * shifted_hill(snail, p["S0_mu34"], p["n_S_mu34"], p["l_S_mu34"])
        * shifted_hill(zeb, p["Z0_mu34"], p["n_Z_mu34"], p["l_Z_mu34"])
        - msnail * ymu34 - p["k_mu34"] * mu34,
        p["g_mS"] * shifted_hill(input_signal, p["I0_mS"], p["n_I_mS"], p["l_I_mS"])
        * shifted_hill(snail, p["S0_mS"], p["n_S_mS"], p["l_S_mS"])
        - msnail * ym34 - p["k_mS"] * msnail,
        p["g_S"] * msnail * l34 - p["k_S"] * snail,
    ])


def jacobian(state, input_signal, params=None, relative_step=1e-6):
    """6 x 6 Jacobian d(rates)/d(state) (1/h) by central differences; state shape (6,) or (6, N).

    Returns shape (6, 6) or (N, 6, 6). Each column uses a step relative to its species'
    level (molecule numbers span 1 to 10^6).
    """
    state = np.asarray(state, dtype=float)
    single = state.ndim == 1
    x = state[:, None] if single else state
    columns = []
    for j in range(6):
        step = relative_step * np.maximum(np.abs(x[j]), 1.0)
        up, down = x.copy(), x.copy()
        up[j] += step
        down[j] -= step
        columns.append((rates(up, input_signal, params) - rates(down, input_signal, params)) / (2 * step))
    jac = np.moveaxis(np.array(columns), [0, 1, 2], [2, 1, 0])  # (N, row, column)
    return jac[0] if single else jac


def max_growth_rate(state, input_signal, params=None):
    """Largest real part of the Jacobian eigenvalues (1/h): negative means stable."""
    return np.max(np.linalg.eigvals(jacobian(state, input_signal, params)).real, axis=-1)


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
        l200, ym200, ymu200 = microrna_terms(mu200, p["mu0_200"], BINDING_SITES_ZEB)
        mzeb = p["k_Z"] * zeb / (p["g_Z"] * l200)
        zeb_term = shifted_hill(zeb, p["Z0_mu200"], p["n_Z_mu200"], p["l_Z_mu200"])
        snail_term = (mzeb * ymu200 + p["k_mu200"] * mu200) / (p["g_mu200"] * zeb_term)
        return mu200, mzeb, ym200, snail_term

    def zeb_mrna_balance(log_mu200):
        mu200, mzeb, ym200, snail_term = snail_and_mrna(log_mu200)
        # snail_term <= fold means SNAIL -> infinity, >= 1 means SNAIL = 0 (edges of range)
        snail = _inverse_shifted_hill(np.clip(snail_term, p["l_S_mu200"] + 1e-15, 1 - 1e-15),
                                      p["S0_mu200"], p["n_S_mu200"], p["l_S_mu200"])
        snail = np.where(snail_term <= p["l_S_mu200"], np.inf, np.where(snail_term >= 1, 0.0, snail))
        activation = shifted_hill(snail, p["S0_mZ"], p["n_S_mZ"], p["l_S_mZ"])
        activation = np.where(np.isinf(snail), p["l_S_mZ"], activation)
        return (p["g_mZ"] * shifted_hill(zeb, p["Z0_mZ"], p["n_Z_mZ"], p["l_Z_mZ"]) * activation
                - mzeb * (ym200 + p["k_mZ"]))

    ones = np.ones_like(zeb)
    log_mu200 = _bisect(zeb_mrna_balance, math.log(1e-2) * ones, math.log(1e8) * ones)
    mu200, mzeb, _, snail_term = snail_and_mrna(log_mu200)
    snail = _inverse_shifted_hill(snail_term, p["S0_mu200"], p["n_S_mu200"], p["l_S_mu200"])
    scale = p["g_mZ"] * p["l_Z_mZ"] * p["l_S_mZ"]
    solved = np.abs(zeb_mrna_balance(log_mu200)) < 1e-6 * scale
    return mu200, mzeb, np.where(solved, snail, np.nan)


def states_on_branch(zeb, params=None):
    """Steady states parametrised by the ZEB protein level: (states (6, N), input I (N)).

    At steady state, for a given ZEB level Z:
      1. ZEB mRNA is k_Z Z / (g_Z L(mu200)), and the miR-200 balance then fixes the SNAIL
         level S(Z, mu200) by inverting the SNAIL Hill function on miR-200;
      2. the ZEB-mRNA balance R(mu200) = 0 picks mu200 (bisection in log mu200; R changes
         sign once over the whole range for these parameters, and a ZEB level where it
         does not change sign gets NaN);
      3. with S and Z known, the miR-34 balance is increasing in mu34 (one root);
      4. the SNAIL-mRNA balance then gives the input I explicitly (inverting the input's
         shifted Hill function).
    Points where no finite I exists are NaN; negative I marks states that no
    (non-negative) input can hold. The curve I(Z) is the whole bifurcation diagram; its
    local extrema are the saddle-node points.
    """
    p = _params(params)
    zeb = check_array("zeb", zeb)
    if np.any(zeb <= 0):
        raise ValueError("zeb must be positive")
    mu200, mzeb, snail = _zeb_module(zeb, p)
    ones = np.ones_like(zeb)

    miR34_production = (p["g_mu34"] * shifted_hill(snail, p["S0_mu34"], p["n_S_mu34"], p["l_S_mu34"])
                        * shifted_hill(zeb, p["Z0_mu34"], p["n_Z_mu34"], p["l_Z_mu34"]))

    def snail_mrna_and_terms(log_mu34):
        mu34 = np.exp(log_mu34)
        l34, ym34, ymu34 = microrna_terms(mu34, p["mu0_34"], BINDING_SITES_SNAIL)
        return mu34, p["k_S"] * snail / (p["g_S"] * l34), ym34, ymu34

    def mir34_balance(log_mu34):
        mu34, msnail, _, ymu34 = snail_mrna_and_terms(log_mu34)
        return msnail * ymu34 + p["k_mu34"] * mu34 - miR34_production  # increasing in mu34

    log_mu34 = _bisect(mir34_balance, math.log(1e-3) * ones, math.log(1e9) * ones)
    mu34, msnail, ym34, _ = snail_mrna_and_terms(log_mu34)
    input_term = (msnail * (ym34 + p["k_mS"])
                  / (p["g_mS"] * shifted_hill(snail, p["S0_mS"], p["n_S_mS"], p["l_S_mS"])))
    # shifted_hill(I) = (1 + lam r)/(1 + r) with r = (I/I0)^n, increasing from 1 to lam.
    # Below 1 the state would need a negative input: we continue r below zero (an odd
    # extension) so that crossings of I = 0 are found too; such points are unreachable.
    fold = p["l_I_mS"]
    finite = (input_term > 0.0) & (input_term < fold)
    ratio = np.where(finite, (input_term - 1.0) / (fold - np.where(finite, input_term, 0.0)), np.nan)
    input_signal = p["I0_mS"] * np.sign(ratio) * np.abs(ratio) ** (1.0 / p["n_I_mS"])
    states = np.array([mu200, mzeb, zeb, mu34, msnail, snail])
    bad = ~np.isfinite(input_signal) | ~np.all(np.isfinite(states), axis=0)
    states[:, bad] = np.nan
    input_signal = np.where(bad, np.nan, input_signal)
    return states, input_signal


def zeb_module_curve(zeb, params=None):
    """The miR-200/ZEB module alone, driven by SNAIL as its input: SNAIL level (molecules)
    at which each ZEB level is stationary (step 1-2 of `states_on_branch`). Its local
    extrema are the module's saddle-node points (its tristability)."""
    zeb = check_array("zeb", zeb)
    if np.any(zeb <= 0):
        raise ValueError("zeb must be positive")
    return _zeb_module(zeb, _params(params))[2]


@dataclass(frozen=True)
class BifurcationDiagram:
    """The steady-state curve of the full circuit against the input I.

    `states` (6, N) along the curve ordered by ZEB, `input_signal` (N, molecules),
    `stable` (N) and `growth_rate` (N, 1/h: largest real part of the Jacobian's
    eigenvalues), and `folds`, the saddle-node points (input, ZEB) ordered by ZEB.
    """

    states: np.ndarray
    input_signal: np.ndarray
    stable: np.ndarray
    growth_rate: np.ndarray
    folds: tuple

    @property
    def zeb(self):
        return self.states[2]

    def fold_inputs(self):
        """Input (molecules) at the saddle-nodes, ordered by ZEB: E ends, E/M begins,
        E/M ends, M begins. For this parameter set: 4 folds."""
        return tuple(f[0] for f in self.folds)

    def windows(self):
        """Input intervals (molecules) in which each phenotype exists as a stable state."""
        f = self.fold_inputs()
        return {"E": (0.0, f[0]), "E/M": (f[1], f[2]), "M": (f[3], math.inf)}

    def phenotype_of_zeb(self, zeb):
        """Label a ZEB level by the stable branch it lies on (or between)."""
        zeb = check_positive("zeb", zeb)
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


@lru_cache(maxsize=4)
def _diagram_cached(items):
    params = dict(items) if items else None
    zeb = np.geomspace(*BRANCH_ZEB_RANGE, BRANCH_POINTS)
    states, inputs = states_on_branch(zeb, params)
    keep = np.isfinite(inputs)
    states, inputs = states[:, keep], inputs[keep]
    growth = max_growth_rate(states, inputs, params)
    folds = _extrema(np.log(states[2]), inputs, lambda z: states_on_branch(z, params)[1])
    return BifurcationDiagram(states, inputs, growth < 0, growth, folds)


def zeb_module_folds(params=None):
    """Saddle-node points of the miR-200/ZEB module driven by SNAIL: ((SNAIL, ZEB), ...)
    in molecules, ordered by ZEB. Four folds: E ends, E/M begins, E/M ends, M begins."""
    return _module_folds_cached(tuple(sorted(_params(params).items())) if params else None)


@lru_cache(maxsize=4)
def _module_folds_cached(items):
    params = dict(items) if items else None
    zeb = np.geomspace(*BRANCH_ZEB_RANGE, BRANCH_POINTS)
    snail = zeb_module_curve(zeb, params)
    keep = np.isfinite(snail)
    return _extrema(np.log(zeb[keep]), snail[keep], lambda z: zeb_module_curve(z, params))


def bifurcation_diagram(params=None) -> BifurcationDiagram:
    """The steady states against the input (cached: computed once per parameter set)."""
    items = tuple(sorted(_params(params).items())) if params else None
    return _diagram_cached(items)


def _to_log(state):
    return np.log(np.maximum(np.asarray(state, dtype=float), 1e-300))


def polish(state, input_signal, params=None):
    """Newton-type polish (scipy.optimize.root) of a steady state, in log variables with
    the relative rates dx/dt / x as residuals (the species span six decades)."""
    def residual(log_state):
        x = np.exp(np.clip(log_state, -30.0, 30.0))  # keeps wild trial steps finite
        return rates(x, input_signal, params) / x

    solution = root(residual, _to_log(state), method="hybr", options={"xtol": 1e-12})
    converged = bool(solution.success) and np.max(np.abs(solution.fun)) < 1e-8
    return np.exp(np.clip(solution.x, -30.0, 30.0)), converged and np.all(np.abs(solution.x) < 30.0)


def steady_states(input_signal, params=None):
    """All steady states at an input (molecules), ordered by ZEB.

    Crossings of the precomputed curve I(Z) with the requested input, each polished with
    scipy.optimize.root on the full six equations and classified by the Jacobian
    eigenvalues. Returns a list of dicts: state, stable, growth_rate, phenotype.
    """
    input_signal = check_nonnegative("input_signal", input_signal)
    diagram = bifurcation_diagram(params)
    difference = diagram.input_signal - input_signal
    crossings = np.flatnonzero(np.sign(difference[:-1]) != np.sign(difference[1:]))
    found = []
    for k in crossings:
        weight = difference[k] / (difference[k] - difference[k + 1])
        guess = np.exp((1 - weight) * _to_log(diagram.states[:, k]) + weight * _to_log(diagram.states[:, k + 1]))
        state, ok = polish(guess, input_signal, params)
        if not ok:
            raise RuntimeError(f"steady state near ZEB = {guess[2]:.4g} did not converge")
        growth = float(max_growth_rate(state, input_signal, params))
        found.append({"state": state, "stable": growth < 0, "growth_rate": growth,
                      "phenotype": diagram.phenotype_of_zeb(state[2])})
    return found


def steady_states_from_guesses(input_signal, n_per_axis=6, params=None):
    """Independent check: scipy.optimize.root from a grid of initial guesses.

    Guesses span miR-200, ZEB, miR-34 and SNAIL over their physiological decades (the two
    mRNAs start at their quasi-steady values for a mid-range microRNA level); converged
    roots are de-duplicated. Slow (hundreds of solves): for tests and checks only.
    """
    input_signal = check_nonnegative("input_signal", input_signal)
    if int(n_per_axis) != n_per_axis or n_per_axis < 2:
        raise ValueError("n_per_axis must be an integer >= 2")
    roots = []
    axes = [np.geomspace(5e2, 5e4, n_per_axis), np.geomspace(3e2, 2e6, n_per_axis),
            np.geomspace(1e3, 3e4, 3), np.geomspace(2e4, 6e5, 3)]
    for mu200 in axes[0]:
        for zeb in axes[1]:
            for mu34 in axes[2]:
                for snail in axes[3]:
                    guess = np.array([mu200, zeb / 800, zeb, mu34, snail / 600, snail])
                    state, ok = polish(guess, input_signal, params)
                    if ok and np.all(state > 0) and not any(
                            np.allclose(_to_log(state), _to_log(r), atol=1e-6) for r in roots):
                        roots.append(state)
    return sorted(roots, key=lambda s: s[2])


def continue_branch(inputs, start_state, params=None, max_log_jump=0.5):
    """Natural-parameter continuation: follow a steady state as the input steps through
    `inputs` (molecules), each solve (scipy.optimize.root) starting from the last.

    Stops at the first input where the solver fails or the state jumps by more than
    `max_log_jump` in log ZEB (the branch has ended at a saddle-node): returns the states
    reached, shape (6, k) for the first k inputs.
    """
    inputs = check_array("inputs", inputs, ndim=1)
    state = np.asarray(start_state, dtype=float)
    path = []
    for value in inputs:
        new, ok = polish(state, value, params)
        if not ok or abs(math.log(new[2] / state[2])) > max_log_jump:
            break
        path.append(new)
        state = new
    return np.array(path).T.reshape(6, -1)


# --- time integration -----------------------------------------------------------------------------

RTOL, ATOL = 1e-6, 1e-3  # solve_ivp tolerances: relative, and absolute in molecules


def integrate(input_signal, start_state, t_end=600.0, n_out=200, params=None):
    """Integrate the circuit (solve_ivp, LSODA) at a constant or time-varying input.

    `input_signal` is a number (molecules) or a callable t -> input. Returns (t (h),
    states (6, n_out)).
    """
    start = check_array("start_state", start_state, ndim=1)
    if start.shape != (6,) or np.any(start < 0):
        raise ValueError("start_state must hold six non-negative molecule numbers")
    t_end = check_positive("t_end", t_end)
    if callable(input_signal):
        drive = input_signal
    else:
        constant = check_nonnegative("input_signal", input_signal)
        drive = lambda t: constant  # noqa: E731
    p = _params(params)
    times = np.linspace(0.0, t_end, int(n_out))
    solution = solve_ivp(lambda t, x: _rates(x, drive(t), p), (0.0, t_end), start, method="LSODA",
                         t_eval=times, rtol=RTOL, atol=ATOL)
    if not solution.success:
        raise RuntimeError(f"integration failed: {solution.message}")
    return solution.t, solution.y


def ramp_input(low, high, ramp_hours):
    """Input that rises linearly from `low` to `high` over `ramp_hours`, then falls back."""
    low = check_nonnegative("low", low)
    high = check_positive("high", high)
    if high <= low:
        raise ValueError("high must exceed low")
    ramp_hours = check_positive("ramp_hours", ramp_hours)

    def drive(t):
        phase = min(t, 2 * ramp_hours)
        rising = phase <= ramp_hours
        fraction = phase / ramp_hours if rising else 2.0 - phase / ramp_hours
        return low + (high - low) * fraction

    return drive


def hysteresis_loop(low=0.0, high=100e3, ramp_hours=10000.0, n_out=2000, params=None):
    """Ramp the input up and down slowly from the epithelial state: (t, input, states)."""
    drive = ramp_input(low, high, ramp_hours)
    start = epithelial_state(low, params)
    t, states = integrate(drive, start, 2 * ramp_hours, n_out, params)
    return t, np.array([drive(s) for s in t]), states


def switching_inputs(inputs, states, params=None):
    """Where a trajectory changes phenotype: list of (input (molecules), from, to).

    A state is labelled by which side of the unstable branches its ZEB level lies: the
    boundaries are the geometric means of the ZEB levels at the two ends of each unstable
    branch (the saddles between E and E/M and between E/M and M). For a slow ramp these
    are the observed switching thresholds, to compare with the saddle-node inputs.
    """
    inputs = check_array("inputs", inputs, ndim=1)
    states = check_array("states", states, ndim=2)
    folds = [f[1] for f in bifurcation_diagram(params).folds]
    boundaries = [math.sqrt(folds[0] * folds[1]), math.sqrt(folds[2] * folds[3])]
    labels = np.searchsorted(boundaries, states[2])
    changes = np.flatnonzero(np.diff(labels)) + 1
    return [(float(inputs[k]), PHENOTYPES[labels[k - 1]], PHENOTYPES[labels[k]]) for k in changes]


def epithelial_state(input_signal=0.0, params=None):
    """The E steady state (the one with least ZEB) at an input below the E fold."""
    states = steady_states(input_signal, params)
    if not states or states[0]["phenotype"] != "E":
        raise ValueError("input_signal must lie below the E -> E/M threshold")
    return states[0]["state"]


# --- readouts and TGF-beta ------------------------------------------------------------------------


def ecadherin_like(zeb):
    """Illustrative E-cadherin level (fraction of maximum) repressed by ZEB: 1/(1 + (Z/Z_E)^2)."""
    zeb = check_array("zeb", zeb)
    if np.any(zeb < 0):
        raise ValueError("zeb must be non-negative")
    level = 1.0 / (1.0 + (zeb / default("ecad_threshold")) ** 2)
    return level if level.ndim else float(level)


def tgf_to_input(tgf, input_basal=None, input_gain=None, tgf_half=None):
    """Input I (molecules) from TGF-beta (ng/mL): I_basal + I_gain T/(T + K_T). Illustrative."""
    tgf = check_array("tgf", tgf)
    if np.any(tgf < 0):
        raise ValueError("tgf must be non-negative")
    basal = check_nonnegative("input_basal", default("input_basal") if input_basal is None else input_basal)
    gain = check_positive("input_gain", default("input_gain") if input_gain is None else input_gain)
    half = check_positive("tgf_half", default("tgf_half") if tgf_half is None else tgf_half)
    result = basal + gain * tgf / (tgf + half)
    return result if result.ndim else float(result)


def input_to_tgf(input_signal, input_basal=None, input_gain=None, tgf_half=None):
    """TGF-beta (ng/mL) giving an input (molecules): the inverse of `tgf_to_input`.

    Found with brentq on the monotone map, so it stays valid if the map changes shape;
    NaN when the input lies outside [I_basal, I_basal + I_gain).
    """
    target = check_nonnegative("input_signal", input_signal)
    basal = default("input_basal") if input_basal is None else input_basal
    gain = default("input_gain") if input_gain is None else input_gain
    if not basal <= target < basal + gain:
        return math.nan
    upper = 1.0
    while tgf_to_input(upper, input_basal, input_gain, tgf_half) < target:
        upper *= 10.0
    return brentq(lambda t: tgf_to_input(t, input_basal, input_gain, tgf_half) - target, 0.0, upper,
                  xtol=1e-12, rtol=1e-12)


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

    @property
    def ecadherin(self):
        return ecadherin_like(self.states[2])


@lru_cache(maxsize=4)
def starting_states(reference_input=None):
    """The E, E/M and M stable states at the reference input (molecules), as a dict."""
    reference = 1e3 * default("reference_input") if reference_input is None else reference_input
    stable = [s for s in steady_states(reference) if s["stable"]]
    labels = [s["phenotype"] for s in stable]
    if labels != list(PHENOTYPES):
        raise ValueError(f"reference_input {reference:g} is not in the tristable window ({labels})")
    return {s["phenotype"]: s["state"] for s in stable}


def reach_steady_state(input_signal=None, start_phenotype=None, t_end=1000.0, max_extensions=4):
    """The widget's model: from a starting phenotype, integrate at the chosen input
    (10^3 molecules) and report the stable state the route converges to.

    The integration (solve_ivp) runs for `t_end` hours (50 microRNA lifetimes), and for
    further `t_end` stretches (at most `max_extensions`) while its end point is not yet
    within 1 % of a stable steady state (slow passages near a saddle-node). The stable
    states at that input come from the precomputed diagram (a lookup, polished by root
    finding); the nearest one names the phenotype.
    """
    input_k = check_nonnegative("input_signal", default("input_signal") if input_signal is None else input_signal)
    index = check_finite("start_phenotype", default("start_phenotype") if start_phenotype is None else start_phenotype)
    if not 0 <= index <= 2:
        raise ValueError("start_phenotype must lie between 0 (E) and 2 (M)")
    t_end = check_positive("t_end", t_end)
    start_label = PHENOTYPES[int(round(index))]
    candidates = [s for s in steady_states(1e3 * input_k) if s["stable"]]
    t, states = integrate(1e3 * input_k, starting_states()[start_label], t_end, n_out=150)
    for _ in range(max_extensions + 1):
        distances = [np.max(np.abs(_to_log(s["state"]) - _to_log(states[:, -1]))) for s in candidates]
        if min(distances) < 0.01:
            break
        more_t, more = integrate(1e3 * input_k, states[:, -1], t_end, n_out=150)
        t = np.concatenate([t, t[-1] + more_t[1:]])
        states = np.concatenate([states, more[:, 1:]], axis=1)
    nearest = candidates[int(np.argmin(distances))]
    return Outcome(1e3 * input_k, start_label, t, states, nearest["state"], nearest["phenotype"])


#: The chapter's live panel: the model it reruns and the parameters on its sliders.
WIDGET_MODEL = reach_steady_state
WIDGET_CONTROLS = ("input_signal", "start_phenotype")
