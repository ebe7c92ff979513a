"""Tests of tmebook.sprouting (Anderson & Chaplain 1998): the random walk's probabilities and
moments, the drift and the chemotaxis threshold, the network's bookkeeping, determinism,
the recorded runs behind the published numbers and arguments that do not fit."""

import numpy as np
import pytest

from tmebook import sprouting as sp

H, K = sp.PARAMETERS.default("space_step"), sp.PARAMETERS.default("time_step")
DTIP = sp.PARAMETERS.default("tip_diffusion")

def test_probabilities_are_a_distribution_and_pure_diffusion_without_gradients():
    c = np.full((21, 21), 0.4)
    f = np.full((21, 21), 0.2)
    iy = np.array([10, 0, 20, 5])
    ix = np.array([10, 0, 20, 0])
    p = sp.move_probabilities(c, f, iy, ix, H, K, DTIP, 0.38, 0.6, 0.34)
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
    p = sp.move_probabilities(c, np.zeros_like(c), np.array([20]), np.array([20]),
                              1 / (n - 1), K, DTIP, chi0, 0.0, 0.0)
    assert p[0, 1] > 0
    assert (1 / (n - 1)) * (p[0, 2] - p[0, 1]) == pytest.approx(K * chi0 * g, rel=1e-12)
    assert p[0, 3] == pytest.approx(p[0, 4], abs=1e-15)


def test_unbiased_walk_spreads_with_the_tip_diffusion_coefficient():
    # mean squared displacement of the pure random walk: 4 D t in two dimensions
    rng = np.random.default_rng(3)
    walkers, steps = 4000, 200
    p = sp.move_probabilities(np.zeros((3, 3)), np.zeros((3, 3)), np.array([1]), np.array([1]),
                              H, K, DTIP, 0.38, 0.6, 0.34)[0]
    choice = rng.choice(5, size=(walkers, steps), p=p)
    disp = sp.MOVES[choice].sum(axis=1) * H
    msd = np.mean(np.sum(disp**2, axis=1))
    expected = 4 * DTIP * K * steps
    # the per-walker squared displacement has relative sd ~1, so the mean of 4000 has ~1.6 %
    assert msd == pytest.approx(expected, rel=0.06)


def test_branch_probability_rises_with_taf():
    c = np.linspace(0, 2, 201)
    prob = sp.branch_probability(c)
    assert np.all(np.diff(prob) >= 0) and prob[0] == 0 and prob[-1] == 1
    assert np.all(prob[c < 0.3] == 0)


def test_network_is_deterministic_and_depends_on_the_seed():
    a = sp.grow_network(seed=4, space_step=0.01, time_step=0.04)
    b = sp.grow_network(seed=4, space_step=0.01, time_step=0.04)
    c = sp.grow_network(seed=5, space_step=0.01, time_step=0.04)
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
    net = sp.grow_network(space_step=0.01, time_step=0.04, **settings)
    got = (net.arrival_time, net.n_branches, net.n_anastomoses, net.n_sprouts, net.steps,
           int((net.owner >= 0).sum()), float(net.taf.sum()), float(net.segments.sum()))
    assert got == pytest.approx(expected, rel=1e-15, nan_ok=True)


def test_network_bookkeeping_and_uptake_only_where_sprouts_are():
    net = sp.grow_network(seed=1, space_step=0.01, time_step=0.04)
    assert net.n_sprouts == len(sp.INITIAL_SPROUTS_Y) + net.n_branches
    off = net.owner < 0
    # TAF is consumed only on sprout cells and never created
    assert np.array_equal(net.taf[off], net.taf_initial[off])
    assert np.all(net.taf <= net.taf_initial + 1e-15)
    on = ~off
    assert np.all(net.taf[on] < net.taf_initial[on])
    fib0 = sp.initial_fibronectin(np.tile(net.x, (net.x.size, 1)))
    assert np.array_equal(net.fibronectin[off], fib0[off])
    # every sprout cell was reached by a recorded move (segment end)
    ends = np.rint(net.segments[:, 1] / (net.x[1] - net.x[0])).astype(int)
    reached = np.zeros_like(net.owner, dtype=bool)
    reached[ends[:, 1], ends[:, 0]] = True
    assert np.all(reached[on])


def test_chemotaxis_threshold_from_the_drift_predicts_which_runs_reach_the_tumour():
    chi_c = sp.critical_chemotaxis()
    xs = np.linspace(0, 0.9 - 1e-9, 4001)
    # at the threshold the drift touches zero from above; just below it, it turns negative
    assert 0 <= np.min(sp.midline_drift(xs, chi_c)) + 1e-9 < 1e-6
    assert np.min(sp.midline_drift(xs, 0.999 * chi_c)) < 0
    # the published chi0 = 0.38 lies above the threshold: every seed arrives
    assert sp.PARAMETERS.default("chemotaxis") > chi_c
    arrivals = [sp.grow_network(seed=s, space_step=0.01, time_step=0.04, t_max=15).arrival_time
                for s in range(3)]
    assert np.all(np.isfinite(arrivals))
    # 20 % below it haptotaxis holds every tip back (coarse grid, t up to 15); closer to
    # the threshold the barrier is shallow enough for random motion to carry tips across
    stalled = [sp.grow_network(0.8 * chi_c, seed=s, space_step=0.01, time_step=0.04, t_max=15)
               for s in range(3)]
    assert all(np.isnan(n.arrival_time) for n in stalled)
    # stronger chemotaxis arrives sooner (median over seeds)
    fast = [sp.grow_network(1.0, seed=s, space_step=0.01, time_step=0.04).arrival_time for s in range(3)]
    assert np.median(fast) < np.median(arrivals)


def test_arrival_time_barely_depends_on_the_grid():
    # the coarse widget grid (h = 0.01) against the fine grid of the chapter (h = 0.005)
    fine = [sp.grow_network(seed=s, t_max=12).arrival_time for s in (0, 1, 3)]
    coarse = [sp.grow_network(seed=s, space_step=0.01, time_step=0.04, t_max=12).arrival_time
              for s in range(6)]
    assert np.all(np.isfinite(fine)) and np.all(np.isfinite(coarse))
    assert np.median(coarse) == pytest.approx(np.median(fine), rel=0.2)


# --- conditions between arguments ----------------------------------------------------------
# (single bad values are the contract test's: tests/test_contract.py)

BAD_CALLS = [
    ("space_step", lambda: sp.grow_network(space_step=0.03)),
    ("time_step", lambda: sp.grow_network(time_step=1.0)),
    ("time_step", lambda: sp.grow_network(time_step=0.02, taf_uptake=60.0, tip_diffusion=0.0)),
    ("time_step", lambda: sp.grow_network(time_step=1e-4, t_max=50.0)),
    ("f", lambda: sp.move_probabilities(np.ones((5, 5)), np.ones((4, 5)), [1], [1])),
    ("ix", lambda: sp.move_probabilities(np.ones((5, 5)), np.ones((5, 5)), [1], [5])),
]


@pytest.mark.parametrize("name, call", BAD_CALLS, ids=[f"{i}-{name}" for i, (name, _) in enumerate(BAD_CALLS)])
def test_arguments_that_do_not_fit_together_are_refused_naming_one(name, call):
    with pytest.raises(ValueError, match=f"^{name} "):
        call()
