"""Tests of tmebook.growth (Hahnfeldt et al. 1999): equilibria and stability, the published
steady state, exact Gompertz growth, the checked derivatives and arguments that do not fit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tmebook import growth as gr

LAM1 = gr.PARAMETERS.default("growth_rate")
B = gr.PARAMETERS.default("stimulation")
D = gr.PARAMETERS.default("inhibition")

def test_steady_state_reproduces_the_published_value():
    ours = gr.hahnfeldt_steady_state()
    assert ours == pytest.approx((B / D) ** 1.5, rel=1e-12)
    # "About 17,400 mm^3" (text on Fig. 4A): (b/d)^(3/2) with the printed b and d is 17,346,
    # which rounds to 17,300, so three figures alone (+/-50 mm^3) do not cover it; the
    # rounding of b and d to three figures adds up to 1.5 (0.005/b + 0.000005/d) of it.
    assert ours == pytest.approx(17_346.5, abs=0.1)
    assert abs(ours - gr.HAHNFELDT_STEADY_STATE_MM3) > 50.0
    assert gr.STEADY_STATE_TOLERANCE_MM3 == pytest.approx(50.0 + 1.5 * (0.005 / B + 0.000005 / D) * ours)
    assert 0.004 <= gr.STEADY_STATE_TOLERANCE_MM3 / gr.HAHNFELDT_STEADY_STATE_MM3 <= 0.006
    row, = gr.REPRODUCTIONS
    assert row.agrees and row.tolerance == gr.STEADY_STATE_TOLERANCE_MM3
    assert row.published == 17_400.0 and row.where == "text on Fig. 4A, p. 4773"
    # b and d moved by half a unit of their last printed figure give a steady state that
    # rounds to 17,400: the quote and the printed parameters are consistent
    assert abs(((B + 0.005) / (D - 0.000005)) ** 1.5 - gr.HAHNFELDT_STEADY_STATE_MM3) < 50.0


def test_table_1_values_are_the_defaults_with_their_provenance():
    # Hahnfeldt et al. 1999, Table 1 (read in the paper's text)
    for name, value in (("growth_rate", 0.192), ("stimulation", 5.85), ("inhibition", 0.00873),
                        ("capacity_loss", 0.0), ("initial_capacity", 625.0)):
        record = gr.PARAMETERS[name]
        assert record.value == value and record.source == "hahnfeldt1999", name
        assert record.where.startswith("Table 1"), name
        assert "not confirmed" not in record.where, name
    # V0 is the one starting value the paper was not read for
    assert gr.PARAMETERS["initial_volume"].source is None


def test_the_growth_term_is_the_natural_logarithm_of_eq_c1():
    # Eq. C1 is the Gompertz limit of generalised logistic growth, (1 - x^a)/a -> -ln x as
    # a -> 0: the natural logarithm, which hahnfeldt_rhs uses (log10 is only a variant).
    x = 0.3
    assert (1 - x ** 1e-8) / 1e-8 == pytest.approx(-np.log(x), rel=1e-6)
    v, k = 180.0, 625.0
    d_log_v, _ = gr.hahnfeldt_rhs(0.0, np.log([v, k]), LAM1, B, D)
    assert d_log_v == pytest.approx(-LAM1 * np.log(v / k), rel=1e-14)


def test_steady_state_three_ways_agree():
    analytic = gr.hahnfeldt_steady_state()
    by_root = gr.hahnfeldt_steady_state_by_root(guess=(2000.0, 9000.0))
    assert by_root == pytest.approx([analytic, analytic], rel=1e-9)
    # long integration: the slow eigenvalue is ~0.127/day, so 400 days shrink the initial
    # distance by e^-50; the integrator's rtol (1e-10 here) then bounds the error.
    curve = gr.simulate_hahnfeldt(400.0, n_points=3, rtol=1e-10, atol=1e-12)
    assert curve.volume[-1] == pytest.approx(analytic, rel=1e-6)
    assert curve.capacity[-1] == pytest.approx(analytic, rel=1e-6)


def test_jacobian_at_the_steady_state_is_analytic_and_stable():
    vs = gr.hahnfeldt_steady_state()
    jac = gr.hahnfeldt_jacobian(vs, vs)
    # at V = K = (b/d)^(3/2): [[-lambda1, lambda1], [b/3, -b]]
    assert jac == pytest.approx(np.array([[-LAM1, LAM1], [B / 3, -B]]), rel=1e-10)
    # compare with a centred finite-difference Jacobian of (dV/dt, dK/dt)
    def rates(v, k):
        dlog = gr.hahnfeldt_rhs(0.0, [np.log(v), np.log(k)], LAM1, B, D)
        return np.array([v * dlog[0], k * dlog[1]])
    eps = 1e-3 * vs
    fd = np.column_stack([(rates(vs + eps, vs) - rates(vs - eps, vs)) / (2 * eps),
                          (rates(vs, vs + eps) - rates(vs, vs - eps)) / (2 * eps)])
    assert fd == pytest.approx(jac, rel=1e-5, abs=1e-8)
    eig = np.linalg.eigvals(jac)
    assert np.all(eig.real < 0)
    assert np.prod(eig).real == pytest.approx(2 * LAM1 * B / 3, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.5, 20.0), st.floats(1e-3, 5e-2), st.floats(0.0, 0.45))
def test_steady_state_is_a_stable_node_for_any_rates(b, d, loss_fraction):
    lam2 = loss_fraction * b
    vs = gr.hahnfeldt_steady_state(b, d, lam2)
    assert vs == pytest.approx(((b - lam2) / d) ** 1.5, rel=1e-12)
    jac = gr.hahnfeldt_jacobian(vs, vs, stimulation=b, inhibition=d, capacity_loss=lam2)
    # trace -lambda1 - b < 0 and determinant 2 lambda1 (b - lambda2)/3 > 0: stable
    assert np.trace(jac) == pytest.approx(-LAM1 - b, rel=1e-9)
    assert np.linalg.det(jac) == pytest.approx(2 * LAM1 * (b - lam2) / 3, rel=1e-6)
    assert np.all(np.linalg.eigvals(jac).real < 0)
    by_root = gr.hahnfeldt_steady_state_by_root(guess=(vs / 3, vs * 2), stimulation=b,
                                                inhibition=d, capacity_loss=lam2)
    assert by_root == pytest.approx([vs, vs], rel=1e-7)


def test_checked_derivatives_are_the_right_hand_side_in_volumes():
    v, k = np.array([200.0, 5000.0, 30000.0]), np.array([600.0, 5000.0, 10000.0])
    dv, dk = gr.hahnfeldt_derivatives(v, k)
    dlog = gr.hahnfeldt_rhs(0.0, [np.log(v), np.log(k)], LAM1, B, D)
    assert dv == pytest.approx(v * dlog[0], rel=1e-15) and dk == pytest.approx(k * dlog[1], rel=1e-15)
    vs = gr.hahnfeldt_steady_state()
    assert np.abs(gr.hahnfeldt_derivatives(vs, vs)) == pytest.approx([0.0, 0.0], abs=1e-9 * vs)


def test_nullclines_cross_at_the_steady_state():
    vs = gr.hahnfeldt_steady_state()
    v = np.array([0.5 * vs, vs, 2 * vs])
    k_v, k_k = gr.hahnfeldt_nullclines(v)
    assert k_v[1] == pytest.approx(k_k[1], rel=1e-12)
    # below the steady state the capacity nullcline lies above the diagonal, above it below
    assert k_k[0] > k_v[0] and k_k[2] < k_v[2]


def test_growth_curve_rises_towards_the_steady_state_and_log10_only_slows_it():
    natural = gr.simulate_hahnfeldt(60.0)
    decimal = gr.simulate_hahnfeldt(60.0, logarithm="log10")
    vs = gr.hahnfeldt_steady_state()
    assert np.all(np.diff(natural.volume) > 0) and natural.volume[-1] < vs
    assert np.all(decimal.volume[1:] < natural.volume[1:])
    # initial relative growth rates differ by exactly ln 10
    v0, k0 = gr.PARAMETERS.default("initial_volume"), gr.PARAMETERS.default("initial_capacity")
    r_nat = gr.hahnfeldt_rhs(0, np.log([v0, k0]), LAM1, B, D)[0]
    r_dec = gr.hahnfeldt_rhs(0, np.log([v0, k0]), LAM1, B, D, logarithm="log10")[0]
    assert r_nat / r_dec == pytest.approx(np.log(10.0), rel=1e-12)
    # both logarithms share the steady state
    late = gr.simulate_hahnfeldt(2000.0, logarithm="log10", n_points=2)
    assert late.volume[-1] == pytest.approx(vs, rel=1e-5)


def test_volume_follows_gompertz_exactly_while_capacity_is_held():
    # with K frozen (the capacity equation switched off), ln(V/K) decays as e^(-lambda1 t)
    from scipy.integrate import solve_ivp
    v0, k_fixed, t = 100.0, 5000.0, 12.0
    sol = solve_ivp(lambda _, y: [gr.hahnfeldt_rhs(0, [y[0], np.log(k_fixed)], LAM1, B, D)[0]],
                    (0, t), [np.log(v0)], rtol=1e-11, atol=1e-12)
    exact = np.log(k_fixed) + np.log(v0 / k_fixed) * np.exp(-LAM1 * t)
    assert sol.y[0, -1] == pytest.approx(exact, rel=1e-9)


# --- conditions between arguments ----------------------------------------------------------
# (single bad values are the contract test's: tests/test_contract.py)


def test_volume_and_capacity_that_do_not_broadcast_are_refused_naming_capacity():
    with pytest.raises(ValueError, match="^capacity "):
        gr.hahnfeldt_derivatives([1.0, 2.0], [1.0, 2.0, 3.0])


def test_a_steady_state_below_the_smallest_volume_is_refused_naming_stimulation():
    # ((b - lambda2)/d)^(3/2) underflows: no root finder can find it
    for b, loss in ((1e-300, 0.0), (1.0 + 1e-14, 1.0)):
        with pytest.raises(ValueError, match="^stimulation "):
            gr.hahnfeldt_steady_state_by_root(stimulation=b, capacity_loss=loss)


def test_a_root_finder_stopping_short_of_the_steady_state_is_an_error():
    # From V = K = 5000 mm^3, far below V* = 1e9 mm^3 (b = 1, d = 1e-6), the hybrid method
    # reports success at its starting point: the residual check turns that into an error.
    with pytest.raises(RuntimeError, match="root finding failed: the root finder stopped"):
        gr.hahnfeldt_steady_state_by_root(stimulation=1.0, inhibition=1e-6)
    near = gr.hahnfeldt_steady_state_by_root((5e8, 2e9), stimulation=1.0, inhibition=1e-6)
    assert near == pytest.approx([1e9, 1e9], rel=1e-9)


def test_lambda2_above_b_has_no_steady_state():
    assert gr.hahnfeldt_steady_state(1.0, 0.01, 2.0) == 0.0
    with pytest.raises(RuntimeError, match="root finding failed"):
        gr.hahnfeldt_steady_state_by_root(stimulation=1.0, inhibition=0.01, capacity_loss=2.0)
