/**
 * The float64 recurrent references (test/reference/recurrent.ts, keras.ts)
 * checked on their own: backwardRef against central finite differences of
 * forwardRef, hand-computed 1x1 cells, packed-sequence and stacking
 * semantics, and the Keras formulas against the PyTorch ones.
 */
import { describe, expect, it } from 'vitest';
import { expectClose, rng } from './suite/check.js';
import {
  backwardRef,
  forwardRef,
  gateCount,
  initParams,
  paramShapes,
  type Dict,
  type RefConfig,
  type RefInputs,
} from './reference/recurrent.js';
import { kerasGRURef, kerasLSTMRef, kerasSimpleRNNRef } from './reference/keras.js';
import { FD_EPS, FD_TOL, dot, fdGrad } from './reference/fd.js';

const randArr = (r: () => number, n: number, lo = -1, hi = 1): Float64Array =>
  Float64Array.from({ length: n }, () => lo + (hi - lo) * r());


interface Upstream {
  dOutput: Float64Array;
  dh?: Float64Array;
  dc?: Float64Array;
}

/** L = sum(dOutput * output) + sum(dh * h) + sum(dc * c), the scalar backwardRef differentiates. */
function lossOf(cfg: RefConfig, p: Dict, inp: RefInputs, up: Upstream): number {
  const f = forwardRef(cfg, p, inp);
  let L = dot(up.dOutput, f.output);
  if (up.dh) L += dot(up.dh, f.h);
  if (up.dc) L += dot(up.dc, f.c!);
  return L;
}


interface Case {
  name: string;
  cfg: RefConfig;
  T: number;
  B: number;
  lengths?: number[];
  dropoutP?: number;
  withDh?: boolean; // upstream gradient on the final h (and c for LSTM)
  zeroState?: boolean; // omit h0/c0 (check dh0 is still the gradient at a zero state)
}

const base = { inputSize: 3, hiddenSize: 4, numLayers: 1, bidirectional: false, bias: true };

const cases: Case[] = [
  { name: 'rnn_tanh', cfg: { ...base, cell: 'rnn_tanh' }, T: 4, B: 2, withDh: true },
  { name: 'rnn_tanh, no bias, zero h0', cfg: { ...base, cell: 'rnn_tanh', bias: false }, T: 3, B: 2, zeroState: true },
  { name: 'rnn_relu', cfg: { ...base, cell: 'rnn_relu' }, T: 4, B: 3, withDh: true },
  { name: 'lstm', cfg: { ...base, cell: 'lstm' }, T: 4, B: 2, withDh: true },
  { name: 'lstm, zero h0/c0, output gradient only', cfg: { ...base, cell: 'lstm' }, T: 3, B: 2, zeroState: true },
  { name: 'gru (reset after, PyTorch)', cfg: { ...base, cell: 'gru' }, T: 4, B: 2, withDh: true },
  { name: 'gru resetAfter=false', cfg: { ...base, cell: 'gru', resetAfter: false }, T: 4, B: 2, withDh: true },
  { name: 'rnn_tanh 2 layers bidirectional', cfg: { ...base, cell: 'rnn_tanh', numLayers: 2, bidirectional: true }, T: 3, B: 2, withDh: true },
  { name: 'lstm 2 layers', cfg: { ...base, cell: 'lstm', numLayers: 2 }, T: 4, B: 2, withDh: true },
  { name: 'lstm bidirectional', cfg: { ...base, cell: 'lstm', bidirectional: true }, T: 4, B: 2, withDh: true },
  { name: 'lstm 2 layers bidirectional', cfg: { ...base, cell: 'lstm', numLayers: 2, bidirectional: true }, T: 3, B: 2, withDh: true },
  { name: 'gru 2 layers bidirectional', cfg: { ...base, cell: 'gru', numLayers: 2, bidirectional: true }, T: 3, B: 2, withDh: true },
  { name: 'gru resetAfter=false 2 layers bidirectional', cfg: { ...base, cell: 'gru', resetAfter: false, numLayers: 2, bidirectional: true }, T: 3, B: 2, withDh: true },
  // lengths, unsorted (enforce_sorted=False)
  { name: 'lstm 2 layers bidirectional, lengths [4,2,1]', cfg: { ...base, cell: 'lstm', numLayers: 2, bidirectional: true }, T: 4, B: 3, lengths: [4, 2, 1], withDh: true },
  { name: 'gru bidirectional, lengths [2,4,1]', cfg: { ...base, cell: 'gru', bidirectional: true }, T: 4, B: 3, lengths: [2, 4, 1], withDh: true },
  { name: 'rnn_tanh, lengths [3,1]', cfg: { ...base, cell: 'rnn_tanh' }, T: 3, B: 2, lengths: [3, 1], withDh: true },
  // dropout between layers
  { name: 'lstm 2 layers, dropout', cfg: { ...base, cell: 'lstm', numLayers: 2 }, T: 4, B: 2, dropoutP: 0.5, withDh: true },
  { name: 'gru 3 layers bidirectional, dropout, lengths [3,1]', cfg: { ...base, cell: 'gru', numLayers: 3, bidirectional: true, hiddenSize: 3 }, T: 3, B: 2, dropoutP: 0.3, lengths: [3, 1], withDh: true },
];

/** Random parameters, inputs and upstream gradients for a case. */
function setup(c: Case, seed: number): { p: Dict; inp: RefInputs; up: Upstream } {
  const r = rng(seed);
  const { cfg, T, B } = c;
  const D = cfg.bidirectional ? 2 : 1;
  const H = cfg.hiddenSize;
  const LDBH = cfg.numLayers * D * B * H;
  // Wider than PyTorch's init so the gates leave their linear region.
  const p = initParams(cfg, () => 2 * r() - 0.5);
  const inp: RefInputs = { x: randArr(r, T * B * cfg.inputSize), T, B };
  if (!c.zeroState) {
    inp.h0 = randArr(r, LDBH);
    if (cfg.cell === 'lstm') inp.c0 = randArr(r, LDBH);
  }
  if (c.lengths) inp.lengths = c.lengths;
  if (c.dropoutP !== undefined) {
    const keep = 1 / (1 - c.dropoutP);
    const masks: Float64Array[] = [];
    for (let l = 0; l < cfg.numLayers - 1; l++) {
      masks.push(Float64Array.from({ length: T * B * D * H }, () => (r() < c.dropoutP! ? 0 : keep)));
    }
    inp.dropout = { p: c.dropoutP, masks };
  }
  const up: Upstream = { dOutput: randArr(r, T * B * D * H) };
  if (c.withDh) {
    up.dh = randArr(r, LDBH);
    if (cfg.cell === 'lstm') up.dc = randArr(r, LDBH);
  }
  return { p, inp, up };
}

describe('recurrent reference: shapes and init', () => {
  it('paramShapes follows PyTorch names and order', () => {
    const cfg: RefConfig = { cell: 'gru', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, bias: true };
    expect(Object.entries(paramShapes(cfg))).toEqual([
      ['weight_ih_l0', [12, 3]],
      ['weight_hh_l0', [12, 4]],
      ['bias_ih_l0', [12]],
      ['bias_hh_l0', [12]],
      ['weight_ih_l0_reverse', [12, 3]],
      ['weight_hh_l0_reverse', [12, 4]],
      ['bias_ih_l0_reverse', [12]],
      ['bias_hh_l0_reverse', [12]],
      ['weight_ih_l1', [12, 8]],
      ['weight_hh_l1', [12, 4]],
      ['bias_ih_l1', [12]],
      ['bias_hh_l1', [12]],
      ['weight_ih_l1_reverse', [12, 8]],
      ['weight_hh_l1_reverse', [12, 4]],
      ['bias_ih_l1_reverse', [12]],
      ['bias_hh_l1_reverse', [12]],
    ]);
    expect(Object.keys(paramShapes({ ...cfg, cell: 'lstm', numLayers: 1, bidirectional: false, bias: false }))).toEqual([
      'weight_ih_l0',
      'weight_hh_l0',
    ]);
    expect([gateCount('rnn_tanh'), gateCount('rnn_relu'), gateCount('lstm'), gateCount('gru')]).toEqual([1, 1, 4, 3]);
  });

  it('initParams is uniform(-1/sqrt(H), 1/sqrt(H))', () => {
    const cfg: RefConfig = { cell: 'lstm', inputSize: 5, hiddenSize: 16, numLayers: 1, bidirectional: false, bias: true };
    const p = initParams(cfg, rng(1));
    const k = 1 / 4;
    for (const [name, shape] of Object.entries(paramShapes(cfg))) {
      const a = p[name]!;
      expect(a.length).toBe(shape.reduce((x, y) => x * y, 1));
      for (const v of a) expect(Math.abs(v)).toBeLessThanOrEqual(k);
    }
    // rand() = 0 gives -k, rand() -> 1 gives k
    expect(initParams(cfg, () => 0).weight_ih_l0![0]).toBe(-k);
  });
});

describe('recurrent reference: backwardRef vs central finite differences', () => {
  for (const c of cases) {
    it(c.name, () => {
      const seed = 1000 + cases.indexOf(c);
      const { p, inp, up } = setup(c, seed);
      const { cfg } = c;
      const L = (): number => lossOf(cfg, p, inp, up);
      const g = backwardRef(cfg, p, inp, up);

      if (cfg.cell === 'rnn_relu') {
        // Finite differences are only valid away from the relu kink: require that no
        // ±eps perturbation anywhere changes which units are active (h > 0), i.e. every
        // perturbed forward stays on the same linear piece as the unperturbed one.
        const pattern = (): string => {
          const f = forwardRef(cfg, p, inp);
          return Array.from(f.output, (v) => (v > 0 ? '1' : '0')).join('');
        };
        const ref = pattern();
        expect(ref).toContain('0'); // some units inactive: the relu derivative's zero branch is exercised
        expect(ref).toContain('1');
        for (const a of [...Object.values(p), inp.x, inp.h0!]) {
          for (let i = 0; i < a.length; i++) {
            const v = a[i]!;
            for (const s of [FD_EPS, -FD_EPS]) {
              a[i] = v + s;
              expect(pattern()).toBe(ref);
            }
            a[i] = v;
          }
        }
      }

      expect(Object.keys(g.grads)).toEqual(Object.keys(paramShapes(cfg)));
      for (const name of Object.keys(paramShapes(cfg))) {
        expectClose(`${c.name}: d${name}`, g.grads[name]!, fdGrad(p[name]!, L), FD_TOL, seed);
      }
      expectClose(`${c.name}: dx`, g.dx, fdGrad(inp.x, L), FD_TOL, seed);

      const D = cfg.bidirectional ? 2 : 1;
      const n = cfg.numLayers * D * c.B * cfg.hiddenSize;
      // With a zero state, dh0/dc0 are the gradient at h0 = 0: pass the zeros explicitly to difference them.
      inp.h0 ??= new Float64Array(n);
      expectClose(`${c.name}: dh0`, g.dh0, fdGrad(inp.h0, L), FD_TOL, seed);
      if (cfg.cell === 'lstm') {
        inp.c0 ??= new Float64Array(n);
        expectClose(`${c.name}: dc0`, g.dc0!, fdGrad(inp.c0, L), FD_TOL, seed);
      } else {
        expect(g.dc0).toBeUndefined();
      }
      // Sanity: the gradients are not trivially zero.
      expect(g.dx.some((v) => Math.abs(v) > 1e-3)).toBe(true);
      expect(g.dh0.some((v) => Math.abs(v) > 1e-3)).toBe(true);
      if (c.lengths) {
        // padded positions of x never reach the output
        for (let b = 0; b < c.B; b++) {
          for (let t = c.lengths[b]!; t < c.T; t++) {
            for (let i = 0; i < cfg.inputSize; i++) expect(g.dx[(t * c.B + b) * cfg.inputSize + i]).toBe(0);
          }
        }
      }
    });
  }
});

describe('recurrent reference: dhNorm', () => {
  /**
   * dhNorm[t] = || dL/dh_t ||, h_t the last layer's forward-direction state.
   * Derived independently of backwardRef, through the public forwardRef only,
   * using the Markov property of a one-layer, one-direction network: h_t
   * (and c_t) summarise everything before t+1, so
   *   L = sum(dOutput[0..t] * output[0..t]) + L_tail(h_t, c_t)
   * where L_tail is the loss of running the same cell on x[t+1..T-1] from
   * the initial state (h_t, c_t): sum(dOutput[t+1..] * out_tail) +
   * sum(dh * h_final) + sum(dc * c_final). h_t enters the first part only
   * through output[t] = h_t, so
   *   dL/dh_t = dOutput[t] + d L_tail / d h0   (finite differences on h0),
   * and for t = T-1 the tail is empty: L_tail = sum(dh * h) + sum(dc * c), so
   * dL/dh_{T-1} = dOutput[T-1] + dh.
   */
  for (const cell of ['lstm', 'gru', 'rnn_tanh'] as const) {
    it(`${cell}: norm of dL/dh_t from tail forwards`, () => {
      const c: Case = { name: cell, cfg: { ...base, cell }, T: 5, B: 2, withDh: true };
      const { p, inp, up } = setup(c, 77);
      const { cfg, T, B } = c;
      const H = cfg.hiddenSize;
      const I = cfg.inputSize;
      const g = backwardRef(cfg, p, inp, up);
      expect(g.dhNorm.length).toBe(T);
      for (let t = 0; t < T; t++) {
        // state (h_t, c_t) after steps 0..t
        const head = forwardRef(cfg, p, { ...inp, x: inp.x.slice(0, (t + 1) * B * I), T: t + 1 });
        const dhT = Float64Array.from(up.dOutput.subarray(t * B * H, (t + 1) * B * H));
        if (t === T - 1) {
          for (let k = 0; k < B * H; k++) dhT[k] += up.dh![k]!;
        } else {
          const tail: RefInputs = { x: inp.x.slice((t + 1) * B * I), T: T - 1 - t, B, h0: Float64Array.from(head.h) };
          if (head.c) tail.c0 = head.c;
          const tailUp: Upstream = { dOutput: up.dOutput.slice((t + 1) * B * H), dh: up.dh };
          if (up.dc) tailUp.dc = up.dc;
          const fd = fdGrad(tail.h0!, () => lossOf(cfg, p, tail, tailUp));
          for (let k = 0; k < B * H; k++) dhT[k] += fd[k]!;
        }
        const norm = Math.sqrt(dot(dhT, dhT));
        expectClose(`${cell}: dhNorm[${t}]`, [g.dhNorm[t]!], [norm], FD_TOL, 77);
      }
    });
  }
});

describe('recurrent reference: semantics', () => {
  it('lengths: outputs past a row are 0, final state is the state at its last step (= a truncated run)', () => {
    for (const cell of ['lstm', 'gru', 'rnn_relu'] as const) {
      const c: Case = { name: cell, cfg: { ...base, cell, numLayers: 2, bidirectional: true }, T: 4, B: 3, lengths: [4, 2, 1] };
      const { p, inp } = setup(c, 5);
      const { cfg, T, B } = c;
      const H = cfg.hiddenSize;
      const I = cfg.inputSize;
      const LD = 4;
      const f = forwardRef(cfg, p, inp);
      for (let b = 0; b < B; b++) {
        const len = c.lengths![b]!;
        // row b alone, cut to its length, no lengths: an independent run of a length-len sequence
        const xb = new Float64Array(len * I);
        for (let t = 0; t < len; t++) for (let i = 0; i < I; i++) xb[t * I + i] = inp.x[(t * B + b) * I + i]!;
        const pick = (a: Float64Array): Float64Array => {
          const o = new Float64Array(LD * H);
          for (let s = 0; s < LD; s++) for (let j = 0; j < H; j++) o[s * H + j] = a[(s * B + b) * H + j]!;
          return o;
        };
        const one: RefInputs = { x: xb, T: len, B: 1, h0: pick(inp.h0!) };
        if (inp.c0) one.c0 = pick(inp.c0);
        const fb = forwardRef(cfg, p, one);
        for (let t = 0; t < T; t++) {
          const got = f.output.slice((t * B + b) * 2 * H, (t * B + b + 1) * 2 * H);
          if (t < len) expectClose(`${cell} row ${b} output t=${t}`, got, fb.output.slice(t * 2 * H, (t + 1) * 2 * H), { atol: 0, rtol: 0 }, 5);
          else expect(Array.from(got)).toEqual(new Array(2 * H).fill(0));
        }
        expectClose(`${cell} row ${b} final h`, pick(f.h), fb.h, { atol: 0, rtol: 0 }, 5);
        if (f.c) expectClose(`${cell} row ${b} final c`, pick(f.c), fb.c!, { atol: 0, rtol: 0 }, 5);
      }
      // and the row of length 1: its reverse direction's final h equals its output at t = 0 (one step from h0)
      const b = 2;
      for (let j = 0; j < H; j++) {
        expect(f.h[((1 * 2 + 1) * B + b) * H + j]).toBe(f.output[(0 * B + b) * 2 * H + H + j]);
        expect(f.h[((1 * 2 + 0) * B + b) * H + j]).toBe(f.output[(0 * B + b) * 2 * H + j]);
      }
    }
  });

  it('stacking, bidirectional halves and dropout compose from one-layer runs', () => {
    for (const cell of ['lstm', 'gru', 'rnn_tanh'] as const) {
      const c: Case = { name: cell, cfg: { ...base, cell, numLayers: 2, bidirectional: true }, T: 4, B: 2, dropoutP: 0.5 };
      const { p, inp } = setup(c, 9);
      const { cfg, T, B } = c;
      const H = cfg.hiddenSize;
      const I = cfg.inputSize;
      const f = forwardRef(cfg, p, inp);
      const state = (a: Float64Array | undefined, s: number): Float64Array | undefined => a?.slice(s * B * H, (s + 1) * B * H);
      // One direction of one layer as a plain one-layer, one-direction network.
      // The reverse direction = the forward network on the time-reversed input, its output reversed back.
      const oneDir = (l: number, d: number, x: Float64Array, inSize: number): { out: Float64Array; h: Float64Array; c?: Float64Array } => {
        const sfx = d === 0 ? '' : '_reverse';
        const c1: RefConfig = { ...cfg, inputSize: inSize, numLayers: 1, bidirectional: false };
        const p1: Dict = {};
        for (const k of ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']) p1[`${k}_l0`] = p[`${k}_l${l}${sfx}`]!;
        const rev = (a: Float64Array, w: number): Float64Array => {
          const o = new Float64Array(a.length);
          for (let t = 0; t < T; t++) o.set(a.subarray((T - 1 - t) * B * w, (T - t) * B * w), t * B * w);
          return o;
        };
        const one: RefInputs = { x: d === 0 ? x : rev(x, inSize), T, B, h0: state(inp.h0, l * 2 + d) };
        const c0 = state(inp.c0, l * 2 + d);
        if (c0) one.c0 = c0;
        const r = forwardRef(c1, p1, one);
        const o: { out: Float64Array; h: Float64Array; c?: Float64Array } = { out: d === 0 ? r.output : rev(r.output, H), h: r.h };
        if (r.c) o.c = r.c;
        return o;
      };
      const concat = (a: Float64Array, b: Float64Array): Float64Array => {
        const o = new Float64Array(T * B * 2 * H);
        for (let tb = 0; tb < T * B; tb++) {
          o.set(a.subarray(tb * H, (tb + 1) * H), tb * 2 * H);
          o.set(b.subarray(tb * H, (tb + 1) * H), tb * 2 * H + H);
        }
        return o;
      };
      const l0f = oneDir(0, 0, inp.x, I);
      const l0r = oneDir(0, 1, inp.x, I);
      const y0 = concat(l0f.out, l0r.out);
      const mask = inp.dropout!.masks[0]!;
      const x1 = Float64Array.from(y0, (v, i) => v * mask[i]!);
      const l1f = oneDir(1, 0, x1, 2 * H);
      const l1r = oneDir(1, 1, x1, 2 * H);
      const tol = { atol: 1e-15, rtol: 0 };
      expectClose(`${cell} output`, f.output, concat(l1f.out, l1r.out), tol, 9);
      const hs = [l0f, l0r, l1f, l1r];
      for (let s = 0; s < 4; s++) {
        expectClose(`${cell} h[${s}]`, state(f.h, s)!, hs[s]!.h, tol, 9);
        if (f.c) expectClose(`${cell} c[${s}]`, state(f.c, s)!, hs[s]!.c!, tol, 9);
      }
      // a mask of all ones is no dropout
      const ones = forwardRef(cfg, p, { ...inp, dropout: { p: 0, masks: [new Float64Array(mask.length).fill(1)] } });
      const none = forwardRef(cfg, p, { ...inp, dropout: undefined });
      expectClose(`${cell} ones mask`, ones.output, none.output, { atol: 0, rtol: 0 }, 9);
    }
  });
});

describe('recurrent reference: hand-computed 1x1 cells', () => {
  it('LSTM, I = H = B = 1, two steps', () => {
    /*
     * No bias. W_ih = [i, f, g, o] = [1, 2, 0.5, -1], W_hh = [1, -1, 2, 1].
     * x = [1, 0], h0 = c0 = 0.
     * step 1 (x = 1, h = 0): pre-activations = W_ih = [1, 2, 0.5, -1]
     *   i = σ(1) = 0.7310586, f = σ(2) = 0.8807971, g = tanh(0.5) = 0.4621172, o = σ(-1) = 0.2689414
     *   c1 = f*0 + i*g = 0.7310586 * 0.4621172 = 0.3378347
     *   h1 = o * tanh(c1) = 0.2689414 * 0.3255429 = 0.0875520
     * step 2 (x = 0, h = h1): pre-activations = W_hh * h1 = [h1, -h1, 2 h1, h1]
     *   i = σ(0.0875520) = 0.5218740, f = σ(-0.0875520) = 0.4781260,
     *   g = tanh(0.1751040) = 0.1733360, o = σ(0.0875520) = 0.5218740
     *   c2 = f*c1 + i*g = 0.4781260*0.3378347 + 0.5218740*0.1733360 = 0.1615276 + 0.0904596 = 0.2519871
     *   h2 = o * tanh(c2) = 0.5218740 * 0.2467857 = 0.1287910
     */
    const cfg: RefConfig = { cell: 'lstm', inputSize: 1, hiddenSize: 1, numLayers: 1, bidirectional: false, bias: false };
    const p: Dict = { weight_ih_l0: Float64Array.of(1, 2, 0.5, -1), weight_hh_l0: Float64Array.of(1, -1, 2, 1) };
    const f = forwardRef(cfg, p, { x: Float64Array.of(1, 0), T: 2, B: 1 });
    const hand = { atol: 5e-7, rtol: 0 };
    expectClose('lstm 1x1 output', f.output, [0.087552, 0.128791], hand, 0);
    expectClose('lstm 1x1 h', f.h, [0.128791], hand, 0);
    expectClose('lstm 1x1 c', f.c!, [0.2519871], hand, 0);
  });

  it('GRU, I = H = B = 1, one step, reset after and before', () => {
    /*
     * W_ih = [r, z, n] = [1, -1, 0.5], W_hh = [0.5, 1, -1], b_ih = [0, 0, 0.5], b_hh = [0, 0, 1].
     * x = 1, h0 = 0.5.
     *   r = σ(1 + 0.5*0.5) = σ(1.25) = 0.7772999
     *   z = σ(-1 + 1*0.5) = σ(-0.5) = 0.3775407
     * resetAfter (PyTorch): n = tanh(0.5 + 0.5 + r*(-1*0.5 + 1)) = tanh(1 + 0.5 r) = tanh(1.3886499) = 0.8828735
     *   h' = (1-z) n + z h = 0.6224593*0.8828735 + 0.3775407*0.5 = 0.5495529 + 0.1887703 = 0.7383232
     * resetAfter false: n = tanh(0.5 + 0.5 + (-1)*(r*0.5) + 1) = tanh(2 - 0.5 r) = tanh(1.6113501) = 0.9233593
     *   h' = 0.6224593*0.9233593 + 0.1887703 = 0.5747536 + 0.1887703 = 0.7635239
     */
    const cfg: RefConfig = { cell: 'gru', inputSize: 1, hiddenSize: 1, numLayers: 1, bidirectional: false, bias: true };
    const p: Dict = {
      weight_ih_l0: Float64Array.of(1, -1, 0.5),
      weight_hh_l0: Float64Array.of(0.5, 1, -1),
      bias_ih_l0: Float64Array.of(0, 0, 0.5),
      bias_hh_l0: Float64Array.of(0, 0, 1),
    };
    const inp: RefInputs = { x: Float64Array.of(1), T: 1, B: 1, h0: Float64Array.of(0.5) };
    const hand = { atol: 5e-7, rtol: 0 };
    const a = forwardRef(cfg, p, inp);
    expectClose('gru 1x1 output', a.output, [0.7383232], hand, 0);
    expectClose('gru 1x1 h', a.h, [0.7383232], hand, 0);
    const b = forwardRef({ ...cfg, resetAfter: false }, p, inp);
    expectClose('gru 1x1 resetAfter=false', b.h, [0.7635239], hand, 0);
  });
});

describe('Keras references vs PyTorch references', () => {
  // Keras kernel [I, G*H] (column blocks in Keras gate order) -> PyTorch weight [G*H, I] (row blocks in
  // PyTorch gate order): torch[(k*H + j), i] = keras[i, perm[k]*H + j], perm[k] = the Keras block of PyTorch gate k.
  const toTorch = (kk: Float64Array, rows: number, H: number, perm: number[]): Float64Array => {
    const G = perm.length;
    const C = G * H;
    const o = new Float64Array(C * rows);
    for (let k = 0; k < G; k++) {
      for (let j = 0; j < H; j++) for (let i = 0; i < rows; i++) o[(k * H + j) * rows + i] = kk[i * C + perm[k]! * H + j]!;
    }
    return o;
  };
  const toTorchBias = (b: Float64Array, H: number, perm: number[]): Float64Array => {
    const o = new Float64Array(perm.length * H);
    for (let k = 0; k < perm.length; k++) for (let j = 0; j < H; j++) o[k * H + j] = b[perm[k]! * H + j]!;
    return o;
  };
  const T = 5;
  const B = 3;
  const I = 3;
  const H = 4;
  const TOL = { atol: 1e-12, rtol: 0 };

  it('kerasLSTMRef == forwardRef(lstm)', () => {
    const r = rng(21);
    const w = { kernel: randArr(r, I * 4 * H), recurrentKernel: randArr(r, H * 4 * H), bias: randArr(r, 4 * H) };
    const x = randArr(r, T * B * I);
    const k = kerasLSTMRef(x, T, B, w, I, H);
    // Keras i, f, c, o -> PyTorch i, f, g, o: the same order.
    const perm = [0, 1, 2, 3];
    const cfg: RefConfig = { cell: 'lstm', inputSize: I, hiddenSize: H, numLayers: 1, bidirectional: false, bias: true };
    const p: Dict = {
      weight_ih_l0: toTorch(w.kernel, I, H, perm),
      weight_hh_l0: toTorch(w.recurrentKernel, H, H, perm),
      bias_ih_l0: toTorchBias(w.bias, H, perm), // Keras has one bias: all of it on the input side
      bias_hh_l0: new Float64Array(4 * H),
    };
    const t = forwardRef(cfg, p, { x, T, B });
    expectClose('lstm output', k.output, t.output, TOL, 21);
    expectClose('lstm h', k.h, t.h, TOL, 21);
    expectClose('lstm c', k.c, t.c!, TOL, 21);
    // and without bias
    const k2 = kerasLSTMRef(x, T, B, { kernel: w.kernel, recurrentKernel: w.recurrentKernel }, I, H);
    const t2 = forwardRef({ ...cfg, bias: false }, { weight_ih_l0: p.weight_ih_l0!, weight_hh_l0: p.weight_hh_l0! }, { x, T, B });
    expectClose('lstm no bias', k2.output, t2.output, TOL, 21);
  });

  // Keras GRU z, r, h -> PyTorch r, z, n: PyTorch r is Keras block 1, z is block 0, n is block 2.
  // Keras h' = z*h + (1-z)*hh and PyTorch h' = (1-z)*n + z*h are the same update with z the same gate.
  const gruPerm = [1, 0, 2];

  it('kerasGRURef(resetAfter = true) == forwardRef(gru)', () => {
    const r = rng(22);
    const w = { kernel: randArr(r, I * 3 * H), recurrentKernel: randArr(r, H * 3 * H), bias: randArr(r, 2 * 3 * H) };
    const x = randArr(r, T * B * I);
    const k = kerasGRURef(x, T, B, w, I, H, true);
    const cfg: RefConfig = { cell: 'gru', inputSize: I, hiddenSize: H, numLayers: 1, bidirectional: false, bias: true };
    const p: Dict = {
      weight_ih_l0: toTorch(w.kernel, I, H, gruPerm),
      weight_hh_l0: toTorch(w.recurrentKernel, H, H, gruPerm),
      bias_ih_l0: toTorchBias(w.bias.subarray(0, 3 * H), H, gruPerm), // bias[0]: input bias
      bias_hh_l0: toTorchBias(w.bias.subarray(3 * H), H, gruPerm), // bias[1]: recurrent bias
    };
    const t = forwardRef(cfg, p, { x, T, B });
    expectClose('gru output', k.output, t.output, TOL, 22);
    expectClose('gru h', k.h, t.h, TOL, 22);
    // the two GRU variants really differ on these weights (so the next test means something)
    const t2 = forwardRef({ ...cfg, resetAfter: false }, p, { x, T, B });
    expect(Math.abs(t2.h[0]! - t.h[0]!)).toBeGreaterThan(1e-4);
  });

  it('kerasGRURef(resetAfter = false) == forwardRef(gru, resetAfter false)', () => {
    const r = rng(23);
    const w = { kernel: randArr(r, I * 3 * H), recurrentKernel: randArr(r, H * 3 * H), bias: randArr(r, 3 * H) };
    const x = randArr(r, T * B * I);
    const k = kerasGRURef(x, T, B, w, I, H, false);
    const cfg: RefConfig = { cell: 'gru', inputSize: I, hiddenSize: H, numLayers: 1, bidirectional: false, bias: true, resetAfter: false };
    const p: Dict = {
      weight_ih_l0: toTorch(w.kernel, I, H, gruPerm),
      weight_hh_l0: toTorch(w.recurrentKernel, H, H, gruPerm),
      bias_ih_l0: toTorchBias(w.bias, H, gruPerm), // the single Keras bias is on the input side
      bias_hh_l0: new Float64Array(3 * H),
    };
    const t = forwardRef(cfg, p, { x, T, B });
    expectClose('gru reset_after=False output', k.output, t.output, TOL, 23);
    expectClose('gru reset_after=False h', k.h, t.h, TOL, 23);
    // without bias
    const k2 = kerasGRURef(x, T, B, { kernel: w.kernel, recurrentKernel: w.recurrentKernel }, I, H, false);
    const t2 = forwardRef({ ...cfg, bias: false }, { weight_ih_l0: p.weight_ih_l0!, weight_hh_l0: p.weight_hh_l0! }, { x, T, B });
    expectClose('gru reset_after=False no bias', k2.output, t2.output, TOL, 23);
  });

  it('kerasSimpleRNNRef == forwardRef(rnn_tanh)', () => {
    const r = rng(24);
    const w = { kernel: randArr(r, I * H), recurrentKernel: randArr(r, H * H), bias: randArr(r, H) };
    const x = randArr(r, T * B * I);
    const k = kerasSimpleRNNRef(x, T, B, w, I, H);
    const cfg: RefConfig = { cell: 'rnn_tanh', inputSize: I, hiddenSize: H, numLayers: 1, bidirectional: false, bias: true };
    const p: Dict = {
      weight_ih_l0: toTorch(w.kernel, I, H, [0]),
      weight_hh_l0: toTorch(w.recurrentKernel, H, H, [0]),
      bias_ih_l0: Float64Array.from(w.bias),
      bias_hh_l0: new Float64Array(H),
    };
    const t = forwardRef(cfg, p, { x, T, B });
    expectClose('simple rnn output', k.output, t.output, TOL, 24);
    expectClose('simple rnn h', k.h, t.h, TOL, 24);
  });
});
