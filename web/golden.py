"""Golden values for the live figures' JavaScript models (web/test/golden.json).

For each live figure: its specification (the JSON the book embeds in the page, from the
Python parameter sets: `_ext/tme_widgets.spec`), and at several slider settings, on both
sides of each threshold its chapter discusses, the model solved by SciPy at tight tolerance
(rtol 1e-10) from that same specification, with the outcome the chapter's own Python widget
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

from tme_widgets import spec  # noqa: E402

RTOL, ATOL = 1e-10, 1e-16
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


CASES = {"immune": immune_cases}
#: SciPy's solution of each live figure at any settings and output times (the browser test).
SOLUTIONS = {"immune": immune_solution}


def golden() -> dict:
    models = {}
    for name, make in CASES.items():
        s = spec(name)
        models[name] = {"spec": s, **make(s)}
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
