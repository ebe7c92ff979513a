"""Golden values for the live figures' JavaScript models (web/test/golden.json).

For each live figure: its specification (the JSON the book embeds in the page, from the
Python parameter sets: `_ext/tme_widgets.spec`), and at several slider settings, on both
sides of each threshold its chapter discusses, the model solved by SciPy at tight tolerance
(DOP853, rtol 1e-12) from that same specification, with the outcome the chapter's own Python widget
model reports. `node --test web/test/` checks the JavaScript against these values;
tests/test_web_widgets.py checks that they are current.

Usage: python web/golden.py [--check]   (--check: exit 1 if golden.json is not current)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "web" / "test" / "golden.json"
sys.path.insert(0, str(ROOT / "_ext"))
sys.path.insert(0, str(ROOT))

from tme_widgets import spec

#: SciPy's DOP853 at rtol 1e-10 was off by 4e-7 on the growth curves (its error estimate is
#: optimistic on them); at 1e-12 it agrees with RK45 and LSODA at 1e-10 within 1e-9.
RTOL, ATOL = 1e-12, 1e-16
#: The JavaScript must agree within this relative difference (of max(|value|, floor)).
AGREEMENT = 1e-6
#: Every how many of the widget's output times the golden file keeps one.
EVERY = 25


def _times(n_points: int, end: float) -> np.ndarray:
    full = np.linspace(0.0, end, n_points)
    return np.unique(np.r_[full[::EVERY], full[-1]])


def immune_solution(s: dict, settings: dict, days) -> dict:
    """The effector-tumour run of the live figure, by SciPy, at output times `days`."""
    from tmebook import immune

    c = s["constants"]
    model = immune.Model(**s["parameters"], suppression=settings["suppression"])
    y0 = [model.sigma / model.delta, 10.0**settings["log10_initial_tumour"] / c["scale_cells"]]
    tau = np.asarray(days, dtype=float) / c["days_per_unit"]
    sol = solve_ivp(immune._solver_rhs(model), (0.0, tau[-1]), y0, method="DOP853",
                    t_eval=tau, rtol=RTOL, atol=ATOL)
    assert sol.success, sol.message
    return {"series": {"tumour": (sol.y[1] * c["scale_cells"]).tolist(),
                       "effectors": (sol.y[0] * c["scale_cells"]).tolist()},
            "outcome": immune.phase_portrait(**settings).outcome}


def immune_cases(s: dict) -> dict:
    c = s["constants"]
    days = _times(c["n_points"], c["follow_up_days"])
    cases = []
    # S: heteroclinic threshold ~0.135, fold ~0.402; initial size: the escape threshold of a
    # resting host at S = 0 is ~6.4e7 cells (10^7.8)
    for suppression, log10_t in ((0.0, 6.0), (0.0, 7.5), (0.0, 8.2), (0.1, 6.0), (0.17, 6.0),
                                 (0.17, 3.0), (0.38, 8.0), (0.42, 6.0), (0.6, 8.7)):
        settings = {"suppression": suppression, "log10_initial_tumour": log10_t}
        cases.append({"settings": settings, "times": days.tolist(),
                      **immune_solution(s, settings, days)})
    # below one cell the tumour is gone: differences there are not compared
    return {"floor": c["eliminated_below"] * c["scale_cells"], "cases": cases}


def growth_solution(s: dict, settings: dict, days) -> dict:
    """Hahnfeldt's growth curves of the live figure, by SciPy, at output times `days`."""
    from tmebook import growth

    p = s["parameters"]
    days = np.asarray(days, dtype=float)
    sol = solve_ivp(growth.hahnfeldt_rhs, (0.0, days[-1]),
                    [np.log(p["initial_volume"]), np.log(p["initial_capacity"])], method="DOP853",
                    t_eval=days, rtol=RTOL, atol=1e-14,
                    args=(p["growth_rate"], settings["stimulation"], settings["inhibition"],
                          p["capacity_loss"]))
    assert sol.success, sol.message
    steady = growth.hahnfeldt_steady_state(settings["stimulation"], settings["inhibition"],
                                           p["capacity_loss"])
    return {"series": {"volume": np.exp(sol.y[0]).tolist(), "capacity": np.exp(sol.y[1]).tolist(),
                       "steady": np.full(days.size, steady).tolist()}}


def growth_cases(s: dict) -> dict:
    c = s["constants"]
    days = _times(c["n_points"], c["t_end"])
    # the slider box's corners, the published fit, and a steady state near the starting
    # capacity (b/d small: the tumour barely grows) against one far above it
    settings = [{"stimulation": b, "inhibition": d} for b, d in (
        (5.85, 0.00873), (1.0, 0.002), (1.0, 0.02), (12.0, 0.002), (12.0, 0.02), (3.0, 0.015),
        (8.0, 0.004))]
    return {"floor": c["floor"], "cases": [
        {"settings": st, "times": days.tolist(), **growth_solution(s, st, days)} for st in settings]}


def emt_solution(s: dict, settings: dict, hours) -> dict:
    """ZEB and the E-cadherin-like readout of the EMT live figure, by SciPy, at `hours`."""
    from tmebook import emt

    c = s["constants"]
    choice = next(k for k in s["controls"] if k["name"] == "start_phenotype")
    start_label = choice["choices"][int(settings["start_phenotype"])]
    start = np.array(c["start_states"][start_label])
    params = dict(emt.PARAMETERS.resolve().as_dict(), **s["parameters"])
    signal = settings["input_signal"] * c["input_unit"]
    hours = np.asarray(hours, dtype=float)
    sol = solve_ivp(lambda t, x: emt._rates(x, signal, params), (0.0, hours[-1]), start,
                    method="DOP853", t_eval=hours, rtol=RTOL, atol=1e-9)
    assert sol.success, sol.message
    zeb = sol.y[2]
    outcome = emt.reach_steady_state(settings["input_signal"], start_label)
    return {"series": {"zeb": (zeb / c["zeb_unit"]).tolist(),
                       "ecadherin": (1.0 / (1.0 + (zeb / c["ecad_threshold"]) ** 2)).tolist()},
            "outcome": outcome.phenotype}


def emt_cases(s: dict) -> dict:
    from tmebook import emt

    c = s["constants"]
    hours = _times(c["n_points"], c["t_end"])
    # windows (10^3 molecules): E exists below ~60.0, E/M between ~45.6 and ~66.6, M above
    # ~30.1; starts from each phenotype on both sides of the folds that end it
    settings = [{"input_signal": i, "start_phenotype": k} for i, k in (
        (0.0, 0), (40.0, 0), (57.0, 0), (62.0, 0), (70.0, 0), (110.0, 0),
        (50.0, 1), (42.0, 1), (69.0, 1), (35.0, 2), (27.0, 2), (120.0, 2))]
    # near the saddle-nodes the route passes slowly: the outcome of the whole run (extended
    # until it settles) against the chapter's Python widget model
    near_folds = [{"input_signal": i, "start_phenotype": k} for i, k in (
        (60.5, 0), (66.8, 1), (67.0, 0), (45.4, 1), (30.0, 2))]
    return {"floor": c["floor"], "cases": [
        {"settings": st, "times": hours.tolist(), **emt_solution(s, st, hours)} for st in settings],
        "outcomes": [{"settings": st, "outcome": emt.reach_steady_state(
            st["input_signal"], emt.PHENOTYPES[st["start_phenotype"]]).phenotype}
            for st in near_folds]}


def cafs_solution(s: dict, settings: dict, days) -> dict:
    """The two runs of the CAF live figure, by SciPy, at output times `days`."""
    from tmebook import cafs

    c = s["constants"]
    params = {**s["parameters"], **settings}
    days = np.asarray(days, dtype=float)
    series = {}
    for label, start in (("few", c["few_cafs"]), ("many", c["many_cafs"])):
        sol = solve_ivp(cafs.rhs.__wrapped__, (0.0, days[-1]), start, method="DOP853",
                        t_eval=days, args=(params,), rtol=RTOL, atol=1e-14)
        assert sol.success, sol.message
        tau, caf = np.clip(sol.y, 0.0, 1.0)
        series[f"caf_{label}"], series[f"tumour_{label}"] = caf.tolist(), tau.tolist()
    response = cafs.caf_response(**settings)
    apart = abs(response.caf[1, -1] - response.caf[0, -1]) > c["memory_gap"]
    return {"series": series, "outcome": "two states" if apart else "one state"}


def cafs_cases(s: dict) -> dict:
    c = s["constants"]
    days = _times(c["n_points"], c["t_end"])
    # at sigma_C = 2 the bistable window of sigma_T is ~(0.074, 0.222); from sigma_C ~2.18
    # activation is irreversible (the window reaches sigma_T = 0); below ~1.37 no window
    settings = [{"activation_strength": a, "caf_secretion": sc, "caf_growth_boost": e}
                for a, sc, e in ((0.15, 2.0, 1.0), (0.05, 2.0, 1.0), (0.3, 2.0, 1.0),
                                 (0.1, 3.0, 1.0), (0.0, 3.0, 0.0), (0.25, 3.0, 3.0),
                                 (0.1, 1.0, 1.0), (0.4, 1.0, 0.0), (0.0, 0.0, 0.0),
                                 (0.5, 4.0, 3.0))]
    return {"floor": c["floor"], "cases": [
        {"settings": st, "times": days.tolist(), **cafs_solution(s, st, days)} for st in settings]}


def ecosystem_solution(s: dict, settings: dict, times) -> dict:
    """Frequencies of the stroma game's live figure from the seed, by SciPy, at `times`."""
    from tmebook import ecosystem

    c = s["constants"]
    game = ecosystem.StromaGame(**settings)
    times = np.asarray(times, dtype=float)
    sol = solve_ivp(game.rhs, (0.0, times[-1]), c["seed"], method="DOP853", t_eval=times,
                    rtol=RTOL, atol=1e-15)
    assert sol.success, sol.message
    x = np.clip(sol.y, 0.0, 1.0)
    return {"series": {k: x[i].tolist() for i, k in enumerate(c["strategies"])},
            "outcome": ecosystem.game_run(**settings).outcome}


def ecosystem_cases(s: dict) -> dict:
    c = s["constants"]
    times = _times(c["n_points"], c["t_end"])
    # every outcome the chapter names, and both sides of the seed's takeover border at
    # alpha = 1, gamma = 0.8, rho = 0.2 (beta ~1.33: co-opted stroma below, I above)
    settings = [{"alpha": a, "beta": b, "gamma": g, "rho": r} for a, b, g, r in (
        (1.0, 0.6, 0.8, 0.2), (1.0, 1.2, 0.8, 0.2), (1.0, 1.5, 0.8, 0.2), (1.0, 1.5, 0.3, 0.2),
        (0.5, 1.8, 1.2, 0.2), (0.2, 0.1, 1.5, 0.0), (0.0, 0.0, 0.0, 1.0), (0.5, 1.0, 0.2, 0.0),
        (2.0, 0.3, 0.5, 0.5), (2.0, 2.0, 2.0, 1.0))]
    return {"floor": c["floor"], "cases": [
        {"settings": st, "times": times.tolist(), **ecosystem_solution(s, st, times)}
        for st in settings]}


def therapy_solution(s: dict, settings: dict, days) -> dict:
    """Volumes of the therapy live figure (untreated and each agent), by the chapter's own
    simulate_treatment with SciPy's DOP853 at rtol 1e-12, at `days` (an even grid from 0)."""
    from tmebook import therapy

    c = s["constants"]
    days = np.asarray(days, dtype=float)
    assert np.allclose(days, np.linspace(0.0, days[-1], days.size)), "an even grid from 0"
    regs = [therapy.Regimen(a["efficacy"], a["clearance"], settings["dose"],
                            therapy.dose_times(settings["start_day"], settings["dose_interval"],
                                               therapy._doses_until(c["follow_up_days"],
                                                                    settings["start_day"],
                                                                    settings["dose_interval"])))
            for a in c["agents"].values()]
    run = therapy.simulate_treatment(
        [[], *[[r] for r in regs]], days[-1], initial_volume=np.full(1 + len(regs), c["initial_volume"]),
        initial_capacity=c["initial_capacity"], n_points=days.size, rtol=RTOL, atol=1e-14,
        method="DOP853", **c["rates"])
    return {"series": {key: run.volume[i].tolist()
                       for i, key in enumerate(["none", *c["agents"]])}}


def therapy_cases(s: dict) -> dict:
    c = s["constants"]
    days = np.linspace(0.0, c["follow_up_days"], c["n_points"])
    # eradication dose rates (mg/kg/day): TNP-470 ~45, angiostatin ~14.8, endostatin ~15.1;
    # doses on both sides of them, every other day and later starts
    settings = [{"dose": d, "dose_interval": i, "start_day": t0} for d, i, t0 in (
        (20.0, 1.0, 0.0), (10.0, 1.0, 0.0), (60.0, 1.0, 0.0), (30.0, 2.0, 0.0), (14.0, 1.0, 0.0),
        (0.0, 1.0, 0.0), (60.0, 0.5, 10.0), (20.0, 4.0, 5.0), (40.0, 0.75, 2.5))]
    return {"floor": c["floor"], "cases": [
        {"settings": st, "times": days.tolist(), **therapy_solution(s, st, days)} for st in settings]}


CASES = {"immune": immune_cases, "growth": growth_cases, "emt": emt_cases, "cafs": cafs_cases,
         "ecosystem": ecosystem_cases, "therapy": therapy_cases}
#: SciPy's solution of each live figure at any settings and output times (the browser test).
SOLUTIONS = {"immune": immune_solution, "growth": growth_solution, "emt": emt_solution,
             "cafs": cafs_solution, "ecosystem": ecosystem_solution,
             "therapy": therapy_solution}


def _rounded(values: list) -> list:
    """Twelve significant figures: far below the agreement asked of the JavaScript (1e-6),
    and a third less file."""
    return [float(f"{v:.12g}") for v in values]


def golden() -> dict:
    models = {}
    for name, make in CASES.items():
        s = spec(name)
        entry = make(s)
        for case in entry["cases"]:
            case["times"] = _rounded(case["times"])
            case["series"] = {key: _rounded(v) for key, v in case["series"].items()}
        models[name] = {"spec": s, **entry}
    return {"about": __doc__.splitlines()[0], "rtol": RTOL, "agreement": AGREEMENT,
            "models": models}


def main(argv: list[str]) -> int:
    text = json.dumps(golden(), indent=1, ensure_ascii=False) + "\n"
    if "--check" in argv:
        current = GOLDEN.exists() and GOLDEN.read_text() == text
        print("golden.json is current" if current else "golden.json is stale: run web/golden.py")
        return 0 if current else 1
    GOLDEN.write_text(text)
    print(f"wrote {GOLDEN.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
