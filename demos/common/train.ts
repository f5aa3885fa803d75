/**
 * Training in chunks with the library's `fit`, for the pages: the optimizers
 * are built once (Adam state survives pause and resume), the learning rate
 * and the clipping norm follow the page's live controls, and each chunk is
 * `n` steps of `fit` (one submit per step, the loss read at the chunk's first
 * and last step).
 */
import { fit, type TrainData, type Trainable } from '../../src/train/fit.js';
import { Adam, type Optimizer } from '../../src/train/optim.js';
import { saveCheckpoint, type CheckpointModel } from '../../src/train/checkpoint.js';
import type { LossPoint, Values } from './shell.js';

export interface ChunkedFitOptions {
  loss: 'cross_entropy' | 'mse';
  classDim?: 'last' | 1;
  lr: number;
  /** Global-norm clipping; 0 or undefined: off. */
  clip?: number;
}

export class ChunkedFit {
  readonly optimizers: Optimizer[];
  clip: number | undefined;

  constructor(
    readonly model: Trainable,
    readonly data: TrainData,
    readonly o: ChunkedFitOptions,
  ) {
    this.optimizers = Object.values(model.modules).map((m) => new Adam(model.rt, m.params, m.gradients, { lr: o.lr }));
    this.clip = o.clip && o.clip > 0 ? o.clip : undefined;
  }

  /** Follows the live controls `lr` and `clip`. */
  update(v: Values): void {
    if (typeof v.lr === 'number' && v.lr > 0) for (const opt of this.optimizers) opt.lr = v.lr;
    if (typeof v.clip === 'number') this.clip = v.clip > 0 ? v.clip : undefined;
  }

  /** A safetensors checkpoint of `model` (the one trained here): parameters under PyTorch names, the optimizers' state, the step and `metadata`. */
  checkpoint(model: CheckpointModel, step: number, metadata: Record<string, string> = {}): Promise<Uint8Array> {
    return saveCheckpoint(model, this.optimizers, { step, metadata });
  }

  /** Frees the optimizers' buffers (the model is the page's to free). */
  destroy(): void {
    for (const opt of this.optimizers) opt.destroy();
  }

  /** Trains steps from .. from + n - 1 (batches numbered globally). */
  async train(from: number, n: number): Promise<LossPoint[]> {
    const data: TrainData = { ...this.data, batch: (s, x, y) => this.data.batch(from + s, x, y) };
    const r = await fit(this.model, data, {
      steps: n,
      loss: this.o.loss,
      classDim: this.o.classDim,
      optimizer: this.optimizers,
      clip: this.clip,
      logEvery: n,
    });
    return r.losses.map((l) => ({ step: from + l.step, loss: [l.loss] }));
  }
}
