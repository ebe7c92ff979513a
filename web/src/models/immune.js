// Chapter 4: the effector–tumour model of Kuznetsov et al. (1994) with our suppression S on
// recruitment and killing (tmebook/immune.py). Only the right-hand side and the outcome rule
// live here; every number comes from the specification the book emits (spec.parameters,
// spec.constants, spec.solver).
import { solve, linspace } from "../dopri5.js";

function groups(spec, settings) {
  const p = spec.parameters;
  const s = settings.suppression;
  return { ...p, recruitment: p.rho * (1 - s), killing: 1 - s };
}

/** dx/dtau, dy/dtau (x, y in units of 10^6 cells); the tumour enters as max(y, 0) as in
 * immune._solver_rhs, so y = 0 stays invariant. */
export function rhs(m) {
  return (t, z) => {
    const x = z[0];
    const y = Math.max(z[1], 0);
    return [
      m.sigma + (m.recruitment * x * y) / (m.eta + y) - m.mu * x * y - m.delta * x,
      m.alpha * y * (1 - m.beta * y) - m.killing * x * y,
    ];
  };
}

/** Positive steady tumour sizes: the roots in (0, 1/beta) of the equilibrium cubic
 * sigma k (eta + y) - alpha (1 - beta y) [(delta + mu y)(eta + y) - r y] = 0, with their
 * stability (trace and determinant of the Jacobian). */
export function steadyStates(m) {
  const { sigma, eta, mu, delta, alpha, beta, recruitment: r, killing: k } = m;
  // P(y) = c3 y^3 + c2 y^2 + c1 y + c0
  const q2 = mu, q1 = mu * eta + delta - r, q0 = delta * eta; // (delta + mu y)(eta + y) - r y
  const c3 = alpha * beta * q2;
  const c2 = alpha * beta * q1 - alpha * q2;
  const c1 = sigma * k + alpha * beta * q0 - alpha * q1;
  const c0 = sigma * k * eta - alpha * q0;
  const P = (y) => ((c3 * y + c2) * y + c1) * y + c0;
  const upper = 1 / beta;
  // turning points: roots of 3 c3 y^2 + 2 c2 y + c1
  const turning = [];
  const disc = 4 * c2 * c2 - 12 * c3 * c1;
  if (disc >= 0) {
    for (const sign of [-1, 1]) {
      const y = (-2 * c2 + sign * Math.sqrt(disc)) / (6 * c3);
      if (y > 0 && y < upper) turning.push(y);
    }
  }
  turning.sort((a, b) => a - b);
  const edges = [0, ...turning, upper];
  const roots = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    let lo = edges[i], hi = edges[i + 1];
    let flo = P(lo);
    if (flo * P(hi) >= 0) continue;
    for (let it = 0; it < 200 && hi - lo > 1e-15 * hi; it++) {
      const mid = 0.5 * (lo + hi);
      const fm = P(mid);
      if (fm * flo > 0) lo = mid, flo = fm;
      else hi = mid;
    }
    roots.push(0.5 * (lo + hi));
  }
  return roots.map((y) => {
    const x = (alpha * (1 - beta * y)) / k;
    const j11 = (r * y) / (eta + y) - mu * y - delta;
    const j12 = (r * x * eta) / (eta + y) ** 2 - mu * x;
    const j21 = -k * y;
    const j22 = alpha * (1 - 2 * beta * y) - k * x;
    const stable = j11 + j22 < 0 && j11 * j22 - j12 * j21 > 0;
    return { x, y, stable };
  });
}

/** The run the chapter's live panel shows: a tumour of 10^log10_initial_tumour cells in a
 * resting host (effectors at sigma/delta), over the follow-up. Returns days, cells and the
 * outcome ("eliminated", "dormant" or "escape", by immune._classify's rule). */
export function run(spec, settings, times) {
  const c = spec.constants;
  const m = groups(spec, settings);
  const tauEnd = c.follow_up_days / c.days_per_unit;
  const tau = times ? times.map((d) => d / c.days_per_unit) : linspace(0, tauEnd, c.n_points);
  const y0 = [m.sigma / m.delta, 10 ** settings.log10_initial_tumour / c.scale_cells];
  const states = solve(rhs(m), 0, y0, tau, spec.solver);
  const x = states.map((s) => s[0]);
  const y = states.map((s) => s[1]);
  const yEnd = y[y.length - 1];
  const steady = steadyStates(m);
  let outcome = "eliminated";
  if (yEnd >= c.eliminated_below) {
    const stable = steady.filter((s) => s.stable);
    let nearest = stable[0];
    for (const s of stable) {
      if (Math.abs(Math.log(yEnd / s.y)) < Math.abs(Math.log(yEnd / nearest.y))) nearest = s;
    }
    outcome = !nearest || nearest.y > c.escape_state_above ? "escape" : "dormant";
  }
  return {
    x: tau.map((t) => t * c.days_per_unit),
    series: {
      tumour: y.map((v) => v * c.scale_cells),
      effectors: x.map((v) => v * c.scale_cells),
    },
    raw: { x, y },
    outcome,
    summary: `${outcome} after ${c.follow_up_days} days: ${fmtCells(yEnd * c.scale_cells)} tumour cells`,
  };
}

function fmtCells(v) {
  if (v < 1) return "fewer than one";
  return Number(v.toPrecision(2)).toLocaleString("en-GB");
}
