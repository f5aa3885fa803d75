/**
 * Training checkpoints: a model's parameters, its optimizer's state, its
 * GPU-side random-number counters and the trainer's position (step, epoch,
 * schedule, host RNG state) in one safetensors file, restored bit for bit, so
 * a resumed run continues exactly as if it never stopped.
 *
 * Tensors (all F32, row-major):
 *   `{param}`                         the parameters under `model.stateDict()`'s names (PyTorch's names
 *                                     and shapes: the file loads into torch with the other keys dropped)
 *   `optimizer.state.{i}.{state}`     parameter i's state (`exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`,
 *                                     `momentum_buffer`), its shape; i indexes `optimizer.params`
 *   `optimizer.state.{i}.step`        [1] steps taken
 *   `rng.{module}.dropout_counter`    [1] each dropout stream's GPU counter (module path; `rng.self.` for the root)
 * Metadata (strings): `format`, `format_version` (2), `step`, `epoch`, `architecture` (JSON: module
 * path -> class), `optimizer` (JSON: `{ kind, param_groups }` in PyTorch's layout, with `params`
 * indices, `param_names`, `initial_lr` and the GPU's f32 bias corrections), `scheduler` (JSON,
 * PyTorch's `{ last_epoch, base_lrs }`), `rng.{module}.dropout_seed`, `rng` (JSON of the caller's
 * host RNG state), `trainer` (JSON of the caller's own state), and the caller's own string keys.
 *
 * In PyTorch: read the file, keep the keys without a `.` prefix of `optimizer.`/`rng.`, and
 * `module.load_state_dict(..., strict=True)`; `optimizer.state.{i}.*` with `param_groups` from
 * the metadata is torch.optim's state_dict.
 */
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../io/safetensors.js';
import { type Module, hasRandomStream, type RandomStream } from '../nn/module.js';
import { fmtShape, numel } from '../tensor.js';
import type { Optimizer, OptimizerStateDict } from './optim.js';

export const CHECKPOINT_FORMAT = 'webgpu-rnn.checkpoint';
export const CHECKPOINT_VERSION = 2;
/** The largest step a checkpoint may record: 2^31 - 1 (a step counter; the optimizer's own f32 counter is exact to 2^24). */
export const MAX_CHECKPOINT_STEP = 2 ** 31 - 1;

export interface CheckpointExtra {
  /** The training step to resume from (steps completed). */
  step: number;
  /** Epochs completed (default 0). */
  epoch?: number;
  /** A schedule's state (PyTorch's `{ last_epoch, base_lrs }`). */
  scheduler?: { last_epoch: number; base_lrs?: number[] };
  /** Host RNG state (e.g. a data shuffler's seed and position); finite numbers, returned as given. */
  rng?: Record<string, number>;
  /** The caller's own state (JSON-serialisable), returned as given. */
  trainer?: Record<string, unknown>;
  /** Free-form strings, returned by `loadCheckpoint`. */
  metadata?: Record<string, string>;
}

export interface LoadedCheckpoint {
  step: number;
  epoch: number;
  scheduler?: { last_epoch: number; base_lrs?: number[] };
  rng?: Record<string, number>;
  trainer?: Record<string, unknown>;
  /** The caller's metadata given to `saveCheckpoint`. */
  metadata: Record<string, string>;
}

const RESERVED = new Set(['format', 'format_version', 'step', 'epoch', 'rng', 'architecture', 'optimizer', 'scheduler', 'trainer']);
const isReserved = (k: string): boolean => RESERVED.has(k) || k.startsWith('optimizer.') || k.startsWith('rng.');

function fail(message: string, cause?: unknown): never {
  throw new Error(`checkpoint: ${message}`, cause === undefined ? undefined : { cause });
}

/** Everything a checkpoint of (model, optimizer) holds, derived from the objects alone. */
interface Layout {
  architecture: Record<string, string>;
  /** Tensor name -> shape (every tensor is F32). */
  expected: Map<string, readonly number[]>;
  params: string[];
  rng: { key: string; m: RandomStream }[];
}

function layoutOf(model: Module, optimizer: Optimizer | null, what: string): Layout {
  if (!model || typeof model !== 'object' || typeof (model as Module).parameters !== 'function' || typeof (model as Module).namedModules !== 'function') {
    fail(`${what}: model must be a Module (parameters(), stateDict(), loadStateDict())`);
  }
  if (optimizer !== null && (!optimizer || typeof optimizer !== 'object' || !Array.isArray(optimizer.paramGroups))) fail(`${what}: optimizer must be an Optimizer or null`);
  const expected = new Map<string, readonly number[]>();
  const add = (name: string, shape: readonly number[]): void => {
    if (expected.has(name)) fail(`${what}: two tensors would be named "${name}"`);
    expected.set(name, shape);
  };
  const architecture: Record<string, string> = {};
  const rng: Layout['rng'] = [];
  const params: string[] = [];
  for (const [path, m] of model.namedModules()) {
    architecture[path || 'self'] = m.constructor.name;
    if (hasRandomStream(m)) {
      const key = `rng.${path || 'self'}`;
      add(`${key}.dropout_counter`, [1]);
      rng.push({ key, m });
    }
  }
  for (const p of model.parameters()) {
    if (isReserved(p.name)) fail(`${what}: parameter name "${p.name}" is reserved for checkpoint state`);
    add(p.name, p.value.shape);
    params.push(p.name);
  }
  if (optimizer) {
    const mine = new Set(model.parameters().map((p) => p.value));
    optimizer.params.forEach((p, i) => {
      if (!mine.has(p.value)) fail(`${what}: the optimizer's parameter ${i} ('${p.name}') is not one of the model's`);
    });
    optimizer.stateShapes().forEach(({ shape, states }, i) => {
      for (const s of states) add(`optimizer.state.${i}.${s}`, shape);
      add(`optimizer.state.${i}.step`, [1]);
    });
  }
  return { architecture, expected, params, rng };
}

const finiteRecord = (what: string, r: unknown): Record<string, number> => {
  if (!r || typeof r !== 'object' || Array.isArray(r)) fail(`${what} must be an object of numbers`);
  for (const [k, v] of Object.entries(r)) if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${what} "${k}" must be a finite number, got ${String(v)}`);
  return r as Record<string, number>;
};

/**
 * Downloads the model's parameters, the optimizer's state and the GPU RNG
 * counters, and encodes them with `extra` as one safetensors file. Call
 * between steps (it submits pending work and reads back).
 */
export async function saveCheckpoint(model: Module, optimizer: Optimizer | null, extra: CheckpointExtra): Promise<Uint8Array> {
  const layout = layoutOf(model, optimizer, 'saveCheckpoint');
  if (!extra || typeof extra !== 'object') fail('saveCheckpoint: extra { step } is required');
  const { step, epoch = 0, rng, metadata: user = {} } = extra;
  for (const [k, v] of Object.entries({ step, epoch })) {
    if (!Number.isSafeInteger(v) || v < 0 || v > MAX_CHECKPOINT_STEP) fail(`saveCheckpoint: ${k} must be an integer in [0, ${MAX_CHECKPOINT_STEP}], got ${String(v)}`);
  }
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    format_version: String(CHECKPOINT_VERSION),
    step: String(step),
    epoch: String(epoch),
    architecture: JSON.stringify(layout.architecture),
  };
  if (rng !== undefined) metadata.rng = JSON.stringify(finiteRecord('saveCheckpoint: rng', rng));
  if (extra.scheduler !== undefined) metadata.scheduler = JSON.stringify(extra.scheduler);
  if (extra.trainer !== undefined) metadata.trainer = JSON.stringify(extra.trainer);
  for (const [k, v] of Object.entries(user)) {
    if (isReserved(k)) fail(`saveCheckpoint: metadata key "${k}" is reserved (${[...RESERVED].join(', ')}, optimizer.*, rng.*)`);
    if (typeof v !== 'string') fail(`saveCheckpoint: metadata "${k}" must be a string, got ${typeof v}`);
    metadata[k] = v;
  }
  const tensors: Record<string, SafeTensor> = {};
  const put = (name: string, data: Float32Array): void => {
    const shape = layout.expected.get(name);
    if (!shape) fail(`saveCheckpoint: unexpected tensor "${name}"`);
    if (data.length !== numel(shape)) fail(`saveCheckpoint: "${name}" has ${data.length} values, ${fmtShape(shape)} needs ${numel(shape)}`);
    tensors[name] = { dtype: 'F32', shape: [...shape], data };
  };
  for (const [k, v] of Object.entries(await model.stateDict())) put(k, v);
  if (optimizer) {
    const sd = await optimizer.stateDict();
    for (const [i, st] of Object.entries(sd.state)) {
      for (const [k, v] of Object.entries(st)) put(`optimizer.state.${i}.${k}`, typeof v === 'number' ? Float32Array.of(v) : Float32Array.from(v));
    }
    metadata.optimizer = JSON.stringify({ kind: optimizer.kind, param_groups: sd.param_groups });
  }
  for (const { key, m } of layout.rng) {
    put(`${key}.dropout_counter`, await m.dropoutCounter.read());
    metadata[`${key}.dropout_seed`] = String(m.dropoutSeed);
  }
  return encodeSafetensors(tensors, metadata);
}

const describeT = (t: { dtype: string; shape: readonly number[] }): string => `${t.dtype} ${fmtShape(t.shape)}`;

function parseJson(meta: Record<string, string>, key: string, problems: string[]): unknown {
  const s = meta[key];
  if (s === undefined) return undefined;
  try {
    return JSON.parse(s);
  } catch (e) {
    problems.push(`metadata "${key}" is not JSON (${e instanceof Error ? e.message : String(e)})`);
    return undefined;
  }
}

function parseInt(meta: Record<string, string>, key: string, problems: string[], max = MAX_CHECKPOINT_STEP): number | undefined {
  const s = meta[key];
  if (s === undefined) return undefined;
  const v = /^\d{1,16}$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(v) || v > max) {
    problems.push(`metadata "${key}" must be an integer in [0, ${max}] (decimal digits), got ${JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}...` : s)}`);
    return undefined;
  }
  return v;
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * Validates `bytes` against the model and optimizer (every tensor present
 * with its shape and dtype, nothing else, the optimizer of the same kind and
 * hyperparameters), then restores the parameters, the optimizer's state
 * (steps, bias corrections, learning rates) and the GPU RNG counters and
 * dropout seeds. Nothing is changed when the file does not fit. Call
 * between steps.
 */
export async function loadCheckpoint(bytes: Uint8Array | ArrayBuffer, model: Module, optimizer: Optimizer | null): Promise<LoadedCheckpoint> {
  const layout = layoutOf(model, optimizer, 'loadCheckpoint');
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
        : `not a webgpu-rnn checkpoint (format "${meta.format.slice(0, 60)}", expected "${CHECKPOINT_FORMAT}")`,
    );
  }
  if (meta.format_version !== String(CHECKPOINT_VERSION)) {
    fail(`format_version "${String(meta.format_version).slice(0, 20)}" is not supported (this library reads ${CHECKPOINT_VERSION}; the parameters of an older file load with decodeSafetensors + model.loadStateDict)`);
  }
  const problems: string[] = [];
  for (const [name, shape] of layout.expected) {
    const t = tensors[name];
    if (!t) problems.push(`missing tensor "${name}": expected F32 ${fmtShape(shape)}`);
    else if (t.dtype !== 'F32' || t.shape.length !== shape.length || t.shape.some((d, j) => d !== shape[j])) {
      problems.push(`tensor "${name}": expected F32 ${fmtShape(shape)}, the file has ${describeT(t)}`);
    }
  }
  for (const [name, t] of Object.entries(tensors)) if (!layout.expected.has(name)) problems.push(`unexpected tensor "${name}" (${describeT(t)})`);
  let optState: OptimizerStateDict | undefined;
  if (optimizer) {
    const o = parseJson(meta, 'optimizer', problems);
    if (o === undefined && meta.optimizer === undefined) problems.push('the file holds no optimizer state (metadata "optimizer"); load it with optimizer null');
    else if (o !== undefined) {
      if (!isObj(o) || !Array.isArray(o.param_groups)) problems.push('metadata "optimizer" must be { kind, param_groups }');
      else if (o.kind !== optimizer.kind) problems.push(`the file holds ${String(o.kind).slice(0, 20)} state, the optimizer is ${optimizer.kind}`);
      else if (!o.param_groups.every(isObj)) problems.push('metadata "optimizer": every param group must be an object');
      else optState = { state: {}, param_groups: o.param_groups as OptimizerStateDict['param_groups'] };
    }
  }
  if (problems.length) {
    // The model's tensors first, then the optimizer's kind and layout, then its state tensors.
    const rank = (p: string) => (/"optimizer\.state\./.test(p) ? 2 : /optimizer/.test(p) ? 1 : 0);
    problems.sort((a, b) => rank(a) - rank(b));
    const shown = problems.slice(0, 12).map((p) => `\n  - ${p}`).join('');
    const more = problems.length > 12 ? `\n  ... and ${problems.length - 12} more` : '';
    const arch = JSON.stringify(layout.architecture);
    const saved = meta.architecture !== undefined && meta.architecture !== arch ? `\nThe file was saved from ${meta.architecture.slice(0, 300)}; this model is ${arch}.` : '';
    fail(`the file does not fit this model and optimizer (another architecture?):${shown}${more}${saved}`);
  }
  // Scalars: all checked before anything is written, so a bad file changes nothing.
  const step = parseInt(meta, 'step', problems);
  if (meta.step === undefined) problems.push('metadata "step" is missing');
  const epoch = parseInt(meta, 'epoch', problems) ?? 0;
  let rng: Record<string, number> | undefined;
  const r = parseJson(meta, 'rng', problems);
  if (r !== undefined) {
    if (!isObj(r) || !Object.values(r).every((v) => typeof v === 'number' && Number.isFinite(v))) problems.push('metadata "rng" must be a JSON object of finite numbers');
    else rng = r as Record<string, number>;
  }
  const sched = parseJson(meta, 'scheduler', problems);
  if (sched !== undefined && !(isObj(sched) && Number.isSafeInteger(sched.last_epoch) && (sched.last_epoch as number) >= 0 && (sched.last_epoch as number) <= MAX_CHECKPOINT_STEP)) {
    problems.push(`metadata "scheduler" must be { last_epoch: an integer in [0, ${MAX_CHECKPOINT_STEP}] }`);
  }
  const trainer = parseJson(meta, 'trainer', problems);
  if (trainer !== undefined && !isObj(trainer)) problems.push('metadata "trainer" must be a JSON object');
  const seeds = layout.rng.map(({ key }) => parseInt(meta, `${key}.dropout_seed`, problems, 2 ** 32 - 1));
  for (const { key } of layout.rng) {
    const c = tensors[`${key}.dropout_counter`]!.data[0] as number;
    if (!Number.isInteger(c) || c < 0 || c > 2 ** 24) problems.push(`tensor "${key}.dropout_counter" must hold an integer in [0, 2^24], got ${c}`);
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
  const f32 = (name: string): Float32Array => tensors[name]!.data as Float32Array;
  const params: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
  for (const k of layout.params) params[k] = { shape: tensors[k]!.shape, data: f32(k) };
  if (optState && optimizer) {
    optimizer.stateShapes().forEach(({ states }, i) => {
      const st: Record<string, Float32Array | number> = { step: f32(`optimizer.state.${i}.step`)[0]! };
      for (const s of states) st[s] = f32(`optimizer.state.${i}.${s}`);
      optState!.state[i] = st;
    });
  }
  if (problems.length) fail(`invalid checkpoint:${problems.map((p) => `\n  - ${p}`).join('')}`);
  // Both check everything first: a refusal changes nothing.
  const attempt = (what: string, f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      fail(`${what}: ${e instanceof Error ? e.message : String(e)}`, e);
    }
  };
  attempt('the parameter tensors', () => model.checkStateDict(params));
  if (optState && optimizer) attempt('the optimizer state (metadata "optimizer", tensors "optimizer.state.*")', () => optimizer.checkStateDict(optState!));
  model.loadStateDict(params);
  if (optState && optimizer) optimizer.loadStateDict(optState);
  layout.rng.forEach(({ key, m }, j) => {
    m.dropoutCounter.write(f32(`${key}.dropout_counter`));
    const seed = seeds[j];
    if (seed !== undefined) m.dropoutSeed = seed;
  });
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) if (!isReserved(k)) metadata[k] = v;
  return {
    step: step!,
    epoch,
    ...(isObj(sched) ? { scheduler: sched as LoadedCheckpoint['scheduler'] } : {}),
    ...(rng ? { rng } : {}),
    ...(isObj(trainer) ? { trainer } : {}),
    metadata,
  };
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
