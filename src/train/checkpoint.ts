/**
 * Training checkpoints: a model's parameters, its optimizers' state and its
 * GPU-side random-number counters in one safetensors file, restored
 * bit for bit, so a resumed run continues exactly as if it never stopped.
 *
 * Tensors (all F32, row-major):
 *   `{module}.{param}`                          the parameters, named as `model.stateDict()` names them
 *                                               (PyTorch's names and shapes)
 *   `optimizer.{i}.{state}.{param}`             optimizer i's state per parameter (`exp_avg`, `exp_avg_sq`,
 *                                               `max_exp_avg_sq`, `momentum_buffer`), the parameter's shape
 *   `optimizer.{i}.step`                        [1] steps taken (so bias correction continues)
 *   `optimizer.{i}.bias_correction1`, `...2`    [1] 1 - beta^t as the GPU accumulated it (f32), restored
 *                                               as is: recomputing it on the host could differ in the last bit
 *   `rng.{module}.dropout_counter`              [1] each module's GPU dropout counter
 * Metadata (strings): `format`, `format_version`, `step`, `architecture` (JSON: module -> class),
 * `optimizers` (count), `optimizer.{i}.kind|module|lr|initial_lr` and the hyperparameters under
 * PyTorch's names (`betas` as JSON), `rng.{module}.dropout_seed`, `rng` (JSON of the caller's
 * host RNG state, when given), and the caller's own keys.
 *
 * In PyTorch: `sd = safetensors.torch.load_file(path)`, then
 * `module.load_state_dict({k: v for k, v in sd.items() if not k.startswith(('optimizer.', 'rng.'))})`.
 */
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../io/safetensors.js';
import { type Arena, Tensor, fmtShape, numel } from '../tensor.js';
import { Adam, AdamW, SGD, type Optimizer } from './optim.js';

export const CHECKPOINT_FORMAT = 'webgpu-rnn.checkpoint';
export const CHECKPOINT_VERSION = 1;

type StateDictValue = Float32Array | Tensor | ArrayLike<number>;

/** What a checkpoint needs of a module: parameter and gradient arenas, state dict I/O, optionally a dropout counter. */
export interface CheckpointModule {
  readonly params: Arena;
  readonly gradients: Arena;
  stateDict(): Promise<Record<string, Float32Array>>;
  loadStateDict(dict: Record<string, StateDictValue>): void;
  /** [1] GPU counter of a module that draws dropout masks (Recurrent). */
  readonly dropoutCounter?: Tensor;
}

/** Any model that lists its modules by state-dict prefix (SequenceToSequence, SequenceToVector, ...). */
export interface CheckpointModel {
  readonly modules: Record<string, CheckpointModule>;
  loadStateDict?(dict: Record<string, StateDictValue>): void;
}

export interface CheckpointExtra {
  /** The training step (or epoch) to resume from. */
  step: number;
  /** Host RNG state (e.g. a data shuffler's seed and position); finite numbers, returned as given. */
  rng?: Record<string, number>;
  /** Free-form strings, returned by `loadCheckpoint`. */
  metadata?: Record<string, string>;
}

export interface LoadedCheckpoint {
  step: number;
  rng?: Record<string, number>;
  /** The caller's metadata given to `saveCheckpoint`. */
  metadata: Record<string, string>;
}

// Slots of `Optimizer.hyper` (documented there: step, lr, decay, 1 - beta1^t, 1 - beta2^t).
const H_STEP = 0;
const H_BC1 = 3;
const H_BC2 = 4;

/**
 * Largest `step` a checkpoint may hold: 2^31 - 1. A step counts training
 * steps; at 10,000 steps a second 2^31 is 2.5 days of nonstop training, far past
 * any run this library does (the optimizers' own step counters stop at
 * 2^24, where f32 bias corrections stop being exact). Larger values come from
 * corrupt or crafted files, and a resumed run replays its data stream up to
 * `step` (the CLI draws step * batch numbers), so they would hang it.
 */
export const MAX_CHECKPOINT_STEP = 2 ** 31 - 1;

const RESERVED = new Set(['format', 'format_version', 'step', 'rng', 'architecture', 'optimizers']);
const isReserved = (k: string): boolean => RESERVED.has(k) || k.startsWith('optimizer.') || k.startsWith('rng.');

function fail(message: string, cause?: unknown): never {
  throw new Error(`checkpoint: ${message}`, cause === undefined ? undefined : { cause });
}

interface Expected {
  shape: readonly number[];
}

/** Everything a checkpoint of (model, optimizers) holds, derived from the objects alone. */
interface Layout {
  modules: [string, CheckpointModule][];
  architecture: Record<string, string>;
  /** Tensor name -> shape (every tensor is F32). */
  expected: Map<string, Expected>;
  opts: { o: Optimizer; module: string | null; states: string[] }[];
  rng: { prefix: string; m: CheckpointModule; counter: Tensor }[];
}

function optimizerKind(o: Optimizer): string {
  // instanceof first: class names do not survive minification.
  if (o instanceof AdamW) return 'AdamW';
  if (o instanceof Adam) return 'Adam';
  if (o instanceof SGD) return 'SGD';
  return o.constructor.name;
}

/** Hyperparameters under PyTorch's param_group names (lr and initial_lr apart), as strings. */
function hyperparameters(o: Optimizer): Record<string, string> {
  if (o instanceof Adam) {
    return {
      betas: JSON.stringify(o.betas),
      eps: String(o.eps),
      weight_decay: String(o.weightDecay),
      amsgrad: String(o.amsgrad),
      maximize: String(o.maximize),
    };
  }
  if (o instanceof SGD) {
    return {
      momentum: String(o.momentum),
      dampening: String(o.dampening),
      weight_decay: String(o.weightDecay),
      nesterov: String(o.nesterov),
      maximize: String(o.maximize),
    };
  }
  return {};
}

/** A module's dropout seed: the public `dropoutSeed` if it has one, else its `seed` field (Recurrent's). */
function getSeed(m: CheckpointModule): number | undefined {
  const h = m as unknown as { dropoutSeed?: unknown; seed?: unknown };
  const s = 'dropoutSeed' in h ? h.dropoutSeed : h.seed;
  return typeof s === 'number' ? s : undefined;
}

function setSeed(m: CheckpointModule, seed: number): void {
  const h = m as unknown as { dropoutSeed?: number; seed?: number };
  if ('dropoutSeed' in h) h.dropoutSeed = seed;
  else h.seed = seed;
}

function layoutOf(model: CheckpointModel, optimizers: readonly Optimizer[], what: string): Layout {
  if (!model || typeof model !== 'object' || !model.modules || typeof model.modules !== 'object') {
    fail(`${what}: model must have \`modules\` (an object of modules by state-dict prefix)`);
  }
  if (!Array.isArray(optimizers)) fail(`${what}: optimizers must be an array`);
  const modules = Object.entries(model.modules);
  const expected = new Map<string, Expected>();
  const add = (name: string, shape: readonly number[]): void => {
    if (expected.has(name)) fail(`${what}: two tensors would be named "${name}"`);
    expected.set(name, { shape });
  };
  const architecture: Record<string, string> = {};
  const rng: Layout['rng'] = [];
  for (const [prefix, m] of modules) {
    if (!m || typeof m !== 'object' || !m.params || typeof m.stateDict !== 'function') {
      fail(`${what}: module "${prefix}" must have params, gradients, stateDict() and loadStateDict()`);
    }
    if (prefix === 'optimizer' || prefix === 'rng') fail(`${what}: module name "${prefix}" is reserved for checkpoint state`);
    architecture[prefix] = m.constructor.name;
    for (const [k, shape] of Object.entries(m.params.table)) add(`${prefix}.${k}`, shape);
    if (m.dropoutCounter instanceof Tensor) {
      add(`rng.${prefix}.dropout_counter`, [1]);
      rng.push({ prefix, m, counter: m.dropoutCounter });
    }
  }
  const opts = optimizers.map((o, i) => {
    if (!o || typeof o !== 'object' || !o.params || !o.state || !o.hyper) fail(`${what}: optimizers[${i}] is not an Optimizer`);
    const found = modules.find(([, m]) => m.params === o.params);
    const states = Object.keys(o.state);
    for (const s of states) for (const [k, shape] of Object.entries(o.params.table) as [string, readonly number[]][]) add(`optimizer.${i}.${s}.${k}`, shape);
    for (const s of ['step', 'bias_correction1', 'bias_correction2']) add(`optimizer.${i}.${s}`, [1]);
    return { o, module: found ? found[0] : null, states };
  });
  return { modules, architecture, expected, opts, rng };
}

/**
 * Downloads the model's parameters, the optimizers' state and the GPU RNG
 * counters, and encodes them with `extra` as one safetensors file. Call
 * between steps (it submits pending work and reads back).
 */
export async function saveCheckpoint(
  model: CheckpointModel,
  optimizers: readonly Optimizer[],
  extra: CheckpointExtra,
): Promise<Uint8Array> {
  const layout = layoutOf(model, optimizers, 'saveCheckpoint');
  if (!extra || typeof extra !== 'object') fail('saveCheckpoint: extra { step } is required');
  const { step, rng, metadata: user = {} } = extra;
  if (!Number.isSafeInteger(step) || step < 0) fail(`saveCheckpoint: step must be an integer >= 0, got ${String(step)}`);
  if (step > MAX_CHECKPOINT_STEP) fail(`saveCheckpoint: step ${step} exceeds MAX_CHECKPOINT_STEP (2^31 - 1)`);

  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    format_version: String(CHECKPOINT_VERSION),
    step: String(step),
    architecture: JSON.stringify(layout.architecture),
    optimizers: String(optimizers.length),
  };
  if (rng !== undefined) {
    if (!rng || typeof rng !== 'object' || Array.isArray(rng)) fail('saveCheckpoint: rng must be an object of numbers');
    for (const [k, v] of Object.entries(rng)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`saveCheckpoint: rng "${k}" must be a finite number, got ${String(v)}`);
    }
    metadata.rng = JSON.stringify(rng);
  }
  for (const [k, v] of Object.entries(user)) {
    if (isReserved(k)) fail(`saveCheckpoint: metadata key "${k}" is reserved (${[...RESERVED].join(', ')}, optimizer.*, rng.*)`);
    if (typeof v !== 'string') fail(`saveCheckpoint: metadata "${k}" must be a string, got ${typeof v}`);
    metadata[k] = v;
  }

  const tensors: Record<string, SafeTensor> = {};
  const put = (name: string, data: Float32Array): void => {
    const e = layout.expected.get(name);
    if (!e) fail(`saveCheckpoint: unexpected tensor "${name}"`);
    if (data.length !== numel(e.shape)) fail(`saveCheckpoint: "${name}" has ${data.length} values, ${fmtShape(e.shape)} needs ${numel(e.shape)}`);
    tensors[name] = { dtype: 'F32', shape: [...e.shape], data };
  };
  for (const [prefix, m] of layout.modules) {
    const sd = await m.stateDict();
    for (const k of Object.keys(m.params.table)) {
      if (!(sd[k] instanceof Float32Array)) fail(`saveCheckpoint: module "${prefix}".stateDict() has no Float32Array "${k}"`);
    }
    for (const [k, v] of Object.entries(sd)) put(`${prefix}.${k}`, v);
  }
  for (const [i, { o, module, states }] of layout.opts.entries()) {
    for (const s of states) for (const [k, v] of Object.entries(await o.state[s]!.read())) put(`optimizer.${i}.${s}.${k}`, v);
    const hyper = await o.hyper.read();
    put(`optimizer.${i}.step`, hyper.slice(H_STEP, H_STEP + 1));
    put(`optimizer.${i}.bias_correction1`, hyper.slice(H_BC1, H_BC1 + 1));
    put(`optimizer.${i}.bias_correction2`, hyper.slice(H_BC2, H_BC2 + 1));
    const p = `optimizer.${i}.`;
    metadata[`${p}kind`] = optimizerKind(o);
    if (module !== null) metadata[`${p}module`] = module;
    metadata[`${p}lr`] = String(o.lr);
    metadata[`${p}initial_lr`] = String(o.baseLr);
    for (const [k, v] of Object.entries(hyperparameters(o))) metadata[p + k] = v;
  }
  for (const { prefix, m, counter } of layout.rng) {
    put(`rng.${prefix}.dropout_counter`, await counter.read());
    const seed = getSeed(m);
    if (seed !== undefined) metadata[`rng.${prefix}.dropout_seed`] = String(seed);
  }
  return encodeSafetensors(tensors, metadata);
}

/** A metadata value, quoted and cut to 60 characters, for error messages. */
const show = (v: unknown): string => {
  const q = JSON.stringify(v) ?? String(v);
  return q.length > 60 ? `${q.slice(0, 57)}..." (${typeof v === 'string' ? v.length : q.length} characters)` : q;
};

/** A string cut to 60 characters, for error messages. */
const cut = (v: string): string => (v.length > 60 ? `${v.slice(0, 57)}... (${v.length} characters)` : v);

const describeT = (t: { dtype: string; shape: readonly number[] }): string => `${t.dtype} ${fmtShape(t.shape)}`;

function parseNumber(meta: Record<string, string>, key: string, problems: string[]): number | undefined {
  const s = meta[key];
  if (s === undefined) return undefined;
  const v = s.trim() === '' ? NaN : Number(s);
  if (!Number.isFinite(v)) {
    problems.push(`metadata "${key}" is ${show(s)}, not a number`);
    return undefined;
  }
  return v;
}

/**
 * Validates `bytes` against the model and optimizers (every tensor present
 * with its shape and dtype, nothing else), then restores the parameters, the
 * optimizers' state, step counts, bias corrections and learning rates, and
 * the GPU RNG counters and dropout seeds. Nothing is changed when the file
 * does not fit. Call between steps.
 */
export async function loadCheckpoint(
  bytes: Uint8Array | ArrayBuffer,
  model: CheckpointModel,
  optimizers: readonly Optimizer[],
): Promise<LoadedCheckpoint> {
  const layout = layoutOf(model, optimizers, 'loadCheckpoint');
  const u8 = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  if (!(u8 instanceof Uint8Array)) fail(`loadCheckpoint: expected the file's bytes as a Uint8Array, got ${typeof bytes}`);
  let file: ReturnType<typeof decodeSafetensors>;
  try {
    file = decodeSafetensors(u8);
  } catch (e) {
    fail(`cannot read the file (${u8.length} bytes): ${e instanceof Error ? e.message : String(e)}`, e);
  }
  const { tensors, metadata: meta } = file;

  if (meta.format !== CHECKPOINT_FORMAT) {
    fail(
      meta.format === undefined
        ? `not a webgpu-rnn checkpoint (no "format" metadata; a plain state dict loads with decodeSafetensors + model.loadStateDict)`
        : `not a webgpu-rnn checkpoint (format ${show(meta.format)}, expected "${CHECKPOINT_FORMAT}")`,
    );
  }
  const version = Number(meta.format_version);
  if (!Number.isInteger(version) || version < 1 || version > CHECKPOINT_VERSION) {
    fail(
      meta.format_version === undefined
        ? `metadata "format_version" is missing (this library reads 1 to ${CHECKPOINT_VERSION})`
        : `format_version ${show(meta.format_version)} is not supported (this library reads 1 to ${CHECKPOINT_VERSION})`,
    );
  }

  const problems: string[] = [];
  const savedOpts = parseNumber(meta, 'optimizers', problems);
  if (savedOpts !== undefined && savedOpts !== optimizers.length) {
    problems.push(`the file holds ${savedOpts} optimizer(s), ${optimizers.length} given`);
  }
  for (const [i, { o, module }] of layout.opts.entries()) {
    if (savedOpts !== undefined && i >= savedOpts) continue;
    const kind = meta[`optimizer.${i}.kind`];
    if (kind !== undefined && kind !== optimizerKind(o)) problems.push(`optimizer ${i}: the file holds ${cut(kind)} state, optimizers[${i}] is ${optimizerKind(o)} (metadata "optimizer.${i}.kind")`);
    const saved = meta[`optimizer.${i}.module`];
    if (saved !== undefined && module !== null && saved !== module) {
      problems.push(`optimizer ${i}: in the file it updates module ${show(saved)}, optimizers[${i}] updates "${module}" (same order as when saved?)`);
    }
  }
  for (const [name, e] of layout.expected) {
    const t = tensors[name];
    if (!t) problems.push(`missing tensor "${name}": expected F32 ${fmtShape(e.shape)}`);
    else if (t.dtype !== 'F32' || t.shape.length !== e.shape.length || t.shape.some((d, j) => d !== e.shape[j])) {
      problems.push(`tensor "${name}": expected F32 ${fmtShape(e.shape)}, the file has ${describeT(t)}`);
    }
  }
  for (const [name, t] of Object.entries(tensors)) {
    if (!layout.expected.has(name)) problems.push(`unexpected tensor ${show(name)} (${describeT(t)})`);
  }
  if (problems.length) {
    const shown = problems.slice(0, 20).map((p) => `\n  - ${p}`).join('');
    const more = problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : '';
    const arch = JSON.stringify(layout.architecture);
    const saved = meta.architecture !== undefined && meta.architecture !== arch ? `\nThe file was saved from ${cut(meta.architecture)}; this model is ${arch}.` : '';
    fail(`the file does not fit this model and these optimizers (another architecture?):${shown}${more}${saved}`);
  }

  // Scalars: all checked before anything is written, so a bad file changes nothing.
  // Decimal digits only, as saveCheckpoint writes it: not "1e9", "0x10", "-0" or " 5".
  const step = parseNumber(meta, 'step', problems); // a problem already if not a number
  if (meta.step === undefined || (step !== undefined && !/^[0-9]{1,16}$/.test(meta.step))) {
    problems.push(`metadata "step" must be an integer >= 0, got ${show(meta.step)}`);
  } else if (step !== undefined && step > MAX_CHECKPOINT_STEP) {
    problems.push(`metadata "step" ${show(meta.step)} exceeds MAX_CHECKPOINT_STEP (2^31 - 1): a resumed run would replay that many batches`);
  }
  let rng: Record<string, number> | undefined;
  if (meta.rng !== undefined) {
    try {
      const r: unknown = JSON.parse(meta.rng);
      if (!r || typeof r !== 'object' || Array.isArray(r)) throw new Error('not an object');
      for (const [k, v] of Object.entries(r)) if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`"${k}" is ${show(v)}, not a finite number`);
      rng = r as Record<string, number>;
    } catch (e) {
      problems.push(`metadata "rng" is not a JSON object of numbers (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  const lrs = layout.opts.map((_, i) => {
    const lr = parseNumber(meta, `optimizer.${i}.lr`, problems);
    if (lr !== undefined && !(lr >= 0)) problems.push(`metadata "optimizer.${i}.lr" must be >= 0, got ${lr}`);
    return lr;
  });
  for (const i of layout.opts.keys()) {
    const s = tensors[`optimizer.${i}.step`]!.data[0] as number;
    if (!Number.isInteger(s) || s < 0 || s > 2 ** 24) problems.push(`tensor "optimizer.${i}.step" must hold an integer in [0, 2^24], got ${s}`);
  }
  const seeds = layout.rng.map(({ prefix }) => {
    const key = `rng.${prefix}.dropout_seed`;
    const s = meta[key];
    if (s === undefined) return undefined;
    const v = /^[0-9]{1,10}$/.test(s) ? Number(s) : NaN;
    if (!(v < 2 ** 32)) problems.push(`metadata "${key}" must be an integer in [0, 2^32) in decimal digits, got ${show(s)}`);
    return v;
  });
  for (const { prefix } of layout.rng) {
    const c = tensors[`rng.${prefix}.dropout_counter`]!.data[0] as number;
    if (!Number.isInteger(c) || c < 0 || c > 2 ** 24) problems.push(`tensor "rng.${prefix}.dropout_counter" must hold an integer in [0, 2^24], got ${c}`);
  }
  // Every value finite: NaN or infinite parameters or moments would poison training from the first step.
  for (const name of layout.expected.keys()) {
    const d = tensors[name]!.data as Float32Array;
    for (let j = 0; j < d.length; j++) {
      if (!Number.isFinite(d[j]!)) {
        problems.push(`tensor "${name}"[${j}] is ${d[j]}; values must be finite`);
        break;
      }
    }
  }
  if (problems.length) fail(`invalid checkpoint:${problems.map((p) => `\n  - ${p}`).join('')}`);

  // Restore.
  const f32 = (name: string): Float32Array => tensors[name]!.data as Float32Array;
  const params: Record<string, Float32Array> = {};
  for (const [prefix, m] of layout.modules) for (const k of Object.keys(m.params.table)) params[`${prefix}.${k}`] = f32(`${prefix}.${k}`);
  if (typeof model.loadStateDict === 'function') model.loadStateDict(params);
  else {
    for (const [prefix, m] of layout.modules) {
      const sub: Record<string, Float32Array> = {};
      for (const k of Object.keys(m.params.table)) sub[k] = params[`${prefix}.${k}`]!;
      m.loadStateDict(sub);
    }
  }
  for (const [i, { o, states }] of layout.opts.entries()) {
    const lr = lrs[i];
    if (lr !== undefined) o.lr = lr;
    const state: Record<string, Float32Array> = {};
    for (const s of states) {
      const arena = o.state[s]!;
      const flat = new Float32Array(arena.all.size); // padding between tensors stays zero
      for (const k of Object.keys(arena.table)) flat.set(f32(`optimizer.${i}.${s}.${k}`), arena.offsets[k]! / 4);
      state[s] = flat;
    }
    await o.loadState({ ...state, step: f32(`optimizer.${i}.step`) });
    // The GPU's accumulated 1 - beta^t, not loadState's recomputation, so later steps match to the bit.
    o.hyper.view([2], H_BC1, `optimizer.${i}.bias_corrections`).write([
      f32(`optimizer.${i}.bias_correction1`)[0]!,
      f32(`optimizer.${i}.bias_correction2`)[0]!,
    ]);
  }
  for (const [j, { prefix, m, counter }] of layout.rng.entries()) {
    counter.write(f32(`rng.${prefix}.dropout_counter`));
    const seed = seeds[j];
    if (seed !== undefined) setSeed(m, seed);
  }

  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) if (!isReserved(k)) metadata[k] = v;
  return { step: step!, ...(rng ? { rng } : {}), metadata };
}

// ------------------------------------------------------------------ browser

/** Saves `bytes` as a file through the browser's download (a Blob and an `<a download>` click). */
export function downloadCheckpoint(bytes: Uint8Array, filename = 'checkpoint.safetensors'): void {
  if (typeof document === 'undefined' || typeof URL === 'undefined' || typeof Blob === 'undefined') {
    fail('downloadCheckpoint needs a browser page (document, Blob, URL); in Node use saveFile');
  }
  const url = URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000); // revoking at once can cancel the download in some browsers
}

const IDB_NAME = 'webgpu-rnn';
const IDB_STORE = 'checkpoints';

function openDb(): Promise<IDBDatabase> {
  if (typeof indexedDB === 'undefined') fail('IndexedDB is not available here (it needs a browser); in Node use saveFile / loadFile');
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(IDB_NAME, 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(IDB_STORE)) req.result.createObjectStore(IDB_STORE);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`checkpoint: cannot open IndexedDB "${IDB_NAME}" (${req.error?.message ?? 'unknown error'})`));
    req.onblocked = () => reject(new Error(`checkpoint: IndexedDB "${IDB_NAME}" is blocked by another tab`));
  });
}

/** Runs one request in a transaction on the checkpoint store; resolves with its result once the transaction completes. */
async function withStore<T>(mode: IDBTransactionMode, what: string, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(IDB_STORE, mode);
      const req = op(tx.objectStore(IDB_STORE));
      const err = (): void => reject(new Error(`checkpoint: ${what} failed (${(tx.error ?? req.error)?.message ?? 'aborted'})`));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = err;
      tx.onabort = err;
    });
  } finally {
    db.close();
  }
}

/** Stores `bytes` under `key` in IndexedDB (database "webgpu-rnn", store "checkpoints"), replacing any value there. */
export async function saveToIndexedDB(key: string, bytes: Uint8Array): Promise<void> {
  await withStore('readwrite', `saving "${key}" to IndexedDB`, (s) => s.put(new Uint8Array(bytes), key));
}

/** The bytes stored under `key` by `saveToIndexedDB`, or undefined if there are none. */
export async function loadFromIndexedDB(key: string): Promise<Uint8Array | undefined> {
  const v: unknown = await withStore('readonly', `loading "${key}" from IndexedDB`, (s) => s.get(key));
  if (v === undefined) return undefined;
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  fail(`IndexedDB "${key}" does not hold checkpoint bytes (got ${Object.prototype.toString.call(v)})`);
}
