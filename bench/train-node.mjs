// @ts-nocheck -- plain Node (20+) against the built library; types live in train-models.d.ts.
/**
 * Our side of bench/train in Node, on Dawn (the `webgpu` package; SwiftShader
 * when there is no GPU): the same trainers as the page (bench/train-models.js)
 * on the built library. Needs `npm run build:lib` first (npm run bench:train
 * does it).
 *
 * `nodeSide(lib, rt)` is what bench/run.js exposes to the page (puppeteer's
 * exposeFunction) so that the page takes turns with Node: per model the page
 * calls setup (the page's initial weights, a few checked steps), then rounds
 * of `steps(n)` between its own, then `read()` and `profile()`.
 *
 * Alone, it times each model by itself (each model's own seeded weights; the
 * first loss printed as a sanity check):
 *
 *   node bench/train-node.mjs [--steps 9] [--warmup 2] [--only LSTM] [--json FILE]
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { pathToFileURL } from 'node:url';
import { arg, loadLib, median } from './node-common.mjs';
import { MODELS, makeTrainer } from './train-models.js';

/**
 * Our trainers in this process, driven step by step. `nice`: the niceness to
 * give every thread of this process (Dawn's and SwiftShader's included; they
 * exist once a model has stepped) before each timed batch, or null to leave it.
 */
export function nodeSide(lib, rt, { nice = null } = {}) {
  let tr = null;
  let counts = null;
  let niceNote = null;
  const matchPriority = () => {
    if (nice === null || niceNote) return;
    try {
      for (const tid of readdirSync('/proc/self/task')) setPriority(Number(tid), nice);
    } catch (e) {
      niceNote = `cannot set this process's threads to nice ${nice} (${e.code ?? e.message})`;
      console.log(`note: ${niceNote}`);
    }
  };
  const info = rt.adapterInfo;
  return {
    info: () => ({
      adapter: { vendor: info.vendor, architecture: info.architecture, description: info.description, isCpu: rt.isCpu },
      node: process.version,
      nice: niceNote ? getPriority(0) : (nice ?? getPriority(0)),
      niceNote,
    }),
    /** A trainer for `cell` from `stateDict` (arrays of numbers) or its own seeded weights; `k` steps, each loss read. */
    async setup(cell, stateDict, k) {
      tr?.destroy();
      const sd = stateDict ? Object.fromEntries(Object.entries(stateDict).map(([n, v]) => [n, Float32Array.from(v)])) : undefined;
      tr = makeTrainer(lib, rt, cell, sd);
      const losses = [];
      let norm = 0;
      for (let i = 0; i < k; i++) {
        counts = tr.step();
        await rt.sync();
        const r = await tr.read();
        losses.push(r.loss);
        if (i === 0) norm = r.norm;
      }
      return { losses, norm, dispatches: counts?.dispatches ?? 0, submits: counts?.submits ?? 0 };
    },
    /** `n` steps, ms each (each ends with `await rt.sync()`). */
    async steps(n) {
      matchPriority();
      const all = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        counts = tr.step();
        await rt.sync();
        all.push(performance.now() - t0);
      }
      return all;
    },
    /** The last step's dispatches and submits (rt.step's counts). */
    counts: () => ({ dispatches: counts?.dispatches ?? 0, submits: counts?.submits ?? 0 }),
    /** The last step's loss and gradient norm. */
    read: () => tr.read(),
    /** One more step, timed per kernel (timestamp queries; one compute pass per dispatch while profiling). */
    async profile(top = 6) {
      const p = await rt.profile(() => tr.step());
      return { text: p.toString(top), top: p.top(top).map((k) => ({ kernel: k.kernel, calls: k.calls, ms: k.totalMs, share: k.share })) };
    },
    teardown() {
      tr?.destroy();
      tr = null;
    },
  };
}

async function main() {
  const lib = await loadLib('bench/train-node.mjs');
  const steps = Math.max(1, Number(arg('steps', 9)));
  const warmup = Math.max(1, Number(arg('warmup', 2)));
  const only = arg('only', null);
  const jsonFile = arg('json', null);
  const rt = await lib.createRuntime({ quiet: true });
  const side = nodeSide(lib, rt);
  const { adapter } = side.info();
  console.log(`node ${process.version}, Dawn adapter ${adapter.vendor} ${adapter.architecture}; median of ${steps} steps after ${warmup} warm-up`);
  const rows = [];
  for (const m of MODELS) {
    if (only && !m.name.includes(only)) continue;
    const s = await side.setup(m.cell, null, 1);
    await side.steps(warmup - 1);
    const all = await side.steps(steps);
    const c = side.counts();
    const last = await side.read();
    const profile = await side.profile(6);
    console.log(profile.text.replace(/^/gm, '  '));
    if (!Number.isFinite(s.losses[0]) || !Number.isFinite(last.loss)) throw new Error(`${m.name}: non-finite loss ${s.losses[0]} -> ${last.loss}`);
    const row = { model: m.name, ms: median(all), all, dispatches: c.dispatches, submits: c.submits, lossFirst: s.losses[0], lossLast: last.loss, normFirst: s.norm, profileTop: profile.top };
    rows.push(row);
    console.log(
      `${m.name} ours (node): ${row.ms.toFixed(1)} ms/step, ${row.dispatches} dispatches, ${row.submits} submits; ` +
        `loss ${row.lossFirst.toPrecision(6)} -> ${last.loss.toPrecision(6)} after ${warmup + steps - 1} updates`,
    );
    side.teardown();
  }
  rt.destroy();
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ adapter, node: process.version, steps, warmup, rows }, null, 2) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
