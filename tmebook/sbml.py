"""The book's ODE models as SBML Level 3 (version 2) files, written with libSBML.

Systems biologists exchange ODE models as SBML (the Systems Biology Markup Language) and
open them in COPASI, tellurium/libRoadRunner and many other tools. This module writes six
of the book's models from the same parameter records the chapters use (no second copy of
any value):

=============  =======  =====================================================================
model          chapter  what the file holds
=============  =======  =====================================================================
ecosystem      2        the tumour-stroma game of Basanta et al. (2012), replicator equation
cafs           3        the CAF switch: tumour burden and activated-fibroblast fraction
immune         4        the effector-tumour model of Kuznetsov et al. (1994), dimensionless,
                        with this book's suppression strength S and its two channels
emt            6        the miR-34/SNAIL/miR-200/ZEB circuit of Lu et al. (2013)
growth         7        tumour growth under angiogenic control (Hahnfeldt et al. 1999)
therapy        10       the same with TNP-470, angiostatin and endostatin; each dose of a
                        published treated group is an SBML event
=============  =======  =====================================================================

Each model is written as rate rules (one ODE per state, exactly the book's right-hand side;
the Hahnfeldt models in V and K, which the book integrates as ln V and ln K), with a unit
on every parameter, species and compartment, the record's description, source and place in
the paper as the parameter's notes, and the source paper as a model annotation
(bqmodel:isDescribedBy, its DOI from references.bib, or its PubMed id where the paper has
no DOI; the CAF switch, the book's own model, is bqmodel:isDerivedFrom Adler et al. 2020). The models' spatial and stochastic relatives (ECM invasion, oxygen fields,
sprouting, the cascade's cohorts) are not ODE models and are not exported.

`sbml_string(model, overrides)` gives a model's file as text: overrides are named as in the
model module's PARAMETERS and checked against the same records, so a bad value is refused
with the model's own error. `consistency_report` runs libSBML's consistency checks (units
included); `write_files` writes the book's files (the Sphinx extension `_ext/sbml_files.py`
calls it when the book is built).

libSBML's consistency check (units included) reports nothing for these files. Two
things would otherwise give unit warnings: V^(2/3), whose non-integer exponent libSBML
cannot check (warning 10501), is written root(3, V)^2, the same number; and every literal
number (the 1 in 1 - S, exponents, binomial coefficients) is declared dimensionless, as
libSBML cannot check an expression holding a number without units (warning 99505). Note
that libSBML's check compares dimensions, not scales: a rate in 1/h where 1/day belongs
would pass it. The tests compare each file's simulation with the book's own solvers.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import libsbml

from . import cafs, ecosystem, emt, growth, immune, therapy
from .parameters import Optional, Parameter, ParameterSet, checked, one_of

__all__ = [
    "MODELS", "CHAPTERS", "SOURCES", "THERAPY_GROUPS", "FILES", "PARAMETERS",
    "sbml_string", "Finding", "consistency_report", "write_files",
]

#: The exported models by the name of the module that holds each (and its chapter).
CHAPTERS = {"ecosystem": 2, "cafs": 3, "immune": 4, "emt": 6, "growth": 7, "therapy": 10}
MODELS = tuple(CHAPTERS)
#: The paper each model file is described by (bqmodel:isDescribedBy; for the book's own CAF
#: switch, the paper it is derived from: bqmodel:isDerivedFrom), as BibTeX keys of
#: references.bib.
SOURCES = {"ecosystem": "basanta2012", "cafs": "adler2020", "immune": "kuznetsov1994",
           "emt": "lu2013", "growth": "hahnfeldt1999", "therapy": "hahnfeldt1999"}
#: BioModels' curated SBML of Kuznetsov et al. 1994 (same dimensional constants as
#: tmebook.immune.DIMENSIONAL_PUBLISHED); the book's file is derived from that model.
BIOMODELS_KUZNETSOV = "BIOMD0000000762"
#: The published treated groups of Hahnfeldt et al. 1999 (tmebook.therapy).
THERAPY_GROUPS = tuple(therapy.HAHNFELDT_SCHEDULES)

#: This module has no model parameters of its own: it writes those of the model modules.
PARAMETERS = ParameterSet([])

ROOT = Path(__file__).resolve().parent.parent
BIBLIOGRAPHY = ROOT / "references.bib"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


#: The files the book offers (name -> (model, therapy group or None)), all at the
#: recorded values.
FILES = {
    "ch02_stroma_game.xml": ("ecosystem", None),
    "ch03_caf_switch.xml": ("cafs", None),
    "ch04_effector_tumour.xml": ("immune", None),
    "ch06_emt_circuit.xml": ("emt", None),
    "ch07_hahnfeldt_growth.xml": ("growth", None),
    **{f"ch10_hahnfeldt_{_slug(group)}.xml": ("therapy", group) for group in THERAPY_GROUPS},
}


# --- units ---------------------------------------------------------------------------------

_S, _M, _ITEM = libsbml.UNIT_KIND_SECOND, libsbml.UNIT_KIND_METRE, libsbml.UNIT_KIND_ITEM
_G, _KG, _L = libsbml.UNIT_KIND_GRAM, libsbml.UNIT_KIND_KILOGRAM, libsbml.UNIT_KIND_LITRE
_DIMENSIONLESS = libsbml.UNIT_KIND_DIMENSIONLESS

#: SBML unit definitions: id -> units (kind, exponent, scale, multiplier); SBML reads a unit
#: as (multiplier 10^scale kind)^exponent.
UNIT_DEFINITIONS = {
    "day": [(_S, 1, 0, 86400.0)],
    "hour": [(_S, 1, 0, 3600.0)],
    "per_day": [(_S, -1, 0, 86400.0)],
    "per_hour": [(_S, -1, 0, 3600.0)],
    "per_cell_per_day": [(_ITEM, -1, 0, 1.0), (_S, -1, 0, 86400.0)],
    "molecules_per_hour": [(_ITEM, 1, 0, 1.0), (_S, -1, 0, 3600.0)],
    "thousand_molecules": [(_ITEM, 1, 3, 1.0)],
    "molecules_per_thousand_molecules": [(_ITEM, 1, 0, 1.0), (_ITEM, -1, 3, 1.0)],
    "ng_per_ml": [(_G, 1, -9, 1.0), (_L, -1, -3, 1.0)],
    "mm3": [(_M, 3, -3, 1.0)],
    "per_day_per_mm2": [(_M, -2, -3, 1.0), (_S, -1, 0, 86400.0)],
    "mg_per_kg": [(_G, 1, -3, 1.0), (_KG, -1, 0, 1.0)],
    "kg_per_mg_per_day": [(_KG, 1, 0, 1.0), (_G, -1, -3, 1.0), (_S, -1, 0, 86400.0)],
}

#: The units a parameter record states, as SBML unit ids. A record whose units are not
#: listed here stops the export (so that a new unit cannot slip through unconverted).
UNITS = {
    "dimensionless": "dimensionless", "1": "dimensionless", "1 (payoff)": "dimensionless",
    "cells": "item", "molecules": "item", "1/(cell day)": "per_cell_per_day",
    "1/day": "per_day", "1/h": "per_hour", "day": "day", "molecules/h": "molecules_per_hour",
    "10³ molecules": "thousand_molecules", "ng/mL": "ng_per_ml", "mm³": "mm3",
    "1/(day mm²)": "per_day_per_mm2", "mg/kg": "mg_per_kg", "kg/(mg day)": "kg_per_mg_per_day",
    # a decimal logarithm of a cell number is a pure number
    "log₁₀ cells": "dimensionless",
}


def _units_of(record: Parameter) -> str:
    try:
        return UNITS[record.units]
    except KeyError:
        raise ValueError(f"{record.name}: no SBML unit for the record's units "
                         f"{record.units!r}; add it to tmebook.sbml.UNITS") from None


# --- references ------------------------------------------------------------------------------


@cache
def _reference_uri(key: str) -> str:
    """identifiers.org address of a references.bib entry: its DOI, else its PubMed id."""
    from pybtex.database import parse_file

    fields = parse_file(str(BIBLIOGRAPHY)).entries[key].fields
    if "doi" in fields:
        return f"https://identifiers.org/doi:{fields['doi']}"
    if "pmid" in fields:
        return f"https://identifiers.org/pubmed:{fields['pmid']}"
    raise ValueError(f"{key}: references.bib gives neither a DOI nor a PubMed id")


# --- writing a model ---------------------------------------------------------------------------


def _xhtml(*paragraphs: str) -> str:
    body = "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)
    return f'<body xmlns="http://www.w3.org/1999/xhtml">{body}</body>'


def _record_notes(record: Parameter) -> str:
    source = (f"Source: {record.source} ({record.where})." if record.source
              else f"Assumption of the book: {record.where}.")
    # the records' prose may hold MyST roles such as {cite:t}`key`: keep the key only
    source = re.sub(r"\{cite:[tp]\}`([^`]*)`", r"\1", source)
    return _xhtml(f"{record.description} [{record.units}].", source)


def _check(status: int, what: str) -> None:
    if status != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise RuntimeError(f"libSBML refused {what}: "
                           f"{libsbml.OperationReturnValue_toString(status)}")


def _pure_numbers(ast) -> None:
    """Declare every literal number without units dimensionless (1 in 1 - S, exponents,
    binomial coefficients), so that libSBML's unit check can follow every expression."""
    if ast.isNumber() and not ast.getUnits():
        _check(ast.setUnits("dimensionless"), "the units of a number")
    for i in range(ast.getNumChildren()):
        _pure_numbers(ast.getChild(i))


class _Writer:
    """A libSBML document under construction (every call checked)."""

    def __init__(self, model_id: str, name: str, time_units: str, notes: list[str],
                 substance_units: str = "dimensionless"):
        self.document = libsbml.SBMLDocument(3, 2)
        self.model = self.document.createModel()
        _check(self.model.setId(model_id), "the model id")
        _check(self.model.setMetaId(f"meta_{model_id}"), "the model metaid")
        self.model.setName(name)
        for unit_id, parts in UNIT_DEFINITIONS.items():
            definition = self.model.createUnitDefinition()
            _check(definition.setId(unit_id), f"unit {unit_id}")
            for kind, exponent, scale, multiplier in parts:
                unit = definition.createUnit()
                unit.setKind(kind)
                unit.setExponent(exponent)
                unit.setScale(scale)
                unit.setMultiplier(multiplier)
        _check(self.model.setTimeUnits(time_units), "the time units")
        # the model-wide defaults (COPASI asks for them): counts of cells or molecules, or
        # pure numbers; the one compartment of each model is a dimensionless unit volume
        _check(self.model.setSubstanceUnits(substance_units), "the substance units")
        _check(self.model.setExtentUnits(substance_units), "the extent units")
        for setter in (self.model.setVolumeUnits, self.model.setAreaUnits,
                       self.model.setLengthUnits):
            _check(setter("dimensionless"), "the compartment units")
        _check(self.model.setNotes(_xhtml(*notes)), "the model notes")

    def annotate(self, qualifier: int, uri: str) -> None:
        term = libsbml.CVTerm(libsbml.MODEL_QUALIFIER)
        term.setModelQualifierType(qualifier)
        _check(term.addResource(uri), f"resource {uri}")
        _check(self.model.addCVTerm(term), f"annotation {uri}")

    def compartment(self, compartment_id: str, name: str) -> None:
        compartment = self.model.createCompartment()
        _check(compartment.setId(compartment_id), "the compartment")
        compartment.setName(name)
        compartment.setSpatialDimensions(3)
        compartment.setSize(1.0)
        compartment.setUnits("dimensionless")
        compartment.setConstant(True)
        self.compartment_id = compartment_id

    def species(self, species_id: str, name: str, units: str, initial: float | None = None,
                notes: str = "") -> None:
        """A species counted as an amount (hasOnlySubstanceUnits), changed by a rate rule."""
        species = self.model.createSpecies()
        _check(species.setId(species_id), f"species {species_id}")
        species.setName(name)
        species.setCompartment(self.compartment_id)
        species.setHasOnlySubstanceUnits(True)
        species.setSubstanceUnits(units)
        species.setBoundaryCondition(False)
        species.setConstant(False)
        if initial is not None:
            _check(species.setInitialAmount(float(initial)), f"initial amount of {species_id}")
        if notes:
            species.setNotes(_xhtml(notes))

    def parameter(self, parameter_id: str, value: float | None, units: str, *, name: str = "",
                  constant: bool = True, notes: str = "") -> None:
        parameter = self.model.createParameter()
        _check(parameter.setId(parameter_id), f"parameter {parameter_id}")
        parameter.setName(name or parameter_id)
        if value is not None:
            if not math.isfinite(value):
                raise ValueError(f"{parameter_id} must be finite, got {value!r}")
            _check(parameter.setValue(float(value)), f"the value of {parameter_id}")
        _check(parameter.setUnits(units), f"the units of {parameter_id}")
        parameter.setConstant(constant)
        if notes:
            _check(parameter.setNotes(notes), f"the notes of {parameter_id}")

    def record(self, record: Parameter, value: float, parameter_id: str | None = None) -> None:
        """A constant parameter from a parameter record, at `value` (checked by the record)."""
        self.parameter(parameter_id or record.name, value, _units_of(record),
                       name=record.description, notes=_record_notes(record))

    def math(self, formula: str):
        ast = libsbml.parseL3FormulaWithModel(formula, self.model)
        if ast is None:
            raise RuntimeError(f"libSBML cannot parse {formula!r}: {libsbml.getLastParseL3Error()}")
        _pure_numbers(ast)
        return ast

    def rate(self, variable: str, formula: str) -> None:
        rule = self.model.createRateRule()
        _check(rule.setVariable(variable), f"the rate rule of {variable}")
        _check(rule.setMath(self.math(formula)), f"the rate of {variable}")

    def assign(self, variable: str, formula: str) -> None:
        rule = self.model.createAssignmentRule()
        _check(rule.setVariable(variable), f"the assignment rule of {variable}")
        _check(rule.setMath(self.math(formula)), f"the assignment of {variable}")

    def initial(self, symbol: str, formula: str) -> None:
        assignment = self.model.createInitialAssignment()
        _check(assignment.setSymbol(symbol), f"the initial assignment of {symbol}")
        _check(assignment.setMath(self.math(formula)), f"the initial value of {symbol}")

    def event(self, event_id: str, trigger: str, assignments: Mapping[str, str]) -> None:
        event = self.model.createEvent()
        _check(event.setId(event_id), f"event {event_id}")
        event.setUseValuesFromTriggerTime(True)
        condition = event.createTrigger()
        # false before the start: a dose at time 0 is given at time 0
        condition.setInitialValue(False)
        condition.setPersistent(True)
        _check(condition.setMath(self.math(trigger)), f"the trigger of {event_id}")
        for variable, formula in assignments.items():
            assignment = event.createEventAssignment()
            _check(assignment.setVariable(variable), f"{event_id}: {variable}")
            _check(assignment.setMath(self.math(formula)), f"{event_id}: {variable}")

    def text(self) -> str:
        return libsbml.writeSBMLToString(self.document)


def _generated_by(module) -> str:
    return (f"Written by tmebook.sbml from the parameter records of {module.__name__} "
            f"(PARAMETERS); each parameter's notes give its source.")


# --- the models ----------------------------------------------------------------------------------


def _ecosystem(values: Mapping) -> _Writer:
    records = ecosystem.PARAMETERS
    w = _Writer("stroma_game", "Tumour-stroma game of Basanta et al. 2012 (replicator equation)",
                "dimensionless", [
                    "Stroma (S), environment-dependent (D) and environment-independent (I) "
                    "tumour cells play the game of Basanta et al. (2012), with its payoff "
                    "table as printed by Mirzaev et al. (2018); the frequencies follow the "
                    "replicator equation dx_i/dt = x_i (f_i - mean fitness). Time is in "
                    "units of the inverse payoff (dimensionless). The payoff values are "
                    "illustrative (the book, chapter 2). The start is the book's stroma-rich "
                    "seed.", _generated_by(ecosystem)])
    w.compartment("tissue", "tissue")
    for name in records:
        w.record(records[name], values[name])
    for species_id, strategy, start in zip(("x_S", "x_D", "x_I"), ecosystem.STRATEGIES,
                                           ecosystem.SEED):
        w.species(species_id, f"frequency of {ecosystem.STRATEGY_NAMES[strategy]}",
                  "dimensionless", start)
    for fitness in ("f_S", "f_D", "f_I", "mean_fitness"):
        w.parameter(fitness, None, "dimensionless", constant=False)
    # the rows of tmebook.ecosystem.StromaGame.payoff_matrix times (x_S, x_D, x_I)
    w.assign("f_S", "alpha * x_D")
    w.assign("f_D", "(1 + alpha - beta) * x_S + (1 - 2 * beta) * x_D + (1 - beta + rho) * x_I")
    w.assign("f_I", "(1 - gamma) * (x_S + x_D + x_I)")
    # divided by the total (1 on the simplex), as the book's _replicator does
    w.assign("mean_fitness", "(x_S * f_S + x_D * f_D + x_I * f_I) / (x_S + x_D + x_I)")
    for species_id, fitness in (("x_S", "f_S"), ("x_D", "f_D"), ("x_I", "f_I")):
        w.rate(species_id, f"{species_id} * ({fitness} - mean_fitness)")
    return w


def _cafs(values: Mapping) -> _Writer:
    records = cafs.PARAMETERS
    w = _Writer("caf_switch", "CAF switch: tumour burden and activated fibroblasts", "day", [
        "The book's model of chapter 3: tumour burden tau (fraction of the carrying "
        "capacity) and the fraction c of fibroblasts activated into CAFs, with the "
        "activating signal S = sigma_T tau + sigma_C c and activation k_a S^n/(1 + S^n). "
        "The CAF loss rate is the myofibroblast removal rate of Adler et al. (2020); the "
        "other values are illustrative. The start is the book's FEW_CAFS state.",
        _generated_by(cafs)])
    w.compartment("tissue", "tissue")
    for name in records:
        w.record(records[name], values[name])
    w.species("tau", "tumour burden (fraction of the carrying capacity)", "dimensionless",
              cafs.FEW_CAFS[0])
    w.species("c", "fraction of fibroblasts activated into CAFs", "dimensionless",
              cafs.FEW_CAFS[1])
    w.parameter("signal", None, "dimensionless", constant=False,
                name="activating signal, in units of its half-activation concentration")
    w.assign("signal", "activation_strength * tau + caf_secretion * c")
    w.rate("tau", "tumour_growth * (1 + caf_growth_boost * c) * tau * (1 - tau) - drug_kill * tau")
    w.rate("c", "activation_rate * signal^hill / (1 + signal^hill) * (1 - c) - caf_loss * c")
    return w


def _immune(values: Mapping) -> _Writer:
    records = immune.PARAMETERS
    model = immune.Model(**values)  # the model's own checks and its suppression channels
    w = _Writer("effector_tumour_suppression",
                "Effector-tumour model of Kuznetsov et al. 1994 with immunosuppression",
                "dimensionless", [
                    "The dimensionless model of Kuznetsov, Makalkin, Taylor and Perelson "
                    "(1994), as the book runs it: the paper's printed (rounded) "
                    "dimensionless groups, x = E/E0 and y = T/T0 with E0 = T0 = 10^6 "
                    "cells, time tau = n T0 t. The suppression strength S and its two "
                    "channels (effector recruitment, killing) are this book's extension "
                    "(chapter 4), not the paper's; S = 0 is the published model. "
                    f"BioModels {BIOMODELS_KUZNETSOV} holds the dimensional model.",
                    "effector_cells, tumour_cells and days give the state in cells and the "
                    "time in days.", _generated_by(immune)])
    w.annotate(libsbml.BQM_IS_DERIVED_FROM,
               f"https://identifiers.org/biomodels.db:{BIOMODELS_KUZNETSOV}")
    w.compartment("host", "spleen of the host")
    for name in records:
        if name != "channels":
            w.record(records[name], values[name])
    channels = records["channels"]
    for channel in immune.CHANNELS:
        w.parameter(f"{channel}_channel", float(channel in model.channels), "dimensionless",
                    name=f"1 if the suppression acts on effector {channel}, else 0",
                    notes=_record_notes(channels))
    w.species("x", "effector cells (units of 10^6 cells)", "dimensionless",
              notes="At the start: the tumour-free level sigma/delta (a naive host).")
    w.species("y", "tumour cells (units of 10^6 cells)", "dimensionless",
              notes="At the start: 10^log10_initial_tumour cells.")
    w.initial("x", "sigma / delta")
    w.initial("y", "10^log10_initial_tumour * 1 item / cell_scale")
    w.parameter("recruitment", None, "dimensionless", constant=False,
                name="tumour-driven recruitment under suppression, (1 - S) rho")
    w.parameter("killing", None, "dimensionless", constant=False,
                name="factor on killing under suppression, 1 - S")
    w.assign("recruitment", "rho * (1 - suppression * recruitment_channel)")
    w.assign("killing", "1 - suppression * killing_channel")
    w.rate("x", "sigma + recruitment * x * y / (eta + y) - mu * x * y - delta * x")
    w.rate("y", "alpha * y * (1 - beta * y) - killing * x * y")
    for output, formula, units, name in (
            ("effector_cells", "x * cell_scale", "item", "effector cells"),
            ("tumour_cells", "y * cell_scale", "item", "tumour cells"),
            ("days", "time / (kill_rate * cell_scale)", "day", "time in days")):
        w.parameter(output, None, units, constant=False, name=name)
        w.assign(output, formula)
    return w


def _hill(x: str, threshold: str, n: str, fold: str) -> str:
    """The shifted Hill function of Lu et al. 2013 (tmebook.emt.shifted_hill)."""
    repression = f"1 / (1 + ({x} / {threshold})^{n})"
    return f"{repression} + {fold} * (1 - {repression})"


_EMT_SPECIES = (  # id, name (the order of tmebook.emt's state vector)
    ("mu200", "miR-200"), ("mZ", "ZEB mRNA"), ("Z", "ZEB protein"),
    ("mu34", "miR-34"), ("mS", "SNAIL mRNA"), ("S", "SNAIL protein"))


def _emt(values: Mapping) -> _Writer:
    records = emt.PARAMETERS
    start = emt.starting_states(values["reference_input"])[values["start_phenotype"]]
    w = _Writer("mir34_snail_mir200_zeb", "EMT circuit of Lu et al. 2013 (miR-34/SNAIL/miR-200/ZEB)",
                "hour", [
                    "The circuit of Lu, Jolly, Levine, Onuchic and Ben-Jacob (2013) as the "
                    "book runs it (chapter 6): molecule numbers per cell, time in hours, "
                    "the shifted Hill functions and the binomial microRNA-binding terms L, "
                    "Y_m, Y_mu written out. The input I = 1000 input_signal drives SNAIL "
                    "transcription. The start is the book's stable "
                    f"{values['start_phenotype']} state at the reference input "
                    f"({values['reference_input']:g} thousand molecules), computed with the "
                    "published parameters.", _generated_by(emt)], substance_units="item")
    w.compartment("cell", "one cell")
    for name in records:
        record = records[name]
        if name in ("start_phenotype", "ecad_threshold", "tgf_half", "input_basal", "input_gain"):
            continue  # the starting state (above), and read-outs the ODEs do not use
        w.record(record, values[name])
    tables = (("l", "translation factor with {i} microRNAs bound", "dimensionless",
               emt.TRANSLATION_FACTORS),
              ("gamma_m", "microRNA-induced mRNA decay with {i} microRNAs bound", "per_hour",
               emt.MRNA_DECAY_FACTORS),
              ("gamma_mu", "microRNA decay with {i} microRNAs bound", "per_hour",
               emt.MIRNA_DECAY_FACTORS))
    for prefix, name, units, table in tables:
        for i, value in enumerate(table):
            w.parameter(f"{prefix}_{i}", value, units, name=name.format(i=i),
                        notes=_xhtml(f"Source: lu2013 ({emt.TABLE})."))
    for species_id, name in _EMT_SPECIES:
        w.species(species_id, name, "item", start[[s for s, _ in _EMT_SPECIES].index(species_id)])
    w.parameter("I", None, "item", constant=False, name="input signal (molecules)")
    w.assign("I", "input_signal * 1000 molecules_per_thousand_molecules")
    for mirna, mu0, sites in (("mu200", "mu0_200", emt.BINDING_SITES_ZEB),
                              ("mu34", "mu0_34", emt.BINDING_SITES_SNAIL)):
        suffix = mirna[2:]
        occupancy = [f"{math.comb(sites, i)} * ({mirna} / {mu0})^{i} / (1 + {mirna} / {mu0})^{sites}"
                     for i in range(sites + 1)]
        for term, prefix, units, weight in (("L", "l", "dimensionless", ""),
                                            ("Y_m", "gamma_m", "per_hour", ""),
                                            ("Y_mu", "gamma_mu", "per_hour", "{i} * ")):
            w.parameter(f"{term}_{suffix}", None, units, constant=False,
                        name=f"{term} of miR-{suffix} ({sites} binding sites)")
            w.assign(f"{term}_{suffix}", " + ".join(
                f"{weight.format(i=i)}{prefix}_{i} * {p}" for i, p in enumerate(occupancy)))
    hills = {"H_Z_mu200": ("Z", "Z0_mu200", "n_Z_mu200", "l_Z_mu200"),
             "H_S_mu200": ("S", "S0_mu200", "n_S_mu200", "l_S_mu200"),
             "H_Z_mZ": ("Z", "Z0_mZ", "n_Z_mZ", "l_Z_mZ"),
             "H_S_mZ": ("S", "S0_mZ", "n_S_mZ", "l_S_mZ"),
             "H_S_mu34": ("S", "S0_mu34", "n_S_mu34", "l_S_mu34"),
             "H_Z_mu34": ("Z", "Z0_mu34", "n_Z_mu34", "l_Z_mu34"),
             "H_I_mS": ("I", "I0_mS", "n_I_mS", "l_I_mS"),
             "H_S_mS": ("S", "S0_mS", "n_S_mS", "l_S_mS")}
    for hill, arguments in hills.items():
        w.parameter(hill, None, "dimensionless", constant=False,
                    name=f"shifted Hill function of {arguments[0]} ({arguments[1]})")
        w.assign(hill, _hill(*arguments))
    w.rate("mu200", "g_mu200 * H_Z_mu200 * H_S_mu200 - mZ * Y_mu_200 - k_mu200 * mu200")
    w.rate("mZ", "g_mZ * H_Z_mZ * H_S_mZ - mZ * Y_m_200 - k_mZ * mZ")
    w.rate("Z", "g_Z * mZ * L_200 - k_Z * Z")
    w.rate("mu34", "g_mu34 * H_S_mu34 * H_Z_mu34 - mS * Y_mu_34 - k_mu34 * mu34")
    w.rate("mS", "g_mS * H_I_mS * H_S_mS - mS * Y_m_34 - k_mS * mS")
    w.rate("S", "g_S * mS * L_34 - k_S * S")
    return w


def _hahnfeldt(w: _Writer, values: Mapping, initial_volume: float, drug_loss: str = "") -> None:
    """The Hahnfeldt model's parameters and rate rules in V and K (tmebook.growth)."""
    records = growth.PARAMETERS
    for name in ("growth_rate", "stimulation", "inhibition", "capacity_loss", "initial_capacity"):
        w.record(records[name], values[name])
    w.record(records["initial_volume"], initial_volume)
    w.parameter("V", None, "mm3", constant=False, name="tumour volume")
    w.parameter("K", None, "mm3", constant=False, name="carrying capacity set by the vasculature")
    w.initial("V", "initial_volume")
    w.initial("K", "initial_capacity")
    # the natural logarithm (Eq. C1 of the paper); V^(2/3) written as root(3, V)^2, which
    # libSBML's unit check can follow (mm^3 -> mm^2)
    w.rate("V", "-growth_rate * V * ln(V / K)")
    w.rate("K", f"-capacity_loss * K + stimulation * V - inhibition * K * root(3, V)^2{drug_loss}")


def _growth(values: Mapping) -> _Writer:
    w = _Writer("hahnfeldt_growth", "Tumour growth under angiogenic control (Hahnfeldt et al. 1999)",
                "day", [
                    "dV/dt = -lambda1 V ln(V/K), dK/dt = -lambda2 K + b V - d K V^(2/3) "
                    "(Hahnfeldt, Panigrahy, Folkman and Hlatky 1999, fit to Lewis lung "
                    "carcinoma; natural logarithm, their Eq. C1). V and K in mm^3, time in "
                    "days. The paper has no DOI: it is annotated by its PubMed id.",
                    _generated_by(growth)])
    _hahnfeldt(w, values, values["initial_volume"])
    return w


_AGENT_IDS = {"TNP-470": "tnp470", "angiostatin": "angiostatin", "endostatin": "endostatin"}


def _therapy(values: Mapping, group: str) -> _Writer:
    plan = therapy.HAHNFELDT_SCHEDULES[group]
    regimens = dict(zip(plan["doses"], therapy.published_regimens(group)))
    w = _Writer(f"hahnfeldt_treated_{_slug(group)}",
                f"Hahnfeldt et al. 1999 under treatment: the {group} group", "day", [
                    "The Hahnfeldt model of chapter 7 with anti-angiogenic drugs (book, "
                    "chapter 10): each drug level g (mg/kg) is cleared at first order, "
                    "dg/dt = -clr g, and removes vascular support, dK/dt = ... - e g K. "
                    f"Each dose of the published {group} group is an event that adds the "
                    "bolus to g (doses and schedules as tmebook.therapy.HAHNFELDT_SCHEDULES; "
                    "start volume of that group). Potencies and clearances from Table 1 of "
                    "the paper. The paper has no DOI: it is annotated by its PubMed id.",
                    _generated_by(therapy) + " Growth parameters from tmebook.growth."])
    loss = " - (" + " + ".join(f"efficacy_{a} * g_{a}" for a in _AGENT_IDS.values()) + ") * K"
    _hahnfeldt(w, values, plan["initial_volume"], loss)
    records = therapy.PARAMETERS
    for agent, agent_id in _AGENT_IDS.items():
        for kind in ("efficacy", "clearance"):
            w.record(records[f"{kind}_{agent_id}"], values[f"{kind}_{agent_id}"])
        w.parameter(f"g_{agent_id}", 0.0, "mg_per_kg", constant=False,
                    name=f"{agent} level in the body")
        w.rate(f"g_{agent_id}", f"-clearance_{agent_id} * g_{agent_id}")
    for agent, regimen in regimens.items():
        agent_id = _AGENT_IDS[agent]
        w.parameter(f"dose_{agent_id}", regimen.dose, "mg_per_kg", name=f"bolus of {agent}",
                    notes=_xhtml(f"The {group} group of Hahnfeldt et al. 1999: {regimen.dose:g} "
                                 f"mg/kg every {plan['interval']:g} days, {plan['n_doses']} doses."))
    times = sorted({t for regimen in regimens.values() for t in regimen.dose_times})
    for k, t in enumerate(times):
        given = {f"g_{_AGENT_IDS[a]}": f"g_{_AGENT_IDS[a]} + dose_{_AGENT_IDS[a]}"
                 for a, regimen in regimens.items() if t in regimen.dose_times}
        w.event(f"dose_{k + 1}", f"time >= {t!r} day", given)
    return w


# --- the public functions ------------------------------------------------------------------------

_MODULES = {"ecosystem": ecosystem, "cafs": cafs, "immune": immune, "emt": emt,
            "growth": growth, "therapy": therapy}
#: Overrides each export reads (the others of its module would not change the file).
_UNUSED = {
    "emt": ("ecad_threshold", "tgf_half", "input_basal", "input_gain"),
    "therapy": ("dose", "dose_interval", "start_day", "permeability_reduction",
                "half_effect_dose", "blockade", "initial_volume"),
}


class _OverrideSpec:
    """The spec of an `overrides` argument: a mapping of parameter names to values (None:
    the recorded values). The names and values are checked against the chosen model's
    records in the function, which refuse them with the model's own errors."""

    def check(self, name, value):
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a mapping of parameter names to values, got {value!r}")
        unnamed = [key for key in value if not isinstance(key, str)]
        if unnamed:
            raise TypeError(f"{name} must be keyed by parameter names, got {unnamed[0]!r}")
        return dict(value)

    def example(self):
        return None

    def bad_values(self) -> list:
        return ["abc", 1.0, [("suppression", 0.3)], {1: 0.3}]


OVERRIDES = _OverrideSpec()


def _values(model: str, overrides: dict) -> dict:
    """Every parameter value the export reads: the records' values, with `overrides` checked
    by the model's own records (and, for therapy, chapter 7's growth records)."""
    sets = [_MODULES[model].PARAMETERS] + ([growth.PARAMETERS] if model == "therapy" else [])
    unused = _UNUSED.get(model, ())
    values = {}
    for records in reversed(sets):
        values.update({name: record.value for name, record in records.items()})
    for name, value in overrides.items():
        if name in unused:
            raise ValueError(f"{name} is not used by the {model} SBML export"
                             + (" (its doses and start are those of the published group)"
                                if model == "therapy" else " (a read-out, not part of the ODEs)"))
        owner = next((records for records in sets if name in records), sets[0])
        # an unknown name or a value outside the record's domain: the model's own error
        values.update(owner.check_overrides({name: value}))
    return values


@checked(None, model=one_of(*MODELS), overrides=OVERRIDES, group=Optional(one_of(*THERAPY_GROUPS)))
def sbml_string(model: str, overrides: Mapping | None = None, group: str | None = None) -> str:
    """The SBML Level 3 version 2 file of a model (a name of MODELS) as text, at its recorded
    parameter values with `overrides` (names as in the model module's PARAMETERS; for therapy
    also chapter 7's growth parameters) checked as the model checks them. `group` is the
    published treated group whose doses the therapy file gives as events (None: TNP-470);
    only the therapy model takes one."""
    if group is not None and model != "therapy":
        raise ValueError(f"group applies only to the therapy model, not to {model!r}")
    values = _values(model, overrides)
    writer = (_therapy(values, group or THERAPY_GROUPS[0]) if model == "therapy"
              else globals()[f"_{model}"](values))
    # the CAF switch is this book's model; Adler et al. (2020) give its loss rate and the
    # autocrine idea, so the file is derived from that paper rather than described by it
    writer.annotate(libsbml.BQM_IS_DERIVED_FROM if model == "cafs" else libsbml.BQM_IS_DESCRIBED_BY,
                    _reference_uri(SOURCES[model]))
    return writer.text()


@dataclass(frozen=True)
class Finding:
    """One message of libSBML's consistency check: severity ('Error', 'Warning', ...),
    its category (e.g. 'SBML unit consistency'), libSBML's error number and its text."""

    severity: str
    category: str
    number: int
    message: str


@checked(None, model=one_of(*MODELS), overrides=OVERRIDES, group=Optional(one_of(*THERAPY_GROUPS)))
def consistency_report(model: str, overrides: Mapping | None = None,
                       group: str | None = None) -> list[Finding]:
    """libSBML's consistency checks of a model's file (every category, units included),
    read back from its text: every error, warning and note."""
    document = libsbml.readSBMLFromString(sbml_string(model, overrides, group))
    document.checkConsistency()
    findings = []
    for i in range(document.getNumErrors()):
        error = document.getError(i)
        findings.append(Finding(error.getSeverityAsString(), error.getCategoryAsString(),
                                error.getErrorId(), " ".join(error.getMessage().split())))
    return findings


class _Folder:
    """The spec of a folder to write into: a pathlib.Path (not a string, so that a stray
    word is never taken for a folder)."""

    def check(self, name, value):
        if not isinstance(value, Path):
            raise TypeError(f"{name} must be a pathlib.Path, got {value!r}")
        if value.exists() and not value.is_dir():
            raise ValueError(f"{name} must be a folder, got the file {value}")
        return value

    def example(self):
        raise LookupError("no example folder: the contract test must not write files")

    def bad_values(self) -> list:
        return ["abc", 1.0, None]


@checked(None, folder=_Folder())
def write_files(folder: Path) -> list[Path]:
    """Write every file of FILES into `folder` (made if missing), each checked by libSBML
    first: a file with a consistency error is not written (RuntimeError). A file whose text
    is unchanged is left alone (Sphinx then sees no change)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (model, group) in FILES.items():
        errors = [f for f in consistency_report(model, None, group)
                  if f.severity in ("Error", "Fatal")]
        if errors:
            raise RuntimeError(f"{name}: libSBML reports {errors[0].message}")
        path = folder / name
        text = sbml_string(model, None, group)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
