/**
 * Float64 references for the runtime's first kernels, written plainly:
 * the definition, one loop per index. Version 1 of every kernel.
 */

export interface GemmRef {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  lda: number;
  ldb: number;
  ldc: number;
  offA?: number;
  offB?: number;
  offC?: number;
  bias?: ArrayLike<number>;
}

/** c (M x N, stride ldc) = alpha * op(a) op(b) + bias + beta * c, in float64. */
export function gemmRef(a: ArrayLike<number>, b: ArrayLike<number>, c: ArrayLike<number>, p: GemmRef): Float64Array {
  const out = Float64Array.from(c);
  const oa = p.offA ?? 0;
  const ob = p.offB ?? 0;
  const oc = p.offC ?? 0;
  for (let i = 0; i < p.M; i++) {
    for (let j = 0; j < p.N; j++) {
      let s = 0;
      for (let k = 0; k < p.K; k++) {
        const av = p.transA ? a[oa + k * p.lda + i]! : a[oa + i * p.lda + k]!;
        const bv = p.transB ? b[ob + j * p.ldb + k]! : b[ob + k * p.ldb + j]!;
        s += av * bv;
      }
      let v = p.alpha * s;
      if (p.bias) v += p.bias[j]!;
      const ci = oc + i * p.ldc + j;
      if (p.beta !== 0) v += p.beta * c[ci]!;
      out[ci] = v;
    }
  }
  return out;
}

/** out[j] = beta * out[j] + sum_i x[i, j] */
export function colSumRef(x: ArrayLike<number>, M: number, N: number, out: ArrayLike<number>, beta: number): Float64Array {
  const r = new Float64Array(N);
  for (let j = 0; j < N; j++) {
    let s = 0;
    for (let i = 0; i < M; i++) s += x[i * N + j]!;
    r[j] = s + (beta !== 0 ? beta * out[j]! : 0);
  }
  return r;
}

/** sum over all tensors of the sum of squares. */
export function sumSquaresRef(xs: ArrayLike<number>[]): number {
  let s = 0;
  for (const x of xs) for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return s;
}

export const fillRef = (n: number, v: number): Float64Array => new Float64Array(n).fill(v);
export const scaleRef = (y: ArrayLike<number>, a: number): Float64Array => Float64Array.from(y, (v) => a * v);
export const axpyRef = (y: ArrayLike<number>, a: number, x: ArrayLike<number>): Float64Array =>
  Float64Array.from(y, (v, i) => v + a * x[i]!);

/**
 * Rows of a [rows, cols] matrix (row stride ld) shifted inside blocks of `period`
 * rows: row p takes row p - shift (p + shift if ahead), or zeros where that leaves the block.
 */
export function shiftRowsRef(m: ArrayLike<number>, rows: number, cols: number, ld: number, shift: number, period: number, ahead: boolean): Float64Array {
  const out = new Float64Array(rows * ld);
  for (let p = 0; p < rows; p++) {
    const t = p % period;
    const src = ahead ? p + shift : p - shift;
    const ok = ahead ? t + shift < period : t >= shift;
    for (let j = 0; j < cols; j++) out[p * ld + j] = ok ? m[src * ld + j]! : 0;
  }
  return out;
}
