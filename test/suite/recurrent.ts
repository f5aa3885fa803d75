/**
 * Recurrent layers on the GPU against the float64 reference
 * (test/reference/recurrent.ts, itself checked against finite differences).
 * Shared by Node (test/recurrent.test.ts) and headless Chromium.
 */
import { GRU, LSTM, RNN, type Recurrent, type Runtime, type Tensor } from '../../src/index.js';
import { backwardRef, forwardRef, initParams, type Cell, type RefConfig } from '../reference/recurrent.js';
import { expectClose, rng } from './check.js';
import type { Case } from './kernels.js';

export interface RecurrentCase {
  cell: Cell;
  I: number;
  H: number;
  L?: number;
  bidirectional?: boolean;
  bias?: boolean;
  T: number;
  B: number;
  lengths?: number[];
  /** Pass h0 (and c0), dh (and dc). */
  states?: boolean;
  kernel?: 'step' | 'sequence' | 'gemm';
  /** GRU: false applies the reset gate before the recurrent product. */
  resetAfter?: boolean;
}

export function makeLayer(rt: Runtime, c: RecurrentCase, seed: number): Recurrent {
  const o = { inputSize: c.I, hiddenSize: c.H, numLayers: c.L ?? 1, bidirectional: !!c.bidirectional, bias: c.bias ?? true, seed, kernel: c.kernel };
  switch (c.cell) {
    case 'lstm':
      return new LSTM(rt, o);
    case 'gru':
      return new GRU(rt, { ...o, resetAfter: c.resetAfter ?? true });
    case 'rnn_tanh':
      return new RNN(rt, o);
    case 'rnn_relu':
      return new RNN(rt, { ...o, nonlinearity: 'relu' });
  }
}

const f32 = (a: Float64Array): Float32Array => Float32Array.from(a);
const f64 = (a: ArrayLike<number>): Float64Array => Float64Array.from(a);
function rand(r: () => number, n: number, scale = 1): Float64Array {
  // Rounded to f32 so GPU and reference see the same inputs.
  return Float64Array.from(f32(Float64Array.from({ length: n }, () => (r() * 2 - 1) * scale)));
}

/**
 * Tolerances. Forward values are gate outputs and states of size <= ~1;
 * each step rounds a dot product of length H (error ~ sqrt(H) u) and the
 * recurrence carries earlier errors along, contracting (|dh_t/dh_{t-1}| < 1
 * at this init scale): ~T * sqrt(H) * u ~ 1e-6 here; atol 2e-5 leaves 20x.
 * Gradients sum T*B products of such values (dW) and back-propagate over T
 * steps: atol 1e-4 and rtol 1e-4 (measured max error ~1e-6 at these sizes),
 * while any wrong term (a gate, a sign, a step) is >= 1e-2.
 */
const FWD_TOL = { atol: 2e-5, rtol: 1e-4 };
const BWD_TOL = { atol: 1e-4, rtol: 1e-4 };

export async function checkRecurrent(rt: Runtime, c: RecurrentCase, seed: number): Promise<void> {
  const r = rng(seed);
  const L = c.L ?? 1;
  // (kernel path is the layer's option; the reference has one path)
  const D = c.bidirectional ? 2 : 1;
  const cfg: RefConfig = {
    cell: c.cell, inputSize: c.I, hiddenSize: c.H, numLayers: L, bidirectional: D === 2, bias: c.bias ?? true, resetAfter: c.resetAfter ?? true,
  };
  const params = initParams(cfg, r);
  for (const k of Object.keys(params)) params[k] = f64(f32(params[k]!));
  const { T, B, H, I } = c;
  const x = rand(r, T * B * I);
  const h0 = c.states ? rand(r, L * D * B * H, 0.5) : undefined;
  const c0 = c.states && c.cell === 'lstm' ? rand(r, L * D * B * H, 0.5) : undefined;
  const dOut = rand(r, T * B * D * H);
  const dh = c.states ? rand(r, L * D * B * H) : undefined;
  const dc = c.states && c.cell === 'lstm' ? rand(r, L * D * B * H) : undefined;
  const inp = { x, T, B, h0, c0, lengths: c.lengths };
  const ref = forwardRef(cfg, params, inp);
  const refG = backwardRef(cfg, params, inp, { dOutput: dOut, dh, dc });

  const layer = makeLayer(rt, c, seed);
  const own: Tensor[] = [];
  const up = (a: Float64Array | undefined, shape: number[]) => {
    if (!a) return undefined;
    const t = rt.tensor(f32(a), shape);
    own.push(t);
    return t;
  };
  try {
    layer.loadStateDict(Object.fromEntries(Object.entries(params).map(([k, v]) => [k, f32(v)])));
    const xT = up(x, [T, B, I])!;
    const sShape = [L * D, B, H];
    // Poison everything the layer writes, so an unwritten element fails.
    for (const t of [layer.gradients.all]) t.write(new Float32Array(t.size).fill(0));
    const res = layer.forward(xT, { h0: up(h0, sShape), c0: up(c0, sShape), lengths: c.lengths });
    const tag = `${c.cell} I${I} H${H} L${L} D${D} T${T} B${B}${c.lengths ? ` len=${c.lengths}` : ''}`;
    expectClose(`${tag} output`, await res.output.read(), ref.output, FWD_TOL, seed);
    expectClose(`${tag} h`, await res.h.read(), ref.h, FWD_TOL, seed);
    if (res.c) expectClose(`${tag} c`, await res.c.read(), ref.c!, FWD_TOL, seed);
    layer.zeroGrad();
    const g = layer.backward(up(dOut, [T, B, D * H])!, { dh: up(dh, sShape), dc: up(dc, sShape) });
    expectClose(`${tag} dx`, await g.dx.read(), refG.dx, BWD_TOL, seed);
    expectClose(`${tag} dh0`, await g.dh0.read(), refG.dh0, BWD_TOL, seed);
    if (g.dc0) expectClose(`${tag} dc0`, await g.dc0.read(), refG.dc0!, BWD_TOL, seed);
    const grads = await layer.grads();
    for (const [k, v] of Object.entries(refG.grads)) expectClose(`${tag} grad ${k}`, grads[k]!, v, BWD_TOL, seed);
  } finally {
    layer.destroy();
    for (const t of own) t.buffer.destroy();
  }
}

export const recurrentCases: RecurrentCase[] = [
  { cell: 'lstm', I: 1, H: 1, T: 2, B: 1 },
  { cell: 'lstm', I: 5, H: 7, T: 6, B: 3, states: true },
  { cell: 'lstm', I: 3, H: 70, T: 4, B: 2 },
  { cell: 'lstm', I: 4, H: 6, T: 5, B: 3, L: 2, bidirectional: true, states: true },
  { cell: 'lstm', I: 4, H: 5, T: 6, B: 4, bidirectional: true, lengths: [6, 2, 1, 4], states: true },
  { cell: 'lstm', I: 3, H: 4, T: 3, B: 2, bias: false },
  // H a multiple of 4: the vec4 paths; B not a multiple of the 4 rows an invocation owns.
  { cell: 'lstm', I: 5, H: 8, T: 5, B: 5, bidirectional: true, lengths: [5, 1, 3, 5, 2], states: true },
  { cell: 'lstm', I: 6, H: 68, T: 4, B: 6, L: 2, states: true },
  { cell: 'gru', I: 1, H: 1, T: 2, B: 1 },
  { cell: 'gru', I: 5, H: 7, T: 6, B: 3, states: true },
  { cell: 'gru', I: 3, H: 70, T: 4, B: 2 },
  { cell: 'gru', I: 4, H: 6, T: 5, B: 3, L: 2, bidirectional: true, states: true },
  { cell: 'gru', I: 4, H: 5, T: 6, B: 4, bidirectional: true, lengths: [6, 2, 1, 4], states: true },
  { cell: 'gru', I: 3, H: 4, T: 3, B: 2, bias: false },
  { cell: 'gru', I: 5, H: 8, T: 5, B: 5, bidirectional: true, lengths: [5, 1, 3, 5, 2], states: true },
  { cell: 'gru', I: 6, H: 68, T: 4, B: 6, L: 2, states: true },
  { cell: 'gru', I: 5, H: 7, T: 6, B: 3, states: true, resetAfter: false },
  { cell: 'gru', I: 4, H: 70, T: 5, B: 3, L: 2, bidirectional: true, lengths: [5, 2, 4], states: true, resetAfter: false },
  { cell: 'gru', I: 4, H: 12, T: 5, B: 5, bidirectional: true, lengths: [5, 2, 4, 1, 3], states: true, resetAfter: false },
  { cell: 'rnn_tanh', I: 1, H: 1, T: 2, B: 1 },
  { cell: 'rnn_tanh', I: 5, H: 7, T: 6, B: 3, states: true },
  { cell: 'rnn_tanh', I: 3, H: 70, T: 4, B: 2, L: 2, bidirectional: true, lengths: [1, 4] },
  { cell: 'rnn_relu', I: 5, H: 9, T: 6, B: 3, states: true },
  { cell: 'rnn_tanh', I: 5, H: 8, T: 5, B: 5, bidirectional: true, lengths: [5, 1, 3, 5, 2], states: true },
  { cell: 'rnn_relu', I: 6, H: 68, T: 4, B: 6, L: 2, states: true },
  { cell: 'rnn_relu', I: 4, H: 6, T: 5, B: 3, L: 2, bidirectional: true, lengths: [5, 3, 1], bias: false },
];

/** Every case on every path: one fused dispatch per step, one per sequence, and a GEMM plus a cell dispatch per step. */
const allPaths: RecurrentCase[] = recurrentCases.flatMap((c) => [
  { ...c, kernel: 'step' as const },
  { ...c, kernel: 'sequence' as const },
  { ...c, kernel: 'gemm' as const },
]);

export const recurrentSuite: Case[] = allPaths.map((c) => ({
  name: `${c.cell} I=${c.I} H=${c.H} L=${c.L ?? 1}${c.bidirectional ? ' bidirectional' : ''} T=${c.T} B=${c.B}${
    c.lengths ? ` lengths=${c.lengths}` : ''
  }${c.states ? ' with states' : ''}${c.bias === false ? ' no bias' : ''}${c.resetAfter === false ? ' resetAfter=false' : ''} [${c.kernel}]`,
  run: (rt, seed) => checkRecurrent(rt, c, seed),
}));
