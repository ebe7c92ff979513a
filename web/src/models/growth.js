// Chapter 7: tumour growth under angiogenic control (Hahnfeldt et al. 1999; tmebook/growth.py),
// integrated, as in Python, in log variables (ln V, ln K).
import { solve, linspace } from "../dopri5.js";

/** d lnV/dt = -lambda1 ln(V/K), d lnK/dt = -lambda2 + b V/K - d V^(2/3) (growth.hahnfeldt_rhs). */
export function rhs(lam1, b, d, lam2) {
  return (t, z) => [
    -lam1 * (z[0] - z[1]),
    -lam2 + b * Math.exp(z[0] - z[1]) - d * Math.exp((2 * z[0]) / 3),
  ];
}

/** V(t), K(t) (mm^3) from (V0, K0) at the sliders' stimulation b and inhibition d, with the
 * steady state V* = ((b - lambda2)/d)^(3/2). */
export function run(spec, settings, times) {
  const p = spec.parameters;
  const c = spec.constants;
  const b = settings.stimulation;
  const d = settings.inhibition;
  const t = times || linspace(0, c.t_end, c.n_points);
  const logs = solve(rhs(p.growth_rate, b, d, p.capacity_loss), 0,
    [Math.log(p.initial_volume), Math.log(p.initial_capacity)], t, spec.solver);
  const steady = Math.max(b - p.capacity_loss, 0) ** 1.5 / d ** 1.5;
  const volume = logs.map((z) => Math.exp(z[0]));
  const capacity = logs.map((z) => Math.exp(z[1]));
  const end = volume[volume.length - 1];
  return {
    x: t,
    series: { volume, capacity, steady: t.map(() => steady) },
    steady,
    summary: `steady state V* = ${fmt(steady)} mm³; after ${c.t_end} days the tumour holds ` +
      `${fmt(end)} mm³ (${Math.round((100 * end) / steady)} % of V*)`,
  };
}

function fmt(v) {
  return Number(v.toPrecision(3)).toLocaleString("en-GB");
}
