/**
 * Small composable models for the mission's architectures, built from the
 * layers: sequence-to-sequence of equal length (a prediction per step: a
 * character language model, a tagger) and sequence-to-vector (classify or
 * regress from the last state). Each records forward and backward into the
 * runtime's current step; `modules` lists what an optimizer updates.
 */
import { fill, gemm, pickTokens } from '../ops.js';
import type { Runtime } from '../runtime.js';
import { Tensor, fmtShape } from '../tensor.js';
import { Embedding, Linear, embedLookup } from '../nn/layers.js';
import { Container, type Module } from '../nn/module.js';
import { positiveInt, randomSeed, u32 } from '../util.js';
import { GRU, LSTM, RNN, type Recurrent, type RecurrentOptions } from '../nn/recurrent.js';

export interface SequenceModelOptions {
  /** `'embedding'`: inputs are token ids [T, B] (vocab = inputSize); `'dense'`: features [T, B, inputSize]. */
  input: 'embedding' | 'dense';
  inputSize: number;
  /** Embedding width (default hiddenSize), for `'embedding'` inputs. */
  embeddingDim?: number;
  cell: 'rnn' | 'lstm' | 'gru';
  hiddenSize: number;
  numLayers?: number;
  dropout?: number;
  outputSize: number;
  /** GRU: false applies the reset gate before the recurrent product (Keras reset_after=False). */
  resetAfter?: boolean;
  /** How the recurrent layer dispatches its timestep loop (RecurrentOptions.kernel; default 'auto'). */
  kernel?: RecurrentOptions['kernel'];
  seed?: number;
}

/** The recurrent core shared by the models; everything with parameters, for optimizers and checkpoints. */
abstract class SequenceModel extends Container {
  readonly embedding: Embedding | null;
  readonly rnn: Recurrent;
  readonly head: Linear;

  constructor(
    rt: Runtime,
    readonly o: SequenceModelOptions,
  ) {
    super(rt);
    const seed = o.seed === undefined ? randomSeed() : u32(`${this.constructor.name}: seed`, o.seed);
    const E = o.input === 'embedding' ? (o.embeddingDim ?? o.hiddenSize) : o.inputSize;
    this.embedding = o.input === 'embedding' ? new Embedding(rt, { numEmbeddings: o.inputSize, embeddingDim: E, seed: (seed + 1) >>> 0 }) : null;
    const ro = { inputSize: E, hiddenSize: o.hiddenSize, numLayers: o.numLayers ?? 1, dropout: o.dropout ?? 0, kernel: o.kernel, seed: (seed + 2) >>> 0 };
    this.rnn = o.cell === 'lstm' ? new LSTM(rt, ro) : o.cell === 'gru' ? new GRU(rt, { ...ro, resetAfter: o.resetAfter ?? true }) : new RNN(rt, ro);
    this.head = new Linear(rt, { inFeatures: o.hiddenSize, outFeatures: o.outputSize, seed: (seed + 3) >>> 0 });
  }

  /** The modules with parameters, in a fixed order (state dict prefixes: embedding., rnn., head.). */
  override children(): Record<string, Module> {
    return { ...(this.embedding ? { embedding: this.embedding } : {}), rnn: this.rnn, head: this.head };
  }

  /** Token ids of the input stay below the vocabulary (the Trainer checks every batch). */
  inputVocabularies(): (number | null)[] {
    return [this.embedding ? this.o.inputSize : null];
  }

  protected embed(x: Tensor): Tensor {
    const name = `${this.constructor.name}.forward`;
    if (this.embedding) {
      if (!(x instanceof Tensor) || x.ndim !== 2) throw new Error(`${name}: token ids must be [T, B], got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
      return this.embedding.forward(x);
    }
    if (!(x instanceof Tensor) || x.ndim !== 3) throw new Error(`${name}: x must be [T, B, ${this.o.inputSize}], got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
    return x;
  }

  protected unembed(dx: Tensor): void {
    if (this.embedding) this.embedding.backward(dx);
  }
}

/** A prediction per step: logits [T, B, outputSize] from inputs [T, B] (ids) or [T, B, I]. */
export class SequenceToSequence extends SequenceModel {
  forward(x: Tensor, state: { h0?: Tensor; c0?: Tensor } = {}): { logits: Tensor; h: Tensor; c?: Tensor } {
    const e = this.embed(x);
    const r = this.rnn.forward(e, state);
    return { logits: this.head.forward(r.output), h: r.h, c: r.c };
  }

  /** dlogits [T, B, outputSize]; accumulates every parameter gradient. */
  backward(dlogits: Tensor): void {
    const dOut = this.head.backward(dlogits);
    const { dx } = this.rnn.backward(dOut);
    this.unembed(dx);
  }

  /**
   * Autoregressive generation, all on the GPU in one submit, with one
   * read-back at the end; the model's training buffers and plans are
   * untouched (the layer plans (P, batch) and (1, batch); the rest are
   * buffers of its own). The `prime` runs through the model first (every row
   * of the batch the same), then each of the `n` outputs becomes the next input:
   * - token models (input 'embedding', outputs = the tokens): each step's
   *   token is picked by pickTokens (`mode` 'sample' from softmax(logits /
   *   temperature), seeded per row and step; or 'argmax'); `prime` holds token
   *   ids; returns [batch][n] ids;
   * - feature models (input 'dense', outputSize = inputSize): the output
   *   vector is copied into the next input (a recursive forecast); `prime`
   *   holds P rows of inputSize values, time-major; returns [batch][n *
   *   inputSize] values.
   */
  async generate(
    n: number,
    o: { prime: ArrayLike<number>; mode?: 'sample' | 'argmax'; temperature?: number; seed?: number; batch?: number },
  ): Promise<number[][]> {
    const where = 'SequenceToSequence.generate';
    const N = positiveInt(`${where}: n`, n);
    if (this.rnn.D !== 1) throw new Error(`${where}: a bidirectional layer cannot generate left to right`);
    const I = this.o.inputSize;
    if (this.o.outputSize !== I) throw new Error(`${where}: outputs (${this.o.outputSize}) must match the inputs (${I}) to feed them back`);
    const prime = o?.prime;
    const tokens = this.embedding !== null;
    const width = tokens ? 1 : I;
    if (!prime || prime.length < width || prime.length % width !== 0) {
      throw new Error(`${where}: prime must hold ${tokens ? 'at least one token id' : `rows of ${I} values (a multiple of ${I}, at least one row)`}, got ${prime?.length ?? 'none'}`);
    }
    for (let i = 0; i < prime.length; i++) {
      const v = prime[i]!;
      if (tokens ? !Number.isInteger(v) || v < 0 || v >= I : !Number.isFinite(v)) {
        throw new Error(`${where}: prime[${i}] must be ${tokens ? `a token id in 0..${I - 1}` : 'a finite number'}, got ${v}`);
      }
    }
    const B = positiveInt(`${where}: batch`, o.batch ?? 1);
    const mode = o.mode ?? 'sample';
    if (mode !== 'sample' && mode !== 'argmax') throw new Error(`${where}: mode must be 'sample' or 'argmax', got '${String(mode)}'`);
    const temperature = o.temperature ?? 1;
    if (!(typeof temperature === 'number' && temperature > 0 && Number.isFinite(temperature))) {
      throw new Error(`${where}: temperature must be a finite number > 0, got ${String(o.temperature)}`);
    }
    const pick = { mode, temperature, seed: o.seed === undefined ? randomSeed() : u32(`${where}: seed`, o.seed) } as const;
    const { rt } = this;
    const P = prime.length / width;
    const H = this.o.hiddenSize;
    const head = this.head.params.tensors;
    // Inputs as the rnn takes them: the prime [P, B, E or I] and one step [1, B, E or I].
    const E = this.embedding?.embeddingDim ?? I;
    const xP = this.buffer('primeInput', [P, B, E]);
    const x1 = this.buffer('stepInput', [1, B, E]);
    const ids = tokens ? this.buffer('primeIds', [P, B]) : null;
    const tok = tokens ? this.buffer('tokens', [1, B]) : null;
    const y = this.buffer('outputs', [B, I]);
    // Tokens: [B, N] (pickTokens writes column t); values: [N, B, I] (step t's outputs are contiguous).
    const out = this.buffer('generated', tokens ? [B, N] : [N, B, I]);
    const primed = new Float32Array(P * B * width);
    for (let t = 0; t < P; t++) for (let b = 0; b < B; b++) primed.set(Array.from({ length: width }, (_, k) => prime[t * width + k]!), (t * B + b) * width);
    (ids ?? xP).write(primed);
    const W = this.embedding?.params.tensors.weight;
    rt.step(() => {
      if (W) embedLookup(rt, xP, W, ids!);
      let r = this.rnn.forward(xP);
      for (let t = 0; t < N; t++) {
        if (t > 0) {
          if (W) embedLookup(rt, x1, W, tok!);
          // h0 is copied when recorded: the next step may pass this plan's own final state.
          r = this.rnn.forward(x1, { h0: r.h, c0: r.c });
        }
        const T = r.output.shape[0]!;
        gemm(rt, y, r.output.view([B, H], (T - 1) * B * H), head.weight!, { transB: true, bias: head.bias });
        if (tokens) pickTokens(rt, tok!, y, { ...pick, step: t, out, col: t });
        else {
          rt.copy(y, out.view([B, I], t * B * I));
          if (t + 1 < N) rt.copy(y, x1.reshape([B, I]));
        }
      }
    });
    const got = await out.read();
    if (tokens) return Array.from({ length: B }, (_, b) => Array.from(got.subarray(b * N, (b + 1) * N)));
    return Array.from({ length: B }, (_, b) => Array.from({ length: N * I }, (_, k) => got[(Math.floor(k / I) * B + b) * I + (k % I)]!));
  }

}

/** One output per sequence: logits [B, outputSize] from the last layer's final hidden state. */
export class SequenceToVector extends SequenceModel {
  forward(x: Tensor, state: { lengths?: ArrayLike<number> } = {}): { logits: Tensor } {
    const e = this.embed(x);
    const r = this.rnn.forward(e, { lengths: state.lengths });
    const L = this.rnn.numLayers * this.rnn.D;
    // The top layer's forward-direction state: row L*D - D of h [L*D, B, H].
    const last = r.h.index(L - this.rnn.D);
    return { logits: this.head.forward(last) };
  }

  backward(dlogits: Tensor): void {
    const dLast = this.head.backward(dlogits);
    const rnn = this.rnn;
    const out = this.lastOutputShape();
    const zeros = this.buffer('dOutput', out.shape); // never written: the outputs get no gradient
    const dh = this.buffer('dh', [rnn.numLayers * rnn.D, out.B, rnn.hiddenSize]);
    // The loss reaches the rnn only through the final state of the top layer.
    fill(this.rt, dh, 0);
    this.rt.copy(dLast, dh.index(rnn.numLayers * rnn.D - rnn.D));
    const { dx } = rnn.backward(zeros, { dh });
    this.unembed(dx);
  }

  private lastOutputShape(): { shape: number[]; B: number } {
    const o = this.rnn.lastOutput;
    if (!o) throw new Error('SequenceToVector.backward: call forward first');
    return { shape: [...o.shape], B: o.shape[this.rnn.batchFirst ? 0 : 1]! };
  }

}
