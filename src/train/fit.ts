/**
 * `fit`: one call that trains a model, as Keras's `model.fit`: a Trainer
 * built, run once and freed. For resuming, schedules across calls, callbacks
 * or checkpoints, keep a `Trainer`.
 */
import type { TrainData } from './data.js';
import { Adam, AdamW, SGD, type Optimizer } from './optim.js';
import type { Schedule } from './schedule.js';
import { Trainer, type EvalResult, type TrainerFitOptions, type TrainerOptions, type TrainModel } from './trainer.js';

/**
 * The Trainer's options and its `fit`'s, with fit's own: the optimizer may be
 * a kind to build (with `lr`), and a schedule is a function (a Scheduler
 * would need the optimizer first).
 */
export interface FitOptions extends Omit<TrainerOptions, 'optimizer' | 'scheduler'>, TrainerFitOptions {
  /** An optimizer over the model's parameters, or the kind to build (default Adam) with `lr` (default 1e-3). */
  optimizer?: Optimizer | 'adam' | 'adamw' | 'sgd';
  lr?: number;
  scheduler?: Schedule;
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
  const { optimizer: _kind, lr: _lr, steps, epochs, signal, onStep, validation, validationEvery, validationSteps, ...trainerOptions } = o;
  let trainer: Trainer;
  try {
    trainer = new Trainer(model, { ...trainerOptions, optimizer });
  } catch (e) {
    if (own) optimizer.destroy();
    throw e;
  }
  try {
    const r = await trainer.fit(data, { steps, epochs, signal, onStep, validation, validationEvery, validationSteps });
    return { ...r, optimizer };
  } finally {
    trainer.destroy();
  }
}
