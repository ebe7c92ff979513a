"""Tests of tmebook.ecosystem: equilibria, their stability and the four regimes, checked
against root finding, finite differences, the exact logistic solution and long integrations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import root

from tmebook import ecosystem
from tmebook.ecosystem import TumourHostModel

BASE = TumourHostModel()
K_N, K_T = BASE.host_capacity, BASE.tumour_capacity

#: One parameter set well inside each regime (boundaries at a_TN = 1.2, a_NT = 0.833), plus
#: a helping host (a_TN < 0). Slowest decay rate in each is >= 0.02/day, so t = 3000 days is
#: more than 60 e-folds: far below the tolerances used below.
REGIME_CASES = {
    "tumour takeover": dict(alpha_tn=0.6, alpha_nt=1.0),
    "host holds": dict(alpha_tn=1.6, alpha_nt=0.5),
    "coexistence": dict(alpha_tn=0.5, alpha_nt=0.5),
    "bistable": dict(alpha_tn=1.6, alpha_nt=1.2),
    "co-opted stroma": dict(alpha_tn=-0.6, alpha_nt=0.5),
}


def final_state(model, start, t_end=3000.0):
    _, states = ecosystem.simulate(model, [start], t_end, n_points=2)
    return states[0, :, -1]


# --- equilibria are roots, eigenvalues are right ---------------------------------------------


@pytest.mark.parametrize("case", REGIME_CASES)
def test_equilibria_are_roots_found_by_a_root_finder(case):
    model = BASE.with_(**REGIME_CASES[case])
    for eq in model.equilibria():
        assert np.max(np.abs(model.rhs(0.0, eq.state))) < 1e-14
        # scipy's root finder, started 5 % away, lands on the analytic equilibrium
        guess = eq.state + 0.05 * np.array([K_N, K_T]) * np.array([1, -1])
        sol = root(lambda y: model.rhs(0.0, y), guess, jac=lambda y: model.jacobian(*y), tol=1e-13)
        if sol.success and np.linalg.norm(sol.x - eq.state) < 0.1:
            assert sol.x == pytest.approx(eq.state, abs=1e-10)
    interior = next(e for e in model.equilibria() if e.name == "coexistence")
    sol = root(lambda y: model.rhs(0.0, y), interior.state * 1.03, tol=1e-13)
    assert sol.success and sol.x == pytest.approx(interior.state, abs=1e-10)


@pytest.mark.parametrize("case", REGIME_CASES)
def test_analytic_eigenvalues_match_the_numerical_jacobian(case):
    model = BASE.with_(**REGIME_CASES[case])
    h = 1e-6
    for eq in model.equilibria():
        jac = model.jacobian(*eq.state)
        # the analytic Jacobian agrees with centred differences of the right-hand side
        fd = np.column_stack([(model.rhs(0, eq.state + h * e) - model.rhs(0, eq.state - h * e)) / (2 * h)
                              for e in np.eye(2)])
        assert jac == pytest.approx(fd, abs=1e-8)
        numeric = np.sort_complex(np.linalg.eigvals(jac).astype(complex))
        analytic = np.sort_complex(np.asarray(eq.eigenvalues, dtype=complex))
        assert numeric == pytest.approx(analytic, abs=1e-12)


@pytest.mark.parametrize("case, expected", [
    ("tumour takeover", {"tumour only"}),
    ("host holds", {"host only"}),
    ("coexistence", {"coexistence"}),
    ("bistable", {"host only", "tumour only"}),
    ("co-opted stroma", {"coexistence"}),
])
def test_eigenvalue_signs_match_the_analytic_regime(case, expected):
    model = BASE.with_(**REGIME_CASES[case])
    assert model.regime() == ("coexistence" if case == "co-opted stroma" else case)
    assert {e.name for e in model.attractors()} == expected
    # stable = all eigenvalues of the numerical Jacobian have negative real part
    for eq in model.equilibria():
        if eq.feasible:
            numerically_stable = np.all(np.real(np.linalg.eigvals(model.jacobian(*eq.state))) < 0)
            assert numerically_stable == eq.stable
    assert next(e for e in model.equilibria() if e.name == "extinction").kind == "unstable node"


def test_bistable_interior_equilibrium_is_a_saddle():
    model = BASE.with_(**REGIME_CASES["bistable"])
    interior = next(e for e in model.equilibria() if e.name == "coexistence")
    assert interior.feasible and interior.kind == "saddle"
    assert 1 - model.alpha_nt * model.alpha_tn < 0  # the product of the interactions exceeds 1


# --- numerical trajectories converge to the predicted equilibrium ------------------------------


@pytest.mark.parametrize("case", ["tumour takeover", "host holds", "coexistence", "co-opted stroma"])
def test_trajectories_converge_to_the_single_attractor(case):
    model = BASE.with_(**REGIME_CASES[case])
    (attractor,) = model.attractors()
    # from the seeded tumour and from points all over the positive quadrant
    for start in [ecosystem.seeded_tumour(model), [0.05, 1.4], [1.4, 1.4], [0.3, 0.02]]:
        assert final_state(model, start) == pytest.approx(attractor.state, abs=1e-6)


def test_bistable_outcome_depends_on_the_side_of_the_separatrix():
    model = BASE.with_(**REGIME_CASES["bistable"])
    curve = ecosystem.separatrix(model)
    # it runs from (close to) the origin ...
    assert np.hypot(curve[0][0] / K_N, curve[0][1] / K_T) == pytest.approx(ecosystem.ORIGIN_STOP, rel=1e-3)
    saddle = next(e for e in model.equilibria() if e.name == "coexistence").state
    assert np.min(np.linalg.norm(curve - saddle, axis=1)) < 1e-5  # ... through the saddle
    # points just either side of the curve go to different attractors
    normal = np.array([1.0, -1.0]) / np.sqrt(2)  # the curve rises through the quadrant
    tested = 0
    for point in curve[:: max(1, len(curve) // 15)]:
        if point.min() < 0.05 or point.max() > 1.3:
            continue
        host_side = final_state(model, point + 0.01 * normal)
        tumour_side = final_state(model, point - 0.01 * normal)
        assert host_side == pytest.approx([K_N, 0.0], abs=1e-6)
        assert tumour_side == pytest.approx([0.0, K_T], abs=1e-6)
        tested += 1
    assert tested >= 4
    # the seeded tumour starts on the host side: the resident wins
    assert final_state(model, ecosystem.seeded_tumour(model)) == pytest.approx([K_N, 0.0], abs=1e-6)


def test_host_alone_follows_the_exact_logistic_curve():
    model = BASE
    t, states = ecosystem.simulate(model, [[0.05, 0.0]], 100.0, n_points=50)
    r, n0 = model.host_growth_rate, 0.05
    exact = K_N / (1 + (K_N / n0 - 1) * np.exp(-r * t))
    assert np.max(np.abs(states[0, 0] - exact)) < 1e-6  # rtol 1e-8 over 100 days
    assert np.all(states[0, 1] == 0.0)  # the tumour-free axis is invariant


def test_takeover_time_matches_the_trajectory():
    model = BASE
    t_cross = ecosystem.takeover_time(model)
    t, states = ecosystem.simulate(model, [ecosystem.seeded_tumour(model)], 2 * t_cross, n_points=401)
    first = t[np.argmax(states[0, 1] > states[0, 0])]
    assert abs(first - t_cross) <= t[1] - t[0]
    assert ecosystem.takeover_time(BASE.with_(**REGIME_CASES["host holds"])) == float("inf")


def test_regime_map_agrees_with_the_analytic_boundaries():
    a_tn = np.array([-0.5, 0.4, 0.9, 1.5, 1.9])
    a_nt = np.array([0.2, 0.6, 1.1, 1.6])
    share = ecosystem.regime_map(a_tn, a_nt)
    for i, nt in enumerate(a_nt):
        for j, tn in enumerate(a_tn):
            model = BASE.with_(alpha_tn=tn, alpha_nt=nt)
            regime = model.regime()
            if regime in ("host holds", "bistable"):  # the seed cannot invade
                assert share[i, j] < 1e-3
            elif regime == "tumour takeover":
                assert share[i, j] > 1 - 1e-3
            else:
                n, tt = model.attractors()[0].state
                assert share[i, j] == pytest.approx(tt / (n + tt), abs=1e-3)


def test_widget_tolerance_draws_the_same_curves():
    # The live panel integrates with a looser tolerance; its curves stay within 1e-4 of
    # the strict solution (a figure pixel is ~5e-3 of the axis range).
    run = ecosystem.tumour_host_run(alpha_tn=1.6, alpha_nt=1.2)
    _, strict = ecosystem.simulate(run.model, [ecosystem.seeded_tumour(run.model)], run.t[-1],
                                   n_points=len(run.t))
    assert np.max(np.abs(strict[0] - run.seed)) < 1e-4
    strict = ecosystem.separatrix(run.model)
    start, step = strict[:-1], np.diff(strict, axis=0)
    for point in run.separatrix:  # distance from each loose vertex to the strict polyline
        along = np.clip(np.sum((point - start) * step, axis=1) / np.sum(step**2, axis=1), 0, 1)
        assert np.min(np.linalg.norm(start + along[:, None] * step - point, axis=1)) < 1e-3


def test_runs_are_deterministic():
    a, b = ecosystem.tumour_host_run(), ecosystem.tumour_host_run()
    np.testing.assert_array_equal(a.seed, b.seed)
    np.testing.assert_array_equal(a.trajectories, b.trajectories)
    assert a.regime == "tumour takeover" and a.separatrix is None
    assert ecosystem.tumour_host_run(alpha_tn=1.6, alpha_nt=1.2).separatrix is not None


# --- properties ------------------------------------------------------------------------------------

rates = st.floats(0.02, 2.0)
interaction = st.floats(-0.8, 2.0)
competition = st.floats(0.0, 2.0)


@settings(max_examples=60, deadline=None)
@given(a_tn=interaction, a_nt=competition, k_t=st.floats(0.5, 2.0))
def test_interior_equilibrium_is_feasible_iff_invasion_rates_share_a_sign(a_tn, a_nt, k_t):
    model = BASE.with_(alpha_tn=a_tn, alpha_nt=a_nt, tumour_capacity=k_t)
    lam_t, lam_n = model.invasion_rates()
    if min(abs(lam_t), abs(lam_n)) < 1e-6 or abs(1 - a_tn * a_nt) < 1e-6:
        return
    interior = next(e for e in model.equilibria() if e.name == "coexistence")
    assert interior.feasible == (lam_t * lam_n > 0)
    # and it is stable exactly in the coexistence regime
    if interior.feasible:
        assert interior.stable == (model.regime() == "coexistence")


@settings(max_examples=25, deadline=None)
@given(r_n=rates, r_t=rates, a_tn=st.sampled_from([0.6, 1.6, 0.5, -0.6]),
       a_nt=st.sampled_from([1.0, 0.5]))
def test_growth_rates_change_the_speed_not_the_outcome(r_n, r_t, a_tn, a_nt):
    reference = BASE.with_(alpha_tn=a_tn, alpha_nt=a_nt)
    model = reference.with_(host_growth_rate=r_n, tumour_growth_rate=r_t)
    assert model.regime() == reference.regime()
    slowest = min(abs(ev) for e in model.attractors() for ev in np.real(e.eigenvalues))
    end = final_state(model, ecosystem.seeded_tumour(model), t_end=40.0 / slowest)
    assert end == pytest.approx(reference.attractors()[0].state, abs=1e-5)


@settings(max_examples=25, deadline=None)
@given(a_tn=interaction, a_nt=competition, n0=st.floats(0.0, 1.5), t0=st.floats(0.0, 1.5))
def test_densities_stay_non_negative_and_bounded(a_tn, a_nt, n0, t0):
    model = BASE.with_(alpha_tn=a_tn, alpha_nt=a_nt)
    _, states = ecosystem.simulate(model, [[n0, t0]], 200.0, n_points=50)
    assert np.all(states >= -1e-9)
    # N never exceeds max(N0, K_N); T never exceeds max(T0, K_T - a_TN K_N) (helping host)
    assert np.all(states[0, 0] <= max(n0, K_N) + 1e-6)
    assert np.all(states[0, 1] <= max(t0, K_T + max(0.0, -a_tn) * max(n0, K_N)) + 1e-6)


# --- bad input ---------------------------------------------------------------------------------------

BAD_CALLS = [
    ("host_growth_rate", lambda: TumourHostModel(host_growth_rate=-0.1)),
    ("tumour_growth_rate", lambda: TumourHostModel(tumour_growth_rate=0.0)),
    ("tumour_growth_rate", lambda: ecosystem.tumour_host_run(tumour_growth_rate=float("nan"))),
    ("host_capacity", lambda: TumourHostModel(host_capacity=float("inf"))),
    ("tumour_capacity", lambda: TumourHostModel(tumour_capacity=-1.0)),
    ("alpha_tn", lambda: ecosystem.tumour_host_run(alpha_tn=float("nan"))),
    ("alpha_tn", lambda: TumourHostModel(alpha_tn="strong")),
    ("alpha_nt", lambda: ecosystem.tumour_host_run(alpha_nt=-0.5)),
    ("alpha_nt", lambda: BASE.with_(alpha_nt=float("inf"))),
    ("initial_states", lambda: ecosystem.simulate(BASE, [[1.0, 0.1, 0.2]], 10.0)),
    ("initial_states", lambda: ecosystem.simulate(BASE, [[-1.0, 0.1]], 10.0)),
    ("initial_states", lambda: ecosystem.simulate(BASE, [[float("nan"), 0.1]], 10.0)),
    ("initial_states", lambda: ecosystem.simulate(BASE, np.empty((0, 2)), 10.0)),
    ("t_end", lambda: ecosystem.simulate(BASE, [[1.0, 0.1]], -5.0)),
    ("n_points", lambda: ecosystem.simulate(BASE, [[1.0, 0.1]], 5.0, n_points=1)),
    ("rtol", lambda: ecosystem.simulate(BASE, [[1.0, 0.1]], 5.0, rtol=0.0)),
    ("n_points", lambda: ecosystem.simulate(BASE, [[1.0, 0.1]], 5.0, n_points=float("nan"))),
    ("t_max", lambda: ecosystem.takeover_time(BASE, t_max=0.0)),
    ("alpha_nt_values", lambda: ecosystem.regime_map([0.5], [-1.0])),
    ("alpha_tn_values", lambda: ecosystem.regime_map([[0.5]], [1.0])),
]


@pytest.mark.parametrize("name, call", BAD_CALLS, ids=[f"{i}-{name}" for i, (name, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_parameter(name, call):
    with pytest.raises(ValueError, match=name):
        call()
