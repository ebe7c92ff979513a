"""Tests of tmebook.cafs: steady states, their stability, folds, hysteresis and inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tmebook import cafs

P = {name: p.value for name, p in cafs.PARAMETERS.items()}
R = cafs.PARAMETERS.resolve


def residuals(tau, c, **kw):
    return np.array(cafs.rhs(0.0, [tau, c], R(**kw)))


# --- steady states and stability ---------------------------------------------------------------


def test_steady_states_are_zeros_of_the_full_right_hand_side():
    for kw in ({}, {"activation_strength": 0.3}, {"drug_kill": 0.25, "caf_secretion": 3.0}):
        for tau, c, _ in cafs.steady_states(params=R(**kw)):
            assert np.max(np.abs(residuals(tau, c, **kw))) < 1e-10


def test_bistable_default_has_two_stable_and_one_saddle_tumour_state():
    states = [s for s in cafs.steady_states() if s[0] > 0]
    assert [s[2] for s in states] == [True, False, True]
    low, middle, high = (s[1] for s in states)
    assert low < 0.05 < middle < high
    # the tumour-free, CAF-free state is unstable: a tumour seeded without drug grows
    assert (0.0, 0.0, False) in cafs.steady_states()


def test_analytic_jacobian_matches_finite_differences():
    p = R(activation_strength=0.2, caf_growth_boost=1.5, drug_kill=0.05)
    for tau, c in [(0.3, 0.1), (0.8, 0.45), (1.0, 0.2)]:
        h = 1e-7
        numeric = np.column_stack([
            (np.array(cafs.rhs(0, [tau + h, c], p)) - np.array(cafs.rhs(0, [tau - h, c], p))) / (2 * h),
            (np.array(cafs.rhs(0, [tau, c + h], p)) - np.array(cafs.rhs(0, [tau, c - h], p))) / (2 * h),
        ])
        analytic = cafs.jacobian(tau, c, p)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_long_runs_end_on_the_stable_states_found_by_root_finding():
    stable = [(tau, c) for tau, c, ok in cafs.steady_states() if ok and tau > 0]
    ends = []
    for start in (cafs.FEW_CAFS, cafs.MANY_CAFS):
        _, tau, c = cafs.simulate(start, t_end=600.0)
        ends.append((tau[-1], c[-1]))
    np.testing.assert_allclose(ends, stable, atol=1e-6)


def test_branch_stability_is_the_sign_of_the_continuation_slope():
    # With tau = 1 the Jacobian is triangular: the CAF eigenvalue has the sign of -dsigma/dc.
    for tau, c, ok in cafs.steady_states():
        if tau == 1.0:
            _, slope = cafs.activation_branch(c)
            assert ok == (slope > 0)


def test_activation_branch_inverts_the_steady_state_equation():
    c = np.linspace(0.01, 0.6, 50)
    sigma, _ = cafs.activation_branch(c)
    for ci, si in zip(c, sigma):
        if si >= 0:
            assert np.max(np.abs(residuals(1.0, ci, activation_strength=si))) < 1e-12


def test_saturating_signal_gives_the_largest_caf_fraction():
    c_max = cafs.max_caf_fraction()
    assert c_max == pytest.approx(P["activation_rate"] / (P["activation_rate"] + P["caf_loss"]))
    states = cafs.steady_states(params=R(activation_strength=1e4))
    assert max(c for _, c, _ in states) == pytest.approx(c_max, rel=1e-6)


# --- folds, bistable window, hysteresis --------------------------------------------------------


def test_folds_are_saddle_nodes_with_a_zero_eigenvalue():
    for c, sigma in cafs.fold_points():
        jac = cafs.jacobian(1.0, c, R(activation_strength=sigma))
        assert abs(np.linalg.det(jac)) < 1e-8
        assert np.max(np.abs(residuals(1.0, c, activation_strength=sigma))) < 1e-12


def test_number_of_states_changes_across_the_folds():
    low, high = cafs.bistable_window()
    count = lambda s: sum(1 for tau, _, _ in cafs.steady_states(params=R(activation_strength=s))
                          if tau > 0)
    assert count(low - 1e-3) == 1 and count(high + 1e-3) == 1
    assert count(0.5 * (low + high)) == 3


def test_quasi_static_ramp_shows_hysteresis_with_jumps_at_the_folds():
    low, high = cafs.bistable_window()
    up = np.linspace(0.0, 0.4, 41)
    path = cafs.hysteresis_sweep(np.concatenate([up, up[::-1]]))
    c_up, c_down = path[: up.size, 1], path[up.size:, 1][::-1]
    inside = (up > low + 0.01) & (up < high - 0.01)
    assert np.all(c_down[inside] - c_up[inside] > 0.3)  # off on the way up, on on the way down
    outside = (up < low - 0.01) | (up > high + 0.01)
    np.testing.assert_allclose(c_up[outside], c_down[outside], atol=1e-5)
    jump_up = up[np.argmax(np.diff(c_up)) + 1]  # first strength past the switch-on
    assert high <= jump_up < high + 0.01 + 1e-12


def test_caf_secretion_thresholds_bound_the_three_regimes():
    cusp, irreversible = cafs.critical_caf_secretions()
    assert cusp < P["caf_secretion"] < irreversible
    assert cafs.bistable_window(R(caf_secretion=0.98 * cusp)) is None
    assert cafs.bistable_window(R(caf_secretion=1.02 * cusp)) is not None
    assert cafs.bistable_window(R(caf_secretion=0.98 * irreversible))[0] > 0
    assert cafs.bistable_window(R(caf_secretion=1.02 * irreversible))[0] < 0
    # above it, activated CAFs persist after the tumour signal is gone (Kojima et al. 2010)
    _, _, c = cafs.simulate((0.0, 0.5), t_end=600.0,
                            params=R(caf_secretion=1.05 * irreversible, activation_strength=0.0))
    assert c[-1] > 0.3
    _, _, c = cafs.simulate((0.0, 0.5), t_end=600.0,
                            params=R(caf_secretion=0.95 * irreversible, activation_strength=0.0))
    assert c[-1] < 1e-3


def test_adler_parameters_allow_a_self_sustaining_myofibroblast_state():
    # Adler et al. (2020): myofibroblasts alone can persist on autocrine PDGF ('cold
    # fibrosis'). Their table's rates give occupancy 240/510 against the 0.3/0.9 needed.
    occupancy, needed = cafs.adler_autocrine_occupancy()
    assert occupancy == pytest.approx(0.4706, abs=1e-4)
    assert needed == pytest.approx(1 / 3)
    assert occupancy > needed


# --- the tumour side -----------------------------------------------------------------------------


def test_caf_support_speeds_tumour_growth():
    t, tau_few, _ = cafs.simulate((0.05, 0.0), params=R(caf_growth_boost=1.0, activation_strength=0.0,
                                                       caf_secretion=0.0))
    # no CAFs at all: plain logistic growth, known in closed form
    r = P["tumour_growth"]
    exact = 1.0 / (1.0 + (1 / 0.05 - 1) * np.exp(-r * t))
    np.testing.assert_allclose(tau_few, exact, atol=1e-6)
    _, tau_many, _ = cafs.simulate(cafs.MANY_CAFS, params=R(activation_strength=0.3))
    half = lambda tau: t[np.argmax(tau >= 0.5)]
    assert half(tau_many) < half(tau_few)


def test_caf_support_lets_a_tumour_persist_under_a_drug():
    # Drug kill between r and r (1 + eps c_on): the tumour survives only with CAFs on.
    kw = dict(drug_kill=0.25, caf_secretion=3.0, activation_strength=0.15)
    states = cafs.steady_states(params=R(**kw))
    assert any(ok and tau > 0 and c > 0.3 for tau, c, ok in states)
    assert any(ok and tau == 0 and c == 0 for tau, c, ok in states)
    c_on = max(c for _, c, ok in states if ok)
    assert P["tumour_growth"] < 0.25 < P["tumour_growth"] * (1 + c_on)


def test_runs_are_deterministic():
    a, b = cafs.caf_response(), cafs.caf_response()
    np.testing.assert_array_equal(a.caf, b.caf)
    np.testing.assert_array_equal(a.tumour, b.tumour)


# --- properties ----------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(strength=st.floats(0.0, 0.5), secretion=st.floats(0.0, 4.0), boost=st.floats(0.0, 3.0))
def test_every_steady_state_solves_the_equations_and_stays_in_range(strength, secretion, boost):
    kw = dict(activation_strength=strength, caf_secretion=secretion, caf_growth_boost=boost)
    states = cafs.steady_states(params=R(**kw))
    assert any(ok for _, _, ok in states)  # at least one attractor
    for tau, c, _ in states:
        assert 0 <= tau <= 1 and 0 <= c < cafs.max_caf_fraction()
        assert np.max(np.abs(residuals(tau, c, **kw))) < 1e-9


@settings(max_examples=20, deadline=None)
@given(strength=st.floats(0.0, 0.5), secretion=st.floats(0.0, 4.0))
def test_trajectories_stay_fractions(strength, secretion):
    _, tau, c = cafs.simulate(cafs.FEW_CAFS, t_end=60.0,
                              params=R(activation_strength=strength, caf_secretion=secretion))
    assert np.all((tau > 0) & (tau <= 1 + 1e-9))
    assert np.all((c >= -1e-12) & (c <= cafs.max_caf_fraction() + 1e-9))


# --- bad input -----------------------------------------------------------------------------------

BAD_CALLS = [  # conditions between arguments (Relations); the contract test covers the rest
    ("c", lambda: cafs.activation_branch([0.1, 0.99])),
    ("c", lambda: cafs.activation_branch(0.5, R(activation_rate=0.1, caf_loss=0.3))),
    ("hill", lambda: cafs.critical_caf_secretions(hill=1.0)),
]


@pytest.mark.parametrize("name, call", BAD_CALLS, ids=[f"{i}-{name}" for i, (name, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_parameter(name, call):
    with pytest.raises(ValueError, match=name):
        call()
