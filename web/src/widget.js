// One live figure: sliders built from the specification the book embeds in the page, a model
// re-solved on every move, and uPlot charts redrawn in place.
import uPlot from "uplot";

const FORMATS = {
  int: (v) => Math.round(v).toLocaleString("en-GB"),
  fixed1: (v) => v.toFixed(1),
  fixed2: (v) => v.toFixed(2),
  fixed3: (v) => v.toFixed(3),
  fixed4: (v) => v.toFixed(4),
  fixed5: (v) => v.toFixed(5),
  general: (v) => Number(v.toPrecision(3)).toLocaleString("en-GB"),
  log10cells: (v) => `${Number((10 ** v).toPrecision(2)).toLocaleString("en-GB")} cells`,
};

export function formatValue(control, value) {
  if (control.format === "choice") return String(control.choices[Math.round(value)]);
  const text = (FORMATS[control.format] || FORMATS.general)(value);
  const units = control.units;
  // dimensionless: "1", "1 (payoff)", "dimensionless", "—"
  if (control.format === "log10cells" || !units || /^1( |$)/.test(units) ||
      units === "dimensionless" || units === "—") {
    return text;
  }
  return /^[0-9]/.test(units) ? `${text} × ${units}` : `${text} ${units}`;
}

function el(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function themeColours(figure) {
  const style = getComputedStyle(figure);
  return {
    fg: style.getPropertyValue("--tw-fg").trim() || "#1f1f1f",
    muted: style.getPropertyValue("--tw-muted").trim() || "#4a4a4a",
    grid: style.getPropertyValue("--tw-grid").trim() || "rgba(0,0,0,0.12)",
  };
}

/** Data for uPlot: x, then each series; on a log axis, values <= 0 are gaps. */
function panelData(panel, result) {
  const x = panel.x ? result.xs[panel.x] : result.x;
  const columns = panel.series.map((s) => {
    const values = result.series[s.key];
    return panel.log ? values.map((v) => (v > 0 ? v : null)) : values;
  });
  return [x, ...columns];
}

/** A series' colour: from the specification, or the widget's text colour ("foreground"). */
function colourOf(spec, key, colours) {
  const c = spec.colours[key];
  return c === "foreground" ? colours.fg : c;
}

function makePlot(figure, spec, panel, host, data, width) {
  const colours = themeColours(figure);
  const axis = (label) => ({
    label,
    stroke: colours.fg,
    grid: { stroke: colours.grid, width: 1 },
    ticks: { stroke: colours.grid, width: 1 },
    font: "12px system-ui, sans-serif",
    labelFont: "13px system-ui, sans-serif",
  });
  const yAxis = axis(panel.y_label);
  yAxis.size = 64;
  if (panel.log) {
    // decades only: labels 10ⁿ, and grid lines and ticks at the decades
    const decades = (u, splits) => splits.map((t) => (isDecade(t) ? t : null));
    yAxis.filter = decades;
    yAxis.grid.filter = decades;
    yAxis.ticks.filter = decades;
    yAxis.values = (u, ticks) => ticks.map((t) =>
      (t !== null && isDecade(t) ? `10${superscript(Math.round(Math.log10(t)))}` : ""));
  }
  const opts = {
    width,
    height: panel.height || 280,
    legend: { show: false },
    cursor: { show: false },
    scales: {
      x: { time: false, range: panel.x_range ? () => panel.x_range : undefined },
      y: panel.log
        ? { distr: 3, log: 10, range: () => panel.y_range }
        : { range: panel.y_range ? () => panel.y_range : undefined },
    },
    axes: [axis(panel.x_label), yAxis],
    series: [{}, ...panel.series.map((s) => ({
      label: s.label,
      stroke: colourOf(spec, s.key, colours),
      width: s.width || 2,
      dash: s.dash,
      points: { show: Boolean(s.points), size: 7, fill: colourOf(spec, s.key, colours) },
      paths: s.points ? () => null : undefined,
    }))],
  };
  return new uPlot(opts, data, host);
}

function isDecade(t) {
  const e = Math.round(Math.log10(t));
  return Math.abs(t - 10 ** e) < 1e-9 * t;
}

function superscript(n) {
  const map = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
  return String(n).split("").map((c) => map[c]).join("");
}

export function mount(figure, models) {
  const app = figure.querySelector(".tme-widget-app");
  const specNode = figure.querySelector("script.tme-widget-spec");
  const name = figure.dataset.widget;
  const model = models[name];
  if (!app || !specNode || !model) return null;
  const spec = JSON.parse(specNode.textContent);
  const id = figure.id || `live-${name}`;
  app.textContent = "";

  const title = el("p", { class: "tme-widget-title" }, spec.title);
  const controls = el("div", { class: "tme-widget-controls" });
  const settings = {};
  const inputs = [];
  for (const control of spec.controls) {
    const inputId = `${id}-${control.name}`;
    settings[control.name] = control.value;
    const label = el("label", { for: inputId }, control.label);
    const input = el("input", {
      type: "range", id: inputId, name: control.name, min: control.low, max: control.high,
      step: control.step, value: control.value, "aria-valuetext": formatValue(control, control.value),
    });
    input.value = String(control.value);
    const output = el("output", { for: inputId, id: `${inputId}-value` }, formatValue(control, control.value));
    input.addEventListener("input", () => {
      const v = Number(input.value);
      settings[control.name] = v;
      const text = formatValue(control, v);
      output.textContent = text;
      input.setAttribute("aria-valuetext", text);
      update();
    });
    controls.append(label, input, output);
    inputs.push(input);
  }
  const summary = el("p", { class: "tme-widget-summary", "aria-live": "polite" });
  const plots = el("div", {
    class: "tme-widget-plots", role: "img", "aria-label": figure.dataset.alt || spec.title,
  });
  const key = el("ul", { class: "tme-widget-key", "aria-label": "key" });
  const seen = new Set();
  for (const panel of spec.panels) {
    for (const s of panel.series) {
      const entry = `${s.label}|${spec.colours[s.key]}|${s.dash || ""}`;
      if (seen.has(entry)) continue;  // the same line in two charts is listed once
      seen.add(entry);
      const item = el("li");
      const swatch = el("span", { class: "tme-widget-swatch", "aria-hidden": "true" });
      swatch.style.borderTopColor = spec.colours[s.key] === "foreground" ? "var(--tw-fg)" : spec.colours[s.key];
      if (s.dash) swatch.style.borderTopStyle = "dashed";
      item.append(swatch, document.createTextNode(s.label));
      key.append(item);
    }
  }
  const hosts = spec.panels.map(() => el("div", { class: "tme-widget-plot" }));
  plots.append(...hosts);
  app.append(title, controls, summary, key, plots);

  const state = { spec, settings, inputs, result: null, plots: [], lastMs: NaN, times: [] };
  figure.tmeWidget = state;

  function width(host) {
    return Math.max(200, Math.floor(host.clientWidth || app.clientWidth || 600));
  }

  function build() {
    state.plots.forEach((p) => p.destroy());
    state.plots = spec.panels.map((panel, i) =>
      makePlot(figure, spec, panel, hosts[i], panelData(panel, state.result), width(hosts[i])));
  }

  function update() {
    const start = performance.now();
    try {
      state.result = model.run(spec, settings);
    } catch (error) {
      summary.textContent = `The model could not be solved at these settings (${error.message}).`;
      return;
    }
    summary.textContent = state.result.summary;
    if (state.plots.length) {
      spec.panels.forEach((panel, i) => state.plots[i].setData(panelData(panel, state.result), true));
    } else {
      build();
    }
    state.lastMs = performance.now() - start;
    state.times.push(state.lastMs);
  }

  update();
  // the theme's light/dark switch: redraw with the widget's colours for that mode
  new MutationObserver(build).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  if (typeof ResizeObserver !== "undefined") {
    let lastWidth = app.clientWidth;
    new ResizeObserver(() => {
      if (app.clientWidth === lastWidth) return;
      lastWidth = app.clientWidth;
      state.plots.forEach((p, i) => p.setSize({ width: width(hosts[i]), height: p.height }));
    }).observe(app);
  }
  return state;
}
