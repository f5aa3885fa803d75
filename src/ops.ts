/**
 * The runtime's first kernels: GEMM, elementwise fill/copy/scale/axpy, column
 * sums and sums of squares. Each function records into the current step
 * (`rt.submit()` / `rt.step()` send it); each `*Dispatch` variant returns the
 * bound dispatch for models that bind once and record it every step.
 */
import type { KernelDesc, Params } from './kernel.js';
import type { Runtime } from './runtime.js';
import type { Dispatch } from './scheduler.js';
import { shaderSource } from './shaders.js';
import { fmtShape, type Tensor } from './tensor.js';
import { cdiv, fold, u32 } from './util.js';

/** A `const NAME = 4u;` of a shader, read from the source so it is written once. */
export function shaderConst(shader: string, name: string): number {
  const m = new RegExp(`\\bconst\\s+${name}\\s*(?::\\s*\\w+\\s*)?=\\s*(\\d+)u?\\s*;`).exec(shaderSource(shader));
  if (!m) throw new Error(`shaders/${shader}.wgsl has no integer const '${name}'`);
  return Number(m[1]);
}

// ------------------------------------------------------------------ GEMM

export interface GemmOptions {
  /** `a` is stored `[K, M]` and used transposed. */
  transA?: boolean;
  /** `b` is stored `[N, K]` and used transposed. */
  transB?: boolean;
  /** Default 1. */
  alpha?: number;
  /** Default 0: `c` is overwritten, never read. 1 accumulates (`+=`). */
  beta?: number;
  /** `[N]`, added to every row. */
  bias?: Tensor;
  /** Kernel choice (default `'auto'`: by adapter). */
  variant?: GemmVariant;
  /**
   * A causal convolution's tap, gathered by index: the shifted operand's
   * stored row p reads row p - shift (p + shift with `ahead`) inside blocks
   * of `period` rows, zero where that leaves the block. `shiftA` needs A not
   * transposed (a shift per output row); `shiftB` needs B not transposed (a shift per k).
   */
  shiftA?: GemmShift;
  shiftB?: GemmShift;
  /** Sub-matrix sizes and row strides, for views inside larger matrices; default from the shapes. */
  M?: number;
  N?: number;
  K?: number;
  lda?: number;
  ldb?: number;
  ldc?: number;
}

/**
 * Which GEMM kernel: `'reg'`, 16x16 outputs per invocation in registers, no
 * workgroup memory (what CPU adapters such as SwiftShader reward: ~5 GFLOP/s
 * there against ~0.5 for tiles); `'tiled'`, 64x64 tiles staged through
 * workgroup memory, 4x4 per invocation (the shape real GPUs reward).
 * `'auto'` picks by adapter.
 */
export type GemmVariant = 'auto' | 'reg' | 'tiled';

export interface GemmShift {
  shift: number;
  period: number;
  ahead?: boolean;
}

const gemmDescs = new Map<string, KernelDesc>();

function gemmDesc(rt: Runtime, transA: boolean, transB: boolean, variant: GemmVariant, N: number, shiftA: boolean, shiftB: boolean): KernelDesc {
  const kind = variant === 'auto' ? (rt.isCpu ? 'reg' : 'tiled') : variant;
  // gemm_reg: narrow outputs (N <= 32) waste lanes across columns; stack the workgroup along rows instead.
  const narrow = kind === 'reg' && N <= 32;
  const key = `${transA}${transB}${kind}${narrow}${shiftA}${shiftB}`;
  let d = gemmDescs.get(key);
  if (!d) {
    const TM = shaderConst('gemm', 'TM');
    const TN = shaderConst('gemm', 'TN');
    const TILE = shaderConst('gemm', 'TILE');
    const [WG_X, WG_Y] = narrow ? [1, 4] : [4, 1];
    const lay = (rows: number, cols: number, ld: number) => (rows - 1) * ld + cols;
    d = {
      name: `gemm_${transA ? 't' : 'n'}${transB ? 't' : 'n'}${shiftA ? '_shiftA' : ''}${shiftB ? '_shiftB' : ''}${kind === 'tiled' ? '_tiled' : ''}`,
      shader: 'gemm',
      entry: kind === 'tiled' ? 'gemm_tiled' : 'gemm_reg',
      overrides:
        kind === 'tiled'
          ? { TRANS_A: transA, TRANS_B: transB, SHIFT_A: shiftA, SHIFT_B: shiftB }
          : { TRANS_A: transA, TRANS_B: transB, SHIFT_A: shiftA, SHIFT_B: shiftB, WG_X, WG_Y },
      layout: 'module',
      grid: kind === 'tiled' ? (p: Params) => [cdiv(p.N!, TILE), cdiv(p.M!, TILE)] : (p: Params) => [cdiv(p.N!, WG_X * TN), cdiv(p.M!, WG_Y * TM)],
      extents: (p: Params) => ({
        a: transA ? lay(p.K!, p.M!, p.lda!) : lay(p.M!, p.K!, p.lda!),
        b: transB ? lay(p.N!, p.K!, p.ldb!) : lay(p.K!, p.N!, p.ldb!),
        c: lay(p.M!, p.N!, p.ldc!),
        bias: p.hasBias ? p.N! : 1,
      }),
    };
    gemmDescs.set(key, d);
  }
  return d;
}

function dims2(name: string, t: Tensor): [number, number] {
  if (t.ndim !== 2) throw new Error(`gemm: ${name} must be 2-D, got ${t.label} ${fmtShape(t.shape)}`);
  return [t.shape[0]!, t.shape[1]!];
}

/** Binds `c = alpha * op(a) @ op(b) (+ bias) (+ beta * c)`. */
export function gemmDispatch(rt: Runtime, c: Tensor, a: Tensor, b: Tensor, o: GemmOptions = {}): Dispatch {
  const transA = !!o.transA;
  const transB = !!o.transB;
  let { M, N, K } = o;
  if (M === undefined || N === undefined || K === undefined) {
    const [ar, ac] = dims2('a', a);
    const [br, bc] = dims2('b', b);
    const [cr, cc] = dims2('c', c);
    const [aM, aK] = transA ? [ac, ar] : [ar, ac];
    const [bK, bN] = transB ? [bc, br] : [br, bc];
    if (aK !== bK) {
      throw new Error(
        `gemm: inner dimensions differ: op(a) is [${aM}, ${aK}] (a ${fmtShape(a.shape)}, transA=${transA}) ` +
          `but op(b) is [${bK}, ${bN}] (b ${fmtShape(b.shape)}, transB=${transB})`,
      );
    }
    if (cr !== aM || cc !== bN) {
      throw new Error(`gemm: c must be [${aM}, ${bN}] for op(a) [${aM}, ${aK}] @ op(b) [${bK}, ${bN}], got ${fmtShape(c.shape)}`);
    }
    M ??= aM;
    N ??= bN;
    K ??= aK;
  }
  for (const [k, v] of Object.entries({ M, N, K })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`gemm: ${k} must be a positive integer, got ${v}`);
  }
  const lastDim = (t: Tensor) => t.shape[t.ndim - 1] ?? 1;
  if (o.bias && o.bias.size !== N) {
    throw new Error(`gemm: bias must have N=${N} elements, got ${o.bias.label} ${fmtShape(o.bias.shape)}`);
  }
  const sh = o.shiftA ?? o.shiftB;
  if (o.shiftA && o.shiftB) throw new Error('gemm: shiftA and shiftB cannot both be set');
  if (o.shiftA && transA) throw new Error('gemm: shiftA needs A not transposed (transA: false)');
  if (o.shiftB && transB) throw new Error('gemm: shiftB needs B not transposed (transB: false)');
  if (sh && (!Number.isInteger(sh.shift) || sh.shift < 0 || !Number.isInteger(sh.period) || sh.period < 1)) {
    throw new Error(`gemm: a shift needs an integer shift >= 0 and period >= 1, got ${JSON.stringify(sh)}`);
  }
  const params: Params = {
    shift: sh?.shift ?? 0,
    period: sh?.period ?? 1,
    ahead: sh?.ahead ? 1 : 0,
    M,
    N,
    K,
    lda: o.lda ?? lastDim(a),
    ldb: o.ldb ?? lastDim(b),
    ldc: o.ldc ?? lastDim(c),
    alpha: o.alpha ?? 1,
    beta: o.beta ?? 0,
    hasBias: o.bias ? 1 : 0,
  };
  return rt.bind(gemmDesc(rt, transA, transB, o.variant ?? 'auto', N, !!o.shiftA, !!o.shiftB), { c, a, b, bias: o.bias ?? a }, params);
}

/** Records `c = alpha * op(a) @ op(b) (+ bias) (+ beta * c)`. */
export function gemm(rt: Runtime, c: Tensor, a: Tensor, b: Tensor, o: GemmOptions = {}): void {
  rt.run(gemmDispatch(rt, c, a, b, o));
}

// ------------------------------------------------------------ elementwise

const EW_WG = 64;
const ewDescs = new Map<string, KernelDesc>();
function ewDesc(entry: 'fill' | 'copy' | 'scale' | 'axpy'): KernelDesc {
  let d = ewDescs.get(entry);
  if (!d) {
    d = {
      name: entry,
      shader: 'elementwise',
      entry,
      overrides: { WG: EW_WG },
      grid: (p) => fold(cdiv(p.n!, EW_WG)),
      extents: (p) => ({ y: p.n!, x: p.n! }),
    };
    ewDescs.set(entry, d);
  }
  return d;
}

const swapDesc: KernelDesc = {
  name: 'swap_axes',
  shader: 'elementwise',
  entry: 'swap_axes',
  overrides: { WG: EW_WG },
  grid: (p) => fold(cdiv(p.NB! * p.A! * p.C! * p.F!, EW_WG)),
  extents: (p) => ({ y: p.NB! * p.A! * p.C! * p.F!, x: p.NB! * p.A! * p.C! * p.F! }),
};

/** `y = x` with axes `axis` and `axis + 1` swapped ([T, B, F] <-> [B, T, F] at 0; [B, C, T] <-> [B, T, C] at 1). */
export function swapAxes(rt: Runtime, y: Tensor, x: Tensor, axis = 0): void {
  if (!Number.isInteger(axis) || axis < 0 || axis + 1 >= x.ndim) {
    throw new Error(`swapAxes: axis must be in 0..${x.ndim - 2} for x ${x.label} ${fmtShape(x.shape)}, got ${axis}`);
  }
  const s = x.shape as number[];
  const want = [...s];
  [want[axis], want[axis + 1]] = [s[axis + 1]!, s[axis]!];
  if (y.ndim !== want.length || y.shape.some((d, i) => d !== want[i])) {
    throw new Error(`swapAxes: y must be ${fmtShape(want)} for x ${fmtShape(s)} (axis ${axis}), got ${y.label} ${fmtShape(y.shape)}`);
  }
  const prod = (a: number[]) => a.reduce((p, v) => p * v, 1);
  rt.dispatch(swapDesc, { y, x }, { NB: prod(s.slice(0, axis)), A: s[axis]!, C: s[axis + 1]!, F: prod(s.slice(axis + 2)) });
}

/** `y[j, i, ...] = x[i, j, ...]`: swaps the first two axes of `x` (batch-first <-> time-major). */
export function swap01(rt: Runtime, y: Tensor, x: Tensor): void {
  if (x.ndim < 2) throw new Error(`swap01: x must have at least 2 dimensions, got ${x.label} ${fmtShape(x.shape)}`);
  swapAxes(rt, y, x, 0);
}

const reluDescs = new Map<string, KernelDesc>();
function reluDesc(entry: 'relu' | 'relu_backward' | 'tanh_act' | 'tanh_backward'): KernelDesc {
  let d = reluDescs.get(entry);
  if (!d) {
    d = {
      name: entry,
      shader: 'elementwise',
      entry,
      overrides: { WG: EW_WG },
      grid: (p) => fold(cdiv(p.n!, EW_WG)),
      extents: (p) => ({ y: p.n!, x: p.n!, x2: p.n! }),
    };
    reluDescs.set(entry, d);
  }
  return d;
}

/** `y = max(x, 0)` */
export function relu(rt: Runtime, y: Tensor, x: Tensor): void {
  sameSize('relu', y, x);
  rt.dispatch(reluDesc('relu'), { y, x }, { n: y.size });
}

/** `y = tanh(x)` */
export function tanhAct(rt: Runtime, y: Tensor, x: Tensor): void {
  sameSize('tanhAct', y, x);
  rt.dispatch(reluDesc('tanh_act'), { y, x }, { n: y.size });
}

/** `dx = dy * (1 - y^2)`: the gradient through tanh, from its output `y`. */
export function tanhBackward(rt: Runtime, dx: Tensor, y: Tensor, dy: Tensor): void {
  sameSize('tanhBackward', dx, y);
  sameSize('tanhBackward', dx, dy);
  rt.dispatch(reluDesc('tanh_backward'), { y: dx, x: y, x2: dy }, { n: dx.size });
}

/** `dx = dy * (x > 0)`: the gradient through relu at input `x`. */
export function reluBackward(rt: Runtime, dx: Tensor, x: Tensor, dy: Tensor): void {
  sameSize('reluBackward', dx, x);
  sameSize('reluBackward', dx, dy);
  rt.dispatch(reluDesc('relu_backward'), { y: dx, x, x2: dy }, { n: dx.size });
}

function sameSize(op: string, y: Tensor, x: Tensor): void {
  if (x.size !== y.size) {
    throw new Error(`${op}: x ${x.label} ${fmtShape(x.shape)} and y ${y.label} ${fmtShape(y.shape)} differ in size`);
  }
}

/** `y = value` */
export function fill(rt: Runtime, y: Tensor, value: number): void {
  rt.dispatch(ewDesc('fill'), { y }, { n: y.size, alpha: value });
}
/** `y = x` */
export function copy(rt: Runtime, y: Tensor, x: Tensor): void {
  sameSize('copy', y, x);
  rt.dispatch(ewDesc('copy'), { y, x }, { n: y.size, alpha: 0 });
}
/** `y = alpha * y` */
export function scale(rt: Runtime, y: Tensor, alpha: number): void {
  rt.dispatch(ewDesc('scale'), { y }, { n: y.size, alpha });
}
/** `y = y + alpha * x` */
export function axpy(rt: Runtime, y: Tensor, alpha: number, x: Tensor): void {
  sameSize('axpy', y, x);
  rt.dispatch(ewDesc('axpy'), { y, x }, { n: y.size, alpha });
}

// ------------------------------------------------------------- reductions

const RED_WG = 64;
const colsumDesc: KernelDesc = {
  name: 'colsum',
  shader: 'reduce',
  entry: 'colsum',
  overrides: { WG: RED_WG },
  grid: (p) => [cdiv(p.N!, RED_WG), p.groups!],
  extents: (p) => ({ out: p.groups! * p.N!, x: (p.groups! * p.M! - 1) * p.ldx! + p.N! }),
};
const sumsqDesc: KernelDesc = {
  name: 'sumsq_partial',
  shader: 'reduce',
  entry: 'sumsq_partial',
  overrides: { WG: RED_WG },
  grid: (p) => [p.M!],
  extents: (p) => ({ x: p.N!, part: p.M! }),
};
const sumFinalDesc: KernelDesc = {
  name: 'sum_final',
  shader: 'reduce',
  entry: 'sum_final',
  overrides: { WG: RED_WG },
  grid: () => [1],
  extents: (p) => ({ out: 1, part: p.N! }),
};

/**
 * `out[j] = beta * out[j] + sum_i x[i, j]` for `x [M, N]`, `out [N]` (bias
 * gradients); with `groups: G`, the rows form G consecutive groups and
 * `out [G, N]` gets one sum per group (per-sequence sums of [B*T, N]).
 */
export function colSum(rt: Runtime, out: Tensor, x: Tensor, o: { beta?: number; groups?: number } = {}): void {
  if (x.ndim !== 2) throw new Error(`colSum: x must be 2-D, got ${x.label} ${fmtShape(x.shape)}`);
  const [rows, N] = x.shape as [number, number];
  const groups = o.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1 || rows % groups !== 0) {
    throw new Error(`colSum: groups must be a positive divisor of the ${rows} rows of x, got ${groups}`);
  }
  if (out.size !== groups * N) {
    throw new Error(`colSum: out must have ${groups * N} elements (${groups} x the ${N} columns of x ${fmtShape(x.shape)}), got ${fmtShape(out.shape)}`);
  }
  if (rows === 0 || N === 0) throw new Error(`colSum: x ${fmtShape(x.shape)} is empty`);
  rt.dispatch(colsumDesc, { out, x }, { M: rows / groups, N, ldx: N, beta: o.beta ?? 0, groups });
}

const scratch = new WeakMap<Runtime, Tensor>();

/** Partials per tensor: enough workgroups to keep a GPU busy, few enough to finish in one final pass. */
function partialsFor(n: number): number {
  return Math.max(1, Math.min(256, cdiv(n, RED_WG * 64)));
}

/**
 * `out[0] = beta * out[0] + sum over tensors of sum(x^2)`: one partial pass
 * per tensor (a contiguous arena counts as one) and one final pass.
 */
export function sumSquares(rt: Runtime, out: Tensor, tensors: readonly Tensor[], o: { beta?: number } = {}): void {
  if (tensors.length === 0) throw new Error('sumSquares: tensors is empty');
  if (out.size < 1) throw new Error(`sumSquares: out must hold 1 element, got ${fmtShape(out.shape)}`);
  const counts = tensors.map((t) => partialsFor(t.size));
  const total = counts.reduce((s, c) => s + c, 0);
  let part = scratch.get(rt);
  if (!part || part.size < total) {
    part = rt.zeros([Math.max(total, 1024)], 'sumsq.partials');
    scratch.set(rt, part);
  }
  let at = 0;
  tensors.forEach((x, i) => {
    if (x.size === 0) throw new Error(`sumSquares: tensor ${i} (${x.label}) is empty`);
    rt.dispatch(sumsqDesc, { part: part.view([counts[i]!], at), x }, { M: counts[i]!, N: x.size, ldx: 0, beta: 0, groups: 1 });
    at += counts[i]!;
  });
  rt.dispatch(sumFinalDesc, { out, part: part.view([total], 0) }, { M: 0, N: total, ldx: 0, beta: o.beta ?? 0, groups: 1 });
}

const rowNormsDesc: KernelDesc = {
  name: 'row_norms',
  shader: 'reduce',
  entry: 'row_norms',
  overrides: { WG: RED_WG },
  grid: (p) => [cdiv(p.M!, RED_WG)],
  extents: (p) => ({ out: p.M!, x: (p.M! - 1) * p.ldx! + p.N! }),
};

/** `out[i] = sqrt(sum_j x[i, j]^2)` for `x [M, N]`, `out [M]`. */
export function rowNorms(rt: Runtime, out: Tensor, x: Tensor): void {
  if (x.ndim !== 2) throw new Error(`rowNorms: x must be 2-D, got ${x.label} ${fmtShape(x.shape)}`);
  const [M, N] = x.shape as [number, number];
  if (out.size !== M) throw new Error(`rowNorms: out must have ${M} elements (rows of x ${fmtShape(x.shape)}), got ${fmtShape(out.shape)}`);
  rt.dispatch(rowNormsDesc, { out, x }, { M, N, ldx: N, beta: 0, groups: 1 });
}

// ---------------------------------------------------------------- dropout

const DROP_WG = 64;
const dropoutDesc: KernelDesc = {
  name: 'dropout',
  shader: 'dropout',
  entry: 'dropout',
  overrides: { WG: DROP_WG },
  grid: (p) => fold(cdiv(p.n!, DROP_WG)),
  extents: (p) => ({ y: p.n!, x: p.n! }),
};
const bumpDesc: KernelDesc = { name: 'dropout_bump', shader: 'dropout', entry: 'bump', grid: () => [1] };

export interface DropoutMask {
  /** Probability of zeroing an element. */
  p: number;
  /** Fixed per module. */
  seed: number;
  /** Distinguishes masks drawn at the same counter (a layer index). */
  stream: number;
  /** `[1]`: the GPU-side step counter (an integer-valued f32). */
  counter: Tensor;
}

/** `y = x * mask / (1 - p)`, the mask a function of (seed, counter, stream, index): the same call regenerates it. */
export function dropout(rt: Runtime, y: Tensor, x: Tensor, m: DropoutMask): void {
  sameSize('dropout', y, x);
  if (!(m.p >= 0 && m.p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${m.p}`);
  rt.dispatch(dropoutDesc, { y, x, ctr: m.counter }, { n: y.size, seed: m.seed >>> 0, stream: m.stream >>> 0, p: m.p, scale: 1 / (1 - m.p) });
}

/** Advances a dropout counter by one, on the GPU. */
export function bumpCounter(rt: Runtime, counter: Tensor): void {
  rt.dispatch(bumpDesc, { counter }, { n: 1, seed: 0, stream: 0, p: 0, scale: 1 });
}

/** The dropout mask (0 or 1/(1-p)) as the GPU draws it: the CPU twin of shaders/dropout.wgsl. */
export function dropoutMaskCpu(n: number, p: number, seed: number, stream: number, counter: number): Float64Array {
  const base = pcg((stream >>> 0) ^ pcg((seed >>> 0) ^ pcg(counter >>> 0)));
  const out = new Float64Array(n);
  const scale = Math.fround(1 / (1 - p));
  for (let i = 0; i < n; i++) {
    const u = unit24(pcg((i ^ base) >>> 0));
    out[i] = u >= Math.fround(p) ? scale : 0;
  }
  return out;
}

/** shaders/rng.wgsl's `pcg` on the CPU (u32 in, u32 out). */
export function pcg(v: number): number {
  const s = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  return ((w >>> 22) ^ w) >>> 0;
}

/** shaders/rng.wgsl's `unit24`: the top 24 bits of `v` as a number in [0, 1). */
export function unit24(v: number): number {
  return (v >>> 8) / 16777216;
}

// ------------------------------------------------------------ token picking

const PICK_WG = 64; // invocations per row (a power of two)
const pickScratch = new WeakMap<Runtime, Tensor>();
const pickDesc: KernelDesc = {
  name: 'pick_tokens',
  shader: 'sampling',
  entry: 'pick_tokens',
  overrides: { WG: PICK_WG },
  grid: (p) => fold(p.B!),
  extents: (p) => ({ logits: p.B! * p.V!, tokens: p.B!, out: (p.B! - 1) * p.ldOut! + 1 }),
};

export interface PickOptions {
  /** `'argmax'` (greedy) or `'sample'` from softmax(logits / temperature). */
  mode: 'argmax' | 'sample';
  /** > 0; sampling only (default 1). */
  temperature?: number;
  /** Sampling stream (default 0) and step: the draw for row b is unit24(pcg(step ^ pcg(b ^ pcg(seed)))). */
  seed?: number;
  step?: number;
  /** Also writes the ids to column `col` of `out` [B, n] (the sequence so far). */
  out?: Tensor;
  col?: number;
}

/**
 * The next token of every row of `logits` [B, V], picked on the GPU: its id
 * (as f32) into `tokens` [B] (the next step's input, e.g. an Embedding's ids)
 * and, with `out`, into `out[b, col]`. One dispatch; no read-back.
 */
export function pickTokens(rt: Runtime, tokens: Tensor, logits: Tensor, o: PickOptions): void {
  const name = 'pickTokens';
  if (logits.ndim !== 2) throw new Error(`${name}: logits must be [B, V], got ${fmtShape(logits.shape)}`);
  const [B, V] = logits.shape as [number, number];
  if (tokens.size !== B) throw new Error(`${name}: tokens must hold B = ${B} ids, got ${fmtShape(tokens.shape)}`);
  if (o?.mode !== 'argmax' && o?.mode !== 'sample') throw new Error(`${name}: mode must be 'argmax' or 'sample', got '${String(o?.mode)}'`);
  const temperature = o.temperature ?? 1;
  if (!(temperature > 0 && Number.isFinite(temperature))) throw new Error(`${name}: temperature must be a finite number > 0, got ${temperature}`);
  const seed = o.seed === undefined ? 0 : u32(`${name}: seed`, o.seed);
  const step = o.step === undefined ? 0 : u32(`${name}: step`, o.step);
  let out = pickScratch.get(rt);
  let ldOut = 0;
  if (o.out) {
    const n = o.out.shape[o.out.ndim - 1]!;
    const col = o.col ?? 0;
    if (o.out.ndim !== 2 || o.out.shape[0] !== B) throw new Error(`${name}: out must be [B = ${B}, n], got ${fmtShape(o.out.shape)}`);
    if (!Number.isInteger(col) || col < 0 || col >= n) throw new Error(`${name}: col must be an integer in [0, ${n - 1}], got ${col}`);
    out = o.out.view([(B - 1) * n + 1], col);
    ldOut = n;
  } else if (!out) {
    // Without `out`, every row writes this one scratch element (tokens cannot be bound twice).
    pickScratch.set(rt, (out = rt.zeros([1], 'pickTokens.scratch')));
  }
  rt.dispatch(pickDesc, { logits, tokens, out }, {
    B,
    V,
    mode: o.mode === 'argmax' ? 0 : 1,
    temperature,
    seed,
    step,
    ldOut,
  });
}
