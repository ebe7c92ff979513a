"""Tests of tmebook.cascade: the chain of step probabilities, its binomial sampling and
the Luzzi et al. (1998) calibration."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from tmebook import cascade

BASE = cascade.baseline_step_probabilities()
Q = cascade.PARAMETERS.default("q_dormant")

probability = st.floats(min_value=1e-4, max_value=1.0, allow_nan=False)
multiplier = st.floats(min_value=0.05, max_value=20.0, allow_nan=False)


# --- the chain -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(probability, min_size=1, max_size=8))
def test_probabilities_multiply_along_the_chain(probs):
    survival = cascade.cumulative_survival(probs)
    assert survival[-1] == pytest.approx(math.prod(probs), rel=1e-12)
    # completing more steps can never be more likely than completing fewer
    assert np.all(np.diff(survival) <= 0.0)
    # the chain of the first j steps is the chain truncated at j
    for j in range(1, len(probs)):
        assert cascade.cumulative_survival(probs[:j])[-1] == pytest.approx(survival[j - 1])


def test_expected_counts_are_the_products_and_conserve_cells():
    n = 1e6
    arrived, micro, macro, dormant = cascade.expected_counts(n, BASE, Q)
    assert arrived == pytest.approx(n * BASE[0])
    assert micro == pytest.approx(n * BASE[0] * BASE[1])
    assert macro == pytest.approx(n * np.prod(BASE))
    # every arrived cell grows, stays dormant or dies: the dead are a non-negative remainder
    dead = arrived - micro - dormant
    assert 0.0 <= dead <= arrived
    assert dormant == pytest.approx(Q * (arrived - micro))


# --- the odds multipliers --------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(p=st.floats(0.0, 1.0), m1=multiplier, m2=multiplier)
def test_odds_multipliers_compose_and_stay_probabilities(p, m1, m2):
    once = cascade.multiply_odds(p, m1)
    assert 0.0 <= once <= 1.0
    # multiplying the odds twice is multiplying them by the product
    assert cascade.multiply_odds(once, m2) == pytest.approx(cascade.multiply_odds(p, m1 * m2),
                                                            rel=1e-9, abs=1e-12)
    # monotone: a larger multiplier never lowers the probability
    lo, hi = sorted((m1, m2))
    assert cascade.multiply_odds(p, lo) <= cascade.multiply_odds(p, hi) + 1e-15


def test_odds_multiplier_identity_and_rare_step_limit():
    assert cascade.multiply_odds(0.3, 1.0) == pytest.approx(0.3)
    assert cascade.multiply_odds(1.0, 0.25 * 16) == 1.0
    # a rare step changes almost exactly m-fold: relative error (m - 1) p for small p
    p, m = 1e-4, 3.0
    assert cascade.multiply_odds(p, m) / p == pytest.approx(m, rel=3 * (m - 1) * p)
    # an efficient step hardly moves: p = 0.8 can rise at most to 1 (x1.25)
    assert cascade.multiply_odds(0.8, 4.0) < 1.25 * 0.8


def test_factors_act_on_their_named_step_only():
    for factor, step in cascade.FACTOR_STEP.items():
        changed = cascade.step_probabilities(**{factor: 2.0})
        index = cascade.STEPS.index(step)
        others = [i for i in range(len(cascade.STEPS)) if i != index]
        np.testing.assert_array_equal(changed[others], BASE[others])
        assert changed[index] > BASE[index]
    np.testing.assert_array_equal(cascade.step_probabilities(), BASE)
    # two factors on one step multiply the odds together
    both = cascade.step_probabilities(caf_support=2.0, niche_priming=3.0)
    assert both[1] == pytest.approx(cascade.multiply_odds(BASE[1], 6.0))


def test_immune_suppression_on_the_bottleneck_moves_metastases_most():
    # Same multiplier on each step: the effect on N P_3 is largest on the least likely step.
    effect = {f: cascade.expected_counts(1e6, cascade.step_probabilities(**{f: 4.0}), Q)[2]
              for f in ("hypoxia", "caf_support", "immune_suppression")}
    assert effect["immune_suppression"] > effect["caf_support"] > effect["hypoxia"]


# --- stochastic version against the expectation -----------------------------------------------


@pytest.mark.parametrize("n_cells", [1_000, 100_000, 1_000_000])
def test_sample_mean_matches_the_expectation_within_binomial_error(n_cells):
    replicates = 4000
    result = cascade.run_cascade(cohort_size=n_cells, replicates=replicates)
    survival = cascade.cumulative_survival(BASE)
    # Each chain count is Binomial(N, P_j); its sample mean has standard error
    # sqrt(N P (1 - P) / R). A 4.5-SE band fails by chance with probability ~7e-6 per
    # count, and the seed is fixed, so the test is deterministic.
    standard_error = np.sqrt(n_cells * survival * (1 - survival) / replicates)
    assert np.all(np.abs(result.mean[:3] - n_cells * survival) < 4.5 * standard_error)
    # and the spread is binomial: sample SD within 5 % of sqrt(N P (1 - P))
    # (SD of a sample SD of 4000 draws is ~1.1 % of the SD)
    nonzero = result.analytic_std > 1.0
    np.testing.assert_allclose(result.std[:3][nonzero], result.analytic_std[nonzero], rtol=0.05)
    # dormant cells: mean q (N P_1 - N P_2); compare within 4.5 of its sample-based SE
    dormant_se = result.std[3] / np.sqrt(replicates)
    assert abs(result.mean[3] - result.expected[3]) < 4.5 * dormant_se


def test_thinned_counts_are_exactly_binomial():
    # n_3 ~ Binomial(N, p1 p2 p3): compare the sampled distribution with scipy's pmf.
    n_cells, replicates = 20_000, 20_000
    samples = cascade.simulate_cohorts(n_cells, BASE, Q, replicates, seed=7)[:, 2]
    expected_pmf = stats.binom(n_cells, np.prod(BASE))
    counts = np.bincount(samples, minlength=20)[:20]
    expected = expected_pmf.pmf(np.arange(20)) * replicates
    keep = expected > 5  # chi-square needs expected counts above ~5 per bin
    observed, expected = counts[keep], expected[keep]
    expected *= observed.sum() / expected.sum()
    _, p_value = stats.chisquare(observed, expected)
    assert p_value > 1e-4


def test_simulation_is_deterministic_and_seed_dependent():
    a = cascade.simulate_cohorts(10_000, BASE, Q, 50, seed=1)
    b = cascade.simulate_cohorts(10_000, BASE, Q, 50, seed=1)
    c = cascade.simulate_cohorts(10_000, BASE, Q, 50, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # counts never increase along the chain and never go negative
    assert np.all((a[:, 0] >= a[:, 1]) & (a[:, 1] >= a[:, 2]) & (a >= 0).all(axis=1))
    assert np.all(a[:, 3] <= a[:, 0] - a[:, 1])


# --- Luzzi et al. (1998) -------------------------------------------------------------------------


def test_calibration_reproduces_luzzi_1998():
    published = cascade.luzzi_published_fractions()
    ours = dict(zip(cascade.STAGES, cascade.expected_counts(1.0, BASE, Q)))
    for stage, value in published.items():
        # the parameters are rounded to 4 decimals in the records: relative tolerance 1e-3
        assert ours[stage] == pytest.approx(value, rel=1e-3)
    assert published["micrometastases"] == pytest.approx(0.02)      # 80 % x 1/40
    assert published["macrometastases"] == pytest.approx(2e-4)      # 2 % x 1/100


def test_luzzi_numbers_are_consistent_with_a_chain():
    # Dormant plus growing cells cannot exceed the cells that extravasated; the rest
    # (~42 % of injected cells) must have died after extravasation.
    published = cascade.luzzi_published_fractions()
    lost = cascade.lost_after_extravasation()
    assert published["dormant"] + published["micrometastases"] < published["arrived"]
    assert lost == pytest.approx(0.80 - 0.02 - 0.36, abs=1e-4)
    assert 0.0 < Q < 1.0


def test_post_extravasation_steps_are_the_bottleneck():
    shares = cascade.log_loss_shares(BASE)
    assert shares.sum() == pytest.approx(1.0)
    # arrival removes ~3 % of the log-attrition, growth steps the rest (Luzzi's conclusion)
    assert shares[0] < 0.05 and shares[1] + shares[2] > 0.95
    assert np.argmax(shares) == cascade.STEPS.index("colonisation")


def test_mouse_liver_is_far_more_efficient_than_the_human_estimate():
    # Coumans et al. (2013) fitted one metastasis per 6e7 disseminated cells in breast
    # cancer patients; the B16F1-in-liver chain gives one per 5000 extravasation-ready cells.
    mouse_per_million = 1e6 * np.prod(BASE)
    human_per_million = 1e6 / cascade.COUMANS_CELLS_PER_METASTASIS
    assert mouse_per_million == pytest.approx(200.0, rel=1e-3)
    assert mouse_per_million / human_per_million > 1e3


# --- widget ----------------------------------------------------------------------------------


def test_widget_model_at_the_slider_ends():
    low = cascade.WIDGET_MODEL(**{n: cascade.PARAMETERS[n].low for n in cascade.WIDGET_CONTROLS})
    base = cascade.WIDGET_MODEL()
    high = cascade.WIDGET_MODEL(**{n: cascade.PARAMETERS[n].high for n in cascade.WIDGET_CONTROLS})
    assert low.expected[2] < base.expected[2] < high.expected[2]
    assert base.samples.shape == (cascade.WIDGET_REPLICATES, len(cascade.STAGES))
    assert set(cascade.WIDGET_CONTROLS) == set(cascade.FACTOR_STEP)
    for name in cascade.WIDGET_CONTROLS:
        p = cascade.PARAMETERS[name]
        assert p.source is None and "illustrative" in p.where


# --- relations between arguments ----------------------------------------------------------


def test_shares_of_a_chain_without_attrition_are_refused():
    # a Relation: every step certain leaves no attrition to share out
    with pytest.raises(ValueError, match="step_probs"):
        cascade.log_loss_shares([1.0, 1.0])
