import { describe, expect, it } from 'vitest';
import { sampleSoftmax } from '../src/util.js';
import { freshSeed, rng } from './suite/check.js';

describe('sampleSoftmax', () => {
  it('draws each index with probability softmax(logits / temperature)', () => {
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const r = rng(seed);
    const logits = Array.from({ length: 6 }, () => r() * 4 - 2);
    for (const tau of [0.5, 1, 2]) {
      const e = logits.map((v) => Math.exp(v / tau));
      const p = e.map((v) => v / e.reduce((a, b) => a + b, 0));
      // An evenly spaced grid of u: index i is drawn for a run of u of length p[i], so counts/N is p[i] within 1/N.
      const N = 10_000;
      const counts = new Array<number>(6).fill(0);
      for (let k = 0; k < N; k++) counts[sampleSoftmax(logits, tau, (k + 0.5) / N)]!++;
      counts.forEach((c, i) => expect(Math.abs(c / N - p[i]!), `tau ${tau}, index ${i} (seed ${seed})`).toBeLessThanOrEqual(1 / N + 1e-9));
    }
  });

  it('at a tiny temperature picks the largest logit', () => {
    const logits = [0.1, 2.5, -1, 2.4];
    for (const u of [0.01, 0.5, 0.99]) expect(sampleSoftmax(logits, 0, u)).toBe(1);
  });
});
