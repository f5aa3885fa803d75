/** Finite differences for checking the float64 references' backward passes. */

export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

export const FD_EPS = 1e-6;

/**
 * Central differences (f(a+e) - f(a-e)) / 2e with e = 1e-6 in float64: the
 * truncation error is ~e^2/6 |f'''| ~ 1e-13 and the rounding error ~
 * 1e-16 |L| / e ~ 1e-9 for losses |L| up to ~10, so 1e-8 absolute plus 1e-6
 * relative is loose by ~10x yet far below any real mistake (a wrong gate,
 * tap, sign or missing path shows up at 1e-2).
 */
export const FD_TOL = { atol: 1e-8, rtol: 1e-6 };

/** Central difference of f with respect to every element of arr (perturbed in place, then restored). */
export function fdGrad(arr: Float64Array, f: () => number): Float64Array {
  const g = new Float64Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i]!;
    arr[i] = v + FD_EPS;
    const fp = f();
    arr[i] = v - FD_EPS;
    const fm = f();
    arr[i] = v;
    g[i] = (fp - fm) / (2 * FD_EPS);
  }
  return g;
}
