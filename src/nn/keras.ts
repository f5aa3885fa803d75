/**
 * Keras / TensorFlow.js recurrent-layer weights -> PyTorch `state_dict`
 * entries, as `LSTM`, `GRU` and `RNN` `loadStateDict` take them, so a model
 * trained there gives the same outputs here.
 *
 * Keras keeps one layer's weights column-blocked, x [1, I] times
 * kernel [I, G*H] giving the G gate pre-activations side by side:
 *   kernel            [I, G*H]   -> weight_ih_{suffix} [G*H, I]  (transposed, blocks reordered)
 *   recurrent_kernel  [H, G*H]   -> weight_hh_{suffix} [G*H, H]
 *   bias              [G*H]      -> bias_ih_{suffix};  bias_hh_{suffix} = 0
 * Gate blocks: LSTM Keras i, f, c, o == PyTorch i, f, g, o (same order);
 * GRU Keras z, r, h -> PyTorch r, z, n (the update h' = z*h + (1-z)*h~ is
 * PyTorch's with the same z). A GRU with reset_after=True has bias [2, 3H]:
 * row 0 -> bias_ih, row 1 -> bias_hh.
 *
 * What must match besides the weights: activation tanh and
 * recurrent_activation sigmoid (Keras 2+ default; TF.js defaults to
 * hard_sigmoid, so build TF.js layers with `recurrentActivation: 'sigmoid'`),
 * SimpleRNN activation tanh (or relu with `new RNN(rt, { nonlinearity: 'relu' })`),
 * LSTM unit_forget_bias only affects initialisation (nothing to convert).
 * For a stacked model, layer l converts with suffix `l{l}` and inputSize = the
 * previous layer's units; a Keras `Bidirectional` wrapper's backward layer
 * converts with suffix `l{l}_reverse` (for full-length sequences Keras's
 * reversed-then-reversed-back output is PyTorch's reverse direction).
 *
 * Bias: a Keras layer without bias (use_bias=False) converts to zero biases
 * by default, which a PyTorch-style layer with `bias: true` (the default)
 * computes exactly. For a layer built with `bias: false`, pass
 * `{ bias: false }`: the bias keys are then left out (loadStateDict rejects
 * unexpected keys), and a Keras bias given alongside is an error rather than
 * silently dropped.
 */

/** One Keras / TF.js recurrent layer's weights, row-major, as `layer.get_weights()` / `getWeights()` give them. */
export interface KerasWeights {
  /** [I, G*H] */
  kernel: ArrayLike<number>;
  /** [H, G*H] */
  recurrentKernel: ArrayLike<number>;
  /** [G*H]; GRU with reset_after=True: [2, 3H]. Absent: use_bias=False. */
  bias?: ArrayLike<number>;
}

export interface KerasToTorchOptions {
  /** State-dict suffix: 'l0' (default), 'l1', 'l0_reverse', ... */
  suffix?: string;
  /** Emit bias_ih / bias_hh (default true; zeros when the Keras layer has none). false: for a layer built with bias: false. */
  bias?: boolean;
}

export interface KerasGRUOptions extends KerasToTorchOptions {
  /** The Keras layer's reset_after (Keras 2+ default true; TF.js supports only false). false needs `new GRU(rt, { resetAfter: false })`. */
  resetAfter: boolean;
}

/** Converted weights by PyTorch state_dict name. */
export type TorchStateDict = Record<string, Float32Array>;

function positiveInt(fn: string, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${fn}: ${what} must be a positive integer, got ${String(v)}`);
  return v;
}

function checkSuffix(fn: string, s: unknown): string {
  if (typeof s !== 'string' || !/^l\d+(_reverse)?$/.test(s)) {
    throw new Error(`${fn}: suffix must look like 'l0', 'l1' or 'l0_reverse', got ${JSON.stringify(s)}`);
  }
  return s;
}

function isArrayLike(v: unknown): v is ArrayLike<number> {
  return v != null && typeof v === 'object' && typeof (v as { length?: unknown }).length === 'number';
}

/** Throws `fn: name must have formula = n values (shape), got m` unless `a` has n values. */
function checkLen(fn: string, name: string, a: unknown, n: number, formula: string, shape: string, hint = ''): ArrayLike<number> {
  if (!isArrayLike(a)) throw new Error(`${fn}: ${name} must be an array of ${formula} = ${n} values (${shape}), got ${a === undefined ? 'undefined' : typeof a}`);
  if (a.length !== n) throw new Error(`${fn}: ${name} must have ${formula} = ${n} values (${shape}), got ${a.length}${hint}`);
  return a;
}

/**
 * Keras [rows, G*H] (column blocks in Keras order) -> PyTorch [G*H, rows]
 * (row blocks in PyTorch order): out[(k*H + j), i] = in[i, perm[k]*H + j],
 * perm[k] being the Keras block of PyTorch gate k.
 */
function transposeBlocks(a: ArrayLike<number>, rows: number, H: number, perm: readonly number[]): Float32Array {
  const G = perm.length;
  const C = G * H;
  const out = new Float32Array(C * rows);
  for (let k = 0; k < G; k++) {
    const src = perm[k]! * H;
    for (let j = 0; j < H; j++) {
      const o = (k * H + j) * rows;
      for (let i = 0; i < rows; i++) out[o + i] = a[i * C + src + j]!;
    }
  }
  return out;
}

/** Keras [G*H] bias (offset `at`) in Keras block order -> PyTorch block order. */
function reorderBias(b: ArrayLike<number>, at: number, H: number, perm: readonly number[]): Float32Array {
  const out = new Float32Array(perm.length * H);
  for (let k = 0; k < perm.length; k++) for (let j = 0; j < H; j++) out[k * H + j] = b[at + perm[k]! * H + j]!;
  return out;
}

function resolveOptions(fn: string, suffixOrOptions: string | KerasToTorchOptions | undefined): { suffix: string; bias: boolean } {
  const o: KerasToTorchOptions = typeof suffixOrOptions === 'string' ? { suffix: suffixOrOptions } : (suffixOrOptions ?? {});
  if (typeof o !== 'object') throw new Error(`${fn}: 4th argument must be a suffix string or { suffix?, bias? }, got ${typeof o}`);
  const bias = o.bias ?? true;
  if (typeof bias !== 'boolean') throw new Error(`${fn}: bias option must be a boolean, got ${String(bias)}`);
  return { suffix: checkSuffix(fn, o.suffix ?? 'l0'), bias };
}

interface Spec {
  fn: string;
  /** Gate count and its symbol in messages ('4H', '3H', 'H'). */
  G: number;
  perm: readonly number[];
  /** Keras bias rows: 1, or 2 (GRU reset_after=True: input and recurrent bias). */
  biasRows: 1 | 2;
  biasHint?: (got: number, H: number) => string;
}

function convert(spec: Spec, w: KerasWeights, inputSize: number, hiddenSize: number, suffix: string, withBias: boolean): TorchStateDict {
  const { fn, G, perm, biasRows } = spec;
  if (!w || typeof w !== 'object') throw new Error(`${fn}: weights { kernel, recurrentKernel, bias? } are required`);
  const I = positiveInt(fn, 'inputSize', inputSize);
  const H = positiveInt(fn, 'hiddenSize', hiddenSize);
  const gh = G === 1 ? 'H' : `${G}H`;
  const C = G * H;
  const kernel = checkLen(fn, 'kernel', w.kernel, I * C, `I*${gh}`, `[${I}, ${C}]`);
  const rec = checkLen(fn, 'recurrentKernel', w.recurrentKernel, H * C, `H*${gh}`, `[${H}, ${C}]`);
  let bias: ArrayLike<number> | undefined;
  if (w.bias !== undefined && w.bias !== null) {
    const n = biasRows * C;
    const got = isArrayLike(w.bias) ? w.bias.length : -1;
    bias = checkLen(
      fn,
      'bias',
      w.bias,
      n,
      biasRows === 2 ? `2*${gh}` : gh,
      biasRows === 2 ? `[2, ${C}]` : `[${C}]`,
      spec.biasHint && got >= 0 ? spec.biasHint(got, H) : '',
    );
    if (!withBias) {
      throw new Error(
        `${fn}: a Keras bias was given with { bias: false }, which would drop it; convert with bias: true (the default) for a layer with bias`,
      );
    }
  }
  const out: TorchStateDict = {
    [`weight_ih_${suffix}`]: transposeBlocks(kernel, I, H, perm),
    [`weight_hh_${suffix}`]: transposeBlocks(rec, H, H, perm),
  };
  if (withBias) {
    out[`bias_ih_${suffix}`] = bias ? reorderBias(bias, 0, H, perm) : new Float32Array(C);
    out[`bias_hh_${suffix}`] = bias && biasRows === 2 ? reorderBias(bias, C, H, perm) : new Float32Array(C);
  }
  return out;
}

const LSTM_PERM = [0, 1, 2, 3] as const; // Keras i, f, c, o == PyTorch i, f, g, o
const GRU_PERM = [1, 0, 2] as const; // PyTorch r, z, n = Keras blocks 1 (r), 0 (z), 2 (h~)

/**
 * Keras LSTM weights -> `weight_ih_{suffix}` [4H, I], `weight_hh_{suffix}` [4H, H],
 * `bias_ih_{suffix}` = the Keras bias, `bias_hh_{suffix}` = 0.
 * The 4th argument is the suffix ('l0') or `{ suffix?, bias? }`.
 */
export function kerasLSTMToTorch(
  w: KerasWeights,
  inputSize: number,
  hiddenSize: number,
  suffixOrOptions: string | KerasToTorchOptions = 'l0',
): TorchStateDict {
  const fn = 'kerasLSTMToTorch';
  const { suffix, bias } = resolveOptions(fn, suffixOrOptions);
  return convert({ fn, G: 4, perm: LSTM_PERM, biasRows: 1 }, w, inputSize, hiddenSize, suffix, bias);
}

/**
 * Keras GRU weights (column blocks z, r, h) -> PyTorch rows r, z, n.
 * `resetAfter: true` (Keras 2+ default; PyTorch's GRU): bias [2, 3H], row 0 ->
 * bias_ih, row 1 -> bias_hh. `resetAfter: false` (Keras 1, TF.js): bias [3H]
 * -> bias_ih, bias_hh = 0; the result only reproduces the Keras layer in a
 * `new GRU(rt, { resetAfter: false })`, never in a PyTorch-style GRU.
 */
export function kerasGRUToTorch(
  w: KerasWeights,
  inputSize: number,
  hiddenSize: number,
  opts: KerasGRUOptions,
  suffix?: string,
): TorchStateDict {
  const fn = 'kerasGRUToTorch';
  if (!opts || typeof opts !== 'object' || typeof opts.resetAfter !== 'boolean') {
    throw new Error(`${fn}: options { resetAfter: boolean } are required (the Keras layer's reset_after; Keras 2+ default true, TF.js false)`);
  }
  const { suffix: s, bias } = resolveOptions(fn, { suffix: suffix ?? opts.suffix, bias: opts.bias });
  const ra = opts.resetAfter;
  const biasHint = (got: number, H: number): string => {
    if (ra && got === 3 * H) return ` (a [${3 * H}] bias is reset_after=False's: pass { resetAfter: false })`;
    if (!ra && got === 6 * H) return ` (a [2, ${3 * H}] bias is reset_after=True's: pass { resetAfter: true })`;
    return ` for resetAfter: ${ra}`;
  };
  return convert({ fn, G: 3, perm: GRU_PERM, biasRows: ra ? 2 : 1, biasHint }, w, inputSize, hiddenSize, s, bias);
}

/** Keras SimpleRNN weights: kernel [I, H] -> weight_ih [H, I], recurrent_kernel [H, H] -> weight_hh, bias [H] -> bias_ih, bias_hh = 0. */
export function kerasSimpleRNNToTorch(
  w: KerasWeights,
  inputSize: number,
  hiddenSize: number,
  suffixOrOptions: string | KerasToTorchOptions = 'l0',
): TorchStateDict {
  const fn = 'kerasSimpleRNNToTorch';
  const { suffix, bias } = resolveOptions(fn, suffixOrOptions);
  return convert({ fn, G: 1, perm: [0], biasRows: 1 }, w, inputSize, hiddenSize, suffix, bias);
}

/** What TF.js `layer.getWeights()` returns (tf.Tensor), or a plain { shape, data }. */
export type TfjsWeight = { shape: readonly number[]; dataSync(): ArrayLike<number> } | { shape: readonly number[]; data: ArrayLike<number> };

export type KerasLayerKind = 'lstm' | 'gru' | 'simpleRNN';

export interface TfjsConverted {
  /** Converted weights by PyTorch name. */
  stateDict: TorchStateDict;
  inputSize: number;
  hiddenSize: number;
  /** GRU only: read off the bias shape ([2, 3H]: true, [3H]: false; no bias: as opts.resetAfter, default false as in TF.js). */
  resetAfter?: boolean;
}

/**
 * The array list TF.js `layer.getWeights()` (or Keras `get_weights()`, as
 * { shape, data }) returns, [kernel, recurrent_kernel, bias?], for an LSTM,
 * GRU or SimpleRNN layer: sizes are read off the kernel shapes, and a GRU's
 * reset_after off its bias shape.
 */
export function fromTfjsWeights(
  kind: KerasLayerKind,
  arrays: readonly TfjsWeight[],
  opts: KerasToTorchOptions & { resetAfter?: boolean } = {},
): TfjsConverted {
  const fn = 'fromTfjsWeights';
  const G = kind === 'lstm' ? 4 : kind === 'gru' ? 3 : kind === 'simpleRNN' ? 1 : 0;
  if (!G) throw new Error(`${fn}: kind must be 'lstm', 'gru' or 'simpleRNN', got ${JSON.stringify(kind)}`);
  if (!Array.isArray(arrays) || arrays.length < 2 || arrays.length > 3) {
    throw new Error(`${fn}: expected [kernel, recurrentKernel] or [kernel, recurrentKernel, bias], got ${Array.isArray(arrays) ? `${arrays.length} arrays` : typeof arrays}`);
  }
  const names = ['kernel', 'recurrentKernel', 'bias'];
  const vals = arrays.map((a, i) => {
    if (!a || !Array.isArray(a.shape)) throw new Error(`${fn}: ${names[i]} must be a tf.Tensor or { shape, data }`);
    const data = 'dataSync' in a ? a.dataSync() : a.data;
    return { shape: a.shape as readonly number[], data };
  });
  const [k, r, b] = vals as [(typeof vals)[0], (typeof vals)[0], (typeof vals)[0] | undefined];
  if (k.shape.length !== 2 || k.shape[1]! % G !== 0) {
    throw new Error(`${fn}: kernel must be [I, ${G === 1 ? 'H' : `${G}H`}], got [${k.shape.join(', ')}]`);
  }
  const I = k.shape[0]!;
  const H = k.shape[1]! / G;
  if (r.shape.length !== 2 || r.shape[0] !== H || r.shape[1] !== G * H) {
    throw new Error(`${fn}: recurrentKernel must be [${H}, ${G * H}] (from kernel [${k.shape.join(', ')}]), got [${r.shape.join(', ')}]`);
  }
  const w: KerasWeights = { kernel: k.data, recurrentKernel: r.data, bias: b?.data };
  if (kind === 'lstm') return { stateDict: kerasLSTMToTorch(w, I, H, opts), inputSize: I, hiddenSize: H };
  if (kind === 'simpleRNN') return { stateDict: kerasSimpleRNNToTorch(w, I, H, opts), inputSize: I, hiddenSize: H };
  let resetAfter = opts.resetAfter ?? false;
  if (b) {
    const byShape = b.shape.length === 2 && b.shape[0] === 2;
    if (opts.resetAfter !== undefined && opts.resetAfter !== byShape) {
      throw new Error(`${fn}: resetAfter: ${opts.resetAfter} given, but the bias [${b.shape.join(', ')}] is reset_after=${byShape ? 'True' : 'False'}'s`);
    }
    resetAfter = byShape;
  }
  return { stateDict: kerasGRUToTorch(w, I, H, { ...opts, resetAfter }), inputSize: I, hiddenSize: H, resetAfter };
}
