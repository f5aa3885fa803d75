/**
 * Keras / TF.js weight converters (src/nn/keras.ts).
 *
 * Expected outputs come from test/reference/keras.ts, float64 code written
 * from the Keras cell equations (Keras weight layout, Keras gate order),
 * independently of the converters and of the PyTorch-style layers. Three
 * levels:
 *   1. CPU: converted weights in the PyTorch float64 reference (forwardRef)
 *      == Keras reference; covers GRU reset_after=False too.
 *   2. GPU: converted weights loaded into LSTM / GRU / RNN == Keras reference.
 *   3. Real TF.js layers (CPU backend, same seeded weights via setWeights):
 *      their output == Keras reference, and `fromTfjsWeights(getWeights())`
 *      on the GPU == the same.
 * Plus the error messages for wrong sizes.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime, GRU, LSTM, RNN, type Recurrent, type Runtime } from '../src/index.js';
import {
  fromTfjsWeights,
  kerasGRUToTorch,
  kerasLSTMToTorch,
  kerasSimpleRNNToTorch,
  type KerasWeights,
  type TorchStateDict,
} from '../src/nn/keras.js';
import { kerasGRURef, kerasLSTMRef, kerasSimpleRNNRef } from './reference/keras.js';
import { forwardRef, type Cell, type Dict } from './reference/recurrent.js';
import { expectClose, freshSeed, rng } from './suite/check.js';

type Kind = 'lstm' | 'gru' | 'gru_reset_before' | 'simple';
const G_OF: Record<Kind, number> = { lstm: 4, gru: 3, gru_reset_before: 3, simple: 1 };
const CELL_OF: Record<Kind, Cell> = { lstm: 'lstm', gru: 'gru', gru_reset_before: 'gru', simple: 'rnn_tanh' };

/** `n` values uniform in [-scale, scale), rounded to f32 so the GPU, TF.js and the float64 references see the same numbers. */
function rand(r: () => number, n: number, scale: number): Float64Array {
  return Float64Array.from(Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale));
}

interface KerasCase {
  kind: Kind;
  I: number;
  H: number;
  T: number;
  B: number;
  /** The Keras layer has a bias (use_bias=True). */
  bias: boolean;
}

/** Seeded Keras weights at PyTorch's init scale 1/sqrt(H) (so the tolerance argument below holds), and x in [-1, 1). */
function makeCase(c: KerasCase, seed: number): { w: { kernel: Float64Array; recurrentKernel: Float64Array; bias?: Float64Array }; x: Float64Array } {
  const r = rng(seed);
  const C = G_OF[c.kind] * c.H;
  const k = 1 / Math.sqrt(c.H);
  const kernel = rand(r, c.I * C, k);
  const recurrentKernel = rand(r, c.H * C, k);
  const biasLen = c.kind === 'gru' ? 2 * C : C; // reset_after=True: [2, 3H]
  const bias = c.bias ? rand(r, biasLen, k) : undefined;
  const x = rand(r, c.T * c.B * c.I, 1);
  return { w: { kernel, recurrentKernel, bias }, x };
}

function kerasRef(c: KerasCase, x: Float64Array, w: ReturnType<typeof makeCase>['w']): { output: Float64Array; h: Float64Array; c?: Float64Array } {
  switch (c.kind) {
    case 'lstm':
      return kerasLSTMRef(x, c.T, c.B, w, c.I, c.H);
    case 'gru':
      return kerasGRURef(x, c.T, c.B, w, c.I, c.H, true);
    case 'gru_reset_before':
      return kerasGRURef(x, c.T, c.B, w, c.I, c.H, false);
    case 'simple':
      return kerasSimpleRNNRef(x, c.T, c.B, w, c.I, c.H);
  }
}

function convert(c: KerasCase, w: KerasWeights, torchBias = true): TorchStateDict {
  switch (c.kind) {
    case 'lstm':
      return kerasLSTMToTorch(w, c.I, c.H, { bias: torchBias });
    case 'gru':
      return kerasGRUToTorch(w, c.I, c.H, { resetAfter: true, bias: torchBias });
    case 'gru_reset_before':
      return kerasGRUToTorch(w, c.I, c.H, { resetAfter: false, bias: torchBias });
    case 'simple':
      return kerasSimpleRNNToTorch(w, c.I, c.H, { bias: torchBias });
  }
}

function makeLayer(rt: Runtime, c: KerasCase, bias: boolean, seed: number): Recurrent {
  const o = { inputSize: c.I, hiddenSize: c.H, bias, seed: seed >>> 0 }; // seeds are u32
  switch (c.kind) {
    case 'lstm':
      return new LSTM(rt, o);
    case 'gru':
      return new GRU(rt, o);
    case 'gru_reset_before':
      return new GRU(rt, { ...o, resetAfter: false });
    case 'simple':
      return new RNN(rt, o);
  }
}

/** The reference output must not be ~0, or a tolerance of 2e-5 would say little. */
function expectNonTrivial(what: string, a: ArrayLike<number>): void {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  expect(m, `${what}: max |value|`).toBeGreaterThan(0.05);
}

/**
 * GPU tolerance, as in test/suite/recurrent.ts: outputs and states are <= ~1;
 * each step rounds a length-(I+H) dot product (~sqrt(H) u) and the recurrence
 * carries earlier errors along, contracting at this init scale: ~T sqrt(H) u
 * ~ 1e-6 for T = 5, H = 70, so atol 2e-5 leaves >10x. A wrong gate block, a
 * transposed matrix or a misplaced bias changes outputs by >= 1e-2.
 * TF.js (float32 CPU) against float64 has the same error budget.
 */
const FWD_TOL = { atol: 2e-5, rtol: 1e-4 };
/** CPU: the converters only move f32 values, and forwardRef and the Keras references do the same float64 arithmetic in different orders. */
const EXACT_TOL = { atol: 1e-12, rtol: 0 };

const base = { I: 4, T: 5, B: 3 };
const cases: KerasCase[] = [];
for (const kind of ['lstm', 'gru', 'gru_reset_before', 'simple'] as Kind[]) {
  for (const bias of [true, false]) cases.push({ ...base, kind, H: 6, bias });
  cases.push({ ...base, kind, H: 70, bias: true });
}
const name = (c: KerasCase): string => `${c.kind} I=${c.I} H=${c.H} T=${c.T} B=${c.B}${c.bias ? '' : ' use_bias=False'}`;

describe('Keras -> PyTorch conversion, float64 (CPU)', () => {
  for (const c of cases) {
    it(name(c), () => {
      const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
      const { w, x } = makeCase(c, seed);
      const k = kerasRef(c, x, w);
      expectNonTrivial(name(c), k.output);
      for (const torchBias of c.bias ? [true] : [true, false]) {
        const d = convert(c, w, torchBias);
        const p: Dict = Object.fromEntries(Object.entries(d).map(([n, v]) => [n, Float64Array.from(v)]));
        const cfg = {
          cell: CELL_OF[c.kind],
          inputSize: c.I,
          hiddenSize: c.H,
          numLayers: 1,
          bidirectional: false,
          bias: torchBias,
          resetAfter: c.kind !== 'gru_reset_before',
        };
        const t = forwardRef(cfg, p, { x, T: c.T, B: c.B });
        const tag = `${name(c)} torch bias=${torchBias}`;
        expectClose(`${tag} output`, t.output, k.output, EXACT_TOL, seed);
        expectClose(`${tag} h`, t.h, k.h, EXACT_TOL, seed);
        if (k.c) expectClose(`${tag} c`, t.c!, k.c, EXACT_TOL, seed);
      }
    });
  }

  it('gate reordering matters: GRU z/r blocks land in PyTorch rows r, z', () => {
    // Keras kernel [1, 3]: columns z=1, r=2, h=3 -> weight_ih [3, 1] rows r, z, n = 2, 1, 3.
    const d = kerasGRUToTorch({ kernel: [1, 2, 3], recurrentKernel: [4, 5, 6], bias: [7, 8, 9, 10, 11, 12] }, 1, 1, { resetAfter: true });
    expect(Array.from(d.weight_ih_l0!)).toEqual([2, 1, 3]);
    expect(Array.from(d.weight_hh_l0!)).toEqual([5, 4, 6]);
    expect(Array.from(d.bias_ih_l0!)).toEqual([8, 7, 9]);
    expect(Array.from(d.bias_hh_l0!)).toEqual([11, 10, 12]);
    // LSTM: transposed, order kept. kernel [2, 4] row-major -> weight_ih [4, 2].
    const l = kerasLSTMToTorch({ kernel: [0, 1, 2, 3, 10, 11, 12, 13], recurrentKernel: [20, 21, 22, 23] }, 2, 1, 'l1_reverse');
    expect(Object.keys(l)).toEqual(['weight_ih_l1_reverse', 'weight_hh_l1_reverse', 'bias_ih_l1_reverse', 'bias_hh_l1_reverse']);
    expect(Array.from(l.weight_ih_l1_reverse!)).toEqual([0, 10, 1, 11, 2, 12, 3, 13]);
    expect(Array.from(l.bias_ih_l1_reverse!)).toEqual([0, 0, 0, 0]);
  });
});

// One runtime for the file (top-level await), so whether GRU takes
// resetAfter: false can be asked when the tests are collected.
const rt: Runtime = await createRuntime({ quiet: true });
afterAll(() => rt.destroy());

async function checkGpu(c: KerasCase, layerBias: boolean, seed: number): Promise<void> {
  const { w, x } = makeCase(c, seed);
  const k = kerasRef(c, x, w);
  const layer = makeLayer(rt, c, layerBias, seed ^ 0x5eed);
  const xT = rt.tensor(Float32Array.from(x), [c.T, c.B, c.I]);
  try {
    layer.loadStateDict(convert(c, w, layerBias));
    const res = layer.forward(xT);
    const tag = `${name(c)} layer bias=${layerBias}`;
    expectClose(`${tag} output`, await res.output.read(), k.output, FWD_TOL, seed);
    expectClose(`${tag} h`, await res.h.read(), k.h, FWD_TOL, seed);
    if (k.c) expectClose(`${tag} c`, await res.c!.read(), k.c, FWD_TOL, seed);
  } finally {
    layer.destroy();
    xT.buffer.destroy();
  }
}

describe('Keras weights in our GPU layers (Node, Dawn)', () => {
  for (const c of cases) {
    it(name(c), async () => {
      await checkGpu(c, true, freshSeed(process.env.WEBGPU_RNN_SEED));
    });
    if (!c.bias) {
      it(`${name(c)} into a bias=false layer ({ bias: false })`, async () => {
        await checkGpu(c, false, freshSeed(process.env.WEBGPU_RNN_SEED));
      });
    }
  }
});

describe('real TF.js layers (CPU backend) -> fromTfjsWeights -> GPU', () => {
  const tfCases: KerasCase[] = [
    { ...base, kind: 'lstm', H: 6, bias: true },
    { ...base, kind: 'lstm', H: 6, bias: false },
    { ...base, kind: 'simple', H: 6, bias: true },
    // TF.js GRU supports only reset_after=False
    { ...base, kind: 'gru_reset_before', H: 6, bias: true },
  ];
  for (const c of tfCases) {
    it(name(c), async () => {
      await tf.setBackend('cpu');
      const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
      const { w, x } = makeCase(c, seed);
      const k = kerasRef(c, x, w);
      const { T, B, I, H } = c;
      const args = { units: H, returnSequences: true, useBias: c.bias };
      const layer =
        c.kind === 'lstm'
          ? tf.layers.lstm({ ...args, recurrentActivation: 'sigmoid' })
          : c.kind === 'simple'
            ? tf.layers.simpleRNN({ ...args, activation: 'tanh' })
            : tf.layers.gru({ ...args, recurrentActivation: 'sigmoid' });
      // TF.js is batch-major [B, T, I]; ours and the references are time-major.
      const xBT = tf.transpose(tf.tensor3d(Float32Array.from(x), [T, B, I]), [1, 0, 2]);
      tf.dispose(layer.apply(xBT) as tf.Tensor); // builds the layer (its own init weights)
      const C = G_OF[c.kind] * H;
      layer.setWeights([
        tf.tensor2d(Float32Array.from(w.kernel), [I, C]),
        tf.tensor2d(Float32Array.from(w.recurrentKernel), [H, C]),
        ...(w.bias ? [tf.tensor1d(Float32Array.from(w.bias))] : []),
      ]);
      const y = tf.transpose(layer.apply(xBT) as tf.Tensor, [1, 0, 2]);
      expectClose(`${name(c)} TF.js vs Keras reference`, y.dataSync(), k.output, FWD_TOL, seed);

      const conv = fromTfjsWeights(c.kind === 'lstm' ? 'lstm' : c.kind === 'simple' ? 'simpleRNN' : 'gru', layer.getWeights());
      expect([conv.inputSize, conv.hiddenSize]).toEqual([I, H]);
      if (c.kind === 'gru_reset_before') expect(conv.resetAfter).toBe(false);
      tf.dispose([xBT, y]);
      layer.dispose();
      const ours = makeLayer(rt, c, true, seed);
      const xT = rt.tensor(Float32Array.from(x), [T, B, I]);
      try {
        ours.loadStateDict(conv.stateDict);
        const res = ours.forward(xT);
        expectClose(`${name(c)} GPU (fromTfjsWeights) output`, await res.output.read(), k.output, FWD_TOL, seed);
        expectClose(`${name(c)} GPU (fromTfjsWeights) h`, await res.h.read(), k.h, FWD_TOL, seed);
      } finally {
        ours.destroy();
        xT.buffer.destroy();
      }
    });
  }
});

describe('converter errors', () => {
  const I = 4;
  const H = 8;
  const z = (n: number) => new Float32Array(n);
  it('wrong kernel / recurrentKernel / bias sizes name the argument, expected and actual size', () => {
    expect(() => kerasLSTMToTorch({ kernel: z(127), recurrentKernel: z(256) }, I, H)).toThrow(
      'kerasLSTMToTorch: kernel must have I*4H = 128 values ([4, 32]), got 127',
    );
    expect(() => kerasLSTMToTorch({ kernel: z(128), recurrentKernel: z(255) }, I, H)).toThrow(
      'kerasLSTMToTorch: recurrentKernel must have H*4H = 256 values ([8, 32]), got 255',
    );
    expect(() => kerasLSTMToTorch({ kernel: z(128), recurrentKernel: z(256), bias: z(8) }, I, H)).toThrow(
      'kerasLSTMToTorch: bias must have 4H = 32 values ([32]), got 8',
    );
    expect(() => kerasSimpleRNNToTorch({ kernel: z(32), recurrentKernel: z(64), bias: z(9) }, I, H)).toThrow(
      'kerasSimpleRNNToTorch: bias must have H = 8 values ([8]), got 9',
    );
    expect(() => kerasSimpleRNNToTorch({ kernel: z(33), recurrentKernel: z(64) }, I, H)).toThrow(
      'kerasSimpleRNNToTorch: kernel must have I*H = 32 values ([4, 8]), got 33',
    );
    expect(() => kerasGRUToTorch({ kernel: z(96), recurrentKernel: z(192), bias: z(24) }, I, H, { resetAfter: true })).toThrow(
      "kerasGRUToTorch: bias must have 2*3H = 48 values ([2, 24]), got 24 (a [24] bias is reset_after=False's: pass { resetAfter: false })",
    );
    expect(() => kerasGRUToTorch({ kernel: z(96), recurrentKernel: z(192), bias: z(48) }, I, H, { resetAfter: false })).toThrow(
      "kerasGRUToTorch: bias must have 3H = 24 values ([24]), got 48 (a [2, 24] bias is reset_after=True's: pass { resetAfter: true })",
    );
    expect(() => kerasGRUToTorch({ kernel: z(95), recurrentKernel: z(192) }, I, H, { resetAfter: true })).toThrow(
      'kerasGRUToTorch: kernel must have I*3H = 96 values ([4, 24]), got 95',
    );
  });

  it('missing arrays, bad sizes, options and suffixes', () => {
    expect(() => kerasLSTMToTorch({ recurrentKernel: z(256) } as never, I, H)).toThrow(
      'kerasLSTMToTorch: kernel must be an array of I*4H = 128 values ([4, 32]), got undefined',
    );
    expect(() => kerasLSTMToTorch({ kernel: z(128), recurrentKernel: z(256) }, 0, H)).toThrow('kerasLSTMToTorch: inputSize must be a positive integer, got 0');
    expect(() => kerasLSTMToTorch({ kernel: z(128), recurrentKernel: z(256) }, I, 8.5)).toThrow('kerasLSTMToTorch: hiddenSize must be a positive integer, got 8.5');
    expect(() => kerasLSTMToTorch({ kernel: z(128), recurrentKernel: z(256) }, I, H, 'layer0')).toThrow("kerasLSTMToTorch: suffix must look like 'l0'");
    expect(() => kerasGRUToTorch({ kernel: z(96), recurrentKernel: z(192) }, I, H, {} as never)).toThrow(
      'kerasGRUToTorch: options { resetAfter: boolean } are required',
    );
    // A Keras bias with { bias: false } would be dropped silently: an error instead.
    expect(() => kerasLSTMToTorch({ kernel: z(128), recurrentKernel: z(256), bias: z(32) }, I, H, { bias: false })).toThrow(
      'kerasLSTMToTorch: a Keras bias was given with { bias: false }',
    );
    // { bias: false } leaves the bias keys out, as a bias=false layer's loadStateDict wants.
    expect(Object.keys(kerasSimpleRNNToTorch({ kernel: z(32), recurrentKernel: z(64) }, I, H, { bias: false }))).toEqual(['weight_ih_l0', 'weight_hh_l0']);
  });

  it('fromTfjsWeights checks shapes and the GRU bias shape', () => {
    const t = (shape: number[]) => ({ shape, data: z(shape.reduce((a, b) => a * b, 1)) });
    expect(() => fromTfjsWeights('lstm', [t([4, 30]), t([8, 32])])).toThrow('fromTfjsWeights: kernel must be [I, 4H], got [4, 30]');
    expect(() => fromTfjsWeights('lstm', [t([4, 32]), t([8, 24])])).toThrow('fromTfjsWeights: recurrentKernel must be [8, 32] (from kernel [4, 32]), got [8, 24]');
    expect(() => fromTfjsWeights('gru', [t([4, 24]), t([8, 24]), t([24])], { resetAfter: true })).toThrow(
      "fromTfjsWeights: resetAfter: true given, but the bias [24] is reset_after=False's",
    );
    expect(() => fromTfjsWeights('conv' as never, [])).toThrow("fromTfjsWeights: kind must be 'lstm', 'gru' or 'simpleRNN'");
    expect(fromTfjsWeights('gru', [t([4, 24]), t([8, 24]), t([2, 24])]).resetAfter).toBe(true);
    expect(() => fromTfjsWeights('gru', [t([4, 24]), t([8, 24]), { shape: [2, 24], data: z(47) }])).toThrow(
      'kerasGRUToTorch: bias must have 2*3H = 48 values ([2, 24]), got 47',
    );
  });

  it('a converted dict that does not fit the layer is rejected by loadStateDict', () => {
    // Keras use_bias=False converted with { bias: false } into a bias=true layer: missing keys, not zeros.
    const layer = new LSTM(rt, { inputSize: I, hiddenSize: H, seed: 1 });
    try {
      expect(() => layer.loadStateDict(kerasLSTMToTorch({ kernel: z(128), recurrentKernel: z(256) }, I, H, { bias: false }))).toThrow(
        'LSTM.loadStateDict: missing bias_ih_l0, bias_hh_l0',
      );
    } finally {
      layer.destroy();
    }
  });
});
