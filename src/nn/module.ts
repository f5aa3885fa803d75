/**
 * `Module`: the one contract of everything with parameters, as
 * `torch.nn.Module`. A module owns at most one parameter arena and one
 * gradient arena of the same table (PyTorch names and shapes), and any
 * number of named children; names compose as PyTorch's do (`rnn.weight_ih_l0`,
 * `0.weight`), so state-dict keys stay PyTorch's.
 *
 *   parameters()            [{ name, value, grad }] of the whole tree (named_parameters)
 *   train() / eval()        the mode, propagated to every child (`training` reads it)
 *   stateDict()             downloads every parameter, by name
 *   loadStateDict(d, o)     exact shapes; strict by default (missing or unexpected keys refused);
 *                           everything is checked before anything is written
 *   zeroGrad()              one fill per gradient arena
 *   numParameters()         the parameter count
 *   summary()               a Keras-like table: name, type, shape, count
 *
 * Forward and backward are each module's own (a layer maps a tensor to a
 * tensor or to a result object with `output`/`logits`; `outputOf` and
 * `inputGradOf` read either), so containers and the Trainer call any of them.
 */
import { fill } from '../ops.js';
import type { Runtime } from '../runtime.js';
import { type Arena, type ArenaTable, Tensor, fmtShape, numel } from '../tensor.js';

/** A parameter as PyTorch's `named_parameters()` gives it: its name, its values and its gradient, on the GPU. */
export interface Parameter {
  name: string;
  value: Tensor;
  grad: Tensor;
}

/** A state-dict value: values (flat), a tensor, or values with their shape (as `decodeSafetensors` gives them). */
export type StateValue = Float32Array | Tensor | ArrayLike<number> | { shape: readonly number[]; data: ArrayLike<number> };
export type StateDict = Record<string, StateValue>;

export interface LoadStateOptions {
  /** Refuse missing and unexpected keys (default true, as PyTorch). Shapes must match either way. */
  strict?: boolean;
}

export interface LoadStateResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** What a forward may return: a tensor, or a result object holding the output. */
export type ForwardOutput = Tensor | { output: Tensor } | { logits: Tensor } | { outputs: Tensor };
/** What a backward may return: the input's gradient, or a result object holding it (or nothing, for a model's first layer). */
export type BackwardOutput = Tensor | { dx: Tensor } | void;

/** The tensor a forward produced: itself, or the result's `output` / `logits` / `outputs`. */
export function outputOf(r: unknown, who = 'forward'): Tensor {
  if (r instanceof Tensor) return r;
  const o = r as { output?: unknown; logits?: unknown; outputs?: unknown } | null;
  const t = o?.output ?? o?.logits ?? o?.outputs;
  if (t instanceof Tensor) return t;
  throw new Error(`${who}: expected a Tensor or a result with output, logits or outputs, got ${o === null ? 'null' : typeof r}`);
}

/** The input gradient a backward produced: itself or the result's `dx`; null when there is none. */
export function inputGradOf(r: unknown): Tensor | null {
  if (r instanceof Tensor) return r;
  const d = (r as { dx?: unknown } | null | undefined)?.dx;
  return d instanceof Tensor ? d : null;
}

/** A module with a GPU dropout stream, as checkpoints restore it (Recurrent, Dropout). */
export interface RandomStream {
  /** [1] GPU counter advanced once per training forward. */
  readonly dropoutCounter: Tensor;
  dropoutSeed: number;
}

export function hasRandomStream(m: unknown): m is RandomStream {
  return !!m && (m as RandomStream).dropoutCounter instanceof Tensor && typeof (m as RandomStream).dropoutSeed === 'number';
}

function shapeOfValue(v: StateValue): { shape: readonly number[] | null; length: number } | null {
  if (v instanceof Tensor) return { shape: v.shape, length: v.size };
  if (v && typeof v === 'object' && 'shape' in v && 'data' in v) {
    const s = v.shape;
    if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 0)) return null;
    return { shape: s, length: (v.data as ArrayLike<number>)?.length ?? -1 };
  }
  if ((ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array)) || Array.isArray(v)) return { shape: null, length: (v as ArrayLike<number>).length };
  return null;
}

function describeValue(v: unknown): string {
  if (v instanceof Tensor) return `a tensor ${fmtShape(v.shape)}`;
  if (v && typeof v === 'object' && 'shape' in v) return `shape ${JSON.stringify((v as { shape: unknown }).shape)}`;
  if (v instanceof Float32Array || Array.isArray(v)) return `${v.length} values`;
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  return v === null ? 'null' : typeof v;
}

/** Checks one state-dict value against its parameter's shape; the problem in words, or null. */
function checkValue(key: string, v: StateValue, shape: readonly number[]): string | null {
  const got = shapeOfValue(v);
  const want = `${fmtShape(shape)} (${numel(shape)} values)`;
  if (!got) return `'${key}' must be a Float32Array, an array of numbers, a Tensor or { shape, data } of ${want}, got ${describeValue(v)}`;
  if (got.shape && (got.shape.length !== shape.length || got.shape.some((d, i) => d !== shape[i]))) {
    return `'${key}' must be ${fmtShape(shape)}, got ${fmtShape(got.shape)}`;
  }
  if (got.length !== numel(shape)) return `'${key}' must have ${want}, got ${got.length}`;
  if (!(v instanceof Tensor)) {
    const data = (v as { data?: ArrayLike<number> }).data ?? (v as ArrayLike<number>);
    for (let i = 0; i < data.length; i++) {
      const x = data[i];
      if (typeof x !== 'number' || !Number.isFinite(x)) return `'${key}'[${i}] must be a finite number, got ${String(x)}`;
    }
  }
  return null;
}

function valuesOf(v: StateValue): ArrayLike<number> {
  return v && typeof v === 'object' && 'data' in v && 'shape' in v ? (v.data as ArrayLike<number>) : (v as ArrayLike<number>);
}

export abstract class Module {
  abstract readonly rt: Runtime;
  /** Training mode (default, as PyTorch): dropout applies. `train()` / `eval()` set it through the tree. */
  training = true;

  /** The module's own parameter arena, if it has parameters of its own. */
  protected ownParams(): Arena | null {
    return null;
  }
  /** The module's own gradient arena (the layout of `ownParams()`). */
  protected ownGrads(): Arena | null {
    return null;
  }

  /** Named submodules, in order (their state-dict prefixes). */
  children(): Record<string, Module> {
    return {};
  }

  /** This module and every descendant with its dotted path ('' for this one), depth first. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [k, m] of Object.entries(this.children())) out.push(...m.namedModules(prefix ? `${prefix}.${k}` : k));
    return out;
  }

  /** Name, values and gradient of every parameter of the tree (PyTorch's named_parameters), in state-dict order. */
  parameters(): Parameter[] {
    const out: Parameter[] = [];
    for (const [path, m] of this.namedModules()) {
      const p = m.ownParams();
      const g = m.ownGrads();
      if (!p || !g) continue;
      for (const [k, value] of Object.entries(p.tensors)) out.push({ name: path ? `${path}.${k}` : k, value, grad: g.tensors[k]! });
    }
    return out;
  }

  /** Every parameter's name and shape, in state-dict order. */
  parameterShapes(): Record<string, readonly number[]> {
    const out: Record<string, readonly number[]> = {};
    for (const p of this.parameters()) out[p.name] = p.value.shape;
    return out;
  }

  /** The number of parameters (elements). */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.value.size, 0);
  }

  /** Every gradient arena of the tree (for clipping: one reduction per arena). */
  gradientArenas(): Arena[] {
    return this.namedModules()
      .map(([, m]) => m.ownGrads())
      .filter((g): g is Arena => g !== null);
  }

  /** Training mode on (default) or off, for this module and every descendant; returns this. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (no dropout), through the tree. */
  eval(): this {
    return this.train(false);
  }

  /** Sets every gradient to zero (one dispatch per gradient arena). */
  zeroGrad(): void {
    for (const g of this.gradientArenas()) fill(this.rt, g.all, 0);
  }

  private async readArenas(which: 'params' | 'grads'): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = {};
    for (const [path, m] of this.namedModules()) {
      const a = which === 'params' ? m.ownParams() : m.ownGrads();
      if (!a) continue;
      for (const [k, v] of Object.entries(await a.read())) out[path ? `${path}.${k}` : k] = v;
    }
    return out;
  }

  /** Downloads every parameter, by PyTorch name (one read per arena). */
  stateDict(): Promise<Record<string, Float32Array>> {
    return this.readArenas('params');
  }

  /** Downloads the accumulated gradients, same keys as `stateDict()`. */
  grads(): Promise<Record<string, Float32Array>> {
    return this.readArenas('grads');
  }

  /**
   * Loads parameters by name. Every value must have its parameter's exact
   * shape (a Tensor's or `{ shape, data }`'s shape; a flat array's length)
   * and finite values; with `strict` (default) the keys must be exactly the
   * parameters. Everything is checked before anything is written: a refused
   * load changes nothing.
   */
  loadStateDict(dict: StateDict, o: LoadStateOptions = {}): LoadStateResult {
    const res = this.checkStateDict(dict, o);
    for (const p of this.parameters()) {
      if (!(p.name in dict)) continue;
      const v = dict[p.name]!;
      if (v instanceof Tensor) this.rt.copy(v, p.value);
      else p.value.write(valuesOf(v));
    }
    return res;
  }

  /** `loadStateDict`'s checks alone: throws what it would refuse, writes nothing. */
  checkStateDict(dict: StateDict, o: LoadStateOptions = {}): LoadStateResult {
    const who = `${this.constructor.name}.loadStateDict`;
    if (!dict || typeof dict !== 'object' || Array.isArray(dict)) throw new Error(`${who}: expected an object of tensors by name, got ${describeValue(dict)}`);
    const strict = o.strict ?? true;
    const params = this.parameters();
    const byName = new Map(params.map((p) => [p.name, p]));
    const missingKeys = params.map((p) => p.name).filter((k) => !Object.prototype.hasOwnProperty.call(dict, k));
    const unexpectedKeys = Object.keys(dict).filter((k) => !byName.has(k));
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected ${unexpectedKeys.join(', ')}`);
    for (const p of params) {
      if (!(p.name in dict)) continue;
      const why = checkValue(p.name, dict[p.name]!, p.value.shape);
      if (why) problems.push(why);
      else if (dict[p.name] instanceof Tensor && (dict[p.name] as Tensor).rt !== this.rt) problems.push(`'${p.name}' is a tensor of another runtime`);
    }
    if (problems.length) {
      const shown = problems.slice(0, 8).join('; ');
      throw new Error(`${who}: ${shown}${problems.length > 8 ? `; and ${problems.length - 8} more` : ''}`);
    }
    return { missingKeys, unexpectedKeys };
  }

  /** A Keras-like table: every parameter's name, its module's type, shape and count, and the total. */
  summary(): string {
    const rows: [string, string, string, string][] = [['parameter', 'module', 'shape', 'count']];
    let total = 0;
    for (const [path, m] of this.namedModules()) {
      const p = m.ownParams();
      if (!p) continue;
      for (const [k, t] of Object.entries(p.tensors)) {
        rows.push([path ? `${path}.${k}` : k, m.constructor.name, fmtShape(t.shape), t.size.toLocaleString('en-US')]);
        total += t.size;
      }
    }
    const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => r.map((c, i) => (i === 3 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ');
    const rule = '-'.repeat(w.reduce((a, b) => a + b + 2, -2));
    return [
      `${this.constructor.name}`,
      rule,
      line(rows[0]!),
      rule,
      ...rows.slice(1).map(line),
      rule,
      `total parameters: ${total.toLocaleString('en-US')}`,
    ].join('\n');
  }

  /** Frees the module's buffers and its children's. */
  destroy(): void {
    for (const c of Object.values(this.children())) c.destroy();
    const p = this.ownParams();
    const g = this.ownGrads();
    if (p || g) this.rt.submit();
    p?.buffer.destroy();
    g?.buffer.destroy();
  }
}

/**
 * A module whose parameters live in one arena of its own (and its gradients
 * in a second of the same table): Linear, Embedding, RNN/LSTM/GRU, WaveNet.
 */
export abstract class ArenaModule extends Module {
  /** Parameters, by PyTorch `state_dict` name. */
  params!: Arena;
  /** Gradients, same names and layout as `params`. */
  gradients!: Arena;

  /** Lays out the parameter and gradient arenas from `table` (call once, in the constructor). */
  protected initArenas(table: ArenaTable, label: string): void {
    this.params = this.rt.arena(table, `${label}.params`);
    this.gradients = this.rt.arena(table, `${label}.grads`);
  }
  protected override ownParams(): Arena {
    return this.params;
  }
  protected override ownGrads(): Arena {
    return this.gradients;
  }
}

/**
 * A module made of named children (the models): the Module methods come from
 * the children; `buffer()` keeps scratch tensors of its own by purpose,
 * destroyed with it.
 */
export abstract class Container extends Module {
  protected readonly scratch = new Map<string, Tensor>();
  constructor(readonly rt: Runtime) {
    super();
  }

  /** A zero-initialised buffer of `shape` kept under `key`; re-made (old one freed) when the shape changes. */
  protected buffer(key: string, shape: readonly number[]): Tensor {
    const t = this.scratch.get(key);
    if (t && t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])) return t;
    if (t) t.destroy(); // submits recorded work that may use it first
    const n = this.rt.zeros(shape, `${this.constructor.name}.${key}`);
    this.scratch.set(key, n);
    return n;
  }

  override destroy(): void {
    this.rt.submit();
    for (const t of this.scratch.values()) t.buffer.destroy();
    this.scratch.clear();
    super.destroy();
  }
}
