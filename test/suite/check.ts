/** Seeded random data and tolerance checks shared by the Node and browser suites. */
import { mulberry32 } from '../../src/nn/init.js';

/** A seeded generator of uniform [0, 1) numbers (mulberry32): the same stream in Node and browsers. */
export const rng = mulberry32;

/** `n` values uniform in [lo, hi). Never zeros-only: a kernel that writes nothing cannot pass. */
export function uniform(r: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

/** f32 unit roundoff, 2^-24. */
export const U32 = 2 ** -24;

/**
 * Throws unless every `|gpu - ref| <= atol + rtol * |ref|` (NaN fails), with
 * the first five offending pairs, the largest difference and the seed.
 */
export function expectClose(
  what: string,
  gpu: ArrayLike<number>,
  ref: ArrayLike<number>,
  tol: { atol: number; rtol: number },
  seed: number,
): void {
  if (gpu.length !== ref.length) throw new Error(`${what}: length ${gpu.length}, expected ${ref.length} (seed ${seed})`);
  const bad: string[] = [];
  let nBad = 0;
  let maxDiff = 0;
  for (let i = 0; i < gpu.length; i++) {
    const g = gpu[i]!;
    const r = ref[i]!;
    const d = Math.abs(g - r);
    if (!(d <= tol.atol + tol.rtol * Math.abs(r))) {
      nBad++;
      if (bad.length < 5) bad.push(`[${i}] gpu ${g} ref ${r}`);
    }
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? NaN : Math.max(maxDiff, d);
  }
  if (nBad) {
    throw new Error(
      `${what}: ${nBad}/${gpu.length} elements off (atol ${tol.atol}, rtol ${tol.rtol}), max |diff| ${maxDiff}, seed ${seed}: ${bad.join('; ')}`,
    );
  }
}

/** A fresh seed per run, or the one in WEBGPU_RNN_SEED / ?seed= to replay a failure. */
export function freshSeed(fixed?: string | null): number {
  if (fixed) return Number(fixed) >>> 0;
  return (Math.random() * 2 ** 32) >>> 0;
}
