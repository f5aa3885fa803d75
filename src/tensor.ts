import type { Runtime } from './runtime.js';

/** Element count of a shape (1 for a scalar `[]`). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(what: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${what}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

export const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Buffers destroyed so far (by whoever called `destroy()` on them): see `trackDestroy`. */
const destroyedBuffers = new WeakSet<GPUBuffer>();

/**
 * Makes `buffer.destroy()` note the destruction, so every later use of a
 * tensor over it (bind, dispatch, write, read, copy) throws at once naming
 * the tensor, instead of a WebGPU validation error at the next sync.
 */
export function trackDestroy(buffer: GPUBuffer): GPUBuffer {
  const destroy = buffer.destroy;
  buffer.destroy = function (this: GPUBuffer): undefined {
    destroyedBuffers.add(buffer);
    return destroy.call(this);
  };
  return buffer;
}

/** Throws if `t`'s buffer was destroyed; `what` names the use. */
export function checkLive(what: string, t: Tensor): void {
  if (destroyedBuffers.has(t.buffer)) throw new Error(`${what}: ${t.label} was destroyed (its buffer is freed); it cannot be used`);
}

/**
 * Checks an argument before a call changes anything: a live Tensor of
 * runtime `rt`. Layers call it first, so a refused call leaves them as they were.
 */
export function checkTensor(who: string, arg: string, t: unknown, rt: Runtime): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new Error(`${who}: ${arg} must be a Tensor, got ${t === null ? 'null' : typeof t}`);
  if (t.rt !== rt) throw new Error(`${who}: ${arg} (${t.label}) belongs to another runtime`);
  checkLive(`${who}: ${arg}`, t);
}

/**
 * A typed f32 view into a GPU buffer: `shape` row-major, starting `byteOffset`
 * bytes into `buffer`. Several tensors may share one buffer (an arena).
 */
export class Tensor {
  readonly dtype = 'f32' as const;

  constructor(
    readonly rt: Runtime,
    readonly buffer: GPUBuffer,
    readonly byteOffset: number,
    readonly shape: readonly number[],
    readonly label = 'tensor',
  ) {
    checkShape(label, shape);
    if (byteOffset % 4 !== 0) throw new Error(`${label}: byteOffset ${byteOffset} is not a multiple of 4`);
    if (byteOffset + this.byteLength > buffer.size) {
      throw new Error(
        `${label}: view ${fmtShape(shape)} at byte ${byteOffset} needs ${byteOffset + this.byteLength} bytes, buffer has ${buffer.size}`,
      );
    }
  }

  get size(): number {
    return numel(this.shape);
  }
  get byteLength(): number {
    return this.size * 4;
  }
  get ndim(): number {
    return this.shape.length;
  }

  /** A view of `shape` starting `elementOffset` elements into this tensor. */
  view(shape: readonly number[], elementOffset = 0, label = `${this.label}.view`): Tensor {
    checkShape(label, shape);
    if (!Number.isInteger(elementOffset) || elementOffset < 0 || elementOffset + numel(shape) > this.size) {
      throw new Error(
        `${this.label}.view: ${fmtShape(shape)} at element ${elementOffset} does not fit in ${fmtShape(this.shape)} (${this.size} elements)`,
      );
    }
    return new Tensor(this.rt, this.buffer, this.byteOffset + elementOffset * 4, shape, label);
  }

  /** The same elements under another shape of equal size. */
  reshape(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.size) {
      throw new Error(`${this.label}.reshape: cannot view ${fmtShape(this.shape)} as ${fmtShape(shape)}`);
    }
    return new Tensor(this.rt, this.buffer, this.byteOffset, shape, this.label);
  }

  /** Row `i` of the first dimension, as a tensor of the remaining shape. */
  index(i: number): Tensor {
    const [n, ...rest] = this.shape;
    if (n === undefined || !Number.isInteger(i) || i < 0 || i >= n) {
      throw new Error(`${this.label}.index: ${i} out of range for ${fmtShape(this.shape)}`);
    }
    return this.view(rest, i * numel(rest), `${this.label}[${i}]`);
  }

  /** Downloads the tensor (submitting pending work first). */
  read(): Promise<Float32Array> {
    return this.rt.read(this);
  }

  /** Frees this tensor's buffer (a tensor that owns its buffer), after submitting recorded work. */
  destroy(): void {
    this.rt.submit();
    this.buffer.destroy();
  }

  /** Uploads `data` (exactly `size` values), after pending work that may read the old values. */
  write(data: ArrayLike<number>): void {
    this.rt.write(this, data);
  }
}

/** A table of named shapes, laid out in one buffer. */
export type ArenaTable = Record<string, readonly number[]>;

/**
 * One GPU buffer holding many tensors, laid out once from a table of shapes,
 * each aligned to the device's storage-offset alignment. Bytes between
 * tensors stay zero (the buffer is zero-initialised and no kernel writes
 * outside a tensor), so `all` can be reduced over as one flat tensor.
 */
export class Arena {
  readonly tensors: Readonly<Record<string, Tensor>>;
  /** The whole buffer as one flat tensor (padding included, zero). */
  readonly all: Tensor;
  readonly offsets: Readonly<Record<string, number>>;

  constructor(
    readonly rt: Runtime,
    readonly table: ArenaTable,
    readonly buffer: GPUBuffer,
    offsets: Record<string, number>,
    readonly label: string,
  ) {
    this.offsets = offsets;
    const tensors: Record<string, Tensor> = {};
    for (const [name, shape] of Object.entries(table)) {
      tensors[name] = new Tensor(rt, buffer, offsets[name]!, shape, `${label}.${name}`);
    }
    this.tensors = tensors;
    this.all = new Tensor(rt, buffer, 0, [buffer.size / 4], `${label}.all`);
  }

  get byteLength(): number {
    return this.buffer.size;
  }

  /**
   * Uploads a state dict: every entry of the table must be present with its
   * size (a Tensor also with its exact shape), and nothing else; all checked
   * before anything is written. `who` names the caller in errors.
   */
  load(dict: Record<string, Float32Array | Tensor | ArrayLike<number>>, who: string): void {
    this.check(dict, who);
    for (const k of Object.keys(this.table)) {
      const v = dict[k]!;
      const dst = this.tensors[k]!;
      if (v instanceof Tensor) this.rt.copy(v, dst);
      else dst.write(v);
    }
  }

  /**
   * What `load` checks, without writing: the keys, each value's size (and a
   * Tensor's shape, runtime and liveness), and that the values are numbers,
   * all finite: a Float32Array, another numeric typed array, an array of
   * numbers, or a Tensor. (A string of the right length used to load as NaNs.)
   */
  check(dict: Record<string, Float32Array | Tensor | ArrayLike<number>>, who: string): void {
    const table = this.table;
    if (!dict || typeof dict !== 'object') throw new Error(`${who}: expected an object of tensors`);
    const missing = Object.keys(table).filter((k) => !(k in dict));
    const extra = Object.keys(dict).filter((k) => !(k in table));
    if (missing.length || extra.length) {
      const parts = [];
      if (missing.length) parts.push(`missing ${missing.join(', ')}`);
      if (extra.length) parts.push(`unexpected ${extra.join(', ')}`);
      throw new Error(`${who}: ${parts.join('; ')}`);
    }
    for (const [k, shape] of Object.entries(table)) {
      const v = dict[k]!;
      const n = numel(shape);
      if (v instanceof Tensor) {
        if (v.shape.length !== shape.length || v.shape.some((d, i) => d !== shape[i])) {
          throw new Error(`${who}: '${k}' must be ${fmtShape(shape)}, got ${fmtShape(v.shape)}`);
        }
        checkTensor(who, `'${k}'`, v, this.rt);
        continue;
      }
      const numeric = Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array));
      if (!numeric) {
        const got = v === null ? 'null' : ArrayBuffer.isView(v) ? v.constructor.name : typeof v;
        throw new Error(`${who}: '${k}' must be a Float32Array, a Tensor or an array of finite numbers, got ${got}`);
      }
      const a = v as ArrayLike<unknown>;
      if (a.length !== n) throw new Error(`${who}: '${k}' must have ${n} values (${fmtShape(shape)}), got ${a.length}`);
      for (let i = 0; i < n; i++) {
        const x = a[i];
        if (typeof x !== 'number' || !Number.isFinite(x)) {
          throw new Error(`${who}: '${k}'[${i}] is ${typeof x === 'number' ? x : `${typeof x} ${JSON.stringify(x)}`}; parameter values must be finite numbers`);
        }
      }
    }
  }

  /** Downloads every tensor (one read-back of the whole buffer), by name. */
  async read(): Promise<Record<string, Float32Array>> {
    const all = await this.all.read();
    const out: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(this.tensors)) {
      const at = this.offsets[k]! / 4;
      out[k] = all.slice(at, at + t.size);
    }
    return out;
  }

  /** Lays out `table`: byte offsets aligned to `align`, and the total size. */
  static plan(table: ArenaTable, align: number): { offsets: Record<string, number>; bytes: number } {
    const offsets: Record<string, number> = {};
    let at = 0;
    for (const [name, shape] of Object.entries(table)) {
      checkShape(`arena entry '${name}'`, shape);
      offsets[name] = at;
      at += Math.ceil((numel(shape) * 4) / align) * align;
    }
    return { offsets, bytes: Math.max(at, align) };
  }

  /** Frees the buffer, after submitting work already recorded that may use it. */
  destroy(): void {
    this.rt.submit();
    this.buffer.destroy();
  }
}
