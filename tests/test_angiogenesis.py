"""Tests of tmebook.angiogenesis: equilibria and stability, the random walk's moments,
analytic IFP profiles, conservation, the published numbers, determinism and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from tmebook import angiogenesis as ang

LAM1 = ang.PARAMETERS.default("growth_rate")
B = ang.PARAMETERS.default("stimulation")
D = ang.PARAMETERS.default("inhibition")
H, K = ang.PARAMETERS.default("space_step"), ang.PARAMETERS.default("time_step")
DTIP = ang.PARAMETERS.default("tip_diffusion")


def observed_order(errors, refinement=2.0):
    errors = np.asarray(errors)
    return np.log(errors[:-1] / errors[1:]) / np.log(refinement)


# --- (a) Hahnfeldt et al. 1999 ------------------------------------------------------------------


def test_steady_state_reproduces_the_published_value():
    ours = ang.hahnfeldt_steady_state()
    assert ours == pytest.approx((B / D) ** 1.5, rel=1e-12)
    # The paper quotes the steady state to three significant figures (about 17,300 mm^3):
    # rounding alone allows +/-50 mm^3, i.e. 0.3 %.
    assert ours == pytest.approx(ang.HAHNFELDT_STEADY_STATE_MM3, rel=0.003)


def test_steady_state_three_ways_agree():
    analytic = ang.hahnfeldt_steady_state()
    by_root = ang.hahnfeldt_steady_state_by_root(guess=(2000.0, 9000.0))
    assert by_root == pytest.approx([analytic, analytic], rel=1e-9)
    # long integration: the slow eigenvalue is ~0.127/day, so 400 days shrink the initial
    # distance by e^-50; the integrator's rtol (1e-10 here) then bounds the error.
    curve = ang.simulate_hahnfeldt(400.0, n_points=3, rtol=1e-10, atol=1e-12)
    assert curve.volume[-1] == pytest.approx(analytic, rel=1e-6)
    assert curve.capacity[-1] == pytest.approx(analytic, rel=1e-6)


def test_jacobian_at_the_steady_state_is_analytic_and_stable():
    vs = ang.hahnfeldt_steady_state()
    jac = ang.hahnfeldt_jacobian(vs, vs)
    # at V = K = (b/d)^(3/2): [[-lambda1, lambda1], [b/3, -b]]
    assert jac == pytest.approx(np.array([[-LAM1, LAM1], [B / 3, -B]]), rel=1e-10)
    # compare with a centred finite-difference Jacobian of (dV/dt, dK/dt)
    def rates(v, k):
        dlog = ang.hahnfeldt_rhs(0.0, [np.log(v), np.log(k)], LAM1, B, D)
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
    vs = ang.hahnfeldt_steady_state(b, d, lam2)
    assert vs == pytest.approx(((b - lam2) / d) ** 1.5, rel=1e-12)
    jac = ang.hahnfeldt_jacobian(vs, vs, stimulation=b, inhibition=d, capacity_loss=lam2)
    # trace -lambda1 - b < 0 and determinant 2 lambda1 (b - lambda2)/3 > 0: stable
    assert np.trace(jac) == pytest.approx(-LAM1 - b, rel=1e-9)
    assert np.linalg.det(jac) == pytest.approx(2 * LAM1 * (b - lam2) / 3, rel=1e-6)
    assert np.all(np.linalg.eigvals(jac).real < 0)
    by_root = ang.hahnfeldt_steady_state_by_root(guess=(vs / 3, vs * 2), stimulation=b,
                                                 inhibition=d, capacity_loss=lam2)
    assert by_root == pytest.approx([vs, vs], rel=1e-7)


def test_checked_derivatives_are_the_right_hand_side_in_volumes():
    v, k = np.array([200.0, 5000.0, 30000.0]), np.array([600.0, 5000.0, 10000.0])
    dv, dk = ang.hahnfeldt_derivatives(v, k)
    dlog = ang.hahnfeldt_rhs(0.0, [np.log(v), np.log(k)], LAM1, B, D)
    assert dv == pytest.approx(v * dlog[0], rel=1e-15) and dk == pytest.approx(k * dlog[1], rel=1e-15)
    vs = ang.hahnfeldt_steady_state()
    assert np.abs(ang.hahnfeldt_derivatives(vs, vs)) == pytest.approx([0.0, 0.0], abs=1e-9 * vs)


def test_nullclines_cross_at_the_steady_state():
    vs = ang.hahnfeldt_steady_state()
    v = np.array([0.5 * vs, vs, 2 * vs])
    k_v, k_k = ang.hahnfeldt_nullclines(v)
    assert k_v[1] == pytest.approx(k_k[1], rel=1e-12)
    # below the steady state the capacity nullcline lies above the diagonal, above it below
    assert k_k[0] > k_v[0] and k_k[2] < k_v[2]


def test_growth_curve_rises_towards_the_steady_state_and_log10_only_slows_it():
    natural = ang.simulate_hahnfeldt(60.0)
    decimal = ang.simulate_hahnfeldt(60.0, logarithm="log10")
    vs = ang.hahnfeldt_steady_state()
    assert np.all(np.diff(natural.volume) > 0) and natural.volume[-1] < vs
    assert np.all(decimal.volume[1:] < natural.volume[1:])
    # initial relative growth rates differ by exactly ln 10
    v0, k0 = ang.PARAMETERS.default("initial_volume"), ang.PARAMETERS.default("initial_capacity")
    r_nat = ang.hahnfeldt_rhs(0, np.log([v0, k0]), LAM1, B, D)[0]
    r_dec = ang.hahnfeldt_rhs(0, np.log([v0, k0]), LAM1, B, D, logarithm="log10")[0]
    assert r_nat / r_dec == pytest.approx(np.log(10.0), rel=1e-12)
    # both logarithms share the steady state
    late = ang.simulate_hahnfeldt(2000.0, logarithm="log10", n_points=2)
    assert late.volume[-1] == pytest.approx(vs, rel=1e-5)


def test_volume_follows_gompertz_exactly_while_capacity_is_held():
    # with K frozen (the capacity equation switched off), ln(V/K) decays as e^(-lambda1 t)
    from scipy.integrate import solve_ivp
    v0, k_fixed, t = 100.0, 5000.0, 12.0
    sol = solve_ivp(lambda _, y: [ang.hahnfeldt_rhs(0, [y[0], np.log(k_fixed)], LAM1, B, D)[0]],
                    (0, t), [np.log(v0)], rtol=1e-11, atol=1e-12)
    exact = np.log(k_fixed) + np.log(v0 / k_fixed) * np.exp(-LAM1 * t)
    assert sol.y[0, -1] == pytest.approx(exact, rel=1e-9)


# --- (b) Anderson & Chaplain 1998 ----------------------------------------------------------------


def test_probabilities_are_a_distribution_and_pure_diffusion_without_gradients():
    c = np.full((21, 21), 0.4)
    f = np.full((21, 21), 0.2)
    iy = np.array([10, 0, 20, 5])
    ix = np.array([10, 0, 20, 0])
    p = ang.move_probabilities(c, f, iy, ix, H, K, DTIP, 0.38, 0.6, 0.34)
    assert np.all(p >= 0) and p.sum(axis=1) == pytest.approx(np.ones(4), abs=1e-14)
    step = K * DTIP / H**2
    assert p[0] == pytest.approx([1 - 4 * step, step, step, step, step], abs=1e-14)
    # moves off the grid are forbidden at the edges and corners
    assert p[1, 1] == 0 and p[1, 3] == 0 and p[2, 2] == 0 and p[2, 4] == 0 and p[3, 1] == 0


def test_mean_velocity_is_exactly_the_chemotactic_drift():
    # linear TAF c = g x (so lap c = 0), no saturation, no haptotaxis: the scheme's
    # mean displacement per step, h (P_right - P_left), is k chi0 g exactly, as long as
    # no coefficient had to be clipped at zero (gentle gradient: P_left > 0).
    n, g, chi0 = 41, 0.05, 0.38
    x = np.linspace(0, 1, n)
    c = np.tile(g * x, (n, 1))
    p = ang.move_probabilities(c, np.zeros_like(c), np.array([20]), np.array([20]),
                               1 / (n - 1), K, DTIP, chi0, 0.0, 0.0)
    assert p[0, 1] > 0
    assert (1 / (n - 1)) * (p[0, 2] - p[0, 1]) == pytest.approx(K * chi0 * g, rel=1e-12)
    assert p[0, 3] == pytest.approx(p[0, 4], abs=1e-15)


def test_unbiased_walk_spreads_with_the_tip_diffusion_coefficient():
    # mean squared displacement of the pure random walk: 4 D t in two dimensions
    rng = np.random.default_rng(3)
    walkers, steps = 4000, 200
    p = ang.move_probabilities(np.zeros((3, 3)), np.zeros((3, 3)), np.array([1]), np.array([1]),
                               H, K, DTIP, 0.38, 0.6, 0.34)[0]
    choice = rng.choice(5, size=(walkers, steps), p=p)
    disp = ang.MOVES[choice].sum(axis=1) * H
    msd = np.mean(np.sum(disp**2, axis=1))
    expected = 4 * DTIP * K * steps
    # the per-walker squared displacement has relative sd ~1, so the mean of 4000 has ~1.6 %
    assert msd == pytest.approx(expected, rel=0.06)


def test_branch_probability_rises_with_taf():
    c = np.linspace(0, 2, 201)
    prob = ang.branch_probability(c)
    assert np.all(np.diff(prob) >= 0) and prob[0] == 0 and prob[-1] == 1
    assert np.all(prob[c < 0.3] == 0)


def test_network_is_deterministic_and_depends_on_the_seed():
    a = ang.grow_network(seed=4, space_step=0.01, time_step=0.04)
    b = ang.grow_network(seed=4, space_step=0.01, time_step=0.04)
    c = ang.grow_network(seed=5, space_step=0.01, time_step=0.04)
    assert np.array_equal(a.owner, b.owner) and np.array_equal(a.segments, b.segments)
    assert a.arrival_time == b.arrival_time
    assert not np.array_equal(a.owner, c.owner)


@pytest.mark.parametrize("settings, expected", [
    (dict(seed=0, t_max=15), (5.96, 115, 89, 120, 149, 1106, 8277.879274279974, 2553.05)),
    (dict(chemotaxis=0.05, taf_strength=2.0, seed=0, t_max=8.0),
     (np.nan, 84, 70, 89, 200, 620, 16745.502670027865, 857.48)),
])
def test_network_is_the_one_the_published_numbers_came_from(settings, expected):
    # recorded with the implementation that produced the chapter's numbers (before the
    # sprouting step was made faster): the same walk, bit for bit
    net = ang.grow_network(space_step=0.01, time_step=0.04, **settings)
    got = (net.arrival_time, net.n_branches, net.n_anastomoses, net.n_sprouts, net.steps,
           int((net.owner >= 0).sum()), float(net.taf.sum()), float(net.segments.sum()))
    assert got == pytest.approx(expected, rel=1e-15, nan_ok=True)


def test_network_bookkeeping_and_uptake_only_where_sprouts_are():
    net = ang.grow_network(seed=1, space_step=0.01, time_step=0.04)
    assert net.n_sprouts == len(ang.INITIAL_SPROUTS_Y) + net.n_branches
    off = net.owner < 0
    # TAF is consumed only on sprout cells and never created
    assert np.array_equal(net.taf[off], net.taf_initial[off])
    assert np.all(net.taf <= net.taf_initial + 1e-15)
    on = ~off
    assert np.all(net.taf[on] < net.taf_initial[on])
    fib0 = ang.initial_fibronectin(np.tile(net.x, (net.x.size, 1)))
    assert np.array_equal(net.fibronectin[off], fib0[off])
    # every sprout cell was reached by a recorded move (segment end)
    ends = np.rint(net.segments[:, 1] / (net.x[1] - net.x[0])).astype(int)
    reached = np.zeros_like(net.owner, dtype=bool)
    reached[ends[:, 1], ends[:, 0]] = True
    assert np.all(reached[on])


def test_chemotaxis_threshold_from_the_drift_predicts_which_runs_reach_the_tumour():
    chi_c = ang.critical_chemotaxis()
    xs = np.linspace(0, 0.9 - 1e-9, 4001)
    # at the threshold the drift touches zero from above; just below it, it turns negative
    assert 0 <= np.min(ang.midline_drift(xs, chi_c)) + 1e-9 < 1e-6
    assert np.min(ang.midline_drift(xs, 0.999 * chi_c)) < 0
    # the published chi0 = 0.38 lies above the threshold: every seed arrives
    assert ang.PARAMETERS.default("chemotaxis") > chi_c
    arrivals = [ang.grow_network(seed=s, space_step=0.01, time_step=0.04, t_max=15).arrival_time
                for s in range(3)]
    assert np.all(np.isfinite(arrivals))
    # 20 % below it haptotaxis holds every tip back (coarse grid, t up to 15); closer to
    # the threshold the barrier is shallow enough for random motion to carry tips across
    stalled = [ang.grow_network(0.8 * chi_c, seed=s, space_step=0.01, time_step=0.04, t_max=15)
               for s in range(3)]
    assert all(np.isnan(n.arrival_time) for n in stalled)
    # stronger chemotaxis arrives sooner (median over seeds)
    fast = [ang.grow_network(1.0, seed=s, space_step=0.01, time_step=0.04).arrival_time for s in range(3)]
    assert np.median(fast) < np.median(arrivals)


def test_arrival_time_barely_depends_on_the_grid():
    # the coarse widget grid (h = 0.01) against the fine grid of the chapter (h = 0.005)
    fine = [ang.grow_network(seed=s, t_max=12).arrival_time for s in (0, 1, 3)]
    coarse = [ang.grow_network(seed=s, space_step=0.01, time_step=0.04, t_max=12).arrival_time
              for s in range(6)]
    assert np.all(np.isfinite(fine)) and np.all(np.isfinite(coarse))
    assert np.median(coarse) == pytest.approx(np.median(fine), rel=0.2)


# --- (c) Baxter & Jain 1989 ------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.5, 5.0, 36.8])
def test_ifp_profile_solves_the_equation_with_its_boundary_conditions(alpha):
    assert ang.ifp_profile(1.0, alpha) == pytest.approx(0.0, abs=1e-12)
    assert ang.ifp_profile(0.0, alpha) == pytest.approx(1 - alpha / np.sinh(alpha), rel=1e-12)
    # (1/s^2)(s^2 q')' = q'' + 2 q'/s = alpha^2 (q - 1), by centred differences
    s, e = 0.6, 1e-4
    q = ang.ifp_profile(np.array([s - e, s, s + e]), alpha)
    lhs = (q[2] - 2 * q[1] + q[0]) / e**2 + 2 / s * (q[2] - q[0]) / (2 * e)
    assert lhs == pytest.approx(alpha**2 * (q[1] - 1), rel=1e-4, abs=1e-6)
    # centred difference: relative truncation error ~ alpha^2 e^2 / 6 < 1e-5
    assert ang.ifp_gradient(s, alpha) == pytest.approx((q[2] - q[0]) / (2 * e), rel=1e-4)


def test_numerical_ifp_converges_to_the_analytic_profile_at_second_order():
    errors = []
    for n in (25, 50, 100, 200):
        s, q = ang.ifp_numerical(5.0, n)
        errors.append(np.max(np.abs(q - ang.ifp_profile(s, 5.0))))
    orders = observed_order(errors)
    assert errors[-1] < 1e-4
    assert np.all((orders > 1.8) & (orders < 2.2)), orders


def test_fluid_leaving_the_surface_equals_what_the_vessels_filter():
    alpha, pe, kt, radius = 12.0, 20.0, 4.13e-8, 0.8
    lp_sv = (alpha / radius) ** 2 * kt  # the filtration coefficient this alpha implies
    filtered, _ = quad(lambda r: lp_sv * pe * (1 - ang.ifp_profile(r / radius, alpha)) * 4 * np.pi * r**2,
                       0, radius, epsabs=0, epsrel=1e-11, limit=200)
    outflow = 4 * np.pi * radius**2 * ang.surface_velocity(alpha, pe, kt, radius)
    assert outflow == pytest.approx(filtered, rel=1e-8)
    assert ang.interstitial_velocity(1.0, alpha, pe, kt, radius) == pytest.approx(
        ang.surface_velocity(alpha, pe, kt, radius), rel=1e-10)


def test_small_and_large_alpha_limits():
    s = np.linspace(0, 1, 11)
    # alpha -> 0: p/p_e ~ alpha^2 (1 - s^2)/6
    small = 1e-2
    assert ang.ifp_profile(s, small) == pytest.approx(small**2 * (1 - s**2) / 6, rel=1e-4, abs=1e-12)
    # alpha large: a plateau at p_e up to a boundary layer of width ~ R/alpha, no overflow
    big = 1000.0
    q = ang.ifp_profile(np.array([0.0, 0.5, 1 - 5 / big, 1.0]), big)
    assert np.all(np.isfinite(q))
    assert q[0] == 1.0 and q[1] == pytest.approx(1.0, abs=1e-12)
    assert 0.95 < q[2] < 1.0 and q[3] == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.05, 300.0))
def test_ifp_profile_is_bounded_and_falls_outwards(alpha):
    s = np.linspace(0, 1, 101)
    q = ang.ifp_profile(s, alpha)
    assert np.all((q >= -1e-12) & (q <= 1.0))
    assert np.all(np.diff(q) <= 1e-12)
    u = ang.interstitial_velocity(s[1:], alpha, 20.0, 4.13e-8, 1.0)
    assert np.all(u >= 0) and np.all(np.diff(u) >= -1e-18)


def test_default_alpha_and_effective_pressure_follow_from_the_tissue_values():
    tissue = ang.BAXTER_JAIN_TUMOUR
    alpha = ang.ifp_alpha_from_tissue(1.0, tissue["hydraulic_conductivity"],
                                      tissue["vessel_permeability"], tissue["surface_per_volume"])
    assert ang.PARAMETERS.default("ifp_alpha") == pytest.approx(alpha, abs=0.005)
    pe = ang.effective_pressure(25.0, 0.82, 20.0, 15.0)
    assert pe == pytest.approx(25.0 - 0.82 * 5.0)
    # doubling the tumour radius doubles alpha
    assert ang.ifp_alpha_from_tissue(2.0, tissue["hydraulic_conductivity"], tissue["vessel_permeability"],
                                     tissue["surface_per_volume"]) == pytest.approx(2 * alpha)


# --- the widget -------------------------------------------------------------------------------


def test_widget_model_runs_at_every_slider_end():
    for name in ang.WIDGET_CONTROLS:
        p = ang.PARAMETERS[name]
        for value in (p.low, p.high):
            result = ang.WIDGET_MODEL(**{name: value})
            assert np.isfinite(result.steady_state) and result.ifp.shape == result.s.shape
            # the panel's titles show the settings the result was computed at
            assert getattr(result, name) == value
            assert all(getattr(result, other) == ang.PARAMETERS.default(other)
                       for other in ang.WIDGET_CONTROLS if other != name)


# --- conditions between arguments ----------------------------------------------------------
# (single bad values are the contract test's: tests/test_contract.py)

BAD_CALLS = [
    ("space_step", lambda: ang.grow_network(space_step=0.03)),
    ("time_step", lambda: ang.grow_network(time_step=1.0)),
    ("time_step", lambda: ang.grow_network(time_step=0.02, taf_uptake=60.0, tip_diffusion=0.0)),
    ("time_step", lambda: ang.grow_network(time_step=1e-4, t_max=50.0)),
    ("capacity", lambda: ang.hahnfeldt_derivatives([1.0, 2.0], [1.0, 2.0, 3.0])),
    ("f", lambda: ang.move_probabilities(np.ones((5, 5)), np.ones((4, 5)), [1], [1])),
    ("ix", lambda: ang.move_probabilities(np.ones((5, 5)), np.ones((5, 5)), [1], [5])),
]


@pytest.mark.parametrize("name, call", BAD_CALLS, ids=[f"{i}-{name}" for i, (name, _) in enumerate(BAD_CALLS)])
def test_arguments_that_do_not_fit_together_are_refused_naming_one(name, call):
    with pytest.raises(ValueError, match=f"^{name} "):
        call()


def test_lambda2_above_b_has_no_steady_state():
    assert ang.hahnfeldt_steady_state(1.0, 0.01, 2.0) == 0.0
    with pytest.raises(RuntimeError, match="root finding failed"):
        ang.hahnfeldt_steady_state_by_root(stimulation=1.0, inhibition=0.01, capacity_loss=2.0)
