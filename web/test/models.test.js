// Each live figure's JavaScript model against SciPy (web/golden.py: DOP853 at rtol 1e-12, from the same
// specification the book embeds in the page). Run: node --test web/test/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { MODELS } from "../src/models/index.js";
import { solve } from "../src/dopri5.js";

const golden = JSON.parse(readFileSync(new URL("./golden.json", import.meta.url)));

/** Largest difference relative to max(|scipy|, floor) over every series and time. */
export function largestDifference(result, expected, floor) {
  let worst = 0;
  for (const [key, values] of Object.entries(expected)) {
    const got = result.series[key];
    assert.equal(got.length, values.length, `${key}: number of points`);
    values.forEach((v, i) => {
      assert.ok(Number.isFinite(got[i]), `${key}[${i}] is not finite`);
      worst = Math.max(worst, Math.abs(got[i] - v) / Math.max(Math.abs(v), floor));
    });
  }
  return worst;
}

for (const [name, entry] of Object.entries(golden.models)) {
  test(`${name}: the JavaScript model agrees with SciPy within ${golden.agreement}`, () => {
    const model = MODELS[name];
    assert.ok(model, `no JavaScript model named ${name}`);
    const report = [];
    for (const c of entry.cases) {
      const result = model.run(entry.spec, c.settings, c.times);
      const diff = largestDifference(result, c.series, entry.floor);
      report.push(`${JSON.stringify(c.settings)}: ${diff.toExponential(1)}`);
      assert.ok(diff <= golden.agreement, `${name} at ${JSON.stringify(c.settings)}: ` +
        `largest relative difference ${diff.toExponential(2)}`);
      if (c.outcome !== undefined) {
        assert.equal(result.outcome, c.outcome, `${name} at ${JSON.stringify(c.settings)}: outcome`);
      }
    }
    console.log(`${name}: largest relative difference from SciPy per setting\n` +
      report.join("\n"));
  });

  if (entry.outcomes) {
    test(`${name}: whole runs end in the outcome the chapter's Python model reports`, () => {
      for (const c of entry.outcomes) {
        const result = MODELS[name].run(entry.spec, c.settings);
        assert.equal(result.outcome, c.outcome, `${name} at ${JSON.stringify(c.settings)}`);
      }
    });
  }

  test(`${name}: the widget's default run has the specification's number of points`, () => {
    const settings = Object.fromEntries(entry.spec.controls.map((c) => [c.name, c.value]));
    const result = MODELS[name].run(entry.spec, settings);
    for (const values of Object.values(result.series)) {
      assert.ok(values.length >= 2 && values.every(Number.isFinite));
    }
    assert.equal(result.x.length, Object.values(result.series)[0].length);
  });
}

for (const [name, entry] of Object.entries(golden.models)) {
  test(`${name}: finite numbers at every corner of the slider box`, () => {
    const controls = entry.spec.controls;
    for (let mask = 0; mask < 2 ** controls.length; mask++) {
      const settings = Object.fromEntries(controls.map((c, i) => [c.name, mask & (1 << i) ? c.high : c.low]));
      const result = MODELS[name].run(entry.spec, settings);
      for (const [key, values] of Object.entries(result.series)) {
        assert.ok(values.every(Number.isFinite), `${name} at ${JSON.stringify(settings)}: ${key}`);
      }
      assert.ok(typeof result.summary === "string" && result.summary.length > 0);
    }
  });
}

test("the solver: exponential decay and a harmonic oscillator against their exact solutions", () => {
  const times = [0, 0.5, 1, 2, 5, 10];
  const decay = solve((t, y) => [-y[0]], 0, [1], times, { rtol: 1e-10, atol: 1e-14 });
  times.forEach((t, i) => assert.ok(Math.abs(decay[i][0] - Math.exp(-t)) <= 1e-9 * Math.exp(-t)));
  const osc = solve((t, y) => [y[1], -y[0]], 0, [1, 0], times, { rtol: 1e-10, atol: 1e-14 });
  times.forEach((t, i) => {
    assert.ok(Math.abs(osc[i][0] - Math.cos(t)) <= 1e-8);
    assert.ok(Math.abs(osc[i][1] + Math.sin(t)) <= 1e-8);
  });
  // energy of the oscillator is conserved to the tolerance
  const e = osc.map(([q, p]) => q * q + p * p);
  assert.ok(Math.max(...e.map((v) => Math.abs(v - 1))) <= 1e-8);
});

test("the solver: the global error falls with the tolerance", () => {
  // the global error falls as the tolerance tightens (roughly in proportion)
  const exact = Math.exp(-3);
  const err = (rtol) => Math.abs(solve((t, y) => [-y[0]], 0, [1], [3], { rtol, atol: 1e-20 })[0][0] - exact);
  assert.ok(err(1e-10) < err(1e-6) / 100);
});
