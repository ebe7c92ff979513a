"""Chapter 10: targeting the TME. A treatment layer on the models of chapters 4, 7 and 8.

This module holds no tumour model of its own. It adds drug dosing and says which parameter
of an existing model each agent changes, then calls that model:

(a) Anti-angiogenic drugs in the Hahnfeldt model (tmebook.angiogenesis, chapter 7).
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

(b) Vascular normalisation in the Baxter-Jain IFP model (chapter 7). An agent that lowers
    the hydraulic permeability of the vessel walls by a factor f_L and the vessel surface
    per volume by f_S changes alpha = R sqrt(L_p S/V / K_t) to alpha sqrt(f_L f_S). Mean IFP
    over the sphere: <p>/p_e = 1 - 3 (alpha coth(alpha) - 1)/alpha^2. Outward fluid velocity
    at the surface: u(R) = K_t p_e/R (alpha coth(alpha) - 1) (cm/s).
    Delivery (our stated assumption): a drug that leaves the vessels with the filtered fluid
    reaches tissue at r in proportion to the local filtration rate L_p S/V (p_e - p(r)).
    At the centre, r = 0, the least-served point, with L_p S/V = K_t alpha^2 / R^2:
        Phi_0 = (K_t p_e / R^2) alpha^3 / sinh(alpha).
    alpha^3/sinh(alpha) is largest where alpha coth(alpha) = 3 (alpha* = 2.98); the core
    delivery index, alpha^3/sinh(alpha) over its maximum, lies in [0, 1].
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

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from . import angiogenesis, ecm, immune
from .parameters import (
    Parameter,
    check_array,
    check_finite,
    check_nonnegative,
    check_positive,
)

# --- published numbers this chapter reproduces ------------------------------------------------

#: Hahnfeldt et al. 1999, fits of the treated groups (Lewis lung carcinoma in mice): drug
#: potency e (kg/(mg day)) and clearance rate clr (1/day). As restated, identically, by two
#: independent implementations (the canceR package's Hahnfeldt demo and the MTGM toolbox's
#: tumorTreatmentParam.m); not confirmed against the paper's text.
HAHNFELDT_DRUGS = {
    "TNP-470": {"efficacy": 1.3, "clearance": 10.1},
    "angiostatin": {"efficacy": 0.15, "clearance": 0.38},
    "endostatin": {"efficacy": 0.66, "clearance": 1.7},
}

#: Doses and schedules of the treated groups (day 0 = first dose), and the starting
#: volumes, as used by the canceR demo to refit the paper (V0 = 180 mm^3; 300 mm^3 for the
#: low-dose endostatin and the combination groups; K0 = 625 mm^3 throughout).
HAHNFELDT_SCHEDULES = {
    "TNP-470": {"doses": {"TNP-470": 30.0}, "interval": 2.0, "n_doses": 7, "initial_volume": 180.0},
    "angiostatin": {"doses": {"angiostatin": 20.0}, "interval": 1.0, "n_doses": 14, "initial_volume": 180.0},
    "endostatin": {"doses": {"endostatin": 20.0}, "interval": 1.0, "n_doses": 10, "initial_volume": 180.0},
    "endostatin, low dose": {"doses": {"endostatin": 4.0}, "interval": 1.0, "n_doses": 16, "initial_volume": 300.0},
    "angiostatin + endostatin": {"doses": {"angiostatin": 20.0, "endostatin": 20.0}, "interval": 1.0,
                                 "n_doses": 25, "initial_volume": 300.0},
}
HAHNFELDT_INITIAL_CAPACITY = 625.0

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

PARAMETERS = {
    p.name: p
    for p in [
        Parameter("efficacy_tnp470", r"e_\mathrm{TNP}", HAHNFELDT_DRUGS["TNP-470"]["efficacy"],
                  "kg/(mg day)", "anti-angiogenic potency of TNP-470", "hahnfeldt1999",
                  "fit to the TNP-470 group (value as restated by two independent "
                  "implementations; not confirmed against the paper's text)"),
        Parameter("clearance_tnp470", r"\mathrm{clr}_\mathrm{TNP}", HAHNFELDT_DRUGS["TNP-470"]["clearance"],
                  "1/day", "clearance rate of TNP-470", "hahnfeldt1999", "as for its potency"),
        Parameter("efficacy_angiostatin", r"e_\mathrm{A}", HAHNFELDT_DRUGS["angiostatin"]["efficacy"],
                  "kg/(mg day)", "anti-angiogenic potency of angiostatin", "hahnfeldt1999",
                  "fit to the angiostatin group (as for TNP-470)"),
        Parameter("clearance_angiostatin", r"\mathrm{clr}_\mathrm{A}", HAHNFELDT_DRUGS["angiostatin"]["clearance"],
                  "1/day", "clearance rate of angiostatin", "hahnfeldt1999", "as for its potency"),
        Parameter("efficacy_endostatin", r"e_\mathrm{E}", HAHNFELDT_DRUGS["endostatin"]["efficacy"],
                  "kg/(mg day)", "anti-angiogenic potency of endostatin", "hahnfeldt1999",
                  "fit to the endostatin group (as for TNP-470)"),
        Parameter("clearance_endostatin", r"\mathrm{clr}_\mathrm{E}", HAHNFELDT_DRUGS["endostatin"]["clearance"],
                  "1/day", "clearance rate of endostatin", "hahnfeldt1999", "as for its potency"),
        Parameter("dose", r"D", 20.0, "mg/kg", "dose of each bolus (widget: every agent)",
                  "hahnfeldt1999", "20 mg/kg: the angiostatin and endostatin groups", low=0.0, high=60.0),
        Parameter("dose_interval", r"\tau", 1.0, "day", "time between doses",
                  "hahnfeldt1999", "daily, as in the angiostatin and endostatin groups",
                  low=0.5, high=4.0),
        Parameter("start_day", r"t_0", 0.0, "day", "day of the first dose", None,
                  "day 0 is the start of the published treated groups; later starts are ours",
                  low=0.0, high=10.0),
        Parameter("permeability_reduction", r"f_\max", 0.9, "1",
                  "largest fractional fall of vessel-wall permeability L_p under the drug", None,
                  "a tenfold fall, of the order of the change from tumour to normal "
                  "vessels; the slider shows what it changes", low=0.0, high=0.99),
        Parameter("half_effect_dose", r"g_{50}", 5.0, "mg/kg",
                  "drug concentration of half the permeability effect", None,
                  "a quarter of a 20 mg/kg bolus"),
        Parameter("blockade", r"B", 0.0, "1",
                  "fraction of the immunosuppression removed by checkpoint blockade", None,
                  "our parametrisation of restored killing and recruitment (chapter 4's S)"),
    ]
}

#: Solver tolerances on ln V and ln K (relative tolerances on V and K).
RTOL, ATOL = 1e-8, 1e-10
#: The published groups end at these days (the last data point).
FOLLOW_UP_DAYS = 20.0


def default(name: str) -> float:
    return PARAMETERS[name].value


# --- (a) dosing and the treated Hahnfeldt model -------------------------------------------------


@dataclass(frozen=True)
class Regimen:
    """One drug: potency e (kg/(mg day)), clearance clr (1/day), bolus D (mg/kg) at dose_times."""

    efficacy: float
    clearance: float
    dose: float
    dose_times: tuple

    def __post_init__(self):
        check_nonnegative("efficacy", self.efficacy)
        check_positive("clearance", self.clearance)
        check_nonnegative("dose", self.dose)
        times = check_array("dose_times", np.asarray(self.dose_times, dtype=float), ndim=1)
        if np.any(times < 0) or np.any(np.diff(times) < 0):
            raise ValueError("dose_times must be non-negative and non-decreasing")

    def concentration(self, t):
        """g(t) (mg/kg): the sum of the cleared boluses given up to t (vectorised over t)."""
        t = check_array("t", t)
        times = np.asarray(self.dose_times, dtype=float)
        lag = t[..., None] - times
        given = lag >= 0
        g = np.where(given, self.dose * np.exp(-self.clearance * np.where(given, lag, 0.0)), 0.0).sum(axis=-1)
        return g if g.ndim else float(g)

    def inhibition(self, t):
        """e g(t) (1/day): the extra loss rate of ln K."""
        return self.efficacy * self.concentration(t)


def dose_times(start_day=0.0, interval=1.0, n_doses=1):
    """t0, t0 + tau, ..., t0 + (n - 1) tau (days)."""
    start = check_nonnegative("start_day", start_day)
    tau = check_positive("dose_interval", interval)
    if int(n_doses) != n_doses or n_doses < 0:
        raise ValueError(f"n_doses must be a non-negative integer, got {n_doses!r}")
    return tuple(start + tau * np.arange(int(n_doses)))


def regimen(agent, dose=None, interval=None, start_day=0.0, n_doses=None, t_end=FOLLOW_UP_DAYS):
    """A Regimen of one of the published agents; by default dosed until t_end."""
    if agent not in HAHNFELDT_DRUGS:
        raise ValueError(f"agent must be one of {sorted(HAHNFELDT_DRUGS)}, got {agent!r}")
    dose = default("dose") if dose is None else dose
    interval = default("dose_interval") if interval is None else interval
    tau = check_positive("dose_interval", interval)
    start = check_nonnegative("start_day", start_day)
    if n_doses is None:
        n_doses = max(0, int(np.floor((t_end - start) / tau + 1e-9)) + 1) if t_end >= start else 0
    drug = HAHNFELDT_DRUGS[agent]
    return Regimen(drug["efficacy"], drug["clearance"], check_nonnegative("dose", dose),
                   dose_times(start, tau, n_doses))


def published_regimens(group):
    """The Regimens of one of the published treated groups (HAHNFELDT_SCHEDULES)."""
    if group not in HAHNFELDT_SCHEDULES:
        raise ValueError(f"group must be one of {sorted(HAHNFELDT_SCHEDULES)}, got {group!r}")
    plan = HAHNFELDT_SCHEDULES[group]
    return [regimen(agent, dose, plan["interval"], 0.0, plan["n_doses"])
            for agent, dose in plan["doses"].items()]


def total_inhibition(t, regimens):
    """sum_j e_j g_j(t) (1/day). `regimens`: Regimens given together, or a list of such
    lists, one per tumour (then an array with one rate per tumour)."""
    if regimens and not isinstance(regimens[0], Regimen):
        return np.array([total_inhibition(t, group) for group in regimens])
    # zero of the shape of t when no drug is given
    return sum((r.inhibition(t) for r in regimens), 0.0 * np.asarray(t, dtype=float))


def treated_rhs(t, y, regimens, growth_rate, stimulation, inhibition, capacity_loss=0.0):
    """Chapter 7's Hahnfeldt right-hand side with the drugs as extra loss of ln K.

    A thin wrapper: the drug term -e g(t) K is d lnK/dt = ... - e g(t), i.e. chapter 7's
    constant capacity_loss lambda2 made time dependent, so the model itself is not
    re-derived here. y may be (2,) or (2, n) for n tumours; `regimens` as in
    total_inhibition (one list per tumour, or one list for all).
    """
    extra = total_inhibition(t, regimens)
    return angiogenesis.hahnfeldt_rhs(t, y, growth_rate, stimulation, inhibition,
                                      capacity_loss + extra)


@dataclass(frozen=True)
class TreatedCourse:
    """V(t), K(t) (mm^3) and each drug's g(t) (mg/kg) at days t; V and K may be (n, T)."""

    t: np.ndarray
    volume: np.ndarray
    capacity: np.ndarray
    drug: np.ndarray  # (n_regimens, T) g in mg/kg; per-tumour regimens: (n, T) e g in 1/day


def _growth_rates(growth_rate, stimulation, inhibition, capacity_loss):
    values = [angiogenesis.default(n) if v is None else v for n, v in (
        ("growth_rate", growth_rate), ("stimulation", stimulation),
        ("inhibition", inhibition), ("capacity_loss", capacity_loss))]
    return (check_positive("growth_rate", values[0]), check_positive("stimulation", values[1]),
            check_positive("inhibition", values[2]), check_nonnegative("capacity_loss", values[3]))


def simulate_treatment(regimens=(), t_end=FOLLOW_UP_DAYS, initial_volume=None, initial_capacity=None,
                       growth_rate=None, stimulation=None, inhibition=None, capacity_loss=None,
                       n_points=201, rtol=RTOL, atol=ATOL, method="LSODA"):
    """Integrate the treated Hahnfeldt model over [0, t_end] days.

    The drug concentration jumps at every dose, so the integration restarts at each dose
    time (solve_ivp, LSODA, on ln V and ln K). `initial_volume` may be an array: several
    tumours treated alike are integrated together.
    """
    lam1, b, d, lam2 = _growth_rates(growth_rate, stimulation, inhibition, capacity_loss)
    regimens = tuple(regimens)
    per_tumour = bool(regimens) and not isinstance(regimens[0], Regimen)
    groups = regimens if per_tumour else (regimens,)
    for group in groups:
        for r in group:
            if not isinstance(r, Regimen):
                raise ValueError("regimens must hold Regimen objects (or one list of them per tumour)")
    t_end = check_positive("t_end", t_end)
    v0 = check_array("initial_volume", angiogenesis.default("initial_volume")
                     if initial_volume is None else initial_volume)
    k0 = check_array("initial_capacity", HAHNFELDT_INITIAL_CAPACITY
                     if initial_capacity is None else initial_capacity)
    if np.any(v0 <= 0):
        raise ValueError("initial_volume must be positive")
    if np.any(k0 <= 0):
        raise ValueError("initial_capacity must be positive")
    v0, k0 = np.broadcast_arrays(v0, k0)
    shape = v0.shape
    if int(n_points) != n_points or n_points < 2:
        raise ValueError("n_points must be an integer >= 2")
    t = np.linspace(0.0, t_end, int(n_points))
    breaks = sorted({float(s) for group in groups for r in group for s in r.dose_times if 0.0 < s < t_end})
    edges = [0.0, *breaks, t_end]
    y = np.stack([np.log(v0).ravel(), np.log(k0).ravel()])
    out = np.empty((2, y.shape[1], t.size))
    n = y.shape[1]
    if per_tumour and len(regimens) != n:
        raise ValueError("regimens must hold one list per tumour (initial_volume)")

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
        start_rate = efficacy * np.array([r.concentration(lo) for _, r in pairs])

        def rhs(time, z, start_rate=start_rate, lo=lo):
            extra = owner @ (start_rate * np.exp(-clearance * (time - lo)))
            return angiogenesis.hahnfeldt_rhs(time, z.reshape(2, n), lam1, b, d, lam2 + extra).ravel()

        # outputs in the segment, and its end, where the next dose restarts the solve
        times = np.union1d(t[inside], [hi])
        sol = solve_ivp(rhs, (lo, hi), y.ravel(), method=method, t_eval=times,
                        rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"integration failed: {sol.message}")
        keep = np.isin(times, t[inside])
        out[:, :, inside] = sol.y[:, keep].reshape(2, n, -1)
        y = sol.y[:, -1].reshape(2, n)
    volume = np.exp(out[0]).reshape(*shape, t.size)
    capacity = np.exp(out[1]).reshape(*shape, t.size)
    if per_tumour:
        # per tumour: the total inhibition e g(t) of its drugs (1/day)
        drug = total_inhibition(t, regimens).reshape(n, t.size)
    else:
        drug = np.array([r.concentration(t) for r in regimens]).reshape(len(regimens), t.size)
    return TreatedCourse(t, volume, capacity, drug)


def simulate_group(group, t_end=None, n_points=201, **kwargs):
    """One published group ('control' or a key of HAHNFELDT_SCHEDULES) from its starting volume."""
    if group == "control":
        regs, v0 = (), angiogenesis.default("initial_volume")
    else:
        regs = published_regimens(group)
        v0 = HAHNFELDT_SCHEDULES[group]["initial_volume"]
    days = HAHNFELDT_DATA[group][0]
    t_end = max(days[-1], 1.0) if t_end is None else t_end
    return simulate_treatment(regs, t_end, initial_volume=v0, n_points=n_points, **kwargs)


def mean_concentration(dose, interval, clearance):
    """Time-average of g over one interval at periodic steady state: D / (clr tau) (mg/kg)."""
    return check_nonnegative("dose", dose) / (check_positive("clearance", clearance)
                                              * check_positive("dose_interval", interval))


def periodic_trough_peak(dose, interval, clearance):
    """(trough, peak) of g at periodic steady state: D q/(1 - q) and D/(1 - q), q = e^(-clr tau)."""
    d = check_nonnegative("dose", dose)
    q = np.exp(-check_positive("clearance", clearance) * check_positive("dose_interval", interval))
    return d * q / (1.0 - q), d / (1.0 - q)


def eradication_dose_rate(efficacy, clearance, stimulation=None, capacity_loss=None):
    """Dose rate D/tau (mg/kg/day) above which the averaged model has no tumour steady state:
    e D/(clr tau) >= b - lambda2."""
    e = check_positive("efficacy", efficacy)
    clr = check_positive("clearance", clearance)
    b = angiogenesis.default("stimulation") if stimulation is None else stimulation
    lam2 = angiogenesis.default("capacity_loss") if capacity_loss is None else capacity_loss
    return (check_positive("stimulation", b) - check_nonnegative("capacity_loss", lam2)) * clr / e


def averaged_steady_state(regimens_per_day, stimulation=None, inhibition=None, capacity_loss=None):
    """V* = K* (mm^3) of the model with each drug at its mean level: chapter 7's steady state
    with lambda2 raised by sum e D/(clr tau). `regimens_per_day`: (efficacy, clearance,
    dose, interval) tuples."""
    lam2 = angiogenesis.default("capacity_loss") if capacity_loss is None else capacity_loss
    extra = sum(check_positive("efficacy", e) * mean_concentration(dose, tau, clr)
                for e, clr, dose, tau in regimens_per_day)
    return angiogenesis.hahnfeldt_steady_state(stimulation, inhibition, lam2 + extra)


def data_error(group, course=None):
    """Published volumes (mm^3) at the data days beside the model's, and the RMS difference of
    sqrt(V) (the weighting the canceR refit uses; it tolerates the zeros of cured tumours)."""
    days, volumes = (np.asarray(a, dtype=float) for a in HAHNFELDT_DATA[group])
    course = simulate_group(group) if course is None else course
    model = np.interp(days, course.t, course.volume)
    rms = float(np.sqrt(np.mean((np.sqrt(model) - np.sqrt(volumes)) ** 2)))
    return days, volumes, model, rms


# --- (b) vascular normalisation in the Baxter-Jain model -----------------------------------------

_BJ = angiogenesis.BAXTER_JAIN_TUMOUR
P_EFFECTIVE = angiogenesis.effective_pressure(_BJ["vascular_pressure"], _BJ["reflection"],
                                              _BJ["plasma_oncotic"], _BJ["interstitial_oncotic"])


def normalised_alpha(ifp_alpha, permeability_factor=1.0, surface_factor=1.0, radius_factor=1.0):
    """alpha after L_p -> f_L L_p, S/V -> f_S S/V and R -> f_R R: alpha f_R sqrt(f_L f_S)."""
    a = check_positive("ifp_alpha", ifp_alpha)
    f_l = check_array("permeability_factor", permeability_factor)
    f_s = check_array("surface_factor", surface_factor)
    f_r = check_array("radius_factor", radius_factor)
    for name, f in (("permeability_factor", f_l), ("surface_factor", f_s), ("radius_factor", f_r)):
        if np.any(f <= 0):
            raise ValueError(f"{name} must be positive")
    out = a * f_r * np.sqrt(f_l * f_s)
    return out if out.ndim else float(out)


def _alpha_coth_minus_one(a):
    """alpha coth(alpha) - 1, accurate for small alpha (series) and large alpha."""
    a = np.asarray(a, dtype=float)
    small = a < 1e-3
    safe = np.where(small, 1.0, a)
    value = safe / np.tanh(safe) - 1.0
    return np.where(small, a**2 / 3.0 - a**4 / 45.0, value)


def mean_ifp_fraction(ifp_alpha):
    """Volume-averaged IFP over p_e: 1 - 3 (alpha coth(alpha) - 1) / alpha^2."""
    a = check_array("ifp_alpha", ifp_alpha)
    if np.any(a <= 0):
        raise ValueError("ifp_alpha must be positive")
    out = 1.0 - 3.0 * _alpha_coth_minus_one(a) / a**2
    return out if out.ndim else float(out)


def core_filtration(ifp_alpha):
    """alpha^3 / sinh(alpha): filtration at the tumour centre in units of K_t p_e / R^2."""
    a = check_array("ifp_alpha", ifp_alpha)
    if np.any(a <= 0):
        raise ValueError("ifp_alpha must be positive")
    # alpha^3 / sinh(alpha) = 2 alpha^3 e^(-alpha) / (1 - e^(-2 alpha)): no overflow
    out = 2.0 * a**3 * np.exp(-a) / (-np.expm1(-2.0 * a))
    return out if out.ndim else float(out)


@lru_cache(maxsize=1)
def optimal_core_alpha():
    """alpha* where alpha^3/sinh(alpha) peaks: the root of alpha coth(alpha) = 3 (brentq)."""
    return brentq(lambda a: a / np.tanh(a) - 3.0, 1.0, 10.0, xtol=1e-14)


def core_delivery_index(ifp_alpha):
    """Core filtration relative to its largest possible value (1 at alpha = alpha*)."""
    return core_filtration(ifp_alpha) / core_filtration(optimal_core_alpha())


def radius_from_volume(volume_mm3):
    """Radius (cm) of a sphere of the given volume (mm^3)."""
    v = check_array("volume_mm3", volume_mm3)
    if np.any(v < 0):
        raise ValueError("volume_mm3 must be non-negative")
    out = (3.0 * v / (4.0 * np.pi)) ** (1.0 / 3.0) / 10.0
    return out if out.ndim else float(out)


def tissue_alpha(radius_cm):
    """alpha of a tumour of radius R (cm) with the Baxter-Jain tumour tissue values."""
    return angiogenesis.ifp_alpha_from_tissue(radius_cm, _BJ["hydraulic_conductivity"],
                                              _BJ["vessel_permeability"], _BJ["surface_per_volume"])


def normalisation_effect(permeability_factor, surface_factor=1.0, radius_cm=0.5):
    """Centre and mean IFP (mmHg), surface fluid velocity (um/s) and core delivery index of a
    tumour of radius R before (first) and after (second) normalisation, as two dicts."""
    a0 = tissue_alpha(radius_cm)
    a1 = normalised_alpha(a0, permeability_factor, surface_factor)
    k_t = _BJ["hydraulic_conductivity"]
    rows = []
    for a in (a0, a1):
        rows.append({
            "alpha": a,
            "centre_ifp": P_EFFECTIVE * angiogenesis.ifp_profile(0.0, a),
            "mean_ifp": P_EFFECTIVE * mean_ifp_fraction(a),
            "surface_velocity_um_s": 1e4 * angiogenesis.surface_velocity(a, P_EFFECTIVE, k_t, radius_cm),
            "core_delivery": core_delivery_index(a),
        })
    return rows[0], rows[1]


@dataclass(frozen=True)
class NormalisationCourse:
    t: np.ndarray
    alpha: np.ndarray
    centre_ifp: np.ndarray      # mmHg
    delivery: np.ndarray        # core delivery index, 0..1
    permeability_factor: np.ndarray
    surface_factor: np.ndarray


def normalisation_course(course: TreatedCourse, regimen_index=0, permeability_reduction=None,
                         half_effect_dose=None):
    """alpha(t), centre IFP and core delivery along a treated course (one tumour).

    Assumptions (ours): L_p falls with the drug level, f_L = 1 - f_max g/(g + g50); vessel
    surface per volume follows the vascular support per volume, f_S = (K/V)/(K/V)(0); the
    radius follows the volume. alpha(0) is that of the Baxter-Jain tissue at the starting size.
    """
    f_max = default("permeability_reduction") if permeability_reduction is None else permeability_reduction
    f_max = check_nonnegative("permeability_reduction", f_max)
    if f_max >= 1.0:
        raise ValueError(f"permeability_reduction must be below 1, got {f_max!r}")
    g50 = check_positive("half_effect_dose",
                         default("half_effect_dose") if half_effect_dose is None else half_effect_dose)
    if course.volume.ndim != 1:
        raise ValueError("course.volume must hold one tumour (1-D)")
    g = course.drug[regimen_index] if course.drug.shape[0] else np.zeros_like(course.t)
    f_l = 1.0 - f_max * g / (g + g50)
    support = course.capacity / course.volume
    f_s = support / support[0]
    radius = radius_from_volume(course.volume)
    alpha = normalised_alpha(tissue_alpha(radius[0]), f_l, f_s, radius / radius[0])
    return NormalisationCourse(course.t, alpha, P_EFFECTIVE * centre_ifp_fraction(alpha),
                               core_delivery_index(alpha), f_l, f_s)


def centre_ifp_fraction(ifp_alpha):
    """p(0)/p_e = 1 - alpha/sinh(alpha), vectorised over alpha (core_filtration / alpha^2)."""
    a = check_array("ifp_alpha", ifp_alpha)
    out = 1.0 - core_filtration(a) / a**2
    return out if out.ndim else float(out)


def delivery_window(t, delivery, threshold=0.5):
    """(first, last) day on which the core delivery index is at least `threshold`; None if never."""
    t = check_array("t", t, ndim=1)
    delivery = check_array("delivery", delivery, ndim=1)
    if t.shape != delivery.shape:
        raise ValueError("t and delivery must have the same shape")
    threshold = check_finite("threshold", threshold)
    above = np.flatnonzero(delivery >= threshold)
    if above.size == 0:
        return None
    return float(t[above[0]]), float(t[above[-1]])


# --- (c) checkpoint blockade in the tumour-immune model -------------------------------------------


def blockaded_model(suppression, blockade=None):
    """Chapter 4's model with the suppression S reduced by blockade B: S (1 - B)."""
    s = check_nonnegative("suppression", suppression)
    b = default("blockade") if blockade is None else blockade
    b = check_nonnegative("blockade", b)
    if b > 1.0:
        raise ValueError(f"blockade must lie in [0, 1], got {blockade!r}")
    return immune.make_model(s * (1.0 - b))


@lru_cache(maxsize=1)
def critical_suppression():
    """S at which the dormant state and the saddle meet and vanish (chapter 4's saddle-node)."""
    return immune.saddle_node("suppression", 0.3, 0.5)


def blockade_needed(suppression):
    """Smallest blockade that brings the dormant state back: 1 - S_c/S (0 if S <= S_c)."""
    s = check_nonnegative("suppression", suppression)
    return max(0.0, 1.0 - critical_suppression() / s) if s > 0 else 0.0


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


def blockade_outcome(suppression, blockade, log10_tumour=6.0):
    """Which states exist and which are reached, with blockade B against suppression S."""
    model = blockaded_model(suppression, blockade)
    states = immune.equilibria(model)
    naive = immune.final_state(model.sigma / model.delta, 10.0**log10_tumour / immune.SCALE_CELLS, model)
    escaped = immune.equilibria(immune.make_model(check_nonnegative("suppression", suppression)))[-1]
    after = immune.final_state(escaped.x, escaped.y, model)
    if len(states) == 4:
        thresholds = immune.escape_thresholds(escaped.x, model)
        # no crossing: the dormant basin does not reach the exhausted effector level at all
        threshold = float(thresholds[0]) if thresholds.size else 0.0
    else:
        threshold = 0.0
    return BlockadeOutcome(float(blockade), model.suppression, states, _fate(naive),
                           _fate(after), threshold)


def _fate(state):
    if state.y < 1e-6:
        return "eliminated"
    return "escape" if state.y > 100.0 else "dormant"


# --- (d) an MMP inhibitor in the invasion model ----------------------------------------------------


def mmp_inhibitor_effect(levels):
    """(invasion depth, degradation front) at the end of chapter 8's 1-D run for each level."""
    levels = check_array("levels", levels, ndim=1)
    if np.any((levels < 0) | (levels > 1)):
        raise ValueError("levels must lie in [0, 1]")
    depth, front = [], []
    for level in levels:
        run = ecm.invasion_panel(mmp_inhibition=float(level))
        depth.append(run.invasion_depth()[-1])
        front.append(run.degradation_front()[-1])
    return np.array(depth), np.array(front)


# --- the widget model ----------------------------------------------------------------------------

WIDGET_AGENTS = ("TNP-470", "angiostatin", "endostatin")
WIDGET_POINTS = 121
#: Looser tolerances for the live panel: 1e-5 on ln V moves the curves by far less than a
#: line width (checked against RTOL in the tests).
WIDGET_RTOL, WIDGET_ATOL = 1e-5, 1e-7


@dataclass(frozen=True)
class TreatmentPanel:
    control: TreatedCourse
    courses: dict          # agent -> TreatedCourse
    windows: dict          # agent -> NormalisationCourse
    dose_rate: float       # mg/kg/day
    thresholds: dict       # agent -> eradication dose rate (mg/kg/day)


def treatment_panel(dose=None, dose_interval=None, start_day=None, permeability_reduction=None):
    """The chapter's widget model: each published agent at one dose and schedule, the untreated
    control, and the normalisation course of each, over FOLLOW_UP_DAYS."""
    dose = check_nonnegative("dose", default("dose") if dose is None else dose)
    tau = check_positive("dose_interval", default("dose_interval") if dose_interval is None else dose_interval)
    start = check_nonnegative("start_day", default("start_day") if start_day is None else start_day)
    f_max = default("permeability_reduction") if permeability_reduction is None else permeability_reduction
    regs = [regimen(agent, dose, tau, start) for agent in WIDGET_AGENTS]
    # control and the three agents in one stacked solve (they share the dose times)
    run = simulate_treatment([[], *[[r] for r in regs]], FOLLOW_UP_DAYS,
                             initial_volume=np.full(1 + len(regs), angiogenesis.default("initial_volume")),
                             n_points=WIDGET_POINTS, rtol=WIDGET_RTOL, atol=WIDGET_ATOL, method="LSODA")
    control = TreatedCourse(run.t, run.volume[0], run.capacity[0], np.zeros((0, run.t.size)))
    courses, windows, thresholds = {}, {}, {}
    for i, (agent, reg) in enumerate(zip(WIDGET_AGENTS, regs), start=1):
        courses[agent] = TreatedCourse(run.t, run.volume[i], run.capacity[i],
                                       reg.concentration(run.t)[None, :])
        windows[agent] = normalisation_course(courses[agent], 0, f_max)
        thresholds[agent] = eradication_dose_rate(reg.efficacy, reg.clearance)
    return TreatmentPanel(control, courses, windows, dose / tau, thresholds)


#: The chapter's live panel: the model it reruns and the parameters on its sliders.
WIDGET_MODEL = treatment_panel
WIDGET_CONTROLS = ("dose", "dose_interval", "start_day", "permeability_reduction")
