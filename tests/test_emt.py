"""Tests of tmebook.emt: the Lu et al. (2013) miR-34/SNAIL/miR-200/ZEB circuit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tmebook import emt

P = emt.PARAMETERS.resolve().as_dict()  # the published values
DIAGRAM = emt.bifurcation_diagram()
FOLDS = DIAGRAM.fold_inputs()          # E ends, E/M begins, E/M ends, M begins (molecules)
TRISTABLE = (max(FOLDS[1], FOLDS[3]), FOLDS[0])
MID_TRISTABLE = 0.5 * sum(TRISTABLE)


def relative_rates(state, input_signal):
    """dx/dt divided by the degradation flux k x of each species (dimensionless)."""
    k = np.array([P["k_mu200"], P["k_mZ"], P["k_Z"], P["k_mu34"], P["k_mS"], P["k_S"]])
    return emt.rates(state, input_signal) / (k[:, None] * state if state.ndim == 2 else k * state)


# --- the reduction and the steady states -----------------------------------------------------


def test_every_point_of_the_reduced_curve_is_a_steady_state_of_the_full_model():
    physical = DIAGRAM.input_signal >= 0
    residual = relative_rates(DIAGRAM.states[:, physical], DIAGRAM.input_signal[physical])
    assert np.max(np.abs(residual)) < 1e-8


def test_curve_spans_zero_input_and_large_input():
    # the E state at I = 0 and the M state at large I are both on the curve
    assert DIAGRAM.input_signal.min() < 0 < 2e5 < np.nanmax(DIAGRAM.input_signal)


@pytest.mark.parametrize("input_signal", [0.0, 20e3, 40e3, MID_TRISTABLE, 63e3, 80e3, 150e3])
def test_reported_stable_states_have_eigenvalues_with_negative_real_parts(input_signal):
    states = emt.steady_states(input_signal)
    assert states, "at least one steady state"
    for s in states:
        eigenvalues = np.linalg.eigvals(emt.jacobian(s["state"], input_signal))
        assert s["stable"] == bool(np.all(eigenvalues.real < 0))
        if s["stable"]:
            assert np.all(eigenvalues.real < -1e-3)  # clearly stable, not marginal (rates ~0.01-1 /h)
        else:
            # the states between the branches are saddles: exactly one unstable direction
            assert np.sum(eigenvalues.real > 0) == 1
    # stable and saddle states alternate along the curve (ordered by ZEB)
    assert [s["stable"] for s in states] == [i % 2 == 0 for i in range(len(states))]


@pytest.mark.parametrize("input_signal, expected", [
    (10e3, ["E"]),
    (0.5 * (FOLDS[3] + FOLDS[1]), ["E", "M"]),
    (MID_TRISTABLE, ["E", "E/M", "M"]),
    (0.5 * (FOLDS[0] + FOLDS[2]), ["E/M", "M"]),
    (100e3, ["M"]),
])
def test_stable_phenotypes_in_each_window(input_signal, expected):
    assert [s["phenotype"] for s in emt.steady_states(input_signal) if s["stable"]] == expected


def test_steady_states_are_found_at_every_input_of_the_widget_range():
    # Some states of the curve are roots to round-off already, where the root finder stops
    # with "not making good progress" (e.g. at 1.5, 33.5 and 62.5 x 10^3): they count.
    windows = DIAGRAM.windows()
    for input_signal in np.arange(0.0, 120e3 + 1.0, 500.0):
        stable = [s["phenotype"] for s in emt.steady_states(input_signal) if s["stable"]]
        expected = [p for p, (lo, hi) in windows.items() if lo <= input_signal < hi]
        assert stable == expected, input_signal


def test_jacobian_stability_matches_the_fold_structure_along_the_whole_curve():
    z = DIAGRAM.zeb
    f = [fold[1] for fold in DIAGRAM.folds]
    on_stable_segment = (z < f[0]) | ((z > f[1]) & (z < f[2])) | (z > f[3])
    assert np.array_equal(on_stable_segment, DIAGRAM.stable)


def test_jacobian_is_singular_at_the_saddle_nodes():
    # At a fold one eigenvalue crosses zero; elsewhere the slowest rate is ~0.01-0.05 /h.
    for input_signal, zeb in DIAGRAM.folds:
        (state,), (i_check,) = (x.T for x in emt.states_on_branch(np.array([zeb])))
        assert i_check == pytest.approx(input_signal, rel=1e-7)
        smallest = np.min(np.abs(np.linalg.eigvals(emt.jacobian(state, input_signal))))
        assert smallest < 2e-4


def test_jacobian_does_not_depend_on_the_difference_step():
    state = emt.steady_states(MID_TRISTABLE)[2]["state"]
    coarse = emt.jacobian(state, MID_TRISTABLE, relative_step=1e-5)
    fine = emt.jacobian(state, MID_TRISTABLE, relative_step=1e-7)
    assert np.allclose(coarse, fine, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("input_signal, count", [(MID_TRISTABLE, 5), (100e3, 1)])
def test_grid_of_initial_guesses_finds_exactly_the_states_of_the_curve(input_signal, count):
    from_guesses = emt.steady_states_from_guesses(input_signal, n_per_axis=4)
    from_curve = [s["state"] for s in emt.steady_states(input_signal)]
    assert len(from_guesses) == len(from_curve) == count
    for a, b in zip(from_guesses, from_curve):
        np.testing.assert_allclose(a, b, rtol=1e-7)


# --- continuation and time integration ---------------------------------------------------------


def test_natural_parameter_continuation_ends_at_the_folds():
    step = 250.0
    up = np.arange(0.0, 80e3, step)
    e_branch = emt.continue_branch(up, emt.epithelial_state(0.0))
    last_e = up[e_branch.shape[1] - 1]
    assert FOLDS[0] - step < last_e <= FOLDS[0]
    down = np.arange(100e3, 0.0, -step)
    m_branch = emt.continue_branch(down, emt.steady_states(100e3)[-1]["state"])
    last_m = down[m_branch.shape[1] - 1]
    assert FOLDS[3] <= last_m < FOLDS[3] + step
    # the hybrid branch, followed both ways from the middle of the tristable window
    hybrid = emt.starting_states(MID_TRISTABLE / 1e3)["E/M"]  # 10³ molecules
    right = np.arange(MID_TRISTABLE, 80e3, step)
    left = np.arange(MID_TRISTABLE, 30e3, -step)
    assert FOLDS[2] - step < right[emt.continue_branch(right, hybrid).shape[1] - 1] <= FOLDS[2]
    assert FOLDS[1] <= left[emt.continue_branch(left, hybrid).shape[1] - 1] < FOLDS[1] + step


@pytest.mark.parametrize("input_signal", [20e3, MID_TRISTABLE, 63e3, 100e3])
def test_long_integration_from_each_phenotype_ends_on_a_stable_root(input_signal):
    stable = [s["state"] for s in emt.steady_states(input_signal) if s["stable"]]
    for start in emt.starting_states().values():
        _, states = emt.integrate(input_signal, start, t_end=3000.0, n_out=2)
        end = states[:, -1]
        distances = [np.max(np.abs(np.log(end / s))) for s in stable]
        assert min(distances) < 1e-4  # within the solver tolerance (rtol 1e-6 per step)


def test_saddles_separate_the_basins_of_neighbouring_stable_states():
    # Start on either side of each saddle along its unstable eigenvector: the two
    # trajectories end on the two stable states around it (E/E-M and E-M/M).
    states = emt.steady_states(MID_TRISTABLE)
    for k in (1, 3):
        saddle = states[k]["state"]
        values, vectors = np.linalg.eig(emt.jacobian(saddle, MID_TRISTABLE))
        direction = np.real(vectors[:, np.argmax(values.real)])
        direction /= direction[2]  # scaled so that its ZEB component is +1 molecule
        ends = []
        for sign in (-1, 1):
            start = saddle + sign * 0.02 * saddle[2] * direction  # ZEB moved by 2 %
            assert np.all(start > 0)
            _, path = emt.integrate(MID_TRISTABLE, start, t_end=4000.0, n_out=2)
            ends.append(DIAGRAM.phenotype_of_zeb(path[2, -1]))
        assert ends == [states[k - 1]["phenotype"], states[k + 1]["phenotype"]]


def test_slow_ramps_switch_at_the_saddle_nodes():
    # Ramping the input up and down shows hysteresis. A finite ramp overshoots each fold
    # (slow passage through a saddle-node); the lag shrinks as (ramp rate)^(2/3), so two
    # ramp speeds extrapolate to the quasi-static switching points, which must be the folds.
    lags = {}
    for hours in (10000.0, 40000.0):
        _, inputs, states = emt.hysteresis_loop(ramp_hours=hours, n_out=4000)
        events = emt.switching_inputs(inputs, states)
        up_em = next(i for i, a, b in events if (a, b) == ("E", "E/M"))
        up_m = next(i for i, a, b in events if (a, b) == ("E/M", "M"))
        down = next(i for i, a, b in events if a == "M")
        assert up_em > FOLDS[0] and up_m > FOLDS[2] and down < FOLDS[3]
        lags[hours] = np.array([up_em - FOLDS[0], up_m - FOLDS[2], FOLDS[3] - down])
    ratio = lags[10000.0] / lags[40000.0]  # rate ratio 4 -> 4^(2/3) = 2.52
    assert np.all((ratio > 2.0) & (ratio < 3.0)), ratio
    extrapolated = lags[40000.0] - (lags[10000.0] - lags[40000.0]) / (4 ** (2 / 3) - 1)
    # within 0.5 % of the fold inputs (the ramp is sampled every 50 molecules)
    assert np.all(np.abs(extrapolated) < 0.005 * np.array([FOLDS[0], FOLDS[2], FOLDS[3]])), extrapolated


# --- the published model ---------------------------------------------------------------------------


def test_three_states_have_the_published_ordering():
    # Lu et al. 2013 (abstract): E = (high miR-200, low ZEB), E/M = (medium, medium),
    # M = (low miR-200, high ZEB).
    start = emt.starting_states()
    mir200 = [start[p][0] for p in emt.PHENOTYPES]
    zeb = [start[p][2] for p in emt.PHENOTYPES]
    assert mir200[0] > mir200[1] > mir200[2]
    assert zeb[0] < zeb[1] < zeb[2]
    # "(1/2, 1/2)": the hybrid lies between the others on a log scale, not next to one
    for levels in (mir200, zeb):
        log = np.log(levels)
        assert 0.2 < (log[1] - log[0]) / (log[2] - log[0]) < 0.8


def test_mir200_zeb_module_alone_is_a_ternary_switch_driven_by_snail():
    # Lu et al. 2013: the miR-200/ZEB module is tristable as a function of SNAIL.
    folds = emt.zeb_module_folds()
    snail = [f[0] for f in folds]
    assert len(folds) == 4
    tristable = (max(snail[1], snail[3]), snail[0])
    assert tristable[0] < tristable[1]
    # count the module's steady states inside that window directly on a fine ZEB grid
    z = np.geomspace(300.0, 1.2e6, 20000)
    s = emt.zeb_module_curve(z).snail - 0.5 * sum(tristable)
    s = s[np.isfinite(s)]
    assert np.sum(np.sign(s[1:]) != np.sign(s[:-1])) == 5  # 3 stable + 2 saddles


@pytest.mark.parametrize("zeb", [1e3, 5e4, 8e5])
@pytest.mark.parametrize("input_signal", [0.0, 50e3, 150e3])
def test_mir34_snail_module_alone_is_monostable(zeb, input_signal):
    # Lu et al. 2013: the miR-34/SNAIL module is monostable (an integrator of signals).
    # With ZEB held fixed, parametrise its steady states by SNAIL S: miR-34 from its own
    # balance (monotone), SNAIL mRNA from the SNAIL balance; the SNAIL-mRNA balance must
    # then cross zero exactly once.
    from scipy.optimize import brentq
    # the model functions without their argument checks: they are called ~10^5 times here
    hill, terms = emt.shifted_hill.__wrapped__, emt.microrna_terms.__wrapped__
    snail = np.geomspace(1e2, 3e7, 3000)
    residual = []
    for s in snail:
        production = (P["g_mu34"] * hill(s, P["S0_mu34"], P["n_S_mu34"], P["l_S_mu34"])
                      * hill(zeb, P["Z0_mu34"], P["n_Z_mu34"], P["l_Z_mu34"]))

        def mrna(mu):
            return P["k_S"] * s / (P["g_S"] * terms(mu, P["mu0_34"], 2)[0])

        mu34 = brentq(lambda mu: mrna(mu) * terms(mu, P["mu0_34"], 2)[2]
                      + P["k_mu34"] * mu - production, 0.0, 1e9)
        _, decay, _ = terms(mu34, P["mu0_34"], 2)
        residual.append(P["g_mS"] * hill(input_signal, P["I0_mS"], P["n_I_mS"], P["l_I_mS"])
                        * hill(s, P["S0_mS"], P["n_S_mS"], P["l_S_mS"])
                        - mrna(mu34) * (decay + P["k_mS"]))
    residual = np.array(residual)
    assert np.sum(np.sign(residual[1:]) != np.sign(residual[:-1])) == 1


def test_forward_transitions_lie_in_the_input_range_of_the_published_diagram():
    # The E -> E/M and E/M -> M transitions of the full circuit fall at inputs of the order
    # of the input threshold I0 = 50 x 10^3 (the published diagram spans ~50-150 x 10^3).
    assert 50e3 < FOLDS[0] < FOLDS[2] < 150e3
    # the reverse transitions need a lower input: hysteresis
    assert FOLDS[3] < FOLDS[1] < FOLDS[0] < FOLDS[2]


# --- readouts, TGF-beta, widget, determinism ---------------------------------------------------


def test_tgf_mapping_and_its_inverse():
    for tgf in (0.0, 0.3, 2.0, 50.0):
        assert emt.input_to_tgf(emt.tgf_to_input(tgf)) == pytest.approx(tgf, abs=1e-9)
    default = emt.PARAMETERS.default
    assert emt.tgf_to_input(default("tgf_half")) == pytest.approx(
        default("input_basal") + 0.5 * default("input_gain"))
    for outside in (1e6, 0.0):  # no dose gives an input outside [I_basal, I_basal + I_gain)
        with pytest.raises(ValueError, match="^input_signal must lie in"):
            emt.input_to_tgf(outside)


def test_widget_model_runs_at_every_slider_end_and_choice_and_is_deterministic():
    for name in emt.WIDGET_CONTROLS:
        p = emt.PARAMETERS[name]
        values = p.domain.choices if p.domain.choices is not None else (p.low, p.value, p.high)
        for value in values:
            outcome = emt.WIDGET_MODEL(**{name: value})
            assert outcome.phenotype in emt.PHENOTYPES
    a, b = emt.reach_steady_state(55.0, "E/M"), emt.reach_steady_state(55.0, "E/M")
    np.testing.assert_array_equal(a.states, b.states)
    # inside the tristable window each phenotype is remembered
    assert [emt.reach_steady_state(MID_TRISTABLE / 1e3, p).phenotype for p in emt.PHENOTYPES] == list(emt.PHENOTYPES)
    assert emt.reach_steady_state(100.0, "E").phenotype == "M"
    assert emt.reach_steady_state(10.0, "M").phenotype == "E"


def test_widget_model_takes_a_phenotype_by_name_or_by_its_code():
    # the code is the index in PHENOTYPES, as integrated.follow_branches returns it
    for code, name in enumerate(emt.PHENOTYPES):
        by_name, by_code = emt.reach_steady_state(62.0, name), emt.reach_steady_state(62.0, float(code))
        assert by_code.start_phenotype == by_name.start_phenotype == name
        np.testing.assert_array_equal(by_code.states, by_name.states)
        np.testing.assert_array_equal(by_name.start_state, emt.starting_states()[name])
    for bad in ("epithelial", 3, 0.5, -1):
        with pytest.raises(ValueError, match="^start_phenotype"):
            emt.reach_steady_state(62.0, bad)


def test_ecadherin_readout_falls_from_e_to_m():
    levels = [emt.ecadherin_like(emt.starting_states()[p][2]) for p in emt.PHENOTYPES]
    assert 1 >= levels[0] > levels[1] > levels[2] >= 0


# --- properties ------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(x=st.floats(0.0, 1e8), threshold=st.floats(1.0, 1e6), n=st.integers(1, 6), fold=st.floats(0.01, 20.0))
def test_shifted_hill_lies_between_one_and_its_fold_change(x, threshold, n, fold):
    h = emt.shifted_hill(x, threshold, n, fold)
    assert min(1.0, fold) - 1e-12 <= h <= max(1.0, fold) + 1e-12


@settings(max_examples=60, deadline=None)
@given(mirna=st.floats(0.0, 1e7), sites=st.sampled_from([2, 6]))
def test_microrna_terms_are_bounded(mirna, sites):
    translation, mrna_decay, mirna_decay = emt.microrna_terms(mirna, 1e4, sites)
    # L is a weighted mean of the l_i (occupancies sum to one); Y_mu <= n max(gamma_mu)
    assert emt.TRANSLATION_FACTORS[sites] - 1e-12 <= translation <= 1.0 + 1e-12
    assert 0.0 <= mrna_decay <= max(emt.MRNA_DECAY_FACTORS) + 1e-12
    assert 0.0 <= mirna_decay <= sites * max(emt.MIRNA_DECAY_FACTORS) + 1e-12
    # with all l_i = 1 the weights would sum to one: check through the zero-microRNA limit
    if mirna == 0.0:
        assert translation == 1.0 and mrna_decay == 0.0 and mirna_decay == 0.0


@settings(max_examples=30, deadline=None)
@given(tgf=st.lists(st.floats(0.0, 100.0), min_size=2, max_size=10))
def test_tgf_to_input_is_increasing_and_bounded(tgf):
    t = np.sort(np.asarray(tgf))
    inputs = emt.tgf_to_input(t)
    assert np.all(np.diff(inputs) >= 0)
    basal, gain = emt.PARAMETERS.default("input_basal"), emt.PARAMETERS.default("input_gain")
    assert np.all((inputs >= basal) & (inputs < basal + gain))


# --- cached results, and conditions between arguments ---------------------------------------------


def test_cached_results_cannot_be_changed_by_a_caller():
    start = emt.starting_states()
    with pytest.raises(ValueError):
        start["E"][2] = 0.0
    start["E"] = None  # the caller's own dict: the next call is not affected
    assert emt.starting_states()["E"][2] > 0
    diagram = emt.bifurcation_diagram()
    for array in (diagram.states, diagram.input_signal, diagram.stable, diagram.growth_rate):
        with pytest.raises(ValueError):
            array[0] = 0
    assert emt.bifurcation_diagram().fold_inputs() == FOLDS


START = emt.starting_states()["E"]
BAD_CALLS = [
    ("input_signal", lambda: emt.rates(START, np.full(3, 50e3))),
    ("high", lambda: emt.ramp_input(10.0, 5.0, 100.0)),
    ("high", lambda: emt.hysteresis_loop(low=50e3, high=40e3)),
    ("low", lambda: emt.hysteresis_loop(low=70e3)),
    ("states", lambda: emt.switching_inputs(np.zeros(3), np.ones((6, 4)))),
    ("reference_input", lambda: emt.starting_states(5.0)),
    ("input_signal", lambda: emt.epithelial_state(100e3)),
    ("input_signal", lambda: emt.input_to_tgf(150e3)),
]


def test_spans_shorter_than_the_shortest_duration_are_refused():
    # 1e-300 h never returned from LSODA; below SHORTEST_HOURS nothing moves anyway
    short = 0.5 * emt.SHORTEST_HOURS
    for name, call in [("t_end", lambda: emt.integrate(50e3, START, short)),
                       ("t_end", lambda: emt.reach_steady_state(t_end=1e-300)),
                       ("ramp_hours", lambda: emt.ramp_input(0.0, 1.0, short)),
                       ("ramp_hours", lambda: emt.hysteresis_loop(ramp_hours=1e-300))]:
        with pytest.raises(ValueError, match=f"^{name}"):
            call()
    t, states = emt.integrate(50e3, START, emt.SHORTEST_HOURS, n_out=2)
    assert np.allclose(states[:, -1], START, rtol=1e-3)


@pytest.mark.parametrize("name, call", BAD_CALLS, ids=[f"{i}-{name}" for i, (name, _) in enumerate(BAD_CALLS)])
def test_conditions_between_arguments_raise_value_error_naming_the_argument(name, call):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()
