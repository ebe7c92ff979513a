"""Chapter 10: targeting the TME. A treatment layer on the models of chapters 4, 7 and 8.

This module holds no tumour model of its own. It adds drug dosing and says which parameter
of an existing model each agent changes, then calls that model:

(a) Anti-angiogenic drugs in the Hahnfeldt model (tmebook.growth, chapter 7).
    A bolus of D (mg/kg) at each dose time t_i, cleared at first order (rate clr, 1/day):

        g(t) = sum_i D exp(-clr (t - t_i)) H(t - t_i)                    (mg/kg)

    and the drug removes vascular support in proportion to its concentration
    (Hahnfeldt et al. 1999, the treated groups):

        dK/dt = -lambda2 K + b V - d K V^(2/3) - e g(t) K

    e in kg/(mg day). In the log variables of chapter 7 the drug term is an extra,
    time-dependent loss rate of ln K, so the treated model is chapter 7's right-hand side
    with capacity_loss -> lambda2 + sum_j e_j g_j(t). Averaged over one dosing interval tau
    at periodic steady state, g has the mean D / (clr tau); with it the treated steady state
    is V* = ((b - lambda2 - e D/(clr tau)) / d)^(3/2), and the tumour is eradicated when
    the dose rate D/tau exceeds (b - lambda2) clr / e.

(b) Vascular normalisation in the Baxter-Jain IFP model (tmebook.pressure, chapter 7). An
    agent that lowers the hydraulic permeability of the vessel walls by a factor f_L and the
    vessel surface per volume by f_S changes alpha = R sqrt(L_p S/V / K_t) to
    alpha sqrt(f_L f_S); the mean and centre IFP, the outflow at the surface and the core
    delivery index (filtration at the centre, our stated proxy for the delivery of a drug
    carried by the filtered fluid) are closed forms of the pressure model, in its module.
    Normalisation window (our model): the drug lowers L_p by f_L(t) = 1 - f_max g/(g + g50);
    vessel surface per volume follows the vascular support per tumour volume of the
    Hahnfeldt model, f_S(t) = (K/V)(t) / (K/V)(0); the radius follows R ~ V^(1/3).

(c) Checkpoint blockade in the effector-tumour model (tmebook.immune, chapter 4): blockade
    B in [0, 1] removes that fraction of the immunosuppression S, S -> S (1 - B).

(d) An MMP inhibitor in the invasion model (tmebook.ecm, chapter 8): mmp_inhibition.

Units: t in days, V and K in mm^3, g in mg/kg, e in kg/(mg day), clr in 1/day; chapters 4
and 8 are dimensionless.
"""

from __future__ import annotations

from collections import abc
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.integrate import odeint, solve_ivp
from scipy.optimize import root

from . import ecm, growth, immune, pressure
from .parameters import (
    ATOL,
    FRACTION,
    REAL,
    RTOL,
    Array,
    Instance,
    Optional,
    Parameter,
    ParameterSet,
    Relation,
    Reproduction,
    Sequence,
    broadcastable,
    checked,
    count,
    interval,
    nonnegative,
    one_of,
    positive,
    read_only,
)

__all__ = [
    # published numbers
    "HAHNFELDT_DRUGS", "HAHNFELDT_PREDICTIONS", "HAHNFELDT_SCHEDULES", "HAHNFELDT_DATA",
    # parameters, bounds and tolerances
    "PARAMETERS", "FOLLOW_UP_DAYS", "SOLVER_RTOL", "SOLVER_ATOL", "MAX_DAYS", "MAX_DOSES",
    "MAX_POINTS", "MAX_TUMOURS", "MAX_DRUGS",
    # (a) dosing and the treated Hahnfeldt model
    "Regimen", "dose_times", "regimen", "published_regimens", "total_inhibition", "treated_rhs",
    "TreatedCourse", "simulate_treatment", "simulate_group", "mean_concentration",
    "periodic_trough_peak", "eradication_dose_rate", "averaged_steady_state", "data_error",
    # (b) vascular normalisation
    "normalisation_effect", "NormalisationCourse", "normalisation_course", "delivery_window",
    # (c) checkpoint blockade
    "blockaded_model", "critical_suppression", "blockade_needed", "BlockadeOutcome",
    "blockade_outcome", "debulking_thresholds",
    # (d) MMP inhibitor
    "mmp_inhibitor_effect",
    # the panel and the widget
    "WIDGET_AGENTS", "WIDGET_POINTS", "WIDGET_RTOL", "WIDGET_ATOL", "TreatmentPanel",
    "treatment_panel", "MAX_SWEEP_DOSES", "dose_sweep", "live_treatment_panel", "WIDGET_MODEL",
    "WIDGET_CONTROLS",
    # the paper's predictions (collected by chapter 11's table)
    "PREDICTION_DAY", "PREDICTION_START_MM3", "CONTINUOUS_INTERVAL", "SET_POINT_DOSE_ANGIOSTATIN",
    "PREDICTION_STARTS", "prediction_day_volumes",
    "CHAPTER", "MODEL_NAME", "REPRODUCTIONS",
]

# --- published numbers this chapter reproduces ------------------------------------------------

#: Hahnfeldt et al. 1999, Table 1: fits of the treated groups (Lewis lung carcinoma in mice),
#: drug potency e (kg/(mg day)) and clearance rate clr (1/day), read in the paper's text.
HAHNFELDT_DRUGS = {
    "TNP-470": {"efficacy": 1.3, "clearance": 10.1},
    "angiostatin": {"efficacy": 0.15, "clearance": 0.38},
    "endostatin": {"efficacy": 0.66, "clearance": 1.7},
}

#: Predictions in the paper's text (mm^3), made with its fit: V on day 13 under TNP-470 at the
#: group's 30 mg/kg every other day, and with the same dose rate given continuously; the set
#: point TNP-470 on that schedule holds the tumour at if kept up; and the size angiostatin at
#: 14 mg/kg daily lets it settle at (20 mg/kg/day, the group's dose, controls the tumour).
HAHNFELDT_PREDICTIONS = {
    "TNP-470 every other day, day 13": 1840.0,
    "TNP-470 continuously, day 13": 1300.0,
    "TNP-470 set point": 12300.0,
    "angiostatin 14 mg/kg/day, settled": 240.0,
}

#: Doses and schedules of the treated groups (day 0 = first dose), and the starting
#: volumes, as used by the canceR demo to refit the paper (V0 = 180 mm^3; 300 mm^3 for the
#: low-dose endostatin and the combination groups; K0 throughout chapter 7's initial_capacity).
HAHNFELDT_SCHEDULES = {
    "TNP-470": {"doses": {"TNP-470": 30.0}, "interval": 2.0, "n_doses": 7, "initial_volume": 180.0},
    "angiostatin": {"doses": {"angiostatin": 20.0}, "interval": 1.0, "n_doses": 14, "initial_volume": 180.0},
    "endostatin": {"doses": {"endostatin": 20.0}, "interval": 1.0, "n_doses": 10, "initial_volume": 180.0},
    "endostatin, low dose": {"doses": {"endostatin": 4.0}, "interval": 1.0, "n_doses": 16, "initial_volume": 300.0},
    "angiostatin + endostatin": {"doses": {"angiostatin": 20.0, "endostatin": 20.0}, "interval": 1.0,
                                 "n_doses": 25, "initial_volume": 300.0},
}

#: Tumour volumes (mm^3) against days of the control and treated groups of Hahnfeldt et al.
#: 1999, as tabulated in the canceR demo (digitised from the paper's figures by that
#: package's author; not checked against the figures here).
HAHNFELDT_DATA = {
    "control": ((0, 4, 7, 10, 13, 16, 19), (192, 728, 2319, 3590, 5852, 8591, 10438)),
    "TNP-470": ((0, 4, 7, 10, 13), (170, 381, 875, 1363, 1750)),
    "angiostatin": ((0, 4, 7, 10, 13), (176, 246, 265, 136, 207)),
    "endostatin": ((0, 4, 7, 10), (186, 157, 135, 76)),
    "endostatin, low dose": ((0, 4, 7, 10, 13, 16), (291, 429, 859, 2420, 3120, 4100)),
    "angiostatin + endostatin": ((0, 4, 7, 10, 13, 16, 19, 22, 25), (309, 180, 88, 79, 29, 6, 0, 0, 0)),
}

# --- bounds of the inputs, each with its reason -------------------------------------------------

#: Longest course (days): the published groups end by day 25; a thousand days of daily doses
#: take a few seconds (each dose restarts the solver).
MAX_DAYS = 1000.0
#: Most distinct dose times in one run: each restarts the solver (a few ms each).
MAX_DOSES = 2500
#: Most output times of a course: the drug levels are computed as one (times x doses) table.
MAX_POINTS = 2001
#: Most tumours integrated together, and most drugs given to one tumour.
MAX_TUMOURS = 100
MAX_DRUGS = 10
#: Most numbers that the arguments of one call may broadcast to (arrays of doses, factors).
_MAX_BROADCAST = 1_000_000

DOSE = nonnegative(at_most=1000.0, why="mg/kg: 50 times the published 20 mg/kg; larger boluses "
                   "only shrink the solver's steps")
DOSE_INTERVAL = interval(1.0 / 24.0, MAX_DAYS, why="days: from hourly doses (each dose restarts "
                         "the solver) to one dose in the longest course")
DAY = nonnegative(at_most=MAX_DAYS, why="days: within the longest course")
SPAN = positive(at_most=MAX_DAYS, why="days: the longest course")
#: A time at which a dose is given: any day from 0 on (doses after a run's end do nothing).
DOSE_TIME = nonnegative()
EFFICACY = nonnegative(at_most=1e3, why="kg/(mg day): the published potencies are 0.15 to 1.3; "
                       "a thousand times more only shrinks the solver's steps")
POTENCY = interval(1e-6, 1e3, why="kg/(mg day): as for any efficacy, and at least 1e-6, so that "
                   "the eradication dose rate stays finite")
CLEARANCE = interval(1e-3, 1e3, why="1/day: half-lives from a minute to two years (the "
                     "published rates are 0.38 to 10.1)")
VOLUME = interval(1e-9, 1e9, why="mm^3: from a thousandth of a cell to a cubic metre")
LOG_SIZE = interval(-300.0, 300.0, why="ln of a volume in mm^3: exp of the difference of two "
                    "stays finite")
LOG10_TUMOUR = interval(0.0, 9.0, why="log10 cells: from one cell to twice the carrying "
                        "capacity 1/b of chapter 4's model")
N_DOSES = count(0, MAX_DOSES, why="each dose restarts the solver")
N_POINTS = count(2, MAX_POINTS, why="output times of one course")
METHOD = one_of("LSODA", "BDF", "Radau", "RK45", "DOP853", "RK23")
AGENT = one_of(*HAHNFELDT_DRUGS)
GROUP = one_of(*HAHNFELDT_SCHEDULES)
DATA_GROUP = one_of(*HAHNFELDT_DATA)
#: Times (days) at which drug levels are read: any real day (before the first dose g = 0).
TIMES = Array(REAL, scalar_ok=True, at_most=MAX_POINTS, why="one row per time in the table of levels")


PARAMETERS = ParameterSet([
    Parameter("efficacy_tnp470", r"e_\mathrm{TNP}", HAHNFELDT_DRUGS["TNP-470"]["efficacy"],
              "kg/(mg day)", "anti-angiogenic potency of TNP-470", "hahnfeldt1999",
              "Table 1: fit to the TNP-470 group", domain=EFFICACY),
    Parameter("clearance_tnp470", r"\mathrm{clr}_\mathrm{TNP}", HAHNFELDT_DRUGS["TNP-470"]["clearance"],
              "1/day", "clearance rate of TNP-470", "hahnfeldt1999",
              "Table 1: fit to the TNP-470 group", domain=CLEARANCE),
    Parameter("efficacy_angiostatin", r"e_\mathrm{A}", HAHNFELDT_DRUGS["angiostatin"]["efficacy"],
              "kg/(mg day)", "anti-angiogenic potency of angiostatin", "hahnfeldt1999",
              "Table 1: fit to the angiostatin group", domain=EFFICACY),
    Parameter("clearance_angiostatin", r"\mathrm{clr}_\mathrm{A}", HAHNFELDT_DRUGS["angiostatin"]["clearance"],
              "1/day", "clearance rate of angiostatin", "hahnfeldt1999",
              "Table 1: fit to the angiostatin group", domain=CLEARANCE),
    Parameter("efficacy_endostatin", r"e_\mathrm{E}", HAHNFELDT_DRUGS["endostatin"]["efficacy"],
              "kg/(mg day)", "anti-angiogenic potency of endostatin", "hahnfeldt1999",
              "Table 1: fit to the endostatin group", domain=EFFICACY),
    Parameter("clearance_endostatin", r"\mathrm{clr}_\mathrm{E}", HAHNFELDT_DRUGS["endostatin"]["clearance"],
              "1/day", "clearance rate of endostatin", "hahnfeldt1999",
              "Table 1: fit to the endostatin group", domain=CLEARANCE),
    Parameter("dose", r"D", 20.0, "mg/kg", "dose of each bolus (widget: every agent)",
              "hahnfeldt1999", "20 mg/kg: the angiostatin and endostatin groups", low=0.0, high=60.0,
              domain=DOSE),
    Parameter("dose_interval", r"\tau", 1.0, "day", "time between doses",
              "hahnfeldt1999", "daily, as in the angiostatin and endostatin groups",
              low=0.5, high=4.0, domain=DOSE_INTERVAL),
    Parameter("start_day", r"t_0", 0.0, "day", "day of the first dose", None,
              "day 0 is the start of the published treated groups; later starts are ours",
              low=0.0, high=10.0, domain=DAY),
    Parameter("permeability_reduction", r"f_{\max}", 0.9, "1",
              "largest fractional fall of vessel-wall permeability L_p under the drug", None,
              "a tenfold fall, of the order of the change from tumour to normal "
              "vessels; the slider shows what it changes", low=0.0, high=0.99,
              domain=interval(0.0, 1.0, open_high=True,
                              why="a fraction of L_p; below 1, or the vessel walls would close")),
    Parameter("half_effect_dose", r"g_{50}", 5.0, "mg/kg",
              "drug concentration of half the permeability effect", None,
              "a quarter of a 20 mg/kg bolus",
              domain=positive(at_most=1000.0, why="mg/kg: the largest bolus")),
    Parameter("blockade", r"B", 0.0, "1",
              "fraction of the immunosuppression removed by checkpoint blockade", None,
              "our parametrisation of restored killing and recruitment (chapter 4's S)",
              domain=FRACTION),
])


# Arguments that are parameters of chapters 4 and 7 take those models' records as specs.
GROWTH_RATE = growth.PARAMETERS["growth_rate"]
STIMULATION = growth.PARAMETERS["stimulation"]
INHIBITION = growth.PARAMETERS["inhibition"]
CAPACITY_LOSS = growth.PARAMETERS["capacity_loss"]
SUPPRESSION = immune.PARAMETERS["suppression"]

#: Solver tolerances on ln V and ln K (relative tolerances on V and K).
SOLVER_RTOL, SOLVER_ATOL = 1e-8, 1e-10
#: The published groups end at these days (the last data point).
FOLLOW_UP_DAYS = 20.0


def _broadcastable(*arrays) -> bool:
    """True if the arrays broadcast together to at most _MAX_BROADCAST numbers."""
    return broadcastable(*arrays, at_most=_MAX_BROADCAST)


# --- (a) dosing and the treated Hahnfeldt model -------------------------------------------------


@dataclass(frozen=True, init=False)
class Regimen:
    """One drug: potency e (kg/(mg day)), clearance clr (1/day), bolus D (mg/kg) at dose_times."""

    efficacy: float
    clearance: float
    dose: float
    dose_times: tuple

    @checked(None, Relation("dose_times", lambda dose_times: all(np.diff(dose_times) >= 0),
                            "must be non-decreasing"),
             efficacy=EFFICACY, clearance=CLEARANCE, dose=DOSE,
             dose_times=Sequence(DOSE_TIME, at_least=0, at_most=MAX_DOSES))
    def __init__(self, efficacy: float, clearance: float, dose: float, dose_times: tuple) -> None:
        for name, value in (("efficacy", efficacy), ("clearance", clearance), ("dose", dose),
                            ("dose_times", dose_times)):
            object.__setattr__(self, name, value)

    @checked(t=TIMES)
    def concentration(self, t: float | np.ndarray) -> float | np.ndarray:
        """g(t) (mg/kg): the sum of the cleared boluses given up to t (vectorised over t)."""
        lag = t[..., None] - np.asarray(self.dose_times, dtype=float)
        given = lag >= 0
        g = np.where(
            given,
            self.dose * np.exp(-self.clearance * np.where(given, lag, 0.0)),
            0.0,
        ).sum(axis=-1)
        return g if g.ndim else float(g)

    @checked(t=TIMES)
    def inhibition(self, t: float | np.ndarray) -> float | np.ndarray:
        """e g(t) (1/day): the extra loss rate of ln K."""
        return self.efficacy * self.concentration(t)


def _example_regimen() -> Regimen:
    return Regimen(0.66, 1.7, 20.0, (0.0, 1.0))


def _per_tumour(regimens) -> bool:
    """True for one list of Regimens per tumour, False for one list given to every tumour."""
    return any(isinstance(group, (list, tuple)) for group in regimens)


_TOGETHER = Sequence(Instance(Regimen, _example_regimen), at_least=0, at_most=MAX_DRUGS)
_PER_TUMOUR = Sequence(_TOGETHER, at_most=MAX_TUMOURS)


class _Regimens:
    """The spec of a `regimens` argument: Regimens given together (a list, empty for none), or
    one such list per tumour (a list of lists). Returned as a tuple (of tuples)."""

    def check(self, name, value):
        per_tumour = isinstance(value, (list, tuple)) and _per_tumour(value)
        return (_PER_TUMOUR if per_tumour else _TOGETHER).check(name, value)

    def example(self):
        return _TOGETHER.example()

    def bad_values(self) -> list:
        return _TOGETHER.bad_values() + [[["abc"]], [[]] * (MAX_TUMOURS + 1)]


REGIMENS = _Regimens()


def _dose_count(regimens) -> int:
    """Number of distinct dose times of all the regimens."""
    groups = regimens if _per_tumour(regimens) else (regimens,)
    return len({s for group in groups for r in group for s in r.dose_times})


FEW_DOSES = Relation("regimens", lambda regimens: _dose_count(regimens) <= MAX_DOSES,
                     f"must hold at most {MAX_DOSES} distinct dose times (each restarts the solver)")


def _doses_until(t_end: float, start_day: float, dose_interval: float) -> int:
    """Number of doses at start_day, start_day + tau, ... up to t_end (0 if t_end < start_day)."""
    return max(0, int(np.floor((t_end - start_day) / dose_interval + 1e-9)) + 1) if t_end >= start_day else 0


@checked(PARAMETERS, n_doses=N_DOSES)
def dose_times(start_day: float | None = None, dose_interval: float | None = None,
               n_doses: int = 1) -> tuple:
    """t0, t0 + tau, ..., t0 + (n - 1) tau (days)."""
    return tuple(start_day + dose_interval * np.arange(n_doses))


@checked(PARAMETERS,
         Relation("dose_interval", lambda dose_interval, start_day, n_doses, t_end: n_doses is not None
                  or _doses_until(t_end, start_day, dose_interval) <= MAX_DOSES,
                  f"must give at most {MAX_DOSES} doses from start_day to t_end"),
         agent=AGENT, n_doses=Optional(N_DOSES), t_end=DAY)
def regimen(agent: str, dose: float | None = None, dose_interval: float | None = None,
            start_day: float | None = None, *, n_doses: int | None = None,
            t_end: float = FOLLOW_UP_DAYS) -> Regimen:
    """A Regimen of one of the published agents; by default (n_doses None) dosed until t_end."""
    if n_doses is None:
        n_doses = _doses_until(t_end, start_day, dose_interval)
    drug = HAHNFELDT_DRUGS[agent]
    return Regimen(drug["efficacy"], drug["clearance"], dose, dose_times(start_day, dose_interval, n_doses))


@checked(PARAMETERS, group=GROUP)
def published_regimens(group: str) -> list[Regimen]:
    """The Regimens of one of the published treated groups (HAHNFELDT_SCHEDULES)."""
    plan = HAHNFELDT_SCHEDULES[group]
    return [regimen(agent, dose, plan["interval"], 0.0, n_doses=plan["n_doses"])
            for agent, dose in plan["doses"].items()]


@checked(PARAMETERS, t=TIMES, regimens=REGIMENS)
def total_inhibition(t: float | np.ndarray,
                     regimens: abc.Sequence[Regimen] | abc.Sequence[abc.Sequence[Regimen]]
                     ) -> float | np.ndarray:
    """sum_j e_j g_j(t) (1/day). `regimens`: Regimens given together, or a list of such
    lists, one per tumour (then an array with one rate per tumour)."""
    if _per_tumour(regimens):
        return np.array([total_inhibition(t, group) for group in regimens])
    # zero of the shape of t when no drug is given
    return sum((r.inhibition(t) for r in regimens), 0.0 * t)


def _state_fits(y, regimens) -> bool:
    if y.shape[0] != 2 or y.ndim > 2:
        return False
    return not _per_tumour(regimens) or (y.ndim == 2 and y.shape[1] == len(regimens))


@checked(PARAMETERS,
         Relation("y", _state_fits, "must be (ln V, ln K): shape (2,), or (2, n) with one "
                  "column per tumour when regimens holds one list per tumour"),
         t=REAL, y=Array(LOG_SIZE, at_most=2 * MAX_TUMOURS, make_example=lambda: np.array([5.2, 6.4])),
         regimens=REGIMENS,
         growth_rate=GROWTH_RATE, stimulation=STIMULATION, inhibition=INHIBITION,
         capacity_loss=CAPACITY_LOSS)
def treated_rhs(
    t: float,
    y: np.ndarray,
    regimens: abc.Sequence[Regimen] | abc.Sequence[abc.Sequence[Regimen]],
    growth_rate: float | None,
    stimulation: float | None,
    inhibition: float | None,
    capacity_loss: float | None = 0.0,
) -> np.ndarray:
    """Chapter 7's Hahnfeldt right-hand side with the drugs as extra loss of ln K.

    A thin wrapper: the drug term -e g(t) K is d lnK/dt = ... - e g(t), i.e. chapter 7's
    constant capacity_loss lambda2 made time dependent, so the model itself is not
    re-derived here. t may be any real day; y may be (2,) or (2, n) for n tumours;
    `regimens` as in total_inhibition (one list per tumour, or one list for all).
    """
    extra = total_inhibition(t, regimens)
    return growth.hahnfeldt_rhs(
        t, y, growth_rate, stimulation, inhibition, capacity_loss + extra
    )


#: Dose-free segments shorter than this (days) are not integrated: nothing happens in them,
#: and LSODA does not return from a span of 1e-200 days next to day 0.
SHORTEST_SEGMENT = 1e-12


@dataclass(frozen=True)
class TreatedCourse:
    """V(t), K(t) (mm^3) and each drug's g(t) (mg/kg) at days t; V and K may be (n, T)."""

    t: np.ndarray
    volume: np.ndarray
    capacity: np.ndarray
    drug: np.ndarray  # (n_regimens, T) g in mg/kg; per-tumour regimens: (n, T) e g in 1/day


def _tumour_count(initial_volume, initial_capacity) -> int | None:
    """Number of tumours the starting values describe; None if they do not broadcast."""
    try:
        return int(np.prod(np.broadcast_shapes(np.shape(initial_volume), np.shape(initial_capacity))))
    except ValueError:
        return None


def _one_list_per_tumour(regimens, initial_volume, initial_capacity) -> bool:
    return not _per_tumour(regimens) or len(regimens) == _tumour_count(initial_volume, initial_capacity)


_STARTING_VOLUMES = Optional(Array(VOLUME, scalar_ok=True, at_most=MAX_TUMOURS))


@checked(PARAMETERS, FEW_DOSES,
         Relation("initial_capacity", lambda initial_volume, initial_capacity:
                  (_tumour_count(initial_volume, initial_capacity) or MAX_TUMOURS + 1) <= MAX_TUMOURS,
                  f"must broadcast with initial_volume, to at most {MAX_TUMOURS} tumours"),
         Relation("regimens", _one_list_per_tumour,
                  "must hold one list per tumour (initial_volume) when given per tumour"),
         regimens=REGIMENS, t_end=SPAN, initial_volume=_STARTING_VOLUMES,
         initial_capacity=_STARTING_VOLUMES, growth_rate=GROWTH_RATE, stimulation=STIMULATION,
         inhibition=INHIBITION, capacity_loss=CAPACITY_LOSS, n_points=N_POINTS, rtol=RTOL,
         atol=ATOL, method=METHOD)
def simulate_treatment(regimens: abc.Sequence[Regimen] | abc.Sequence[abc.Sequence[Regimen]] = (),
                       t_end: float = FOLLOW_UP_DAYS, *, initial_volume: float | np.ndarray | None = None,
                       initial_capacity: float | np.ndarray | None = None,
                       growth_rate: float | None = None, stimulation: float | None = None,
                       inhibition: float | None = None, capacity_loss: float | None = None,
                       n_points: int = 201, rtol: float = SOLVER_RTOL, atol: float = SOLVER_ATOL,
                       method: str = "LSODA") -> TreatedCourse:
    """Integrate the treated Hahnfeldt model over [0, t_end] days.

    The drug concentration jumps at every dose, so the integration restarts at each dose
    time (solve_ivp, LSODA, on ln V and ln K). `initial_volume` may be an array: several
    tumours treated alike are integrated together. None: chapter 7's V0 and K0 (the records
    initial_volume and initial_capacity of tmebook.growth).
    """
    v0 = growth.PARAMETERS["initial_volume"].value if initial_volume is None else initial_volume
    k0 = growth.PARAMETERS["initial_capacity"].value if initial_capacity is None else initial_capacity
    return _treated_course(regimens, t_end, v0, k0, (growth_rate, stimulation, inhibition, capacity_loss),
                           n_points, _solve_ivp_segment(method, rtol, atol))


def _solve_ivp_segment(method, rtol, atol):
    """A segment solver: solve_ivp from (lo, y) with output at `times` (the last is hi)."""
    def solve(rhs, lo, hi, y, times):
        sol = solve_ivp(rhs, (lo, hi), y, method=method, t_eval=times, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"integration failed: {sol.message}")
        return sol.y
    return solve


def _odeint_segment(rtol, atol):
    """The same with odeint: LSODA without solve_ivp's Python work per step (the live panel)."""
    def solve(rhs, lo, hi, y, times):
        z, info = odeint(rhs, y, np.concatenate(([lo], times)), rtol=rtol, atol=atol, tfirst=True,
                         mxstep=100_000, full_output=True)
        if info["message"] != "Integration successful.":
            raise RuntimeError(f"integration failed: {info['message']}")
        return z[1:].T
    return solve


def _treated_course(regimens, t_end, v0, k0, rates, n_points, solve) -> TreatedCourse:
    """simulate_treatment's integration, with `solve` the solver of one dose-free segment."""
    lam1, b, d, lam2 = rates
    per_tumour = _per_tumour(regimens)
    groups = regimens if per_tumour else (regimens,)
    v0, k0 = np.broadcast_arrays(np.asarray(v0, dtype=float), np.asarray(k0, dtype=float))
    shape = v0.shape
    t = np.linspace(0.0, t_end, int(n_points))
    breaks = sorted({float(s) for group in groups for r in group for s in r.dose_times if 0.0 < s < t_end})
    edges = [0.0, *breaks, t_end]
    y = np.stack([np.log(v0).ravel(), np.log(k0).ravel()])
    out = np.empty((2, y.shape[1], t.size))
    n = y.shape[1]

    # Between two dose times each drug decays as g(lo) exp(-clr (t - lo)); precomputing the
    # levels at the segment's start makes the right-hand side a few vector operations.
    pairs = [(i, r) for i, group in enumerate(groups) for r in group]
    owner = np.zeros((n, len(pairs)))
    for j, (i, _) in enumerate(pairs):
        if per_tumour:
            owner[i, j] = 1.0
        else:
            owner[:, j] = 1.0
    efficacy = np.array([r.efficacy for _, r in pairs])
    clearance = np.array([r.clearance for _, r in pairs])

    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (t >= lo) & ((t < hi) | (hi == t_end))
        if hi - lo < SHORTEST_SEGMENT:
            out[:, :, inside] = y[:, :, None]
            continue
        start_rate = efficacy * np.array([r.concentration(lo) for _, r in pairs])

        def rhs(time, z, start_rate=start_rate, lo=lo):
            extra = owner @ (start_rate * np.exp(-clearance * (time - lo)))
            return growth.hahnfeldt_rhs(time, z.reshape(2, n), lam1, b, d, lam2 + extra).ravel()

        # outputs in the segment, and its end, where the next dose restarts the solve
        times = np.union1d(t[inside], [hi])
        z = solve(rhs, lo, hi, y.ravel(), times)
        keep = np.isin(times, t[inside])
        out[:, :, inside] = z[:, keep].reshape(2, n, -1)
        y = z[:, -1].reshape(2, n)
    volume = np.exp(out[0]).reshape(*shape, t.size)
    capacity = np.exp(out[1]).reshape(*shape, t.size)
    if per_tumour:
        # per tumour: the total inhibition e g(t) of its drugs (1/day)
        drug = total_inhibition(t, regimens).reshape(n, t.size)
    else:
        drug = np.array([r.concentration(t) for r in regimens]).reshape(len(regimens), t.size)
    return TreatedCourse(t, volume, capacity, drug)


@checked(PARAMETERS, group=DATA_GROUP, t_end=Optional(SPAN), n_points=N_POINTS, rtol=RTOL,
         atol=ATOL, method=METHOD)
def simulate_group(group: str, *, t_end: float | None = None, n_points: int = 201,
                   rtol: float = SOLVER_RTOL, atol: float = SOLVER_ATOL,
                   method: str = "LSODA") -> TreatedCourse:
    """One published group ('control' or a key of HAHNFELDT_SCHEDULES) from its starting
    volume; by default (t_end None) up to its last data day."""
    if group == "control":
        regs, v0 = (), growth.PARAMETERS["initial_volume"].value
    else:
        regs = published_regimens(group)
        v0 = HAHNFELDT_SCHEDULES[group]["initial_volume"]
    days = HAHNFELDT_DATA[group][0]
    t_end = max(days[-1], 1.0) if t_end is None else t_end
    return simulate_treatment(regs, t_end, initial_volume=v0, n_points=n_points, rtol=rtol,
                              atol=atol, method=method)


@checked(PARAMETERS,
         Relation("clearance", lambda dose, dose_interval, clearance:
                  _broadcastable(dose, dose_interval, clearance),
                  f"must broadcast with dose and dose_interval, to at most {_MAX_BROADCAST} numbers"),
         dose=Array(DOSE, scalar_ok=True), dose_interval=Array(DOSE_INTERVAL, scalar_ok=True),
         clearance=Array(CLEARANCE, scalar_ok=True))
def mean_concentration(dose: float | np.ndarray, dose_interval: float | np.ndarray,
                       clearance: float | np.ndarray) -> float | np.ndarray:
    """Time-average of g over one interval at periodic steady state: D / (clr tau) (mg/kg)."""
    out = dose / (clearance * dose_interval)
    return out if out.ndim else float(out)


@checked(PARAMETERS, clearance=CLEARANCE)
def periodic_trough_peak(dose: float | None, dose_interval: float | None,
                         clearance: float) -> tuple[float, float]:
    """(trough, peak) of g at periodic steady state: D q/(1 - q) and D/(1 - q), q = e^(-clr tau)."""
    q = np.exp(-clearance * dose_interval)
    return dose * q / (1.0 - q), dose / (1.0 - q)


@checked(PARAMETERS, efficacy=POTENCY, clearance=CLEARANCE, stimulation=STIMULATION,
         capacity_loss=CAPACITY_LOSS)
def eradication_dose_rate(efficacy: float, clearance: float, stimulation: float | None = None,
                          capacity_loss: float | None = None) -> float:
    """Dose rate D/tau (mg/kg/day) above which the averaged model has no tumour steady state:
    e D/(clr tau) >= b - lambda2. It is 0 when capacity_loss >= stimulation: then the
    untreated model has no tumour steady state either."""
    return max(stimulation - capacity_loss, 0.0) * clearance / efficacy


@checked(PARAMETERS,
         Relation("dose_interval", lambda efficacy, clearance, dose, dose_interval:
                  _broadcastable(efficacy, clearance, dose, dose_interval),
                  "must broadcast with efficacy, clearance and dose (one entry per drug)"),
         efficacy=Array(EFFICACY, scalar_ok=True, at_most=MAX_DRUGS),
         clearance=Array(CLEARANCE, scalar_ok=True, at_most=MAX_DRUGS),
         dose=Array(DOSE, scalar_ok=True, at_most=MAX_DRUGS),
         dose_interval=Array(DOSE_INTERVAL, scalar_ok=True, at_most=MAX_DRUGS),
         stimulation=STIMULATION, inhibition=INHIBITION, capacity_loss=CAPACITY_LOSS)
def averaged_steady_state(efficacy: float | np.ndarray, clearance: float | np.ndarray,
                          dose: float | np.ndarray, dose_interval: float | np.ndarray,
                          stimulation: float | None = None, inhibition: float | None = None,
                          capacity_loss: float | None = None) -> float:
    """V* = K* (mm^3) of the model with each drug at its mean level: chapter 7's steady state
    with lambda2 raised by sum e D/(clr tau). One drug, or arrays with one entry per drug
    given together. 0 when there is no tumour steady state."""
    extra = float(np.sum(efficacy * mean_concentration(dose, dose_interval, clearance)))
    # from lambda2 = b on the steady state is 0: the cap keeps lambda2 in chapter 7's domain
    return growth.hahnfeldt_steady_state(stimulation, inhibition,
                                         min(capacity_loss + extra, stimulation))


def _example_course() -> TreatedCourse:
    return simulate_treatment([regimen("endostatin")], 5.0, n_points=11)


COURSE = Instance(TreatedCourse, _example_course)


@checked(PARAMETERS,
         Relation("course", lambda course: course is None or course.volume.ndim == 1,
                  "must hold one tumour (1-D volume)"),
         group=DATA_GROUP, course=Optional(COURSE))
def data_error(group: str,
               course: TreatedCourse | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Published volumes (mm^3) at the data days beside the model's, and the RMS difference of
    sqrt(V) (the weighting the canceR refit uses; it tolerates the zeros of cured tumours).
    `course`: the group's simulated course (None: simulate_group(group))."""
    days, volumes = (np.asarray(a, dtype=float) for a in HAHNFELDT_DATA[group])
    course = simulate_group(group) if course is None else course
    model = np.interp(days, course.t, course.volume)
    rms = float(np.sqrt(np.mean((np.sqrt(model) - np.sqrt(volumes)) ** 2)))
    return days, volumes, model, rms


# --- (b) vascular normalisation in the Baxter-Jain model (its closed forms: tmebook.pressure) --


def _normalised_alpha_in_domain(permeability_factor, surface_factor, radius_cm) -> bool:
    """The normalised alpha lies where the profile and the outflow accept alpha."""
    alpha = pressure.tissue_alpha.__wrapped__(radius_cm) * (permeability_factor * surface_factor) ** 0.5
    return pressure.PARAMETERS["ifp_alpha"].domain.contains(alpha)


@checked(PARAMETERS,
         Relation("permeability_factor", _normalised_alpha_in_domain,
                  "with surface_factor must leave the normalised alpha, "
                  "tissue_alpha(radius_cm) sqrt(f_L f_S), in "
                  f"[{pressure.PARAMETERS['ifp_alpha'].domain.low:g}, "
                  f"{pressure.PARAMETERS['ifp_alpha'].domain.high:g}], the domain of ifp_alpha"),
         permeability_factor=pressure.FACTOR, surface_factor=pressure.FACTOR,
         radius_cm=pressure.RADIUS_CM)
def normalisation_effect(
    permeability_factor: float,
    surface_factor: float = 1.0,
    radius_cm: float = 0.5,
) -> tuple[dict, dict]:
    """Centre and mean IFP (mmHg), surface fluid velocity (um/s) and core delivery index of a
    tumour of radius R before (first) and after (second) normalisation, as two dicts.
    """
    a0 = pressure.tissue_alpha(radius_cm)
    a1 = pressure.normalised_alpha(a0, permeability_factor, surface_factor)
    k_t = pressure.BAXTER_JAIN_TUMOUR["hydraulic_conductivity"]
    p_e = pressure.P_EFFECTIVE
    rows = []
    for a in (a0, a1):
        rows.append(
            {
                "alpha": a,
                "centre_ifp": p_e * pressure.ifp_profile(0.0, a),
                "mean_ifp": p_e * pressure.mean_ifp_fraction(a),
                "surface_velocity_um_s": 1e4
                * pressure.surface_velocity(a, p_e, k_t, radius_cm),
                "core_delivery": pressure.core_delivery_index(a),
            }
        )
    return rows[0], rows[1]


@dataclass(frozen=True)
class NormalisationCourse:
    t: np.ndarray
    alpha: np.ndarray
    centre_ifp: np.ndarray      # mmHg
    delivery: np.ndarray        # core delivery index, 0..1
    permeability_factor: np.ndarray
    surface_factor: np.ndarray


@checked(PARAMETERS,
         Relation("course", lambda course: course.volume.ndim == 1, "must hold one tumour (1-D volume)"),
         Relation("regimen_index", lambda course, regimen_index:
                  regimen_index < max(course.drug.shape[0], 1),
                  "must index a drug of the course"),
         course=COURSE, regimen_index=count(0, MAX_TUMOURS, why="a row of the course's drug levels"))
def normalisation_course(
    course: TreatedCourse,
    regimen_index: int = 0,
    permeability_reduction: float | None = None,
    half_effect_dose: float | None = None,
) -> NormalisationCourse:
    """alpha(t), centre IFP and core delivery along a treated course (one tumour).

    Assumptions (ours): L_p falls with the drug level, f_L = 1 - f_max g/(g + g50) (f_max:
    permeability_reduction, g50: half_effect_dose, g: the drug of row regimen_index); vessel
    surface per volume follows the vascular support per volume, f_S = (K/V)/(K/V)(0); the
    radius follows the volume. alpha(0) is that of the Baxter-Jain tissue at the starting size.
    """
    g = (
        course.drug[regimen_index]
        if course.drug.shape[0]
        else np.zeros_like(course.t)
    )
    f_l = 1.0 - permeability_reduction * g / (g + half_effect_dose)
    support = course.capacity / course.volume
    f_s = support / support[0]
    radius = pressure.radius_from_volume(course.volume)
    alpha = pressure.normalised_alpha(
        pressure.tissue_alpha(radius[0]), f_l, f_s, radius / radius[0]
    )
    return NormalisationCourse(
        course.t,
        alpha,
        pressure.P_EFFECTIVE * pressure.centre_ifp_fraction(alpha),
        pressure.core_delivery_index(alpha),
        f_l,
        f_s,
    )


_DAYS = Array(REAL, shape=(None,), make_example=lambda: np.array([0.0, 1.0, 2.0]))


@checked(PARAMETERS,
         Relation("t", lambda t: bool(np.all(np.diff(t) > 0)), "must increase"),
         Relation("delivery", lambda t, delivery: delivery.shape == t.shape, "must have the shape of t"),
         t=_DAYS, delivery=_DAYS, threshold=REAL)
def delivery_window(t: np.ndarray, delivery: np.ndarray,
                    threshold: float = 0.5) -> tuple[float, float] | None:
    """(first, last) day on which `delivery` (say, the core delivery index) is at least
    `threshold` (any real: the function reads any signal); None if never."""
    above = np.flatnonzero(delivery >= threshold)
    if above.size == 0:
        return None
    return float(t[above[0]]), float(t[above[-1]])


# --- (c) checkpoint blockade in the tumour-immune model -------------------------------------------


@checked(PARAMETERS, suppression=SUPPRESSION)
def blockaded_model(
    suppression: float | None, blockade: float | None = None
) -> "immune.Model":
    """Chapter 4's model with the suppression S reduced by blockade B: S (1 - B)."""
    return immune.Model(suppression=suppression * (1.0 - blockade))


@checked(PARAMETERS)
@lru_cache(maxsize=1)
def critical_suppression() -> float:
    """S at which the dormant state and the saddle meet and vanish (chapter 4's saddle-node)."""
    return immune.saddle_node("suppression", 0.3, 0.5)


@checked(PARAMETERS, suppression=SUPPRESSION)
def blockade_needed(suppression: float | None) -> float:
    """Smallest blockade that brings the dormant state back: 1 - S_c/S (0 if S <= S_c)."""
    return max(0.0, 1.0 - critical_suppression() / suppression) if suppression > 0 else 0.0


@dataclass(frozen=True)
class BlockadeOutcome:
    blockade: float
    effective_suppression: float
    states: list           # chapter 4's Equilibrium objects
    small_tumour: str      # fate of a small tumour (10**log10_tumour cells) in a naive host
    escaped_tumour: str    # fate of a tumour already at the escape state of the untreated model
    debulking_threshold: float  # tumour size (10^6 cells) below which an escaped tumour,
                                # once reduced with its exhausted effectors, returns to
                                # dormancy (0: no reduction suffices; no dormant state)


@checked(PARAMETERS, suppression=SUPPRESSION, log10_tumour=LOG10_TUMOUR)
def blockade_outcome(
    suppression: float | None,
    blockade: float | None,
    log10_tumour: float = 6.0,
) -> BlockadeOutcome:
    """Which states exist and which are reached, with blockade B against suppression S."""
    model = blockaded_model(suppression, blockade)
    states = immune.equilibria(model)
    naive = immune.final_state(
        model.sigma / model.delta,
        10.0**log10_tumour / immune.SCALE_CELLS,
        model,
    )
    escaped = immune.equilibria(immune.Model(suppression=suppression))[-1]
    after = immune.final_state(escaped.x, escaped.y, model)
    return BlockadeOutcome(
        float(blockade),
        model.suppression,
        states,
        _fate(naive),
        _fate(after),
        _debulking_threshold(model, states, escaped),
    )


def _debulking_threshold(model, states, escaped) -> float:
    """BlockadeOutcome.debulking_threshold: the tumour size (10^6 cells) at which the
    boundary of the dormant basin meets the escaped state's exhausted effector level."""
    if len(states) != 4:
        return 0.0
    thresholds = immune.escape_thresholds(escaped.x, model)
    # no crossing: the dormant basin does not reach the exhausted
    # effector level at all
    return float(thresholds[0]) if thresholds.size else 0.0


@checked(PARAMETERS, suppression=SUPPRESSION,
         blockades=Array(FRACTION, shape=(None,), at_most=200,
                         why="one basin boundary of chapter 4's model per level"))
def debulking_thresholds(suppression: float | None, blockades: np.ndarray) -> np.ndarray:
    """blockade_outcome(suppression, B).debulking_threshold for each B of `blockades` (10^6
    cells; 0 where no reduction suffices), without the fates of blockade_outcome: the escaped
    state is found once, and no course is run."""
    escaped = immune.equilibria(immune.Model(suppression=suppression))[-1]
    out = []
    for blockade in blockades:
        model = blockaded_model(suppression, float(blockade))
        out.append(_debulking_threshold(model, immune.equilibria(model), escaped))
    return np.array(out)


def _fate(state) -> str:
    if state.y < 1e-6:
        return "eliminated"
    return "escape" if state.y > 100.0 else "dormant"


# --- (d) an MMP inhibitor in the invasion model ----------------------------------------------------


@checked(PARAMETERS, levels=Array(FRACTION, shape=(None,), at_most=20,
                                  why="one run of chapter 8's invasion model per level"))
def mmp_inhibitor_effect(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(invasion depth, degradation front) at the end of chapter 8's 1-D run for each level."""
    depth, front = [], []
    for level in levels:
        run = ecm.reference_invasion(mmp_inhibition=float(level))
        depth.append(run.invasion_depth()[-1])
        front.append(run.degradation_front()[-1])
    return np.array(depth), np.array(front)


# --- the panel and the widget model ----------------------------------------------------------------

WIDGET_AGENTS = ("TNP-470", "angiostatin", "endostatin")
WIDGET_POINTS = 121
#: Looser tolerances for the panel: 1e-5 on ln V moves the curves by far less than a line
#: width (checked against SOLVER_RTOL in the tests).
WIDGET_RTOL, WIDGET_ATOL = 1e-5, 1e-7


@dataclass(frozen=True)
class TreatmentPanel:
    control: TreatedCourse
    courses: dict          # agent -> TreatedCourse
    windows: dict          # agent -> NormalisationCourse
    dose_rate: float       # mg/kg/day
    thresholds: dict       # agent -> eradication dose rate (mg/kg/day)


def _panel(control, regs, t, volumes, capacities, dose_rate, permeability_reduction) -> TreatmentPanel:
    """The panel of the three agents from their simulated volumes and capacities."""
    courses, windows, thresholds = {}, {}, {}
    for agent, reg, volume, capacity in zip(WIDGET_AGENTS, regs, volumes, capacities):
        courses[agent] = TreatedCourse(t, volume, capacity, reg.concentration(t)[None, :])
        windows[agent] = normalisation_course(courses[agent], 0, permeability_reduction)
        thresholds[agent] = eradication_dose_rate(reg.efficacy, reg.clearance)
    return TreatmentPanel(control, courses, windows, dose_rate, thresholds)


@checked(PARAMETERS)
def treatment_panel(dose: float | None = None, dose_interval: float | None = None,
                    start_day: float | None = None,
                    permeability_reduction: float | None = None) -> TreatmentPanel:
    """Each published agent at one dose and schedule, the untreated control, and the
    normalisation course of each, over FOLLOW_UP_DAYS: the chapter's numbers. The live panel
    shows the same model through live_treatment_panel; dose_sweep runs many doses at once."""
    return dose_sweep([dose], dose_interval, start_day, permeability_reduction)[0]


#: Most doses of one dose_sweep: the control and three agents per dose, in one solve.
MAX_SWEEP_DOSES = (MAX_TUMOURS - 1) // len(WIDGET_AGENTS)


@checked(PARAMETERS, doses=Array(DOSE, shape=(None,), at_most=MAX_SWEEP_DOSES,
                                 why="the control and three tumours per dose, integrated together"))
def dose_sweep(doses: abc.Sequence[float] | np.ndarray, dose_interval: float | None = None,
               start_day: float | None = None,
               permeability_reduction: float | None = None) -> list[TreatmentPanel]:
    """treatment_panel at each of `doses` (mg/kg), one panel per dose: the untreated control
    and the three agents at every dose (all given at the same times) in one stacked solve,
    so the control is integrated once and the solver restarts once per dose time."""
    regs = [[regimen(agent, dose, dose_interval, start_day) for agent in WIDGET_AGENTS]
            for dose in doses]
    per_dose = len(WIDGET_AGENTS)
    v0 = np.full(1 + per_dose * len(regs), growth.PARAMETERS["initial_volume"].value)
    run = simulate_treatment([[], *[[r] for group in regs for r in group]], FOLLOW_UP_DAYS,
                             initial_volume=v0, n_points=WIDGET_POINTS, rtol=WIDGET_RTOL,
                             atol=WIDGET_ATOL, method="LSODA")
    control = TreatedCourse(run.t, run.volume[0], run.capacity[0], np.zeros((0, run.t.size)))
    panels = []
    for i, (dose, group) in enumerate(zip(doses, regs)):
        rows = slice(1 + per_dose * i, 1 + per_dose * (i + 1))
        panels.append(_panel(control, group, run.t, run.volume[rows], run.capacity[rows],
                             float(dose) / dose_interval, permeability_reduction))
    return panels


def _default_rates() -> tuple:
    return tuple(growth.PARAMETERS[name].value
                 for name in ("growth_rate", "stimulation", "inhibition", "capacity_loss"))


def _starting_values() -> tuple[float, float]:
    return growth.PARAMETERS["initial_volume"].value, growth.PARAMETERS["initial_capacity"].value


@lru_cache(maxsize=1)
def _untreated_course() -> TreatedCourse:
    """The untreated control of the live panel (no slider changes it), computed once."""
    run = _treated_course((), FOLLOW_UP_DAYS, *_starting_values(), _default_rates(), WIDGET_POINTS,
                          _odeint_segment(WIDGET_RTOL, WIDGET_ATOL))
    return TreatedCourse(read_only(run.t), read_only(run.volume), read_only(run.capacity),
                         read_only(np.zeros((0, run.t.size))))


#: Multiple shooting (the live panel): Newton on the segment starts stops when none moves by
#: more than SHOOTING_TOL (ln units, far below the solver's tolerance), or gives up after
#: SHOOTING_ITERATIONS; SHOOTING_PROBE is the step of the finite differences that give the
#: segment maps' Jacobians, which are kept (not probed again) once the starts move by less
#: than SHOOTING_CHORD.
SHOOTING_TOL, SHOOTING_ITERATIONS, SHOOTING_PROBE, SHOOTING_CHORD = 1e-8, 12, 1e-5, 0.1


def _shooting_course(regs, t_end, v0, k0, rates, n_points, rtol, atol,
                     guess) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """_treated_course for one Regimen per tumour, solved by multiple shooting: (t, V, K), or
    None if Newton does not converge.

    Restarting LSODA at each of many doses costs most of the time: every restart begins with
    tiny low-order steps. Here every dose-free segment [lo, hi] is integrated on its own clock
    tau = (t - lo)/(hi - lo) in [0, 1], all segments and tumours at once in one odeint call,
    each from a guessed start and from two probes next to it (the segment map's Jacobian).
    Newton on the starts, a forward sweep through the segments, then makes each segment start
    where the previous one ends. `guess(t)`: (ln V, ln K) at times t, the first starts.
    """
    lam1, b, d, lam2 = rates
    n = len(regs)
    t = np.linspace(0.0, t_end, int(n_points))
    breaks = sorted({float(s) for r in regs for s in r.dose_times if 0.0 < s < t_end})
    edges = np.array([0.0, *breaks, t_end])
    lo, length = edges[:-1], np.diff(edges)
    start_rate = np.array([r.efficacy * r.concentration(lo) for r in regs]).T  # [segment, tumour]
    clearance = np.array([r.clearance for r in regs])
    segment = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, lo.size - 1)
    tau_out = (t - lo[segment]) / length[segment]
    taus = np.unique(np.concatenate(([0.0], tau_out, [1.0])))

    def solve(starts, probes):
        """The segment paths from each start and each probe: (taus, segment, tumour, probe, 2)."""
        p = len(probes)
        column_lo, column_length = (np.repeat(a, n * p) for a in (lo, length))
        column_rate = np.repeat(start_rate.ravel(), p)
        column_clearance = np.tile(np.repeat(clearance, p), lo.size)

        def rhs(tau, z):
            since = tau * column_length
            slope = growth.hahnfeldt_rhs(column_lo + since, z.reshape(-1, 2).T, lam1, b, d,
                                   lam2 + column_rate * np.exp(-column_clearance * since))
            return (slope * column_length).T.ravel()

        # each column's (ln V, ln K) side by side: a banded (2 x 2 blocks) Jacobian for LSODA
        z, info = odeint(rhs, (starts[:, :, None, :] + probes).ravel(), taus, rtol=rtol, atol=atol,
                         ml=1, mu=1, tfirst=True, mxstep=100_000, full_output=True)
        ok = info["message"] == "Integration successful." and np.all(np.isfinite(z))
        return z.reshape(taus.size, lo.size, n, p, 2) if ok else None

    starts = np.broadcast_to(guess(lo)[:, None, :], (lo.size, n, 2)).copy()
    starts[0] = np.log([v0, k0])
    probes = np.array([[0.0, 0.0], [SHOOTING_PROBE, 0.0], [0.0, SHOOTING_PROBE]])
    moved, jacobian = np.inf, None
    for _ in range(SHOOTING_ITERATIONS):
        probing = moved > SHOOTING_CHORD
        paths = solve(starts, probes if probing else probes[:1])
        if paths is None:
            return None
        maps = paths[-1, :, :, 0, :]
        if probing:
            # [segment, tumour, start moved in (ln V, ln K), end in (ln V, ln K)]
            jacobian = (paths[-1, :, :, 1:, :] - maps[:, :, None, :]) / SHOOTING_PROBE
        new = starts.copy()
        for k in range(lo.size - 1):
            new[k + 1] = maps[k] + np.einsum("ijk,ij->ik", jacobian[k], new[k] - starts[k])
        moved = np.max(np.abs(new - starts))
        if moved < SHOOTING_TOL:
            at = paths[np.searchsorted(taus, tau_out), segment, :, 0, :]  # (T, n, 2)
            return t, np.exp(at[:, :, 0].T), np.exp(at[:, :, 1].T)
        starts = new
    return None


@checked(PARAMETERS)
def live_treatment_panel(dose: float | None = None, dose_interval: float | None = None,
                         start_day: float | None = None,
                         permeability_reduction: float | None = None) -> TreatmentPanel:
    """treatment_panel for the live sliders: the same model at the same tolerances, solved
    faster. The dose-free segments are solved together by multiple shooting (restarts if that
    fails to converge), and the untreated control, which no slider changes, is computed once;
    the curves agree with treatment_panel's to about 1e-4 (tests)."""
    regs = [regimen(agent, dose, dose_interval, start_day) for agent in WIDGET_AGENTS]
    control = _untreated_course()
    logs = np.log([control.volume, control.capacity])
    v0, k0 = _starting_values()
    run = _shooting_course(regs, FOLLOW_UP_DAYS, v0, k0, _default_rates(), WIDGET_POINTS,
                           WIDGET_RTOL, WIDGET_ATOL,
                           lambda days: np.array([np.interp(days, control.t, row) for row in logs]).T)
    if run is None:
        course = _treated_course([[r] for r in regs], FOLLOW_UP_DAYS, np.full(len(regs), v0), k0,
                                 _default_rates(), WIDGET_POINTS,
                                 _odeint_segment(WIDGET_RTOL, WIDGET_ATOL))
        run = course.t, course.volume, course.capacity
    return _panel(control, regs, *run, dose / dose_interval, permeability_reduction)


#: The chapter's live panel: the model it reruns and the parameters on its sliders.
WIDGET_MODEL = live_treatment_panel
WIDGET_CONTROLS = ("dose", "dose_interval", "start_day", "permeability_reduction")


# --- the paper's predictions (collected by chapter 11's table) ---------------------------------
#
# Hahnfeldt et al. 1999 used their fit to predict what other schedules would have done. The
# text gives the agent, dose and schedule of each prediction; the settings below are those,
# and the start is our inference (the chapter and the tests say why).

#: The day of the TNP-470 group's last measurement, at which the paper compares schedules.
PREDICTION_DAY = 13.0
#: Start of the TNP-470 predictions (mm^3): that group's first measured volume (HAHNFELDT_DATA,
#: digitised), with chapter 7's K0. The book's refit of the group starts at 180 mm^3 instead,
#: from which day 13 lies about 3 % higher than the paper's predictions (tests).
PREDICTION_START_MM3 = float(HAHNFELDT_DATA["TNP-470"][1][0])
#: "Given continuously": the same dose rate in hourly boluses (days), the most frequent
#: schedule DOSE_INTERVAL admits; within 0.5 % of a constant infusion by day 13 (tests).
CONTINUOUS_INTERVAL = DOSE_INTERVAL.low
#: Daily angiostatin dose (mg/kg) of the paper's prediction of a stable size.
SET_POINT_DOSE_ANGIOSTATIN = 14.0


def _tnp470_on_prediction_day(dose_interval: float) -> float:
    """V (mm^3) on PREDICTION_DAY under TNP-470 at the TNP-470 group's dose rate (30 mg/kg
    every other day), given every `dose_interval` days from day 0 (one run on its own)."""
    plan = HAHNFELDT_SCHEDULES["TNP-470"]
    rate = plan["doses"]["TNP-470"] / plan["interval"]
    reg = regimen("TNP-470", rate * dose_interval, dose_interval, 0.0, t_end=PREDICTION_DAY)
    course = simulate_treatment([reg], PREDICTION_DAY, initial_volume=PREDICTION_START_MM3, n_points=2)
    return float(course.volume[-1])


#: Starting volumes (mm^3) of prediction_day_volumes: the paper's predictions (PREDICTION_START_MM3)
#: and the book's refit of the TNP-470 group (its initial_volume).
PREDICTION_STARTS = (PREDICTION_START_MM3, HAHNFELDT_SCHEDULES["TNP-470"]["initial_volume"])


@checked(PARAMETERS)
@lru_cache(maxsize=1)
def prediction_day_volumes() -> np.ndarray:
    """V (mm^3) on PREDICTION_DAY under TNP-470 at the TNP-470 group's dose rate from day 0:
    one row per start of PREDICTION_STARTS, columns the group's schedule (every other day) and
    the same dose rate hourly (CONTINUOUS_INTERVAL, "continuously"). The four runs are one
    stacked solve (the hourly doses restart it, which costs most of the time), computed once
    per process; the array is read-only."""
    plan = HAHNFELDT_SCHEDULES["TNP-470"]
    rate = plan["doses"]["TNP-470"] / plan["interval"]
    intervals = (plan["interval"], CONTINUOUS_INTERVAL)
    regs = [[regimen("TNP-470", rate * tau, tau, 0.0, t_end=PREDICTION_DAY)]
            for _ in PREDICTION_STARTS for tau in intervals]
    starts = np.repeat(PREDICTION_STARTS, len(intervals))
    course = simulate_treatment(regs, PREDICTION_DAY, initial_volume=starts, n_points=2)
    return read_only(course.volume[:, -1].reshape(len(PREDICTION_STARTS), len(intervals)))


#: Root finding of the periodic state stops when (ln V, ln K) change by less than this.
PERIODIC_TOL = 1e-12


def _periodic_state(agent: str, dose: float, dose_interval: float, n_points: int = 2) -> TreatedCourse:
    """The periodic state of a tumour under `agent`, `dose` (mg/kg) every `dose_interval`
    days kept up for ever: V, K and g over one interval, from a dose (t = 0) to the next.

    It is the fixed point of the dose-to-dose map. At the periodic state the drug left from
    all earlier doses adds up to the periodic trough, so each interval starts at the
    periodic peak D/(1 - q) (periodic_trough_peak); (ln V, ln K) at the dose are found by
    root finding from the averaged steady state. RuntimeError if there is none (as above
    the eradication dose rate, where the tumour regresses for ever).
    """
    drug = HAHNFELDT_DRUGS[agent]
    _, peak = periodic_trough_peak(dose, dose_interval, drug["clearance"])
    one_interval = Regimen(drug["efficacy"], drug["clearance"], peak, (0.0,))
    guess = averaged_steady_state(drug["efficacy"], drug["clearance"], dose, dose_interval)
    if guess <= 0.0:
        raise RuntimeError(f"no periodic tumour state: {dose:g} mg/kg of {agent} every "
                           f"{dose_interval:g} days exceeds the eradication dose rate")

    def interval_from(log_state, points=2):
        return simulate_treatment([one_interval], dose_interval, initial_volume=np.exp(log_state[0]),
                                  initial_capacity=np.exp(log_state[1]), n_points=points)

    def moved(log_state):
        end = interval_from(log_state)
        return np.log([end.volume[-1], end.capacity[-1]]) - log_state

    sol = root(moved, np.log([guess, guess]), tol=PERIODIC_TOL)
    if not sol.success or np.max(np.abs(moved(sol.x))) > 1e3 * PERIODIC_TOL:
        raise RuntimeError(f"no periodic tumour state found: {sol.message}")
    return interval_from(sol.x, n_points)


def _set_point(agent: str, dose: float, dose_interval: float) -> float:
    """V (mm^3) at each dose in the periodic state: the size the tumour returns to."""
    return float(_periodic_state(agent, dose, dose_interval).volume[0])


CHAPTER = 10
MODEL_NAME = "anti-angiogenic drugs in the Hahnfeldt model"

_TNP = HAHNFELDT_SCHEDULES["TNP-470"]
_TNP_DOSE, _TNP_INTERVAL = _TNP["doses"]["TNP-470"], _TNP["interval"]
_SCHEDULE = f"TNP-470 {_TNP_DOSE:g} mg/kg every {_TNP_INTERVAL:g} days"
_ROUNDED = "the paper rounds (\"about\")"
_PUBLISHED = HAHNFELDT_PREDICTIONS

REPRODUCTIONS = (
    Reproduction(
        f"{_SCHEDULE} from {PREDICTION_START_MM3:g} mm³: V on day {PREDICTION_DAY:g} (mm³)",
        _PUBLISHED["TNP-470 every other day, day 13"],
        lambda: float(prediction_day_volumes()[0, 0]), "hahnfeldt1999",
        "text (page not noted)", 0.02 * _PUBLISHED["TNP-470 every other day, day 13"],
        f"±2 %: {_ROUNDED}, and the start is a digitised first measurement", "primary text",
        published_text=f"about {_PUBLISHED['TNP-470 every other day, day 13']:,.0f}"),
    Reproduction(
        f"the same {_TNP_DOSE / _TNP_INTERVAL:g} mg/kg/day given continuously (hourly): V on day "
        f"{PREDICTION_DAY:g} (mm³)", _PUBLISHED["TNP-470 continuously, day 13"],
        lambda: float(prediction_day_volumes()[0, 1]), "hahnfeldt1999",
        "text (page not noted)", 0.02 * _PUBLISHED["TNP-470 continuously, day 13"],
        f"±2 %: {_ROUNDED}, and the start is a digitised first measurement", "primary text",
        published_text=f"about {_PUBLISHED['TNP-470 continuously, day 13']:,.0f}"),
    Reproduction(
        f"{_SCHEDULE}, kept up: set point (mm³)", _PUBLISHED["TNP-470 set point"],
        lambda: _set_point("TNP-470", _TNP_DOSE, _TNP_INTERVAL), "hahnfeldt1999",
        "text (page not noted)", 0.05 * _PUBLISHED["TNP-470 set point"],
        f"±5 %: {_ROUNDED}, and the tumour cycles with each dose; ours is its size at each dose, "
        "near the top of the cycle (the cycle's mean also agrees)", "primary text",
        published_text=f"about {_PUBLISHED['TNP-470 set point']:,.0f}"),
    Reproduction(
        f"angiostatin {SET_POINT_DOSE_ANGIOSTATIN:g} mg/kg daily, kept up: the size the tumour "
        "settles at (mm³)", _PUBLISHED["angiostatin 14 mg/kg/day, settled"],
        lambda: _set_point("angiostatin", SET_POINT_DOSE_ANGIOSTATIN, 1.0), "hahnfeldt1999",
        "text (page not noted)", 0.02 * _PUBLISHED["angiostatin 14 mg/kg/day, settled"],
        "±2 %: the paper rounds (\"near\"); so close to the eradication dose rate, rounding e "
        "and clr to their printed figures moves this size several-fold, so agreement confirms "
        "the settings, not a precise number", "primary text",
        published_text=f"near {_PUBLISHED['angiostatin 14 mg/kg/day, settled']:,.0f}"),
)
