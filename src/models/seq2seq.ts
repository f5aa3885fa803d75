/**
 * Conditional sequence models built from the layers:
 *
 * - `EncoderDecoder`: an encoder recurrent layer reads embedded source tokens;
 *   its final state (h, and c for an LSTM) is the initial state of a decoder
 *   recurrent layer that reads embedded target tokens; a Linear head gives
 *   logits. Trained with teacher forcing; decoded step by step, greedily or
 *   by sampling.
 * - `VectorToSequence`: a vector [B, F] conditions a sequence, either through
 *   the initial hidden state (a Linear + tanh) or as the input of every step.
 *
 * Like the other models, forward and backward record into the runtime's
 * current step (`rt.step(() => ...)`), nothing is read back, and returned
 * tensors belong to the model (overwritten by its next call of the same shape).
 */
import { colSum, gemm, pickTokens, swap01, tanhAct, tanhBackward } from '../ops.js';
import type { Runtime } from '../runtime.js';
import { Tensor, fmtShape } from '../tensor.js';
import { Embedding, Linear, embedLookup } from '../nn/layers.js';
import { Container, type Module } from '../nn/module.js';
import { GRU, LSTM, RNN, type Recurrent } from '../nn/recurrent.js';
import { positiveInt, randomSeed, u32 } from '../util.js';

type Cell = 'rnn' | 'lstm' | 'gru';
const CELLS: readonly Cell[] = ['rnn', 'lstm', 'gru'];

function checkCell(what: string, cell: unknown): Cell {
  if (!CELLS.includes(cell as Cell)) throw new Error(`${what}: cell must be 'rnn', 'lstm' or 'gru', got '${String(cell)}'`);
  return cell as Cell;
}

const shapeOf = (t: unknown): string => (t instanceof Tensor ? fmtShape(t.shape) : t === undefined ? 'undefined' : typeof t);

function makeRecurrent(rt: Runtime, cell: Cell, o: { inputSize: number; hiddenSize: number; numLayers: number; seed: number }): Recurrent {
  return cell === 'lstm' ? new LSTM(rt, o) : cell === 'gru' ? new GRU(rt, o) : new RNN(rt, o);
}

// ------------------------------------------------------------ shared

// ------------------------------------------------------------ encoder-decoder

export interface EncoderDecoderOptions {
  /** Source vocabulary (token ids 0..srcVocab-1). */
  srcVocab: number;
  /** Target vocabulary, including the start and stop tokens; the head's output size. */
  tgtVocab: number;
  embeddingDim: number;
  hiddenSize: number;
  cell: Cell;
  /** Layers of the encoder and of the decoder (equal, so the encoder's state [L, B, H] starts the decoder). */
  numLayers?: number;
  seed?: number;
}

export interface Seq2SeqDecodeOptions {
  maxLength: number;
  startToken: number;
  stopToken: number;
  /** Valid source steps per batch row (as `forward`'s `srcLengths`). */
  srcLengths?: ArrayLike<number>;
}

export interface Seq2SeqSampleOptions extends Seq2SeqDecodeOptions {
  /** Softmax temperature, > 0 (default 1); low values approach greedy decoding. */
  temperature?: number;
  /** Seed of the sampling stream (default random). */
  seed?: number;
}

/**
 * Encoder-decoder (sequence to sequence of another length), as in Sutskever
 * et al.: embeddings of the source tokens [Ts, B] go through the encoder;
 * its final states h (and c) are the decoder's h0 (c0); the decoder reads
 * the embedded target tokens [Td, B] (teacher forcing: the target shifted
 * right behind a start token) and a Linear head gives logits [Td, B, tgtVocab].
 *
 * The source and target embeddings are always separate modules
 * (`src_embedding`, `tgt_embedding`), even when the vocabularies are equal:
 * an Embedding owns one output buffer, so one module cannot serve two
 * lookups of the same step. State dict prefixes: encoder., decoder.,
 * src_embedding., tgt_embedding., head.
 */
export class EncoderDecoder extends Container {
  readonly srcEmbedding: Embedding;
  readonly tgtEmbedding: Embedding;
  readonly encoder: Recurrent;
  readonly decoder: Recurrent;
  readonly head: Linear;
  readonly srcVocab: number;
  readonly tgtVocab: number;
  readonly embeddingDim: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly cell: Cell;
  private fwd: { Ts: number; Td: number; B: number } | null = null;

  constructor(rt: Runtime, o: EncoderDecoderOptions) {
    super(rt);
    const name = 'EncoderDecoder';
    if (!o || typeof o !== 'object') throw new Error(`${name}: options { srcVocab, tgtVocab, embeddingDim, hiddenSize, cell } are required`);
    this.srcVocab = positiveInt(`${name}: srcVocab`, o.srcVocab);
    this.tgtVocab = positiveInt(`${name}: tgtVocab`, o.tgtVocab);
    this.embeddingDim = positiveInt(`${name}: embeddingDim`, o.embeddingDim);
    this.hiddenSize = positiveInt(`${name}: hiddenSize`, o.hiddenSize);
    this.numLayers = positiveInt(`${name}: numLayers`, o.numLayers ?? 1);
    this.cell = checkCell(name, o.cell);
    const seed = o.seed === undefined ? randomSeed() : u32(`${name}: seed`, o.seed);
    const E = this.embeddingDim;
    const ro = { inputSize: E, hiddenSize: this.hiddenSize, numLayers: this.numLayers };
    this.srcEmbedding = new Embedding(rt, { numEmbeddings: this.srcVocab, embeddingDim: E, seed: (seed + 1) >>> 0 });
    this.tgtEmbedding = new Embedding(rt, { numEmbeddings: this.tgtVocab, embeddingDim: E, seed: (seed + 2) >>> 0 });
    this.encoder = makeRecurrent(rt, this.cell, { ...ro, seed: (seed + 3) >>> 0 });
    this.decoder = makeRecurrent(rt, this.cell, { ...ro, seed: (seed + 4) >>> 0 });
    this.head = new Linear(rt, { inFeatures: this.hiddenSize, outFeatures: this.tgtVocab, seed: (seed + 5) >>> 0 });
  }

  /** Everything with parameters, in a fixed order; the keys are the state dict prefixes. */
  override children(): Record<string, Module> {
    return {
      src_embedding: this.srcEmbedding,
      encoder: this.encoder,
      tgt_embedding: this.tgtEmbedding,
      decoder: this.decoder,
      head: this.head,
    };
  }

  /** Source ids and decoder-input ids stay below their vocabularies (the Trainer checks every batch). */
  inputVocabularies(): (number | null)[] {
    return [this.srcVocab, this.tgtVocab];
  }

  private checkIds(where: string, what: string, t: unknown, B?: number): [number, number] {
    if (!(t instanceof Tensor) || t.ndim !== 2 || (B !== undefined && t.shape[1] !== B)) {
      throw new Error(`${where}: ${what} must be token ids [T, B${B !== undefined ? ` = ${B}` : ''}], got ${shapeOf(t)}`);
    }
    return [t.shape[0]!, t.shape[1]!];
  }

  /** Records the encoder over `src` [Ts, B]; returns its final states. */
  private encode(where: string, src: Tensor, srcLengths?: ArrayLike<number>): { h: Tensor; c?: Tensor } {
    this.checkIds(where, 'src', src);
    const r = this.encoder.forward(this.srcEmbedding.forward(src), { lengths: srcLengths });
    return { h: r.h, c: r.c };
  }

  /**
   * Teacher-forced forward: `src` [Ts, B] and `tgtIn` [Td, B] token ids
   * (stored as floats); `srcLengths` (optional, one per batch row, 1..Ts)
   * makes the encoder's final state the state at each row's last valid step.
   * Returns logits [Td, B, tgtVocab] (owned by the model).
   */
  forward(src: Tensor, tgtIn: Tensor, o: { srcLengths?: ArrayLike<number> } = {}): { logits: Tensor } {
    const where = 'EncoderDecoder.forward';
    const [Ts, B] = this.checkIds(where, 'src', src);
    const [Td] = this.checkIds(where, 'tgtIn', tgtIn, B);
    const enc = this.encode(where, src, o.srcLengths);
    // The decoder copies h0/c0 into its own buffers; backward routes dh0/dc0 back by hand.
    const dec = this.decoder.forward(this.tgtEmbedding.forward(tgtIn), { h0: enc.h, c0: enc.c });
    this.fwd = { Ts, Td, B };
    return { logits: this.head.forward(dec.output) };
  }

  /**
   * dlogits [Td, B, tgtVocab] -> head -> decoder (BPTT) -> target embedding;
   * the decoder's dh0 (dc0) is the encoder's upstream final-state gradient
   * (its outputs get none) -> encoder (BPTT) -> source embedding.
   * Accumulates every parameter gradient.
   */
  backward(dlogits: Tensor): void {
    const where = 'EncoderDecoder.backward';
    const f = this.fwd;
    if (!f) throw new Error(`${where}: call forward first`);
    const want = [f.Td, f.B, this.tgtVocab];
    if (!(dlogits instanceof Tensor) || dlogits.size !== f.Td * f.B * this.tgtVocab || dlogits.shape[dlogits.ndim - 1] !== this.tgtVocab) {
      throw new Error(`${where}: dlogits must be ${fmtShape(want)} (the logits' shape), got ${shapeOf(dlogits)}`);
    }
    const dOut = this.head.backward(dlogits.reshape(want));
    const dec = this.decoder.backward(dOut);
    this.tgtEmbedding.backward(dec.dx);
    const zeros = this.buffer('encoderDOutput', [f.Ts, f.B, this.hiddenSize]); // never written: zeros
    const enc = this.encoder.backward(zeros, { dh: dec.dh0, dc: dec.dc0 });
    this.srcEmbedding.backward(enc.dx);
  }

  /** Greedy decoding: the most likely token at every step. Returns [B][<= maxLength] ids, without the stop token. */
  greedyDecode(src: Tensor, o: Seq2SeqDecodeOptions): Promise<number[][]> {
    return this.decode('EncoderDecoder.greedyDecode', src, o, null);
  }

  /**
   * Decoding by sampling from softmax(logits / temperature) at every step
   * (seeded: the draw for row b at step t is the GPU generator's
   * unit24(pcg(t ^ pcg(b ^ pcg(seed))))). Returns [B][<= maxLength] ids, without the stop token.
   */
  async sampleDecode(src: Tensor, o: Seq2SeqSampleOptions): Promise<number[][]> {
    const where = 'EncoderDecoder.sampleDecode';
    const temperature = o?.temperature ?? 1;
    if (!(typeof temperature === 'number' && temperature > 0 && Number.isFinite(temperature))) {
      throw new Error(`${where}: temperature must be a finite number > 0, got ${String(o?.temperature)}`);
    }
    return this.decode(where, src, o, { temperature, seed: o.seed === undefined ? randomSeed() : u32(`${where}: seed`, o.seed) });
  }

  /**
   * Step-by-step decoding, all on the GPU and in one submit: the encoder, then
   * per step the target embedding lookup of B tokens, the decoder with T = 1
   * (h0, c0 = the previous step's state, the encoder's at the first step), the
   * head on [B, H], and pickTokens (argmax or a seeded draw), which writes the
   * next step's tokens and column t of the output. One read-back at the end;
   * each row is cut at its first stop token. (So all maxLength steps run,
   * even when every row stopped early: no read-back inside the loop.)
   * Uses its own buffers for the tokens, embeddings and logits, so the
   * modules' training buffers are untouched; the decoder plans (1, B) once.
   */
  private async decode(where: string, src: Tensor, o: Seq2SeqDecodeOptions, sample: { temperature: number; seed: number } | null): Promise<number[][]> {
    if (!o || typeof o !== 'object') throw new Error(`${where}: options { maxLength, startToken, stopToken } are required`);
    const maxLength = positiveInt(`${where}: maxLength`, o.maxLength);
    const V = this.tgtVocab;
    for (const k of ['startToken', 'stopToken'] as const) {
      const v = o[k];
      if (!Number.isInteger(v) || v < 0 || v >= V) throw new Error(`${where}: ${k} must be a token id in 0..${V - 1}, got ${String(v)}`);
    }
    const [, B] = this.checkIds(where, 'src', src);
    const { rt, hiddenSize: H } = this;
    const E = this.embeddingDim;
    const tok = this.buffer('decodeTokens', [1, B]);
    const emb = this.buffer('decodeEmbedded', [1, B, E]);
    const logits = this.buffer('decodeLogits', [B, V]);
    const seq = this.buffer('decodeOut', [B, maxLength]);
    const W = this.tgtEmbedding.params.tensors.weight!;
    const head = this.head.params.tensors;
    tok.write(new Float32Array(B).fill(o.startToken));
    rt.step(() => {
      let state = this.encode(where, src, o.srcLengths);
      for (let t = 0; t < maxLength; t++) {
        embedLookup(rt, emb, W, tok);
        const r = this.decoder.forward(emb, { h0: state.h, c0: state.c });
        // h0 is copied when recorded, so the next step may pass this plan's own final state.
        state = { h: r.h, c: r.c };
        gemm(rt, logits, r.output.reshape([B, H]), head.weight!, { transB: true, bias: head.bias });
        pickTokens(rt, tok, logits, sample ? { mode: 'sample', ...sample, step: t, out: seq, col: t } : { mode: 'argmax', out: seq, col: t });
      }
    });
    const ids = await seq.read();
    return Array.from({ length: B }, (_, b) => {
      const row: number[] = [];
      for (let t = 0; t < maxLength; t++) {
        const v = ids[b * maxLength + t]!;
        if (v === o.stopToken) break;
        row.push(v);
      }
      return row;
    });
  }
}

// ------------------------------------------------------------ vector to sequence

export interface VectorToSequenceOptions {
  /** F: features of the conditioning vector [B, F]. */
  inputSize: number;
  hiddenSize: number;
  cell: Cell;
  /** Features of each output step. */
  outputSize: number;
  /**
   * `'state'`: h0 = tanh(Linear(v)) for every layer (c0 = 0 for an LSTM), and
   * the recurrent layer reads the given step inputs [T, B, stepInputSize]
   * (e.g. teacher-forced previous outputs) or zeros; `'input'`: v is the
   * input of every step (h0 = 0).
   */
  condition: 'state' | 'input';
  /** I of the step inputs under `'state'` (default outputSize). */
  stepInputSize?: number;
  numLayers?: number;
  seed?: number;
}

/**
 * One vector conditions a sequence: v [B, F] -> outputs [T, B, outputSize]
 * (a Linear head on the recurrent layer's outputs). State dict prefixes:
 * condition. (the v -> h0 Linear, `'state'` only), rnn., head.
 */
export class VectorToSequence extends Container {
  readonly condition: 'state' | 'input';
  readonly conditioner: Linear | null;
  readonly rnn: Recurrent;
  readonly head: Linear;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly outputSize: number;
  readonly stepInputSize: number;
  readonly numLayers: number;
  private fwd: { T: number; B: number; h0: Tensor | null } | null = null;

  constructor(rt: Runtime, o: VectorToSequenceOptions) {
    super(rt);
    const name = 'VectorToSequence';
    if (!o || typeof o !== 'object') throw new Error(`${name}: options { inputSize, hiddenSize, cell, outputSize, condition } are required`);
    this.inputSize = positiveInt(`${name}: inputSize`, o.inputSize);
    this.hiddenSize = positiveInt(`${name}: hiddenSize`, o.hiddenSize);
    this.outputSize = positiveInt(`${name}: outputSize`, o.outputSize);
    this.numLayers = positiveInt(`${name}: numLayers`, o.numLayers ?? 1);
    const cell = checkCell(name, o.cell);
    if (o.condition !== 'state' && o.condition !== 'input') throw new Error(`${name}: condition must be 'state' or 'input', got '${String(o.condition)}'`);
    this.condition = o.condition;
    if (o.condition === 'input' && o.stepInputSize !== undefined) throw new Error(`${name}: stepInputSize is for condition 'state' (under 'input' the step input is v)`);
    this.stepInputSize = o.condition === 'input' ? this.inputSize : positiveInt(`${name}: stepInputSize`, o.stepInputSize ?? this.outputSize);
    const seed = o.seed === undefined ? randomSeed() : u32(`${name}: seed`, o.seed);
    const H = this.hiddenSize;
    this.conditioner = o.condition === 'state' ? new Linear(rt, { inFeatures: this.inputSize, outFeatures: this.numLayers * H, seed: (seed + 1) >>> 0 }) : null;
    this.rnn = makeRecurrent(rt, cell, { inputSize: this.stepInputSize, hiddenSize: H, numLayers: this.numLayers, seed: (seed + 2) >>> 0 });
    this.head = new Linear(rt, { inFeatures: H, outFeatures: this.outputSize, seed: (seed + 3) >>> 0 });
  }

  override children(): Record<string, Module> {
    return { ...(this.conditioner ? { condition: this.conditioner } : {}), rnn: this.rnn, head: this.head };
  }

  /**
   * v [B, F], T steps; `inputs` [T, B, stepInputSize] under `'state'`
   * (zeros if absent). Returns outputs [T, B, outputSize] (owned by the model).
   */
  forward(v: Tensor, T: number, inputs?: Tensor): { outputs: Tensor } {
    const where = 'VectorToSequence.forward';
    if (!(v instanceof Tensor) || v.ndim !== 2 || v.shape[1] !== this.inputSize) {
      throw new Error(`${where}: v must be [B, ${this.inputSize}], got ${shapeOf(v)}`);
    }
    positiveInt(`${where}: T`, T);
    const B = v.shape[0]!;
    const { rt, hiddenSize: H, numLayers: L } = this;
    let x: Tensor;
    let h0: Tensor | null = null;
    if (this.condition === 'input') {
      if (inputs !== undefined) throw new Error(`${where}: inputs are for condition 'state'; under 'input' every step's input is v`);
      x = this.buffer('repeated', [T, B, this.inputSize]);
      for (let t = 0; t < T; t++) rt.copy(v, x.index(t));
    } else {
      const I = this.stepInputSize;
      if (inputs !== undefined) {
        if (!(inputs instanceof Tensor) || inputs.ndim !== 3 || inputs.shape[0] !== T || inputs.shape[1] !== B || inputs.shape[2] !== I) {
          throw new Error(`${where}: inputs must be [T = ${T}, B = ${B}, ${I}], got ${shapeOf(inputs)}`);
        }
        x = inputs;
      } else {
        x = this.buffer('zeroInputs', [T, B, I]); // never written: zeros
      }
      const pre = this.conditioner!.forward(v); // [B, L*H]
      const act = this.buffer('h0BatchMajor', [B, L * H]);
      tanhAct(rt, act, pre);
      if (L === 1) h0 = act.reshape([1, B, H]);
      else {
        h0 = this.buffer('h0', [L, B, H]);
        swap01(rt, h0, act.reshape([B, L, H]));
      }
    }
    const r = this.rnn.forward(x, h0 ? { h0 } : {});
    this.fwd = { T, B, h0 };
    return { outputs: this.head.forward(r.output) };
  }

  /** dOutputs [T, B, outputSize]; accumulates every parameter gradient (the conditioning Linear's too). Returns dv [B, F]. */
  backward(dOutputs: Tensor): { dv: Tensor } {
    const where = 'VectorToSequence.backward';
    const f = this.fwd;
    if (!f) throw new Error(`${where}: call forward first`);
    const want = [f.T, f.B, this.outputSize];
    if (!(dOutputs instanceof Tensor) || dOutputs.ndim !== 3 || dOutputs.shape.some((d, i) => d !== want[i])) {
      throw new Error(`${where}: dOutputs must be ${fmtShape(want)} (the outputs' shape), got ${shapeOf(dOutputs)}`);
    }
    const { rt, hiddenSize: H, numLayers: L } = this;
    const { dx, dh0 } = this.rnn.backward(this.head.backward(dOutputs));
    if (this.condition === 'input') {
      const dv = this.buffer('dv', [f.B, this.inputSize]);
      colSum(rt, dv.reshape([f.B * this.inputSize]), dx.reshape([f.T, f.B * this.inputSize]));
      return { dv };
    }
    const act = this.scratch.get('h0BatchMajor')!;
    const dAct = this.buffer('dh0BatchMajor', [f.B, L * H]);
    if (L === 1) tanhBackward(rt, dAct, act, dh0);
    else {
      const dT = this.buffer('dh0Swapped', [f.B, L, H]);
      swap01(rt, dT, dh0);
      tanhBackward(rt, dAct, act, dT);
    }
    return { dv: this.conditioner!.backward(dAct) };
  }
}
