"""Tests of tmebook.sbml: the SBML files of the book's ODE models.

Each exported file is simulated by libRoadRunner (a test-only package, requirements-test.txt)
and compared with scipy's solve_ivp run on the book's own right-hand side, both at rtol
1e-10: at every output time, including just after each dose, every state agrees within
1e-6 relative or 1e-9 of that state's scale (its largest value over the run). The files
are checked by libSBML (no error, no unit warning), their values are the parameter
records' own, and bad input gets the models' own errors.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import libsbml
import numpy as np
import pytest
import roadrunner
from scipy.integrate import solve_ivp

from tmebook import cafs, ecosystem, emt, growth, immune, sbml, therapy

RTOL = 1e-10
RELATIVE, OF_SCALE = 1e-6, 1e-9
ROOT = Path(__file__).resolve().parent.parent


def document(text: str):
    doc = libsbml.readSBMLFromString(text)
    assert doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) == 0
    return doc


def run_sbml(text: str, ids, times, atol: float) -> np.ndarray:
    """libRoadRunner (CVODE) on an SBML text: the values of `ids` at `times`, shape (ids, times)."""
    rr = roadrunner.RoadRunner(text)
    rr.integrator.relative_tolerance = RTOL
    rr.integrator.absolute_tolerance = atol
    rr.integrator.maximum_num_steps = 200_000
    rr.timeCourseSelections = ["time", *ids]
    result = np.array(rr.simulate(times=[0.0, *times]))
    assert np.allclose(result[1:, 0], times, rtol=0, atol=1e-12)
    return result[1:, 1:].T


def largest_difference(ours: np.ndarray, reference: np.ndarray, names) -> float:
    """Asserts the agreement; returns the largest relative difference (for the report)."""
    scale = np.max(np.abs(reference), axis=1, keepdims=True)
    allowed = np.maximum(RELATIVE * np.abs(reference), OF_SCALE * scale)
    gap = np.abs(ours - reference)
    # a state that stays 0 (a drug not given) allows no gap at all
    ratio = np.divide(gap, allowed, out=np.where(gap > 0, np.inf, 0.0), where=allowed > 0)
    worst = np.unravel_index(np.argmax(ratio), gap.shape)
    assert np.all(gap <= allowed), (
        f"{names[worst[0]]} at output {worst[1]}: SBML {ours[worst]!r}, scipy {reference[worst]!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.nanmax(np.where(np.abs(reference) > 0, gap / np.abs(reference), 0.0)))


def scipy_run(rhs, y0, times, atol, method="LSODA"):
    sol = solve_ivp(rhs, (0.0, times[-1]), y0, method=method, t_eval=times, rtol=RTOL, atol=atol)
    assert sol.success, sol.message
    return sol.y


# --- each model: libRoadRunner on the file against scipy on the book's right-hand side ------------


def test_stroma_game_matches_the_book():
    game = ecosystem.StromaGame()
    times = np.linspace(0.0, 300.0, 301)[1:]
    reference = scipy_run(lambda t, y: ecosystem.StromaGame.rhs.__wrapped__(game, t, y),
                          ecosystem.SEED, times, 1e-14)
    ours = run_sbml(sbml.sbml_string("ecosystem"), ["x_S", "x_D", "x_I"], times, 1e-14)
    largest_difference(ours, reference, ["x_S", "x_D", "x_I"])


def test_caf_switch_matches_the_book_also_when_overridden():
    for overrides in (None, {"activation_strength": 0.3, "drug_kill": 0.05}):
        values = cafs.PARAMETERS.resolve(**(overrides or {})).as_dict()
        times = np.linspace(0.0, 120.0, 241)[1:]
        reference = scipy_run(lambda t, y, values=values: cafs.rhs.__wrapped__(t, y, values),
                              cafs.FEW_CAFS, times, 1e-14)
        ours = run_sbml(sbml.sbml_string("cafs", overrides), ["tau", "c"], times, 1e-14)
        largest_difference(ours, reference, ["tau", "c"])


@pytest.mark.parametrize("overrides", [None, {"suppression": 0.3},
                                       {"suppression": 0.5, "channels": ("killing",)}])
def test_effector_tumour_model_matches_the_book(overrides):
    model = immune.Model(**(overrides or {}))
    start = [model.sigma / model.delta, 10.0 ** model.log10_initial_tumour / model.cell_scale]
    tau_end = immune.FOLLOW_UP_DAYS / immune.days_per_unit_time()
    times = np.linspace(0.0, tau_end, 201)[1:]
    reference = scipy_run(lambda t, z: immune.rhs.__wrapped__(t, z, model), start, times, 1e-15)
    text = sbml.sbml_string("immune", overrides)
    ours = run_sbml(text, ["x", "y"], times, 1e-15)
    largest_difference(ours, reference, ["x", "y"])
    # the read-outs in cells and days
    days, cells = run_sbml(text, ["days", "tumour_cells"], times, 1e-15)
    assert days == pytest.approx(times * immune.days_per_unit_time(), rel=1e-12)
    assert cells == pytest.approx(reference[1] * immune.SCALE_CELLS, rel=1e-5)


def test_emt_circuit_matches_the_book():
    params = emt.PARAMETERS.resolve()
    start = emt.starting_states()[params.start_phenotype]
    signal = 1e3 * params.input_signal
    times = np.linspace(0.0, 300.0, 151)[1:]
    names = [species for species, _ in sbml._EMT_SPECIES]
    reference = scipy_run(lambda t, x: emt.rates.__wrapped__(x, signal, params), start, times, 1e-8)
    ours = run_sbml(sbml.sbml_string("emt"), names, times, 1e-8)
    largest_difference(ours, reference, names)
    assert np.max(reference[2]) > 1.5 * start[2]  # the default input moves ZEB: not a steady run


def test_hahnfeldt_growth_matches_the_book():
    p = growth.PARAMETERS
    rates = [p[name].value for name in ("growth_rate", "stimulation", "inhibition", "capacity_loss")]
    times = np.linspace(0.0, 30.0, 301)[1:]
    logs = scipy_run(lambda t, y: growth.hahnfeldt_rhs(t, y, *rates),
                     np.log([p["initial_volume"].value, p["initial_capacity"].value]), times, 1e-13)
    ours = run_sbml(sbml.sbml_string("growth"), ["V", "K"], times, 1e-12)
    largest_difference(ours, np.exp(logs), ["V", "K"])


def treated_reference(group: str, times: np.ndarray) -> np.ndarray:
    """V, K and the three drug levels at `times`, by solve_ivp on therapy.treated_rhs
    (the book's right-hand side), restarted at each dose as the book's simulate_treatment is."""
    regimens = therapy.published_regimens(group)
    p = growth.PARAMETERS
    rates = [p[name].value for name in ("growth_rate", "stimulation", "inhibition", "capacity_loss")]
    doses = sorted({t for r in regimens for t in r.dose_times})
    edges = [0.0, *[t for t in doses if t > 0], times[-1]]
    y = np.log([therapy.HAHNFELDT_SCHEDULES[group]["initial_volume"], p["initial_capacity"].value])
    out = np.empty((2, times.size))
    for lo, hi in itertools.pairwise(edges):
        inside = (times > lo) & (times <= hi)
        sol = solve_ivp(lambda t, z: therapy.treated_rhs.__wrapped__(t, z, regimens, *rates),
                        (lo, hi), y, method="LSODA", t_eval=np.union1d(times[inside], [hi]),
                        rtol=RTOL, atol=1e-13)
        assert sol.success, sol.message
        out[:, inside] = sol.y[:, np.isin(sol.t, times[inside])]
        y = sol.y[:, -1]
    levels = {r_agent: np.zeros(times.size) for r_agent in sbml._AGENT_IDS}
    for agent, regimen in zip(therapy.HAHNFELDT_SCHEDULES[group]["doses"], regimens):
        levels[agent] = regimen.concentration(times)
    return np.vstack([np.exp(out), *levels.values()])


@pytest.mark.parametrize("group", sbml.THERAPY_GROUPS)
def test_treated_hahnfeldt_model_matches_the_book_just_after_each_dose(group):
    regimens = therapy.published_regimens(group)
    doses = sorted({t for r in regimens for t in r.dose_times})
    t_end = float(therapy.HAHNFELDT_DATA[group][0][-1]) + 2.0
    # just after and just before every dose, between doses, and the end
    times = np.unique(np.concatenate([np.array(doses) + 1e-6, np.array(doses[1:]) - 1e-6,
                                      np.array(doses) + 0.5, [t_end]]))
    times = times[times <= t_end]
    names = ["V", "K", *[f"g_{a}" for a in sbml._AGENT_IDS.values()]]
    reference = treated_reference(group, times)
    ours = run_sbml(sbml.sbml_string("therapy", group=group), names, times, 1e-12)
    largest_difference(ours, reference, names)
    # every dose is an event: the level jumps by the bolus at each dose time
    dosed = [n for n in range(2, 5) if np.any(reference[n] > 0)]
    assert len(dosed) == len(regimens)


# --- what the files hold --------------------------------------------------------------------------


def all_files():
    return [(name, model, group) for name, (model, group) in sbml.FILES.items()]


@pytest.mark.parametrize("name, model, group", all_files())
def test_libsbml_finds_no_error_and_no_unit_warning(name, model, group):
    findings = sbml.consistency_report(model, None, group)
    assert findings == [], [(f.severity, f.category, f.number, f.message) for f in findings]


def test_the_unit_check_is_on_and_catches_a_wrong_unit():
    # the check the files pass is not vacuous: the growth file with the growth rate in the
    # wrong units fails libSBML's unit consistency.
    # libSBML compares dimensions, not scales: 1/h for 1/day would pass, so the wrong unit
    # here is of another dimension (mm^3 for a rate)
    right = 'value="0.192" units="per_day"'
    text = sbml.sbml_string("growth")
    assert text.count(right) == 1
    text = text.replace(right, 'value="0.192" units="mm3"')
    doc = document(text)
    doc.checkConsistency()
    units = [doc.getError(i) for i in range(doc.getNumErrors())
             if doc.getError(i).getCategory() == libsbml.LIBSBML_CAT_UNITS_CONSISTENCY]
    assert units, "libSBML's unit check did not notice a rate in the wrong units"


@pytest.mark.parametrize("name, model, group", all_files())
def test_every_quantity_has_units_and_the_values_are_the_records(name, model, group):
    m = document(sbml.sbml_string(model, None, group)).getModel()
    assert m.getLevel() == 3 and m.getVersion() == 2
    for i in range(m.getNumParameters()):
        assert m.getParameter(i).isSetUnits(), m.getParameter(i).getId()
    for i in range(m.getNumSpecies()):
        assert m.getSpecies(i).getSubstanceUnits(), m.getSpecies(i).getId()
    for i in range(m.getNumCompartments()):
        assert m.getCompartment(i).isSetUnits()
    assert m.getTimeUnits()
    records = {**({} if model != "therapy" else dict(growth.PARAMETERS)),
               **dict(sbml._MODULES[model].PARAMETERS)}
    seen = 0
    for record_name, record in records.items():
        parameter = m.getParameter(record_name)
        if parameter is None:
            continue
        seen += 1
        expected = (therapy.HAHNFELDT_SCHEDULES[group]["initial_volume"]
                    if record_name == "initial_volume" and model == "therapy" else record.value)
        assert parameter.getValue() == expected, record_name
        assert parameter.getUnits() == sbml.UNITS[record.units], record_name
        notes = parameter.getNotesString()
        assert (record.source or "Assumption") in notes, record_name
    assert seen >= 4


@pytest.mark.parametrize("model", sbml.MODELS)
def test_each_file_names_its_source_paper(model):
    text = sbml.sbml_string(model)
    bib = (ROOT / "references.bib").read_text()
    entry = bib[bib.index(f"{{{sbml.SOURCES[model]},"):]
    entry = entry[:entry.index("\n}")]
    doi = re.search(r"doi\s*=\s*\{([^}]*)\}", entry)
    pmid = re.search(r"pmid\s*=\s*\{([^}]*)\}", entry)
    expected = (f"https://identifiers.org/doi:{doi[1]}" if doi else
                f"https://identifiers.org/pubmed:{pmid[1]}")
    m = document(text).getModel()
    qualifier = libsbml.BQM_IS_DERIVED_FROM if model == "cafs" else libsbml.BQM_IS_DESCRIBED_BY
    named = [m.getCVTerm(i).getResourceURI(0) for i in range(m.getNumCVTerms())
             if m.getCVTerm(i).getModelQualifierType() == qualifier]
    assert expected in named


def test_hahnfeldt_has_no_doi_and_is_named_by_its_pubmed_id():
    assert "identifiers.org/pubmed:10519381" in sbml.sbml_string("growth")


def test_effector_tumour_file_is_derived_from_biomodels_with_the_same_constants():
    # BIOMD0000000762's parameters (as its SBML gives them: p, g, m, n, d, s, a, b) are the
    # book's dimensional estimates; the book runs the paper's rounded dimensionless groups,
    # which differ from the exact ratios by less than 1e-3
    biomodels = {"p": 0.1245, "g": 2.019e7, "m": 3.422e-10, "n": 1.101e-7, "d": 0.0412,
                 "s": 13000.0, "a": 0.18, "b": 2.0e-9}
    assert {k: v[0] for k, v in immune.DIMENSIONAL_PUBLISHED.items()} == biomodels
    exact = immune.nondimensional()
    gap = max(abs(exact[k] / v - 1) for k, v in immune.NONDIMENSIONAL_PUBLISHED.items())
    assert 1e-4 < gap < 1e-3
    assert "biomodels.db:BIOMD0000000762" in sbml.sbml_string("immune")


def test_the_files_are_deterministic_and_follow_the_records():
    assert sbml.sbml_string("immune") == sbml.sbml_string("immune")
    m = document(sbml.sbml_string("immune", {"suppression": 0.3, "channels": ("killing",)})).getModel()
    assert m.getParameter("suppression").getValue() == 0.3
    assert m.getParameter("recruitment_channel").getValue() == 0.0
    assert m.getParameter("killing_channel").getValue() == 1.0
    therapy_model = document(sbml.sbml_string("therapy", group="angiostatin + endostatin")).getModel()
    plan = therapy.HAHNFELDT_SCHEDULES["angiostatin + endostatin"]
    assert therapy_model.getNumEvents() == plan["n_doses"]  # both drugs on the same days
    assert therapy_model.getEvent(0).getNumEventAssignments() == 2


# --- bad input: the models' own errors ------------------------------------------------------------


def message(call) -> str:
    with pytest.raises((ValueError, TypeError)) as error:
        call()
    return str(error.value)


def test_a_bad_override_gets_the_models_own_error():
    assert message(lambda: sbml.sbml_string("immune", {"suppression": 1.5})) == \
        message(lambda: immune.Model(suppression=1.5))
    assert message(lambda: sbml.sbml_string("immune", {"channels": ("no such",)})) == \
        message(lambda: immune.Model(channels=("no such",)))
    assert message(lambda: sbml.sbml_string("growth", {"inhibition": 0.0})) == \
        message(lambda: growth.simulate_hahnfeldt(inhibition=0.0))
    assert message(lambda: sbml.sbml_string("cafs", {"no_such": 1.0})) == \
        message(lambda: cafs.PARAMETERS.resolve(no_such=1.0))
    assert message(lambda: sbml.sbml_string("therapy", {"clearance_tnp470": 0.0})).startswith(
        "clearance_tnp470 must be")
    assert message(lambda: sbml.sbml_string("emt", {"reference_input": 10.0})) == \
        message(lambda: emt.starting_states(10.0))


def test_a_bad_model_name_group_or_folder_is_refused_by_name():
    assert message(lambda: sbml.sbml_string("no such model")).startswith("model must be one of")
    assert message(lambda: sbml.sbml_string("therapy", group="no such")).startswith("group must be")
    assert message(lambda: sbml.sbml_string("immune", group="TNP-470")).startswith("group applies")
    assert message(lambda: sbml.sbml_string("therapy", {"dose": 10.0})).startswith("dose is not used")
    assert message(lambda: sbml.sbml_string("immune", "suppression")).startswith("overrides must")
    assert message(lambda: sbml.write_files("abc")).startswith("folder must be a pathlib.Path")


def test_write_files_writes_each_file_once(tmp_path):
    paths = sbml.write_files(tmp_path)
    assert sorted(p.name for p in paths) == sorted(sbml.FILES)
    stamps = {p: p.stat().st_mtime_ns for p in paths}
    sbml.write_files(tmp_path)  # unchanged texts are not rewritten
    assert {p: p.stat().st_mtime_ns for p in paths} == stamps


# --- the model contract (tests/test_contract.py's checks, run on this module) --------------------
# Not in test_contract.MODULES: its property-based test needs a numeric argument, and the
# exporter has none (its numbers are checked by the models' own records, above).


def test_the_exporter_follows_the_model_contract():
    import test_contract as contract

    contract.test_parameter_set_is_complete("sbml")
    contract.test_every_public_callable_declares_its_inputs("sbml")
    contract.test_bad_values_are_refused_at_once_naming_the_argument("sbml")
    contract.test_generic_extreme_values_give_a_clear_error_or_finite_results("sbml")
    assert not contract.has_widget(sbml)
