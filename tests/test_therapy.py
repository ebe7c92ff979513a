"""Tests of tmebook.therapy: dosing, the treated Hahnfeldt model, normalisation, blockade."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad, solve_ivp

from tmebook import growth, immune, therapy

LAM1 = growth.PARAMETERS["growth_rate"].value
B = growth.PARAMETERS["stimulation"].value
D = growth.PARAMETERS["inhibition"].value
K0 = growth.PARAMETERS["initial_capacity"].value


# --- dosing ---------------------------------------------------------------------------------


def test_concentration_is_the_sum_of_cleared_boluses():
    reg = therapy.Regimen(0.5, 2.0, 10.0, (0.0, 1.0, 2.5))
    # just before and just after the second dose: a jump of exactly one bolus
    before, after = reg.concentration(np.array([1.0 - 1e-12, 1.0]))
    assert after - before == pytest.approx(10.0, rel=1e-9)
    assert reg.concentration(3.0) == pytest.approx(
        10 * (np.exp(-6.0) + np.exp(-4.0) + np.exp(-1.0)), rel=1e-12)
    assert reg.concentration(-0.5) == 0.0


@settings(max_examples=25, deadline=None)
@given(st.floats(0.1, 12.0), st.floats(0.25, 4.0), st.floats(1.0, 50.0))
def test_periodic_dosing_mean_trough_and_peak(clearance, interval, dose):
    # After many doses the level is periodic: its mean over one interval is D/(clr tau)
    # (exact, by integrating the exponential), and it runs from trough to peak.
    n = int(np.ceil(60.0 / (clearance * interval))) + 5
    reg = therapy.Regimen(1.0, clearance, dose, therapy.dose_times(0.0, interval, n))
    last = (n - 1) * interval
    mean, _ = quad(lambda t: reg.concentration(t), last, last + interval, limit=200)
    assert mean / interval == pytest.approx(therapy.mean_concentration(dose, interval, clearance), rel=1e-6)
    trough, peak = therapy.periodic_trough_peak(dose, interval, clearance)
    assert reg.concentration(last) == pytest.approx(peak, rel=1e-9)
    assert reg.concentration(last - 1e-12) == pytest.approx(trough, rel=1e-6, abs=1e-9)


# --- the treated Hahnfeldt model -------------------------------------------------------------


def test_without_drug_it_is_chapter_7s_model():
    ours = therapy.simulate_treatment((), 30.0, n_points=31)
    theirs = growth.simulate_hahnfeldt(30.0, n_points=31)
    assert np.allclose(ours.volume, theirs.volume, rtol=1e-6)
    assert np.allclose(ours.capacity, theirs.capacity, rtol=1e-6)


def test_restarted_solve_matches_a_direct_solve_of_the_wrapper():
    # Two methods: our segment-by-segment solve (levels precomputed per segment) against one
    # solve of the documented wrapper treated_rhs with a small maximum step.
    regs = therapy.published_regimens("angiostatin + endostatin")
    ours = therapy.simulate_treatment(regs, 10.0, initial_volume=300.0, n_points=11)
    direct = solve_ivp(therapy.treated_rhs, (0.0, 10.0), np.log([300.0, K0]), method="RK45",
                       t_eval=ours.t, args=(regs, LAM1, B, D, 0.0), rtol=1e-10, atol=1e-12,
                       max_step=0.01)
    assert np.allclose(ours.volume, np.exp(direct.y[0]), rtol=1e-5)


def test_published_groups_follow_the_published_data():
    # The published fit against the data tabulated from the paper: model and data agree to
    # within a few sqrt(mm^3) (the canceR refit's measure; 5 sqrt(mm^3) is 10 % of a 2500 mm^3
    # tumour), except the low-dose endostatin group, which the paper held out for validation.
    for group in ("control", "TNP-470", "angiostatin", "endostatin", "angiostatin + endostatin"):
        *_, rms = therapy.data_error(group)
        assert rms < 2.5, group
    *_, rms_low = therapy.data_error("endostatin, low dose")
    assert rms_low < 7.0


def test_ranking_of_the_agents_by_dose_rate_needed():
    # Eradication needs e D/(clr tau) > b: TNP-470 at 30 mg/kg every 2 days is below its
    # threshold, angiostatin and endostatin at 20 mg/kg/day above theirs (as in the data:
    # TNP-470 tumours grew, the others regressed).
    for agent, rate, eradicates in (("TNP-470", 15.0, False), ("angiostatin", 20.0, True),
                                    ("endostatin", 20.0, True), ("endostatin", 4.0, False)):
        drug = therapy.HAHNFELDT_DRUGS[agent]
        assert (rate > therapy.eradication_dose_rate(drug["efficacy"], drug["clearance"])) is eradicates


def test_averaged_steady_state_is_chapter_7s_with_extra_loss():
    e, clr = 0.15, 0.38
    extra = e * therapy.mean_concentration(10.0, 1.0, clr)
    assert therapy.averaged_steady_state(e, clr, 10.0, 1.0) == pytest.approx(((B - extra) / D) ** 1.5)
    # above the eradication dose rate there is no tumour steady state
    rate = therapy.eradication_dose_rate(e, clr)
    assert therapy.averaged_steady_state(e, clr, 1.01 * rate, 1.0) == 0.0


def test_long_dosing_approaches_the_averaged_state_as_the_interval_shrinks():
    # TNP-470 at a fixed 15 mg/kg/day: the averaged state is exact only for frequent doses,
    # so the error of the averaged state must fall as tau shrinks.
    drug = therapy.HAHNFELDT_DRUGS["TNP-470"]
    target = therapy.averaged_steady_state(drug["efficacy"], drug["clearance"], 15.0, 1.0)
    errors = []
    for tau in (2.0, 0.5, 0.125):
        reg = therapy.regimen("TNP-470", 15.0 * tau, tau, 0.0, t_end=250.0)
        course = therapy.simulate_treatment([reg], 250.0, n_points=2001, rtol=1e-7, atol=1e-9)
        late = course.volume[course.t > 200.0]
        errors.append(abs(np.exp(np.mean(np.log(late))) / target - 1.0))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.02


def test_eradication_threshold_separates_regression_from_a_plateau():
    drug = therapy.HAHNFELDT_DRUGS["angiostatin"]
    rate = therapy.eradication_dose_rate(drug["efficacy"], drug["clearance"])
    above = therapy.simulate_treatment([therapy.regimen("angiostatin", 1.3 * rate, 1.0, t_end=200)], 200.0)
    below = therapy.simulate_treatment([therapy.regimen("angiostatin", 0.7 * rate, 1.0, t_end=200)], 200.0)
    assert above.volume[-1] < 1.0
    plateau = therapy.averaged_steady_state(drug["efficacy"], drug["clearance"], 0.7 * rate, 1.0)
    assert below.volume[-1] == pytest.approx(plateau, rel=0.02)  # slow clearance: averaging is close


def test_stacked_tumours_match_single_runs():
    reg_a = therapy.regimen("endostatin", 20.0, 1.0)
    reg_b = therapy.regimen("angiostatin", 20.0, 1.0)
    both = therapy.simulate_treatment([[reg_a], [reg_b]], 20.0, initial_volume=np.array([180.0, 180.0]))
    for i, reg in enumerate((reg_a, reg_b)):
        one = therapy.simulate_treatment([reg], 20.0)
        assert np.allclose(both.volume[i], one.volume, rtol=1e-5)


def test_deterministic():
    a = therapy.treatment_panel()
    b = therapy.treatment_panel()
    assert np.array_equal(a.courses["endostatin"].volume, b.courses["endostatin"].volume)


def test_dose_sweep_matches_one_panel_per_dose():
    # the chapter's sweep: all doses in one stacked solve against one treatment_panel each
    doses = np.linspace(0.0, 54.0, 10)
    sweep = therapy.dose_sweep(doses)
    assert len(sweep) == doses.size
    for dose, stacked in zip(doses, sweep):
        alone = therapy.treatment_panel(dose=dose)
        assert stacked.control is sweep[0].control  # integrated once
        assert np.allclose(stacked.control.volume, alone.control.volume, rtol=1e-4)
        for agent in therapy.WIDGET_AGENTS:
            assert np.allclose(stacked.courses[agent].volume, alone.courses[agent].volume, rtol=1e-3)
            assert np.allclose(stacked.windows[agent].delivery, alone.windows[agent].delivery,
                               atol=1e-3)
            # the chapter shows the mean delivery to two decimals
            assert abs(stacked.windows[agent].delivery.mean()
                       - alone.windows[agent].delivery.mean()) < 1e-4
        assert stacked.thresholds == alone.thresholds and stacked.dose_rate == alone.dose_rate
    with pytest.raises(ValueError, match="doses"):
        therapy.dose_sweep(np.zeros(therapy.MAX_SWEEP_DOSES + 1))


def test_widget_tolerances_are_close_to_the_reference():
    panel = therapy.treatment_panel()
    reference = therapy.simulate_treatment([therapy.regimen("endostatin")], therapy.FOLLOW_UP_DAYS,
                                           n_points=therapy.WIDGET_POINTS)
    assert np.allclose(panel.courses["endostatin"].volume, reference.volume, rtol=1e-3)


# --- normalisation ----------------------------------------------------------------------------


def test_normalisation_lowers_ifp_and_outflow():
    before, after = therapy.normalisation_effect(0.1, 1.0, radius_cm=0.5)
    assert after["alpha"] == pytest.approx(before["alpha"] * np.sqrt(0.1))
    assert after["mean_ifp"] < before["mean_ifp"]
    assert after["surface_velocity_um_s"] < before["surface_velocity_um_s"]
    assert after["core_delivery"] > before["core_delivery"]


def test_delivery_window_in_dose():
    # Too little drug leaves the vessels leaky, too much prunes them: the mean core delivery
    # of endostatin over 20 days is higher at 20 mg/kg than at 2 or at 60 mg/kg.
    mean = {dose: therapy.treatment_panel(dose=dose).windows["endostatin"].delivery.mean()
            for dose in (2.0, 20.0, 60.0)}
    assert mean[20.0] > mean[2.0] and mean[20.0] > mean[60.0]


def test_delivery_window_reads_first_and_last_day():
    t = np.arange(6.0)
    assert therapy.delivery_window(t, np.array([0, 0.6, 0.7, 0.2, 0.8, 0.1])) == (1.0, 4.0)
    assert therapy.delivery_window(t, np.zeros(6)) is None


# --- checkpoint blockade ----------------------------------------------------------------------


def test_blockade_needed_restores_the_dormant_state():
    s = 0.5
    needed = therapy.blockade_needed(s)
    assert needed == pytest.approx(1.0 - therapy.critical_suppression() / s)
    assert len(immune.equilibria(therapy.blockaded_model(s, needed - 0.01))) == 2
    assert len(immune.equilibria(therapy.blockaded_model(s, needed + 0.01))) == 4
    assert therapy.blockade_needed(0.3) == 0.0


def test_full_blockade_lets_a_debulked_tumour_return_to_dormancy():
    outcome = therapy.blockade_outcome(0.5, 1.0)
    assert outcome.escaped_tumour == "escape"  # bistable: blockade alone does not reverse escape
    assert outcome.debulking_threshold > 0
    escaped = immune.equilibria(immune.Model(suppression=0.5))[-1]
    model = therapy.blockaded_model(0.5, 1.0)
    for factor, fate in ((0.8, "dormant"), (1.2, "escape")):
        end = immune.final_state(escaped.x, factor * outcome.debulking_threshold, model)
        assert therapy._fate(end) == fate
    assert therapy.blockade_outcome(0.5, 0.0).debulking_threshold == 0.0


def test_debulking_thresholds_are_those_of_blockade_outcome():
    blockades = np.array([0.0, 0.2, 0.6, 1.0])
    thresholds = therapy.debulking_thresholds(0.5, blockades)
    assert thresholds.tolist() == [therapy.blockade_outcome(0.5, b).debulking_threshold
                                   for b in blockades]
    assert thresholds[0] == 0.0 and thresholds[-1] > 0.0


def test_mmp_inhibitor_slows_invasion_monotonically():
    depth, front = therapy.mmp_inhibitor_effect([0.0, 0.5, 1.0])
    assert np.all(np.diff(depth) < 0) and np.all(np.diff(front) < 0)
    assert front[-1] == 0.0  # no active enzyme: the matrix is never degraded below half


# --- relations between arguments, and documented values ---------------------------------


@pytest.mark.parametrize("call, name", [
    (lambda: therapy.Regimen(1.0, 1.0, 1.0, (2.0, 1.0)), "dose_times"),
    (lambda: therapy.regimen("endostatin", dose_interval=1 / 24, t_end=therapy.MAX_DAYS), "dose_interval"),
    (lambda: therapy.simulate_treatment([[therapy.regimen("endostatin")]] * 3, 5.0,
                                        initial_volume=[180.0, 200.0]), "regimens"),
    (lambda: therapy.simulate_treatment((), 5.0, initial_volume=[180.0, 200.0],
                                        initial_capacity=[600.0, 620.0, 640.0]), "initial_capacity"),
    (lambda: therapy.treated_rhs(0.0, np.zeros(3), [], LAM1, B, D), "y"),
    (lambda: therapy.mean_concentration([1.0, 2.0], [1.0, 2.0, 3.0], 1.0), "clearance"),
    (lambda: therapy.normalisation_course(therapy.simulate_treatment([], 5.0, n_points=11), 1), "regimen_index"),
    (lambda: therapy.delivery_window(np.arange(3.0), np.zeros(4)), "delivery"),
    # alpha 1e-9: below the profile's domain (pressure.PARAMETERS["ifp_alpha"])
    (lambda: therapy.normalisation_effect(1e-20, radius_cm=0.5), "permeability_factor"),
])
def test_relations_between_arguments_are_checked(call, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()


def test_eradication_dose_rate_is_zero_without_an_untreated_steady_state():
    # lambda2 >= b: even the untreated model has no tumour steady state, so no drug is needed
    assert therapy.eradication_dose_rate(0.66, 1.7, capacity_loss=10.0) == 0.0
    assert therapy.eradication_dose_rate(0.66, 1.7, capacity_loss=B) == 0.0
    assert therapy.averaged_steady_state(0.66, 1.7, 0.0, 1.0, capacity_loss=10.0) == 0.0


def test_several_drugs_add_their_mean_levels():
    e, clr, dose = np.array([0.15, 0.66]), np.array([0.38, 1.7]), np.array([2.0, 3.0])
    extra = np.sum(e * dose / clr)
    assert therapy.averaged_steady_state(e, clr, dose, 1.0) == pytest.approx(((B - extra) / D) ** 1.5)


@pytest.mark.parametrize("settings", [
    {},
    {"dose": 60.0, "dose_interval": 0.5, "start_day": 0.0, "permeability_reduction": 0.99},
    {"dose": 60.0, "dose_interval": 4.0, "start_day": 10.0, "permeability_reduction": 0.0},
    {"dose": 0.0, "dose_interval": 0.5, "start_day": 0.0, "permeability_reduction": 0.9},
])
def test_live_panel_draws_the_panel_model(settings):
    # The widget's faster solve (odeint, the control computed once) against the panel model
    # the chapter's numbers come from: the same curves to within 1e-3.
    live = therapy.live_treatment_panel(**settings)
    panel = therapy.treatment_panel(**settings)
    assert np.allclose(live.control.volume, panel.control.volume, rtol=1e-3)
    for agent in therapy.WIDGET_AGENTS:
        assert np.allclose(live.courses[agent].volume, panel.courses[agent].volume, rtol=1e-3)
        assert np.allclose(live.courses[agent].capacity, panel.courses[agent].capacity, rtol=1e-3)
        assert np.allclose(live.windows[agent].delivery, panel.windows[agent].delivery, atol=1e-3)
    assert live.thresholds == panel.thresholds and live.dose_rate == panel.dose_rate


def test_live_panel_control_is_shared_and_read_only():
    a, b = therapy.live_treatment_panel(), therapy.live_treatment_panel(dose=5.0)
    assert a.control is b.control
    with pytest.raises(ValueError):
        a.control.volume[0] = 0.0


def test_parameters_have_units_sources_and_slider_ranges():
    for name in therapy.WIDGET_CONTROLS:
        p = therapy.PARAMETERS[name]
        assert p.low is not None and p.low <= p.value <= p.high
    for p in therapy.PARAMETERS.values():
        assert p.units and (p.source or p.where)


def test_live_panel_falls_back_to_restarts(monkeypatch):
    # Newton on the segment starts cut short: the live panel integrates dose by dose instead
    monkeypatch.setattr(therapy, "SHOOTING_ITERATIONS", 1)
    settings = {"dose": 60.0, "dose_interval": 0.5}
    fallback = therapy.live_treatment_panel(**settings)
    panel = therapy.treatment_panel(**settings)
    for agent in therapy.WIDGET_AGENTS:
        assert np.allclose(fallback.courses[agent].volume, panel.courses[agent].volume, rtol=1e-3)


def test_short_segments_are_stepped_over():
    # a dose at 1e-300 days (LSODA does not return from such a span next to day 0)
    early = therapy.Regimen(0.66, 1.7, 20.0, (1e-300, 1.0))
    at_zero = therapy.Regimen(0.66, 1.7, 20.0, (0.0, 1.0))
    a = therapy.simulate_treatment([early], 3.0, n_points=7)
    b = therapy.simulate_treatment([at_zero], 3.0, n_points=7)
    assert np.allclose(a.volume, b.volume, rtol=1e-9)


# --- the paper's predictions (therapy.REPRODUCTIONS) -------------------------------------------


def test_table_1_drug_values_with_their_provenance():
    # Hahnfeldt et al. 1999, Table 1 (read in the paper's text)
    for agent, e, clr in (("TNP-470", 1.3, 10.1), ("angiostatin", 0.15, 0.38), ("endostatin", 0.66, 1.7)):
        assert therapy.HAHNFELDT_DRUGS[agent] == {"efficacy": e, "clearance": clr}
    for p in therapy.PARAMETERS.values():
        if p.name.startswith(("efficacy_", "clearance_")):
            assert p.source == "hahnfeldt1999" and p.where.startswith("Table 1"), p.name


def test_the_paper_s_predictions_are_declared_and_agree():
    rows = therapy.REPRODUCTIONS
    assert therapy.CHAPTER == 10
    assert [r.published for r in rows] == list(therapy.HAHNFELDT_PREDICTIONS.values())
    assert [r.tolerance / r.published for r in rows] == pytest.approx([0.02, 0.02, 0.05, 0.02])
    for r in rows:
        assert r.agrees, (r.quantity, r.ours)


def _infused_on_prediction_day(initial_volume):
    """V on day 13 with TNP-470 infused at a constant 15 mg/kg/day from day 0 (no boluses):
    g(t) = (rate/clr) (1 - exp(-clr t)), chapter 7's right-hand side with that extra loss."""
    drug = therapy.HAHNFELDT_DRUGS["TNP-470"]
    rate, e, clr = 15.0, drug["efficacy"], drug["clearance"]

    def rhs(t, y):
        return growth.hahnfeldt_rhs(t, y, LAM1, B, D, e * rate / clr * (1.0 - np.exp(-clr * t)))

    sol = solve_ivp(rhs, (0.0, therapy.PREDICTION_DAY), np.log([initial_volume, K0]),
                    method="LSODA", rtol=1e-10, atol=1e-12)
    return float(np.exp(sol.y[0, -1]))


def test_hourly_doses_stand_for_continuous_administration():
    hourly = therapy._tnp470_on_prediction_day(therapy.CONTINUOUS_INTERVAL)
    infused = _infused_on_prediction_day(therapy.PREDICTION_START_MM3)
    assert hourly == pytest.approx(infused, rel=0.005)
    # the same average dose rate given every other day leaves the tumour about 40 % larger
    assert therapy._tnp470_on_prediction_day(2.0) / hourly == pytest.approx(1840 / 1300, rel=0.02)


def test_prediction_day_volumes_stack_the_single_runs():
    # four runs in one solve (and computed once): each as its own run to 1e-6
    table = therapy.prediction_day_volumes()
    assert table.shape == (2, 2) and not table.flags.writeable
    assert therapy.prediction_day_volumes() is table
    for i, start in enumerate(therapy.PREDICTION_STARTS):
        for j, interval in enumerate((2.0, therapy.CONTINUOUS_INTERVAL)):
            reg = therapy.regimen("TNP-470", 15.0 * interval, interval, 0.0, t_end=13.0)
            alone = therapy.simulate_treatment([reg], 13.0, initial_volume=start, n_points=2)
            assert table[i, j] == pytest.approx(alone.volume[-1], rel=1e-6)
    assert table[0, 0] == pytest.approx(therapy._tnp470_on_prediction_day(2.0), rel=1e-6)


def test_the_tnp470_predictions_start_from_the_group_s_first_measurement():
    # From the group's first measured volume (170 mm^3) both day-13 predictions agree within
    # 2 %; from the book's refit start (180 mm^3) both lie 2.5-4 % above the paper's.
    assert therapy.PREDICTION_START_MM3 == therapy.HAHNFELDT_DATA["TNP-470"][1][0] == 170
    refit_start = therapy.HAHNFELDT_SCHEDULES["TNP-470"]["initial_volume"]
    for interval, published in ((2.0, 1840.0), (therapy.CONTINUOUS_INTERVAL, 1300.0)):
        reg = therapy.regimen("TNP-470", 15.0 * interval, interval, 0.0, t_end=13.0)
        from_refit = therapy.simulate_treatment([reg], 13.0, initial_volume=refit_start, n_points=2)
        assert 0.025 < from_refit.volume[-1] / published - 1 < 0.04
        assert abs(therapy._tnp470_on_prediction_day(interval) / published - 1) < 0.02


def test_periodic_state_is_periodic_and_is_reached_by_dosing():
    state = therapy._periodic_state("TNP-470", 30.0, 2.0, n_points=201)
    # the drug level of the periodic state: from the periodic peak down to the trough
    trough, peak = therapy.periodic_trough_peak(30.0, 2.0, 10.1)
    assert state.drug[0, 0] == pytest.approx(peak) and state.drug[0, -1] == pytest.approx(trough)
    assert state.volume[-1] == pytest.approx(state.volume[0], rel=1e-9)
    assert state.capacity[-1] == pytest.approx(state.capacity[0], rel=1e-9)
    # 200 days of the real schedule from the group's start: V at the last dose is the set point
    course = therapy.simulate_treatment([therapy.regimen("TNP-470", 30.0, 2.0, t_end=200.0)], 200.0,
                                        initial_volume=170.0, n_points=101)
    assert course.volume[-1] == pytest.approx(state.volume[0], rel=1e-6)
    # the set point is next to the top of the cycle (V still grows briefly after a dose, while
    # K falls to it); the cycle's mean (over time) agrees with 12,300 too
    assert state.volume[0] == pytest.approx(state.volume.max(), rel=1e-3)
    mean = np.trapezoid(state.volume, state.t) / 2.0
    assert abs(mean / 12300.0 - 1) < 0.05 and mean < state.volume[0]


def test_periodic_state_needs_a_dose_rate_below_eradication():
    drug = therapy.HAHNFELDT_DRUGS["angiostatin"]
    rate = therapy.eradication_dose_rate(drug["efficacy"], drug["clearance"])
    assert therapy.SET_POINT_DOSE_ANGIOSTATIN < rate < 20.0
    with pytest.raises(RuntimeError, match="no periodic tumour state"):
        therapy._periodic_state("angiostatin", 20.0, 1.0)


def test_angiostatin_set_point_hangs_on_the_printed_figures(monkeypatch):
    # 14 mg/kg/day is just below the eradication dose rate (about 14.8): b - e g is small, so
    # moving e by half a unit of its printed last figure moves the settled size several-fold.
    def settled(efficacy):
        monkeypatch.setitem(therapy.HAHNFELDT_DRUGS, "angiostatin",
                            dict(therapy.HAHNFELDT_DRUGS["angiostatin"], efficacy=efficacy))
        return therapy._set_point("angiostatin", 14.0, 1.0)

    printed = therapy._set_point("angiostatin", 14.0, 1.0)
    low, high = settled(0.145), settled(0.155)
    assert printed == pytest.approx(240.0, rel=0.02)
    assert low / printed > 1.5 and printed / high > 3.0
