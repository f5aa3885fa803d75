// @ts-nocheck -- plain Node (20+) against the built library; types live in train-models.d.ts.
/**
 * Our side of bench/train in Node, on Dawn (the `webgpu` package; SwiftShader
 * when there is no GPU): the same trainers as the page (bench/train-models.js)
 * on the built library, ms per full training step (median after warm-up, a
 * GPU wait at the end of each step), dispatches and submits per step.
 * Needs `npm run build:lib` first (npm run bench:train does it).
 *
 *   node bench/train-node.mjs [--steps 9] [--warmup 2] [--only LSTM] [--json FILE]
 *
 * Weights: each model's own seeded initialisation (no TF.js here); the first
 * loss is printed as a sanity check.
 */
import { writeFileSync } from 'node:fs';
import { arg, loadLib, median } from './node-common.mjs';
import { MODELS, makeTrainer } from './train-models.js';

const lib = await loadLib('bench/train-node.mjs');

const steps = Math.max(1, Number(arg('steps', 9)));
const warmup = Math.max(1, Number(arg('warmup', 2)));
const only = arg('only', null);
const jsonFile = arg('json', null);


const rt = await lib.createRuntime({ quiet: true });
const info = rt.adapterInfo;
const adapter = { vendor: info.vendor, architecture: info.architecture, description: info.description, isCpu: rt.isCpu };
console.log(`node ${process.version}, Dawn adapter ${info.vendor} ${info.architecture}; median of ${steps} steps after ${warmup} warm-up`);
const rows = [];
for (const m of MODELS) {
  if (only && !m.name.includes(only)) continue;
  const tr = makeTrainer(lib, rt, m.cell);
  let counts = tr.step();
  await rt.sync();
  const first = await tr.read();
  for (let i = 1; i < warmup; i++) {
    tr.step();
    await rt.sync();
  }
  const all = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    counts = tr.step();
    await rt.sync();
    all.push(performance.now() - t0);
  }
  const last = await tr.read();
  // One more step, timed per kernel (timestamp queries; one compute pass per dispatch while profiling).
  const profile = await rt.profile(() => tr.step());
  console.log(profile.toString(6).replace(/^/gm, '  '));
  if (!Number.isFinite(first.loss) || !Number.isFinite(last.loss)) throw new Error(`${m.name}: non-finite loss ${first.loss} -> ${last.loss}`);
  const row = { model: m.name, ms: median(all), all, dispatches: counts.dispatches, submits: counts.submits, lossFirst: first.loss, lossLast: last.loss, normFirst: first.norm, profileTop: profile.top(6).map((k) => ({ kernel: k.kernel, calls: k.calls, ms: k.totalMs, share: k.share })) };
  rows.push(row);
  console.log(
    `${m.name} ours (node): ${row.ms.toFixed(1)} ms/step, ${row.dispatches} dispatches, ${row.submits} submits; ` +
      `loss ${first.loss.toPrecision(6)} -> ${last.loss.toPrecision(6)} after ${warmup + steps - 1} updates`,
  );
  tr.destroy();
}
rt.destroy();
if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ adapter, node: process.version, steps, warmup, rows }, null, 2) + '\n');
process.exit(0);
