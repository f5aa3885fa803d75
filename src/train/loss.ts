/**
 * Losses on the GPU, forward and backward fused (the loss ends the graph, so
 * its gradient is written in the same pass): softmax cross-entropy (class
 * indices, an ignore index and per-position weights, mean over the valid
 * positions, as torch.nn.CrossEntropyLoss) and mean squared error. Three
 * dispatches each; the mean loss stays on the GPU (`await loss.read()` when
 * you want it, without stalling the next step).
 */
import type { KernelDesc, Params } from '../kernel.js';
import type { Runtime } from '../runtime.js';
import { cdiv, fold } from '../util.js';
import { Tensor, checkTensor, fmtShape, numel } from '../tensor.js';

const WG = 64;
const cd = cdiv;
const k = (entry: string, grid: (p: Params) => readonly [number, number?, number?]): KernelDesc => ({
  name: `loss_${entry}`,
  shader: 'loss',
  entry,
  overrides: { WG },
  grid,
});
const K_CE = k('ce_rows', (p) => fold(cd(p.N!, WG)));
const K_MSE = k('mse_rows', (p) => fold(cd(p.N!, WG)));
const K_REDUCE = k('reduce', () => [1]);
const K_SCALE = k('scale', (p) => fold(cd(p.n!, WG)));

interface LossPlan {
  key: string;
  grad: Tensor;
  rows: Tensor; // [2N]
  out: Tensor; // [2]: mean loss, total weight
}

export interface LossResult {
  /** [1]: the mean loss (over valid positions / elements). */
  loss: Tensor;
  /** The gradient of the mean loss with respect to the input, same shape. */
  grad: Tensor;
  /** [1]: the total weight the mean divides by (valid positions or elements). */
  count: Tensor;
}

abstract class Loss {
  private plan: LossPlan | null = null;
  constructor(readonly rt: Runtime) {}

  protected planFor(shape: readonly number[], N: number): LossPlan {
    const key = `${shape.join('x')}`;
    if (this.plan?.key === key) return this.plan;
    this.destroy();
    const { rt } = this;
    const name = this.constructor.name;
    this.plan = {
      key,
      grad: rt.zeros(shape, `${name}.grad`),
      rows: rt.zeros([2 * N], `${name}.rows`),
      out: rt.zeros([2], `${name}.out`),
    };
    return this.plan;
  }

  protected finish(p: LossPlan, base: Params): LossResult {
    const { rt } = this;
    rt.dispatch(K_REDUCE, { rows: p.rows, out: p.out }, base);
    rt.dispatch(K_SCALE, { grad: p.grad, stat: p.out }, { ...base, n: p.grad.size });
    return { loss: p.out.view([1], 0, `${this.constructor.name}.loss`), grad: p.grad, count: p.out.view([1], 1) };
  }

  protected checkMask(name: string, mask: Tensor | undefined, N: number): void {
    if (mask !== undefined && (!(mask instanceof Tensor) || mask.size !== N)) {
      throw new Error(`${name}: mask must have one weight per position (${N}), got ${mask instanceof Tensor ? fmtShape(mask.shape) : typeof mask}`);
    }
  }

  /** Every given input is a tensor of this runtime, checked before the plan changes. */
  protected checkOwn(name: string, args: Record<string, Tensor | undefined>): void {
    for (const [k, t] of Object.entries(args)) if (t !== undefined) checkTensor(name, k, t, this.rt);
  }

  destroy(): void {
    if (!this.plan) return;
    this.rt.submit();
    for (const t of [this.plan.grad, this.plan.rows, this.plan.out]) t.buffer.destroy();
    this.plan = null;
  }
}

export interface CrossEntropyOptions {
  /** Targets equal to this are ignored (PyTorch's default -100). */
  ignoreIndex?: number;
  /**
   * Where the classes are: `'last'` (default; logits [..., C], e.g. [T*B, C]
   * rows) or `1` (PyTorch's [B, C, T] layout, e.g. WaveNet's output).
   */
  classDim?: 'last' | 1;
}

/** Softmax cross-entropy with class-index targets, mean over valid positions (torch.nn.CrossEntropyLoss). */
export class CrossEntropyLoss extends Loss {
  readonly ignoreIndex: number;
  readonly classDim: 'last' | 1;
  constructor(rt: Runtime, o: CrossEntropyOptions = {}) {
    super(rt);
    this.ignoreIndex = o.ignoreIndex ?? -100;
    if (!Number.isInteger(this.ignoreIndex)) throw new Error(`CrossEntropyLoss: ignoreIndex must be an integer, got ${o.ignoreIndex}`);
    this.classDim = o.classDim ?? 'last';
    if (this.classDim !== 'last' && this.classDim !== 1) throw new Error(`CrossEntropyLoss: classDim must be 'last' or 1, got ${String(o.classDim)}`);
  }

  /**
   * Records the loss of `logits` against `targets` (class indices stored as
   * floats, one per position; `ignoreIndex` skips a position) with optional
   * per-position weights `mask`. Returns tensors owned by the loss.
   */
  forward(logits: Tensor, targets: Tensor, mask?: Tensor): LossResult {
    const name = 'CrossEntropyLoss.forward';
    if (!(logits instanceof Tensor) || logits.ndim < 1) throw new Error(`${name}: logits must be a Tensor with a class dimension`);
    let C: number;
    let inner: number;
    if (this.classDim === 'last') {
      C = logits.shape[logits.ndim - 1]!;
      inner = 1;
    } else {
      if (logits.ndim !== 3) throw new Error(`${name}: with classDim 1, logits must be [B, C, T], got ${fmtShape(logits.shape)}`);
      C = logits.shape[1]!;
      inner = logits.shape[2]!;
    }
    const N = logits.size / C;
    if (!(targets instanceof Tensor) || targets.size !== N) {
      throw new Error(`${name}: targets must hold one class index per position (${N} for logits ${fmtShape(logits.shape)}), got ${targets instanceof Tensor ? fmtShape(targets.shape) : typeof targets}`);
    }
    this.checkMask(name, mask, N);
    this.checkOwn(name, { logits, targets, mask });
    const p = this.planFor(logits.shape, N);
    const base = { N, C, inner, ignoreIndex: this.ignoreIndex, hasMask: mask ? 1 : 0, n: 0 };
    // Without a mask, `mask` is bound to the targets and not read (hasMask 0).
    this.rt.dispatch(K_CE, { grad: p.grad, rows: p.rows, x: logits, t: targets, mask: mask ?? targets }, base);
    return this.finish(p, base);
  }
}

/** Mean squared error, mean over the (weighted) elements (torch.nn.MSELoss with reduction 'mean'). */
export class MSELoss extends Loss {
  /**
   * Records the loss of `pred` against `target` (same size); `mask` weighs
   * rows of the last dimension (one weight per position of `pred` [..., F]).
   */
  forward(pred: Tensor, target: Tensor, mask?: Tensor): LossResult {
    const name = 'MSELoss.forward';
    if (!(pred instanceof Tensor) || !(target instanceof Tensor) || pred.size !== target.size) {
      throw new Error(`${name}: pred and target must be Tensors of equal size, got ${pred instanceof Tensor ? fmtShape(pred.shape) : typeof pred} and ${target instanceof Tensor ? fmtShape(target.shape) : typeof target}`);
    }
    // Rows of the last dimension: the unit a mask weighs.
    const C = pred.shape[pred.ndim - 1] ?? 1;
    const N = numel(pred.shape) / C;
    this.checkMask(name, mask, N);
    this.checkOwn(name, { pred, target, mask });
    const p = this.planFor(pred.shape, N);
    const base = { N, C, inner: 1, ignoreIndex: 0, hasMask: mask ? 1 : 0, n: 0 };
    this.rt.dispatch(K_MSE, { grad: p.grad, rows: p.rows, x: pred, t: target, mask: mask ?? target }, base);
    return this.finish(p, base);
  }
}
