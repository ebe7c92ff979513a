"""Tests of tmebook.ecm: conservation, exact balances and solutions, positivity, grid
convergence and the published behaviour of the Anderson et al. (2000) invasion model."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tmebook import ecm

P = ecm.PARAMETERS


@pytest.fixture(scope="module")
def published_1d():
    """The published 1-D experiment on 200 cells, t = 0, 1, ..., 10 (reference tolerances)."""
    return ecm.invade_1d(200, times=np.linspace(0.0, 10.0, 11))


# --- conservation and exact balances --------------------------------------------------------


def test_cell_mass_is_conserved_in_1d(published_1d):
    # The face fluxes telescope and both walls carry zero flux, so the discrete total of n
    # is a linear invariant of the ODEs; solve_ivp's linear steps keep it to rounding.
    total = published_1d.total("cells")
    assert np.max(np.abs(total - total[0])) < 1e-12 * total[0]
    # and the cell-averaged initial data hold exactly the Gaussian's mass on [0, 1]
    from scipy.special import erf
    exact = 0.5 * np.sqrt(np.pi * ecm.INITIAL_WIDTH_EPS) * erf(1 / np.sqrt(ecm.INITIAL_WIDTH_EPS))
    assert total[0] == pytest.approx(exact, rel=1e-12)


def test_cell_mass_is_conserved_in_2d():
    run = ecm.invade_2d(16, times=[0.0, 1.0, 2.0])
    total = run.total("cells")
    assert np.max(np.abs(total - total[0])) < 1e-12 * total[0]


@pytest.mark.parametrize("decay", [0.0, 0.5])
def test_enzyme_mass_follows_its_exact_balance(decay):
    # d M_m/dt = alpha M_n - beta M_m with M_n constant: closed form in enzyme_total_exact.
    # The integrator's error on this linear functional is of the order of rtol (1e-6);
    # 1e-5 relative leaves a factor of ten.
    times = np.linspace(0.0, 10.0, 6)
    run = ecm.invade_1d(100, times=times, enzyme_decay=decay, enzyme_production=0.2)
    cells = run.total("cells")[0]
    exact = ecm.enzyme_total_exact(times, run.total("enzyme")[0], cells, 0.2, decay)
    np.testing.assert_allclose(run.total("enzyme"), exact, rtol=1e-5)


def test_enzyme_balance_is_independent_of_mmp_inhibition():
    # The inhibitor blocks the enzyme's activity on the matrix, not its production.
    times = [0.0, 5.0]
    free = ecm.invade_1d(50, times=times)
    blocked = ecm.invade_1d(50, times=times, mmp_inhibition=1.0)
    np.testing.assert_allclose(free.total("enzyme"), blocked.total("enzyme"), rtol=1e-6)
    # fully blocked: the matrix keeps its initial state exactly
    np.testing.assert_array_equal(blocked.matrix[-1], blocked.matrix[0])


# --- exact solutions of the discrete equations ------------------------------------------------


def test_cosine_mode_decays_exactly_without_haptotaxis():
    # With gamma = alpha = 0, n and m diffuse: cos(pi x) on cell centres is an eigenvector
    # of the finite-volume Laplacian with eigenvalue -(4/h^2) sin^2(pi h / 2), so
    # n = 1 + a e^(-d lambda_h t) cos(pi x) exactly, and f = f0 exp(-eta int_0^t m).
    cells, t_end = 40, 3.0
    x = ecm.cell_centres(cells)
    h = 1.0 / cells
    lam = 4.0 / h**2 * np.sin(np.pi * h / 2) ** 2
    d_n, d_m, eta = 0.01, 0.02, 0.7
    mode = np.cos(np.pi * x)
    initial = (1 + 0.5 * mode, np.ones(cells), 0.3 + 0.2 * mode)
    run = ecm.solve_invasion(initial, [0.0, t_end], cell_diffusion=d_n, haptotaxis=0.0,
                             enzyme_diffusion=d_m, enzyme_production=0.0, degradation=eta)
    n_exact = 1 + 0.5 * np.exp(-d_n * lam * t_end) * mode
    m_integral = 0.3 * t_end + 0.2 * mode * (1 - np.exp(-d_m * lam * t_end)) / (d_m * lam)
    np.testing.assert_allclose(run.cells[-1], n_exact, rtol=1e-5)
    np.testing.assert_allclose(run.matrix[-1], np.exp(-eta * m_integral), rtol=1e-5)


def test_haptotactic_steady_state_converges_at_second_order():
    # A fixed matrix gradient f = x (eta = 0) gives a constant drift v = gamma; with no
    # flux at the walls the steady state is n ~ exp(gamma x / d_n). Long-time integration
    # against the exact cell averages: the limited upwind scheme is second order here.
    gamma, d_n = P["haptotaxis"].value, P["cell_diffusion"].value
    peclet = gamma / d_n
    errors = []
    for cells in (25, 50, 100):
        x = ecm.cell_centres(cells)
        run = ecm.solve_invasion((np.ones(cells), x, np.zeros(cells)), [0.0, 4000.0],
                                 degradation=0.0, enzyme_production=0.0)
        edges = np.linspace(0.0, 1.0, cells + 1)
        exact = np.diff(np.exp(peclet * edges)) * cells / (np.exp(peclet) - 1)
        errors.append(np.max(np.abs(run.cells[-1] - exact)))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(orders > 1.7), orders
    assert errors[-1] < 3e-3


@pytest.mark.parametrize("inhibition", [0.0, 0.3, 1.0])
def test_mmp_inhibition_scales_the_degradation_rate_exactly(inhibition):
    # With the enzyme frozen in place (no diffusion, production or decay) and no cell
    # movement, f = f0 exp(-eta (1 - i) m0 t): the inhibitor multiplies the activity.
    x = ecm.cell_centres(10)
    m0 = 0.2 + x
    run = ecm.solve_invasion((np.ones(10), np.ones(10), m0), [0.0, 0.4], cell_diffusion=0.0,
                             haptotaxis=0.0, enzyme_diffusion=0.0, enzyme_production=0.0,
                             enzyme_decay=0.0, mmp_inhibition=inhibition, rtol=1e-9, atol=1e-12)
    expected = np.exp(-P["degradation"].value * (1 - inhibition) * m0 * 0.4)
    np.testing.assert_allclose(run.matrix[-1], expected, rtol=1e-6)


def test_implicit_and_explicit_solvers_agree():
    # BDF (with our sparse LU ordering) against Radau in 2-D, and the panel's RK45 against
    # BDF in 1-D: differences of the order of the tolerances (1e-5 here) only.
    initial = ecm.initial_state_2d(12)
    bdf = ecm.solve_invasion(initial, [0.0, 1.0], rtol=1e-7, atol=1e-10)
    radau = ecm.solve_invasion(initial, [0.0, 1.0], method="Radau", rtol=1e-7, atol=1e-10)
    assert np.max(np.abs(bdf.cells - radau.cells)) < 1e-5
    initial = ecm.initial_state_1d(40)
    bdf = ecm.solve_invasion(initial, [0.0, 3.0], rtol=1e-7, atol=1e-10)
    rk = ecm.solve_invasion(initial, [0.0, 3.0], method="RK45", rtol=1e-7, atol=1e-10)
    assert np.max(np.abs(bdf.cells - rk.cells)) < 1e-5


# --- positivity -------------------------------------------------------------------------------


def test_densities_stay_non_negative(published_1d):
    # Positivity-preserving semi-discretisation: only solver round-off (<< atol) may dip.
    for field in (published_1d.cells, published_1d.matrix, published_1d.enzyme):
        assert field.min() >= -ecm.ATOL
    # the matrix only ever loses density: f <= f0 at every point and time
    assert np.all(np.diff(published_1d.matrix, axis=0) <= 1e-12)


@settings(max_examples=12, deadline=None)
@given(haptotaxis=st.floats(0.0, 0.02), production=st.floats(0.0, 0.5),
       inhibition=st.floats(0.0, 1.0))
def test_positivity_and_conservation_over_the_slider_ranges(haptotaxis, production, inhibition):
    run = ecm.solve_invasion(ecm.initial_state_1d(32), [0.0, 2.0, 4.0], haptotaxis=haptotaxis,
                             enzyme_production=production, mmp_inhibition=inhibition,
                             rtol=1e-5, atol=1e-8)
    assert run.cells.min() >= -1e-8 and run.enzyme.min() >= -1e-8 and run.matrix.min() >= -1e-8
    total = run.total("cells")
    assert np.max(np.abs(total - total[0])) < 1e-12


def test_2d_run_stays_non_negative():
    run = ecm.invade_2d(16, times=[0.0, 2.0])
    assert min(run.cells.min(), run.matrix.min(), run.enzyme.min()) >= -ecm.FAST_ATOL


# --- the discretisation's Jacobian pattern ----------------------------------------------------


@pytest.mark.parametrize("shape", [(12,), (6, 6)])
def test_jacobian_sparsity_covers_every_dependency(shape):
    # Finite-difference Jacobian of the right-hand side at a random positive state: every
    # non-zero entry must lie inside the pattern given to the implicit solver.
    rng = np.random.default_rng(1)
    size = int(np.prod(shape))
    state = rng.uniform(0.1, 1.0, 3 * size)
    rates = ecm._rates(*(P[name].value for name in ecm.RATES))
    h = 1.0 / shape[0]
    base = ecm._invasion_rhs(0.0, state, shape, h, rates)
    pattern = ecm._jacobian_sparsity(shape).toarray()
    for j in range(3 * size):
        bumped = state.copy()
        bumped[j] += 1e-7
        column = (ecm._invasion_rhs(0.0, bumped, shape, h, rates) - base) / 1e-7
        outside = np.abs(column[~pattern[:, j]])
        assert outside.max(initial=0.0) < 1e-6, f"column {j} depends outside the pattern"


# --- grid convergence and the published behaviour ----------------------------------------------


def test_grid_refinement_barely_moves_the_invasion_front():
    # Invasion depth (the depth beyond which the leading 5 % of cells lie) at T = 10 on
    # 100, 200 and 400 cells. Stated tolerance: successive refinements move it by less
    # than 0.002 (0.2 % of the domain), and by less each time.
    depths = [ecm.invade_1d(cells, times=[0.0, 10.0]).invasion_depth()[-1] for cells in (100, 200, 400)]
    changes = np.abs(np.diff(depths))
    assert np.all(changes < 2e-3), depths
    assert changes[1] < changes[0]


def test_widget_grid_is_close_to_the_reference():
    # the chapter's panel (RK45) and the live widget (RK23, looser tolerances), both on 64 cells
    reference = ecm.invade_1d(400, times=ecm.REFERENCE_TIMES).invasion_depth()
    for run in (ecm.reference_invasion(), ecm.live_invasion()):
        assert np.max(np.abs(run.invasion_depth() - reference)) < 3e-3


def test_widget_model_gives_the_live_run_and_the_published_one():
    # the live panel draws the run at the sliders over the run at the published values
    runs = ecm.WIDGET_MODEL(haptotaxis=0.01, mmp_inhibition=0.5)
    live = ecm.live_invasion(haptotaxis=0.01, mmp_inhibition=0.5)
    published = ecm.live_invasion()
    assert np.array_equal(runs.live.cells, live.cells)
    assert np.array_equal(runs.published.cells, published.cells)
    assert runs.published is ecm.WIDGET_MODEL().published  # computed once
    assert not runs.published.cells.flags.writeable


@pytest.mark.parametrize("settings", [
    dict(enzyme_production=a, haptotaxis=g, mmp_inhibition=i)
    for a in (0.0, 0.5) for g in (0.0, 0.02) for i in (0.0, 1.0)] + [{}])
def test_live_widget_tracks_the_panel_over_its_slider_box(settings):
    # The widget integrates the panel's grid with RK23 at looser tolerances, for speed:
    # its invasion depths stay within 1e-3 of the panel's, its fields within 0.02.
    panel, live = ecm.reference_invasion(**settings), ecm.live_invasion(**settings)
    assert np.max(np.abs(live.invasion_depth() - panel.invasion_depth())) < 1e-3
    assert np.max(np.abs(live.cells - panel.cells)) < 0.02
    assert np.max(np.abs(live.matrix - panel.matrix)) < 0.02


def test_a_cluster_breaks_away_ahead_of_the_tumour(published_1d):
    # Anderson et al. (2000): a small cluster of cells separates from the main tumour mass
    # and moves ahead of it into the matrix. Here: two peaks of n at T = 10, the leading
    # one well inside the tissue, separated from the main body by a dip.
    peaks = published_1d.clusters()
    assert len(peaks) == 2
    main, leading = peaks
    assert main < 0.05 and 0.3 < leading < 0.8
    n, x = published_1d.cells[-1], published_1d.x
    between = (x > main) & (x < leading)
    assert n[between].min() < 0.8 * np.interp(leading, x, n)
    # the cluster keeps moving: its peak advances between t = 5 and t = 10
    assert published_1d.clusters(index=10)[-1] > published_1d.clusters(index=5)[-1] + 0.05


def test_haptotaxis_is_what_makes_the_cluster():
    # Without haptotaxis the cells only diffuse: a single peak, and less invasion.
    times = [0.0, 10.0]
    diffusing = ecm.invade_1d(100, times=times, haptotaxis=0.0)
    assert len(diffusing.clusters()) == 1
    assert diffusing.invasion_depth()[-1] < ecm.invade_1d(100, times=times).invasion_depth()[-1] - 0.1


def test_invasion_deepens_with_time_and_haptotaxis_and_slows_under_inhibition(published_1d):
    assert np.all(np.diff(published_1d.invasion_depth()) > 0)
    assert np.all(np.diff(published_1d.degradation_front()[1:]) > 0)
    times = [0.0, 10.0]
    depth = {label: ecm.invade_1d(100, times=times, **kw).invasion_depth()[-1] for label, kw in {
        "default": {}, "strong haptotaxis": {"haptotaxis": 0.01}, "inhibited": {"mmp_inhibition": 1.0},
    }.items()}
    assert depth["strong haptotaxis"] > depth["default"] > depth["inhibited"]


def test_runs_are_deterministic():
    a, b = ecm.invade_2d(12, times=[0.0, 1.0]), ecm.invade_2d(12, times=[0.0, 1.0])
    np.testing.assert_array_equal(a.cells, b.cells)
    np.testing.assert_array_equal(ecm.heterogeneous_matrix(20, seed=3), ecm.heterogeneous_matrix(20, seed=3))
    assert not np.array_equal(ecm.heterogeneous_matrix(20, seed=3), ecm.heterogeneous_matrix(20, seed=4))


def test_heterogeneous_matrix_spans_its_contrast():
    f = ecm.heterogeneous_matrix(40, contrast=0.8)
    assert f.min() == pytest.approx(0.2) and f.max() == pytest.approx(1.0)


# --- relations between arguments and model statements -----------------------------------------

GOOD = ecm.initial_state_1d(16)

BAD_CALLS = [
    ("initial", lambda: ecm.solve_invasion((np.zeros((3, 4)), np.zeros((3, 4)), np.zeros((3, 4))), [0, 1])),
    ("initial", lambda: ecm.solve_invasion((GOOD[0], GOOD[1], GOOD[2][:-1]), [0, 1])),
    ("times", lambda: ecm.solve_invasion(GOOD, [1.0, 0.5])),
    ("times", lambda: ecm.solve_invasion(GOOD, [0.0])),
    ("times", lambda: ecm.invade_1d(16, times=[0.0, 2.0, 1.0])),
    # explicit RK45 on a stiff grid would take millions of steps: refused, not run
    ("method", lambda: ecm.solve_invasion(ecm.initial_state_1d(400), [0, 10], method="RK45",
                                          cell_diffusion=1.0)),
    ("cells.ndim", lambda: ecm.invade_2d(8, times=[0, 1]).clusters()),
    ("cells.ndim", lambda: ecm.invade_2d(8, times=[0, 1]).degradation_front()),
]


@pytest.mark.parametrize("name, call", BAD_CALLS, ids=[f"{i}-{name}" for i, (name, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_parameter(name, call):
    with pytest.raises(ValueError, match=name):
        call()


def test_reference_invasion_is_solved_once_per_setting_and_handed_out_read_only():
    # The same settings (None or the recorded value) give the run solve_invasion gives,
    # solved once: a second call hands out the same arrays, which cannot be written.
    first = ecm.reference_invasion(enzyme_production=0.0)
    again = ecm.reference_invasion(enzyme_production=0.0, haptotaxis=None)
    assert again.cells is first.cells
    with pytest.raises(ValueError):
        first.cells[0, 0] = 1.0
    direct = ecm.solve_invasion(ecm.initial_state_1d(ecm.REFERENCE_CELLS), ecm.REFERENCE_TIMES,
                                enzyme_production=0.0, method=ecm.REFERENCE_METHOD,
                                rtol=ecm.FAST_RTOL, atol=ecm.FAST_ATOL)
    np.testing.assert_array_equal(first.cells, direct.cells)
    np.testing.assert_array_equal(first.matrix, direct.matrix)
    assert ecm.reference_invasion().cells is not first.cells
