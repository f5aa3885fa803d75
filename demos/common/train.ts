/**
 * The pages' training driver: one library `Trainer` per session, run in
 * chunks (src/worker.ts's loop asks for `n` steps at a time, sized to
 * ~200 ms, in the page's worker or, in the fallback, on the main thread).
 * The Trainer keeps the step numbering (batches are a pure function of the
 * step), the optimizer is built once (Adam's moments survive pause and
 * resume), and the live controls `lr` and `clip` take effect at the next
 * chunk (`optimizer.lr = v`, `trainer.clip = v`: between steps).
 */
import { mulberry32 } from '../../src/nn/init.js';
import { hash32, type TrainData } from '../../src/train/data.js';
import { Adam, type Optimizer } from '../../src/train/optim.js';
import { Trainer, type StepInfo, type TrainModel, type TrainerFitResult } from '../../src/train/trainer.js';
import type { LossPoint, Values } from './shell.js';

export interface PageTrainerOptions {
  loss: 'cross_entropy' | 'mse';
  classDim?: 'last' | 1;
  ignoreIndex?: number;
  /** The optimizer over the model's parameters (default Adam with `lr`). */
  optimizer?: Optimizer;
  lr?: number;
  /** Global-norm clipping; 0 or undefined: off. */
  clip?: number;
  /** Read the loss every this many steps, and at the last step of every chunk (default 25). */
  logEvery?: number;
}

/**
 * The random numbers of one training step: a generator seeded by (seed,
 * step), so a page's batches are a pure function of the step (what the
 * Trainer asks of its data).
 */
export function stepRandom(seed: number, step: number): () => number {
  return mulberry32(hash32(seed, step));
}

const clipOf = (v: unknown): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined);

export class PageTrainer {
  readonly optimizer: Optimizer;
  private readonly trainer: Trainer;
  private clip: number | undefined;
  /** Live values waiting for the next chunk (never applied while a chunk runs). */
  private pending: { lr?: number; clip?: number | undefined } = {};

  constructor(
    readonly model: TrainModel,
    readonly data: TrainData,
    readonly o: PageTrainerOptions,
  ) {
    this.optimizer = o.optimizer ?? new Adam(model.parameters(), { lr: o.lr ?? 1e-3 });
    this.clip = clipOf(o.clip);
    this.trainer = new Trainer(this.model, {
      loss: this.o.loss,
      optimizer: this.optimizer,
      classDim: this.o.classDim,
      ignoreIndex: this.o.ignoreIndex,
      clip: this.clip,
      logEvery: this.o.logEvery ?? 25,
    });
  }

  /** Steps taken so far. */
  get step(): number {
    return this.trainer.step;
  }

  /** Whether gradients are clipped (StepInfo.gradNorm is then reported). */
  get clipping(): boolean {
    return this.clip !== undefined;
  }

  /** Follows the live controls `lr` and `clip` (from the next chunk). */
  update(v: Values): void {
    if (typeof v.lr === 'number' && v.lr > 0) this.pending.lr = v.lr;
    if (typeof v.clip === 'number') this.pending.clip = clipOf(v.clip);
  }

  /** Sets the clipping norm (undefined or 0: off) from the next chunk. */
  setClip(v: number | undefined): void {
    this.pending.clip = clipOf(v);
  }

  private applyPending(): void {
    const p = this.pending;
    this.pending = {};
    if (p.lr !== undefined) this.optimizer.lr = p.lr;
    if ('clip' in p && p.clip !== this.clip) this.trainer.clip = this.clip = p.clip;
  }

  /** Trains `n` more steps; `onStep` sees every step whose loss is read. */
  fit(n: number, onStep?: (info: StepInfo) => void): Promise<TrainerFitResult> {
    this.applyPending();
    return this.trainer.fit(this.data, { steps: n, onStep });
  }

  /** The shell's chunk: `n` steps from `from` (the Trainer's own step; the shell counts the same steps). */
  async train(from: number, n: number): Promise<LossPoint[]> {
    if (from !== this.trainer.step) throw new Error(`PageTrainer: asked to train from step ${from}, the trainer is at step ${this.trainer.step}`);
    const r = await this.fit(n);
    return r.losses.map((l) => ({ step: l.step, loss: [l.loss] }));
  }

  /** A safetensors checkpoint: the model's parameters under PyTorch names, the optimizer's state, the step and `metadata`. */
  checkpoint(metadata: Record<string, string> = {}): Promise<Uint8Array> {
    return this.trainer.saveCheckpoint({ metadata });
  }

  /** Frees the trainer's and the optimizer's buffers (the model is the page's to free). */
  destroy(): void {
    this.trainer.destroy();
    this.optimizer.destroy();
  }
}
