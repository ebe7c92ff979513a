// Chapter 3: the paracrine loop that switches fibroblasts into CAFs (tmebook/cafs.py).
// tau: tumour burden (fraction of capacity), c: CAF fraction of the fibroblast pool; days.
import { solve, linspace } from "../dopri5.js";

/** d(tau, c)/dt (cafs.rhs). */
export function rhs(p) {
  return (t, y) => {
    const [tau, c] = y;
    const s = Math.max(p.activation_strength * tau + p.caf_secretion * c, 0);
    const sn = s ** p.hill;
    const growth = p.tumour_growth * (1 + p.caf_growth_boost * c);
    return [
      growth * tau * (1 - tau) - p.drug_kill * tau,
      p.activation_rate * (sn / (1 + sn)) * (1 - c) - p.caf_loss * c,
    ];
  };
}

const clip = (v) => Math.min(1, Math.max(0, v));

/** The two runs of the chapter's panel (a small tumour in a stroma with few CAFs, and in
 * one already rich in CAFs), clipped to [0, 1] as cafs.simulate does. */
export function run(spec, settings, times) {
  const c = spec.constants;
  const p = { ...spec.parameters, ...settings };
  const t = times || linspace(0, c.t_end, c.n_points);
  const f = rhs(p);
  const few = solve(f, 0, c.few_cafs, t, spec.solver);
  const many = solve(f, 0, c.many_cafs, t, spec.solver);
  const cFew = few.map((y) => clip(y[1]));
  const cMany = many.map((y) => clip(y[1]));
  const endFew = cFew[cFew.length - 1];
  const endMany = cMany[cMany.length - 1];
  const apart = Math.abs(endMany - endFew) > c.memory_gap;
  return {
    x: t,
    series: {
      caf_few: cFew, caf_many: cMany,
      tumour_few: few.map((y) => clip(y[0])), tumour_many: many.map((y) => clip(y[0])),
    },
    outcome: apart ? "two states" : "one state",
    summary: `after ${c.t_end} days: CAF fraction ${endFew.toFixed(2)} from few CAFs, ` +
      `${endMany.toFixed(2)} from many CAFs` +
      (apart ? " (the stroma remembers where it started)" : " (both starts end alike)"),
  };
}
