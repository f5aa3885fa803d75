/**
 * Float64 references for the optimizers and gradient clipping, written from
 * PyTorch's documented algorithms (torch.optim.SGD / Adam / AdamW,
 * torch.nn.utils.clip_grad_norm_ / clip_grad_value_), one loop per element.
 * Each `*Step` updates its state in place, one optimizer step.
 */

export interface SgdRefOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

export interface SgdRefState {
  p: Float64Array;
  /** null until the first step with momentum (PyTorch's `momentum_buffer is None`). */
  buf: Float64Array | null;
}

export function sgdRefStep(s: SgdRefState, grad: ArrayLike<number>, o: SgdRefOptions): void {
  const n = s.p.length;
  const first = s.buf === null;
  if (o.momentum !== 0 && first) s.buf = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let g = o.maximize ? -grad[i]! : grad[i]!;
    if (o.weightDecay !== 0) g += o.weightDecay * s.p[i]!;
    if (o.momentum !== 0) {
      const b = first ? g : o.momentum * s.buf![i]! + (1 - o.dampening) * g;
      s.buf![i] = b;
      g = o.nesterov ? g + o.momentum * b : b;
    }
    s.p[i] = s.p[i]! - o.lr * g;
  }
}

export interface AdamRefOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: p *= 1 - lr * wd; Adam: g += wd * p. */
  decoupled: boolean;
  amsgrad: boolean;
  maximize: boolean;
}

export interface AdamRefState {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
  vmax: Float64Array;
  step: number;
}

export function adamRefState(p: ArrayLike<number>): AdamRefState {
  const n = p.length;
  return { p: Float64Array.from(p), m: new Float64Array(n), v: new Float64Array(n), vmax: new Float64Array(n), step: 0 };
}

export function adamRefStep(s: AdamRefState, grad: ArrayLike<number>, o: AdamRefOptions): void {
  s.step++;
  const t = s.step;
  const bc1 = 1 - o.beta1 ** t;
  const bc2 = 1 - o.beta2 ** t;
  const stepSize = o.lr / bc1;
  const bc2Sqrt = Math.sqrt(bc2);
  for (let i = 0; i < s.p.length; i++) {
    let g = o.maximize ? -grad[i]! : grad[i]!;
    let p = s.p[i]!;
    if (o.decoupled) p *= 1 - o.lr * o.weightDecay;
    else if (o.weightDecay !== 0) g += o.weightDecay * p;
    const m = o.beta1 * s.m[i]! + (1 - o.beta1) * g;
    const v = o.beta2 * s.v[i]! + (1 - o.beta2) * g * g;
    s.m[i] = m;
    s.v[i] = v;
    let vv = v;
    if (o.amsgrad) vv = s.vmax[i] = Math.max(s.vmax[i]!, v);
    const denom = Math.sqrt(vv) / bc2Sqrt + o.eps;
    s.p[i] = p - stepSize * (m / denom);
  }
}

/** clip_grad_norm_ (norm_type 2): the total norm, and the gradients scaled by min(1, maxNorm / (norm + 1e-6)). */
export function clipGradNormRef(grads: ArrayLike<number>[], maxNorm: number): { norm: number; grads: Float64Array[] } {
  let ss = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) ss += g[i]! * g[i]!;
  const norm = Math.sqrt(ss);
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  return { norm, grads: grads.map((g) => Float64Array.from(g, (x) => x * coef)) };
}

/** clip_grad_value_: clamp to [-v, v]. */
export function clipGradValueRef(g: ArrayLike<number>, v: number): Float64Array {
  return Float64Array.from(g, (x) => Math.min(v, Math.max(-v, x)));
}
