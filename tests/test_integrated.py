"""Tests of tmebook.integrated: each coupling off gives the chapter's model back exactly,
the couplings' limits and monotonicity, the hysteresis rule against the full EMT circuit,
and the reproduction table."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tmebook import ecm, emt, growth, hypoxia
from tmebook import integrated as ig

OFF = dict(coupling_vessels=0.0, coupling_vegf=0.0, coupling_emt=0.0, coupling_invasion=0.0)


@pytest.fixture(scope="module")
def default_run():
    return ig.simulate_tme()


# --- each coupling switched off reproduces its chapter ----------------------------------------


@pytest.mark.parametrize("vessels", [0.0, 1.0])
def test_vegf_off_is_chapter_7_exactly(vessels):
    # With C2 off the right-hand side is chapter 7's, whatever C1 does (C1 only feeds C2).
    run = ig.simulate_tme(coupling_vessels=vessels, coupling_vegf=0.0)
    ref = growth.simulate_hahnfeldt(t_end=ig.PARAMETERS.default("duration"), n_points=ig.N_TIMES)
    assert np.array_equal(run.volume, ref.volume)
    assert np.array_equal(run.capacity, ref.capacity)
    assert np.all(run.stimulation == growth.PARAMETERS["stimulation"].value)


def test_vessels_off_is_chapter_5_default_section_exactly():
    run = ig.simulate_tme(coupling_vessels=0.0)
    section = hypoxia.tissue_section()
    assert np.all(run.spacing == hypoxia.PARAMETERS["vessel_spacing"].value)
    assert np.all(run.hypoxic_fraction == section.hypoxic_fraction())
    assert np.all(run.mean_hif == float(np.nanmean(section.hif())))
    # and, with nothing changing the oxygen, C2 leaves b as published
    assert np.allclose(run.stimulation, growth.PARAMETERS["stimulation"].value, rtol=1e-15)


def test_emt_off_is_chapter_6_map_at_the_background_tgf():
    run = ig.simulate_tme(coupling_emt=0.0, tgf_background=1.3)
    assert np.all(run.emt_input == emt.tgf_to_input(1.3))


def test_invasion_off_is_chapter_8_published_run_exactly():
    run = ig.simulate_tme(coupling_invasion=0.0)
    published = ecm.reference_invasion().invasion_depth()[-1]
    assert np.all(run.haptotaxis == ecm.PARAMETERS["haptotaxis"].value)
    assert np.all(run.invasion_depth == published)


def test_everything_off_is_constant_except_growth():
    run = ig.simulate_tme(**OFF)
    for name in ("spacing", "hypoxic_fraction", "mean_hif", "stimulation", "emt_input",
                 "mesenchymal_fraction", "haptotaxis", "invasion_depth"):
        values = getattr(run, name)
        assert np.all(values == values[0]), name


# --- limits and monotonicity of the couplings ----------------------------------------------------


def test_oxygen_table_is_chapter_5_and_monotone():
    spacing, fraction, hif = ig.oxygen_table()
    assert hypoxia.PARAMETERS["vessel_spacing"].value in spacing
    # sparser vessels: never less hypoxia (the seeded vessel sets are nested)
    assert np.all(np.diff(fraction) >= 0) and np.all(np.diff(hif) > 0)
    assert fraction[0] == pytest.approx(0.0, abs=0.02) and fraction[-1] > 0.95


def test_oxygen_interpolation_is_close_to_a_direct_solve():
    # Between table nodes, in the steepest part of the curve: linear interpolation against
    # chapter 5's solver. 0.02 is a twentieth of the rise across the neighbouring nodes.
    spacing = 93.75
    fraction, hif = ig.oxygen_readout(spacing)
    section = hypoxia.tissue_section(spacing)
    assert fraction == pytest.approx(section.hypoxic_fraction(), abs=0.02)
    assert hif == pytest.approx(float(np.nanmean(section.hif())), abs=0.02)


def test_vessel_spacing_limits():
    # K = V: the reference spacing, at every strength; denser support: closer vessels
    assert ig.vessel_spacing(1.0, 0.7) == pytest.approx(ig.PARAMETERS.default("reference_spacing"))
    assert ig.vessel_spacing(0.5, 1.0) == pytest.approx(100.0 * np.sqrt(0.5))
    ratios = np.geomspace(0.05, 20.0, 50)
    d = ig.vessel_spacing(ratios, 1.0)
    assert np.all(np.diff(d) >= 0)
    assert d.min() == ig.SPACING_GRID[0] and d.max() == ig.SPACING_GRID[-1]  # clipped to the table


def test_vegf_stimulation_limits():
    b = growth.PARAMETERS["stimulation"].value
    h_ref = ig.oxygen_table()[2][list(ig.SPACING_GRID).index(ig.PARAMETERS.default("reference_spacing"))]
    assert ig.vegf_stimulation(h_ref, 1.0) == pytest.approx(b)  # at the reference: unchanged
    assert ig.vegf_stimulation(0.0, 1.0) == 0.0                  # all VEGF, no HIF: no stimulation
    assert ig.vegf_stimulation(0.0, 0.4) == pytest.approx(0.6 * b)
    hif = np.linspace(0, 1, 11)
    assert np.all(np.diff(ig.vegf_stimulation(hif, 1.0)) > 0)


def test_coupled_model_keeps_chapter_7_steady_state():
    # At V = K the spacing is d_ref and b_eff = b, so V* = K* = (b/d)^(3/2) survives C1+C2;
    # the approach is slower (b_eff < b while the tumour is over-vascularised).
    long = ig.simulate_tme(duration=300.0, n_points=301)
    steady = growth.hahnfeldt_steady_state()
    assert long.volume[-1] == pytest.approx(steady, rel=1e-4)
    assert long.capacity[-1] == pytest.approx(steady, rel=1e-4)
    uncoupled = ig.simulate_tme(coupling_vegf=0.0)
    coupled = ig.simulate_tme()
    assert coupled.volume[-1] < uncoupled.volume[-1]


def test_emt_population_limits_and_monotonicity():
    folds = emt.bifurcation_diagram().fold_inputs()
    low, high = ig.population_phenotypes([0.5 * folds[3], 3 * folds[2]], input_spread=0.0)[:, [0, 1]].T
    assert low.tolist() == [1.0, 0.0, 0.0] and high.tolist() == [0.0, 0.0, 1.0]
    inputs = np.linspace(0.0, 120e3, 25)
    # each input applied to a fresh epithelial population (a separate run per input)
    mesenchymal = [ig.population_phenotypes([i])[2, 0] + ig.PARAMETERS.default("hybrid_weight") * ig.population_phenotypes([i])[1, 0]
                   for i in inputs]
    assert np.all(np.diff(mesenchymal) >= 0)
    background = [ig.simulate_tme(tgf_background=t).mesenchymal_fraction[-1] for t in (0.0, 1.0, 2.5, 5.0)]
    assert np.all(np.diff(background) >= 0)


def test_emt_hysteresis_memory():
    # Up past the E/M upper fold, then back to an input inside the tristable window: cells stay M.
    folds = emt.bifurcation_diagram().fold_inputs()
    inside = 0.5 * (max(folds[1], folds[3]) + folds[0])
    codes = ig.follow_branches(np.array([[inside], [1.2 * folds[2]], [inside], [0.5 * folds[3]]]))
    assert codes.ravel().tolist() == [0, 2, 2, 0]


@pytest.mark.parametrize("input_k", [40.0, 58.0, 62.0, 64.0, 70.0, 90.0])
def test_hysteresis_rule_matches_the_full_circuit(input_k):
    # Two methods: the fold-based rule and chapter 6's integration of the six ODEs from E.
    rule = emt.PHENOTYPES[ig.follow_branches(np.array([[1e3 * input_k]]))[0, 0]]
    assert rule == emt.reach_steady_state(input_k, 0.0).phenotype


def test_invasion_coupling_is_monotone_and_bounded():
    grid, depth = ig.invasion_table()
    assert np.all(np.diff(depth) > 0)
    m = np.linspace(0, 1, 21)
    gamma = ig.haptotaxis(m, 1.0)
    assert gamma[0] == ecm.PARAMETERS["haptotaxis"].value and gamma[-1] == pytest.approx(ig.PARAMETERS.default("haptotaxis_max"))
    assert np.all(np.diff(ig.invasion_depth(gamma)) > 0)
    # a table point against a direct run between the nodes: linear interpolation is close
    g = 0.5 * (grid[3] + grid[4])
    direct = ecm.reference_invasion(haptotaxis=g).invasion_depth()[-1]
    assert ig.invasion_depth(g) == pytest.approx(direct, abs=0.01)


@settings(max_examples=12, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 5))
def test_any_coupling_gives_bounded_readouts(s1, s2, s3, s4, tgf):
    run = ig.simulate_tme(s1, s2, s3, s4, tgf, n_points=31)
    assert np.all(run.volume > 0) and np.all(run.capacity > 0)
    for name in ("hypoxic_fraction", "mean_hif", "mesenchymal_fraction"):
        values = getattr(run, name)
        assert np.all((values >= 0) & (values <= 1)), name
    assert np.allclose(run.phenotype_fractions.sum(axis=0), 1.0)
    depth = ig.invasion_table()[1]
    assert np.all((run.invasion_depth >= depth[0]) & (run.invasion_depth <= depth[-1]))


def test_deterministic(default_run):
    again = ig.simulate_tme()
    assert np.array_equal(default_run.mesenchymal_fraction, again.mesenchymal_fraction)
    assert np.array_equal(default_run.volume, again.volume)


# --- cached results and the helpers the run uses ----------------------------------------------


@pytest.mark.parametrize("table", [ig.oxygen_table, ig.invasion_table])
def test_cached_tables_cannot_be_changed_by_a_caller(table):
    before = [column.copy() for column in table()]
    for column in table():
        with pytest.raises(ValueError):
            column[0] = -1.0
    assert all(np.array_equal(a, b) for a, b in zip(before, table()))


def test_the_run_uses_the_couplings_own_functions(default_run):
    run = default_run
    assert np.array_equal(run.spacing, ig.vessel_spacing(run.volume / run.capacity))
    assert np.array_equal(run.stimulation, ig.vegf_stimulation(run.mean_hif))
    assert np.array_equal(run.emt_input, ig.emt_input(run.mean_hif))
    assert np.array_equal(run.phenotype_fractions, ig.population_phenotypes(run.emt_input))
    assert np.array_equal(run.haptotaxis, ig.haptotaxis(run.mesenchymal_fraction))
    assert np.array_equal(run.invasion_depth, ig.invasion_depth(run.haptotaxis))


def test_follow_branches_refuses_more_times_than_a_run_has():
    with pytest.raises(ValueError, match="^inputs"):
        ig.follow_branches(np.zeros((ig.MAX_TIMES + 1, 1)))
