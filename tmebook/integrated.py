"""Chapter 11: putting the TME together. The chapters' models coupled into one loop.

This module holds no model of its own. It couples the models of chapters 5-8, imported
from their modules, through four labelled assumptions (C1-C4), each with a strength
s in [0, 1]: s = 0 switches the coupling off and leaves the chapter's model exactly as the
chapter runs it; s = 1 is the full coupling.

Dynamic state: tumour volume V and vascular carrying capacity K (mm^3, days), the model
of Hahnfeldt et al. (1999) from `tmebook.growth`,

    dV/dt = -lambda1 V ln(V / K),      dK/dt = -lambda2 K + b_eff V - d K V^(2/3).

Everything else is quasi-steady (oxygen settles in seconds, the EMT circuit in hours,
both far faster than days of growth) and is read from the chapters' models at each time:

C1  vessels -> oxygen. The vessel density of a section scales with the vascular support
    per unit tumour volume, K / V, so the mean vessel spacing (um) is
        d = d_ref (V / K)^(s1 / 2),   clipped to the 50-300 um range of the table below,
    d_ref the spacing of chapter 5's default section. The hypoxic fraction and the mean
    HIF-1 activity H (0-1) of chapter 5's tissue section (`hypoxia.tissue_section`) at
    spacing d are read from a table precomputed at 15 spacings (linear interpolation).
C2  hypoxia -> VEGF -> vessels. A share s2 of the vascular stimulation b is VEGF driven
    by HIF-1, in proportion to H:
        b_eff = b (1 - s2 + s2 H / H_ref),   H_ref = H(d_ref).
    At V = K the spacing is d_ref and b_eff = b, so the steady state V* = K* of chapter 7
    is kept; the coupling changes the approach to it.
C3  hypoxia -> EMT input. HIF-1 acts on the EMT circuit as a TGF-beta-like drive:
        T_eff = T_0 + s3 T_H H   (ng/mL),   I = emt.tgf_to_input(T_eff)   (molecules),
    with chapter 6's map from TGF-beta to the input I of the Lu et al. (2013) circuit.
    Cells differ: cell k receives I exp(sigma_I z_k), z_k the quantiles of a standard
    normal (N_CELLS cells). Every cell starts epithelial and follows the circuit's stable
    branches with hysteresis (the folds of `emt.bifurcation_diagram`): a branch is left
    only when it ceases to exist. The mesenchymal fraction is
        m = f_M + w_H f_E/M   (1).
C4  EMT -> invasion. Mesenchymal cells follow matrix gradients more strongly:
        gamma = gamma_0 + s4 (gamma_max - gamma_0) m,
    gamma_0 the published haptotaxis coefficient of chapter 8. The invasion depth reported
    at each time is the depth (units of the domain side L, 1) that chapter 8's 1-D
    invasion (`ecm.reference_invasion`) reaches by its end time with that gamma: an invasive
    potential, read from a table precomputed at 10 values of gamma.

Also: `reproduction_table()`, every chapter's published number beside the book's, with a
tolerance per row and agreement computed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import ndtri

from . import ecm, emt, growth, hypoxia
from .parameters import (
    FRACTION,
    Array,
    Optional,
    Parameter,
    ParameterSet,
    Relation,
    Reproduction,
    checked,
    count,
    interval,
    nonnegative,
    positive,
    read_only,
)

__all__ = [
    "PARAMETERS", "WIDGET_MODEL", "WIDGET_CONTROLS", "N_CELLS", "N_TIMES", "MAX_TIMES",
    "SPACING_GRID", "HAPTOTAXIS_GRID", "RTOL", "ATOL",
    "oxygen_table", "vessel_spacing", "oxygen_readout", "vegf_stimulation", "emt_input",
    "follow_branches", "population_phenotypes", "invasion_table", "haptotaxis",
    "invasion_depth", "TMECourse", "simulate_tme", "ReproductionRow", "reproduction_table",
]

# --- the tables' grids (they bound the couplings' inputs) ----------------------------------

#: Vessel spacings (um) of the oxygen table: chapter 5's slider range, with its default.
#: Extra nodes where the hypoxic fraction rises steeply (50-150 um) keep the linear
#: interpolation close to the solved sections.
SPACING_GRID = read_only(np.union1d(np.linspace(50.0, 300.0, 11),
                                    [62.5, 87.5, 112.5, 137.5,
                                     hypoxia.PARAMETERS["vessel_spacing"].value]))
#: Haptotaxis values of the invasion table: chapter 8's slider range, with its default.
HAPTOTAXIS_GRID = read_only(np.union1d(np.linspace(0.0, 0.02, 9),
                                       [ecm.PARAMETERS["haptotaxis"].value]))

# --- parameters of the couplings -----------------------------------------------------------


def _strength(name, symbol, description, why):
    return Parameter(name, symbol, 1.0, "1 (0 = off, 1 = on)", description, None, why,
                     low=0.0, high=1.0, domain=FRACTION)


#: Bound of the TGF-β parameters (ng/mL): tissue levels are a few ng/mL, and chapter 6's
#: map to the EMT input is saturated above 50 (T / (T + K_T) > 0.96).
TGF_BOUND = "tissue TGF-β is a few ng/mL; chapter 6's map to the EMT input is saturated above 50"

PARAMETERS = ParameterSet([
    _strength("coupling_vessels", r"s_1",
              "C1: vessel density K/V sets the vessel spacing of the oxygen model",
              "our coupling; 0 keeps chapter 5's default spacing"),
    _strength("coupling_vegf", r"s_2",
              "C2: share of the vascular stimulation b that is HIF-driven VEGF",
              "our coupling; 0 keeps chapter 7's constant b"),
    _strength("coupling_emt", r"s_3",
              "C3: HIF-1 adds a TGF-β-like drive to the EMT input",
              "our coupling; 0 keeps chapter 6's input at the background TGF-β"),
    _strength("coupling_invasion", r"s_4",
              "C4: mesenchymal cells raise the haptotaxis coefficient of invasion",
              "our coupling; 0 keeps chapter 8's published haptotaxis"),
    Parameter(
        "tgf_background", r"T_0", 0.5, "ng/mL", "TGF-β in the stroma without hypoxia",
        None, "illustrative: an input at which untreated cells stay epithelial "
        "(chapter 6's map gives I = 36 × 10³ molecules)", low=0.0, high=5.0,
        domain=nonnegative(at_most=50.0, why=TGF_BOUND),
    ),
    Parameter(
        "reference_spacing", r"d_\mathrm{ref}", hypoxia.PARAMETERS["vessel_spacing"].value, "µm",
        "vessel spacing when the vascular support matches the tumour (K = V)", None,
        "chapter 5's default spacing, so that C1 switched off reproduces its section",
        domain=interval(float(SPACING_GRID[0]), float(SPACING_GRID[-1]),
                        why="the spacings of the oxygen table (chapter 5's slider range)"),
    ),
    Parameter(
        "hif_tgf_equivalent", r"T_H", 4.0, "ng/mL",
        "TGF-β-like drive of fully active HIF-1 on the EMT circuit", None,
        "illustrative: HIF-1 induces EMT transcription factors (chapter 6); 4 ng/mL "
        "moves a fully hypoxic tumour past the hybrid state's upper end",
        domain=nonnegative(at_most=50.0, why=TGF_BOUND),
    ),
    Parameter(
        "input_spread", r"\sigma_I", 0.15, "1",
        "cell-to-cell spread of the EMT input (s.d. of its logarithm)", None,
        "illustrative: turns the single-cell switch into a graded population response",
        domain=nonnegative(at_most=2.0, why="a spread of 2 already puts the extreme cells "
                           "nearly 300-fold above and below the mean input"),
    ),
    Parameter(
        "hybrid_weight", r"w_H", 0.5, "1",
        "weight of hybrid E/M cells in the mesenchymal fraction", None,
        "illustrative: hybrid cells migrate, but less than fully mesenchymal ones",
        domain=FRACTION,
    ),
    Parameter(
        "haptotaxis_max", r"\gamma_\mathrm{max}", 0.02, "1 (dimensionless)",
        "haptotaxis coefficient of a fully mesenchymal tumour", None,
        "the upper end of chapter 8's haptotaxis slider (4 × the published value)",
        domain=positive(at_most=float(HAPTOTAXIS_GRID[-1]),
                        why="the invasion table's end (chapter 8's haptotaxis slider)"),
    ),
    Parameter(
        "duration", r"t_\mathrm{end}", 60.0, "days", "length of the coupled run", None,
        "long enough for the Hahnfeldt model to reach its steady state",
        domain=interval(growth.DAYS.low, 1000.0, why="days: at least chapter 7's shortest "
                        "time span (LSODA does not return from a span of 1e-300 days); the "
                        "tumour is within 0.1 % of chapter 7's steady state by 150 days, and "
                        "1000 days bound a run's cost"),
    ),
])

#: Cells in the EMT population (quantiles of the input spread) and output times per run.
N_CELLS = 201
N_TIMES = 121
#: Most output times of a run: the EMT population is followed one time after another, so
#: the times bound the run's cost (5000 times of N_CELLS cells take a fraction of a second).
MAX_TIMES = 5000
N_POINTS = count(2, MAX_TIMES, why="output times of one run: each is a step of the EMT "
                 "population's hysteresis loop")
#: Integration tolerances: those of `growth.simulate_hahnfeldt`, so that with C2 off
#: the coupled run is the same computation as chapter 7's.
RTOL, ATOL = 1e-8, 1e-10

# --- specs of the arguments that are not parameters of the couplings ------------------------

#: Mean HIF-1 activity of a section: a share of full activity.
MEAN_HIF = Array(FRACTION, scalar_ok=True)
#: H_ref: a mean HIF-1 activity; b_eff = b H / H_ref needs it well above zero (the oxygen
#: table's lowest, at the densest vessels, is 0.10).
REFERENCE_HIF = interval(1e-3, 1.0, why="b_eff grows as 1/H_ref; chapter 5's sections have "
                         "at least 0.1")
#: Chapter 7's vascular stimulation b (1/day), as the spec of an argument here: None means
#: its recorded value.
STIMULATION = dataclasses.replace(
    growth.PARAMETERS["stimulation"],
    domain=positive(at_most=1e3, why="a rate per day: 1000 is 170 times the published b"))
#: EMT input I (molecules): chapter 6's map from TGF-β gives at most I_basal + I_gain =
#: 10^5, and the input spread multiplies it by a few hundred at most.
EMT_INPUT = nonnegative(at_most=1e9, why="molecules: far past the circuit's last fold "
                        "(about 7 × 10^4)")
#: Input histories of cells (times, cells), followed one time after another.
CELL_INPUTS = Array(EMT_INPUT, shape=(None, None), at_most=MAX_TIMES * N_CELLS,
                    why="cell-states of one run at most")
AT_MOST_MAX_TIMES = Relation("inputs", lambda inputs: len(inputs) <= MAX_TIMES,
                             f"must have at most {MAX_TIMES} rows (times): the branches are "
                             "followed one time after another")


# --- C1: vessels -> oxygen ------------------------------------------------------------------


@checked(PARAMETERS)
@lru_cache(maxsize=1)
def oxygen_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(spacings um, hypoxic fraction, mean HIF-1 activity) of chapter 5's default section.

    Each entry is `hypoxia.tissue_section(d)`: the same seeded vessels, grid and solver as
    the chapter. Computed once (under a second) and reused by every run: the arrays are
    read-only.
    """
    fractions, hif = [], []
    for spacing in SPACING_GRID:
        section = hypoxia.tissue_section(float(spacing))
        fractions.append(section.hypoxic_fraction())
        hif.append(float(np.nanmean(section.hif())))
    return SPACING_GRID, read_only(np.array(fractions)), read_only(np.array(hif))


@checked(PARAMETERS, volume_over_capacity=Array(positive(), scalar_ok=True))
def vessel_spacing(volume_over_capacity: np.ndarray | float, coupling_vessels: float | None = None,
                   reference_spacing: float | None = None) -> np.ndarray | float:
    """C1: mean vessel spacing (um) at a ratio V/K: d_ref (V/K)^(s1/2), clipped to the table."""
    spacing = np.clip(reference_spacing * volume_over_capacity ** (0.5 * coupling_vessels),
                      SPACING_GRID[0], SPACING_GRID[-1])
    return spacing if spacing.ndim else float(spacing)


@checked(PARAMETERS, spacing=Array(PARAMETERS["reference_spacing"].domain, scalar_ok=True))
def oxygen_readout(spacing: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(hypoxic fraction, mean HIF-1 activity) at vessel spacings (um), from the table."""
    grid, fraction, hif = oxygen_table.__wrapped__()
    return np.interp(spacing, grid, fraction), np.interp(spacing, grid, hif)


# --- C2: hypoxia -> VEGF -> vessels ----------------------------------------------------------


@checked(PARAMETERS, mean_hif=MEAN_HIF, stimulation=STIMULATION,
         reference_hif=Optional(REFERENCE_HIF))
def vegf_stimulation(mean_hif: np.ndarray | float, coupling_vegf: float | None = None,
                     stimulation: float | None = None,
                     reference_hif: float | None = None) -> np.ndarray | float:
    """C2: b_eff = b (1 - s2 + s2 H / H_ref) (1/day); b is chapter 7's stimulation and
    H_ref (None: the HIF-1 level at d_ref) the mean HIF-1 activity at which b_eff = b."""
    if reference_hif is None:
        reference_hif = _reference_hif(PARAMETERS.default("reference_spacing"))
    return stimulation * (1.0 - coupling_vegf + coupling_vegf * mean_hif / reference_hif)


def _reference_hif(reference_spacing):
    return float(oxygen_readout.__wrapped__(reference_spacing)[1])


def _coupled_rhs(
    t,
    y,
    growth_rate,
    stimulation,
    inhibition,
    capacity_loss,
    coupling_vessels,
    coupling_vegf,
    reference_spacing,
    reference_hif,
):
    """Chapter 7's right-hand side (log variables, `growth.hahnfeldt_rhs`, which has no input
    checks) with b replaced by b_eff(V/K) (C1, C2).

    The couplings' functions are called without their input checks (`.__wrapped__`): this
    runs at every solver step, with values the model itself made.
    """
    spacing = vessel_spacing.__wrapped__(
        np.exp(y[0] - y[1]), coupling_vessels, reference_spacing
    )
    _, hif = oxygen_readout.__wrapped__(spacing)
    b_eff = vegf_stimulation.__wrapped__(
        hif, coupling_vegf, stimulation, reference_hif
    )
    return growth.hahnfeldt_rhs(
        t, y, growth_rate, b_eff, inhibition, capacity_loss
    )


# --- C3: hypoxia -> EMT ------------------------------------------------------------------------


@checked(PARAMETERS, mean_hif=MEAN_HIF)
def emt_input(
    mean_hif: np.ndarray | float,
    coupling_emt: float | None = None,
    tgf_background: float | None = None,
    hif_tgf_equivalent: float | None = None,
) -> np.ndarray | float:
    """C3: input I (molecules) = emt.tgf_to_input(T_0 + s3 T_H H)."""
    return emt.tgf_to_input(
        tgf_background + coupling_emt * hif_tgf_equivalent * mean_hif
    )


def _branch_exists(inputs, folds):
    """Which stable branches (E, E/M, M) exist at each input, from the four fold inputs."""
    e_end, hybrid_start, hybrid_end, m_start = folds
    return np.stack([inputs < e_end, (inputs > hybrid_start) & (inputs < hybrid_end),
                     inputs > m_start])


@checked(PARAMETERS, AT_MOST_MAX_TIMES, inputs=CELL_INPUTS)
def follow_branches(inputs: np.ndarray) -> np.ndarray:
    """Phenotype codes (0 E, 1 E/M, 2 M) of cells driven through a sequence
    of inputs.

    `inputs` (times, cells) in molecules. A cell stays on its stable branch
    while the branch exists (hysteresis); when it vanishes at a fold, the
    cell jumps to the nearest existing branch in the direction of the
    change (up in ZEB past the E or E/M upper fold, down past the M or E/M
    lower fold), as the full circuit does (chapter 6). Cells start
    epithelial before the first input.
    """
    folds = emt.bifurcation_diagram().fold_inputs()
    state = np.zeros(inputs.shape[1], dtype=int)
    codes = np.empty(inputs.shape, dtype=int)
    for i, row in enumerate(inputs):
        exists = _branch_exists(row, folds)
        here = exists[state, np.arange(state.size)]
        # a vanished E or E/M branch (input above its upper fold): up to
        # E/M if it exists, else M
        up = ~here & ((state == 0) | ((state == 1) & (row >= folds[2])))
        state = np.where(
            up, np.where((state == 0) & exists[1], 1, 2), state
        )
        # a vanished M or E/M branch (input below its lower fold): down to
        # E/M if it exists, else E
        down = ~here & ~up
        state = np.where(
            down, np.where((state == 2) & exists[1], 1, 0), state
        )
        codes[i] = state
    return codes


def _quantiles(n_cells):
    return ndtri((np.arange(n_cells) + 0.5) / n_cells)  # normal quantiles


@checked(PARAMETERS, inputs=Array(EMT_INPUT, shape=(None,), scalar_ok=True, at_most=MAX_TIMES,
                                  why="times of one run at most"))
def population_phenotypes(inputs: np.ndarray | float,
                          input_spread: float | None = None) -> np.ndarray:
    """Fractions of E, E/M and M cells (3, times) for population inputs I(t) (molecules).

    Cell k receives I(t) exp(sigma_I z_k), z_k the normal quantiles of N_CELLS cells.
    """
    per_cell = np.atleast_1d(inputs)[:, None] * np.exp(input_spread * _quantiles(N_CELLS))[None, :]
    codes = follow_branches.__wrapped__(per_cell)
    return np.stack([(codes == k).mean(axis=1) for k in range(3)])


# --- C4: EMT -> invasion ----------------------------------------------------------------------


@checked(PARAMETERS)
@lru_cache(maxsize=1)
def invasion_table() -> tuple[np.ndarray, np.ndarray]:
    """(haptotaxis values, invasion depth at chapter 8's end time) from `ecm.reference_invasion`.

    Computed once and reused by every run: the arrays are read-only.
    """
    depths = [float(ecm.reference_invasion(haptotaxis=float(g)).invasion_depth()[-1]) for g in HAPTOTAXIS_GRID]
    return HAPTOTAXIS_GRID, read_only(np.array(depths))


@checked(PARAMETERS, mesenchymal_fraction=Array(FRACTION, scalar_ok=True))
def haptotaxis(
    mesenchymal_fraction: np.ndarray | float,
    coupling_invasion: float | None = None,
    haptotaxis_max: float | None = None,
) -> np.ndarray | float:
    """C4: gamma = gamma_0 + s4 (gamma_max - gamma_0) m (dimensionless)."""
    g0 = ecm.PARAMETERS["haptotaxis"].value
    return (
        g0
        + coupling_invasion * (haptotaxis_max - g0) * mesenchymal_fraction
    )


@checked(PARAMETERS, gamma=Array(interval(float(HAPTOTAXIS_GRID[0]), float(HAPTOTAXIS_GRID[-1]),
                                          why="the haptotaxis values of the invasion table"),
                                 scalar_ok=True))
def invasion_depth(gamma: np.ndarray | float) -> np.ndarray | float:
    """Depth (units of L) chapter 8's invasion reaches by its end time at haptotaxis gamma."""
    grid, depth = invasion_table.__wrapped__()
    return np.interp(gamma, grid, depth)


# --- the coupled run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TMECourse:
    """A coupled run at output times t (days); every array has the length of t."""

    t: np.ndarray
    volume: np.ndarray               # mm^3
    capacity: np.ndarray             # mm^3
    spacing: np.ndarray              # um
    hypoxic_fraction: np.ndarray     # 1
    mean_hif: np.ndarray             # 1
    stimulation: np.ndarray          # b_eff, 1/day
    emt_input: np.ndarray            # molecules
    phenotype_fractions: np.ndarray  # (3, n): E, E/M, M
    mesenchymal_fraction: np.ndarray  # 1
    haptotaxis: np.ndarray           # 1
    invasion_depth: np.ndarray       # units of L
    couplings: dict


@checked(PARAMETERS, n_points=N_POINTS)
def simulate_tme(
    coupling_vessels: float | None = None,
    coupling_vegf: float | None = None,
    coupling_emt: float | None = None,
    coupling_invasion: float | None = None,
    tgf_background: float | None = None,
    duration: float | None = None,
    n_points: int = N_TIMES,
    *,
    reference_spacing: float | None = None,
    hif_tgf_equivalent: float | None = None,
    input_spread: float | None = None,
    hybrid_weight: float | None = None,
    haptotaxis_max: float | None = None,
) -> TMECourse:
    """The widget model: the Hahnfeldt ODE with C1-C2 (solve_ivp, LSODA, as
    chapter 7), then the quasi-steady chain C1 -> C3 -> C4 read out at the
    output times.

    The couplings' functions are called without their input checks
    (`.__wrapped__`): the values passed on are the model's own.
    """
    a = growth.PARAMETERS
    lam1, b, d, lam2 = (
        a[name].value
        for name in (
            "growth_rate",
            "stimulation",
            "inhibition",
            "capacity_loss",
        )
    )
    h_ref = _reference_hif(reference_spacing)
    t = np.linspace(0.0, duration, n_points)
    y0 = [
        np.log(a["initial_volume"].value),
        np.log(a["initial_capacity"].value),
    ]
    sol = solve_ivp(
        _coupled_rhs,
        (0.0, duration),
        y0,
        method="LSODA",
        t_eval=t,
        rtol=RTOL,
        atol=ATOL,
        args=(
            lam1,
            b,
            d,
            lam2,
            coupling_vessels,
            coupling_vegf,
            reference_spacing,
            h_ref,
        ),
    )
    if not sol.success:
        raise RuntimeError(f"integration failed: {sol.message}")
    volume, capacity = np.exp(sol.y)
    spacing = vessel_spacing.__wrapped__(
        volume / capacity, coupling_vessels, reference_spacing
    )
    fraction, hif = oxygen_readout.__wrapped__(spacing)
    b_eff = vegf_stimulation.__wrapped__(hif, coupling_vegf, b, h_ref)
    inputs = emt_input.__wrapped__(
        hif, coupling_emt, tgf_background, hif_tgf_equivalent
    )
    phenotypes = population_phenotypes.__wrapped__(inputs, input_spread)
    mesenchymal = phenotypes[2] + hybrid_weight * phenotypes[1]
    gamma = haptotaxis.__wrapped__(
        mesenchymal, coupling_invasion, haptotaxis_max
    )
    couplings = {
        "coupling_vessels": coupling_vessels,
        "coupling_vegf": coupling_vegf,
        "coupling_emt": coupling_emt,
        "coupling_invasion": coupling_invasion,
    }
    return TMECourse(
        t,
        volume,
        capacity,
        spacing,
        fraction,
        hif,
        b_eff,
        np.asarray(inputs),
        phenotypes,
        mesenchymal,
        gamma,
        invasion_depth.__wrapped__(gamma),
        couplings,
    )


#: The chapter's live panel: the model it reruns and the parameters on its sliders.
WIDGET_MODEL = simulate_tme
WIDGET_CONTROLS = ("coupling_vessels", "coupling_vegf", "coupling_emt", "coupling_invasion",
                   "tgf_background")


# --- every chapter's published number beside ours ----------------------------------------------


@dataclass(frozen=True)
class ReproductionRow:
    """A row of chapter 11's table: the chapter, its model and what it reproduces."""

    chapter: int
    model: str
    reproduction: Reproduction


@checked()
def reproduction_table() -> list[ReproductionRow]:
    """Every chapter's published result beside ours, in chapter order: the `REPRODUCTIONS`
    each model module declares (no per-chapter code here). Each row computes our value by
    calling its model when first asked (about a second for the whole table)."""
    import importlib
    import importlib.util
    import pkgutil
    import sys
    from pathlib import Path

    import tmebook

    rows = []
    for info in pkgutil.iter_modules(tmebook.__path__):
        name = f"tmebook.{info.name}"
        if name not in sys.modules and "REPRODUCTIONS" not in Path(
                importlib.util.find_spec(name).origin).read_text(encoding="utf-8"):
            continue  # declares none: not imported (the SBML writer alone takes 0.2 s)
        module = importlib.import_module(name)
        rows += [ReproductionRow(module.CHAPTER, module.MODEL_NAME, r)
                 for r in getattr(module, "REPRODUCTIONS", ())]
    return sorted(rows, key=lambda row: row.chapter)

