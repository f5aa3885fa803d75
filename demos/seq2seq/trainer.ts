/**
 * Training and decoding of the page's encoder-decoder.
 *
 * The library's `fit` feeds a model one input; `EncoderDecoder.forward`
 * takes two (source and teacher-forced target), so the step is written here:
 * one `rt.step` per training step (zeroGrad, forward, loss, backward, clip,
 * optimizer), the loss read back only at the last step of a chunk (the GPU
 * keeps going while the read resolves). Optimizers are built once, so Adam's
 * moments survive pause and resume; lr and clip follow the live controls.
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
import { CrossEntropyLoss } from '../../src/train/loss.js';
import { Adam, clipGradNorm } from '../../src/train/optim.js';
import type { LossPoint, Values } from '../common/shell.js';
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
  private readonly optimizers: Adam[];
  private readonly ce: CrossEntropyLoss;
  private readonly src: Tensor;
  private readonly tgtIn: Tensor;
  private readonly tgt: Tensor;
  /** Source ids for decoding: its own buffer, so a decode never overwrites a training batch. */
  private readonly decodeSrc: Tensor;
  private readonly heldKeys: Set<string>;
  private readonly rand: () => number;
  private clip: number;
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
    this.optimizers = Object.values(this.model.modules).map((m) => new Adam(rt, m.params, m.gradients, { lr: o.lr }));
    this.clip = o.clip;
    this.ce = new CrossEntropyLoss(rt, { ignoreIndex: IGNORE });
    this.src = rt.zeros([task.srcLen, B], 'seq2seq.src');
    this.tgtIn = rt.zeros([task.tgtLen, B], 'seq2seq.tgtIn');
    this.tgt = rt.zeros([task.tgtLen * B], 'seq2seq.tgt');
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
    this.rand = mulberry32(TRAIN_SEED);
  }

  /** Runs `fn` after every GPU job queued before it (training, evaluation, decoding). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new ModelGone());
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Follows the live controls `lr` and `clip` (applied from the next step). */
  update(v: Values): void {
    if (typeof v.lr === 'number' && v.lr > 0) for (const opt of this.optimizers) opt.lr = v.lr;
    if (typeof v.clip === 'number' && v.clip >= 0) this.clip = v.clip;
  }

  private trainingBatch(): Example[] {
    const out: Example[] = [];
    while (out.length < this.o.batch) {
      const e = this.o.task.draw(this.rand);
      if (!this.heldKeys.has(e.input)) out.push(e);
    }
    return out;
  }

  /** Trains `n` steps (numbered from `from`); returns the loss of the last one. */
  train(from: number, n: number): Promise<LossPoint[]> {
    return this.exclusive(async () => {
      const { rt, model, ce } = this;
      const { tgtLen: TD } = this.o.task;
      const B = this.o.batch;
      const grads = Object.values(model.modules).map((m) => m.gradients);
      let last: Promise<Float32Array> | null = null;
      for (let i = 0; i < n; i++) {
        const d = encodeBatch(this.o.task, this.trainingBatch());
        this.src.write(d.src);
        this.tgtIn.write(d.tgtIn);
        this.tgt.write(d.tgt);
        const readLoss = i === n - 1;
        rt.step(() => {
          model.zeroGrad();
          // Teacher forcing: the decoder reads START + the true answer, and learns to emit the answer + STOP.
          const { logits } = model.forward(this.src, this.tgtIn, { srcLengths: d.lengths });
          const l = ce.forward(logits.reshape([TD * B, TGT_VOCAB]), this.tgt);
          model.backward(l.grad.reshape([TD, B, TGT_VOCAB]));
          if (this.clip > 0) clipGradNorm(rt, grads, this.clip);
          for (const opt of this.optimizers) opt.step();
          if (readLoss) last = l.loss.read();
        });
      }
      const loss = (await last!)[0]!;
      return [{ step: from + n - 1, loss: [loss] }];
    });
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
      this.model.destroy();
      this.ce.destroy();
      for (const t of [this.src, this.tgtIn, this.tgt, this.decodeSrc]) t.destroy();
      for (const opt of this.optimizers) opt.destroy();
    });
  }
}

/** Work asked of a model after a reset. */
export class ModelGone extends Error {
  constructor() {
    super('the model was reset: press Start to train a new one');
  }
}
