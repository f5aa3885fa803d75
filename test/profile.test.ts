/**
 * rt.profile: GPU time per kernel of a Trainer step (a small LSTM) from
 * timestamp queries in Node (Dawn, unquantised timestamps), against the
 * dispatches the same step records unprofiled; a device without
 * timestamp-query; the quantisation check; and Dawn's polling wrapper.
 */
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, Embedding, LSTM, Linear, Sequential, Trainer, createRuntime, textData, type Runtime } from '../src/index.js';
import { quantum } from '../src/profile.js';
import type { Dispatch } from '../src/scheduler.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

const text = 'the quick brown fox jumps over the lazy dog; the lazy dog sleeps. '.repeat(8);
const T = 8;

function lstmTrainer(r: Runtime) {
  const data = textData(text, { T, B: 4, seed: 3 });
  const V = data.vocab.length;
  const model = new Sequential(new Embedding(r, { numEmbeddings: V, embeddingDim: 8, seed: 1 }), new LSTM(r, { inputSize: 8, hiddenSize: 16, seed: 2 }), new Linear(r, { inFeatures: 16, outFeatures: V, seed: 4 }));
  const opt = new Adam(model.parameters(), { lr: 0.01 });
  const trainer = new Trainer(model, { loss: 'cross_entropy', optimizer: opt, clip: 1, logEvery: 1 });
  return {
    data,
    trainer,
    destroy() {
      trainer.destroy();
      opt.destroy();
      model.destroy();
    },
  };
}

/** Kernel names and calls of what `fn` dispatches (counted where the recorder records them). */
async function countDispatches(r: Runtime, fn: () => Promise<unknown>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const rec = r.recorder as unknown as { dispatch: (d: Dispatch) => void };
  const orig = rec.dispatch;
  rec.dispatch = function (d: Dispatch) {
    counts.set(d.kernel.name, (counts.get(d.kernel.name) ?? 0) + 1);
    orig.call(this, d);
  };
  try {
    await fn();
  } finally {
    rec.dispatch = orig;
  }
  return counts;
}

describe('rt.profile', () => {
  it('times every kernel of a Trainer step (small LSTM): names and calls as dispatched unprofiled, times >= 0 summing to the step', async () => {
    expect(rt.features.has('timestamp-query')).toBe(true);
    const { data, trainer, destroy } = lstmTrainer(rt);
    await trainer.fit(data.train, { steps: 1 }); // compiles every kernel first
    const expected = await countDispatches(rt, () => trainer.fit(data.train, { steps: 1 }));
    // The recurrence records a cell dispatch per timestep each way (the GEMM path, SwiftShader's
    // default; its products are GEMMs), or one fused dispatch per timestep each way on a GPU's step path.
    const [fwd, bwd] = rt.isCpu ? ['lstm_forward_cells', 'lstm_backward_cells'] : ['lstm_forward_seq', 'lstm_backward_seq'];
    expect(expected.get(fwd)).toBe(rt.isCpu ? T : 1);
    expect(expected.get(bwd)).toBe(rt.isCpu ? T : 1);
    const before = { ...rt.counters };
    const t0 = performance.now();
    const p = await rt.profile(() => trainer.fit(data.train, { steps: 1 }));
    const wall = performance.now() - t0;
    const dispatched = rt.counters.dispatches - before.dispatches;
    expect(p.supported).toBe(true);
    expect(p.quantized).toBe(false); // Dawn in Node: disable-dawn-features=timestamp_quantization
    expect(p.message).toBe('');
    const calls = new Map(p.kernels.map((k) => [k.kernel, k.calls]));
    expect(calls).toEqual(expected);
    expect(p.dispatches.length).toBe(dispatched);
    // Profiling gives every dispatch its own compute pass.
    expect(rt.counters.passes - before.passes).toBeGreaterThanOrEqual(dispatched);
    expect(p.steps.length).toBeGreaterThanOrEqual(1);
    expect(p.steps.reduce((s, st) => s + st.dispatches, 0)).toBe(dispatched);
    for (const d of p.dispatches) expect(d.ms).toBeGreaterThanOrEqual(0);
    for (const k of p.kernels) {
      expect(Number.isFinite(k.totalMs) && k.totalMs >= 0).toBe(true);
      expect(k.meanMs).toBeCloseTo(k.totalMs / k.calls, 9);
    }
    const total = p.kernels.reduce((s, k) => s + k.totalMs, 0);
    expect(total).toBeCloseTo(p.totalMs, 6);
    expect(p.steps.reduce((s, st) => s + st.gpuMs, 0)).toBeCloseTo(total, 6);
    expect(p.kernels.reduce((s, k) => s + k.share, 0)).toBeCloseTo(1, 9);
    // Plausible: the dispatches took some time, no more than the step's wall time, and fit within the step's span.
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(wall);
    for (const st of p.steps) expect(st.gpuMs).toBeLessThanOrEqual(st.spanMs + 1e-6);
    // The largest first; the table names every kernel.
    expect(p.kernels.map((k) => k.totalMs)).toEqual([...p.kernels.map((k) => k.totalMs)].sort((a, b) => b - a));
    const table = p.toString();
    expect(table).toMatch(/^GPU time: [\d.]+ ms in \d+ dispatches, \d+ steps? /);
    expect(table).toContain('kernel');
    for (const name of expected.keys()) expect(table).toContain(name);
    expect(p.toString(3).split('\n').length).toBe(3 + 3 + 1); // summary, header, rule; 3 rows; "(n more)"
    expect(p.top(2)).toEqual(p.kernels.slice(0, 2));
    // The runtime records normally again afterwards (one pass for consecutive dispatches).
    const c = rt.step(() => trainer.model.zeroGrad());
    expect(c.passes).toBeLessThanOrEqual(1);
    await rt.sync();
    destroy();
  }, 300_000);

  it('a failing fn rejects the profile and leaves the runtime unprofiled', async () => {
    await expect(
      rt.profile(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const p = await rt.profile(() => undefined);
    expect(p.supported).toBe(true);
    expect(p.dispatches.length).toBe(0);
    expect(p.steps.length).toBe(0);
  });

  it('without timestamp-query: fn runs, and the profile says so instead of failing', async () => {
    const bare = await createRuntime({ quiet: true, timestampQuery: false });
    try {
      expect(bare.features.has('timestamp-query')).toBe(false);
      const lin = new Linear(bare, { inFeatures: 4, outFeatures: 3, seed: 1 });
      const x = bare.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
      const before = bare.counters.dispatches;
      const p = await bare.profile(() => bare.step(() => lin.forward(x)));
      expect(bare.counters.dispatches).toBeGreaterThan(before); // fn ran
      expect(p.supported).toBe(false);
      expect(p.kernels).toEqual([]);
      expect(p.message).toMatch(/no 'timestamp-query' feature/);
      expect(p.toString()).toBe(p.message);
      x.destroy();
      lin.destroy();
    } finally {
      bare.destroy();
    }
  }, 180_000);

  it('tells quantised timestamps (the browser: multiples of 65.536 µs) from exact ones', () => {
    const q = 65536n;
    expect(quantum([3n * q, 5n * q, 5n * q, 9n * q, 12n * q, 0n])).toBeCloseTo(65.536, 9);
    expect(quantum([100_000n, 300_000n, 700_000n, 1_100_000n])).toBe(100);
    // Nanosecond clocks: no common factor of 1 µs or more.
    expect(quantum([1_000_123n, 1_004_567n, 1_009_001n, 1_020_202n])).toBeNull();
    // Too few distinct values to tell.
    expect(quantum([q, 2n * q])).toBeNull();
  });
});

describe("Dawn's polling (src/dawn.ts)", () => {
  it('wraps setImmediate for Dawn only: JS callbacks, arguments and promisify still work', async () => {
    const got = await new Promise((resolve) => setImmediate((a: number, b: string) => resolve([a, b]), 1, 'x'));
    expect(got).toEqual([1, 'x']);
    expect(await promisify(setImmediate)('v')).toBe('v');
    // A GPU wait still resolves (and quickly: a small read is polled back to back first).
    const t = rt.tensor([1, 2, 3], [3]);
    expect(Array.from(await t.read())).toEqual([1, 2, 3]);
    t.destroy();
  });
});
