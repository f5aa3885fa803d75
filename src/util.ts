/** Small helpers shared by the kernels' TypeScript sides and the modules. */

export const cdiv = (a: number, b: number): number => Math.ceil(a / b);

/** Folds `n` workgroups into a 2-D grid within the per-dimension limit (kernels index with `(wid.y * nwg.x + wid.x)`). */
export function fold(n: number, max = 65535): [number, number] {
  return n <= max ? [n, 1] : [max, cdiv(n, max)];
}

/** `v` if it is an integer >= 1, else an Error naming `what`. */
export function positiveInt(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${what} must be a positive integer, got ${String(v)}`);
  return v;
}

/**
 * An index drawn from softmax(logits / temperature), given a uniform number
 * `u` in [0, 1) (the caller's seeded generator: runs repeat). A temperature
 * below 1e-3 counts as 1e-3 (near argmax).
 */
export function sampleSoftmax(logits: ArrayLike<number>, temperature: number, u: number): number {
  const tau = Math.max(temperature, 1e-3);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const w = Array.from(logits, (v) => Math.exp((v - max) / tau));
  let r = u * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < w.length; i++) {
    r -= w[i]!;
    if (r <= 0) return i;
  }
  return w.length - 1;
}
