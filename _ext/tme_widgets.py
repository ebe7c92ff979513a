"""Live figures re-solved in the reader's browser ("Explore on the page", issue 15).

A chapter places one with the `live-figure` directive; its content is the caption:

    ```{live-figure} immune
    :alt: what the figure shows, in words (no numbers)
    Caption text (MyST).
    ```

At build time this extension

* emits, into the page, the model's specification as JSON from the Python parameter set
  (`spec(name)`): parameter values, the sliders' ranges, units and labels, the constants of
  the run and the solver's tolerances. The parameter sets stay the single source of truth;
  the JavaScript in `web/src/models/` holds only the right-hand sides and the solver
  (`web/src/dopri5.js`). The JSON is written when the page is written (never cached in a
  doctree), so a changed parameter set reaches the page at the next build;
* bundles `web/src/index.js` (uPlot, the solver, the models, the widget's CSS) with esbuild
  from `node_modules/` (`npm ci` at the top of the repository installs the pinned versions)
  into `_build/tme-widgets/`, an extra `html_static_path` folder (not the source `_static/`,
  whose every script Jupyter Book 1 adds to every page);
* adds that one script, with `defer`, only to the pages that hold a live figure.

Without JavaScript the live figure shows a note pointing to the chapter's static figure.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = "tme-widgets.js"
ENTRY = Path("web") / "src" / "index.js"
ESBUILD = Path("node_modules") / ".bin" / "esbuild"
PLACEHOLDER = "<!--tme-widget-spec:{name}-->"

if str(ROOT) not in sys.path:  # the model package of this checkout
    sys.path.insert(0, str(ROOT))


# --- the models' specifications (Python is the source of truth) ------------------------------


def _control(parameters, name: str, label: str, step: float, fmt: str) -> dict:
    """A slider from a parameter record: its range, default and units come from the record."""
    record = parameters[name]
    return {"name": name, "label": label, "units": record.units, "low": record.low,
            "high": record.high, "value": record.value, "step": step, "format": fmt,
            "description": record.description}


def _values(parameters, names) -> dict:
    return {name: parameters[name].value for name in names}


def _immune() -> dict:
    from tmebook import immune
    from tmebook.notebook import OKABE_ITO

    p = immune.PARAMETERS
    return {
        "model": "immune",
        "title": "Effector cells against a tumour in a resting host",
        "parameters": _values(p, ("sigma", "rho", "eta", "mu", "delta", "alpha", "beta")),
        "controls": [
            _control(p, "suppression", "suppression strength S", 0.01, "fixed2"),
            _control(p, "log10_initial_tumour", "initial tumour, log₁₀ cells", 0.05, "log10cells"),
        ],
        "constants": {
            "days_per_unit": immune.days_per_unit_time(),
            "follow_up_days": immune.FOLLOW_UP_DAYS,
            "scale_cells": immune.SCALE_CELLS,
            "n_points": 600,
            # as immune._classify: below one cell the tumour is eliminated; the outcome is
            # "escape" when the nearest stable state lies above 100 units (10^8 cells)
            "eliminated_below": immune.ONE_CELL,
            "escape_state_above": 100.0,
        },
        # the browser's solver; golden values (web/golden.py): SciPy at rtol 1e-12
        "solver": {"rtol": 1e-8, "atol": 1e-14},
        "colours": {"tumour": OKABE_ITO[3], "effectors": OKABE_ITO[0]},
        "panels": [{
            "x_label": "time (days)", "y_label": "cells", "log": True,
            "x_range": [0.0, immune.FOLLOW_UP_DAYS], "y_range": [1e3, 1e9],
            "series": [{"key": "tumour", "label": "tumour cells T"},
                       {"key": "effectors", "label": "effector cells E"}],
        }],
    }


def _growth() -> dict:
    from tmebook import growth
    from tmebook.notebook import OKABE_ITO

    p = growth.PARAMETERS
    return {
        "model": "growth",
        "title": "Tumour volume and its vascular carrying capacity",
        "parameters": _values(p, ("growth_rate", "capacity_loss", "initial_volume",
                                  "initial_capacity")),
        "controls": [
            _control(p, "stimulation", "vascular stimulation b", 0.05, "fixed2"),
            _control(p, "inhibition", "vascular inhibition d", 0.00001, "fixed5"),
        ],
        # the chapter follows the untreated tumour for 60 days (its figure of ln vs log10)
        "constants": {"t_end": 60.0, "n_points": 301, "floor": 0.0},
        # tolerances on ln V and ln K: relative on V and K (golden values: SciPy at 1e-12)
        "solver": {"rtol": 1e-8, "atol": 1e-10},
        "colours": {"volume": OKABE_ITO[0], "capacity": OKABE_ITO[1], "steady": "foreground"},
        "panels": [{
            "x_label": "time (days)", "y_label": "volume (mm³)", "log": True,
            "x_range": [0.0, 60.0], "y_range": [1e2, 1e6],
            "series": [{"key": "volume", "label": "tumour volume V"},
                       {"key": "capacity", "label": "carrying capacity K"},
                       {"key": "steady", "label": "steady state V* = K*", "dash": [6, 4],
                        "width": 1.5}],
        }],
    }


def _emt() -> dict:
    from tmebook import emt
    from tmebook.notebook import OKABE_ITO

    p = emt.PARAMETERS
    published = [name for name in p if p[name].source is not None]
    start = p["start_phenotype"]
    return {
        "model": "emt",
        "title": "The route of one cell to a steady state of the EMT circuit",
        "parameters": _values(p, published),
        "controls": [
            _control(p, "input_signal", "input signal I, 10³ molecules", 0.5, "fixed1"),
            {"name": "start_phenotype", "label": "starting state", "units": start.units,
             "choices": list(emt.PHENOTYPES), "low": 0, "high": len(emt.PHENOTYPES) - 1,
             "step": 1, "value": emt.PHENOTYPES.index(start.value), "format": "choice",
             "description": start.description},
        ],
        "constants": {
            "input_unit": 1e3, "zeb_unit": 1e3,
            # each phenotype's stable state at the reference input, where all three exist
            "start_states": {k: v.tolist() for k, v in emt.starting_states().items()},
            # the ZEB levels of the four saddle-nodes, which separate the phenotypes
            "fold_zeb": [z for _, z in emt.bifurcation_diagram().folds],
            "ecad_threshold": p["ecad_threshold"].value,
            "tables": {"translation": list(emt.TRANSLATION_FACTORS),
                       "mrna_decay": list(emt.MRNA_DECAY_FACTORS),
                       "mirna_decay": list(emt.MIRNA_DECAY_FACTORS),
                       "sites_zeb": emt.BINDING_SITES_ZEB, "sites_snail": emt.BINDING_SITES_SNAIL},
            # as emt.reach_steady_state: 1000 h, extended by 1000 h (at most four times)
            # while ZEB lies between two stable branches (a slow passage near a saddle-node)
            # or still changes by more than 5e-4 of itself per hour (about 1 % of the way to
            # a state whose slowest rate is a microRNA's decay, 0.05 /h)
            "t_end": 1000.0, "n_points": 301, "max_extensions": 4, "settle_rate": 5e-4,
            "floor": 1e-3,
        },
        "solver": {"rtol": 1e-8, "atol": 1e-6},
        "colours": {"zeb": OKABE_ITO[3], "ecadherin": OKABE_ITO[2]},
        "panels": [
            {"x_label": "time (h)", "y_label": "ZEB protein (10³ molecules)", "log": True,
             "y_range": [0.3, 2000.0],
             "series": [{"key": "zeb", "label": "ZEB protein"}]},
            {"x_label": "time (h)", "y_label": "E-cadherin-like (fraction of max)", "log": False,
             "y_range": [0.0, 1.05],
             "series": [{"key": "ecadherin", "label": "E-cadherin-like readout", "dash": [6, 4]}]},
        ],
    }


def _cafs() -> dict:
    from tmebook import cafs
    from tmebook.notebook import OKABE_ITO

    p = cafs.PARAMETERS
    return {
        "model": "cafs",
        "title": "Fibroblasts switching into CAFs, from two starting stromas",
        "parameters": _values(p, [name for name in p]),
        "controls": [
            _control(p, "activation_strength", "activation strength σ_T", 0.005, "fixed3"),
            _control(p, "caf_secretion", "CAF secretion σ_C", 0.05, "fixed2"),
            _control(p, "caf_growth_boost", "CAF growth boost ε", 0.05, "fixed2"),
        ],
        "constants": {
            "t_end": 120.0, "n_points": 241,  # as cafs.caf_response
            "few_cafs": list(cafs.FEW_CAFS), "many_cafs": list(cafs.MANY_CAFS),
            # the two runs end in different states (the loop's memory) when their CAF
            # fractions differ by more than this after the run
            "memory_gap": 0.1,
            "floor": 1e-6,
        },
        "solver": {"rtol": 1e-8, "atol": 1e-14},
        "colours": {"caf_few": OKABE_ITO[0], "caf_many": OKABE_ITO[1],
                    "tumour_few": OKABE_ITO[0], "tumour_many": OKABE_ITO[1]},
        "panels": [
            {"x_label": "time (days)", "y_label": "CAF fraction c", "log": False,
             "x_range": [0.0, 120.0], "y_range": [0.0, 0.65],
             "series": [{"key": "caf_few", "label": "from few CAFs"},
                        {"key": "caf_many", "label": "from many CAFs", "dash": [6, 4]}]},
            {"x_label": "time (days)", "y_label": "tumour burden τ", "log": False,
             "x_range": [0.0, 120.0], "y_range": [0.0, 1.05],
             "series": [{"key": "tumour_few", "label": "from few CAFs"},
                        {"key": "tumour_many", "label": "from many CAFs", "dash": [6, 4]}]},
        ],
    }


def _ecosystem() -> dict:
    from tmebook import ecosystem
    from tmebook.notebook import OKABE_ITO

    p = ecosystem.PARAMETERS
    names = ecosystem.STRATEGY_NAMES
    return {
        "model": "ecosystem",
        "title": "Stroma and tumour cells in the game of Basanta et al.",
        "parameters": {},
        "controls": [
            _control(p, "alpha", "cooperation benefit α", 0.02, "fixed2"),
            _control(p, "beta", "cost of dependence β", 0.02, "fixed2"),
            _control(p, "gamma", "cost of independence γ", 0.02, "fixed2"),
            _control(p, "rho", "growth-factor benefit ρ", 0.02, "fixed2"),
        ],
        "constants": {
            # as ecosystem.game_run: from the seed over 200 time units, 200 points
            "t_end": 200.0, "n_points": 200, "seed": ecosystem.SEED.tolist(),
            "strategies": list(ecosystem.STRATEGIES), "present": ecosystem.PRESENT,
            "outcomes": dict(ecosystem.OUTCOMES),
            "floor": ecosystem.PRESENT,
        },
        "solver": {"rtol": 1e-8, "atol": 1e-12},
        "colours": {"S": OKABE_ITO[2], "D": OKABE_ITO[0], "I": OKABE_ITO[3]},
        "panels": [{
            "x_label": "time (inverse payoff units)", "y_label": "frequency", "log": False,
            "x_range": [0.0, 200.0], "y_range": [0.0, 1.0],
            "series": [{"key": "S", "label": f"S: {names['S']}"},
                       {"key": "D", "label": f"D: {names['D']}", "dash": [6, 4]},
                       {"key": "I", "label": f"I: {names['I']}", "dash": [2, 3]}],
        }],
    }


def _therapy() -> dict:
    from tmebook import growth, therapy
    from tmebook.notebook import OKABE_ITO

    p, g = therapy.PARAMETERS, growth.PARAMETERS
    keys = {"TNP-470": "tnp470", "angiostatin": "angiostatin", "endostatin": "endostatin"}
    agents = {}
    for agent in therapy.WIDGET_AGENTS:
        efficacy = p[f"efficacy_{keys[agent]}"].value
        clearance = p[f"clearance_{keys[agent]}"].value
        agents[agent] = {"efficacy": efficacy, "clearance": clearance,
                         "eradication_dose_rate": therapy.eradication_dose_rate(efficacy, clearance)}
    return {
        "model": "therapy",
        "title": "A tumour under three anti-angiogenic drugs",
        "parameters": {},
        "controls": [
            _control(p, "dose", "dose of each bolus D", 0.5, "fixed1"),
            _control(p, "dose_interval", "interval between doses τ", 0.125, "general"),
            _control(p, "start_day", "day of the first dose t₀", 0.5, "fixed1"),
        ],
        "constants": {
            "follow_up_days": therapy.FOLLOW_UP_DAYS, "n_points": therapy.WIDGET_POINTS,
            "agents": agents,
            "rates": _values(g, ("growth_rate", "stimulation", "inhibition", "capacity_loss")),
            "initial_volume": g["initial_volume"].value,
            "initial_capacity": g["initial_capacity"].value,
            "floor": 1e-6,
        },
        "solver": {"rtol": 1e-8, "atol": 1e-10},
        # as chapter 10's figures: untreated in blue (dotted), the agents in OKABE_ITO[1:4]
        "colours": {"none": OKABE_ITO[0], **dict(zip(therapy.WIDGET_AGENTS, OKABE_ITO[1:4]))},
        "panels": [{
            "x_label": "day", "y_label": "tumour volume (mm³)", "log": True,
            "x_range": [0.0, therapy.FOLLOW_UP_DAYS], "y_range": [1.0, 3e4],
            "series": [{"key": "none", "label": "no treatment", "dash": [2, 3]},
                       *({"key": agent, "label": agent} for agent in therapy.WIDGET_AGENTS)],
        }],
    }


SPECS = {"immune": _immune, "growth": _growth, "emt": _emt, "cafs": _cafs,
         "ecosystem": _ecosystem, "therapy": _therapy}


def spec(name: str) -> dict:
    """The JSON-ready specification of live figure `name`."""
    if name not in SPECS:
        raise ValueError(f"name must be one of {', '.join(SPECS)}, got {name!r}")
    return SPECS[name]()


# --- the directive ------------------------------------------------------------------------


class LiveFigure(SphinxDirective):
    required_arguments = 1
    has_content = True
    option_spec: ClassVar[dict] = {"alt": directives.unchanged_required}

    def run(self):
        name = self.arguments[0]
        if name not in SPECS:
            raise self.error(f"live-figure: unknown model {name!r} (known: {', '.join(SPECS)})")
        if "alt" not in self.options:
            raise self.error("live-figure: give the figure an :alt: text")
        alt = html.escape(" ".join(self.options["alt"].split()), quote=True)
        start = (f'<figure class="tme-widget" id="live-{name}" data-widget="{name}" '
                 f'data-alt="{alt}">\n'
                 '<div class="tme-widget-app"><p class="tme-widget-nojs">This live figure '
                 'needs JavaScript; the static figure above shows the model at its default '
                 'settings.</p></div>\n'
                 + PLACEHOLDER.format(name=name) + "\n<figcaption>\n")
        caption = nodes.container()
        self.state.nested_parse(self.content, self.content_offset, caption)
        return [nodes.raw("", start, format="html"), *caption.children,
                nodes.raw("", "</figcaption>\n</figure>\n", format="html")]


# --- build: bundle, embed the specifications, add the script where needed --------------------


def _static_folder(app) -> Path:
    return Path(app.outdir).parent / "tme-widgets"


def bundle(root: Path, target: Path) -> Path:
    """Bundle the widgets' JavaScript (and CSS) with the pinned esbuild into target/."""
    esbuild = root / ESBUILD
    if not esbuild.exists():
        raise ExtensionError(f"{esbuild} is missing: run `npm ci` at the top of the repository "
                             "(`make book` does) to install the pinned uPlot and esbuild")
    target.mkdir(parents=True, exist_ok=True)
    out = target / BUNDLE
    run = subprocess.run(
        [str(esbuild), str(root / ENTRY), "--bundle", "--minify", "--format=iife",
         "--target=es2019", "--loader:.css=text", "--legal-comments=none", "--log-level=warning",
         f"--outfile={out}"], check=False, cwd=root, capture_output=True, text=True)
    if run.returncode != 0 or run.stderr.strip():
        raise ExtensionError(f"esbuild failed to bundle {ENTRY}:\n{run.stdout}{run.stderr}")
    return out


def _uses_live_figures(srcdir) -> bool:
    """Whether any markdown source of the book places a live figure (folders starting with
    _ or ., node_modules and web are not the book's)."""
    for folder, subfolders, files in os.walk(srcdir):
        subfolders[:] = [d for d in subfolders if not d.startswith(("_", "."))
                         and d not in ("node_modules", "web")]
        for name in files:
            if name.endswith(".md") and "{live-figure}" in Path(folder, name).read_text(
                    encoding="utf-8", errors="replace"):
                return True
    return False


def _builder_inited(app):
    # a book without live figures (tests/test_build.py's small book) needs no bundle
    if app.builder.format != "html" or not _uses_live_figures(app.srcdir):
        return
    target = _static_folder(app)
    bundle(ROOT, target)
    app.config.html_static_path.append(str(target))


def _script_of(name: str) -> str:
    text = json.dumps(spec(name), ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/json" class="tme-widget-spec">{text}</script>'


def _all_scripts() -> dict[str, str]:
    return {name: _script_of(name) for name in SPECS}


#: Each specification's script, made once per build process (all take about 1.5 s of CPU,
#: the immune model's manifold most of it).
_SCRIPTS: dict[str, str] = {}
#: While the pages are written, the scripts are being made on a spare core (`_start_scripts`).
_PENDING: dict[str, object] = {}


def _start_scripts(app, env):
    """When reading ends and pages with a live figure were read (so they will be written),
    make the specifications in a forked process: the pages are written on one process
    (_ext/book_html.py says why), so a core is free for them, and writing does not stop for
    them at the first such page."""
    if app.builder.format != "html" or _PENDING or _SCRIPTS \
            or not getattr(app, "tme_widgets_pages_read", False):
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    _PENDING.update(pool=pool, scripts=pool.submit(_all_scripts))


def _collect_scripts(*_args):
    """The forked process's scripts, if it was started; on any failure nothing, so that
    `_spec_script` makes the script here and the error shows with its own traceback."""
    if not _PENDING:
        return
    pool, scripts = _PENDING.pop("pool"), _PENDING.pop("scripts")
    try:
        _SCRIPTS.update(scripts.result())
    except Exception:  # noqa: BLE001, S110 - made again in this process, where it raises
        pass
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _spec_script(name: str) -> str:
    _collect_scripts()
    if name not in _SCRIPTS:
        _SCRIPTS[name] = _script_of(name)
    return _SCRIPTS[name]


def _page_context(app, pagename, templatename, context, doctree):
    body = context.get("body", "")
    if 'class="tme-widget"' not in body:
        return
    for name in SPECS:
        if PLACEHOLDER.format(name=name) in body:
            body = body.replace(PLACEHOLDER.format(name=name), _spec_script(name))
    context["body"] = body
    app.add_js_file(BUNDLE, loading_method="defer")


def _sources_hash() -> str:
    """What the specifications and the bundle are made from: the model package, this file,
    the JavaScript sources and the npm lock file."""
    digest = hashlib.sha256()
    paths = sorted((ROOT / "tmebook").rglob("*.py")) + sorted((ROOT / "web" / "src").rglob("*"))
    for path in [*paths, Path(__file__), ROOT / "package-lock.json"]:
        if path.is_file():
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _outdated(app, env, added, changed, removed):
    """Pages with a live figure are written again when the model package or the bundle's
    sources change: their specification is embedded when a page is written, and Sphinx
    rewrites only pages it reads again (and copies the new bundle into the site, with a
    new ?v= checksum in the pages, only when it writes a page)."""
    def has_live_figure(doc):
        return "{live-figure}" in Path(env.doc2path(doc)).read_text(encoding="utf-8")

    current = _sources_hash()
    outdated = []
    if getattr(env, "tme_widgets_sources", None) != current:
        env.tme_widgets_sources = current
        outdated = [doc for doc in env.found_docs
                    if doc not in added | changed | removed and has_live_figure(doc)]
    # read now, so written later: `_start_scripts` makes their specifications meanwhile
    app.tme_widgets_pages_read = bool(outdated) or any(map(has_live_figure, added | changed))
    return outdated


def setup(app):
    app.add_directive("live-figure", LiveFigure)
    app.connect("builder-inited", _builder_inited)
    app.connect("html-page-context", _page_context)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-updated", _start_scripts)
    app.connect("build-finished", _collect_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
