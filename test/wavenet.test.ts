/** WaveNet on the GPU against the float64 reference (test/reference/wavenet.ts, checked by finite differences). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WaveNet, createRuntime, receptiveField, type Runtime, type WaveNetConfig } from '../src/index.js';
import { initWaveNet, receptiveField as refRF, wavenetBackwardRef, wavenetForwardRef, wavenetShapes } from './reference/wavenet.js';
import { expectClose, freshSeed, rng } from './suite/check.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

/**
 * Tolerances: every output is a chain of at most ~2L+4 f32 dot products of
 * length <= max(channels * kernel) ~ 64 over values of size ~1: rounding
 * ~sqrt(64) * u per product, a few 1e-6 in all; atol 2e-5. Gradients sum
 * B*T products more: atol 1e-4, rtol 1e-4. A wrong tap, dilation or gate is
 * off by 1e-2 or more.
 */
const FWD = { atol: 2e-5, rtol: 1e-4 };
const BWD = { atol: 1e-4, rtol: 1e-4 };

const CONFIGS: [string, Omit<WaveNetConfig, 'seed'>, number, number][] = [
  ['dilations 1,2 x2 stacks, kernel 2', { inChannels: 2, residualChannels: 3, dilationChannels: 3, skipChannels: 4, outChannels: 3, dilations: [1, 2], stacks: 2 }, 2, 9],
  ['dilations 1,2,4,8, kernel 3, 5 residual channels', { inChannels: 1, residualChannels: 5, dilationChannels: 6, skipChannels: 7, outChannels: 4, dilations: [1, 2, 4, 8], kernelSize: 3 }, 3, 20],
  ['a sequence shorter than the receptive field', { inChannels: 3, residualChannels: 4, dilationChannels: 4, skipChannels: 4, outChannels: 2, dilations: [1, 2, 4, 8], stacks: 2 }, 2, 7],
  ['global conditioning (G = 3), 3 sequences', { inChannels: 2, residualChannels: 3, dilationChannels: 4, skipChannels: 3, outChannels: 2, dilations: [1, 2], stacks: 2, globalCondition: 3 }, 3, 8],
];

describe('WaveNet vs float64 reference', () => {
  for (const [tag, cfg, B, T] of CONFIGS) {
    it(`${tag}: forward, backward (all parameters, dx)`, async () => {
      const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
      const r = rng(seed);
      const p = initWaveNet(cfg, r);
      // Wider than the default init so tanh, sigmoid and relu are non-linear, rounded to f32.
      for (const k of Object.keys(p)) p[k] = f64(f32(p[k]!.map((v) => 2 * v)));
      const x = f64(f32(Float64Array.from({ length: B * cfg.inChannels * T }, () => r() * 2 - 1)));
      const dy = f64(f32(Float64Array.from({ length: B * cfg.outChannels * T }, () => r() * 2 - 1)));
      const G = cfg.globalCondition ?? 0;
      const c = G ? f64(f32(Float64Array.from({ length: B * G }, () => r() * 2 - 1))) : undefined;
      const ref = wavenetForwardRef(cfg, p, x, B, T, c);
      const refG = wavenetBackwardRef(cfg, p, x, B, T, dy, c);
      const net = new WaveNet(rt, { ...cfg, seed });
      expect(Object.keys(net.paramShapes())).toEqual(Object.keys(wavenetShapes(cfg)));
      net.loadStateDict(Object.fromEntries(Object.entries(p).map(([k, v]) => [k, f32(v)])));
      const xT = rt.tensor(f32(x), [B, cfg.inChannels, T]);
      const { output } = net.forward(xT, { cond: c ? rt.tensor(f32(c), [B, G]) : undefined });
      expect(output.shape).toEqual([B, cfg.outChannels, T]);
      expectClose(`${tag} output`, await output.read(), ref.y, FWD, seed);
      net.zeroGrad();
      const { dx, dcond } = net.backward(rt.tensor(f32(dy), [B, cfg.outChannels, T]));
      expectClose(`${tag} dx`, await dx.read(), refG.dx, BWD, seed);
      if (G) expectClose(`${tag} dcond`, await dcond!.read(), refG.dcond!, BWD, seed);
      const grads = await net.grads();
      for (const [k, v] of Object.entries(refG.grads)) expectClose(`${tag} grad ${k}`, grads[k]!, v, BWD, seed);
      net.destroy();
    });
  }

  it('receptiveField as built', () => {
    const cfg = { dilations: [1, 2, 4, 8], stacks: 3, kernelSize: 2 };
    expect(receptiveField(cfg)).toBe(3 * 15 + 1);
    expect(receptiveField({ dilations: [1, 2], kernelSize: 3 })).toBe(refRF({ inChannels: 1, residualChannels: 1, dilationChannels: 1, skipChannels: 1, outChannels: 1, dilations: [1, 2], kernelSize: 3 }));
  });

  it('causal on the GPU: changing the input at t changes no output before t', async () => {
    const cfg = { inChannels: 1, residualChannels: 4, dilationChannels: 4, skipChannels: 4, outChannels: 2, dilations: [1, 2, 4], seed: 3 };
    const [B, T, t0] = [2, 16, 9];
    const net = new WaveNet(rt, cfg);
    const r = rng(freshSeed(process.env.WEBGPU_RNN_SEED));
    const x = Float32Array.from({ length: B * T }, () => r() * 2 - 1);
    const xt = rt.tensor(x, [B, 1, T]);
    const y1 = await net.forward(xt).output.read();
    x[0 * T + t0] += 0.5; // batch row 0, time t0
    xt.write(x);
    const y2 = await net.forward(xt).output.read();
    for (let o = 0; o < 2; o++) {
      for (let t = 0; t < T; t++) {
        const i = o * T + t;
        if (t < t0) expect(y2[i]).toBe(y1[i]);
      }
    }
    const changed = Array.from({ length: T - t0 }, (_, k) => y2[t0 + k] !== y1[t0 + k]).some(Boolean);
    expect(changed).toBe(true);
    for (let i = 2 * T; i < 4 * T; i++) expect(y2[i]).toBe(y1[i]); // the other sequence is untouched
    net.destroy();
  });

  it('a training step is one submit, and its dispatch count does not depend on T', () => {
    const cfg = { inChannels: 1, residualChannels: 4, dilationChannels: 4, skipChannels: 4, outChannels: 3, dilations: [1, 2, 4, 8], stacks: 2, seed: 1 };
    const counts = [16, 64].map((T) => {
      const net = new WaveNet(rt, cfg);
      const x = rt.tensor(new Float32Array(2 * T).fill(0.1), [2, 1, T]);
      const dy = rt.tensor(new Float32Array(2 * 3 * T).fill(0.01), [2, 3, T]);
      const c = rt.step(() => {
        net.zeroGrad();
        net.forward(x);
        net.backward(dy);
      });
      net.destroy();
      return c;
    });
    expect(counts[0]).toEqual(counts[1]);
    expect(counts[0]!.submits).toBe(1);
    // zeroGrad 1. Forward: input 2 (transpose, GEMM); per layer: pack the conv weights, one GEMM per
    // tap (2), the gate, the skip GEMM, and the residual GEMM + add but for the last layer (7, last 5);
    // head 5 (relu, GEMM, relu, GEMM, transpose). Backward: transpose + head 8 = 9; per layer: dz GEMM,
    // skip dW GEMM and db, the gate, packed db, one weight GEMM and one input GEMM per tap (4), unpack,
    // + residual dz GEMM, dW GEMM, db but for the top layer (13, top 10); input 4 (dW GEMM, db, dx GEMM,
    // transpose).
    const L = 8;
    expect(counts[0]!.dispatches).toBe(1 + (2 + 7 * (L - 1) + 5 + 5) + (9 + 10 + 13 * (L - 1) + 4));
  });

  it('bad input names what and where', () => {
    expect(() => new WaveNet(rt, { inChannels: 1, residualChannels: 0, dilationChannels: 2, skipChannels: 2, outChannels: 2 })).toThrow(
      'WaveNet: residualChannels must be a positive integer, got 0',
    );
    expect(() => new WaveNet(rt, { inChannels: 1, residualChannels: 2, dilationChannels: 2, skipChannels: 2, outChannels: 2, dilations: [1, 0] })).toThrow(
      'WaveNet: dilations[1] must be a positive integer, got 0',
    );
    const net = new WaveNet(rt, { inChannels: 2, residualChannels: 2, dilationChannels: 2, skipChannels: 2, outChannels: 2, seed: 1 });
    expect(() => net.forward(rt.zeros([1, 3, 5]))).toThrow('WaveNet.forward: x must be [B, C_in, T] with C_in = 2, got [1, 3, 5]');
    expect(() => net.backward(rt.zeros([1, 2, 5]))).toThrow('WaveNet.backward: call forward first');
    net.forward(rt.zeros([1, 2, 5]));
    expect(() => net.backward(rt.zeros([1, 2, 4]))).toThrow("WaveNet.backward: dy must be [1, 2, 5] (the output's shape), got [1, 2, 4]");
    expect(() => net.loadStateDict({})).toThrow(/WaveNet.loadStateDict: missing input.weight, input.bias/);
    net.destroy();
  });
});
