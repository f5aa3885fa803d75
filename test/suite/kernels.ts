/**
 * Kernel checks against the float64 references, written once and run both in
 * Node (vitest on Dawn, test/kernels.test.ts) and in headless Chromium
 * (test/browser.test.ts). Each case throws on a mismatch.
 */
import type { Runtime, Tensor } from '../../src/index.js';
import { axpy, colSum, copy, fill, gemm, pcg, pickTokens, relu, reluBackward, scale, sumSquares, swapAxes, tanhAct, tanhBackward, unit24 } from '../../src/index.js';
import { axpyRef, colSumRef, fillRef, gemmRef, scaleRef, shiftRowsRef, sumSquaresRef } from '../reference/linalg.js';
import { U32, expectClose, rng, uniform } from './check.js';

export interface Case {
  name: string;
  run: (rt: Runtime, seed: number) => Promise<void>;
}

const nan = (n: number): Float32Array => new Float32Array(n).fill(NaN);

/** The awkward shapes: a scalar, primes, just over a tile, and a square. */
export const GEMM_SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 13, 5],
  [65, 33, 129],
  [256, 256, 256],
];

const VARIANTS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
];

/**
 * GEMM tolerance. Inputs are uniform in [-1, 1], so each of the K products
 * is at most 1 in size. An f32 dot product's rounding error is typically
 * ~sqrt(K) * u * (size of the partial sums ~ sqrt(K / 9)), i.e. ~K*u/3; we
 * allow 4*K*u (about 12x that), while a wrong or missing term is ~0.1 or more.
 * rtol covers rounding of alpha, beta*c and the bias add (a few u each).
 */
const gemmTol = (K: number) => ({ atol: 4 * K * U32, rtol: 8 * U32 });

function gemmCase(M: number, N: number, K: number, transA: boolean, transB: boolean, extras: boolean, variant: 'reg' | 'tiled'): Case {
  const tag = `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
  return {
    name: `gemm ${tag} ${M}x${N}x${K}${extras ? ' alpha=0.7 beta=0.5 +bias' : ''} [${variant}]`,
    async run(rt, seed) {
      const r = rng(seed);
      const aData = uniform(r, M * K);
      const bData = uniform(r, K * N);
      const biasData = uniform(r, N);
      const cData = extras ? uniform(r, M * N) : nan(M * N);
      const a = rt.tensor(aData, transA ? [K, M] : [M, K], 'a');
      const b = rt.tensor(bData, transB ? [N, K] : [K, N], 'b');
      const c = rt.tensor(cData, [M, N], 'c');
      const bias = rt.tensor(biasData, [N], 'bias');
      const alpha = extras ? 0.7 : 1;
      const beta = extras ? 0.5 : 0;
      gemm(rt, c, a, b, { transA, transB, alpha, beta, bias: extras ? bias : undefined, variant });
      const got = await c.read();
      const ref = gemmRef(aData, bData, cData, {
        M, N, K, transA, transB, alpha, beta,
        lda: transA ? M : K, ldb: transB ? K : N, ldc: N,
        bias: extras ? biasData : undefined,
      });
      expectClose(`gemm ${tag} ${M}x${N}x${K}`, got, ref, gemmTol(K), seed);
      for (const t of [a, b, c, bias]) t.buffer.destroy();
    },
  };
}

/** A GEMM on sub-matrices: a at an unaligned offset, c a column slice (ldc > N) of a wider matrix. */
const gemmViewsCase: Case = {
  name: 'gemm on views: offsets and leading dimensions',
  async run(rt, seed) {
    const r = rng(seed);
    const [M, N, K] = [9, 6, 11];
    const ldc = 15;
    const aFull = uniform(r, 3 + M * K);
    const bData = uniform(r, N * K);
    const cFull = uniform(r, M * ldc + 4);
    const aT = rt.tensor(aFull, [aFull.length], 'aFull');
    const b = rt.tensor(bData, [N, K], 'b');
    const cT = rt.tensor(cFull, [cFull.length], 'cFull');
    const a = aT.view([M, K], 3, 'a');
    const c = cT.view([M * ldc], 4, 'c');
    gemm(rt, c, a, b, { transB: true, M, N, K, ldc, beta: 1 });
    gemm(rt, c, a, b, { transB: true, M, N, K, ldc, beta: 1, variant: 'tiled' });
    const got = await cT.read();
    const ref = gemmRef(aFull, bData, cFull, {
      M, N, K, transA: false, transB: true, alpha: 1, beta: 1, lda: K, ldb: K, ldc, offA: 3, offC: 4,
    });
    // Applied twice (register and tiled kernels): c + 2 * a b^T, where ref = c + a b^T.
    for (let i = 0; i < ref.length; i++) ref[i] = 2 * ref[i]! - cFull[i]!;
    // Elements outside the sub-matrix must come back exactly as written: ref leaves them unchanged.
    expectClose('gemm views', got, ref, gemmTol(K), seed);
    for (const t of [aT, b, cT]) t.buffer.destroy();
  },
};

/** A causal-convolution tap: one operand's rows shifted inside blocks of `period` rows (sequences). */
function gemmShiftCase(which: 'A' | 'B', ahead: boolean, variant: 'reg' | 'tiled'): Case {
  return {
    name: `gemm shift${which} ${ahead ? 'ahead' : 'back'} [${variant}]`,
    async run(rt, seed) {
      const r = rng(seed);
      const period = 7;
      const [M, N, K] = which === 'A' ? [4 * period, 19, 13] : [11, 17, 3 * period];
      const shift = 3;
      const aData = uniform(r, M * K);
      const bData = uniform(r, K * N);
      const a = rt.tensor(aData, [M, K], 'a');
      const b = rt.tensor(bData, [K, N], 'b');
      const c = rt.tensor(nan(M * N), [M, N], 'c');
      const sh = { shift, period, ahead };
      gemm(rt, c, a, b, which === 'A' ? { shiftA: sh, variant } : { shiftB: sh, variant });
      const aRef = which === 'A' ? shiftRowsRef(aData, M, K, K, shift, period, ahead) : aData;
      const bRef = which === 'B' ? shiftRowsRef(bData, K, N, N, shift, period, ahead) : bData;
      const ref = gemmRef(aRef, bRef, new Float64Array(M * N), { M, N, K, transA: false, transB: false, alpha: 1, beta: 0, lda: K, ldb: N, ldc: N });
      expectClose(`gemm shift${which}`, await c.read(), ref, gemmTol(K), seed);
      for (const t of [a, b, c]) t.buffer.destroy();
    },
  };
}

/** Sizes: 1, a prime, a few workgroups, and one past 65535 workgroups (folded 2-D grid). */
const EW_SIZES = [1, 13, 4163, 65535 * 64 + 77];

function elementwiseCase(n: number): Case {
  return {
    name: `fill/copy/scale/axpy n=${n}`,
    async run(rt, seed) {
      const r = rng(seed);
      const xData = uniform(r, n);
      const yData = uniform(r, n);
      const x = rt.tensor(xData, [n], 'x');
      // y sits one element into its buffer (an unaligned view); the element before must stay untouched.
      const yBuf = rt.tensor(new Float32Array(n + 1).fill(NaN), [n + 1], 'yBuf');
      const y = yBuf.view([n], 1, 'y');
      // Every step below is exact in f32 except scale and axpy, which round once (<= u relative, plus the
      // product's absolute error ~u*|alpha*x|): atol 2u, rtol 2u.
      const tol = { atol: 2 * U32, rtol: 2 * U32 };
      fill(rt, y, 0.375);
      expectClose('fill', await y.read(), fillRef(n, 0.375), { atol: 0, rtol: 0 }, seed);
      copy(rt, y, x);
      expectClose('copy', await y.read(), xData, { atol: 0, rtol: 0 }, seed);
      y.write(yData);
      scale(rt, y, -1.7);
      const scaled = scaleRef(yData, -1.7);
      expectClose('scale', await y.read(), scaled, tol, seed);
      axpy(rt, y, 0.3, x);
      expectClose('axpy', await y.read(), axpyRef(scaled, 0.3, xData), { atol: 4 * U32, rtol: 4 * U32 }, seed);
      const head = await yBuf.view([1], 0).read();
      if (!Number.isNaN(head[0])) throw new Error(`elementwise wrote before its view: ${head[0]} (seed ${seed})`);
      x.buffer.destroy();
      yBuf.buffer.destroy();
    },
  };
}

const COLSUM_SHAPES: [number, number][] = [
  [1, 1],
  [7, 13],
  [129, 65],
  [2048, 512],
];

function colSumCase(M: number, N: number): Case {
  return {
    name: `colSum ${M}x${N}`,
    async run(rt, seed) {
      const r = rng(seed);
      const xData = uniform(r, M * N);
      const outData = uniform(r, N);
      const x = rt.tensor(xData, [M, N], 'x');
      const out = rt.tensor(nan(N), [N], 'out');
      // Sum of M terms of size <= 1: the same 4*M*u reasoning as GEMM's 4*K*u.
      const tol = { atol: 4 * (M + 1) * U32, rtol: 4 * U32 };
      colSum(rt, out, x);
      expectClose(`colSum ${M}x${N}`, await out.read(), colSumRef(xData, M, N, outData, 0), tol, seed);
      out.write(outData);
      colSum(rt, out, x, { beta: 1 });
      expectClose(`colSum += ${M}x${N}`, await out.read(), colSumRef(xData, M, N, outData, 1), tol, seed);
      x.buffer.destroy();
      out.buffer.destroy();
    },
  };
}

/** Per-group column sums: rows in G consecutive groups (per-sequence sums of a [B*T, N] matrix). */
const colSumGroupsCase: Case = {
  name: 'colSum in 3 groups of 7 rows, 5 columns',
  async run(rt, seed) {
    const [G, M, N] = [3, 7, 5];
    const xData = uniform(rng(seed), G * M * N);
    const x = rt.tensor(xData, [G * M, N], 'x');
    const out = rt.tensor(nan(G * N), [G, N], 'out');
    colSum(rt, out, x, { groups: G });
    const ref = new Float64Array(G * N);
    for (let g = 0; g < G; g++) ref.set(colSumRef(xData.subarray(g * M * N, (g + 1) * M * N), M, N, [], 0), g * N);
    expectClose('colSum groups', await out.read(), ref, { atol: 4 * (M + 1) * U32, rtol: 4 * U32 }, seed);
    x.buffer.destroy();
    out.buffer.destroy();
  },
};

const sumSquaresCase: Case = {
  name: 'sumSquares over several tensors and views',
  async run(rt, seed) {
    const r = rng(seed);
    const sizes = [1, 17, 4096, 300_001];
    const datas = sizes.map((n) => uniform(r, n));
    const ts = datas.map((d, i) => rt.tensor(d, [d.length], `x${i}`));
    // A view at an unaligned offset of the last tensor counts once more.
    const view = ts[3]!.view([1000], 5);
    const all: Tensor[] = [...ts, view];
    const out = rt.tensor([NaN], [1], 'out');
    const ref = sumSquaresRef([...datas, datas[3]!.subarray(5, 1005)]);
    // Positive terms: each invocation sums ~n/(P*WG) <= ~70 values sequentially, then two trees of
    // depth <= 8: relative error below ~100u; rtol 400u leaves margin, a missing tensor is >= 1e-4 relative.
    const tol = { atol: 0, rtol: 400 * U32 };
    sumSquares(rt, out, all);
    expectClose('sumSquares', await out.read(), [ref], tol, seed);
    sumSquares(rt, out, all, { beta: 1 });
    expectClose('sumSquares +=', await out.read(), [2 * ref], tol, seed);
    for (const t of [...ts, out]) t.buffer.destroy();
  },
};

/** Swapping adjacent axes: the index arithmetic is exact, so the result must be equal. */
const swapCase: Case = {
  name: 'swapAxes [2, 3, 5, 7] at axes 0, 1, 2',
  async run(rt, seed) {
    const r = rng(seed);
    const shape = [2, 3, 5, 7];
    const data = uniform(r, 210);
    const x = rt.tensor(data, shape, 'x');
    for (const axis of [0, 1, 2]) {
      const out = [...shape];
      [out[axis], out[axis + 1]] = [shape[axis + 1]!, shape[axis]!];
      const y = rt.tensor(nan(210), out, 'y');
      swapAxes(rt, y, x, axis);
      const ref = new Float64Array(210);
      const str = (sh: number[]) => sh.map((_, i) => sh.slice(i + 1).reduce((p, v) => p * v, 1));
      const sx = str(shape);
      const sy = str(out);
      for (let i = 0; i < 210; i++) {
        const idx = shape.map((_, k) => Math.floor(i / sx[k]!) % shape[k]!);
        [idx[axis], idx[axis + 1]] = [idx[axis + 1]!, idx[axis]!];
        ref[idx.reduce((p, v, k) => p + v * sy[k]!, 0)] = data[i]!;
      }
      expectClose(`swapAxes axis ${axis}`, await y.read(), ref, { atol: 0, rtol: 0 }, seed);
      y.buffer.destroy();
    }
    x.buffer.destroy();
  },
};

/** relu and its gradient: exact in f32. */
const reluCase: Case = {
  name: 'relu, tanh and their gradients n=1000',
  async run(rt, seed) {
    const r = rng(seed);
    const xd = uniform(r, 1000);
    const dyd = uniform(r, 1000);
    const x = rt.tensor(xd, [1000], 'x');
    const dy = rt.tensor(dyd, [1000], 'dy');
    const y = rt.tensor(nan(1000), [1000], 'y');
    relu(rt, y, x);
    expectClose('relu', await y.read(), Float64Array.from(xd, (v) => Math.max(v, 0)), { atol: 0, rtol: 0 }, seed);
    reluBackward(rt, y, x, dy);
    expectClose('reluBackward', await y.read(), Float64Array.from(xd, (v, i) => (v > 0 ? dyd[i]! : 0)), { atol: 0, rtol: 0 }, seed);
    // tanh: the GPU's f32 tanh is within a few u of the true value (|tanh| < 1): atol 8u.
    tanhAct(rt, y, x);
    const th = await y.read();
    expectClose('tanhAct', th, Float64Array.from(xd, Math.tanh), { atol: 8 * U32, rtol: 0 }, seed);
    const out = rt.tensor(nan(1000), [1000], 'dx');
    tanhBackward(rt, out, y, dy);
    expectClose('tanhBackward', await out.read(), Float64Array.from(th, (t, i) => dyd[i]! * (1 - t * t)), { atol: 4 * U32, rtol: 4 * U32 }, seed);
    out.buffer.destroy();
    for (const t of [x, dy, y]) t.buffer.destroy();
  },
};

/**
 * pickTokens: argmax exactly (the first of equal maxima); sampling checked
 * draw by draw: the class picked must hold the draw u (the shader's hash of
 * seed, row and step) inside its softmax interval, computed in float64 (a
 * margin for the GPU's f32 exps and chunked sums, below); and over many
 * rows of the same logits the frequencies follow softmax(logits / T).
 */
const pickCase = (B: number, V: number): Case => ({
  name: `pickTokens: argmax and softmax sampling on the GPU, ${B} rows of ${V}`,
  async run(rt, seed) {
    const r = rng(seed);
    const n = 3;
    // The GPU sums f32 exps in chunks of V/64 and then 64 partials: at most ~(V/64 + 64) roundings of 2^-24 of
    // the total each, x4 for the exps themselves; the CPU's interval is float64.
    const margin = 4 * (Math.ceil(V / 64) + 64) * 2 ** -24;
    const special = Math.min(4, B); // rows with their own logits; the rest share one distribution
    const row = uniform(r, V, -2, 2);
    const ld = new Float32Array(B * V);
    for (let b = 0; b < B; b++) ld.set(b < special ? uniform(r, V, -3, 3) : row, b * V);
    ld[2 * V + V - 2] = ld[2 * V + 1] = 9; // a tie: argmax takes the first
    const logits = rt.tensor(ld, [B, V], 'logits');
    const tokens = rt.tensor(new Float32Array(B).fill(NaN), [B], 'tokens');
    const out = rt.tensor(new Float32Array(B * n).fill(NaN), [B, n], 'out');
    pickTokens(rt, tokens, logits, { mode: 'argmax', out, col: 0 });
    const temperature = 0.7;
    const s = seed >>> 0;
    pickTokens(rt, tokens, logits, { mode: 'sample', temperature, seed: s, step: 5, out, col: 2 });
    const o = await out.read();
    const tk = await tokens.read();
    for (let b = 0; b < B; b++) {
      const x = ld.subarray(b * V, (b + 1) * V);
      let best = 0;
      for (let i = 1; i < V; i++) if (x[i]! > x[best]!) best = i;
      if (o[b * n] !== best) throw new Error(`argmax row ${b}: got ${o[b * n]}, expected ${best} (seed ${seed})`);
      if (!Number.isNaN(o[b * n + 1]!)) throw new Error(`column 1 was written (row ${b}): ${o[b * n + 1]} (seed ${seed})`);
      const c = o[b * n + 2]!;
      if (tk[b] !== c) throw new Error(`tokens[${b}] = ${tk[b]}, out[${b}, 2] = ${c} (seed ${seed})`);
      const mx = Math.max(...x);
      const w = Array.from(x, (v) => Math.exp((v - mx) / temperature));
      const total = w.reduce((a, v) => a + v, 0);
      const goal = unit24(pcg(5 ^ pcg(b ^ pcg(s)))) * total;
      const lo = w.slice(0, c).reduce((a, v) => a + v, 0);
      if (!(Number.isInteger(c) && c >= 0 && c < V && goal >= lo - margin * total && goal <= lo + w[c]! + margin * total)) {
        throw new Error(`sample row ${b}: class ${c} does not hold the draw ${goal / total} (interval ${lo / total}..${(lo + w[c]!) / total}) (seed ${seed})`);
      }
    }
    // Frequencies over the rows that share one distribution: within 5 standard deviations.
    if (B - special < 1000) {
      for (const t of [logits, tokens, out]) t.buffer.destroy();
      return;
    }
    const counts = new Array<number>(V).fill(0);
    for (let b = special; b < B; b++) counts[o[b * n + 2]!]!++;
    const mx = Math.max(...row);
    const w = Array.from(row, (v) => Math.exp((v - mx) / temperature));
    const total = w.reduce((a, v) => a + v, 0);
    counts.forEach((cnt, i) => {
      const p = w[i]! / total;
      const N = B - special;
      if (Math.abs(cnt / N - p) > 5 * Math.sqrt((p * (1 - p)) / N) + 1e-9) throw new Error(`class ${i}: frequency ${cnt / N}, softmax ${p} (seed ${seed})`);
    });
    for (const t of [logits, tokens, out]) t.buffer.destroy();
  },
});

export const kernelCases: Case[] = [
  // Both kernels on every adapter: the register-blocked one (CPU adapters) and the tiled one (GPUs).
  ...(['reg', 'tiled'] as const).flatMap((variant) =>
    GEMM_SHAPES.flatMap(([M, N, K]) =>
      VARIANTS.flatMap(([ta, tb]) => [gemmCase(M, N, K, ta, tb, false, variant), gemmCase(M, N, K, ta, tb, true, variant)]),
    ),
  ),
  // Narrow outputs (N <= 32) take the row-stacked workgroup.
  gemmCase(67, 5, 33, false, true, true, 'reg'),
  gemmCase(40, 32, 300, true, false, false, 'reg'),
  gemmViewsCase,
  ...(['reg', 'tiled'] as const).flatMap((v) => [gemmShiftCase('A', false, v), gemmShiftCase('A', true, v), gemmShiftCase('B', false, v), gemmShiftCase('B', true, v)]),
  ...EW_SIZES.map(elementwiseCase),
  ...COLSUM_SHAPES.map(([M, N]) => colSumCase(M, N)),
  colSumGroupsCase,
  sumSquaresCase,
  swapCase,
  reluCase,
  // A vocabulary of characters (one chunk per invocation, most empty) and of words (many per invocation).
  pickCase(2048, 7),
  pickCase(64, 5000),
];
