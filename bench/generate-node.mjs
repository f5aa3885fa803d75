// @ts-nocheck -- plain Node (20+) against the built library.
/**
 * Autoregressive decoding, on the GPU against the CPU-driven loop, in Node on
 * Dawn (SwiftShader when there is no GPU): SequenceToSequence.generate (every
 * token picked on the GPU and fed back: one submit, one read-back) against the
 * same model stepped from the CPU (forward one token, read its logits, pick
 * the argmax on the CPU, write it back: a read-back per token). Both argmax,
 * so both must produce the same tokens (checked). Median ms of `--runs`
 * after one warm-up; submits counted. Needs `npm run build:lib` first
 * (npm run bench:generate does it).
 *
 *   node bench/generate-node.mjs [--runs 5] [--tokens 200] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { arg, loadLib, median } from './node-common.mjs';

const lib = await loadLib('bench/generate-node.mjs');
const runs = Math.max(1, Number(arg('runs', 5)));
const n = Math.max(1, Number(arg('tokens', 200)));
const jsonFile = arg('json', fileURLToPath(new URL('./results/generate.json', import.meta.url)));

const rt = await lib.createRuntime({ quiet: true });
const V = 65;
const prime = [1, 2, 3, 4, 5, 6, 7, 8];
const rows = [];
for (const cell of ['lstm', 'gru']) {
  for (const H of [128, 256]) {
    const model = new lib.SequenceToSequence(rt, { input: 'embedding', inputSize: V, cell, hiddenSize: H, outputSize: V, seed: 1 });
    const x = rt.tensor(Float32Array.from(prime), [prime.length, 1]);
    const x1 = rt.zeros([1, 1]);
    const gpu = async () => (await model.generate(n, { prime, mode: 'argmax' }))[0];
    const cpu = async () => {
      let r = model.forward(x);
      const out = [];
      for (let i = 0; i < n; i++) {
        const l = (await r.logits.read()).subarray(-V);
        let best = 0;
        for (let k = 1; k < V; k++) if (l[k] > l[best]) best = k;
        out.push(best);
        x1.write([best]);
        r = model.forward(x1, { h0: r.h, c0: r.c });
      }
      return out;
    };
    const time = async (f) => {
      const first = await f();
      const ms = [];
      let submits = 0;
      for (let i = 0; i < runs; i++) {
        const s0 = rt.counters.submits;
        const t = performance.now();
        await f();
        ms.push(performance.now() - t);
        submits = rt.counters.submits - s0;
      }
      return { out: first, ms: median(ms), submits };
    };
    const a = await time(gpu);
    const b = await time(cpu);
    const same = a.out.length === b.out.length && a.out.every((v, i) => v === b.out[i]);
    rows.push({ cell, H, V, tokens: n, gpuMs: a.ms, loopMs: b.ms, ratio: b.ms / a.ms, gpuSubmits: a.submits, loopSubmits: b.submits, sameTokens: same });
    model.destroy();
  }
}
const info = rt.adapterInfo;
console.log(`adapter: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ')}`);
console.log('| cell | H | tokens | generate (GPU picks) ms | CPU-driven loop ms | ratio | submits | same tokens |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.cell} | ${r.H} | ${r.tokens} | ${r.gpuMs.toFixed(0)} | ${r.loopMs.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.gpuSubmits} / ${r.loopSubmits} | ${r.sameTokens} |`);
}
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
} catch {}
writeFileSync(jsonFile, `${JSON.stringify({ commit, date: new Date().toISOString(), adapter: info, runs, rows }, null, 2)}\n`);
rt.destroy();
process.exit(rows.every((r) => r.sameTokens) ? 0 : 1);
