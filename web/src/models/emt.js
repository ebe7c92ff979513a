// Chapter 6: the miR-34/SNAIL/miR-200/ZEB circuit of Lu et al. (2013) (tmebook/emt.py).
// State (mu200, mZ, Z, mu34, mS, S) in molecules, time in hours; the input I in molecules.
import { solve, linspace } from "../dopri5.js";

function hill(x, threshold, n, fold) {
  const repression = 1 / (1 + (x / threshold) ** n);
  return repression + fold * (1 - repression);
}

function binomial(n, k) {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
}

/** L, Y_m, Y_mu for an mRNA with `sites` microRNA binding sites (emt.microrna_terms). */
function microrna(mirna, mu0, sites, t) {
  const ratio = mirna / mu0;
  const free = 1 / (1 + ratio);
  let translation = 0, mrnaDecay = 0, mirnaDecay = 0;
  for (let i = 0; i <= sites; i++) {
    const occupancy = binomial(sites, i) * ratio ** i * free ** sites;
    translation += t.translation[i] * occupancy;
    mrnaDecay += t.mrna_decay[i] * occupancy;
    mirnaDecay += i * t.mirna_decay[i] * occupancy;
  }
  return [translation, mrnaDecay, mirnaDecay];
}

/** dx/dt (molecules/h) at input I (emt._rates). */
export function rhs(p, tables, input) {
  return (t, x) => {
    const [mu200, mzeb, zeb, mu34, msnail, snail] = x;
    const [l200, ym200, ymu200] = microrna(mu200, p.mu0_200, tables.sites_zeb, tables);
    const [l34, ym34, ymu34] = microrna(mu34, p.mu0_34, tables.sites_snail, tables);
    return [
      p.g_mu200 * hill(zeb, p.Z0_mu200, p.n_Z_mu200, p.l_Z_mu200) *
        hill(snail, p.S0_mu200, p.n_S_mu200, p.l_S_mu200) - mzeb * ymu200 - p.k_mu200 * mu200,
      p.g_mZ * hill(zeb, p.Z0_mZ, p.n_Z_mZ, p.l_Z_mZ) * hill(snail, p.S0_mZ, p.n_S_mZ, p.l_S_mZ) -
        mzeb * ym200 - p.k_mZ * mzeb,
      p.g_Z * mzeb * l200 - p.k_Z * zeb,
      p.g_mu34 * hill(snail, p.S0_mu34, p.n_S_mu34, p.l_S_mu34) *
        hill(zeb, p.Z0_mu34, p.n_Z_mu34, p.l_Z_mu34) - msnail * ymu34 - p.k_mu34 * mu34,
      p.g_mS * hill(input, p.I0_mS, p.n_I_mS, p.l_I_mS) * hill(snail, p.S0_mS, p.n_S_mS, p.l_S_mS) -
        msnail * ym34 - p.k_mS * msnail,
      p.g_S * msnail * l34 - p.k_S * snail,
    ];
  };
}

/** The phenotype of a ZEB level (emt.BifurcationDiagram.phenotype_of_zeb): the ZEB levels
 * of the four saddle-nodes separate E, the E-E/M saddle, E/M, the E/M-M saddle and M. */
export function phenotypeOfZeb(zeb, foldZeb) {
  if (zeb <= foldZeb[0]) return "E";
  if (zeb < foldZeb[1]) return "E–E/M saddle";
  if (zeb <= foldZeb[2]) return "E/M";
  if (zeb < foldZeb[3]) return "E/M–M saddle";
  return "M";
}

/** The route from the chosen starting phenotype (its stable state at the reference input) at
 * the chosen input: ZEB and the E-cadherin-like readout over time, and the phenotype reached.
 * Without `times`, the run is extended (as emt.reach_steady_state does) while ZEB still moves
 * by more than the specification's settle_rate per hour, or lies between two stable branches
 * (a slow passage near a saddle-node). */
export function run(spec, settings, times) {
  const c = spec.constants;
  const choice = spec.controls.find((k) => k.name === "start_phenotype");
  const start = c.start_states[choice.choices[settings.start_phenotype]];
  const f = rhs(spec.parameters, c.tables, settings.input_signal * c.input_unit);
  let t = times || linspace(0, c.t_end, c.n_points);
  let states = solve(f, 0, start, t, spec.solver);
  if (!times) {
    for (let k = 0; k < c.max_extensions; k++) {
      const end = states[states.length - 1];
      const settled = Math.abs(f(0, end)[2] / end[2]) < c.settle_rate;
      if (settled && !phenotypeOfZeb(end[2], c.fold_zeb).includes("saddle")) break;
      const t0 = t[t.length - 1];
      const more = linspace(t0, t0 + c.t_end, c.n_points);
      states = states.concat(solve(f, t0, end, more, spec.solver).slice(1));
      t = t.concat(more.slice(1));
    }
  }
  const zeb = states.map((s) => s[2]);
  const zebEnd = zeb[zeb.length - 1];
  const phenotype = phenotypeOfZeb(zebEnd, c.fold_zeb);
  const ecad = (z) => 1 / (1 + (z / c.ecad_threshold) ** 2);
  return {
    x: t,
    series: { zeb: zeb.map((z) => z / c.zeb_unit), ecadherin: zeb.map(ecad) },
    outcome: phenotype,
    summary: `steady state ${phenotype} after ${Math.round(t[t.length - 1]).toLocaleString("en-GB")} h ` +
      `(ZEB ${Number((zebEnd / c.zeb_unit).toPrecision(3))} × 10³ molecules, ` +
      `E-cadherin-like ${ecad(zebEnd).toFixed(2)})`,
  };
}
