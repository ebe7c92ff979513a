// Chapter 2: stroma (S), dependent (D) and independent (I) tumour cells as players of the
// game of Basanta et al. (2012), under the replicator equation (tmebook/ecosystem.py).
import { solve, linspace } from "../dopri5.js";

/** The payoff matrix (row: the cell paid; column: the cell it meets). */
export function payoffs({ alpha, beta, gamma, rho }) {
  return [
    [0, alpha, 0],
    [1 + alpha - beta, 1 - 2 * beta, 1 - beta + rho],
    [1 - gamma, 1 - gamma, 1 - gamma],
  ];
}

/** x_i ((A x)_i - x.A x / sum x) (ecosystem._replicator: the mean divided by the total). */
export function rhs(A) {
  return (t, x) => {
    const f = A.map((row) => row[0] * x[0] + row[1] * x[1] + row[2] * x[2]);
    const mean = (x[0] * f[0] + x[1] * f[1] + x[2] * f[2]) / (x[0] + x[1] + x[2]);
    return [x[0] * (f[0] - mean), x[1] * (f[1] - mean), x[2] * (f[2] - mean)];
  };
}

/** Frequencies from the seed (a tumour arising in stroma-rich tissue), clipped to [0, 1] as
 * ecosystem.simulate does, and the outcome named by the types still present. */
export function run(spec, settings, times) {
  const c = spec.constants;
  const t = times || linspace(0, c.t_end, c.n_points);
  const states = solve(rhs(payoffs(settings)), 0, c.seed, t, spec.solver)
    .map((x) => x.map((v) => Math.min(1, Math.max(0, v))));
  const end = states[states.length - 1];
  const outcome = c.strategies.filter((s, i) => end[i] > c.present).join("+");
  return {
    x: t,
    series: { S: states.map((x) => x[0]), D: states.map((x) => x[1]), I: states.map((x) => x[2]) },
    outcome,
    summary: `outcome ${outcome}: ${c.outcomes[outcome]}`,
  };
}
