"""Chapter 11: putting the TME together. The chapters' models coupled into one loop.

This module holds no model of its own. It couples the models of chapters 5-8, imported
from their modules, through four labelled assumptions (C1-C4), each with a strength
s in [0, 1]: s = 0 switches the coupling off and leaves the chapter's model exactly as the
chapter runs it; s = 1 is the full coupling.

Dynamic state: tumour volume V and vascular carrying capacity K (mm^3, days), the model
of Hahnfeldt et al. (1999) from `tmebook.angiogenesis`,

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
    invasion (`ecm.invasion_panel`) reaches by its end time with that gamma: an invasive
    potential, read from a table precomputed at 10 values of gamma.

Also: `reproduction_table()`, every chapter's published number beside the book's, with a
tolerance per row and agreement computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import ndtri

from . import angiogenesis, cafs, cascade, ecm, ecosystem, emt, exosomes, hypoxia, immune
from .parameters import Parameter, check_finite, check_nonnegative, check_positive

# --- parameters of the couplings -----------------------------------------------------------


def _strength(name, symbol, description, why):
    return Parameter(name, symbol, 1.0, "1 (0 = off, 1 = on)", description, None, why,
                     low=0.0, high=1.0)


PARAMETERS = {
    p.name: p
    for p in [
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
        ),
        Parameter(
            "reference_spacing", r"d_\mathrm{ref}", hypoxia.default("vessel_spacing"), "µm",
            "vessel spacing when the vascular support matches the tumour (K = V)", None,
            "chapter 5's default spacing, so that C1 switched off reproduces its section",
        ),
        Parameter(
            "hif_tgf_equivalent", r"T_H", 4.0, "ng/mL",
            "TGF-β-like drive of fully active HIF-1 on the EMT circuit", None,
            "illustrative: HIF-1 induces EMT transcription factors (chapter 6); 4 ng/mL "
            "moves a fully hypoxic tumour past the hybrid state's upper end",
        ),
        Parameter(
            "input_spread", r"\sigma_I", 0.15, "1",
            "cell-to-cell spread of the EMT input (s.d. of its logarithm)", None,
            "illustrative: turns the single-cell switch into a graded population response",
        ),
        Parameter(
            "hybrid_weight", r"w_H", 0.5, "1",
            "weight of hybrid E/M cells in the mesenchymal fraction", None,
            "illustrative: hybrid cells migrate, but less than fully mesenchymal ones",
        ),
        Parameter(
            "haptotaxis_max", r"\gamma_\mathrm{max}", 0.02, "1 (dimensionless)",
            "haptotaxis coefficient of a fully mesenchymal tumour", None,
            "the upper end of chapter 8's haptotaxis slider (4 × the published value)",
        ),
        Parameter(
            "duration", r"t_\mathrm{end}", 60.0, "days", "length of the coupled run", None,
            "long enough for the Hahnfeldt model to reach its steady state",
        ),
    ]
}

#: Cells in the EMT population (quantiles of the input spread) and output times per run.
N_CELLS = 201
N_TIMES = 121
#: Vessel spacings (um) of the oxygen table: chapter 5's slider range, with its default.
#: Extra nodes where the hypoxic fraction rises steeply (50-150 um) keep the linear
#: interpolation close to the solved sections.
SPACING_GRID = np.union1d(np.linspace(50.0, 300.0, 11),
                          [62.5, 87.5, 112.5, 137.5, hypoxia.default("vessel_spacing")])
#: Haptotaxis values of the invasion table: chapter 8's slider range, with its default.
HAPTOTAXIS_GRID = np.union1d(np.linspace(0.0, 0.02, 9), [ecm.default("haptotaxis")])
#: Integration tolerances: those of `angiogenesis.simulate_hahnfeldt`, so that with C2 off
#: the coupled run is the same computation as chapter 7's.
RTOL, ATOL = 1e-8, 1e-10
#: Surface pO2 (mmHg) at which chapter 5 compares the DLD1 diffusion limit (its assumption).
DLD1_SURFACE_PO2_MMHG = 100.0

PHENOTYPE_CODES = {label: code for code, label in enumerate(emt.PHENOTYPES)}  # E 0, E/M 1, M 2


def default(name: str) -> float:
    return PARAMETERS[name].value


def _strength_value(name, value):
    value = check_finite(name, default(name) if value is None else value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return value


# --- C1: vessels -> oxygen ------------------------------------------------------------------


@lru_cache(maxsize=1)
def oxygen_table():
    """(spacings um, hypoxic fraction, mean HIF-1 activity) of chapter 5's default section.

    Each entry is `hypoxia.tissue_section(d)`: the same seeded vessels, grid and solver as
    the chapter. Computed once (under a second) and reused by every run.
    """
    fractions, hif = [], []
    for spacing in SPACING_GRID:
        section = hypoxia.tissue_section(float(spacing))
        fractions.append(section.hypoxic_fraction())
        hif.append(float(np.nanmean(section.hif())))
    return SPACING_GRID.copy(), np.array(fractions), np.array(hif)


def vessel_spacing(volume_over_capacity, coupling_vessels=None, reference_spacing=None):
    """C1: mean vessel spacing (um) at a ratio V/K: d_ref (V/K)^(s1/2), clipped to the table."""
    ratio = np.asarray(volume_over_capacity, dtype=float)
    if not np.all(np.isfinite(ratio)) or np.any(ratio <= 0):
        raise ValueError("volume_over_capacity must be positive and finite")
    s1 = _strength_value("coupling_vessels", coupling_vessels)
    d_ref = check_positive("reference_spacing",
                           default("reference_spacing") if reference_spacing is None else reference_spacing)
    spacing = _spacing(ratio, s1, d_ref)
    return spacing if spacing.ndim else float(spacing)


def _spacing(ratio, s1, d_ref):
    return np.clip(d_ref * ratio ** (0.5 * s1), SPACING_GRID[0], SPACING_GRID[-1])


def oxygen_readout(spacing):
    """(hypoxic fraction, mean HIF-1 activity) at vessel spacings (um), from the table."""
    spacing = np.asarray(spacing, dtype=float)
    if not np.all(np.isfinite(spacing)) or np.any(spacing <= 0):
        raise ValueError("spacing must be positive and finite")
    grid, fraction, hif = oxygen_table()
    return np.interp(spacing, grid, fraction), np.interp(spacing, grid, hif)


# --- C2: hypoxia -> VEGF -> vessels ----------------------------------------------------------


def vegf_stimulation(mean_hif, coupling_vegf=None, stimulation=None, reference_hif=None):
    """C2: b_eff = b (1 - s2 + s2 H / H_ref) (1/day); H_ref the HIF-1 level at d_ref."""
    hif = np.asarray(mean_hif, dtype=float)
    if not np.all(np.isfinite(hif)) or np.any((hif < 0) | (hif > 1)):
        raise ValueError("mean_hif must lie in [0, 1]")
    s2 = _strength_value("coupling_vegf", coupling_vegf)
    b = check_positive("stimulation", angiogenesis.default("stimulation") if stimulation is None else stimulation)
    h_ref = check_positive("reference_hif", _reference_hif(default("reference_spacing"))
                           if reference_hif is None else reference_hif)
    return b * (1.0 - s2 + s2 * hif / h_ref)


def _reference_hif(reference_spacing):
    return float(oxygen_readout(reference_spacing)[1])


def coupled_rhs(t, y, growth_rate, stimulation, inhibition, capacity_loss,
                coupling_vessels, coupling_vegf, reference_spacing, reference_hif):
    """Chapter 7's right-hand side (log variables) with b replaced by b_eff(V/K) (C1, C2)."""
    spacing = _spacing(np.exp(y[0] - y[1]), coupling_vessels, reference_spacing)
    grid, _, hif_table = oxygen_table()
    hif = np.interp(spacing, grid, hif_table)
    b_eff = stimulation * (1.0 - coupling_vegf + coupling_vegf * hif / reference_hif)
    return angiogenesis.hahnfeldt_rhs(t, y, growth_rate, b_eff, inhibition, capacity_loss)


# --- C3: hypoxia -> EMT ------------------------------------------------------------------------


def emt_input(mean_hif, coupling_emt=None, tgf_background=None, hif_tgf_equivalent=None):
    """C3: input I (molecules) = emt.tgf_to_input(T_0 + s3 T_H H)."""
    hif = np.asarray(mean_hif, dtype=float)
    if not np.all(np.isfinite(hif)) or np.any((hif < 0) | (hif > 1)):
        raise ValueError("mean_hif must lie in [0, 1]")
    s3 = _strength_value("coupling_emt", coupling_emt)
    t0 = check_nonnegative("tgf_background", default("tgf_background") if tgf_background is None else tgf_background)
    t_h = check_nonnegative("hif_tgf_equivalent",
                            default("hif_tgf_equivalent") if hif_tgf_equivalent is None else hif_tgf_equivalent)
    return emt.tgf_to_input(t0 + s3 * t_h * hif)


def _branch_exists(inputs, folds):
    """Which stable branches (E, E/M, M) exist at each input, from the four fold inputs."""
    e_end, hybrid_start, hybrid_end, m_start = folds
    return np.stack([inputs < e_end, (inputs > hybrid_start) & (inputs < hybrid_end),
                     inputs > m_start])


def follow_branches(inputs, start=None):
    """Phenotype codes (0 E, 1 E/M, 2 M) of cells driven through a sequence of inputs.

    `inputs` (times, cells) in molecules. A cell stays on its stable branch while the
    branch exists (hysteresis); when it vanishes at a fold, the cell jumps to the nearest
    existing branch in the direction of the change (up in ZEB past the E or E/M upper fold,
    down past the M or E/M lower fold), as the full circuit does (chapter 6). Cells start
    in `start` (default E) before the first input.
    """
    inputs = np.asarray(inputs, dtype=float)
    if inputs.ndim != 2 or not np.all(np.isfinite(inputs)) or np.any(inputs < 0):
        raise ValueError("inputs must be a finite, non-negative (times, cells) array")
    folds = emt.bifurcation_diagram().fold_inputs()
    state = np.zeros(inputs.shape[1], dtype=int) if start is None else np.array(start, dtype=int).copy()
    codes = np.empty(inputs.shape, dtype=int)
    for i, row in enumerate(inputs):
        exists = _branch_exists(row, folds)
        here = exists[state, np.arange(state.size)]
        # a vanished E or E/M branch (input above its upper fold): up to E/M if it exists, else M
        up = ~here & ((state == 0) | ((state == 1) & (row >= folds[2])))
        state = np.where(up, np.where((state == 0) & exists[1], 1, 2), state)
        # a vanished M or E/M branch (input below its lower fold): down to E/M if it exists, else E
        down = ~here & ~up
        state = np.where(down, np.where((state == 2) & exists[1], 1, 0), state)
        codes[i] = state
    return codes


def _quantiles(n_cells):
    return ndtri((np.arange(n_cells) + 0.5) / n_cells)  # normal quantiles


def population_phenotypes(inputs, input_spread=None):
    """Fractions of E, E/M and M cells (3, times) for population inputs I(t) (molecules).

    Cell k receives I(t) exp(sigma_I z_k), z_k the normal quantiles of N_CELLS cells.
    """
    inputs = np.atleast_1d(np.asarray(inputs, dtype=float))
    sigma = check_nonnegative("input_spread", default("input_spread") if input_spread is None else input_spread)
    per_cell = inputs[:, None] * np.exp(sigma * _quantiles(N_CELLS))[None, :]
    codes = follow_branches(per_cell)
    return np.stack([(codes == k).mean(axis=1) for k in range(3)])


# --- C4: EMT -> invasion ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def invasion_table():
    """(haptotaxis values, invasion depth at chapter 8's end time) from `ecm.invasion_panel`."""
    depths = [float(ecm.invasion_panel(haptotaxis=float(g)).invasion_depth()[-1]) for g in HAPTOTAXIS_GRID]
    return HAPTOTAXIS_GRID.copy(), np.array(depths)


def haptotaxis(mesenchymal_fraction, coupling_invasion=None, haptotaxis_max=None):
    """C4: gamma = gamma_0 + s4 (gamma_max - gamma_0) m (dimensionless)."""
    m = np.asarray(mesenchymal_fraction, dtype=float)
    if not np.all(np.isfinite(m)) or np.any((m < 0) | (m > 1)):
        raise ValueError("mesenchymal_fraction must lie in [0, 1]")
    s4 = _strength_value("coupling_invasion", coupling_invasion)
    g_max = check_positive("haptotaxis_max", default("haptotaxis_max") if haptotaxis_max is None else haptotaxis_max)
    if g_max > HAPTOTAXIS_GRID[-1]:
        raise ValueError(f"haptotaxis_max must not exceed {HAPTOTAXIS_GRID[-1]} (the table's end)")
    g0 = ecm.default("haptotaxis")
    return g0 + s4 * (g_max - g0) * m


def invasion_depth(gamma):
    """Depth (units of L) chapter 8's invasion reaches by its end time at haptotaxis gamma."""
    gamma = np.asarray(gamma, dtype=float)
    grid, depth = invasion_table()
    if not np.all(np.isfinite(gamma)) or np.any((gamma < grid[0]) | (gamma > grid[-1])):
        raise ValueError(f"gamma must lie in [{grid[0]}, {grid[-1]}]")
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


def simulate_tme(coupling_vessels=None, coupling_vegf=None, coupling_emt=None,
                 coupling_invasion=None, tgf_background=None, duration=None, n_points=N_TIMES):
    """The widget model: the Hahnfeldt ODE with C1-C2 (solve_ivp, LSODA, as chapter 7),
    then the quasi-steady chain C1 -> C3 -> C4 read out at the output times."""
    s = {name: _strength_value(name, value) for name, value in (
        ("coupling_vessels", coupling_vessels), ("coupling_vegf", coupling_vegf),
        ("coupling_emt", coupling_emt), ("coupling_invasion", coupling_invasion))}
    t0 = check_nonnegative("tgf_background", default("tgf_background") if tgf_background is None else tgf_background)
    t_end = check_positive("duration", default("duration") if duration is None else duration)
    if int(n_points) != n_points or n_points < 2:
        raise ValueError("n_points must be an integer >= 2")
    a = angiogenesis.default
    lam1, b, d, lam2 = a("growth_rate"), a("stimulation"), a("inhibition"), a("capacity_loss")
    d_ref = default("reference_spacing")
    h_ref = _reference_hif(d_ref)
    t = np.linspace(0.0, t_end, int(n_points))
    y0 = [np.log(a("initial_volume")), np.log(a("initial_capacity"))]
    sol = solve_ivp(coupled_rhs, (0.0, t_end), y0, method="LSODA", t_eval=t, rtol=RTOL, atol=ATOL,
                    args=(lam1, b, d, lam2, s["coupling_vessels"], s["coupling_vegf"], d_ref, h_ref))
    if not sol.success:
        raise RuntimeError(f"integration failed: {sol.message}")
    volume, capacity = np.exp(sol.y)
    spacing = _spacing(volume / capacity, s["coupling_vessels"], d_ref)
    fraction, hif = oxygen_readout(spacing)
    b_eff = b * (1.0 - s["coupling_vegf"] + s["coupling_vegf"] * hif / h_ref)
    inputs = emt_input(hif, s["coupling_emt"], t0)
    phenotypes = population_phenotypes(inputs)
    mesenchymal = phenotypes[2] + default("hybrid_weight") * phenotypes[1]
    gamma = haptotaxis(mesenchymal, s["coupling_invasion"])
    return TMECourse(t, volume, capacity, spacing, fraction, hif, b_eff, np.asarray(inputs),
                     phenotypes, mesenchymal, gamma, invasion_depth(gamma), s)


#: The chapter's live panel: the model it reruns and the parameters on its sliders.
WIDGET_MODEL = simulate_tme
WIDGET_CONTROLS = ("coupling_vessels", "coupling_vegf", "coupling_emt", "coupling_invasion",
                   "tgf_background")


# --- every chapter's published number beside ours ----------------------------------------------


@dataclass(frozen=True)
class Reproduction:
    """One published result beside the book's. Numeric rows: |ours - published| <= tolerance
    (published may be the midpoint of a published interval, tolerance its half-width).
    Outcome rows (tolerance None): the published and our outcome must be the same words."""

    chapter: int
    model: str
    source: str           # BibTeX key
    quantity: str
    published: float | str
    ours: float | str
    tolerance: float | None
    basis: str            # why this tolerance
    published_text: str = ""

    @property
    def agrees(self) -> bool:
        if self.tolerance is None:
            return self.ours == self.published
        return bool(abs(self.ours - self.published) <= self.tolerance)


def _cascade_rows():
    result = cascade.run_cascade()
    published = cascade.luzzi_published_fractions()
    replicates = result.samples.shape[0]
    # q_dormant is stored to 4 decimals: it moves the expected dormant fraction by at most
    # 0.5e-4 times the fraction of cells that extravasate and do not grow.
    not_growing = cascade.LUZZI_EXTRAVASATED_DAY3 * (1.0 - cascade.LUZZI_MICROMETS_PER_EXTRAVASATED)
    rows = []
    for stage, column, label, rounding in (
            ("macrometastases", 2, "macrometastases per disseminated cell", 0.0),
            ("dormant", 3, "solitary dormant cells per disseminated cell", 0.5e-4 * not_growing)):
        mean = result.mean[column] / result.n_cells
        standard_error = result.std[column] / result.n_cells / np.sqrt(replicates)
        rows.append(Reproduction(
            1, "metastatic cascade (binomial attrition)", "luzzi1998", label,
            published[stage], float(mean), float(4 * standard_error + rounding),
            f"4 standard errors of the mean of {replicates} seeded cohorts"
            + (", plus the rounding of q to 4 decimals" if rounding else "")))
    return rows


def _ecosystem_row():
    game = ecosystem.StromaGame(**ecosystem.EGTPLOT_EXAMPLE)

    def words(summary):
        return "; ".join(k if v else f"not: {k}" for k, v in summary.items())
    return Reproduction(2, "tumour-stroma game (replicator dynamics)", "mirzaev2018",
                        "rest points at alpha = beta = gamma = rho = 1 (their Figure 1)",
                        words(ecosystem.EGTPLOT_PUBLISHED),
                        words(ecosystem.rest_point_summary(game)), None, "same outcome")


def _caf_row():
    occupancy, needed = cafs.adler_autocrine_occupancy()
    return Reproduction(3, "CAF activation loop", "adler2020",
                        "myofibroblasts sustain themselves on their own PDGF",
                        "self-sustaining state exists",
                        "self-sustaining state exists" if occupancy > needed else "no such state",
                        None, "same outcome")


def _immune_rows():
    ours = immune.nondimensional()
    rows = [Reproduction(4, "effector-tumour model", "kuznetsov1994",
                         f"dimensionless {name}", published, float(ours[name]),
                         1e-3 * abs(published),
                         "0.1 %: the printed values are rounded in the fourth significant figure")
            for name, published in immune.NONDIMENSIONAL_PUBLISHED.items()]
    low, high = immune.MU_ONLY_DORMANT_PUBLISHED, immune.NONDIMENSIONAL_PUBLISHED["mu"]
    fold = immune.saddle_node("mu", low, high)
    rows.append(Reproduction(4, "effector-tumour model", "kuznetsov1994",
                             "μ at which escape state and saddle collide", (low + high) / 2,
                             float(fold), (high - low) / 2,
                             "published interval: one state at μ = 0.0021 (Fig. 9), three at 0.00311",
                             published_text=f"between {low:g} and {high:g}"))
    return rows


def _hypoxia_row():
    limit, sd = hypoxia.DLD1_DIFFUSION_LIMIT_UM
    a = float(hypoxia.ocr_to_pressure_rate(hypoxia.DLD1_OCR_M3_PER_KG_S))
    ours = float(hypoxia.spheroid_diffusion_limit(DLD1_SURFACE_PO2_MMHG, hypoxia.default("diffusivity"), a))
    return Reproduction(5, "oxygen diffusion and consumption", "grimes2014",
                        "DLD1 spheroid diffusion limit (µm)", limit, ours, sd,
                        "the published standard deviation",
                        published_text=f"{limit:g} ± {sd:g}")


def _emt_row():
    stable = [s for s in emt.steady_states(1e3 * emt.default("reference_input")) if s["stable"]]
    return Reproduction(6, "miR-34/SNAIL/miR-200/ZEB circuit", "lu2013",
                        "stable states coexisting (ternary switch)", 3.0, float(len(stable)), 0.5,
                        "a count: must be exact")


def _angiogenesis_row():
    published = angiogenesis.HAHNFELDT_STEADY_STATE_MM3
    return Reproduction(7, "tumour growth under angiogenic control", "hahnfeldt1999",
                        "steady state V* = K* (mm³)", published,
                        float(angiogenesis.hahnfeldt_steady_state()), 50.0,
                        "quoted to 3 significant figures: half a unit of the third, 50 mm³",
                        published_text=f"about {published:,.0f}")


def _ecm_row():
    run = ecm.invasion_panel()
    totals = run.total("cells")
    return Reproduction(8, "haptotactic invasion with matrix degradation", "anderson2000",
                        "relative change of the total cell mass (no proliferation)", 0.0,
                        float(np.max(np.abs(totals / totals[0] - 1.0))), 1e-10,
                        "rounding only: the scheme conserves cells exactly")


def _exosome_row():
    t, first = exosomes.birth_rate(second_generation=False)
    _, both = exosomes.birth_rate(second_generation=True)
    count_ratio = exosomes.metastases_larger_than(1.0, t, both)[-1] / exosomes.metastases_larger_than(1.0, t, first)[-1]
    burden_ratio = exosomes.total_tumour_burden(t, both)[-1] / exosomes.total_tumour_burden(t, first)[-1]
    outcome = ("more colonies, little more mass" if count_ratio > 1.5 and burden_ratio < 1.1
               else "not so")
    return Reproduction(9, "metastatic colony sizes (Iwata et al.)", "bethge2012",
                        "metastases from metastases: effect on colony count and tumour mass",
                        "more colonies, little more mass", outcome, None,
                        "same outcome (count ratio > 1.5, mass ratio < 1.1)")


@lru_cache(maxsize=1)
def _reproduction_rows():
    return tuple(_cascade_rows() + [_ecosystem_row(), _caf_row()] + _immune_rows()
                 + [_hypoxia_row(), _emt_row(), _angiogenesis_row(), _ecm_row(), _exosome_row()])


def reproduction_table():
    """Every chapter's published result beside ours (a list of `Reproduction`, chapter order).

    Computed from each module's published constants and the functions that reproduce them;
    cached, as it runs the chapters' models (about a second).
    """
    return list(_reproduction_rows())
