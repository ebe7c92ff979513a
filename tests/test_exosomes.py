"""Tests of tmebook.exosomes: the Iwata et al. (2000) colonisation model by two methods,
published conclusions, and the illustrative niche-priming extension."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad, solve_ivp

from tmebook import exosomes as ex

A = ex.PARAMETERS.default("growth_rate")
B_CAP = ex.PARAMETERS.default("carrying_capacity")
TIMES = np.array([616.0, 1000.0, 1500.0])


def observed_order(errors, refinement=2.0):
    errors = np.asarray(errors)
    return np.log(errors[:-1] / errors[1:]) / np.log(refinement)


@pytest.fixture(scope="module")
def births():
    """Birth rates on the chapter's grid: first generation only, and both generations."""
    return {"first": ex.birth_rate(second_generation=False), "both": ex.birth_rate()}


# --- (a) the primary and the characteristics ------------------------------------------------


def test_primary_closed_form_solves_the_gompertz_ode():
    t_eval = np.linspace(0.0, 1500.0, 16)
    # integrate ln x (the ODE is stiff-free there): d ln x / dt = a (ln b - ln x)
    sol = solve_ivp(lambda t, y: A * (np.log(B_CAP) - y), (0, 1500), [0.0], t_eval=t_eval,
                    rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(np.exp(sol.y[0]), ex.primary_size(t_eval), rtol=1e-8)
    # and in x itself, against g(x), at a few points
    x = ex.primary_size(700.0)
    h = 1e-3
    slope = (ex.primary_size(700.0 + h) - ex.primary_size(700.0 - h)) / (2 * h)
    assert slope == pytest.approx(ex.gompertz_rate(x), rel=1e-6)


def test_time_to_size_inverts_the_primary():
    t = np.array([1.0, 100.0, 616.0, 2000.0])
    np.testing.assert_allclose(ex.time_to_size(ex.primary_size(t)), t, rtol=1e-10)
    assert ex.time_to_size(1.0) == 0.0
    # 10^9 cells (about 1 cm^3) is reached after about 616 days with these parameters
    assert ex.time_to_size(1e9) == pytest.approx(616.4, abs=0.1)


def test_first_generation_count_equals_direct_quadrature(births):
    t, b = births["first"]
    counts = ex.metastases_larger_than(1.0, t, b)
    for T in TIMES:
        exact, _ = quad(lambda s: float(ex.primary_seeding_rate(s)), 0.0, T, limit=200,
                        epsabs=0, epsrel=1e-11)
        # trapezoid on a 1-day grid of a smooth integrand: relative error ~ 1e-6
        assert counts[int(T)] == pytest.approx(exact, rel=1e-5)


def test_size_classes_follow_the_characteristics(births):
    # Colonies larger than x at t are those founded before t - tau(x): the count of
    # large colonies is the total count delayed by tau(x).
    t, b = births["both"]
    total = ex.metastases_larger_than(1.0, t, b)
    x = 1e8
    delay = ex.time_to_size(x)
    large = ex.metastases_larger_than(x, t, b)
    np.testing.assert_allclose(large, np.interp(t - delay, t, total, left=0.0))
    assert np.all(large <= total + 1e-12)
    assert np.all(large[t < delay] == 0.0)


def test_renewal_solver_converges_at_second_order():
    values = [ex.metastases_larger_than(1.0, *ex.birth_rate(t_end=1500.0, dt=dt))[-1]
              for dt in (2.0, 1.0, 0.5, 0.25)]
    errors = np.abs(np.diff(values))
    orders = observed_order(errors)
    assert np.all((orders > 1.8) & (orders < 2.2)), orders


def test_renewal_solution_satisfies_its_equation(births):
    t, b = births["both"]
    seeding = ex.primary_seeding_rate(t)
    n = 1200
    history = np.trapezoid(seeding[n::-1] * b[: n + 1], t[: n + 1])
    assert b[n] == pytest.approx(seeding[n] + history, rel=1e-12)


# --- (a) second method: finite volumes on the transport equation -----------------------------


@pytest.mark.parametrize("second_generation", [False, True])
def test_finite_volumes_converge_to_the_characteristics(births, second_generation):
    t, b = births["both" if second_generation else "first"]
    exact_total = ex.metastases_larger_than(1.0, t, b)[TIMES.astype(int)]
    exact_large = ex.metastases_larger_than(1e8, t, b)[TIMES.astype(int)]
    errors = []
    for n_cells in (150, 300, 600):
        sol = ex.solve_transport(TIMES, n_cells=n_cells, second_generation=second_generation)
        errors.append(np.max(np.abs(sol.total() / exact_total - 1)))
        if n_cells == 600:
            # the size class above 10^8 cells: upwind smearing of the front costs a few %
            np.testing.assert_allclose(sol.larger_than(1e8)[1:], exact_large[1:], rtol=0.02)
    # without the second generation the total is exact up to the time step; with it,
    # first-order upwind converges at first order
    if second_generation:
        orders = observed_order(errors)
        assert np.all((orders > 0.8) & (orders < 1.3)), orders
    assert errors[-1] < 0.01


def test_finite_volumes_conserve_colonies():
    # First generation: the count changes only by the inflow, so the finite-volume total
    # matches the integral of beta(x_p) up to the forward-Euler sampling of the inflow.
    sol = ex.solve_transport(np.array([800.0]), n_cells=200, second_generation=False, cfl=0.05)
    exact, _ = quad(lambda s: float(ex.primary_seeding_rate(s)), 0.0, 800.0, limit=200)
    assert sol.total()[0] == pytest.approx(exact, rel=1e-3)
    assert np.all(sol.density >= 0)


# --- (a) long-time behaviour and published conclusions ------------------------------------------


def test_malthusian_rate_solves_the_characteristic_equation_and_is_approached():
    lam = ex.malthusian_rate()
    value, _ = quad(lambda u: float(ex.primary_seeding_rate(u)) * np.exp(-lam * u), 0, np.inf,
                    limit=400)
    assert value == pytest.approx(1.0, rel=1e-8)
    t, b = ex.birth_rate(t_end=3000.0, dt=1.0)
    late_rate = np.log(b[-1] / b[-101]) / 100.0
    assert late_rate == pytest.approx(lam, rel=0.01)


def test_metastases_are_founded_before_the_primary_is_detectable(births):
    # Haustein & Schumacher (2012): dissemination starts before clinical detection.
    t, b = births["first"]
    first = t[np.argmax(ex.metastases_larger_than(1.0, t, b) >= 1.0)]
    assert first < ex.time_to_size(ex.PARAMETERS.default("primary_detection_size"))


def test_second_generation_changes_numbers_far_more_than_burden(births):
    # Bethge et al. (2012): metastases from metastases change the number of metastases
    # a lot and the total tumour mass little.
    counts = {k: ex.metastases_larger_than(1.0, *births[k])[1500] for k in births}
    burden = {k: ex.total_tumour_burden(*births[k])[1500] for k in births}
    assert counts["both"] / counts["first"] > 3.0
    assert burden["both"] / burden["first"] < 1.05


def test_total_burden_matches_quadrature(births):
    t, b = births["first"]
    T = 1000.0
    exact, _ = quad(lambda s: float(ex.primary_seeding_rate(s) * ex.primary_size(T - s)),
                    0.0, T, limit=400, epsrel=1e-10)
    burden = ex.total_tumour_burden(t, b)[int(T)]
    assert burden == pytest.approx(float(ex.primary_size(T)) + exact, rel=1e-5)


# --- (b) niche priming ----------------------------------------------------------------------


def test_receptivity_matches_an_ode_solve():
    t = ex.time_grid()
    s, delta, p = 0.2, 0.03, 0.7
    ready = ex.receptivity(t, s, delta, p)
    sol = solve_ivp(lambda tt, r: s * ex.primary_size(tt) / B_CAP * np.array([p, 1 - p]) - delta * r,
                    (0, t[-1]), [0.0, 0.0], t_eval=t[::100], rtol=1e-10, atol=1e-12)
    # the filter is exact for piecewise-linear drive; x_p is smooth, so h^2 error
    np.testing.assert_allclose(ready[:, ::100], sol.y, rtol=1e-4, atol=1e-9)


def test_receptivity_approaches_its_quasi_steady_state_for_fast_decay():
    t = ex.time_grid()
    ready = ex.receptivity(t, 0.1, 0.5, 1.0)
    # fast decay: R follows s x_p / (b delta) with a lag of 1/delta days (first order in
    # 1/delta; the next term, x_p''/delta^3, is ~1e-5 relative here)
    lagged = 0.1 * ex.primary_size(t[-1] - 1 / 0.5) / B_CAP / 0.5
    assert ready[0, -1] == pytest.approx(lagged, rel=1e-4)
    assert np.all(ready[1] == 0.0)


def test_no_exosomes_means_no_priming():
    course = ex.niche_priming(exosome_output=0.0)
    np.testing.assert_array_equal(course.primed, course.unprimed)
    np.testing.assert_array_equal(course.receptivity, 0.0)


def test_unprimed_organs_share_the_first_generation_count(births):
    course = ex.niche_priming()
    t, b = births["first"]
    total = ex.metastases_larger_than(1.0, t, b)
    np.testing.assert_allclose(course.unprimed.sum(axis=0), 2 * ex.PARAMETERS.default("organ_share") * total)


def test_integrin_profile_directs_metastases_as_hoshino_found():
    # alpha6beta4/alpha6beta1-rich exosomes favour lung, alphavbeta5-rich favour liver.
    lung, liver = ex.ORGANS.index("lung"), ex.ORGANS.index("liver")
    lung_tropic = ex.niche_priming(integrin_profile=1.0)
    liver_tropic = ex.niche_priming(integrin_profile=0.0)
    assert lung_tropic.primed[lung, -1] > lung_tropic.primed[liver, -1]
    assert liver_tropic.primed[liver, -1] > liver_tropic.primed[lung, -1]
    # the organ the exosomes miss is not primed at all
    np.testing.assert_allclose(lung_tropic.primed[liver], lung_tropic.unprimed[liver])
    # swapping the profile swaps the organs
    np.testing.assert_allclose(lung_tropic.primed[lung], liver_tropic.primed[liver])


@settings(max_examples=30, deadline=None)
@given(s=st.floats(0.0, 0.5), delta=st.floats(0.005, 0.5), p=st.floats(0.0, 1.0))
def test_priming_never_lowers_colonisation(s, delta, p):
    course = ex.niche_priming(s, delta, p)
    assert np.all(course.receptivity >= -1e-12)
    assert np.all(course.primed >= course.unprimed - 1e-9)
    assert np.all(course.primed_visible <= course.primed + 1e-9)
    assert np.all(np.diff(course.primed, axis=1) >= -1e-12)


@settings(max_examples=30, deadline=None)
@given(s=st.floats(0.0, 0.4), extra=st.floats(0.01, 0.1), delta=st.floats(0.005, 0.5))
def test_more_exosomes_more_metastases(s, extra, delta):
    low = ex.niche_priming(s, delta, 0.8)
    high = ex.niche_priming(s + extra, delta, 0.8)
    assert np.all(high.primed[:, -1] > low.primed[:, -1])


def test_model_is_deterministic():
    a, b = ex.niche_priming(), ex.niche_priming()
    np.testing.assert_array_equal(a.primed, b.primed)


# --- relations between arguments, and results refused -------------------------------------------

T = ex.time_grid()
FAST = dict(growth_rate=0.1, carrying_capacity=1e13, colonisation_coefficient=1.0, fractal_dimension=1.0)
RELATION_CALLS = [
    ("x", lambda: ex.time_to_size(2 * B_CAP)),
    ("x", lambda: ex.metastases_larger_than(2 * B_CAP, T, np.ones_like(T))),
    ("births", lambda: ex.metastases_larger_than(1e8, T, np.ones(3))),
    ("t", lambda: ex.total_tumour_burden(T**2, np.ones_like(T))),
    ("t", lambda: ex.receptivity(T + 1.0)),
    ("dt", lambda: ex.birth_rate(t_end=10.0, dt=3.0)),
    ("dt", lambda: ex.time_grid(t_end=1e4, dt=0.1)),
    ("t_end", lambda: ex.time_grid(t_end=1e-300)),  # shorter than two of the shortest steps
    ("dt", lambda: ex.birth_rate(t_end=100.0, dt=4.0, colonisation_coefficient=0.5)),
    ("t_out", lambda: ex.solve_transport([10.0, 5.0])),
    ("n_cells", lambda: ex.solve_transport([30000.0], n_cells=2000, cfl=0.01)),
    # results beyond any meaning (the colonies grow like exp(lambda t)) are refused
    ("t_end", lambda: ex.birth_rate(t_end=100.0, dt=0.5, **FAST)),
    ("t_out", lambda: ex.solve_transport([200.0], n_cells=20, **FAST)),
]


@pytest.mark.parametrize("name, call", RELATION_CALLS,
                         ids=[f"{i}-{name}" for i, (name, _) in enumerate(RELATION_CALLS)])
def test_relations_and_runaway_results_raise_naming_the_argument(name, call):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()


def test_examples_of_related_arguments_meet_their_relations():
    # the contract test and the input probe call each function with these examples while
    # they vary another argument: a refusal must name the varied argument, not these
    t, births = ex.GRID.example(), ex.BIRTHS.example()
    assert births.shape == t.shape and t[0] == 0.0 and np.allclose(np.diff(t), t[1] - t[0])
    assert np.all(np.isfinite(ex.metastases_larger_than(ex.SIZE.example(), t, births)))
    assert np.all(np.isfinite(ex.time_to_size(ex.SIZE_FROM_ONE.example())))
    assert np.all(np.isfinite(ex.solve_transport(ex.OUTPUT_TIMES.example(), n_cells=20).total()))


def test_first_generation_needs_no_implicit_step():
    # the relation dt m < 2 concerns the renewal step only
    t, b = ex.birth_rate(t_end=100.0, dt=4.0, second_generation=False, colonisation_coefficient=0.5)
    assert np.all(np.isfinite(b)) and t[-1] == 100.0


def test_widget_declares_sliders_with_ranges():
    for name in ex.WIDGET_CONTROLS:
        p = ex.PARAMETERS[name]
        assert p.low is not None and p.low <= p.value <= p.high
