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
 * `v` if it is an integer in [0, 2^32), else an Error naming `what`: seeds
 * and steps reach the GPU as u32, where a larger value would silently alias
 * (2^32 + 5 draws the same stream as 5).
 */
export function u32(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** 32) {
    throw new Error(`${what} must be an integer in [0, 2^32), got ${typeof v === 'number' ? v : typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
  }
  return v;
}

/** A random u32 seed (the default where none is given). */
export const randomSeed = (): number => Math.floor(Math.random() * 2 ** 32);
