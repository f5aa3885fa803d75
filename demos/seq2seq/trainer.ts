/**
 * Training and decoding of the page's encoder-decoder.
 *
 * Training is the library's Trainer (through the pages' PageTrainer): the
 * source is the data's x, the teacher-forced decoder input its extra input
 * (`extraShapes`), the batch's `srcLengths` go to the forward, and padded
 * targets are ignored by the loss. Each batch is drawn from its step (a pure
 * function of it). The optimizer is built once, so Adam's moments survive
 * pause and resume; lr and clip follow the live controls.
 *
 * All GPU work of a model (training chunks, held-out evaluation, the user's
 * decodes) goes through one queue: a decode (one submit for all its steps,
 * then one read-back) uses the encoder's buffers (its final state, which
 * starts the decoder), shared with training, so it must never be interleaved
 * with a training step while its read-back is pending.
 */
import { EncoderDecoder } from '../../src/models/seq2seq.js';
import { mulberry32 } from '../../src/nn/init.js';
import type { Runtime } from '../../src/runtime.js';
import type { Tensor } from '../../src/tensor.js';
import type { TrainData } from '../../src/train/data.js';
import type { LossPoint, Values } from '../common/shell.js';
import { PageTrainer, stepRandom } from '../common/train.js';
import { IGNORE, START, STOP, TGT_VOCAB, charMatches, detokenize, encodeBatch, type Example, type Task } from './tasks.js';

export interface Seq2seqOptions {
  task: Task;
  cell: 'lstm' | 'gru';
  hiddenSize: number;
  /** B: training batch; held-out and user inputs are decoded in batches of B too (the recurrent layers keep plans per (T, B)). */
  batch: number;
  lr: number;
  clip: number;
  /** Held-out examples (a multiple of `batch`). */
  heldOut: number;
}

export interface Decoded extends Example {
  decoded: string;
}

export interface Evaluation {
  exact: number;
  perChar: number;
  results: Decoded[];
}

/** Fixed seeds: the same settings give the same run. */
const MODEL_SEED = 1;
const TRAIN_SEED = 42;
const HELD_OUT_SEED = 7;

export class Seq2seqTrainer {
  readonly model: EncoderDecoder;
  readonly heldOut: Example[];
  private readonly trainer: PageTrainer;
  /** Source ids for decoding: its own buffer, so a decode never overwrites a training batch. */
  private readonly decodeSrc: Tensor;
  private readonly heldKeys: Set<string>;
  private queue: Promise<unknown> = Promise.resolve();
  /** Set by `destroy()`: no new work is accepted, the buffers go once the queued work is done. */
  private closing = false;

  constructor(
    readonly rt: Runtime,
    readonly o: Seq2seqOptions,
  ) {
    const { task, batch: B } = o;
    this.model = new EncoderDecoder(rt, {
      srcVocab: task.srcVocab,
      tgtVocab: TGT_VOCAB,
      embeddingDim: Math.min(32, o.hiddenSize),
      hiddenSize: o.hiddenSize,
      cell: o.cell,
      seed: MODEL_SEED,
    });
    this.decodeSrc = rt.zeros([task.srcLen, B], 'seq2seq.decodeSrc');
    // A fixed held-out set (distinct inputs), never drawn for training.
    const hr = mulberry32(HELD_OUT_SEED);
    const seen = new Map<string, Example>();
    for (let tries = 0; seen.size < o.heldOut && tries < 100 * o.heldOut; tries++) {
      const e = task.draw(hr);
      seen.set(e.input, e);
    }
    this.heldOut = [...seen.values()];
    this.heldKeys = new Set(seen.keys());
    this.trainer = new PageTrainer(this.model, this.trainData(), { loss: 'cross_entropy', ignoreIndex: IGNORE, lr: o.lr, clip: o.clip });
  }

  /**
   * Teacher forcing: x the source [srcLen, B], extra[0] the decoder's input
   * [tgtLen, B] (START + the true answer), y the answer + STOP (IGNORE past
   * it) [tgtLen * B]; the forward gets the source lengths.
   */
  private trainData(): TrainData {
    const { task, batch: B } = this.o;
    return {
      xShape: [task.srcLen, B],
      extraShapes: [[task.tgtLen, B]],
      yShape: [task.tgtLen * B],
      numClasses: TGT_VOCAB,
      batch: (step, x, y, extra) => {
        const d = encodeBatch(task, this.trainingBatch(stepRandom(TRAIN_SEED, step)));
        x.set(d.src);
        extra[0]!.set(d.tgtIn);
        y.set(d.tgt);
        return { srcLengths: d.lengths };
      },
    };
  }

  /** Runs `fn` after every GPU job queued before it (training, evaluation, decoding). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new ModelGone());
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Follows the live controls `lr` and `clip` (applied from the next training chunk). */
  update(v: Values): void {
    this.trainer.update(v);
  }

  /** B training examples (none of the held-out inputs), drawn with `rand`. */
  private trainingBatch(rand: () => number): Example[] {
    const out: Example[] = [];
    while (out.length < this.o.batch) {
      const e = this.o.task.draw(rand);
      if (!this.heldKeys.has(e.input)) out.push(e);
    }
    return out;
  }

  /** Trains `n` steps (numbered from `from`); returns the losses read (the last step's among them). */
  train(from: number, n: number): Promise<LossPoint[]> {
    return this.exclusive(() => this.trainer.train(from, n));
  }

  /** Greedy decoding of up to B examples at once (rows past the inputs repeat the first). */
  private async decodeRows(inputs: readonly string[]): Promise<string[]> {
    const B = this.o.batch;
    const rows = Array.from({ length: B }, (_, b) => ({ input: inputs[b] ?? inputs[0]!, expected: '' }));
    const d = encodeBatch(this.o.task, rows);
    this.decodeSrc.write(d.src);
    // One extra step beyond the longest answer: room for STOP.
    const ids = await this.model.greedyDecode(this.decodeSrc, { maxLength: this.o.task.tgtLen, startToken: START, stopToken: STOP, srcLengths: d.lengths });
    return inputs.map((_, b) => detokenize(ids[b]!));
  }

  /** Exact-match and per-character accuracy of greedy decoding on the held-out set. */
  evaluate(): Promise<Evaluation> {
    return this.exclusive(async () => {
      const B = this.o.batch;
      const results: Decoded[] = [];
      for (let i = 0; i < this.heldOut.length; i += B) {
        const part = this.heldOut.slice(i, i + B);
        const decoded = await this.decodeRows(part.map((e) => e.input));
        part.forEach((e, b) => results.push({ ...e, decoded: decoded[b]! }));
      }
      let exact = 0;
      let right = 0;
      let of = 0;
      for (const r of results) {
        if (r.decoded === r.expected) exact++;
        const m = charMatches(r.expected, r.decoded);
        right += m.right;
        of += m.of;
      }
      return { exact: exact / results.length, perChar: of ? right / of : 0, results };
    });
  }

  /** Greedy decoding of one (valid) input. */
  decode(input: string): Promise<string> {
    return this.exclusive(async () => (await this.decodeRows([input]))[0]!);
  }

  /** Frees the GPU buffers once the queued work is done (a decode in flight finishes first). */
  destroy(): void {
    if (this.closing) return;
    this.closing = true;
    this.queue = this.queue.then(() => {
      this.trainer.destroy();
      this.model.destroy();
      this.decodeSrc.destroy();
    });
  }
}

/** Work asked of a model after a reset. */
export class ModelGone extends Error {
  constructor() {
    super('the model was reset: press Start to train a new one');
  }
}
