/**
 * Options and contracts of the recurrent layers beyond the core cell checks
 * (test/suite/recurrent.ts): batchFirst, dropout, per-timestep gradient
 * norms, truncated BPTT, dispatch and submit counts, and bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRU, LSTM, RNN, createRuntime, dropoutMaskCpu, type Recurrent, type Runtime } from '../src/index.js';
import { backwardRef, forwardRef, initParams, type Cell, type RefConfig } from './reference/recurrent.js';
import { expectClose, freshSeed, rng } from './suite/check.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

const seedNow = () => freshSeed(process.env.WEBGPU_RNN_SEED);
const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
const rand = (r: () => number, n: number) => f64(f32(Float64Array.from({ length: n }, () => r() * 2 - 1)));
// Same reasoning as test/suite/recurrent.ts: f32 forward ~1e-6, gradients ~1e-6 at these sizes.
const FWD = { atol: 2e-5, rtol: 1e-4 };
const BWD = { atol: 1e-4, rtol: 1e-4 };

/** [A, C, F] -> [C, A, F] */
function swap(a: ArrayLike<number>, A: number, C: number, F: number): Float64Array {
  const o = new Float64Array(A * C * F);
  for (let i = 0; i < A; i++) for (let j = 0; j < C; j++) for (let f = 0; f < F; f++) o[(j * A + i) * F + f] = a[(i * C + j) * F + f]!;
  return o;
}

function build(cell: Cell, o: ConstructorParameters<typeof LSTM>[1]): Recurrent {
  if (cell === 'lstm') return new LSTM(rt, o);
  if (cell === 'gru') return new GRU(rt, o);
  return new RNN(rt, { ...o, nonlinearity: cell === 'rnn_relu' ? 'relu' : 'tanh' });
}

function setup(cell: Cell, cfgExtra: Partial<RefConfig>, seed: number) {
  const r = rng(seed);
  const cfg: RefConfig = { cell, inputSize: 3, hiddenSize: 5, numLayers: 1, bidirectional: false, bias: true, ...cfgExtra };
  const params = initParams(cfg, r);
  for (const k of Object.keys(params)) params[k] = f64(f32(params[k]!));
  return { r, cfg, params, dict: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, f32(v)])) };
}

describe('batchFirst', () => {
  for (const kernel of ['step', 'sequence', 'gemm'] as const) {
    it(`LSTM bidirectional, [B, T, I] in and [B, T, D*H] out, forward and backward (${kernel})`, async () => {
      const seed = seedNow();
      const { r, cfg, params, dict } = setup('lstm', { bidirectional: true }, seed);
      const [T, B, I, H, D] = [4, 3, 3, 5, 2];
      const x = rand(r, T * B * I);
      const dOut = rand(r, T * B * D * H);
      const ref = forwardRef(cfg, params, { x, T, B });
      const refG = backwardRef(cfg, params, { x, T, B }, { dOutput: dOut });
      const layer = build('lstm', { inputSize: I, hiddenSize: H, bidirectional: true, batchFirst: true, seed, kernel });
      layer.loadStateDict(dict);
      const res = layer.forward(rt.tensor(f32(swap(x, T, B, I)), [B, T, I]));
      expect(res.output.shape).toEqual([B, T, D * H]);
      expectClose('output', await res.output.read(), swap(ref.output, T, B, D * H), FWD, seed);
      layer.zeroGrad();
      const g = layer.backward(rt.tensor(f32(swap(dOut, T, B, D * H)), [B, T, D * H]));
      expect(g.dx.shape).toEqual([B, T, I]);
      expectClose('dx', await g.dx.read(), swap(refG.dx, T, B, I), BWD, seed);
      const grads = await layer.grads();
      for (const [k, v] of Object.entries(refG.grads)) expectClose(k, grads[k]!, v, BWD, seed);
      layer.destroy();
    });
  }
});

describe('dropout between layers', () => {
  it('draws masks on the GPU that match their CPU twin, forward and backward, new masks each step; eval() turns it off', async () => {
    const seed = seedNow();
    const p = 0.4;
    const { r, cfg, params, dict } = setup('gru', { numLayers: 3, bidirectional: true }, seed);
    const [T, B, I, H, D, L] = [4, 2, 3, 5, 2, 3];
    const layer = build('gru', { inputSize: I, hiddenSize: H, numLayers: L, bidirectional: true, dropout: p, seed, kernel: 'sequence' });
    layer.loadStateDict(dict);
    const xT = rt.tensor(f32(rand(r, T * B * I)), [T, B, I]);
    const x = f64(await xT.read());
    const dOut = rand(r, T * B * D * H);
    const dOutT = rt.tensor(f32(dOut), [T, B, D * H]);
    for (let step = 1; step <= 2; step++) {
      const masks = Array.from({ length: L - 1 }, (_, l) => dropoutMaskCpu(T * B * D * H, p, (layer as unknown as { seed: number }).seed, l, step));
      const inp = { x, T, B, dropout: { p, masks } };
      const ref = forwardRef(cfg, params, inp);
      const refG = backwardRef(cfg, params, inp, { dOutput: dOut });
      const res = layer.forward(xT);
      expectClose(`output, step ${step}`, await res.output.read(), ref.output, FWD, seed);
      layer.zeroGrad();
      const g = layer.backward(dOutT);
      expectClose(`dx, step ${step}`, await g.dx.read(), refG.dx, BWD, seed);
      const grads = await layer.grads();
      for (const [k, v] of Object.entries(refG.grads)) expectClose(`${k}, step ${step}`, grads[k]!, v, BWD, seed);
      const kept = masks.flatMap((m) => Array.from(m)).filter((v) => v > 0).length / (masks.length * masks[0]!.length);
      expect(kept).toBeGreaterThan(0.3); // ~0.6 of 80 elements: a mask that keeps all or none fails
      expect(kept).toBeLessThan(0.9);
    }
    layer.eval();
    const ref = forwardRef(cfg, params, { x, T, B });
    expectClose('eval output', await layer.forward(xT).output.read(), ref.output, FWD, seed);
    layer.destroy();
  });
});

describe('gradNormPerTimestep', () => {
  for (const cell of ['rnn_tanh', 'lstm', 'gru'] as const) {
    it(`${cell}: the norm of dL/dh_t per t matches the reference (lengths included)`, async () => {
      const seed = seedNow();
      const { r, cfg, params, dict } = setup(cell, { numLayers: 2, bidirectional: true }, seed);
      const [T, B, I, H, D] = [6, 3, 3, 5, 2];
      const lengths = [6, 3, 5];
      const x = rand(r, T * B * I);
      const dOut = rand(r, T * B * D * H);
      const refG = backwardRef(cfg, params, { x, T, B, lengths }, { dOutput: dOut });
      const layer = build(cell, { inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true, trackGradNorm: true, seed });
      layer.loadStateDict(dict);
      layer.forward(rt.tensor(f32(x), [T, B, I]), { lengths });
      layer.backward(rt.tensor(f32(dOut), [T, B, D * H]));
      expectClose('dhNorm', await layer.gradNormPerTimestep(), refG.dhNorm, BWD, seed);
      layer.destroy();
    });
  }
});

describe('truncated BPTT', () => {
  it('k-step windows with the state carried (detached) give the full-sequence outputs; gradients stop at each window', async () => {
    const seed = seedNow();
    const { r, cfg, params, dict } = setup('lstm', {}, seed);
    const [T, B, I, H, k] = [10, 2, 3, 5, 4];
    const x = rand(r, T * B * I);
    const ref = forwardRef(cfg, params, { x, T, B });
    const layer = build('lstm', { inputSize: I, hiddenSize: H, seed });
    layer.loadStateDict(dict);
    const xAll = rt.tensor(f32(x), [T, B, I]);
    const h = rt.zeros([1, B, H]);
    const c = rt.zeros([1, B, H]);
    const got = new Float64Array(T * B * H);
    for (let t0 = 0; t0 < T; t0 += k) {
      const len = Math.min(k, T - t0);
      const win = xAll.view([len, B, I], t0 * B * I);
      const res = layer.forward(win, { h0: h, c0: c });
      got.set(await res.output.read(), t0 * B * H);
      // The carried state: copied in at the next forward, so no gradient can flow back into this window.
      rt.copy(res.h, h);
      rt.copy(res.c!, c);
    }
    expectClose('windowed output', got, ref.output, FWD, seed);
    expectClose('carried h', await h.read(), ref.h, FWD, seed);

    // One window's backward equals the reference run on that window alone, from its initial state.
    const t0 = 4;
    const winX = x.subarray(t0 * B * I, (t0 + k) * B * I);
    const prefix = forwardRef(cfg, params, { x: x.subarray(0, t0 * B * I), T: t0, B });
    const dOut = rand(r, k * B * H);
    const refG = backwardRef(cfg, params, { x: f64(winX), T: k, B, h0: prefix.h, c0: prefix.c }, { dOutput: dOut });
    layer.forward(xAll.view([k, B, I], t0 * B * I), { h0: rt.tensor(f32(prefix.h), [1, B, H]), c0: rt.tensor(f32(prefix.c!), [1, B, H]) });
    layer.zeroGrad();
    const g = layer.backward(rt.tensor(f32(dOut), [k, B, H]));
    const grads = await layer.grads();
    for (const [name, v] of Object.entries(refG.grads)) expectClose(`window ${name}`, grads[name]!, v, BWD, seed);
    expectClose('window dh0', await g.dh0.read(), refG.dh0, BWD, seed);
    layer.destroy();
  });
});

describe('dispatches and submits', () => {
  const T = 7;
  const B = 2;
  function count(cell: Cell, kernel: 'step' | 'sequence' | 'gemm', o: { L?: number; D?: number; bias?: boolean; resetBefore?: boolean } = {}) {
    const L = o.L ?? 1;
    const D = o.D ?? 1;
    const opts = { inputSize: 3, hiddenSize: 4, numLayers: L, bidirectional: D === 2, bias: o.bias ?? true, kernel, seed: 1 };
    const layer = o.resetBefore ? new GRU(rt, { ...opts, resetAfter: false }) : build(cell, opts);
    const x = rt.tensor(new Float32Array(T * B * 3).fill(0.5), [T, B, 3]);
    const dOut = rt.tensor(new Float32Array(T * B * D * 4).fill(0.25), [T, B, D * 4]);
    // Warm up: the first call binds (and the second checks re-recording reuses it).
    rt.step(() => {
      layer.forward(x);
      layer.backward(dOut);
    });
    const fwd = rt.step(() => layer.forward(x));
    const both = rt.step(() => {
      layer.forward(x);
      layer.backward(dOut);
    });
    layer.destroy();
    return { fwd, bwd: both.dispatches - fwd.dispatches, both };
  }

  for (const cell of ['rnn_tanh', 'lstm', 'gru'] as const) {
    it(`${cell}, per-step path: forward T+2 and backward T+6 dispatches per layer and direction, one submit`, () => {
      const c = count(cell, 'step', { L: 2, D: 2 });
      expect(c.fwd.dispatches).toBe(4 * (T + 2));
      expect(c.bwd).toBe(4 * (T + 6));
      expect(c.both.submits).toBe(1);
      expect(c.both.passes).toBe(1);
    });
    it(`${cell}, whole-sequence path: a constant number of dispatches, independent of T`, () => {
      const c = count(cell, 'sequence', { L: 2, D: 2 });
      expect(c.fwd.dispatches).toBe(4 * 2);
      expect(c.bwd).toBe(4 * 6);
      expect(c.both.submits).toBe(1);
    });
    it(`${cell}, GEMM path: a GEMM and a cell dispatch per step (forward 2T+2; backward 2T+6, less the first step's product)`, () => {
      const c = count(cell, 'gemm', { L: 2, D: 2 });
      expect(c.fwd.dispatches).toBe(4 * (2 * T + 2));
      expect(c.bwd).toBe(4 * (2 * T - 1 + 6));
      expect(c.both.submits).toBe(1);
      expect(c.both.passes).toBe(1);
    });
  }

  it('GRU with the reset gate before the product, GEMM path: two GEMMs and two cell dispatches per step', () => {
    const c = count('gru', 'gemm', { resetBefore: true });
    expect(c.fwd.dispatches).toBe(4 * T + 2);
    // Backward: phase 0's product of the next step (none at the first), phase 1's of this step.
    expect(c.bwd).toBe(4 * T - 1 + 7);
  });

  it('GRU with the reset gate before the product: two dispatches per step (2T+2 forward, 2T+7 backward) or a constant', () => {
    const c = count('gru', 'step', { resetBefore: true });
    expect(c.fwd.dispatches).toBe(2 * T + 2);
    expect(c.bwd).toBe(2 * T + 7);
    const s = count('gru', 'sequence', { resetBefore: true, D: 2 });
    expect(s.fwd.dispatches).toBe(2 * 2);
    expect(s.bwd).toBe(2 * 7);
    expect(s.both.submits).toBe(1);
  });
});

describe('bad input is refused before dispatch, naming what and where', () => {
  it('options', () => {
    expect(() => new LSTM(rt, { inputSize: 0, hiddenSize: 4 })).toThrow('LSTM: inputSize must be a positive integer, got 0');
    expect(() => new GRU(rt, { inputSize: 3, hiddenSize: 2.5 })).toThrow('GRU: hiddenSize must be a positive integer, got 2.5');
    expect(() => new RNN(rt, { inputSize: 3, hiddenSize: 4, nonlinearity: 'sigmoid' as 'tanh' })).toThrow(
      "RNN: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'",
    );
    expect(() => new LSTM(rt, { inputSize: 3, hiddenSize: 4, dropout: 1 })).toThrow('LSTM: dropout must be in [0, 1), got 1');
    expect(() => new GRU(rt, { inputSize: 3, hiddenSize: 4, resetAfter: 'no' as unknown as boolean })).toThrow(
      'GRU: resetAfter must be a boolean, got no',
    );
    expect(() => new LSTM(rt, { inputSize: 3, hiddenSize: 4, kernel: 'fast' as 'auto' })).toThrow(
      "LSTM: kernel must be 'auto', 'step', 'sequence' or 'gemm', got 'fast'",
    );
  });

  it('shapes, states, lengths and state dicts', async () => {
    const layer = new LSTM(rt, { inputSize: 3, hiddenSize: 4, numLayers: 2, seed: 1 });
    const before = rt.counters.dispatches;
    expect(() => layer.forward(rt.zeros([5, 2, 4]))).toThrow('LSTM.forward: x must be [T, B, I] with I = 3, got [5, 2, 4]');
    expect(() => layer.forward(rt.zeros([5, 3]))).toThrow('LSTM.forward: x must be [T, B, I] with I = 3, got [5, 3]');
    const x = rt.zeros([5, 2, 3]);
    expect(() => layer.forward(x, { h0: rt.zeros([1, 2, 4]) })).toThrow('LSTM.forward: h0 must be [2, 2, 4], got [1, 2, 4]');
    expect(() => layer.forward(x, { lengths: [5] })).toThrow('LSTM.forward: lengths must have B = 2 entries, got 1');
    expect(() => layer.forward(x, { lengths: [5, 6] })).toThrow('LSTM.forward: lengths[1] = 6 is outside 1..5');
    expect(() => layer.forward(x, { lengths: [0, 5] })).toThrow('LSTM.forward: lengths[0] = 0 is outside 1..5');
    expect(rt.counters.dispatches).toBe(before);
    expect(() => layer.backward(rt.zeros([5, 2, 4]))).toThrow('LSTM.backward: call forward first');
    layer.forward(x);
    expect(() => layer.backward(rt.zeros([5, 2, 3]))).toThrow('LSTM.backward: dOutput must be [5, 2, 4] (the output\'s shape), got [5, 2, 3]');
    const good = await layer.stateDict();
    const { weight_hh_l1: _, ...missing } = good;
    expect(() => layer.loadStateDict(missing)).toThrow('LSTM.loadStateDict: missing weight_hh_l1');
    expect(() => layer.loadStateDict({ ...good, extra: new Float32Array(1) })).toThrow('LSTM.loadStateDict: unexpected extra');
    expect(() => layer.loadStateDict({ ...good, bias_ih_l0: new Float32Array(3) })).toThrow(
      "LSTM.loadStateDict: 'bias_ih_l0' must have [16] (16 values), got 3",
    );
    expect(() => layer.loadStateDict({ ...good, weight_ih_l0: rt.zeros([3, 16]) })).toThrow(
      "LSTM.loadStateDict: 'weight_ih_l0' must be [16, 3], got [3, 16]",
    );
    const gru = new GRU(rt, { inputSize: 3, hiddenSize: 4, seed: 1 });
    expect(() => gru.forward(x, { c0: rt.zeros([1, 2, 4]) })).toThrow('GRU.forward: c0 is for LSTM only');
    layer.destroy();
    gru.destroy();
  });

  it('state_dict round trip under PyTorch names', async () => {
    const a = new GRU(rt, { inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 7 });
    const sd = await a.stateDict();
    expect(Object.keys(sd)).toEqual([
      'weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0',
      'weight_ih_l0_reverse', 'weight_hh_l0_reverse', 'bias_ih_l0_reverse', 'bias_hh_l0_reverse',
      'weight_ih_l1', 'weight_hh_l1', 'bias_ih_l1', 'bias_hh_l1',
      'weight_ih_l1_reverse', 'weight_hh_l1_reverse', 'bias_ih_l1_reverse', 'bias_hh_l1_reverse',
    ]);
    expect(sd.weight_ih_l1!.length).toBe(12 * 8);
    const bound = 1 / Math.sqrt(4);
    const all = Object.values(sd).flatMap((v) => Array.from(v));
    expect(Math.max(...all.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(new Set(all).size).toBeGreaterThan(all.length * 0.9); // uniform draws, not a constant
    const b = new GRU(rt, { inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 8 });
    b.loadStateDict(sd);
    const sd2 = await b.stateDict();
    for (const k of Object.keys(sd)) expect(Array.from(sd2[k]!)).toEqual(Array.from(sd[k]!));
    a.destroy();
    b.destroy();
  });
});

describe('gateActivations', () => {
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  /** Float64 gate activations of one layer, one direction, from its parameters, input and (reference) outputs. */
  function refGates(cell: Cell, p: Record<string, Float64Array>, x: Float64Array, out: Float64Array, T: number, B: number, I: number, H: number): Float64Array {
    const G = cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
    const res = new Float64Array(T * B * G * H);
    const [wih, whh, bih, bhh] = [p.weight_ih_l0!, p.weight_hh_l0!, p.bias_ih_l0!, p.bias_hh_l0!];
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const gi = new Float64Array(G * H);
        const gh = new Float64Array(G * H);
        for (let k = 0; k < G * H; k++) {
          gi[k] = bih[k]!;
          gh[k] = bhh[k]!;
          for (let i = 0; i < I; i++) gi[k] += wih[k * I + i]! * x[(t * B + b) * I + i]!;
          if (t > 0) for (let j = 0; j < H; j++) gh[k] += whh[k * H + j]! * out[((t - 1) * B + b) * H + j]!;
        }
        const at = (g: number, j: number) => ((t * B + b) * G + g) * H + j;
        for (let j = 0; j < H; j++) {
          if (cell === 'lstm') {
            for (let g = 0; g < 4; g++) {
              const v = gi[g * H + j]! + gh[g * H + j]!;
              res[at(g, j)] = g === 2 ? Math.tanh(v) : sig(v);
            }
          } else if (cell === 'gru') {
            const r = sig(gi[j]! + gh[j]!);
            res[at(0, j)] = r;
            res[at(1, j)] = sig(gi[H + j]! + gh[H + j]!);
            res[at(2, j)] = Math.tanh(gi[2 * H + j]! + r * gh[2 * H + j]!);
          } else {
            res[at(0, j)] = Math.tanh(gi[j]! + gh[j]!);
          }
        }
      }
    }
    return res;
  }

  for (const cell of ['lstm', 'gru', 'rnn_tanh'] as const) {
    for (const kernel of ['step', 'sequence', 'gemm'] as const) {
      it(`${cell} (${kernel}): the gates after their nonlinearity, in PyTorch's order`, async () => {
        const seed = seedNow();
        const { r, cfg, params, dict } = setup(cell, {}, seed);
        const [T, B, I, H] = [5, 2, 3, 5];
        const x = rand(r, T * B * I);
        const ref = forwardRef(cfg, params, { x, T, B });
        const layer = build(cell, { inputSize: I, hiddenSize: H, seed, kernel });
        layer.loadStateDict(dict);
        layer.forward(rt.tensor(f32(x), [T, B, I]));
        const g = await layer.gateActivations();
        expect(g.names).toEqual(cell === 'lstm' ? ['input', 'forget', 'cell', 'output'] : cell === 'gru' ? ['reset', 'update', 'new'] : ['hidden']);
        expect([g.T, g.B, g.H]).toEqual([T, B, H]);
        // Same tolerance as the forward outputs: f32 products over I + H terms, then a sigmoid/tanh (slope <= 1).
        expectClose(`${cell} gates`, g.values, refGates(cell, params, x, ref.output, T, B, I, H), FWD, seed);
        await expect(layer.gateActivations(1)).rejects.toThrow(/layer must be an integer in \[0, 0\], got 1/);
        layer.destroy();
      });
    }
  }

  it('refuses before any forward', async () => {
    const layer = new LSTM(rt, { inputSize: 2, hiddenSize: 3, seed: 1 });
    await expect(layer.gateActivations()).rejects.toThrow(/LSTM.gateActivations: call forward first/);
    layer.destroy();
  });
});
