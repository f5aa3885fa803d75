/** Float64 references for the losses, from PyTorch's definitions. */

/**
 * torch.nn.CrossEntropyLoss(reduction='mean', ignore_index) with per-position weights w_n:
 * L = sum_n w_n (lse_n - x[n, y_n]) / sum_n w_n over positions with y_n != ignore;
 * dL/dx[n, c] = w_n (softmax(x_n)_c - [c == y_n]) / sum w.
 * `at(n, c)` locates logit (n, c) in x.
 */
export function crossEntropyRef(
  x: ArrayLike<number>,
  targets: ArrayLike<number>,
  N: number,
  C: number,
  at: (n: number, c: number) => number,
  ignoreIndex: number,
  mask?: ArrayLike<number>,
): { loss: number; grad: Float64Array; count: number } {
  const grad = new Float64Array(x.length);
  let total = 0;
  let count = 0;
  for (let n = 0; n < N; n++) {
    const y = targets[n]!;
    const w = y === ignoreIndex ? 0 : mask ? mask[n]! : 1;
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, x[at(n, c)]!);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(x[at(n, c)]! - mx);
    const lse = mx + Math.log(s);
    if (w !== 0) total += w * (lse - x[at(n, y)]!);
    count += w;
    for (let c = 0; c < C; c++) grad[at(n, c)] = w * (Math.exp(x[at(n, c)]! - lse) - (c === y ? 1 : 0));
  }
  for (let i = 0; i < grad.length; i++) grad[i] = count > 0 ? grad[i]! / count : 0;
  return { loss: count > 0 ? total / count : 0, grad, count };
}

/** torch.nn.MSELoss(reduction='mean') with weights per row of F values: sum w (p - t)^2 / (F sum w). */
export function mseRef(p: ArrayLike<number>, t: ArrayLike<number>, F: number, mask?: ArrayLike<number>): { loss: number; grad: Float64Array; count: number } {
  const N = p.length / F;
  const grad = new Float64Array(p.length);
  let total = 0;
  let count = 0;
  for (let n = 0; n < N; n++) {
    const w = mask ? mask[n]! : 1;
    for (let f = 0; f < F; f++) {
      const d = p[n * F + f]! - t[n * F + f]!;
      total += w * d * d;
      grad[n * F + f] = w * 2 * d;
    }
    count += w * F;
  }
  for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! / count;
  return { loss: total / count, grad, count };
}
