/**
 * SequenceToSequence.generate: the whole autoregressive loop on the GPU
 * (pickTokens feeding each token back), against the same model driven one
 * step at a time from the CPU (forward, read the logits back, pick on the CPU).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SequenceToSequence, createRuntime, pcg, unit24, type Runtime } from '../src/index.js';
import { expectClose, freshSeed, rng } from './suite/check.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

const [V, H, P, N, B] = [11, 16, 5, 12, 3];

/** The CPU-driven loop: logits of every generated position when `tokens` [B][N] are fed back. */
async function stepwiseLogits(model: SequenceToSequence, prime: number[], tokens: number[][]): Promise<Float32Array[][]> {
  const x = rt.zeros([P, B]);
  x.write(Float32Array.from({ length: P * B }, (_, i) => prime[Math.floor(i / B)]!));
  let r = model.forward(x);
  const rows: Float32Array[][] = Array.from({ length: B }, () => []);
  const x1 = rt.zeros([1, B]);
  for (let t = 0; t < N; t++) {
    const l = await r.logits.read();
    const T = t === 0 ? P : 1;
    for (let b = 0; b < B; b++) rows[b]!.push(l.slice(((T - 1) * B + b) * V, ((T - 1) * B + b + 1) * V));
    x1.write(tokens.map((row) => row[t]!));
    r = model.forward(x1, { h0: r.h, c0: r.c });
  }
  x.destroy();
  x1.destroy();
  return rows;
}

describe('SequenceToSequence.generate', () => {
  for (const cell of ['lstm', 'gru'] as const) {
    it(`${cell}, 2 layers: argmax equals the CPU-driven loop; sampling draws lie in their softmax intervals; one submit`, async () => {
      const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
      const r = rng(seed);
      const model = new SequenceToSequence(rt, { input: 'embedding', inputSize: V, cell, hiddenSize: H, numLayers: 2, outputSize: V, seed });
      const prime = Array.from({ length: P }, () => Math.floor(r() * V));

      const greedy = await model.generate(N, { prime, mode: 'argmax', batch: B });
      expect(greedy).toHaveLength(B);
      const ref = await stepwiseLogits(model, prime, greedy);
      for (let b = 0; b < B; b++) {
        const want = ref[b]!.map((l) => l.indexOf(Math.max(...l)));
        expect(greedy[b], `row ${b} (seed ${seed})`).toEqual(want);
      }

      const temperature = 1.3;
      const s = seed >>> 0;
      const submits0 = rt.counters.submits;
      const sampled = await model.generate(N, { prime, temperature, seed: s, batch: B });
      // Buffers and plans exist now: one submit for all N steps, one for the read-back.
      expect(rt.counters.submits - submits0).toBe(2);
      expect(await model.generate(N, { prime, temperature, seed: s, batch: B })).toEqual(sampled);
      const logits = await stepwiseLogits(model, prime, sampled);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < N; t++) {
          const l = logits[b]![t]!;
          const mx = Math.max(...l);
          const w = Array.from(l, (v) => Math.exp((v - mx) / temperature));
          const total = w.reduce((a, v) => a + v, 0);
          const c = sampled[b]![t]!;
          const lo = w.slice(0, c).reduce((a, v) => a + v, 0);
          const goal = unit24(pcg(t ^ pcg(b ^ pcg(s)))) * total;
          // The GPU sums f32 exps: a margin of 1e-5 of the total.
          expect(goal >= lo - 1e-5 * total && goal <= lo + w[c]! + 1e-5 * total, `row ${b} step ${t}: ${c} (seed ${seed})`).toBe(true);
        }
      }
      model.destroy();
    });
  }

  it('feature models (dense, GRU): a recursive forecast, each output fed back on the GPU, equals the CPU-driven loop', async () => {
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const r = rng(seed);
    const I = 2;
    const model = new SequenceToSequence(rt, { input: 'dense', inputSize: I, cell: 'gru', hiddenSize: H, numLayers: 1, outputSize: I, seed });
    const prime = Array.from({ length: P * I }, () => r() * 2 - 1);
    const got = await model.generate(N, { prime, batch: B });
    // The CPU-driven loop: forward the prime, then one step at a time, reading each output back.
    const x = rt.tensor(Float32Array.from({ length: P * B * I }, (_, k) => prime[Math.floor(k / (B * I)) * I + (k % I)]!), [P, B, I]);
    let f = model.forward(x);
    const want: number[][] = Array.from({ length: B }, () => []);
    const x1 = rt.zeros([1, B, I]);
    for (let t = 0; t < N; t++) {
      const l = await f.logits.read();
      const T = t === 0 ? P : 1;
      const last = l.slice((T - 1) * B * I, T * B * I);
      for (let b = 0; b < B; b++) want[b]!.push(...last.slice(b * I, (b + 1) * I));
      x1.write(last);
      f = model.forward(x1, { h0: f.h });
    }
    // The same kernels on the same inputs: equal but for the order of f32 sums (row counts differ): 1e-5.
    for (let b = 0; b < B; b++) expectClose(`row ${b}`, got[b]!, want[b]!, { atol: 1e-5, rtol: 1e-4 }, seed);
    for (const t of [x, x1]) t.destroy();
    model.destroy();
  });

  it('refuses what it cannot generate from, before dispatching', async () => {
    const dense = new SequenceToSequence(rt, { input: 'dense', inputSize: 3, cell: 'gru', hiddenSize: 4, outputSize: 3, seed: 1 });
    await expect(dense.generate(3, { prime: [0] })).rejects.toThrow(/prime must hold rows of 3 values \(a multiple of 3, at least one row\), got 1/);
    await expect(dense.generate(3, { prime: [0, NaN, 1] })).rejects.toThrow(/prime\[1\] must be a finite number, got NaN/);
    const tok = new SequenceToSequence(rt, { input: 'embedding', inputSize: 5, cell: 'lstm', hiddenSize: 4, outputSize: 5, seed: 1 });
    rt.submit();
    const dispatches0 = rt.counters.dispatches;
    await expect(tok.generate(3, { prime: [] })).rejects.toThrow(/prime must hold at least one token id/);
    await expect(tok.generate(3, { prime: [1, 5] })).rejects.toThrow(/prime\[1\] must be a token id in 0..4, got 5/);
    await expect(tok.generate(0, { prime: [1] })).rejects.toThrow(/n must be a positive integer/);
    await expect(tok.generate(2, { prime: [1], temperature: 0 })).rejects.toThrow(/temperature must be a finite number > 0/);
    expect(rt.counters.dispatches).toBe(dispatches0);
    dense.destroy();
    tok.destroy();
  });
});
