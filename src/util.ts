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

/** `v` if it is an integer seed in [0, 2^32) (the generators are 32-bit: larger seeds would alias), else an Error naming `what`. */
export function checkSeed(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** 32) throw new Error(`${what} must be an integer in [0, 2^32), got ${String(v)}`);
  return v;
}
