/**
 * `fit`: one call that trains a model, as Keras's `model.fit`: a Trainer
 * built, run once and freed. For resuming, schedules across calls, callbacks
 * or checkpoints, keep a `Trainer`.
 */
import type { TrainData } from './data.js';
import { Adam, AdamW, SGD, type Optimizer } from './optim.js';
import type { Schedule } from './schedule.js';
import { Trainer, type Callback, type EvalResult, type StepInfo, type TrainModel } from './trainer.js';

export interface FitOptions {
  /** Number of steps, or `epochs` x data.stepsPerEpoch. */
  steps?: number;
  epochs?: number;
  loss: 'cross_entropy' | 'mse';
  /** Cross-entropy: where the classes are in the output: `'last'` (default) or `1` ([B, C, T], WaveNet). */
  classDim?: 'last' | 1;
  ignoreIndex?: number;
  /** An optimizer over the model's parameters, or the kind to build (default Adam) with `lr` (default 1e-3). */
  optimizer?: Optimizer | 'adam' | 'adamw' | 'sgd';
  lr?: number;
  scheduler?: Schedule;
  /** Clip gradients to this global norm (clip_grad_norm_); none by default. */
  clip?: number;
  /** Truncated BPTT: carry each step's final state into the next step's batch (detached). */
  tbptt?: boolean;
  /** Read the loss every this many steps (default 10) and call onStep with it. */
  logEvery?: number;
  onStep?: (info: StepInfo) => void;
  signal?: AbortSignal;
  metrics?: 'accuracy'[];
  callbacks?: Callback[];
  /** Held-out data, evaluated at each epoch's end or every `validationEvery` steps. */
  validation?: TrainData;
  validationEvery?: number;
  validationSteps?: number;
}

export interface FitResult {
  steps: number;
  aborted: boolean;
  stopped: boolean;
  losses: { step: number; loss: number }[];
  evals: (EvalResult & { step: number })[];
  /** The optimizer used (built here unless given). */
  optimizer: Optimizer;
}

function makeOptimizer(model: TrainModel, o: FitOptions): Optimizer {
  const kind = o.optimizer ?? 'adam';
  if (typeof kind === 'object') return kind;
  const lr = o.lr ?? 1e-3;
  if (kind === 'adam') return new Adam(model.parameters(), { lr });
  if (kind === 'adamw') return new AdamW(model.parameters(), { lr });
  if (kind === 'sgd') return new SGD(model.parameters(), { lr });
  throw new Error(`fit: optimizer must be 'adam', 'adamw', 'sgd' or an Optimizer, got '${String(kind)}'`);
}

export async function fit(model: TrainModel, data: TrainData, o: FitOptions): Promise<FitResult> {
  if (!o || (o.loss !== 'cross_entropy' && o.loss !== 'mse')) throw new Error(`fit: loss must be 'cross_entropy' or 'mse', got '${String(o?.loss)}'`);
  if (o.steps === undefined && o.epochs === undefined) throw new Error('fit: give steps or epochs');
  const optimizer = makeOptimizer(model, o);
  const own = optimizer !== o.optimizer;
  let trainer: Trainer;
  try {
    trainer = new Trainer(model, {
    loss: o.loss,
    optimizer,
    classDim: o.classDim,
    ignoreIndex: o.ignoreIndex,
    scheduler: o.scheduler,
    clip: o.clip,
    tbptt: o.tbptt,
    logEvery: o.logEvery,
    metrics: o.metrics,
    callbacks: o.callbacks,
    });
  } catch (e) {
    if (own) optimizer.destroy();
    throw e;
  }
  try {
    const r = await trainer.fit(data, { steps: o.steps, epochs: o.epochs, signal: o.signal, onStep: o.onStep, validation: o.validation, validationEvery: o.validationEvery, validationSteps: o.validationSteps });
    return { ...r, optimizer };
  } finally {
    trainer.destroy();
  }
}
