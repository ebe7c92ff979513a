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

from .parameters import (
    PROBABILITY,
    SEED,
    Array,
    Optional,
    Parameter,
    ParameterSet,
    Relation,
    checked,
    count,
    interval,
    positive,
    Reproduction,
)

__all__ = [
    "PARAMETERS", "STEPS", "STAGES", "FACTOR_STEP", "WIDGET_MODEL", "WIDGET_CONTROLS",
    "WIDGET_REPLICATES", "COHORT_SEED", "LUZZI_EXTRAVASATED_DAY3",
    "LUZZI_MICROMETS_PER_EXTRAVASATED", "LUZZI_MACRO_PER_MICROMET", "LUZZI_DORMANT_DAY13",
    "COUMANS_CELLS_PER_METASTASIS", "STEP_PROBABILITY", "ODDS_MULTIPLIER", "CELLS", "COHORT",
    "REPLICATES", "CHAIN", "THREE_STEPS", "CascadeResult", "baseline_step_probabilities",
    "cumulative_survival", "multiply_odds", "step_probabilities", "expected_counts",
    "simulate_cohorts", "run_cascade", "metastases_per_million", "log_loss_shares",
    "luzzi_published_fractions", "lost_after_extravasation",
    "CHAPTER", "MODEL_NAME", "REPRODUCTIONS",
]

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

# --- domains of the inputs ---------------------------------------------------------------

#: A step probability: a step no cell completes would end every chain, and its loss -ln p
#: (log_loss_shares) would be infinite, so p > 0.
STEP_PROBABILITY = interval(0.0, 1.0, open_low=True,
                            why="a step that no cell completes ends every chain")
#: An odds multiplier of a TME factor.
ODDS_MULTIPLIER = interval(1e-6, 1e6, why="no TME factor is thought to change a step's odds "
                           "a million-fold; factors on one step multiply, and stay finite")
#: A number of cells, not necessarily whole (expected counts; 1 gives fractions).
CELLS = positive(at_most=1e12, why="1e12 cells is a kilogram of tumour, more than any "
                 "cohort of disseminated cells")
#: A whole number of cells in a simulated cohort.
COHORT = count(1, at_most=1e12, why="1e12 cells is a kilogram of tumour, more than any "
               "cohort of disseminated cells")
#: Replicate cohorts: at least two, so that their spread is defined.
REPLICATES = count(2, at_most=1_000_000, why="a million cohorts pin the means to 0.1 % of "
                   "their spread; more only costs memory (4 counts each) and time")
#: A chain of any number of steps, and the three steps of STEPS.
CHAIN = Array(STEP_PROBABILITY, shape=(None,))
THREE_STEPS = Array(STEP_PROBABILITY, shape=(len(STEPS),))


def _derived_dormancy():
    """Probability that an extravasated cell which does not start growing is still a
    solitary dormant cell at day 13: 36 % of injected cells over the extravasated cells
    that did not form micrometastases (80 % x 39/40 of injected cells)."""
    not_growing = LUZZI_EXTRAVASATED_DAY3 * (1.0 - LUZZI_MICROMETS_PER_EXTRAVASATED)
    return LUZZI_DORMANT_DAY13 / not_growing


_MULTIPLIER_RANGE = dict(low=0.25, high=4.0, domain=ODDS_MULTIPLIER)

PARAMETERS = ParameterSet([
    Parameter(
        "p_arrival", r"p_1", LUZZI_EXTRAVASATED_DAY3, "1",
        "probability that a disseminated cell survives the circulation, arrests and "
        "extravasates", "luzzi1998",
        "abstract: 80 % of injected B16F1 cells survived in the liver microcirculation "
        "and extravasated by day 3",
        domain=STEP_PROBABILITY,
    ),
    Parameter(
        "p_initiation", r"p_2", LUZZI_MICROMETS_PER_EXTRAVASATED, "1",
        "probability that an extravasated cell forms a micrometastasis", "luzzi1998",
        "abstract: 1 in 40 extravasated cells formed a micrometastasis by day 3",
        domain=STEP_PROBABILITY,
    ),
    Parameter(
        "p_colonisation", r"p_3", LUZZI_MACRO_PER_MICROMET, "1",
        "probability that a micrometastasis grows into a macroscopic metastasis",
        "luzzi1998",
        "abstract: 1 in 100 micrometastases became macroscopic tumours by day 13",
        domain=STEP_PROBABILITY,
    ),
    Parameter(
        "q_dormant", r"q", round(_derived_dormancy(), 4), "1",
        "probability that an extravasated cell that does not grow stays as a solitary "
        "dormant cell (the rest die)", "luzzi1998",
        "derived from the abstract: 36 % of injected cells were solitary dormant cells "
        "at day 13, out of 80 % × 39/40 that extravasated and did not grow",
        domain=PROBABILITY,
    ),
    Parameter(
        "cohort_size", r"N", 10**6, "cells", "disseminated cells in one cohort", None,
        "the book's unit: results are given per million disseminated cells",
        domain=COHORT,
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
])

#: Replicate cohorts drawn for the widget and the chapter's figures, and their seed.
WIDGET_REPLICATES = 4000
COHORT_SEED = 2026


@checked(PARAMETERS)
def baseline_step_probabilities() -> np.ndarray:
    """The calibrated step probabilities (arrival, initiation, colonisation)."""
    return np.array([PARAMETERS.default(f"p_{step}") for step in STEPS])


# --- the chain ---------------------------------------------------------------------------


@checked(PARAMETERS, step_probabilities=CHAIN)
def cumulative_survival(step_probabilities: np.ndarray) -> np.ndarray:
    """P_j = p_1 ... p_j: the fraction of cells that completes the first j steps."""
    return np.cumprod(step_probabilities)


@checked(PARAMETERS, probability=Array(PROBABILITY, scalar_ok=True), multiplier=positive())
def multiply_odds(
    probability: float | np.ndarray, multiplier: float
) -> float | np.ndarray:
    """Raise the odds p/(1-p) of a step m-fold: p -> m p / (1 - p + m p).

    Works on arrays. p = 1 stays 1 (a certain step cannot be made more certain).
    """
    p, m = probability, multiplier
    result = m * p / (1.0 - p + m * p)
    return result if result.ndim else float(result)


@checked(PARAMETERS, baseline=Optional(THREE_STEPS))
def step_probabilities(hypoxia: float | None = None, caf_support: float | None = None,
                       niche_priming: float | None = None,
                       immune_suppression: float | None = None,
                       ecm_remodelling: float | None = None,
                       baseline: np.ndarray | None = None) -> np.ndarray:
    """Step probabilities (arrival, initiation, colonisation) with the TME multipliers applied.

    Every factor multiplies the odds of the step named in FACTOR_STEP; factors on the same
    step multiply together. All multipliers at 1 give the calibrated baseline, which is
    also the `baseline` when none is given.
    """
    given = {"hypoxia": hypoxia, "caf_support": caf_support, "niche_priming": niche_priming,
             "immune_suppression": immune_suppression, "ecm_remodelling": ecm_remodelling}
    probabilities = baseline_step_probabilities() if baseline is None else baseline
    step_multiplier = dict.fromkeys(STEPS, 1.0)
    for factor, value in given.items():
        step_multiplier[FACTOR_STEP[factor]] *= value
    for index, step in enumerate(STEPS):
        probabilities[index] = multiply_odds(probabilities[index], step_multiplier[step])
    return probabilities


@checked(PARAMETERS, n_cells=CELLS, step_probs=THREE_STEPS)
def expected_counts(
    n_cells: float, step_probs: np.ndarray, q_dormant: float
) -> np.ndarray:
    """Expected arrived, micrometastases, macrometastases and dormant cells from n_cells.

    Dormant cells are the arrived cells that did not start growing, times q.
    """
    arrived, micro, macro = n_cells * cumulative_survival(step_probs)
    return np.array([arrived, micro, macro, q_dormant * (arrived - micro)])


@checked(PARAMETERS, n_cells=COHORT, step_probs=THREE_STEPS, replicates=REPLICATES, seed=SEED)
def simulate_cohorts(
    n_cells: int,
    step_probs: np.ndarray,
    q_dormant: float,
    replicates: int,
    seed: int = COHORT_SEED,
) -> np.ndarray:
    """Binomial attrition of `replicates` independent cohorts of n_cells cells.

    Returns an integer array (replicates, 4) with the columns of STAGES. Each step draws
    all replicates at once from numpy's seeded generator, so results are deterministic.
    """
    rng = np.random.default_rng(seed)
    arrived = rng.binomial(n_cells, step_probs[0], size=replicates)
    micro = rng.binomial(arrived, step_probs[1])
    macro = rng.binomial(micro, step_probs[2])
    dormant = rng.binomial(arrived - micro, q_dormant)
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


@checked(PARAMETERS, step_probs=Optional(THREE_STEPS), replicates=REPLICATES, seed=SEED)
def run_cascade(*, step_probs: np.ndarray | None = None, cohort_size: int | None = None,
                q_dormant: float | None = None, replicates: int = WIDGET_REPLICATES,
                seed: int = COHORT_SEED) -> CascadeResult:
    """Expectation and seeded replicate cohorts side by side (step_probs None: the
    calibrated baseline)."""
    probs = baseline_step_probabilities() if step_probs is None else step_probs
    expected = expected_counts(cohort_size, probs, q_dormant)
    samples = simulate_cohorts(cohort_size, probs, q_dormant, replicates, seed)
    return CascadeResult(cohort_size, probs, q_dormant, expected, samples)


@checked(PARAMETERS)
def metastases_per_million(hypoxia: float | None = None, caf_support: float | None = None,
                           niche_priming: float | None = None,
                           immune_suppression: float | None = None,
                           ecm_remodelling: float | None = None) -> CascadeResult:
    """The chapter's widget model: a million disseminated cells under the chosen TME factors."""
    probs = step_probabilities(hypoxia, caf_support, niche_priming, immune_suppression,
                               ecm_remodelling)
    return run_cascade(step_probs=probs)


# --- reading the chain -------------------------------------------------------------------

_SOME_ATTRITION = Relation(
    "step_probs", lambda step_probs: bool(np.any(step_probs < 1.0)),
    "must hold a step below 1 (when all are 1 there is no attrition to share out)")


@checked(PARAMETERS, _SOME_ATTRITION, step_probs=CHAIN)
def log_loss_shares(step_probs: np.ndarray) -> np.ndarray:
    """Each step's share of the total attrition, -ln p_j / sum(-ln p_i).

    On a log scale the losses of a chain add up, so these shares say which step removes
    most of the cells (the bottleneck). A certain step (p = 1) has share 0.
    """
    losses = -np.log(step_probs)
    return losses / losses.sum()


@checked(PARAMETERS)
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


@checked(PARAMETERS, step_probs=Optional(THREE_STEPS))
def lost_after_extravasation(*, step_probs: np.ndarray | None = None,
                             q_dormant: float | None = None) -> float:
    """Fraction of disseminated cells that extravasate and then die without ever growing
    (step_probs None: the calibrated baseline)."""
    probs = baseline_step_probabilities() if step_probs is None else step_probs
    arrived, micro, _, dormant = expected_counts(1.0, probs, q_dormant)
    return float(arrived - micro - dormant)


#: The chapter's live panel: the model it reruns and the parameters on its sliders (the
#: benchmark times WIDGET_MODEL at these sliders' ends).
WIDGET_MODEL = metastases_per_million
WIDGET_CONTROLS = ("hypoxia", "caf_support", "niche_priming", "immune_suppression",
                   "ecm_remodelling")


# --- what this chapter reproduces (collected by chapter 11's table) ----------------------

CHAPTER = 1
MODEL_NAME = "metastatic cascade (binomial attrition)"


def _luzzi_row(stage: str, column: int, label: str, rounding: float) -> Reproduction:
    """Our seeded cohorts' mean fraction at `stage` against Luzzi et al.'s.

    Each cell reaches a stage independently, so a cohort's count at a stage is binomial and
    the mean fraction over R cohorts of N cells has the standard error sqrt(P (1 - P) / (N R)),
    with P the calibrated fraction; the tolerance is four of these, plus `rounding`."""
    n_cells, replicates = PARAMETERS.default("cohort_size"), WIDGET_REPLICATES
    fraction = expected_counts(1.0, baseline_step_probabilities(), PARAMETERS.default("q_dormant"))[column]
    standard_error = np.sqrt(fraction * (1.0 - fraction) / (n_cells * replicates))

    def ours() -> float:
        result = run_cascade()
        return result.mean[column] / result.n_cells

    return Reproduction(
        label, luzzi_published_fractions()[stage], ours, "luzzi1998", "abstract",
        float(4 * standard_error + rounding),
        f"4 binomial standard errors of the mean of {replicates} seeded cohorts"
        + (", plus the rounding of q to 4 decimals" if rounding else ""), "abstract")


# q_dormant is stored to 4 decimals: it moves the expected dormant fraction by at most
# 0.5e-4 times the fraction of cells that extravasate and do not grow.
_NOT_GROWING = LUZZI_EXTRAVASATED_DAY3 * (1.0 - LUZZI_MICROMETS_PER_EXTRAVASATED)
REPRODUCTIONS = (
    _luzzi_row("macrometastases", 2, "macrometastases per disseminated cell", 0.0),
    _luzzi_row("dormant", 3, "solitary dormant cells per disseminated cell", 0.5e-4 * _NOT_GROWING),
)
