/**
 * Checkpoints in the safetensors format (https://github.com/huggingface/safetensors),
 * dependency free, for the browser and Node.
 *
 * Layout: 8 bytes N (little-endian u64), N bytes of UTF-8 JSON
 *   { "__metadata__"?: { string: string },
 *     name: { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ... }
 * (the writer pads it with spaces to a multiple of 8), then the byte buffer:
 * tensors row-major, little-endian, at offsets relative to the buffer's start.
 *
 * The reader follows the reference reader's rules (safetensors `read_metadata`
 * and `Metadata::validate`), with a smaller header limit (8 MiB by default,
 * see DEFAULT_MAX_HEADER_BYTES; the reference allows 100,000,000), the
 * tensors sorted by offset tile the buffer exactly (no overlap, no gap, no
 * trailing byte), and each tensor's byte length is numel(shape) * dtype size.
 * Before the header is parsed, one linear scan checks its nesting (at most 3
 * levels: header, entry, shape) so a crafted file cannot exhaust the stack.
 * Every check happens before anything large is allocated; errors are `Error`s
 * whose message starts with "safetensors: ".
 *
 * The writer produces what the reference `serialize` produces for the same
 * tensors (tensors ordered by descending dtype alignment, then by name, so
 * every tensor's data is aligned to its element size; `__metadata__` first,
 * its keys sorted), so `safetensors.torch.load_file` reads it and the bytes
 * do not depend on insertion order.
 */

/** Element size in bytes of each supported dtype, in the reference's `Dtype` order (ascending alignment). */
const DTYPES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type SafeDtype = keyof typeof DTYPES;

const DTYPE_NAMES = Object.keys(DTYPES) as SafeDtype[];
const DTYPE_RANK = new Map<string, number>(DTYPE_NAMES.map((d, i) => [d, i]));

/** The typed array that holds each dtype's elements (F16/BF16 as raw bits, F8 and BOOL as bytes). */
const ARRAYS = {
  BOOL: Uint8Array,
  U8: Uint8Array,
  I8: Int8Array,
  F8_E5M2: Uint8Array,
  F8_E4M3: Uint8Array,
  I16: Int16Array,
  U16: Uint16Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I32: Int32Array,
  U32: Uint32Array,
  F32: Float32Array,
  F64: Float64Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
} as const;

export type SafeTensorData =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

export interface SafeTensor {
  /** 'F32' | 'F64' | 'I32' | 'I64' | 'U8' | 'F16' | 'BF16' | ... (see `SafeDtype`). */
  dtype: SafeDtype | (string & {});
  /** Row-major; `[]` is a scalar (one element). */
  shape: number[];
  /** F32 Float32Array, F64 Float64Array, I32 Int32Array, I64 BigInt64Array, U8/BOOL/F8_* Uint8Array,
   *  I8 Int8Array, I16 Int16Array, U16/F16/BF16 Uint16Array (raw bits), U32 Uint32Array, U64 BigUint64Array. */
  data: SafeTensorData;
}

export interface DecodeOptions {
  /** Largest accepted header, in bytes; default 8 MiB (`DEFAULT_MAX_HEADER_BYTES`). */
  maxHeaderBytes?: number;
}

/**
 * 8 MiB. A header entry is about 100-130 bytes (name, dtype, shape, two
 * offsets of up to 10 digits). The largest parameter tables this library
 * builds stay far below 10,000 entries per checkpoint: a 1,000-layer WaveNet
 * (10 tensors per layer) saved with AMSGrad Adam (parameters plus three
 * moment tensors each) is 40,000 entries, about 5 MB
 * (test/safetensors-limits.test.ts computes it). The reference's 100,000,000
 * let a crafted header cost ~20 s and ~2 GB to parse before any refusal;
 * pass `maxHeaderBytes` to read a larger foreign file.
 */
export const DEFAULT_MAX_HEADER_BYTES = 8 * 1024 * 1024;

/** Levels of nesting a valid header has: the header object, an entry object, its shape / data_offsets array. */
const MAX_DEPTH = 3;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fail(message: string, cause?: unknown): never {
  throw new Error(`safetensors: ${message}`, cause === undefined ? undefined : { cause });
}

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** A short, printable rendering of an arbitrary (JSON) value for error messages (never recursing without bound). */
function show(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'bigint' ? `${v}n` : v === undefined ? 'undefined' : (JSON.stringify(v) ?? String(v));
  } catch {
    s = typeof v === 'object' && v !== null ? `(${kind(v)})` : String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * One pass over the header's JSON text, before JSON.parse: refuses nesting
 * deeper than MAX_DEPTH naming the top-level key it is under. Linear time,
 * constant stack. Strings are skipped with their escapes; anything else
 * malformed is left for JSON.parse to report.
 */
function checkNesting(text: string): void {
  let depth = 0;
  let key = ''; // the last string seen directly inside the header object
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i + 1;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      if (depth === 1 && expectKey) {
        key = text.slice(start, Math.min(i, start + 200));
        expectKey = false;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth > MAX_DEPTH) {
        const where = depth > 1 && key !== '' ? `"${key}"` : 'the header';
        fail(`${where}: nested deeper than ${MAX_DEPTH} levels (an entry is { dtype, shape, data_offsets } with arrays of numbers)`);
      }
      if (depth === 1) expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectKey = true;
    }
  }
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  return typeof v;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);

const isShape = (s: unknown): s is number[] =>
  Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && d >= 0);

/** Element count; 0 if any dimension is 0 (so huge dimensions next to a 0 cannot produce NaN). */
function numel(shape: readonly number[]): number {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A lone UTF-16 surrogate cannot be encoded as UTF-8; serde_json rejects the `\ud800` escape JSON.stringify would write. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Sets an own enumerable property, also for the name "__proto__". */
function put<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Reverses the bytes of each `size`-byte element in place (only used on big-endian hosts). */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

interface Prepared {
  name: string;
  dtype: SafeDtype;
  shape: number[];
  bytes: Uint8Array;
}

/**
 * Serializes tensors (and optional string metadata) to safetensors bytes.
 * Entries are `{ dtype, shape, data }`; a bare Float32Array is a 1-D F32 tensor.
 */
export function encodeSafetensors(
  tensors: Record<string, SafeTensor | (Float32Array & { shape?: never })>,
  metadata?: Record<string, string>,
): Uint8Array {
  if (!isPlainObject(tensors)) fail(`tensors must be an object of { dtype, shape, data }, got ${kind(tensors)}`);
  const prepared: Prepared[] = [];
  for (const name of Object.keys(tensors)) {
    if (name === '') fail('tensor name must be a non-empty string');
    if (name === '__metadata__') fail('tensor name "__metadata__" is reserved for the metadata');
    if (LONE_SURROGATE.test(name)) fail(`tensor name ${show(name)} is not valid Unicode (lone surrogate)`);
    const entry: unknown = tensors[name];
    let dtype: unknown;
    let shape: unknown;
    let data: unknown;
    if (entry instanceof Float32Array) {
      [dtype, shape, data] = ['F32', [entry.length], entry];
    } else if (isPlainObject(entry)) {
      ({ dtype, shape, data } = entry);
    } else {
      fail(`tensor "${name}": expected { dtype, shape, data } or a Float32Array, got ${kind(entry)}`);
    }
    if (typeof dtype !== 'string' || !DTYPE_RANK.has(dtype)) {
      fail(`tensor "${name}": unknown dtype ${show(dtype)} (known: ${DTYPE_NAMES.join(', ')})`);
    }
    const d = dtype as SafeDtype;
    if (!isShape(shape)) fail(`tensor "${name}": shape must be an array of non-negative integers, got ${show(shape)}`);
    const Ctor = ARRAYS[d];
    if (!(data instanceof Ctor)) fail(`tensor "${name}": dtype ${d} needs data as a ${Ctor.name}, got ${kind(data)}`);
    const n = numel(shape);
    if (data.length !== n) {
      fail(`tensor "${name}": shape ${fmtShape(shape)} has ${n} elements, data has ${data.length}`);
    }
    prepared.push({ name, dtype: d, shape: [...shape], bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
  }

  const meta: [string, string][] = [];
  if (metadata !== undefined && metadata !== null) {
    if (!isPlainObject(metadata)) fail(`metadata must be an object of strings, got ${kind(metadata)}`);
    for (const key of Object.keys(metadata).sort()) {
      const value: unknown = metadata[key];
      if (typeof value !== 'string') fail(`metadata "${key}" must be a string, got ${kind(value)}`);
      if (LONE_SURROGATE.test(key) || LONE_SURROGATE.test(value)) {
        fail(`metadata "${key}" is not valid Unicode (lone surrogate)`);
      }
      meta.push([key, value]);
    }
  }

  // The reference order: descending dtype alignment, then name (code-unit order).
  prepared.sort(
    (a, b) => DTYPE_RANK.get(b.dtype)! - DTYPE_RANK.get(a.dtype)! || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );

  const parts: string[] = [];
  if (metadata !== undefined && metadata !== null) {
    parts.push(`"__metadata__":{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  let offset = 0;
  for (const t of prepared) {
    const end = offset + t.bytes.length;
    parts.push(
      `${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const n = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let at = 8 + n;
  for (const t of prepared) {
    out.set(t.bytes, at);
    if (!LITTLE_ENDIAN) swapBytes(out.subarray(at, at + t.bytes.length), DTYPES[t.dtype]);
    at += t.bytes.length;
  }
  return out;
}

interface Entry {
  name: string;
  dtype: SafeDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Parses and validates safetensors bytes; tensor data is copied into typed arrays. */
export function decodeSafetensors(
  bytes: Uint8Array,
  opts: DecodeOptions = {},
): { tensors: Record<string, SafeTensor>; metadata: Record<string, string> } {
  if (!(bytes instanceof Uint8Array)) fail(`expected a Uint8Array, got ${kind(bytes)}`);
  const maxHeaderBytes = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (!Number.isSafeInteger(maxHeaderBytes) || maxHeaderBytes < 0) {
    fail(`maxHeaderBytes must be a non-negative integer, got ${show(maxHeaderBytes)}`);
  }
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for the 8-byte header length`);

  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(maxHeaderBytes)) {
    fail(`header length ${headerLength} exceeds the limit of ${maxHeaderBytes} bytes (maxHeaderBytes)`);
  }
  if (headerLength > BigInt(bytes.length - 8)) {
    fail(`header length ${headerLength} exceeds the ${bytes.length - 8} bytes that follow it`);
  }
  const n = Number(headerLength);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch (e) {
    fail('header is not valid UTF-8', e);
  }
  checkNesting(text);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail('header is not valid JSON', e);
  }
  if (!isPlainObject(header)) fail(`header must be a JSON object, got ${kind(header)}`);

  const dataLength = bytes.length - 8 - n;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const name of Object.keys(header)) {
    const value = header[name];
    if (name === '__metadata__') {
      if (value === null) continue; // serde reads null as an absent Option
      if (!isPlainObject(value)) fail(`__metadata__ must be an object of strings, got ${kind(value)}`);
      for (const key of Object.keys(value)) {
        const v = value[key];
        if (typeof v !== 'string') fail(`__metadata__ "${key}" must be a string, got ${kind(v)}`);
        put(metadata, key, v);
      }
      continue;
    }
    const what = `tensor "${name}"`;
    if (!isPlainObject(value)) fail(`${what}: expected an object with dtype, shape and data_offsets, got ${kind(value)}`);
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      if (!(field in value)) fail(`${what}: missing "${field}"`);
    }
    const { dtype, shape, data_offsets: offsets } = value;
    if (typeof dtype !== 'string') fail(`${what}: dtype must be a string, got ${show(dtype)}`);
    if (!isShape(shape)) fail(`${what}: shape must be an array of non-negative integers, got ${show(shape)}`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(`${what}: data_offsets must be [begin, end] with non-negative integers, got ${show(offsets)}`);
    }
    if (!DTYPE_RANK.has(dtype)) fail(`${what}: unknown dtype ${show(dtype)} (known: ${DTYPE_NAMES.join(', ')})`);
    const d = dtype as SafeDtype;
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`${what}: data_offsets [${begin}, ${end}] begin after they end`);
    if (end > dataLength) {
      fail(`${what}: data_offsets [${begin}, ${end}] go past the end of the data (${dataLength} bytes; truncated file?)`);
    }
    const need = numel(shape) * DTYPES[d];
    if (need !== end - begin) {
      fail(`${what}: ${d} of shape ${fmtShape(shape)} needs ${need} bytes, data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    entries.push({ name, dtype: d, shape, begin, end });
  }

  // Sorted by offsets, the tensors must tile [0, dataLength) exactly.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: Entry | undefined;
  for (const e of entries) {
    if (e.begin < cursor) {
      fail(`tensors "${previous!.name}" [${previous!.begin}, ${previous!.end}) and "${e.name}" [${e.begin}, ${e.end}) overlap`);
    }
    if (e.begin > cursor) fail(`bytes [${cursor}, ${e.begin}) of the data are not covered by any tensor`);
    cursor = e.end;
    previous = e;
  }
  if (cursor !== dataLength) fail(`bytes [${cursor}, ${dataLength}) of the data are not covered by any tensor`);

  const tensors: Record<string, SafeTensor> = {};
  const base = 8 + n;
  for (const e of entries) {
    const size = DTYPES[e.dtype];
    const data = new ARRAYS[e.dtype]((e.end - e.begin) / size);
    const raw = new Uint8Array(data.buffer);
    raw.set(bytes.subarray(base + e.begin, base + e.end)); // a copy, so unaligned offsets are fine
    if (!LITTLE_ENDIAN) swapBytes(raw, size);
    put(tensors, e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

/** IEEE half-precision bits to a number. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * The tensor's values as a Float32Array: F32 data itself (not a copy); F64,
 * F16, BF16, BOOL and the integer dtypes converted (rounded to f32).
 * Throws for the F8 dtypes and unknown ones.
 */
export function toFloat32(t: SafeTensor): Float32Array {
  const { dtype, data } = t;
  switch (dtype) {
    case 'F32':
      if (data instanceof Float32Array) return data;
      break;
    case 'F16':
      if (data instanceof Uint16Array) return Float32Array.from(data, halfToNumber);
      break;
    case 'BF16':
      if (data instanceof Uint16Array) {
        const bits = new Uint32Array(data.length);
        for (let i = 0; i < data.length; i++) bits[i] = data[i]! << 16;
        return new Float32Array(bits.buffer);
      }
      break;
    case 'I64':
    case 'U64':
      if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
        return Float32Array.from(data as ArrayLike<bigint>, (v) => Number(v));
      }
      break;
    case 'F64':
    case 'I32':
    case 'U32':
    case 'I16':
    case 'U16':
    case 'I8':
    case 'U8':
    case 'BOOL':
      if (data instanceof ARRAYS[dtype as SafeDtype]) return Float32Array.from(data as ArrayLike<number>);
      break;
    default:
      fail(`toFloat32: cannot convert dtype ${show(dtype)}`);
  }
  return fail(`toFloat32: dtype ${dtype} needs data as a ${ARRAYS[dtype as SafeDtype].name}, got ${kind(data)}`);
}
