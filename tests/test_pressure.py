"""Tests of tmebook.pressure (Baxter & Jain 1989): the analytic IFP profile against its
equation, its limits and a second-order finite-volume solve, conservation of fluid, the
default alpha from the tissue values, and the closed forms chapter 10 uses (mean and centre
IFP, core filtration) against quadrature of the profile."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from tmebook import pressure as pr


def observed_order(errors, refinement=2.0):
    errors = np.asarray(errors)
    return np.log(errors[:-1] / errors[1:]) / np.log(refinement)


# --- the profile and the numerical solve ------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.5, 5.0, 36.8])
def test_ifp_profile_solves_the_equation_with_its_boundary_conditions(alpha):
    assert pr.ifp_profile(1.0, alpha) == pytest.approx(0.0, abs=1e-12)
    assert pr.ifp_profile(0.0, alpha) == pytest.approx(1 - alpha / np.sinh(alpha), rel=1e-12)
    # (1/s^2)(s^2 q')' = q'' + 2 q'/s = alpha^2 (q - 1), by centred differences
    s, e = 0.6, 1e-4
    q = pr.ifp_profile(np.array([s - e, s, s + e]), alpha)
    lhs = (q[2] - 2 * q[1] + q[0]) / e**2 + 2 / s * (q[2] - q[0]) / (2 * e)
    assert lhs == pytest.approx(alpha**2 * (q[1] - 1), rel=1e-4, abs=1e-6)
    # centred difference: relative truncation error ~ alpha^2 e^2 / 6 < 1e-5
    assert pr.ifp_gradient(s, alpha) == pytest.approx((q[2] - q[0]) / (2 * e), rel=1e-4)


def test_numerical_ifp_converges_to_the_analytic_profile_at_second_order():
    errors = []
    for n in (25, 50, 100, 200):
        s, q = pr.ifp_numerical(5.0, n)
        errors.append(np.max(np.abs(q - pr.ifp_profile(s, 5.0))))
    orders = observed_order(errors)
    assert errors[-1] < 1e-4
    assert np.all((orders > 1.8) & (orders < 2.2)), orders


def test_fluid_leaving_the_surface_equals_what_the_vessels_filter():
    alpha, pe, kt, radius = 12.0, 20.0, 4.13e-8, 0.8
    lp_sv = (alpha / radius) ** 2 * kt  # the filtration coefficient this alpha implies
    filtered, _ = quad(lambda r: lp_sv * pe * (1 - pr.ifp_profile(r / radius, alpha)) * 4 * np.pi * r**2,
                       0, radius, epsabs=0, epsrel=1e-11, limit=200)
    outflow = 4 * np.pi * radius**2 * pr.surface_velocity(alpha, pe, kt, radius)
    assert outflow == pytest.approx(filtered, rel=1e-8)
    assert pr.interstitial_velocity(1.0, alpha, pe, kt, radius) == pytest.approx(
        pr.surface_velocity(alpha, pe, kt, radius), rel=1e-10)


def test_small_and_large_alpha_limits():
    s = np.linspace(0, 1, 11)
    # alpha -> 0: p/p_e ~ alpha^2 (1 - s^2)/6
    small = 1e-2
    assert pr.ifp_profile(s, small) == pytest.approx(small**2 * (1 - s**2) / 6, rel=1e-4, abs=1e-12)
    # alpha large: a plateau at p_e up to a boundary layer of width ~ R/alpha, no overflow
    big = 1000.0
    q = pr.ifp_profile(np.array([0.0, 0.5, 1 - 5 / big, 1.0]), big)
    assert np.all(np.isfinite(q))
    assert q[0] == 1.0 and q[1] == pytest.approx(1.0, abs=1e-12)
    assert 0.95 < q[2] < 1.0 and q[3] == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.05, 300.0))
def test_ifp_profile_is_bounded_and_falls_outwards(alpha):
    s = np.linspace(0, 1, 101)
    q = pr.ifp_profile(s, alpha)
    assert np.all((q >= -1e-12) & (q <= 1.0))
    assert np.all(np.diff(q) <= 1e-12)
    u = pr.interstitial_velocity(s[1:], alpha, 20.0, 4.13e-8, 1.0)
    assert np.all(u >= 0) and np.all(np.diff(u) >= -1e-18)


def test_default_alpha_and_effective_pressure_follow_from_the_tissue_values():
    tissue = pr.BAXTER_JAIN_TUMOUR
    alpha = pr.ifp_alpha_from_tissue(1.0, tissue["hydraulic_conductivity"],
                                     tissue["vessel_permeability"], tissue["surface_per_volume"])
    assert pr.PARAMETERS.default("ifp_alpha") == pytest.approx(alpha, abs=0.005)
    pe = pr.effective_pressure(25.0, 0.82, 20.0, 15.0)
    assert pe == pytest.approx(25.0 - 0.82 * 5.0)
    # doubling the tumour radius doubles alpha
    assert pr.ifp_alpha_from_tissue(2.0, tissue["hydraulic_conductivity"], tissue["vessel_permeability"],
                                    tissue["surface_per_volume"]) == pytest.approx(2 * alpha)


# --- closed forms of the solution (chapter 10) --------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.floats(0.05, 60.0))
def test_mean_ifp_against_quadrature_of_chapter_7s_profile(alpha):
    mean, _ = quad(lambda s: 3 * s**2 * pr.ifp_profile(s, alpha), 0.0, 1.0, limit=200)
    assert pr.mean_ifp_fraction(alpha) == pytest.approx(mean, rel=1e-6, abs=1e-9)
    assert pr.centre_ifp_fraction(alpha) == pytest.approx(pr.ifp_profile(0.0, alpha),
                                                          rel=1e-9, abs=1e-12)


def test_mean_filtration_equals_surface_outflow():
    # Conservation of fluid: everything filtered from the vessels leaves through the surface,
    # so the volume-mean filtration L_p S/V <p_e - p> equals 3 u(R) / R.
    k_t, r = 4.13e-8, 0.5
    for alpha in (0.5, 3.0, 20.0):
        l_p_s_v = k_t * alpha**2 / r**2
        mean_filtration = l_p_s_v * pr.P_EFFECTIVE * (1.0 - pr.mean_ifp_fraction(alpha))
        outflow = pr.surface_velocity(alpha, pr.P_EFFECTIVE, k_t, r)
        assert mean_filtration == pytest.approx(3.0 * outflow / r, rel=1e-10)


def test_core_delivery_peaks_at_alpha_star():
    a_star = pr.optimal_core_alpha()
    assert a_star / np.tanh(a_star) == pytest.approx(3.0)
    grid = np.linspace(0.5, 20.0, 4001)
    assert grid[np.argmax(pr.core_filtration(grid))] == pytest.approx(a_star, abs=0.01)
    assert pr.core_delivery_index(a_star) == pytest.approx(1.0)
    # no overflow for very leaky tumours
    assert pr.core_filtration(800.0) == pytest.approx(0.0, abs=1e-300)


