"""The live figures re-solved in the reader's browser (issue 15; `_ext/tme_widgets.py`).

* The JavaScript models agree with SciPy: `node --test web/test/` compares each with golden
  values (web/golden.py: SciPy, DOP853 at rtol 1e-12, from the same specification the page embeds),
  within 1e-6 relative, at settings on both sides of the chapter's thresholds; the golden
  values must be current (same specification, same numbers, same outcomes).
* The specification comes from the parameter sets (ranges, defaults, units).
* The built site: the bundle is loaded, with `defer`, by exactly the pages that hold a live
  figure; each such page embeds its figure's current specification; the figure adds at most
  50 KB gzip.
* In a real browser (one function per page, `check_live_figures`): every slider works from the
  keyboard, the drawn data agree with SciPy, no request leaves the site, axe-core finds no
  violation in the figure in light and dark mode, and with JavaScript off the page still
  shows the chapter's static figure. The update time (median of 20 moves) is recorded in
  _build/widget-timings.json, not asserted.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))

import tme_widgets  # noqa: E402
from conftest import probe_result, register_probe  # noqa: E402
from test_browser import AXE  # noqa: E402

GOLDEN = ROOT / "web" / "test" / "golden.json"
TIMINGS = ROOT / "_build" / "widget-timings.json"
WEIGHT_LIMIT = 50_000  # bytes, gzip: what one live figure may add to its page


def _golden_module():
    spec = importlib.util.spec_from_file_location("web_golden", ROOT / "web" / "golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


golden_tool = _golden_module()


def live_figure_pages() -> dict[str, list[str]]:
    """Pages (as in _toc.yml) holding live figures, with the figures' names, from the sources."""
    pages = {}
    for path in sorted((ROOT / "chapters").glob("*.md")):
        names = re.findall(r"^```\{live-figure\}\s+(\S+)", path.read_text(), flags=re.MULTILINE)
        if names:
            pages[f"chapters/{path.stem}"] = names
    return pages


def relative_difference(got, expected, floor: float) -> float:
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape
    return float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), floor)))


# --- JavaScript against Python, without a browser ------------------------------------------


def test_every_live_figure_has_a_javascript_model_and_golden_values():
    golden = json.loads(GOLDEN.read_text())
    used = {name for names in live_figure_pages().values() for name in names}
    assert used, "no chapter holds a live figure"
    assert used <= set(tme_widgets.SPECS)
    assert set(golden["models"]) == set(tme_widgets.SPECS) == set(golden_tool.CASES)
    index = (ROOT / "web" / "src" / "models" / "index.js").read_text()
    for name in tme_widgets.SPECS:
        assert re.search(rf"\b{name}\b", index), f"web/src/models/index.js does not export {name}"


def test_golden_values_are_current():
    """Same specification as the book embeds now, and the same numbers and outcomes from
    SciPy and the chapters' Python models (a changed parameter set or model must be followed
    by `python web/golden.py`)."""
    stored = json.loads(GOLDEN.read_text())
    fresh = json.loads(json.dumps(golden_tool.golden()))
    assert set(fresh["models"]) == set(stored["models"])
    for name, entry in stored["models"].items():
        now = fresh["models"][name]
        assert entry["spec"] == now["spec"], f"{name}: specification changed: run web/golden.py"
        assert entry.get("outcomes") == now.get("outcomes"), name
        assert len(entry["cases"]) == len(now["cases"])
        for case, current in zip(entry["cases"], now["cases"]):
            assert (case["settings"], case["times"], case.get("outcome")) == (
                current["settings"], current["times"], current.get("outcome")), name
            for key, values in case["series"].items():
                diff = relative_difference(current["series"][key], values, entry["floor"])
                assert diff <= 1e-9, f"{name} {case['settings']} {key}: {diff:.1e}: run web/golden.py"


def test_golden_cases_lie_on_both_sides_of_the_thresholds():
    """The cases reach every outcome the chapter discusses."""
    golden = json.loads(GOLDEN.read_text())
    outcomes = {c["outcome"] for c in golden["models"]["immune"]["cases"]}
    assert {"dormant", "escape"} <= outcomes
    emt = golden["models"]["emt"]
    routes = {(c["settings"]["start_phenotype"], c["outcome"]) for c in emt["cases"] + emt["outcomes"]}
    assert {(0, "E"), (0, "E/M"), (0, "M"), (1, "E"), (1, "E/M"), (1, "M"), (2, "E"), (2, "M")} <= routes


def test_javascript_models_agree_with_scipy():
    node = shutil.which("node")
    assert node, "node is missing: `make test` installs Debian's npm (with nodejs)"
    run = subprocess.run([node, "--test", "web/test/"], check=False, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    print("\n".join(line for line in run.stdout.splitlines() if "e-" in line and "{" in line))


@pytest.mark.parametrize("name", sorted(tme_widgets.SPECS))
def test_specification_comes_from_the_parameter_sets(name):
    import importlib

    s = tme_widgets.spec(name)
    module = importlib.import_module(f"tmebook.{s['model']}")
    for control in s["controls"]:
        record = module.PARAMETERS[control["name"]]
        if "choices" in control:  # a choice on a slider: its index
            assert control["choices"][control["value"]] == record.value
            assert record.domain.choices == tuple(control["choices"])
        else:
            assert (control["low"], control["high"], control["value"], control["units"]) == (
                record.low, record.high, record.value, record.units)
            steps = (control["high"] - control["low"]) / control["step"]
            assert steps >= 20, f"{control['name']}: too coarse a slider"
        # the default lies on the slider's grid: the first drawing is the slider's position
        offset = (control["value"] - control["low"]) / control["step"]
        assert abs(offset - round(offset)) < 1e-9, control["name"]
    for key, value in s["parameters"].items():
        assert value == module.PARAMETERS[key].value
    with pytest.raises(ValueError, match="^name"):
        tme_widgets.spec("no such figure")


# --- the built site ------------------------------------------------------------------------


def _bundle_tags(page_html: str) -> list[str]:
    return re.findall(r"<script[^>]*tme-widgets\.js[^>]*>", page_html)


@pytest.mark.slow
def test_a_specification_lost_on_the_spare_core_is_made_again_here():
    """The build makes the specifications on a forked process while it writes pages
    (`_start_scripts`); if that process fails, each is made in the build's own process,
    where an error would show with its own traceback, and the pool is let go."""
    from concurrent.futures import Future

    class Pool:
        shut = False

        def shutdown(self, **_):
            self.shut = True

    lost, pool = Future(), Pool()
    lost.set_exception(RuntimeError("the process died"))
    made_before = dict(tme_widgets._SCRIPTS)
    tme_widgets._SCRIPTS.clear()
    tme_widgets._PENDING.update(pool=pool, scripts=lost)
    try:
        assert tme_widgets._spec_script("growth") == tme_widgets._script_of("growth")
        assert pool.shut and not tme_widgets._PENDING
    finally:
        tme_widgets._SCRIPTS.clear()
        tme_widgets._SCRIPTS.update(made_before)


def test_bundle_only_on_pages_with_a_live_figure(site):
    pages = live_figure_pages()
    for path in sorted(site.rglob("*.html")):
        name = path.relative_to(site).with_suffix("").as_posix()
        text = path.read_text()
        tags = _bundle_tags(text)
        if name in pages:
            assert len(tags) == 1 and " defer" in tags[0], (name, tags)
            for figure in pages[name]:
                assert f'data-widget="{figure}"' in text
        else:
            assert not tags, f"{name} loads the live figures' bundle without holding one"
            assert 'class="tme-widget"' not in text


@pytest.mark.slow
def test_live_figure_pages_embed_the_current_specification_and_stay_light(site):
    bundle = site / "_static" / tme_widgets.BUNDLE
    assert bundle.exists()
    bundle_gzip = len(gzip.compress(bundle.read_bytes(), 9))
    weights = {}
    for name, figures in live_figure_pages().items():
        text = (site / f"{name}.html").read_text()
        specs = re.findall(r'<script type="application/json" class="tme-widget-spec">(.*?)</script>',
                           text, flags=re.DOTALL)
        assert len(specs) == len(figures)
        for figure, embedded in zip(figures, specs):
            assert json.loads(embedded.replace("<\\/", "</")) == json.loads(
                json.dumps(tme_widgets.spec(figure)))
        blocks = re.findall(r'<figure class="tme-widget".*?</figure>', text, flags=re.DOTALL)
        assert len(blocks) == len(figures)
        # the script, and each figure's HTML with its embedded specification
        added = bundle_gzip + sum(len(gzip.compress(b.encode(), 9)) for b in blocks)
        weights[name] = added
        assert added <= WEIGHT_LIMIT, f"{name}: the live figure adds {added} bytes gzip"
    print(f"bundle {bundle_gzip} bytes gzip; added per page: {weights}")


# --- a real browser ------------------------------------------------------------------------


def _drawn(page, figure_id):
    """What the figure's charts hold now: x and each series, per chart (uPlot's data)."""
    return page.evaluate("""id => {
        const w = document.getElementById(id).tmeWidget;
        return {settings: {...w.settings}, outcome: w.result.outcome,
                plots: w.plots.map(p => p.data.map(col => Array.from(col, v => v === null ? null : v)))};
    }""", figure_id)


def _check_drawn_against_scipy(page, name):
    spec = tme_widgets.spec(name)
    drawn = _drawn(page, f"live-{name}")
    worst = 0.0
    for panel, data in zip(spec["panels"], drawn["plots"]):
        x = data[0]
        expected = golden_tool.SOLUTIONS[name](spec, drawn["settings"], x)
        if "outcome" in expected:
            assert drawn["outcome"] == expected["outcome"]
        for series, values in zip(panel["series"], data[1:]):
            want = np.asarray(expected["series"][series["key"]], dtype=float)
            got = np.array([np.nan if v is None else v for v in values], dtype=float)
            shown = ~np.isnan(got)  # a log axis leaves values <= 0 as gaps
            assert np.all(want[~shown] <= 0)
            floor = json.loads(GOLDEN.read_text())["models"][name]["floor"]
            worst = max(worst, relative_difference(got[shown], want[shown], floor))
    assert worst <= 1e-6, f"{name} at {drawn['settings']}: {worst:.1e}"
    return worst


def _move_timings(page, figure_id, moves=20):
    """Milliseconds from a slider's input event to the end of the redraw, for `moves` moves
    (right and left in turn) of the first slider."""
    return page.evaluate("""async ([id, moves]) => {
        const input = document.getElementById(id).querySelector('input[type=range]');
        const times = [];
        for (let i = 0; i < moves; i++) {
            const start = performance.now();
            if (i % 2 === 0) input.stepUp(); else input.stepDown();
            input.dispatchEvent(new Event('input', {bubbles: true}));
            await new Promise(r => setTimeout(r, 0));  // uPlot draws in a microtask
            times.push(performance.now() - start);
        }
        return times;
    }""", [figure_id, moves])


def _axe_violations(page, selector):
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("async s => await axe.run(s, {resultTypes: ['violations']})", selector)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]]


def check_live_figures(page, name, figures):
    """Every check of the live figures on one page, already open in `page`. Returns, per
    figure, the largest difference from SciPy and the update times (ms)."""
    report = {}
    for figure in figures:
        figure_id = f"live-{figure}"
        spec = tme_widgets.spec(figure)
        root = page.locator(f"#{figure_id}")
        root.scroll_into_view_if_needed()
        assert root.locator(".tme-widget-nojs").count() == 0, "the live figure did not start"
        sliders = root.locator("input[type=range]")
        assert sliders.count() == len(spec["controls"])
        worst = _check_drawn_against_scipy(page, figure)
        # keyboard: each slider to its ends and one step, the figure redrawn each time
        for i, control in enumerate(spec["controls"]):
            slider = sliders.nth(i)
            label = root.locator(f"label[for='{slider.get_attribute('id')}']")
            assert label.inner_text().strip() == control["label"]
            slider.focus()
            for key, expected in (("End", control["high"]), ("Home", control["low"]),
                                  ("ArrowRight", control["low"] + control["step"])):
                before = _drawn(page, figure_id)
                slider.press(key)
                after = _drawn(page, figure_id)
                assert after["settings"][control["name"]] == pytest.approx(expected), (key, control)
                assert after["plots"] != before["plots"], f"{control['name']}: {key} did not redraw"
                assert slider.get_attribute("aria-valuetext")
            worst = max(worst, _check_drawn_against_scipy(page, figure))
            slider.fill(str(control["value"]))  # back to the default (fires the input event)
            assert _drawn(page, figure_id)["settings"][control["name"]] == pytest.approx(
                control["value"])
        worst = max(worst, _check_drawn_against_scipy(page, figure))
        times = _move_timings(page, figure_id)
        # accessibility of the figure, light and dark
        violations = {}
        for mode in ("light", "dark"):
            page.evaluate("m => document.documentElement.setAttribute('data-theme', m)", mode)
            page.wait_for_timeout(50)
            violations[mode] = _axe_violations(page, f"#{figure_id}")
        assert not any(violations.values()), violations
        report[figure] = {"largest_relative_difference": worst,
                          "update_ms_median": statistics.median(times), "update_ms": times}
    return report


# in the shared visit of each page that holds live figures (it moves their sliders)
register_probe("live_figures", pages=lambda name: name in live_figure_pages(), changes_page=True,
               python=lambda page, name, width: check_live_figures(page, name, live_figure_pages()[name]))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(live_figure_pages()))
def test_live_figures_in_a_real_browser(visits, name):
    record = visits(name)
    report = probe_result(record, "live_figures")
    assert not record["console"], record["console"]
    assert not record["failed"], record["failed"]
    assert not record["external"], f"requests leaving the site: {record['external']}"
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    timings.update(report)
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS.write_text(json.dumps(timings, indent=1))
    print(json.dumps({k: {"largest_relative_difference": v["largest_relative_difference"],
                          "update_ms_median": v["update_ms_median"]} for k, v in report.items()}))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(live_figure_pages()))
def test_without_javascript_the_static_figure_remains(browser, server, name):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{server}/{name}.html")
        for figure in live_figure_pages()[name]:
            note = page.locator(f"#live-{figure} .tme-widget-nojs")
            assert note.is_visible()
        static = page.locator("figure img")
        assert static.count() >= 1 and static.first.get_attribute("alt")
    finally:
        context.close()

