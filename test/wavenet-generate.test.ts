/** Fast generation on the GPU (per-layer queues) against naive generation in float64 (the definition). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WaveNet, createRuntime, generationUniform, receptiveField, type Runtime, type WaveNetConfig } from '../src/index.js';
import { generateNaiveRef, initWaveNet, muLawDecode, type Dict } from './reference/wavenet.js';
import { expectClose, freshSeed, rng } from './suite/check.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

// Outputs are ~2L+4 chained f32 dot products of length <= 3*5 over values ~1, recomputed
// identically each step: ~1e-6; atol 1e-4 also covers inputs that are themselves outputs
// (regression feeds them back over ~50 steps, each contracting).
const TOL = { atol: 1e-4, rtol: 1e-4 };

function model(cfg: WaveNetConfig, seed: number): { p: Dict; net: WaveNet } {
  const r = rng(seed);
  const p = initWaveNet(cfg, r);
  // Twice PyTorch's init width: outputs that vary from step to step.
  for (const k of Object.keys(p)) p[k] = f64(f32(p[k]!.map((v) => 2 * v)));
  const net = new WaveNet(rt, { ...cfg, seed });
  net.loadStateDict(Object.fromEntries(Object.entries(p).map(([k, v]) => [k, f32(v)])));
  return { p, net };
}

function argmax(a: ArrayLike<number>): number {
  let c = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[c]!) c = i;
  return c;
}

/** The GPU kernel's draw: softmax(y / temperature) at u. */
function sampleClass(y: ArrayLike<number>, temperature: number, u: number): number {
  const mx = Math.max(...Array.from(y));
  const e = Array.from(y, (v) => Math.exp((v - mx) / temperature));
  const total = e.reduce((a, b) => a + b, 0);
  let cum = 0;
  for (let c = 0; c < e.length; c++) {
    cum += e[c]!;
    if (cum > u * total) return c;
  }
  return e.length - 1;
}

const oneHot = (n: number, c: number) => {
  const v = new Float64Array(n);
  v[c] = 1;
  return v;
};

describe('WaveNet fast generation', () => {
  const cls: WaveNetConfig = { inChannels: 5, residualChannels: 4, dilationChannels: 3, skipChannels: 6, outChannels: 5, dilations: [1, 2, 4], stacks: 2 };

  it('argmax, one-hot feedback: equals naive generation over 3 receptive fields; chunked the same', async () => {
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const { p, net } = model(cls, seed);
    const r = rng(seed + 1);
    const T0 = 4;
    const prefix = f64(Array.from({ length: 5 * T0 }, () => (r() < 0.2 ? 1 : 0)));
    const n = 3 * receptiveField(cls) + 2;
    const ref = generateNaiveRef(cls, p, prefix, T0, n, (out) => oneHot(5, argmax(out)));
    const pre = rt.tensor(f32(prefix), [1, 5, T0]);
    const { samples, outputs } = net.generate(n, { prefix: pre, mode: 'argmax', keepOutputs: true });
    expectClose('outputs', await outputs!.read(), ref.outputs, TOL, seed);
    const want = Array.from({ length: n }, (_, j) => argmax(ref.inputs.subarray(j * 5, j * 5 + 5)));
    expect(Array.from(await samples.read())).toEqual(want);
    // (Argmax over random weights often settles on one class; the sampling test below moves.)
    const chunked = net.generate(n, { prefix: pre, mode: 'argmax', chunk: 7 });
    expect(Array.from(await chunked.samples.read())).toEqual(want);
    net.destroy();
  });

  it('softmax sampling with a temperature, two sequences side by side', async () => {
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const { p, net } = model(cls, seed);
    const r = rng(seed + 2);
    const T0 = 3;
    const B = 2;
    const prefixes = [0, 1].map(() => f64(Array.from({ length: 5 * T0 }, () => r() * 2 - 1)));
    const n = 3 * receptiveField(cls) + 2;
    const temperature = 0.7;
    const genSeed = 1234;
    const pre = rt.tensor(f32([...prefixes[0]!, ...prefixes[1]!]), [B, 5, T0]);
    const { samples, outputs } = net.generate(n, { prefix: pre, mode: 'sample', temperature, seed: genSeed, keepOutputs: true });
    const got = await samples.read();
    const gotOut = await outputs!.read();
    for (let b = 0; b < B; b++) {
      const ref = generateNaiveRef(cls, p, prefixes[b]!, T0, n, (out, j) => oneHot(5, sampleClass(out, temperature, generationUniform(genSeed, b, j))));
      const want = Array.from({ length: n }, (_, j) => argmax(ref.inputs.subarray(j * 5, j * 5 + 5)));
      expect(Array.from(got.subarray(b * n, (b + 1) * n))).toEqual(want);
      expect(new Set(want).size).toBeGreaterThan(1); // a sequence that moves through the queues
      expectClose(`outputs row ${b}`, gotOut.subarray(b * n * 5, (b + 1) * n * 5), ref.outputs, TOL, seed);
    }
    expect(Array.from(got.subarray(0, n))).not.toEqual(Array.from(got.subarray(n))); // two different streams
    net.destroy();
  });

  it('regression (the output fed back), kernel size 3', async () => {
    const cfg: WaveNetConfig = { inChannels: 1, residualChannels: 4, dilationChannels: 4, skipChannels: 4, outChannels: 1, dilations: [1, 2, 4], kernelSize: 3 };
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const { p, net } = model(cfg, seed);
    const T0 = 5;
    const prefix = f64(Array.from({ length: T0 }, (_, t) => Math.sin(t)));
    const n = 3 * receptiveField(cfg);
    const ref = generateNaiveRef(cfg, p, prefix, T0, n, (out) => f64([out[0]!]));
    const { samples } = net.generate(n, { prefix: rt.tensor(f32(prefix), [1, 1, T0]), mode: 'regression' });
    expectClose('regression samples', await samples.read(), ref.outputs, TOL, seed);
    net.destroy();
  });

  it('mu-law: classes fed back as their decoded value', async () => {
    const cfg: WaveNetConfig = { inChannels: 1, residualChannels: 4, dilationChannels: 4, skipChannels: 8, outChannels: 16, dilations: [1, 2], stacks: 2 };
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const { p, net } = model(cfg, seed);
    const T0 = 2;
    const prefix = f64([0.25, -0.5]);
    const n = 30;
    const ref = generateNaiveRef(cfg, p, prefix, T0, n, (out, j) => f64([muLawDecode(sampleClass(out, 1, generationUniform(9, 0, j)), 15)]));
    const { samples } = net.generate(n, { prefix: rt.tensor(f32(prefix), [1, 1, T0]), mode: 'sample', input: 'mulaw', seed: 9 });
    const got = Array.from(await samples.read());
    // Each input is the decoded class: compare classes through the reference inputs.
    const want = Array.from(ref.inputs, (x) => Math.round(((Math.sign(x) * Math.log1p(15 * Math.abs(x))) / Math.log1p(15) + 1) / 2 * 15));
    expect(got).toEqual(want);
    net.destroy();
  });

  it('global conditioning: two sequences with different conditions', async () => {
    const cfg: WaveNetConfig = { ...cls, globalCondition: 2 };
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const { p, net } = model(cfg, seed);
    const T0 = 2;
    const conds = [f64([1, -0.5]), f64([-0.75, 0.25])];
    const prefix = f64([1, 0, 0, 0, 0, 0, 1, 0, 0, 0]); // [C_in = 5, T0 = 2], channel-major
    const n = 3 * receptiveField(cfg);
    const { samples, outputs } = net.generate(n, {
      prefix: rt.tensor(f32([...prefix, ...prefix]), [2, 5, T0]),
      mode: 'sample',
      seed: 5,
      cond: rt.tensor(f32([...conds[0]!, ...conds[1]!]), [2, 2]),
      keepOutputs: true,
    });
    const got = await samples.read();
    const gotOut = await outputs!.read();
    for (let b = 0; b < 2; b++) {
      const ref = generateNaiveRef(cfg, p, prefix, T0, n, (out, j) => oneHot(5, sampleClass(out, 1, generationUniform(5, b, j))), conds[b]);
      expect(Array.from(got.subarray(b * n, (b + 1) * n))).toEqual(Array.from({ length: n }, (_, j) => argmax(ref.inputs.subarray(j * 5, j * 5 + 5))));
      expectClose(`cond outputs row ${b}`, gotOut.subarray(b * n * 5, (b + 1) * n * 5), ref.outputs, TOL, seed);
    }
    net.destroy();
  });

  it('bad options are refused', () => {
    const net = new WaveNet(rt, { ...cls, seed: 1 });
    expect(() => net.generate(0)).toThrow('WaveNet.generate: n must be a positive integer, got 0');
    expect(() => net.generate(5, { mode: 'sample', temperature: 0 })).toThrow('WaveNet.generate: temperature must be > 0, got 0');
    expect(() => net.generate(5, { input: 'mulaw' })).toThrow('WaveNet.generate: mu-law feedback needs inChannels = 1, got 5');
    expect(() => net.generate(5, { prefix: rt.zeros([1, 4, 3]) })).toThrow('WaveNet.generate: prefix must be [B=1, C_in=5, T0 >= 1], got [1, 4, 3]');
    net.destroy();
  });
});
