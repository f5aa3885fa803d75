/**
 * `fit`: the training loop. Every step uploads its batch, then records
 * zeroGrad, forward, loss, backward, optional gradient clipping and the
 * optimizer update into one command stream and submits it once. The loss is
 * read back every `logEvery` steps without waiting for it: the GPU keeps
 * going while the read resolves. Cancellable with an AbortSignal; the same
 * seed, data and device give the same losses.
 */
import type { Runtime } from '../runtime.js';
import { Tensor, fmtShape, numel } from '../tensor.js';
import type { Arena } from '../tensor.js';
import { CrossEntropyLoss, MSELoss, type LossResult } from './loss.js';
import { Adam, AdamW, SGD, clipGradNorm, type Optimizer } from './optim.js';

/** What `fit` trains: the sequence models, or anything shaped like them. */
export interface Trainable {
  readonly rt: Runtime;
  readonly modules: Record<string, { params: Arena; gradients: Arena }>;
  zeroGrad(): void;
  forward(x: Tensor, state?: { h0?: Tensor; c0?: Tensor }): { logits: Tensor; h?: Tensor; c?: Tensor };
  backward(dlogits: Tensor): void;
}

/** Batches, written into preallocated arrays: nothing is allocated per step. */
export interface TrainData {
  /** Shape of one input batch, e.g. [T, B] token ids or [T, B, I] features. */
  xShape: number[];
  /** Shape of one target batch: class ids (cross-entropy) or values (MSE). */
  yShape: number[];
  /** Fills `x` and `y` for training step `step` (0-based, counting across epochs). */
  batch(step: number, x: Float32Array, y: Float32Array): void;
  /** Steps in one pass over the data, for `epochs`. */
  stepsPerEpoch?: number;
}

export interface StepInfo {
  step: number;
  /** The mean loss of this step (on the steps whose loss was read: every `logEvery`). */
  loss: number;
  /** Training steps per second so far (steps recorded / wall time). */
  stepsPerSecond: number;
  /** Global gradient norm before clipping, when `clip` is set. */
  gradNorm?: number;
}

export interface FitOptions {
  /** Number of steps, or `epochs` x data.stepsPerEpoch. */
  steps?: number;
  epochs?: number;
  loss: 'cross_entropy' | 'mse';
  /** Cross-entropy: where the classes are in the logits: `'last'` (default) or `1` ([B, C, T], WaveNet). */
  classDim?: 'last' | 1;
  /** Optimizers to use, or one to build per module (default Adam, lr 1e-3). */
  optimizer?: Optimizer[] | 'adam' | 'adamw' | 'sgd';
  lr?: number;
  /** Clip gradients to this global norm (clip_grad_norm_); none by default. */
  clip?: number;
  /** Truncated BPTT: carry each step's final state into the next step's batch (detached). */
  tbptt?: boolean;
  /** Read the loss every this many steps (default 10) and call onStep with it. */
  logEvery?: number;
  onStep?: (info: StepInfo) => void;
  signal?: AbortSignal;
  /** Held-out evaluation: mean loss over `steps` batches every `every` training steps. */
  evaluate?: { data: TrainData; every: number; steps?: number; onEval?: (info: { step: number; loss: number }) => void };
}

export interface FitResult {
  steps: number;
  aborted: boolean;
  losses: { step: number; loss: number }[];
  evals: { step: number; loss: number }[];
  optimizers: Optimizer[];
}

function makeOptimizers(model: Trainable, o: FitOptions): Optimizer[] {
  if (Array.isArray(o.optimizer)) return o.optimizer;
  const kind = o.optimizer ?? 'adam';
  const lr = o.lr ?? 1e-3;
  return Object.values(model.modules).map((m) => {
    if (kind === 'adam') return new Adam(model.rt, m.params, m.gradients, { lr });
    if (kind === 'adamw') return new AdamW(model.rt, m.params, m.gradients, { lr });
    if (kind === 'sgd') return new SGD(model.rt, m.params, m.gradients, { lr });
    throw new Error(`fit: optimizer must be 'adam', 'adamw', 'sgd' or an array of optimizers, got '${String(kind)}'`);
  });
}

export async function fit(model: Trainable, data: TrainData, o: FitOptions): Promise<FitResult> {
  const rt = model.rt;
  if (!o || (o.loss !== 'cross_entropy' && o.loss !== 'mse')) throw new Error(`fit: loss must be 'cross_entropy' or 'mse', got '${String(o?.loss)}'`);
  let steps = o.steps;
  if (steps === undefined && o.epochs !== undefined) {
    if (!data.stepsPerEpoch) throw new Error('fit: epochs needs data.stepsPerEpoch');
    steps = o.epochs * data.stepsPerEpoch;
  }
  if (steps === undefined || !Number.isInteger(steps) || steps < 0) throw new Error(`fit: steps (or epochs) must give a non-negative integer number of steps, got ${String(steps)}`);
  if (o.clip !== undefined && !(o.clip > 0)) throw new Error(`fit: clip must be > 0, got ${o.clip}`);
  const logEvery = o.logEvery ?? 10;
  const optimizers = makeOptimizers(model, o);
  const classDim = o.classDim ?? 'last';
  const lossFn = o.loss === 'cross_entropy' ? new CrossEntropyLoss(rt, { classDim }) : new MSELoss(rt);
  const xs = new Float32Array(numel(data.xShape));
  const ys = new Float32Array(numel(data.yShape));
  const x = rt.zeros(data.xShape, 'fit.x');
  const y = rt.zeros(data.yShape, 'fit.y');
  const grads = Object.values(model.modules).map((m) => m.gradients);
  const losses: { step: number; loss: number }[] = [];
  const evals: { step: number; loss: number }[] = [];
  const reads: Promise<void>[] = [];
  const t0 = performance.now();
  let state: { h0?: Tensor; c0?: Tensor } = {};
  const carry: { h?: Tensor; c?: Tensor } = {};

  const applyLoss = (logits: Tensor, target: Tensor): LossResult => {
    if (lossFn instanceof CrossEntropyLoss) {
      const C = classDim === 1 ? logits.shape[1]! : logits.shape[logits.ndim - 1]!;
      if (logits.size / C !== target.size) {
        throw new Error(`fit: cross-entropy targets must hold one class per position: logits ${fmtShape(logits.shape)} need ${logits.size / C}, got ${fmtShape(target.shape)}`);
      }
      return lossFn.forward(classDim === 1 ? logits : logits.reshape([logits.size / C, C]), target);
    }
    if (logits.size !== target.size) throw new Error(`fit: MSE targets must match the outputs ${fmtShape(logits.shape)}, got ${fmtShape(target.shape)}`);
    return lossFn.forward(logits, target.reshape(logits.shape));
  };

  let step = 0;
  let aborted = false;
  try {
    for (; step < steps; step++) {
      if (o.signal?.aborted) {
        aborted = true;
        break;
      }
      data.batch(step, xs, ys);
      x.write(xs);
      y.write(ys);
      if (o.tbptt && carry.h) {
        // Copied into the layer's own initial state at forward: detached from the previous step.
        state = { h0: carry.h, c0: carry.c };
      }
      const s = step;
      rt.step(() => {
        model.zeroGrad();
        const out = model.forward(x, state);
        const l = applyLoss(out.logits, y);
        model.backward(l.grad.reshape(out.logits.shape));
        const norm = o.clip !== undefined ? clipGradNorm(rt, grads, o.clip) : null;
        for (const opt of optimizers) opt.step();
        carry.h = out.h;
        carry.c = out.c;
        if (s % logEvery === 0 || s === steps! - 1) {
          const lr = l.loss.read();
          const nr = norm?.read();
          reads.push(
            Promise.all([lr, nr]).then(([lv, nv]) => {
              const info: StepInfo = { step: s, loss: lv[0]!, stepsPerSecond: (s + 1) / ((performance.now() - t0) / 1000) };
              if (nv) info.gradNorm = nv[0]!;
              losses.push({ step: s, loss: info.loss });
              o.onStep?.(info);
            }),
          );
        }
      });
      if (o.evaluate && (step + 1) % o.evaluate.every === 0) evals.push({ step, loss: await evaluate(model, o.evaluate.data, applyLoss, o.evaluate.steps ?? 1) });
      if (o.evaluate?.onEval && evals.length && evals[evals.length - 1]!.step === step) o.evaluate.onEval(evals[evals.length - 1]!);
      // Yield to the event loop now and then (a page stays responsive; aborts are seen).
      if (step % logEvery === logEvery - 1) await new Promise((r) => setTimeout(r, 0));
    }
    await Promise.all(reads);
  } finally {
    lossFn.destroy();
    rt.submit();
    x.destroy();
    y.destroy();
  }
  losses.sort((a, b) => a.step - b.step);
  return { steps: step, aborted, losses, evals, optimizers };
}

/** Mean loss over `steps` held-out batches (no gradients kept: the model's gradients are zeroed after). */
async function evaluate(model: Trainable, data: TrainData, applyLoss: (l: Tensor, t: Tensor) => LossResult, steps: number): Promise<number> {
  const rt = model.rt;
  const xs = new Float32Array(numel(data.xShape));
  const ys = new Float32Array(numel(data.yShape));
  const x = rt.zeros(data.xShape, 'eval.x');
  const y = rt.zeros(data.yShape, 'eval.y');
  let total = 0;
  for (let s = 0; s < steps; s++) {
    data.batch(s, xs, ys);
    x.write(xs);
    y.write(ys);
    const l = applyLoss(model.forward(x).logits, y);
    total += (await l.loss.read())[0]!;
  }
  x.destroy();
  y.destroy();
  return total / steps;
}
