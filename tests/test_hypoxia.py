"""Tests of tmebook.hypoxia against analytic solutions, conservation and published numbers."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from tmebook import hypoxia

D = hypoxia.PARAMETERS.default("diffusivity")  # um^2/s
A = hypoxia.PARAMETERS.default("consumption")  # mmHg/s
PV = hypoxia.PARAMETERS.default("p_vessel")  # mmHg
A_DLD1 = float(hypoxia.ocr_to_pressure_rate(hypoxia.DLD1_OCR_M3_PER_KG_S))


def observed_order(errors, refinement=2.0):
    """Convergence orders between successive refinements."""
    errors = np.asarray(errors)
    return np.log(errors[:-1] / errors[1:]) / np.log(refinement)


# --- (a) planar tissue, Krogh cylinder, cords ------------------------------------------------


def test_planar_profile_satisfies_its_boundary_conditions():
    L = hypoxia.planar_diffusion_distance(PV, D, A)
    assert hypoxia.planar_profile(0.0, PV, D, A) == pytest.approx(PV)
    assert hypoxia.planar_profile(L, PV, D, A) == pytest.approx(0.0, abs=1e-9)
    # beyond the diffusion distance the deep-tissue profile is anoxic, not negative
    assert np.all(hypoxia.planar_profile(np.array([1.5 * L, 3 * L]), PV, D, A) == pytest.approx(0.0, abs=1e-9))
    # second derivative a/D: check with a centred difference of the analytic profile
    x, h = 0.4 * L, 1e-2
    p = hypoxia.planar_profile(np.array([x - h, x, x + h]), PV, D, A)
    assert (p[0] - 2 * p[1] + p[2]) / h**2 == pytest.approx(A / D, rel=1e-5)


def test_radial_solver_is_exact_for_the_planar_quadratic():
    # The vertex-centred finite-volume scheme integrates a quadratic profile exactly.
    thickness = 0.9 * hypoxia.planar_diffusion_distance(PV, D, A)
    x, p = hypoxia.solve_radial("planar", 0.0, thickness, PV, D, A, km=0.0, n_cells=37)
    exact = hypoxia.planar_profile(x, PV, D, A, thickness=thickness)
    assert np.max(np.abs(p - exact)) < 1e-9 * PV


def test_radial_solver_converges_to_krogh_at_second_order():
    r_v, R = 5.0, 60.0
    errors = []
    for n in (20, 40, 80, 160):
        r, p = hypoxia.solve_radial("cylinder", r_v, R, PV, D, A, km=0.0, n_cells=n)
        errors.append(np.max(np.abs(p - hypoxia.krogh_profile(r, PV, D, A, r_v, R))))
    orders = observed_order(errors)
    assert errors[-1] < 1e-4 * PV  # 0.004 mmHg on 160 cells
    assert np.all((orders > 1.8) & (orders < 2.2)), orders


def test_krogh_diffusion_distance_is_where_the_edge_runs_out():
    r_v = hypoxia.PARAMETERS.default("vessel_radius")
    distance = hypoxia.krogh_diffusion_distance(PV, D, A, r_v)
    R = r_v + distance
    assert hypoxia.krogh_profile(R, PV, D, A, r_v, R) == pytest.approx(0.0, abs=1e-8)
    # a thin vessel supplies less far than a plane (the same flux spreads over a circle)
    assert distance < hypoxia.planar_diffusion_distance(PV, D, A)
    # a very wide vessel looks flat from the tissue: the planar limit
    wide = hypoxia.krogh_diffusion_distance(PV, D, A, 1e6)
    assert wide == pytest.approx(hypoxia.planar_diffusion_distance(PV, D, A), rel=1e-3)


def test_cord_anoxic_radius_matches_a_numerical_solve_and_the_planar_limit():
    R = 300.0
    r_n = hypoxia.cord_anoxic_radius(R, PV, D, A)
    assert 0 < r_n < R
    # numerical cylinder fed from outside, Michaelis-Menten with tiny K_m (zero-order limit)
    r, p = hypoxia.solve_radial("cylinder", 0.0, R, PV, D, A, km=1e-3, fixed_at="outer", n_cells=600)
    numerical = r[np.argmax(p > 0.02)]
    assert numerical == pytest.approx(r_n, abs=3.0)  # within a few 0.5 um cells + K_m smearing
    # a very thick cord: the living rim tends to the planar diffusion distance
    big = 1e6
    rim = big - hypoxia.cord_anoxic_radius(big, PV, D, A)
    assert rim == pytest.approx(hypoxia.planar_diffusion_distance(PV, D, A), rel=1e-3)
    # a thin cord is fully oxygenated
    assert hypoxia.cord_anoxic_radius(20.0, PV, D, A) == 0.0


def test_thomlinson_gray_distance_lies_within_our_parameter_range():
    # Their calculated ~150 um (Thomlinson & Gray 1955) against our planar distance over the
    # sourced consumption rates (Secomb 1995; Grimes 2014) and supply pO2 of 40-100 mmHg.
    distances = [hypoxia.planar_diffusion_distance(p, D, a) for p in (40.0, 100.0) for a in (A, A_DLD1)]
    assert min(distances) < hypoxia.THOMLINSON_GRAY_DISTANCE_UM < max(distances)


# --- (b) spheroids -------------------------------------------------------------------------


def test_dld1_diffusion_limit_reproduces_grimes_2014():
    published, sd = hypoxia.DLD1_DIFFUSION_LIMIT_UM
    ours = hypoxia.spheroid_diffusion_limit(100.0, D, A_DLD1)
    assert abs(ours - published) < sd
    # the published r_l and OCR imply a surface pO2 close to 100 mmHg
    implied_p0 = published**2 * A_DLD1 / (6 * D)
    assert implied_p0 == pytest.approx(100.0, rel=0.02)
    assert A_DLD1 == pytest.approx(22.1, abs=0.05)


@pytest.mark.parametrize("r_outer", [240.0, 300.0, 450.0, 1000.0])
def test_anoxic_radius_closed_form_solves_the_cubic(r_outer):
    r_l = hypoxia.spheroid_diffusion_limit(100.0, D, A_DLD1)
    r_n = hypoxia.anoxic_radius(r_outer, 100.0, D, A_DLD1)
    assert r_l**2 == pytest.approx(r_outer**2 - 3 * r_n**2 + 2 * r_n**3 / r_outer, rel=1e-10)
    # and it is the physical root: the one in [0, r_o] found by bracketing
    root = brentq(lambda x: 2 * x**3 - 3 * x**2 + 1 - (r_l / r_outer) ** 2, 0.0, 1.0)
    assert r_n == pytest.approx(root * r_outer, rel=1e-9)


def test_anoxic_radius_is_zero_up_to_the_diffusion_limit():
    r_l = hypoxia.spheroid_diffusion_limit(100.0, D, A_DLD1)
    assert hypoxia.anoxic_radius(0.99 * r_l, 100.0, D, A_DLD1) == 0.0
    assert hypoxia.anoxic_radius(1.001 * r_l, 100.0, D, A_DLD1) < 0.1 * r_l


def test_radial_solver_is_exact_for_the_spheroid_quadratic():
    # Below the diffusion limit the spheroid profile is a quadratic in r, which the scheme
    # (exact r^2 control volumes, midpoint fluxes) reproduces to rounding error.
    r_o = 0.9 * hypoxia.spheroid_diffusion_limit(100.0, D, A_DLD1)
    r, p = hypoxia.solve_radial("sphere", 0.0, r_o, 100.0, D, A_DLD1, km=0.0, fixed_at="outer",
                                n_cells=50)
    assert np.max(np.abs(p - hypoxia.spheroid_profile(r, r_o, 100.0, D, A_DLD1))) < 1e-9 * 100.0


@pytest.mark.parametrize("r_outer", [300.0, 400.0, 550.0])
def test_spheroid_anoxic_core_matches_a_numerical_solve(r_outer):
    r_n = hypoxia.anoxic_radius(r_outer, 100.0, D, A_DLD1)
    r, p = hypoxia.solve_radial("sphere", 0.0, r_outer, 100.0, D, A_DLD1, km=1e-3,
                                fixed_at="outer", n_cells=800)
    numerical = r[np.argmax(p > 0.02)]
    # Michaelis-Menten with K_m -> 0 recovers the zero-order free boundary; the pO2 = 0.02
    # reading and the grid move it by a few micrometres.
    assert numerical == pytest.approx(r_n, abs=4.0)


# --- (c) the 2-D section --------------------------------------------------------------------


def test_section_with_a_vessel_wall_matches_the_planar_solution_exactly():
    side, n = 200.0, 40
    h = side / n
    wall = np.column_stack([np.zeros(n), np.arange(n) * h])  # a vessel in every cell of x = 0
    section = hypoxia.solve_section(wall, section_side=side, n_grid=n, p_vessel=PV,
                                    diffusivity=D, consumption=A, km=0.0, vessel_radius=0.0)
    x = section.x
    exact = PV - A / (2 * D) * x * (side - x)  # periodic: fed from both sides of the gap
    assert np.max(np.abs(section.po2 - exact[None, :])) < 1e-8 * PV


def test_section_single_vessel_matches_krogh_near_the_vessel():
    # One vessel in a periodic square tile, represented by one grid cell: it behaves as a
    # cylinder of radius h e^-gamma / (2 sqrt 2) (lattice Green's function). Compare with
    # the Krogh cylinder of equal area; the square-versus-circle shape matters only far
    # from the vessel, so we compare within a quarter of the tile.
    side, n = 120.0, 120
    h = side / n
    a = A / 2  # keeps the whole tile, corners included, above zero pO2
    section = hypoxia.solve_section([[side / 2, side / 2]], section_side=side, n_grid=n,
                                    p_vessel=PV, diffusivity=D, consumption=a, km=0.0,
                                    vessel_radius=0.0)
    r_eff = h * math.exp(-np.euler_gamma) / (2 * math.sqrt(2))
    centre = n // 2
    r = section.x[centre + 3: centre + n // 4] - side / 2
    krogh = hypoxia.krogh_profile(r, PV, D, a, r_eff, side / math.sqrt(math.pi))
    numerical = section.po2[centre, centre + 3: centre + n // 4]
    assert np.max(np.abs(numerical - krogh)) < 0.01 * PV


def test_section_conserves_oxygen():
    # At steady state, everything the vessels release is consumed by the tissue.
    section = hypoxia.tissue_section(120.0, n_grid=hypoxia.WIDGET_GRID)  # conjugate-gradient path
    po2, vessel = section.po2, section.vessel_mask
    released = 0.0
    for shift in ((0, 1), (0, -1), (1, 1), (1, -1)):
        neighbour = np.roll(po2, shift[1], axis=shift[0])
        neighbour_is_tissue = ~np.roll(vessel, shift[1], axis=shift[0])
        released += np.sum((po2 - neighbour)[vessel & neighbour_is_tissue]) * D  # flux x face
    # (flux per face = D (p_v - p_nb) / h, face length h: the h cancels)
    consumed = section.consumption_total()
    assert released == pytest.approx(consumed, rel=1e-6)


@pytest.mark.slow  # about half a minute: three grids of the tissue section
def test_section_converges_under_grid_refinement():
    # Vessels of 5 um radius resolved by several cells: the mean pO2 settles as the grid is
    # refined. The staircase outline of the vessels makes convergence about first order
    # (successive differences here: 2.0, 0.9 and, at n = 400, 0.17 mmHg).
    vessels = [[50.0, 50.0], [120.0, 90.0], [80.0, 160.0]]
    means = []
    for n in (50, 100, 200):
        s = hypoxia.solve_section(vessels, section_side=200.0, n_grid=n, vessel_radius=5.0)
        means.append(s.po2[~s.vessel_mask].mean())
    assert abs(means[2] - means[1]) < 0.6 * abs(means[1] - means[0])
    assert abs(means[2] - means[1]) < 0.1 * means[2]


def test_michaelis_menten_keeps_po2_non_negative_and_below_the_vessel():
    section = hypoxia.tissue_section(300.0)  # sparse vessels: large anoxic regions
    assert section.po2.min() >= -1e-9
    assert section.po2.max() <= PV + 1e-9
    assert section.hypoxic_fraction() > 0.5


def test_hypoxic_fraction_grows_as_vessels_thin_out():
    fractions = [hypoxia.tissue_section(d).hypoxic_fraction() for d in (60.0, 100.0, 200.0, 300.0)]
    assert np.all(np.diff(fractions) > 0), fractions


@pytest.mark.parametrize("p_vessel", [40.0, 80.0])
def test_section_tolerances_give_the_tightly_solved_field(monkeypatch, p_vessel):
    # The reference section's Newton settings (SECTION_TOLERANCE, SECTION_FORCING), and the
    # sweep solved by continuation (tissue_sections), against the former, tighter settings
    # (stop at 1e-10 of p_v, steps solved to 1e-12) on the chapter's sweep of spacings
    # (50-300 um) at both vessel pO2 of its figure: the fields agree to 1e-9 mmHg and count
    # the same hypoxic cells.
    spacings = np.linspace(50.0, 300.0, 12)
    sections = [hypoxia.tissue_section(d, p_vessel=p_vessel) for d in spacings[::3]]
    sweep = hypoxia.tissue_sections(spacings, p_vessel=p_vessel)
    monkeypatch.setattr(hypoxia, "SECTION_TOLERANCE", 1e-10)
    monkeypatch.setattr(hypoxia, "SECTION_FORCING", 1e-12)
    tight = [hypoxia.tissue_section(d, p_vessel=p_vessel) for d in spacings]
    for ours, exact in [*zip(sections, tight[::3]), *zip(sweep, tight)]:
        np.testing.assert_array_equal(ours.vessel_mask, exact.vessel_mask)
        assert np.max(np.abs(ours.po2 - exact.po2)) < 1e-9
        assert ours.hypoxic_fraction() == exact.hypoxic_fraction()


def test_sections_are_deterministic_and_nested():
    a, b = hypoxia.tissue_section(), hypoxia.tissue_section()
    np.testing.assert_array_equal(a.po2, b.po2)
    sparse, dense = hypoxia.random_vessels(200.0), hypoxia.random_vessels(100.0)
    np.testing.assert_array_equal(dense[: len(sparse)], sparse)  # more vessels, same old ones
    assert len(dense) == 100 and len(sparse) == 25


# --- (d) HIF-1 ------------------------------------------------------------------------------


def test_hif_calibration_reproduces_jiang_1996():
    half = hypoxia.PARAMETERS.default("hif_half_max")
    assert hypoxia.hif_activity(half) == pytest.approx(0.5)
    assert hypoxia.hif_activity(hypoxia.PARAMETERS.default("hif_max")) == pytest.approx(0.95)
    low, high = hypoxia.percent_o2_to_mmhg([1.5, 2.0])
    assert low < half < high  # half-maximal between 1.5 and 2 % O2
    assert hypoxia.percent_o2_to_mmhg(1.0) == pytest.approx(7.13)
    assert hypoxia.hif_activity(150.0) < 0.01  # air-equilibrated: essentially off


# --- properties -------------------------------------------------------------------------------

positive = st.floats(min_value=1e-2, max_value=1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(p_vessel=positive, diffusivity=st.floats(100.0, 1e4), consumption=positive)
def test_planar_profile_is_monotone_and_bounded(p_vessel, diffusivity, consumption):
    L = hypoxia.planar_diffusion_distance(p_vessel, diffusivity, consumption)
    x = np.linspace(0, 1.5 * L, 50)
    p = hypoxia.planar_profile(x, p_vessel, diffusivity, consumption)
    assert np.all(np.diff(p) <= 1e-9 * p_vessel)
    assert np.all((p >= -1e-9 * p_vessel) & (p <= p_vessel * (1 + 1e-12)))


@settings(max_examples=60, deadline=None)
@given(ratio=st.floats(1.0, 50.0), p0=positive, consumption=positive)
def test_anoxic_radius_is_a_physical_root(ratio, p0, consumption):
    r_l = hypoxia.spheroid_diffusion_limit(p0, D, consumption)
    r_o = ratio * r_l
    r_n = hypoxia.anoxic_radius(r_o, p0, D, consumption)
    assert 0.0 <= r_n < r_o
    assert r_l**2 == pytest.approx(r_o**2 - 3 * r_n**2 + 2 * r_n**3 / r_o, rel=1e-7, abs=1e-9 * r_o**2)


@settings(max_examples=40, deadline=None)
@given(p_vessel=positive, consumption=positive, r_vessel=st.floats(0.5, 50.0))
def test_krogh_reaches_less_far_than_a_plane(p_vessel, consumption, r_vessel):
    assert hypoxia.krogh_diffusion_distance(p_vessel, D, consumption, r_vessel) < \
        hypoxia.planar_diffusion_distance(p_vessel, D, consumption)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 500.0), min_size=2, max_size=20))
def test_hif_activity_is_bounded_and_decreasing(po2):
    p = np.sort(np.asarray(po2))
    h = hypoxia.hif_activity(p)
    assert np.all((h >= 0) & (h <= 1))
    assert np.all(np.diff(h) <= 1e-15)


# --- conditions between arguments (single bad values: tests/test_contract.py) ----------------

RELATION_CALLS = [
    ("r_tissue", lambda: hypoxia.krogh_profile(10.0, PV, D, A, 5.0, 4.0)),
    # beyond the Krogh diffusion distance zero-order pO2 would be negative: refused, not clipped
    ("r_tissue", lambda: hypoxia.krogh_profile(10.0, PV, D, A, 5.0, 5.0 + 1.01 * hypoxia.krogh_diffusion_distance(PV, D, A, 5.0))),
    ("r", lambda: hypoxia.krogh_profile(70.0, PV, D, A, 5.0, 60.0)),
    ("r", lambda: hypoxia.spheroid_profile([0.0, 300.0], 200.0, 100.0, D, A_DLD1)),
    ("x", lambda: hypoxia.planar_profile([0.0, 60.0], PV, D, A, thickness=50.0)),
    ("vessels", lambda: hypoxia.solve_section([[2000.0, 2.0]])),
    ("vessel_radius", lambda: hypoxia.solve_section([[500.0, 500.0]], vessel_radius=900.0)),
    ("km", lambda: hypoxia.solve_section([[1.0, 2.0]], km=1e-300)),
    ("km", lambda: hypoxia.solve_radial("sphere", 0.0, 100.0, PV, D, A, km=5e-324)),
    ("outer", lambda: hypoxia.solve_radial("planar", 5.0, 1.0, PV, D, A)),
    ("hif_max", lambda: hypoxia.hif_hill_coefficient(hif_half_max=5.0, hif_max=6.0)),
    ("hif_max", lambda: hypoxia.hif_activity(3.0, hif_max=20.0)),
]


@pytest.mark.parametrize("name, call", RELATION_CALLS, ids=[f"{i}-{name}" for i, (name, _) in enumerate(RELATION_CALLS)])
def test_arguments_that_do_not_fit_together_are_refused_naming_one(name, call):
    with pytest.raises(ValueError, match=f"^{name} "):
        call()


def test_krogh_profile_reaches_zero_but_not_below_at_the_diffusion_distance():
    r_v = hypoxia.PARAMETERS.default("vessel_radius")
    R = r_v + hypoxia.krogh_diffusion_distance(PV, D, A, r_v)
    p = hypoxia.krogh_profile(np.linspace(r_v, R, 50), PV, D, A, r_v, R)
    assert p.min() >= -1e-9 * PV


def test_zero_order_beyond_the_diffusion_limit_is_refused():
    with pytest.raises(ValueError, match="km"):
        hypoxia.solve_radial("planar", 0.0, 3 * hypoxia.planar_diffusion_distance(PV, D, A), PV, D, A,
                             km=0.0)
    with pytest.raises(ValueError, match="thickness"):
        hypoxia.planar_profile([0.0], PV, D, A, thickness=1e4)


# --- the live panel ---------------------------------------------------------------------------


@pytest.mark.parametrize("sliders", [
    {},
    *[dict(zip(hypoxia.WIDGET_CONTROLS, corner)) for corner in itertools.product(
        *[(hypoxia.PARAMETERS[c].low, hypoxia.PARAMETERS[c].high) for c in hypoxia.WIDGET_CONTROLS])],
])
def test_widget_section_shows_the_section_of_tissue_section(sliders):
    # The live panel stops Newton's method earlier; its field is the chapter's to within a
    # hundredth of a mmHg and it counts the same hypoxic cells.
    chapter, panel = hypoxia.tissue_section(**sliders), hypoxia.widget_section(**sliders)
    np.testing.assert_array_equal(panel.vessel_mask, chapter.vessel_mask)
    assert np.max(np.abs(panel.po2 - chapter.po2)) < 0.01
    assert panel.hypoxic_fraction() == chapter.hypoxic_fraction()
