// Chapter 10: anti-angiogenic drugs in Hahnfeldt's model (tmebook/therapy.py). Each bolus D
// (mg/kg) is cleared at first order; the drug adds e g(t) to the loss rate of ln K. The
// solver restarts at every dose time, as therapy._treated_course does.
import { solve, linspace } from "../dopri5.js";
import { rhs as hahnfeldt } from "./growth.js";

/** t0, t0 + tau, ... up to t_end (therapy._doses_until and dose_times). */
export function doseTimes(start, interval, tEnd) {
  if (tEnd < start) return [];
  const n = Math.floor((tEnd - start) / interval + 1e-9) + 1;
  return Array.from({ length: n }, (_, k) => start + interval * k);
}

/** ln V, ln K of one course at `t` (increasing, from 0). */
function course(rates, agent, dose, doses, v0, k0, t, solver) {
  const tEnd = t[t.length - 1];
  const breaks = agent ? [...new Set(doses.filter((s) => s > 0 && s < tEnd))].sort((a, b) => a - b) : [];
  const edges = [0, ...breaks, tEnd];
  let y = [Math.log(v0), Math.log(k0)];
  const out = [];
  for (let s = 0; s + 1 < edges.length; s++) {
    const lo = edges[s], hi = edges[s + 1];
    const last = s + 2 === edges.length;
    const inside = t.filter((x) => x >= lo && (x < hi || last));
    const given = agent ? doses.filter((d) => d <= lo) : [];
    const f = (time, z) => {
      let g = 0;
      for (const d of given) g += dose * Math.exp(-agent.clearance * (time - d));
      const loss = rates.capacity_loss + (agent ? agent.efficacy * g : 0);
      return hahnfeldt(rates.growth_rate, rates.stimulation, rates.inhibition, loss)(time, z);
    };
    const times = inside[inside.length - 1] === hi ? inside : [...inside, hi];
    const states = solve(f, lo, y, times, solver);
    out.push(...states.slice(0, inside.length));
    y = states[states.length - 1];
  }
  return out;
}

/** Tumour volume under no treatment and under each agent at the sliders' dose, interval
 * and first day (therapy.live_treatment_panel's courses). */
export function run(spec, settings, times) {
  const c = spec.constants;
  const t = times || linspace(0, c.follow_up_days, c.n_points);
  const doses = doseTimes(settings.start_day, settings.dose_interval, c.follow_up_days);
  const series = {};
  for (const key of ["none", ...Object.keys(c.agents)]) {
    const agent = key === "none" ? null : c.agents[key];
    const logs = course(c.rates, agent, settings.dose, doses, c.initial_volume, c.initial_capacity, t, spec.solver);
    series[key] = logs.map((z) => Math.exp(z[0]));
  }
  const rate = settings.dose / settings.dose_interval;
  const day = c.follow_up_days;
  const fmt = (v) => Number(v.toPrecision(3)).toLocaleString("en-GB");
  const parts = Object.keys(c.agents).map((k) => `${k} ${fmt(series[k][series[k].length - 1])}`);
  const above = Object.keys(c.agents).filter((k) => rate > c.agents[k].eradication_dose_rate);
  return {
    x: t,
    series,
    summary: `day ${day}, tumour volume (mm³): untreated ${fmt(series.none[series.none.length - 1])}, ` +
      `${parts.join(", ")}. Dose rate ${fmt(rate)} mg/kg/day: ` +
      (above.length ? `above the eradication rate of ${above.join(" and ")}` : "below every eradication rate"),
  };
}
