/**
 * Training data as the Trainer reads it, and helpers for the common cases.
 *
 * A `TrainData` fills preallocated arrays for a step: `batch(step, x, y,
 * extra)` must be a pure function of `step` (a seeded generator keyed by the
 * step, or a seeded permutation per epoch), so a run resumed at step s from a
 * checkpoint sees the same batches as one that never stopped, and jumping to
 * step 10^9 costs nothing.
 *
 * Helpers (each a TrainData, with its vocabulary or normalisation):
 *   textData(text, { T, B })            characters -> ids, windows of T + 1 (next-token targets)
 *   seriesData(values, { T, B })        a numeric series, normalised, windows (next-value targets)
 *   pairedData(pairs, { ... })          source/target id sequences for an encoder-decoder
 *   readCsvColumn(csv, column)          one numeric column of a CSV (papaparse), by name or index (./csv.ts)
 *   splitData(...)                      train/validation by a seeded split of windows
 */
import { positiveInt } from '../util.js';

/** Batches, written into preallocated arrays: nothing is allocated per step. */
export interface TrainData {
  /** Shape of one input batch, e.g. [T, B] token ids or [T, B, I] features. */
  xShape: number[];
  /** Shape of one target batch: class ids (cross-entropy; [T * B] or [T, B]) or values (MSE). */
  yShape: number[];
  /** Shapes of further inputs, for models with several (EncoderDecoder: the decoder inputs). */
  extraShapes?: number[][];
  /**
   * Fills `x`, `y` (and `extra[i]`) for training step `step` (0-based,
   * counting across epochs). May return options for the model's forward
   * (e.g. `{ srcLengths }`, `{ lengths }`), passed after the inputs.
   */
  batch(step: number, x: Float32Array, y: Float32Array, extra: Float32Array[]): void | Record<string, unknown>;
  /** Steps in one pass over the data (epochs, per-epoch metrics). */
  stepsPerEpoch?: number;
  /** Cross-entropy targets are class ids below this (checked for user data; the helpers' are in range by construction). */
  numClasses?: number;
}

/** A 32-bit hash of (seed, a, b): counter-based randomness, no state to replay. */
export function hash32(seed: number, a: number, b = 0): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [a, b, Math.floor(a / 2 ** 32)]) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A seeded permutation of 0..n-1 (Fisher-Yates over hash32). */
export function permutation(n: number, seed: number, epoch: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = hash32(seed, epoch, i) % (i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/**
 * The window starts of an epoch: a seeded permutation per epoch (cached for
 * the current one), `B` windows per step, `stepsPerEpoch = floor(n / B)`.
 */
class WindowOrder {
  private epoch = -1;
  private perm: Uint32Array = new Uint32Array(0);
  readonly stepsPerEpoch: number;
  constructor(
    readonly starts: Uint32Array,
    readonly B: number,
    readonly seed: number,
    readonly shuffle: boolean,
  ) {
    this.stepsPerEpoch = Math.floor(starts.length / B);
    if (this.stepsPerEpoch < 1) throw new Error(`data: ${starts.length} windows are too few for a batch of ${B}`);
  }
  /** The start of row b of step `step`. */
  start(step: number, b: number): number {
    const e = Math.floor(step / this.stepsPerEpoch);
    if (e !== this.epoch) {
      this.epoch = e;
      this.perm = this.shuffle ? permutation(this.starts.length, this.seed, e) : Uint32Array.from(this.starts.keys());
    }
    return this.starts[this.perm[(step % this.stepsPerEpoch) * this.B + b]!]!;
  }
}

export interface WindowOptions {
  /** Timesteps per window. */
  T: number;
  /** Windows per batch. */
  B: number;
  /** Seed of the shuffling (default 1). */
  seed?: number;
  /** Step between window starts (default T: non-overlapping windows). */
  stride?: number;
  /** Shuffle the windows every epoch (default true). */
  shuffle?: boolean;
  /** Layout: `'time'` ([T, B], default; recurrent layers) or `'channels'` ([B, C, T], WaveNet: one-hot or values). */
  layout?: 'time' | 'channels';
}

/** Window starts 0, stride, 2 stride, ... such that start + T + 1 <= n (a window and its next-step targets). */
function windowStarts(n: number, T: number, stride: number, from = 0, to = n): Uint32Array {
  const out: number[] = [];
  for (let s = from; s + T + 1 <= to; s += stride) out.push(s);
  return Uint32Array.from(out);
}

function windowOptions(o: WindowOptions, who: string): Required<WindowOptions> {
  if (!o || typeof o !== 'object') throw new Error(`${who}: options { T, B } are required`);
  const T = positiveInt(`${who}: T`, o.T);
  return {
    T,
    B: positiveInt(`${who}: B`, o.B),
    seed: o.seed ?? 1,
    stride: positiveInt(`${who}: stride`, o.stride ?? T),
    shuffle: o.shuffle ?? true,
    layout: o.layout ?? 'time',
  };
}

export interface TextData {
  /** The symbols, sorted; ids index it. */
  vocab: string[];
  ids: Uint32Array;
  encode(s: string): number[];
  decode(ids: ArrayLike<number>): string;
  /** Windows of the first (1 - validation) of the text. */
  train: TrainData;
  /** Windows of the rest (when `validation` > 0). */
  validation: TrainData | null;
}

/**
 * A character-level corpus: the vocabulary (sorted symbols, or `vocab`),
 * windows of T + 1 characters, x = ids [T, B] (or one-hot [B, V, T] with
 * layout 'channels'), y = the next ids [T * B] (or [B * T]). `validation`
 * (default 0) keeps the end of the text apart for held-out windows.
 */
export function textData(text: string, o: WindowOptions & { vocab?: string[]; validation?: number }): TextData {
  const who = 'textData';
  if (typeof text !== 'string') throw new Error(`${who}: text must be a string, got ${typeof text}`);
  const w = windowOptions(o, who);
  const symbols = [...text];
  const vocab = o.vocab ?? [...new Set(symbols)].sort();
  const index = new Map(vocab.map((c, i) => [c, i]));
  if (index.size !== vocab.length) throw new Error(`${who}: vocab has repeated symbols`);
  const ids = new Uint32Array(symbols.length);
  symbols.forEach((c, i) => {
    const id = index.get(c);
    if (id === undefined) throw new Error(`${who}: character ${JSON.stringify(c)} at position ${i} is not in the vocabulary`);
    ids[i] = id;
  });
  const split = o.validation ?? 0;
  if (!(split >= 0 && split < 1)) throw new Error(`${who}: validation must be in [0, 1), got ${o.validation}`);
  const cut = Math.floor(ids.length * (1 - split));
  const make = (from: number, to: number, shuffle: boolean): TrainData => {
    const order = new WindowOrder(windowStarts(ids.length, w.T, w.stride, from, to), w.B, w.seed, shuffle);
    return tokenWindows(ids, order, w.T, w.B, vocab.length, w.layout);
  };
  if (ids.length < w.T + 1 + w.B) throw new Error(`${who}: the text is too short (${ids.length} characters) for windows of ${w.T + 1} in batches of ${w.B}`);
  return {
    vocab,
    ids,
    encode: (s) =>
      [...s].map((c, i) => {
        const id = index.get(c);
        if (id === undefined) throw new Error(`${who}.encode: character ${JSON.stringify(c)} at position ${i} is not in the vocabulary`);
        return id;
      }),
    decode: (a) => Array.from(a, (i) => vocab[i] ?? '?').join(''),
    train: make(0, cut, w.shuffle),
    validation: split > 0 ? make(cut, ids.length, false) : null,
  };
}

function tokenWindows(ids: Uint32Array, order: WindowOrder, T: number, B: number, V: number, layout: 'time' | 'channels'): TrainData {
  const ch = layout === 'channels';
  return {
    xShape: ch ? [B, V, T] : [T, B],
    yShape: [T * B],
    stepsPerEpoch: order.stepsPerEpoch,
    numClasses: V,
    batch(step, x, y) {
      if (ch) x.fill(0);
      for (let b = 0; b < B; b++) {
        const s = order.start(step, b);
        for (let t = 0; t < T; t++) {
          const cur = ids[s + t]!;
          const nxt = ids[s + t + 1]!;
          if (ch) {
            x[(b * V + cur) * T + t] = 1;
            y[b * T + t] = nxt;
          } else {
            x[t * B + b] = cur;
            y[t * B + b] = nxt;
          }
        }
      }
    },
  };
}

export interface SeriesData {
  /** The normalisation: values are (v - mean) / std. */
  mean: number;
  std: number;
  /** The normalised series. */
  values: Float32Array;
  normalize(v: number): number;
  denormalize(v: number): number;
  train: TrainData;
  validation: TrainData | null;
}

/**
 * A numeric series for next-value regression: normalised by the training
 * part's mean and standard deviation (finite values only, refused with their
 * position otherwise), windows of T + 1, x [T, B, 1] (or [B, 1, T]), y the
 * next values, same shape.
 */
export function seriesData(values: ArrayLike<number>, o: WindowOptions & { validation?: number }): SeriesData {
  const who = 'seriesData';
  const w = windowOptions(o, who);
  if (!values || typeof values.length !== 'number') throw new Error(`${who}: values must be an array of numbers`);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${who}: value ${i} must be a finite number, got ${String(v)}`);
  }
  const split = o.validation ?? 0;
  if (!(split >= 0 && split < 1)) throw new Error(`${who}: validation must be in [0, 1), got ${o.validation}`);
  const cut = Math.floor(values.length * (1 - split));
  if (cut < w.T + 1 + w.B) throw new Error(`${who}: ${values.length} values are too few for windows of ${w.T + 1} in batches of ${w.B}`);
  // Mean and spread in float64, each value scaled first so 1e308 does not overflow.
  let scale = 0;
  for (let i = 0; i < cut; i++) scale = Math.max(scale, Math.abs(values[i]!));
  scale = scale || 1;
  let m = 0;
  for (let i = 0; i < cut; i++) m += values[i]! / scale;
  m /= cut;
  let v2 = 0;
  for (let i = 0; i < cut; i++) v2 += (values[i]! / scale - m) ** 2;
  const mean = m * scale;
  const sd = Math.sqrt(v2 / cut) * scale;
  const std = sd > 0 && Number.isFinite(sd) ? sd : 1;
  const norm = Float32Array.from({ length: values.length }, (_, i) => (values[i]! - mean) / std);
  if (!norm.every(Number.isFinite)) throw new Error(`${who}: the values do not normalise to finite float32 numbers (range too wide)`);
  const ch = w.layout === 'channels';
  const make = (from: number, to: number, shuffle: boolean): TrainData => {
    const order = new WindowOrder(windowStarts(values.length, w.T, w.stride, from, to), w.B, w.seed, shuffle);
    const { T, B } = w;
    return {
      xShape: ch ? [B, 1, T] : [T, B, 1],
      yShape: ch ? [B, 1, T] : [T, B, 1],
      stepsPerEpoch: order.stepsPerEpoch,
      batch(step, x, y) {
        for (let b = 0; b < B; b++) {
          const s = order.start(step, b);
          for (let t = 0; t < T; t++) {
            const at = ch ? b * T + t : t * B + b;
            x[at] = norm[s + t]!;
            y[at] = norm[s + t + 1]!;
          }
        }
      },
    };
  };
  return {
    mean,
    std,
    values: norm,
    normalize: (v) => (v - mean) / std,
    denormalize: (v) => v * std + mean,
    train: make(0, cut, w.shuffle),
    validation: split > 0 ? make(Math.max(0, cut - w.T), values.length, false) : null,
  };
}

export interface PairedDataOptions {
  /** Pairs per batch. */
  B: number;
  /** Source and target vocabulary sizes (ids are checked against them). */
  srcVocab: number;
  tgtVocab: number;
  /** The decoder's first input and the token that ends a target (both < tgtVocab). */
  startToken: number;
  stopToken: number;
  seed?: number;
  shuffle?: boolean;
}

/**
 * Source/target id sequences for an EncoderDecoder with teacher forcing:
 * x = source [Ls, B] (padded with 0; `srcLengths` returned for the forward),
 * extra[0] = decoder inputs [Lt + 1, B] (start, then the target), y = the
 * target then stop, -1 at padding (give the loss `ignoreIndex: -1`).
 */
export function pairedData(pairs: readonly (readonly [ArrayLike<number>, ArrayLike<number>])[], o: PairedDataOptions): TrainData {
  const who = 'pairedData';
  if (!Array.isArray(pairs) || !pairs.length) throw new Error(`${who}: pairs must be a non-empty array of [source ids, target ids]`);
  const B = positiveInt(`${who}: B`, o?.B);
  const sv = positiveInt(`${who}: srcVocab`, o.srcVocab);
  const tv = positiveInt(`${who}: tgtVocab`, o.tgtVocab);
  for (const [k, v] of Object.entries({ startToken: o.startToken, stopToken: o.stopToken })) {
    if (!Number.isInteger(v) || v < 0 || v >= tv) throw new Error(`${who}: ${k} must be an id in 0..${tv - 1}, got ${v}`);
  }
  let Ls = 1;
  let Lt = 1;
  pairs.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw new Error(`${who}: pairs[${i}] must be [source ids, target ids]`);
    const [s, t] = p;
    if (!s.length) throw new Error(`${who}: pairs[${i}] has an empty source`);
    for (const [seq, vocab, what] of [[s, sv, 'source'], [t, tv, 'target']] as const) {
      for (let j = 0; j < seq.length; j++) {
        const id = seq[j]!;
        if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new Error(`${who}: pairs[${i}] ${what}[${j}] = ${id} is not an id in 0..${vocab - 1}`);
      }
    }
    Ls = Math.max(Ls, s.length);
    Lt = Math.max(Lt, t.length);
  });
  const order = new WindowOrder(Uint32Array.from(pairs.keys()), B, o.seed ?? 1, o.shuffle ?? true);
  const lengths = new Array<number>(B);
  return {
    xShape: [Ls, B],
    extraShapes: [[Lt + 1, B]],
    yShape: [(Lt + 1) * B],
    stepsPerEpoch: order.stepsPerEpoch,
    numClasses: tv,
    batch(step, x, y, extra) {
      const ti = extra[0]!;
      x.fill(0);
      ti.fill(0);
      y.fill(-1);
      for (let b = 0; b < B; b++) {
        const [s, t] = pairs[order.start(step, b)]!;
        lengths[b] = s.length;
        for (let j = 0; j < s.length; j++) x[j * B + b] = s[j]!;
        ti[b] = o.startToken;
        for (let j = 0; j < t.length; j++) {
          ti[(j + 1) * B + b] = t[j]!;
          y[j * B + b] = t[j]!;
        }
        y[t.length * B + b] = o.stopToken;
      }
      return { srcLengths: lengths };
    },
  };
}
