"""Chapter 1: the metastatic cascade. Metastasis as a chain of step-wise survival probabilities.

A tumour cell that has entered the bloodstream (a disseminated cell) must complete, in
order, the steps

    1. arrival:       survive the circulation, arrest in a distant organ and extravasate;
    2. initiation:    start dividing there and form a micrometastasis;
    3. colonisation:  keep growing into a macroscopic metastasis.

With step probabilities p_1, ..., p_k (dimensionless, 0 < p_j <= 1, each conditional on
the previous steps) the fraction of cells that completes the first j steps is the product

    P_j = p_1 p_2 ... p_j,

so N disseminated cells give N P_k macrometastases on average. Extravasated cells that do
not start growing either remain as solitary dormant cells (probability q) or die.

Stochastic version. A cohort of N cells loses cells by binomial attrition at every step:

    n_0 = N,   n_j ~ Binomial(n_{j-1}, p_j),   dormant ~ Binomial(n_1 - n_2, q).

Thinning a binomial count by independent Bernoulli trials gives a binomial count again,
so n_j ~ Binomial(N, P_j) exactly: mean N P_j and variance N P_j (1 - P_j).

TME factors act as multipliers m on the odds of named steps,

    p -> m p / (1 - p + m p),

so m = 1 leaves a step unchanged, p stays inside (0, 1) for any m > 0, and for a rare step
(p << 1) the probability changes about m-fold. Which factor acts on which step, and every
multiplier value, are illustrative assumptions, not measurements.

Units: probabilities, odds and multipliers are dimensionless; counts are cells (or
metastases) per cohort; "per million" means per 10^6 disseminated cells.

Calibration: Luzzi et al. (1998), B16F1 melanoma cells injected into the portal
circulation of mice (which carries them to the liver) and followed by in vivo
videomicroscopy and cell accounting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .parameters import Parameter, check_finite, check_positive

# --- published numbers (Luzzi et al. 1998, Am J Pathol 153:865-873, abstract) -------------
# Read through a secondary quotation of the PubMed abstract (PMID 9736035); the full text
# was not available to us (see the chapter and the report for what could not be confirmed).
LUZZI_EXTRAVASATED_DAY3 = 0.80          # fraction of injected cells that survived in the liver
                                        # microcirculation and extravasated by day 3
LUZZI_MICROMETS_PER_EXTRAVASATED = 1 / 40   # 1 in 40 of those cells formed a micrometastasis
                                            # (4-16 cells) by day 3
LUZZI_MACRO_PER_MICROMET = 1 / 100      # 1 in 100 micrometastases grew into a macroscopic
                                        # tumour by day 13 (most micrometastases disappeared)
LUZZI_DORMANT_DAY13 = 0.36              # fraction of injected cells still present at day 13
                                        # as solitary, dormant cells

#: Coumans et al. (2013), abstract: a fitted human (breast cancer) efficiency of one distant
#: metastasis per 60 million disseminated cells.
COUMANS_CELLS_PER_METASTASIS = 60e6

#: The steps of the chain after dissemination, in order.
STEPS = ("arrival", "initiation", "colonisation")
#: The counts a cohort simulation returns, in order (columns of `CascadeResult.samples`).
STAGES = ("arrived", "micrometastases", "macrometastases", "dormant")

#: Which TME factor multiplies the odds of which step (an illustrative assumption).
FACTOR_STEP = {
    "hypoxia": "arrival",
    "caf_support": "initiation",
    "niche_priming": "initiation",
    "immune_suppression": "colonisation",
    "ecm_remodelling": "colonisation",
}


def _derived_dormancy():
    """Probability that an extravasated cell which does not start growing is still a
    solitary dormant cell at day 13: 36 % of injected cells over the extravasated cells
    that did not form micrometastases (80 % x 39/40 of injected cells)."""
    not_growing = LUZZI_EXTRAVASATED_DAY3 * (1.0 - LUZZI_MICROMETS_PER_EXTRAVASATED)
    return LUZZI_DORMANT_DAY13 / not_growing


_MULTIPLIER_RANGE = dict(low=0.25, high=4.0)

PARAMETERS = {
    p.name: p
    for p in [
        Parameter(
            "p_arrival", r"p_1", LUZZI_EXTRAVASATED_DAY3, "1",
            "probability that a disseminated cell survives the circulation, arrests and "
            "extravasates", "luzzi1998",
            "abstract: 80 % of injected B16F1 cells survived in the liver microcirculation "
            "and extravasated by day 3",
        ),
        Parameter(
            "p_initiation", r"p_2", LUZZI_MICROMETS_PER_EXTRAVASATED, "1",
            "probability that an extravasated cell forms a micrometastasis", "luzzi1998",
            "abstract: 1 in 40 extravasated cells formed a micrometastasis by day 3",
        ),
        Parameter(
            "p_colonisation", r"p_3", LUZZI_MACRO_PER_MICROMET, "1",
            "probability that a micrometastasis grows into a macroscopic metastasis",
            "luzzi1998",
            "abstract: 1 in 100 micrometastases became macroscopic tumours by day 13",
        ),
        Parameter(
            "q_dormant", r"q", round(_derived_dormancy(), 4), "1",
            "probability that an extravasated cell that does not grow stays as a solitary "
            "dormant cell (the rest die)", "luzzi1998",
            "derived from the abstract: 36 % of injected cells were solitary dormant cells "
            "at day 13, out of 80 % × 39/40 that extravasated and did not grow",
        ),
        Parameter(
            "cohort_size", r"N", 1e6, "cells", "disseminated cells in one cohort", None,
            "the book's unit: results are given per million disseminated cells",
        ),
        Parameter(
            "hypoxia", r"m_\mathrm{hyp}", 1.0, "1",
            "odds multiplier on arrival from hypoxia-conditioned cells", None,
            "illustrative: HIF targets that help cells survive in the blood and cross vessel "
            "walls ({cite:t}`goubran2014`); 1 = the calibrated baseline",
            **_MULTIPLIER_RANGE,
        ),
        Parameter(
            "caf_support", r"m_\mathrm{CAF}", 1.0, "1",
            "odds multiplier on initiation from cancer-associated fibroblasts", None,
            "illustrative: growth factors and matrix from fibroblasts that help a lone cell "
            "start dividing ({cite:t}`wang2023`); 1 = the calibrated baseline",
            **_MULTIPLIER_RANGE,
        ),
        Parameter(
            "niche_priming", r"m_\mathrm{niche}", 1.0, "1",
            "odds multiplier on initiation from a primed pre-metastatic niche", None,
            "illustrative: exosome-conditioned stroma that receives arriving cells "
            "({cite:t}`spano2012`); 1 = the calibrated baseline",
            **_MULTIPLIER_RANGE,
        ),
        Parameter(
            "immune_suppression", r"m_\mathrm{imm}", 1.0, "1",
            "odds multiplier on colonisation from suppressed anti-tumour immunity", None,
            "illustrative: fewer micrometastases cleared by T and NK cells when macrophages "
            "and Tregs suppress them ({cite:t}`wang2021`); 1 = the calibrated baseline",
            **_MULTIPLIER_RANGE,
        ),
        Parameter(
            "ecm_remodelling", r"m_\mathrm{ECM}", 1.0, "1",
            "odds multiplier on colonisation from remodelled extracellular matrix", None,
            "illustrative: cross-linked, protease-cleaved matrix that supports outgrowth "
            "({cite:t}`neophytou2021`); 1 = the calibrated baseline",
            **_MULTIPLIER_RANGE,
        ),
    ]
}

#: Replicate cohorts drawn for the widget and the chapter's figures, and their seed.
WIDGET_REPLICATES = 4000
SEED = 2026


def default(name: str) -> float:
    return PARAMETERS[name].value


def baseline_step_probabilities() -> np.ndarray:
    """The calibrated step probabilities (arrival, initiation, colonisation)."""
    return np.array([default("p_arrival"), default("p_initiation"), default("p_colonisation")])


# --- input checks specific to probabilities ----------------------------------------------


def check_probability(name: str, value, *, allow_zero: bool = False) -> float:
    """A probability in (0, 1], or [0, 1] with allow_zero; ValueError naming it otherwise."""
    number = check_finite(name, value)
    if number > 1.0 or number < 0.0 or (number == 0.0 and not allow_zero):
        bound = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"{name} must be a probability in {bound}, got {value!r}")
    return number


def check_step_probabilities(name: str, values) -> np.ndarray:
    """A non-empty 1-D array of probabilities in (0, 1]."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of probabilities, got {values!r}") from None
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any((array <= 0.0) | (array > 1.0)):
        raise ValueError(f"{name} must hold probabilities in (0, 1], got {array.tolist()}")
    return array


def check_count(name: str, value) -> int:
    """A positive whole number of cells or replicates."""
    number = check_positive(name, value)
    if number != int(number):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(number)


# --- the chain ---------------------------------------------------------------------------


def cumulative_survival(step_probabilities) -> np.ndarray:
    """P_j = p_1 ... p_j: the fraction of cells that completes the first j steps."""
    return np.cumprod(check_step_probabilities("step_probabilities", step_probabilities))


def multiply_odds(probability, multiplier):
    """Raise the odds p/(1-p) of a step m-fold: p -> m p / (1 - p + m p).

    Works on arrays. p = 1 stays 1 (a certain step cannot be made more certain).
    """
    p = np.asarray(probability, dtype=float)
    if not np.all(np.isfinite(p)) or np.any((p < 0.0) | (p > 1.0)):
        raise ValueError(f"probability must lie in [0, 1], got {probability!r}")
    m = check_positive("multiplier", multiplier)
    result = m * p / (1.0 - p + m * p)
    return result if result.ndim else float(result)


def step_probabilities(hypoxia=None, caf_support=None, niche_priming=None,
                       immune_suppression=None, ecm_remodelling=None,
                       baseline=None) -> np.ndarray:
    """Step probabilities (arrival, initiation, colonisation) with the TME multipliers applied.

    Every factor multiplies the odds of the step named in FACTOR_STEP; factors on the same
    step multiply together. All multipliers at 1 give the calibrated baseline.
    """
    given = {"hypoxia": hypoxia, "caf_support": caf_support, "niche_priming": niche_priming,
             "immune_suppression": immune_suppression, "ecm_remodelling": ecm_remodelling}
    probabilities = (baseline_step_probabilities() if baseline is None
                     else check_step_probabilities("baseline", baseline).copy())
    if probabilities.size != len(STEPS):
        raise ValueError(f"baseline must hold {len(STEPS)} step probabilities")
    step_multiplier = dict.fromkeys(STEPS, 1.0)
    for factor, value in given.items():
        value = default(factor) if value is None else check_positive(factor, value)
        step_multiplier[FACTOR_STEP[factor]] *= value
    for index, step in enumerate(STEPS):
        probabilities[index] = multiply_odds(probabilities[index], step_multiplier[step])
    return probabilities


def expected_counts(n_cells, step_probs, q_dormant) -> np.ndarray:
    """Expected arrived, micrometastases, macrometastases and dormant cells from n_cells.

    Dormant cells are the arrived cells that did not start growing, times q.
    """
    n = check_positive("n_cells", n_cells)
    survival = cumulative_survival(step_probs)
    if survival.size != len(STEPS):
        raise ValueError(f"step_probs must hold {len(STEPS)} step probabilities")
    q = check_probability("q_dormant", q_dormant, allow_zero=True)
    arrived, micro, macro = n * survival
    return np.array([arrived, micro, macro, q * (arrived - micro)])


def simulate_cohorts(n_cells, step_probs, q_dormant, replicates, seed=SEED) -> np.ndarray:
    """Binomial attrition of `replicates` independent cohorts of n_cells cells.

    Returns an integer array (replicates, 4) with the columns of STAGES. Each step draws
    all replicates at once from numpy's seeded generator, so results are deterministic.
    """
    n = check_count("n_cells", n_cells)
    probs = check_step_probabilities("step_probs", step_probs)
    if probs.size != len(STEPS):
        raise ValueError(f"step_probs must hold {len(STEPS)} step probabilities")
    q = check_probability("q_dormant", q_dormant, allow_zero=True)
    replicates = check_count("replicates", replicates)
    rng = np.random.default_rng(seed)
    arrived = rng.binomial(n, probs[0], size=replicates)
    micro = rng.binomial(arrived, probs[1])
    macro = rng.binomial(micro, probs[2])
    dormant = rng.binomial(arrived - micro, q)
    return np.column_stack([arrived, micro, macro, dormant])


@dataclass(frozen=True)
class CascadeResult:
    """Expected and sampled counts for one set of step probabilities."""

    n_cells: int
    step_probs: np.ndarray
    q_dormant: float
    expected: np.ndarray   # (4,) in the order of STAGES
    samples: np.ndarray    # (replicates, 4) integers

    @property
    def mean(self) -> np.ndarray:
        return self.samples.mean(axis=0)

    @property
    def std(self) -> np.ndarray:
        return self.samples.std(axis=0, ddof=1)

    @property
    def analytic_std(self) -> np.ndarray:
        """Binomial standard deviations sqrt(N P (1 - P)) of the three chain counts."""
        survival = cumulative_survival(self.step_probs)
        return np.sqrt(self.n_cells * survival * (1.0 - survival))

    def per_million(self, values) -> np.ndarray:
        return np.asarray(values, dtype=float) * 1e6 / self.n_cells


def run_cascade(step_probs=None, n_cells=None, q_dormant=None, replicates=WIDGET_REPLICATES,
                seed=SEED) -> CascadeResult:
    """Expectation and seeded replicate cohorts side by side."""
    step_probs = baseline_step_probabilities() if step_probs is None else step_probs
    n_cells = default("cohort_size") if n_cells is None else n_cells
    q_dormant = default("q_dormant") if q_dormant is None else q_dormant
    probs = check_step_probabilities("step_probs", step_probs)
    expected = expected_counts(n_cells, probs, q_dormant)
    samples = simulate_cohorts(n_cells, probs, q_dormant, replicates, seed)
    return CascadeResult(check_count("n_cells", n_cells), probs, float(q_dormant), expected, samples)


def metastases_per_million(hypoxia=None, caf_support=None, niche_priming=None,
                           immune_suppression=None, ecm_remodelling=None) -> CascadeResult:
    """The chapter's widget model: a million disseminated cells under the chosen TME factors."""
    probs = step_probabilities(hypoxia, caf_support, niche_priming, immune_suppression,
                               ecm_remodelling)
    return run_cascade(probs)


# --- reading the chain -------------------------------------------------------------------


def log_loss_shares(step_probs) -> np.ndarray:
    """Each step's share of the total attrition, -ln p_j / sum(-ln p_i).

    On a log scale the losses of a chain add up, so these shares say which step removes
    most of the cells (the bottleneck). A certain step (p = 1) has share 0.
    """
    probs = check_step_probabilities("step_probs", step_probs)
    losses = -np.log(probs)
    total = losses.sum()
    if total == 0.0:
        raise ValueError("step_probs are all 1: there is no attrition to share out")
    return losses / total


def luzzi_published_fractions() -> dict:
    """Fractions of injected cells at each stage, as Luzzi et al. report or imply them."""
    extravasated = LUZZI_EXTRAVASATED_DAY3
    micro = extravasated * LUZZI_MICROMETS_PER_EXTRAVASATED
    return {
        "arrived": extravasated,
        "micrometastases": micro,
        "macrometastases": micro * LUZZI_MACRO_PER_MICROMET,
        "dormant": LUZZI_DORMANT_DAY13,
    }


def lost_after_extravasation(step_probs=None, q_dormant=None) -> float:
    """Fraction of disseminated cells that extravasate and then die without ever growing."""
    step_probs = baseline_step_probabilities() if step_probs is None else step_probs
    q_dormant = default("q_dormant") if q_dormant is None else q_dormant
    arrived, micro, _, dormant = expected_counts(1.0, step_probs, q_dormant)
    return float(arrived - micro - dormant)


#: The chapter's live panel: the model it reruns and the parameters on its sliders (the
#: benchmark times WIDGET_MODEL at these sliders' ends).
WIDGET_MODEL = metastases_per_million
WIDGET_CONTROLS = ("hypoxia", "caf_support", "niche_priming", "immune_suppression",
                   "ecm_remodelling")
