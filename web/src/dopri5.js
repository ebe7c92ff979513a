// Dormand–Prince 5(4) with step-size control and Shampine's fourth-order dense output, as in
// Hairer, Nørsett & Wanner, "Solving Ordinary Differential Equations I" (DOPRI5) and SciPy's
// RK45. Why our own: no pinned npm package offers it with dense output at fixed times (odex
// 2.0.4 is an extrapolation method whose grid() helper drifts), and ~120 lines are easier to
// check than a dependency; web/test/models.test.js checks it against SciPy (golden values).

const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1];
const A = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
];
const B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84];
// error estimate: fifth-order minus embedded fourth-order weights (k1..k7)
const E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40];
// dense output (Hairer's contd5)
const D = [-12715105075 / 11282082432, 0, 87487479700 / 32700410799, -10690763975 / 1880347072,
  701980252875 / 199316789632, -1453857185 / 822651844, 69997945 / 29380423];

function norm(v, scale) {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] / scale[i]) ** 2;
  return Math.sqrt(s / v.length);
}

/**
 * Integrate y' = f(t, y) from t0 with y0 and return the solution at the increasing times
 * `times` (times[0] >= t0) as an array of state arrays.
 * options: rtol, atol (number or array), maxSteps.
 */
export function solve(f, t0, y0, times, { rtol = 1e-9, atol = 1e-12, maxSteps = 200000 } = {}) {
  const n = y0.length;
  const at = typeof atol === "number" ? new Array(n).fill(atol) : atol;
  const out = [];
  let t = t0;
  let y = Float64Array.from(y0);
  let k = Array.from({ length: 7 }, () => new Float64Array(n));
  k[0] = Float64Array.from(f(t, y));
  const tEnd = times[times.length - 1];
  let next = 0;
  while (next < times.length && times[next] <= t) out.push(Array.from(y)), next++;
  if (next === times.length) return out;
  const direction = 1;
  // initial step (Hairer's heuristic, as in SciPy's select_initial_step)
  const scale = y.map((v, i) => at[i] + Math.abs(v) * rtol);
  const d0 = norm(y, scale);
  const d1 = norm(k[0], scale);
  let h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
  h0 = Math.min(h0, tEnd - t);
  const y1 = y.map((v, i) => v + h0 * k[0][i]);
  const f1 = f(t + h0, y1);
  const d2 = norm(f1.map((v, i) => v - k[0][i]), scale) / h0;
  const h1 = Math.max(d1, d2) <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** 0.2;
  let h = Math.min(100 * h0, h1, tEnd - t);

  const yStage = new Float64Array(n);
  const yNew = new Float64Array(n);
  const err = new Float64Array(n);
  const sk = new Float64Array(n);
  let steps = 0;
  let rejectedLast = false;
  while (t < tEnd) {
    if (++steps > maxSteps) throw new Error(`solver: more than ${maxSteps} steps`);
    if (t + h > tEnd) h = tEnd - t;
    for (let s = 1; s < 6; s++) {
      for (let i = 0; i < n; i++) {
        let acc = y[i];
        for (let j = 0; j < s; j++) acc += h * A[s][j] * k[j][i];
        yStage[i] = acc;
      }
      k[s] = Float64Array.from(f(t + C[s] * h, yStage));
    }
    for (let i = 0; i < n; i++) {
      let acc = y[i];
      for (let j = 0; j < 6; j++) acc += h * B[j] * k[j][i];
      yNew[i] = acc;
    }
    k[6] = Float64Array.from(f(t + h, yNew));
    for (let i = 0; i < n; i++) {
      let e = 0;
      for (let j = 0; j < 7; j++) e += E[j] * k[j][i];
      err[i] = h * e;
      sk[i] = at[i] + rtol * Math.max(Math.abs(y[i]), Math.abs(yNew[i]));
    }
    const en = norm(err, sk);
    if (!Number.isFinite(en)) throw new Error("solver: the solution left the finite numbers");
    if (en <= 1) {
      // dense output over [t, t + h]
      while (next < times.length && times[next] <= t + h) {
        const theta = (times[next] - t) / h;
        const theta1 = 1 - theta;
        const row = new Array(n);
        for (let i = 0; i < n; i++) {
          const ydiff = yNew[i] - y[i];
          const bspl = h * k[0][i] - ydiff;
          const r4 = ydiff - h * k[6][i] - bspl;
          let r5 = 0;
          for (let j = 0; j < 7; j++) r5 += D[j] * k[j][i];
          r5 *= h;
          row[i] = y[i] + theta * (ydiff + theta1 * (bspl + theta * (r4 + theta1 * r5)));
        }
        out.push(times[next] === t + h ? Array.from(yNew) : row);
        next++;
      }
      t += h;
      y = Float64Array.from(yNew);
      k[0] = k[6];
      k[6] = new Float64Array(n);
      let factor = en === 0 ? 5 : Math.min(5, 0.9 * en ** -0.2);
      if (rejectedLast) factor = Math.min(1, factor);
      h *= factor;
      rejectedLast = false;
    } else {
      h *= Math.max(0.2, 0.9 * en ** -0.2);
      rejectedLast = true;
      if (h < 1e-14 * Math.max(1, Math.abs(t))) throw new Error("solver: step size too small");
    }
  }
  while (next < times.length) out.push(Array.from(y)), next++;
  return out;
}

/** n equally spaced times from a to b (inclusive), as numpy.linspace. */
export function linspace(a, b, n) {
  const step = (b - a) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? b : a + i * step));
}
