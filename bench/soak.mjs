// @ts-nocheck -- plain Node (20+) against the built library.
/**
 * Soak: a long run that must not grow. A small LSTM char model (hidden 32,
 * T 16, B 8, dropout on) trains `--steps` steps (default 10,000) through one
 * Trainer, then `--generate` (default 1,000) `generate` calls run, each with
 * a fresh seed. Every `--every` steps (calls) the process RSS, the JS heap
 * and the live GPU buffers are sampled; the buffer count comes from wrapping
 * the device's createBuffer and each buffer's destroy (a buffer created and
 * never destroyed stays counted), plus the runtime's cached bind groups.
 * After a warm-up (the first half of each phase) every count must be flat:
 * the script exits 1 when the buffer count or the bind groups grow over the
 * second half, or RSS grows by more than --rss-slack MiB (default 64).
 * Prints a table; keeps bench/results/soak.json. Needs `npm run build:lib`
 * (npm run bench:soak does it).
 *
 *   node bench/soak.mjs [--steps 10000] [--generate 1000] [--every 500] [--json FILE]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { arg, loadLib } from './node-common.mjs';

const lib = await loadLib('bench/soak.mjs');
const steps = Math.max(1, Number(arg('steps', 10_000)));
const calls = Math.max(1, Number(arg('generate', 1_000)));
const every = Math.max(1, Number(arg('every', 500)));
const rssSlackMiB = Number(arg('rss-slack', 64));
const jsonFile = arg('json', fileURLToPath(new URL('./results/soak.json', import.meta.url)));

const rt = await lib.createRuntime({ quiet: true });

// Live GPU buffers: every buffer the device makes, until its destroy.
let live = 0;
let created = 0;
const dev = rt.device;
const createBuffer = dev.createBuffer.bind(dev);
dev.createBuffer = (desc) => {
  const b = createBuffer(desc);
  live++;
  created++;
  const destroy = b.destroy.bind(b);
  let gone = false;
  b.destroy = () => {
    if (!gone) {
      gone = true;
      live--;
    }
    destroy();
  };
  return b;
};

const text = readFileSync(fileURLToPath(new URL('../data/sonnets.txt', import.meta.url)), 'utf8');
const T = 16;
const B = 8;
const H = 32;
const data = lib.textData(text, { T, B, seed: 1 });
const V = data.vocab.length;
const model = new lib.SequenceToSequence(rt, { input: 'embedding', inputSize: V, embeddingDim: 16, cell: 'lstm', hiddenSize: H, dropout: 0.1, outputSize: V, seed: 1 });
const optimizer = new lib.Adam(model.parameters(), { lr: 3e-3 });
const trainer = new lib.Trainer(model, { loss: 'cross_entropy', optimizer, clip: 1, logEvery: 50 });

const rows = [];
const t0 = performance.now();
let lastLoss = NaN;
const sample = (phase, n) => {
  if (globalThis.gc) globalThis.gc();
  const m = process.memoryUsage();
  const row = {
    phase,
    n,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    rssMiB: Number((m.rss / 2 ** 20).toFixed(1)),
    heapMiB: Number((m.heapUsed / 2 ** 20).toFixed(1)),
    gpuBuffers: live,
    buffersCreated: created,
    bindGroups: rt.cachedBindGroups,
    uniformChunks: rt.uniforms.chunks.length,
    loss: Number(lastLoss.toFixed(3)),
  };
  rows.push(row);
  console.log(`${phase.padEnd(8)} ${String(n).padStart(6)}  ${row.seconds.toFixed(1).padStart(7)} s  rss ${row.rssMiB.toFixed(1).padStart(7)} MiB  heap ${row.heapMiB.toFixed(1).padStart(6)} MiB  buffers ${String(live).padStart(4)} (${created} made)  bind groups ${row.bindGroups}  uniform chunks ${row.uniformChunks}  loss ${row.loss}`);
};

sample('start', 0);
while (trainer.step < steps) {
  const r = await trainer.fit(data.train, { steps: Math.min(every, steps - trainer.step) });
  lastLoss = r.losses.at(-1)?.loss ?? lastLoss;
  sample('train', trainer.step);
}
const prime = data.encode('Shall I compare');
for (let i = 1; i <= calls; i++) {
  await model.generate(16, { prime, seed: (0x9e3779b9 * i) >>> 0, temperature: 0.8 });
  if (i % Math.max(1, Math.floor(every / 5)) === 0 || i === calls) sample('generate', i);
}

// Flat after warm-up: the last sample of each phase against its middle one (the first half is the
// warm-up: plans, kernels, and the uniform table filling up to its bound with fresh seeds).
const problems = [];
for (const phase of ['train', 'generate']) {
  const p = rows.filter((r) => r.phase === phase);
  if (p.length < 3) continue;
  const base = p[Math.floor(p.length / 2)];
  const last = p[p.length - 1];
  if (last.gpuBuffers > base.gpuBuffers) problems.push(`${phase}: live GPU buffers ${base.gpuBuffers} -> ${last.gpuBuffers}`);
  if (last.bindGroups > base.bindGroups) problems.push(`${phase}: cached bind groups ${base.bindGroups} -> ${last.bindGroups}`);
  if (last.rssMiB - base.rssMiB > rssSlackMiB) problems.push(`${phase}: RSS ${base.rssMiB} -> ${last.rssMiB} MiB (slack ${rssSlackMiB})`);
}

console.log('\n| phase | n | s | RSS MiB | heap MiB | live GPU buffers | buffers made | bind groups | uniform chunks |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.phase} | ${r.n} | ${r.seconds} | ${r.rssMiB} | ${r.heapMiB} | ${r.gpuBuffers} | ${r.buffersCreated} | ${r.bindGroups} | ${r.uniformChunks} |`);
console.log(problems.length ? `\nNOT FLAT: ${problems.join('; ')}` : '\nflat after warm-up: live buffers, bind groups and RSS');

let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
} catch {}
const info = rt.adapterInfo;
writeFileSync(
  jsonFile,
  `${JSON.stringify({ commit, date: new Date().toISOString(), adapter: { vendor: info.vendor, architecture: info.architecture, description: info.description }, config: { cell: 'lstm', H, T, B, V, steps, generateCalls: calls, every }, flat: !problems.length, problems, rows }, null, 2)}\n`,
);
trainer.destroy();
optimizer.destroy();
model.destroy();
rt.destroy();
process.exit(problems.length ? 1 : 0);
