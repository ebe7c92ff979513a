"""Tests of tmebook.immune: the Kuznetsov et al. (1994) effector-tumour model and our
immunosuppression extension, against algebra, published numbers and time integration."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tmebook import immune

BASE = immune.Model()
X_REST = BASE.sigma / BASE.delta  # effectors of a tumour-free host


# --- published parameters -------------------------------------------------------------------


def test_nondimensional_groups_reproduce_the_published_values():
    # Kuznetsov et al. printed the groups to four significant figures, so the exact ratios
    # of their dimensional estimates agree to within 0.1 % (alpha: 0.18/0.1101 = 1.6349
    # against the printed 1.636 is the largest gap, 0.07 %).
    ours = immune.nondimensional()
    for name, published in immune.NONDIMENSIONAL_PUBLISHED.items():
        assert ours[name] == pytest.approx(published, rel=1e-3), name
    # one unit of dimensionless time is 1/(n T0) = 9.08 days
    assert immune.days_per_unit_time() == pytest.approx(9.0827, rel=1e-4)


def test_nondimensionalisation_is_exact_for_round_numbers():
    dim = dict(s=2.0, p=3.0, g=4.0, m=5.0, d=6.0, a=7.0, b=8.0, n=0.5)
    groups = immune.nondimensional(dim, cell_scale=2.0)
    assert groups == pytest.approx(dict(sigma=1.0, rho=3.0, eta=2.0, mu=10.0, delta=6.0,
                                        alpha=7.0, beta=16.0))


def test_dimensional_and_dimensionless_systems_agree():
    # The same initial state integrated in cells and days (with the exact groups) lands on the
    # same point as the dimensionless system mapped back: checks the scaling end to end.
    from scipy.integrate import solve_ivp
    dim = {k: v[0] for k, v in immune.DIMENSIONAL_PUBLISHED.items()}
    model = immune.Model(**immune.nondimensional())

    def cells_and_days(t, z):
        E, T = z
        return [dim["s"] + dim["p"] * E * T / (dim["g"] + T) - dim["m"] * E * T - dim["d"] * E,
                dim["a"] * T * (1 - dim["b"] * T) - dim["n"] * E * T]

    days = 100.0
    E0, T0 = 3.2e5, 5.0e6
    ref = solve_ivp(cells_and_days, (0, days), [E0, T0], method="LSODA", rtol=1e-10, atol=1e-3)
    tau = days / immune.days_per_unit_time(dim["n"])
    ours = immune.simulate(E0 / 1e6, T0 / 1e6, tau, model, n_points=2)
    assert ours.effector_cells[-1] == pytest.approx(ref.y[0, -1], rel=1e-5)
    assert ours.tumour_cells[-1] == pytest.approx(ref.y[1, -1], rel=1e-5)


# --- equilibria at the published parameters ---------------------------------------------------


def test_published_parameters_give_four_equilibria_of_the_published_types():
    # Kuznetsov et al. 1994 (Fig. 3): A tumour-free saddle, B dormant stable focus (the
    # spiral of their Fig. 3, log scale), C saddle, D escape stable node.
    A, B, C, D = immune.equilibria()
    assert (A.kind, B.kind, C.kind, D.kind) == ("saddle", "stable focus", "saddle", "stable node")
    assert A.x == pytest.approx(BASE.sigma / BASE.delta) and A.y == 0.0
    assert B.y < C.y < D.y < 1 / BASE.beta


def test_equilibria_are_zeros_of_the_vector_field_and_match_numpy_roots():
    states = immune.equilibria()
    for e in states:
        assert np.max(np.abs(immune.rhs(0.0, [e.x, e.y], BASE))) < 1e-10
    roots = np.sort(np.roots(immune.equilibrium_cubic(BASE).coeffs).real)
    np.testing.assert_allclose([e.y for e in states[1:]], roots, rtol=1e-10)


@pytest.mark.parametrize("changes", [{}, {"suppression": 0.3}, {"mu": 0.0021},
                                     {"suppression": 0.6, "channels": ("killing",)},
                                     {"delta": 5.0, "alpha": 0.001, "mu": 100.0}])
def test_equilibria_solve_equilibrium_cubic_bit_for_bit(changes):
    # equilibria builds the cubic from plain floats (fast); it is the published one exactly
    model = immune.Model(**changes)
    assert immune._cubic_coefficients(model) == list(immune.equilibrium_cubic(model).coeffs)


def test_jacobian_matches_finite_differences():
    x, y, h = 1.3, 42.0, 1e-6
    model = immune.Model(suppression=0.2)
    J = immune.jacobian(x, y, model)
    numerical = np.column_stack([
        (immune.rhs(0, [x + h, y], model) - immune.rhs(0, [x - h, y], model)) / (2 * h),
        (immune.rhs(0, [x, y + h], model) - immune.rhs(0, [x, y - h], model)) / (2 * h),
    ])
    np.testing.assert_allclose(J, numerical, rtol=1e-6, atol=1e-9)


def test_stability_from_eigenvalues_agrees_with_time_integration():
    A, B, C, D = immune.equilibria()
    # stable states: a small kick decays back
    for stable in (B, D):
        end = immune.simulate(stable.x * 1.02, stable.y * 0.98, 600.0, n_points=2)
        assert end.x[-1] == pytest.approx(stable.x, rel=1e-4)
        assert end.y[-1] == pytest.approx(stable.y, rel=1e-4)
    # the saddle C: kicks along its unstable direction go to B on one side and D on the other
    values, vectors = np.linalg.eig(immune.jacobian(C.x, C.y, BASE))
    v = np.real(vectors[:, np.argmax(values.real)])
    ends = sorted(immune.final_state(C.x + 1e-3 * s * v[0], C.y + 1e-3 * s * v[1]).y for s in (1, -1))
    assert ends == pytest.approx([B.y, D.y], rel=1e-6)
    # the tumour-free saddle A: a tumour of one cell (1e-6) grows (alpha > sigma/delta)
    path = immune.simulate(A.x, 1e-6, 5.0, n_points=2)
    assert path.y[-1] > 1e-6


@pytest.mark.parametrize("x0, y0", [(1e3, 1.0), (5e5, 1e-6), (1e6, 500.0)])
def test_a_flood_of_effectors_eliminates_the_tumour_and_it_stays_eliminated(x0, y0):
    # Far more effectors than tumour cells kill the tumour to zero within the solver's
    # tolerance. The effectors then fall back below alpha, where y = 0 repels: the solver's
    # small negative y must not grow (it once grew until eta + y = 0 and the run failed).
    end = immune.simulate(x0, y0, 5000.0, n_points=2)
    assert abs(end.y[-1]) <= 1e3 * immune.ATOL
    assert end.x[-1] == pytest.approx(X_REST)


def test_a_tumour_below_one_cell_or_a_span_below_a_millionth_unit_is_refused():
    for y0 in (1e-300, 0.5 * immune.ONE_CELL):
        with pytest.raises(ValueError, match="^y0 must be 0 or"):
            immune.simulate(X_REST, y0, 10.0)
    assert immune.simulate(X_REST, 0.0, 10.0, n_points=2).y[-1] == 0.0
    with pytest.raises(ValueError, match="^tau_end"):
        immune.final_state(X_REST, 1.0, tau_end=1e-300)


def test_dormant_oscillation_period_matches_the_time_course():
    # Kuznetsov et al. 1994 Fig. 7: damped oscillations into dormancy. The period from the
    # Jacobian's eigenvalues, 2 pi / Im(lambda), against the spacing of successive maxima of
    # a long run near B (the linearisation holds near B: agreement to 1 %).
    B = immune.equilibria()[1]
    period = immune.oscillation_period(B)
    run = immune.simulate(B.x, B.y * 1.05, 12 * period, n_points=6000)
    peaks = np.flatnonzero((run.y[1:-1] > run.y[:-2]) & (run.y[1:-1] > run.y[2:])) + 1
    measured = np.diff(run.tau[peaks]).mean()
    assert measured == pytest.approx(period, rel=0.01)
    assert 90 < period * immune.days_per_unit_time() < 110  # about 99 days


def test_only_the_dormant_state_remains_at_the_published_low_mu():
    # Kuznetsov et al. 1994 Fig. 9: at mu = 0.0021 the saddle and the escape state have
    # annihilated. Our saddle-node lies between that mu and the estimated one.
    low = immune.Model(mu=immune.MU_ONLY_DORMANT_PUBLISHED)
    states = immune.equilibria(low)
    assert len(states) == 2 and states[1].stable and states[1].y < 20
    mu_sn = immune.saddle_node("mu", immune.MU_ONLY_DORMANT_PUBLISHED, BASE.mu)
    assert immune.MU_ONLY_DORMANT_PUBLISHED < mu_sn < BASE.mu
    assert len(immune.equilibria(immune.Model(mu=mu_sn * 0.999))) == 2
    assert len(immune.equilibria(immune.Model(mu=mu_sn * 1.001))) == 4


# --- thresholds and sneaking through ----------------------------------------------------------


@pytest.mark.parametrize("suppression, mu, x0", [(0.0, None, X_REST), (0.25, None, 1.0),
                                                  (0.0, 0.0055, 0.5)])
def test_escape_thresholds_from_the_separatrix_agree_with_forward_runs(suppression, mu, x0):
    model = immune.Model(suppression=suppression, **({} if mu is None else {"mu": mu}))
    thresholds = immune.escape_thresholds(x0, model)
    assert len(thresholds) >= 1
    D_y = immune.equilibria(model)[3].y
    for t in thresholds:
        below = immune.final_state(x0, t * 0.97, model).y
        above = immune.final_state(x0, t * 1.03, model).y
        # crossing a threshold switches the outcome between dormancy and escape
        assert (below == pytest.approx(D_y)) != (above == pytest.approx(D_y))


def test_sneaking_through_small_tumours_escape_where_medium_ones_are_held():
    # Above the heteroclinic threshold, with effectors primed to 10^6 cells, a small and a
    # large inoculum escape while a medium one is held dormant: "sneaking through".
    model = immune.Model(suppression=0.25)
    low, high = immune.escape_thresholds(1.0, model)
    D_y = immune.equilibria(model)[3].y
    outcomes = [immune.final_state(1.0, y0, model).y == pytest.approx(D_y)
                for y0 in (low / 10, np.sqrt(low * high), high * 3)]
    assert outcomes == [True, False, True]


@pytest.mark.parametrize("changes, x0, tau_end", [
    ({}, X_REST, 1000.0 / immune.days_per_unit_time()),  # the chapter's follow-up
    ({"mu": 0.0055}, 0.5, 1000.0 / immune.days_per_unit_time()),
    ({"suppression": 0.25}, 1.0, 1500.0),                # the chapter's long runs
])
def test_end_states_of_a_batch_agree_with_separate_runs(changes, x0, tau_end):
    # the chapter's sneaking-through figure: nine initial tumours from 1000 cells to the
    # carrying capacity, run together; each end agrees with its own `simulate` run (which
    # controls its error alone) to 1e-6, and a batch of one is that run
    model = immune.Model(**changes)
    sizes = np.logspace(-3, np.log10(500), 9)
    x_end, y_end = immune.end_states(x0, sizes, tau_end, model)
    alone = [immune.simulate(x0, y0, tau_end, model, n_points=2) for y0 in sizes]
    np.testing.assert_allclose(y_end, [run.y[-1] for run in alone], rtol=1e-6)
    np.testing.assert_allclose(x_end, [run.x[-1] for run in alone], rtol=1e-6)
    one = immune.end_states(x0, sizes[4], tau_end, model)
    np.testing.assert_allclose([one[0][0], one[1][0]], [alone[4].x[-1], alone[4].y[-1]],
                               rtol=1e-12)


@pytest.mark.parametrize("changes", [{}, {"mu": 0.0055}, {"suppression": 0.2}])
def test_unstable_manifold_end_at_its_tolerances_is_the_one_at_the_tight_ones(changes,
                                                                             monkeypatch):
    # unstable_manifold_end runs at MANIFOLD_RTOL, MANIFOLD_ATOL; at the 100 times tighter
    # RTOL, ATOL of every other run it ends at the same state, to 1e-6
    model = immune.Model(**changes)
    loose = immune.unstable_manifold_end(model)
    monkeypatch.setattr(immune, "MANIFOLD_RTOL", immune.RTOL)
    monkeypatch.setattr(immune, "MANIFOLD_ATOL", immune.ATOL)
    assert loose == pytest.approx(immune.unstable_manifold_end(model), rel=1e-6)


def test_heteroclinic_threshold_in_mu_separates_naive_hosts_outcomes():
    mu_h = immune.heteroclinic_threshold("mu", 0.004, 0.0055)
    assert BASE.mu < mu_h
    below, above = immune.Model(mu=mu_h * 0.99), immune.Model(mu=mu_h * 1.01)
    # a one-cell tumour in a naive host: held below the threshold, escapes above it
    assert immune.final_state(X_REST, 1e-6, below).y == pytest.approx(immune.equilibria(below)[1].y)
    assert immune.final_state(X_REST, 1e-6, above).y == pytest.approx(immune.equilibria(above)[3].y)


# --- immunosuppression -------------------------------------------------------------------------


def test_no_suppression_is_the_published_model():
    unsuppressed = immune.Model(suppression=0.0)
    assert unsuppressed.recruitment == BASE.rho and unsuppressed.killing == 1.0
    assert [e.y for e in immune.equilibria(unsuppressed)] == \
        [e.y for e in immune.equilibria()]


def test_the_suppression_fold_lies_at_0_402_and_the_slider_reaches_past_it():
    # the number chapter 4 shows (to three decimals); the record says its slider goes beyond
    fold = immune.saddle_node("suppression", 0.2, 0.6)
    assert round(fold, 3) == 0.402
    assert immune.PARAMETERS["suppression"].high > fold


def test_suppression_destroys_the_dormant_state_in_a_saddle_node():
    s_sn = immune.saddle_node("suppression", 0.2, 0.6)
    before = immune.equilibria(immune.Model(suppression=s_sn - 1e-6))
    after = immune.equilibria(immune.Model(suppression=s_sn + 1e-6))
    assert len(before) == 4 and len(after) == 2
    # B and C merge at the fold: their gap shrinks like the square root of the distance
    # to it (1e-6 -> a gap of a few tenths of a percent of y, against ~20 % at 1e-3)
    assert before[2].y / before[1].y < 1.02
    far = immune.equilibria(immune.Model(suppression=s_sn - 1e-4))
    assert (far[2].y - far[1].y) / (before[2].y - before[1].y) == pytest.approx(10.0, rel=0.05)
    # beyond the fold every tumour, however small, ends at the escape state
    past = immune.Model(suppression=s_sn + 0.02)
    escape = immune.equilibria(past)[1]
    for y0 in (1e-4, 1.0, 50.0):
        assert immune.simulate(X_REST, y0, 1500.0, past, n_points=2).y[-1] == \
            pytest.approx(escape.y, rel=1e-6)


@pytest.mark.parametrize("suppression", [0.0, 0.1, 0.2, 0.3, 0.38])
def test_root_found_dormant_state_is_where_long_runs_settle(suppression):
    model = immune.Model(suppression=suppression)
    B = immune.equilibria(model)[1]
    end = immune.simulate(B.x * 1.05, B.y * 0.95, 1500.0, model, n_points=2)
    assert end.y[-1] == pytest.approx(B.y, rel=1e-5)
    assert end.x[-1] == pytest.approx(B.x, rel=1e-5)


def test_suppression_of_killing_alone_keeps_the_dormant_state():
    # Only the recruitment channel removes the dormant state over this range: lowering
    # killing moves the y-nullcline right, which raises the effectors of B but keeps it.
    killing_only = dict(channels=("killing",))
    assert len(immune.equilibria(immune.Model(suppression=0.6, **killing_only))) == 4
    assert len(immune.equilibria(immune.Model(suppression=0.6, channels=("recruitment",)))) == 2


def test_dormant_tumour_grows_with_suppression():
    sizes = [immune.equilibria(immune.Model(suppression=s))[1].y for s in np.linspace(0, 0.4, 9)]
    assert np.all(np.diff(sizes) > 0)


@settings(max_examples=25, deadline=None)
@given(suppression=st.floats(0.0, 0.9), mu=st.floats(0.001, 0.01), delta=st.floats(0.1, 1.0))
def test_equilibria_are_genuine_and_the_count_matches_the_discriminant(suppression, mu, delta):
    model = immune.Model(suppression=suppression, mu=mu, delta=delta)
    states = immune.equilibria(model)
    for e in states:
        assert e.x > 0 and 0 <= e.y < 1 / model.beta
        residual = immune.rhs(0.0, [e.x, e.y], model)
        assert np.all(np.abs(residual) < 1e-8 * (1 + abs(e.x) + e.y))
    disc = immune.cubic_discriminant(model)
    positive_real_roots = [r for r in np.roots(immune.equilibrium_cubic(model).coeffs)
                           if abs(r.imag) < 1e-9 and 0 < r.real < 1 / model.beta]
    assert len(states) - 1 == len(positive_real_roots)
    if disc < 0:
        assert len(states) - 1 <= 1


def test_widget_model_is_deterministic_and_reports_the_outcome():
    a = immune.phase_portrait(0.0, 6.0)
    b = immune.phase_portrait(0.0, 6.0)
    np.testing.assert_array_equal(a.trajectory.y, b.trajectory.y)
    assert a.outcome == "dormant"
    assert immune.phase_portrait(0.5, 6.0).outcome == "escape"
    assert a.trajectory.days[-1] == pytest.approx(immune.FOLLOW_UP_DAYS)
    assert a.trajectory.tumour_cells[0] == pytest.approx(1e6)


# --- brackets of the fold and connection searches ------------------------------------------


def test_a_bracket_without_a_fold_is_refused_as_a_model_statement():
    with pytest.raises(ValueError, match="no saddle-node of mu"):
        immune.saddle_node("mu", 0.0031, 0.0032)


@pytest.mark.parametrize("low, high, message", [(0.5, 0.3, "high must exceed low"),
                                                (0.2, 1.0, "high must lie in the domain")])
def test_brackets_must_be_ordered_and_inside_the_parameter_domain(low, high, message):
    with pytest.raises(ValueError, match=message):
        immune.saddle_node("suppression", low, high)
