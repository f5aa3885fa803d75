import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, toFloat32, type SafeTensor } from '../src/io/safetensors.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A file by hand: u64 little-endian header length (default: the header's byte length), header, data bytes. */
function file(header: string, data: ArrayLike<number> = [], length?: bigint): Uint8Array {
  const h = utf8(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Little-endian bytes of f32 values. */
const f32le = (...v: number[]): number[] => [...new Uint8Array(new Float32Array(v).buffer)];

function throwsExactly(fn: () => unknown, message: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected the error "${message}"`).toBeInstanceOf(Error);
  expect((err as Error).message).toBe(message);
}

/** One F32 tensor entry's JSON. */
const f32 = (shape: number[], begin: number, end: number): string =>
  `{"dtype":"F32","shape":${JSON.stringify(shape)},"data_offsets":[${begin},${end}]}`;

describe('safetensors round trip', () => {
  it('keeps dtypes, shapes, values and metadata (F32, F64, I32, I64, U8, a scalar, an empty tensor)', () => {
    const tensors: Record<string, SafeTensor> = {
      'layer.w': { dtype: 'F32', shape: [2, 3], data: Float32Array.of(1, -2.5, 3e-8, Infinity, -0, 7) },
      'layer.b': { dtype: 'F64', shape: [3], data: Float64Array.of(Math.PI, -1e300, 0.1) },
      step: { dtype: 'I32', shape: [], data: Int32Array.of(-42) },
      seen: { dtype: 'I64', shape: [2], data: BigInt64Array.of(-(2n ** 62n), 9007199254740993n) },
      mask: { dtype: 'U8', shape: [1, 3], data: Uint8Array.of(0, 255, 1) },
      none: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    };
    const meta = { format: 'pt', note: 'ünïcödé ✓ "quoted"\n' };
    const bytes = encodeSafetensors(tensors, meta);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual(meta);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const got = back.tensors[name]!;
      expect(got.dtype, name).toBe(t.dtype);
      expect(got.shape, name).toEqual(t.shape);
      expect(got.data.constructor, name).toBe(t.data.constructor);
      expect(got.data, name).toEqual(t.data);
      expect(got.data.buffer, `${name} is a copy`).not.toBe(bytes.buffer);
    }
    expect(Object.is(back.tensors['layer.w']!.data[4], -0)).toBe(true);
  });

  it('accepts a bare Float32Array as a 1-D F32 tensor, and decodes from a Uint8Array view at an odd offset', () => {
    const bytes = encodeSafetensors({ v: Float32Array.of(1, 2, 3) });
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const back = decodeSafetensors(shifted.subarray(3));
    expect(back.tensors).toEqual({ v: { dtype: 'F32', shape: [3], data: Float32Array.of(1, 2, 3) } });
    expect(back.metadata).toEqual({});
  });

  it('keeps "__proto__" as an ordinary tensor name and metadata key', () => {
    const tensors = JSON.parse('{"__proto__": 0}') as Record<string, unknown>;
    tensors['__proto__'] = { dtype: 'U8', shape: [1], data: Uint8Array.of(9) };
    const meta = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    const back = decodeSafetensors(encodeSafetensors(tensors as Record<string, SafeTensor>, meta));
    expect(Object.keys(back.tensors)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(back.tensors)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back.tensors, '__proto__')!.value.data).toEqual(Uint8Array.of(9));
    expect(Object.getOwnPropertyDescriptor(back.metadata, '__proto__')!.value).toBe('x');
  });
});

describe('safetensors golden bytes', () => {
  it('decodes a file built by hand from the spec (unpadded header, entries out of offset order, metadata)', () => {
    const header =
      '{"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},' +
      '"__metadata__":{"epoch":"3"},' +
      '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"c":{"dtype":"BF16","shape":[1,1],"data_offsets":[16,18]}}';
    const data = [
      ...[0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0], // f32 1.5, -2
      ...[0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // i64 -3
      ...[0x40, 0xc0], // bf16 0xc040 = -3
    ];
    const { tensors, metadata } = decodeSafetensors(file(header, data));
    expect(metadata).toEqual({ epoch: '3' });
    expect(tensors).toEqual({
      a: { dtype: 'F32', shape: [2], data: Float32Array.of(1.5, -2) },
      b: { dtype: 'I64', shape: [1], data: BigInt64Array.of(-3n) },
      c: { dtype: 'BF16', shape: [1, 1], data: Uint16Array.of(0xc040) },
    });
    expect(toFloat32(tensors.c!)).toEqual(Float32Array.of(-3));
  });

  it('accepts a header padded with spaces, and the reference example (I32 [2, 2], 60-byte header)', () => {
    const padded = decodeSafetensors(file(`{"x":${f32([1], 0, 4)}}      `, f32le(0.25)));
    expect(padded.tensors.x!.data).toEqual(Float32Array.of(0.25));
    const header = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';
    expect(utf8(header).length).toBe(60);
    const bytes = file(header, [1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0x7f]);
    expect(decodeSafetensors(bytes).tensors.test).toEqual({
      dtype: 'I32',
      shape: [2, 2],
      data: Int32Array.of(1, -2, -(2 ** 31), 2 ** 31 - 1),
    });
  });

  it('encodes byte for byte what the reference serializer writes', () => {
    const values = f32le(0, 1, 2, 3, 4, 5);
    expect(values).toEqual([0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64]);
    const data = Float32Array.of(0, 1, 2, 3, 4, 5);

    // 64-byte header: no padding needed.
    const h1 = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(encodeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data } })).toEqual(
      Uint8Array.from([64, 0, 0, 0, 0, 0, 0, 0, ...utf8(h1), ...values]),
    );
    // 65 bytes of JSON, padded with 7 spaces to 72.
    const h2 = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
    expect(encodeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data } })).toEqual(
      Uint8Array.from([72, 0, 0, 0, 0, 0, 0, 0, ...utf8(h2), ...' '.repeat(7).split('').map(() => 0x20), ...values]),
    );
    // No tensors: "{}" and six spaces; with metadata, __metadata__ and five spaces.
    expect(encodeSafetensors({})).toEqual(Uint8Array.from([8, 0, 0, 0, 0, 0, 0, 0, ...utf8('{}      ')]));
    expect(encodeSafetensors({}, { framework: 'pt' })).toEqual(
      Uint8Array.from([40, 0, 0, 0, 0, 0, 0, 0, ...utf8('{"__metadata__":{"framework":"pt"}}     ')]),
    );
  });

  it('orders tensors by descending dtype alignment then name (so each is aligned), metadata keys sorted', () => {
    const bytes = encodeSafetensors(
      {
        b: { dtype: 'U8', shape: [3], data: Uint8Array.of(1, 2, 3) },
        a: { dtype: 'F32', shape: [], data: Float32Array.of(1) },
        c: { dtype: 'I64', shape: [1], data: BigInt64Array.of(-1n) },
        a2: { dtype: 'F32', shape: [1], data: Float32Array.of(2) },
      },
      { z: '1', a: '2' },
    );
    const json =
      '{"__metadata__":{"a":"2","z":"1"},' +
      '"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
      '"a":{"dtype":"F32","shape":[],"data_offsets":[8,12]},' +
      '"a2":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},' +
      '"b":{"dtype":"U8","shape":[3],"data_offsets":[16,19]}}';
    const pad = (8 - (utf8(json).length % 8)) % 8;
    const header = json + ' '.repeat(pad);
    expect(bytes).toEqual(
      file(header, [...[255, 255, 255, 255, 255, 255, 255, 255], ...f32le(1), ...f32le(2), 1, 2, 3]),
    );
  });
});

describe('safetensors deterministic encoding', () => {
  it('gives the same bytes for the same input, whatever the insertion order', () => {
    const w = { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) };
    const s = { dtype: 'I32', shape: [], data: Int32Array.of(5) };
    const one = encodeSafetensors({ w, s, 'w.b': w }, { x: '1', y: '2' });
    expect(encodeSafetensors({ w, s, 'w.b': w }, { x: '1', y: '2' })).toEqual(one);
    expect(encodeSafetensors({ 'w.b': w, s, w }, { y: '2', x: '1' })).toEqual(one);
  });
});

describe('safetensors decoding errors', () => {
  const ok = `{"x":${f32([2], 0, 8)}}`;

  it('refuses files too short, header lengths too large (2^60 without allocating) or past the file', () => {
    throwsExactly(() => decodeSafetensors(new Uint8Array(5)), 'safetensors: file is 5 bytes, too short for the 8-byte header length');
    throwsExactly(
      () => decodeSafetensors(file('{}', [], 2n ** 60n)),
      'safetensors: header length 1152921504606846976 exceeds the limit of 8388608 bytes (maxHeaderBytes)',
    );
    throwsExactly(
      () => decodeSafetensors(file('{}', [], 2n ** 50n), { maxHeaderBytes: Number.MAX_SAFE_INTEGER }),
      'safetensors: header length 1125899906842624 exceeds the 2 bytes that follow it',
    );
    throwsExactly(
      () => decodeSafetensors(file('{}', [], 2n ** 64n - 1n)),
      'safetensors: header length 18446744073709551615 exceeds the limit of 8388608 bytes (maxHeaderBytes)',
    );
    throwsExactly(
      () => decodeSafetensors(file(ok, f32le(1, 2)), { maxHeaderBytes: 16 }),
      `safetensors: header length ${ok.length} exceeds the limit of 16 bytes (maxHeaderBytes)`,
    );
    throwsExactly(() => decodeSafetensors(file('{}', [], 3n)), 'safetensors: header length 3 exceeds the 2 bytes that follow it');
    throwsExactly(
      () => decodeSafetensors(file('{}'), { maxHeaderBytes: -1 }),
      'safetensors: maxHeaderBytes must be a non-negative integer, got -1',
    );
    throwsExactly(
      () => decodeSafetensors([1, 2, 3] as unknown as Uint8Array),
      'safetensors: expected a Uint8Array, got array',
    );
  });

  it('refuses headers that are not UTF-8, not JSON, or not an object', () => {
    const bad = file('{} ');
    bad[10] = 0xff;
    throwsExactly(() => decodeSafetensors(bad), 'safetensors: header is not valid UTF-8');
    throwsExactly(() => decodeSafetensors(file('{"x": ')), 'safetensors: header is not valid JSON');
    throwsExactly(() => decodeSafetensors(file('')), 'safetensors: header is not valid JSON');
    throwsExactly(() => decodeSafetensors(file('\ufeff{}')), 'safetensors: header is not valid JSON');
    throwsExactly(() => decodeSafetensors(file('[1, 2]')), 'safetensors: header must be a JSON object, got array');
    throwsExactly(() => decodeSafetensors(file('null')), 'safetensors: header must be a JSON object, got null');
    throwsExactly(() => decodeSafetensors(file('"x"')), 'safetensors: header must be a JSON object, got string');
  });

  it('refuses entries with missing or mistyped fields and unknown dtypes', () => {
    const one = (entry: string, data: number[] = []): Uint8Array => file(`{"w":${entry}}`, data);
    throwsExactly(
      () => decodeSafetensors(one('[1]')),
      'safetensors: tensor "w": expected an object with dtype, shape and data_offsets, got array',
    );
    throwsExactly(() => decodeSafetensors(one('{"shape":[],"data_offsets":[0,4]}')), 'safetensors: tensor "w": missing "dtype"');
    throwsExactly(() => decodeSafetensors(one('{"dtype":"F32","data_offsets":[0,4]}')), 'safetensors: tensor "w": missing "shape"');
    throwsExactly(() => decodeSafetensors(one('{"dtype":"F32","shape":[]}')), 'safetensors: tensor "w": missing "data_offsets"');
    throwsExactly(
      () => decodeSafetensors(one('{"dtype":32,"shape":[],"data_offsets":[0,4]}')),
      'safetensors: tensor "w": dtype must be a string, got 32',
    );
    for (const shape of ['[2,-1]', '[1.5]', '["2"]', '3', '[9007199254740993]']) {
      throwsExactly(
        () => decodeSafetensors(one(`{"dtype":"F32","shape":${shape},"data_offsets":[0,4]}`)),
        `safetensors: tensor "w": shape must be an array of non-negative integers, got ${JSON.stringify(JSON.parse(shape))}`,
      );
    }
    for (const offsets of ['[0]', '[0,4,8]', '[-4,0]', '{"0":0,"1":4}', '[0,"4"]']) {
      throwsExactly(
        () => decodeSafetensors(one(`{"dtype":"F32","shape":[1],"data_offsets":${offsets}}`)),
        `safetensors: tensor "w": data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(JSON.parse(offsets))}`,
      );
    }
    throwsExactly(
      () => decodeSafetensors(one('{"dtype":"F128","shape":[1],"data_offsets":[0,16]}')),
      'safetensors: tensor "w": unknown dtype "F128" (known: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64)',
    );
  });

  it('refuses bad offsets, wrong byte lengths, overlaps, gaps, trailing bytes and truncated data', () => {
    throwsExactly(
      () => decodeSafetensors(file(`{"w":${f32([0], 8, 4)}}`, f32le(1, 2))),
      'safetensors: tensor "w": data_offsets [8, 4] begin after they end',
    );
    throwsExactly(
      () => decodeSafetensors(file(`{"w":${f32([100], 0, 400)}}`, f32le(1, 2))),
      'safetensors: tensor "w": data_offsets [0, 400] go past the end of the data (8 bytes; truncated file?)',
    );
    // Truncated: a valid file cut short.
    const whole = encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) } });
    throwsExactly(
      () => decodeSafetensors(whole.subarray(0, whole.length - 1)),
      'safetensors: tensor "w": data_offsets [0, 16] go past the end of the data (15 bytes; truncated file?)',
    );
    throwsExactly(() => decodeSafetensors(whole.subarray(0, 20)), `safetensors: header length ${whole[0]} exceeds the 12 bytes that follow it`);
    throwsExactly(
      () => decodeSafetensors(file(`{"w":${f32([2, 3], 0, 20)}}`, new Array(20).fill(0))),
      'safetensors: tensor "w": F32 of shape [2, 3] needs 24 bytes, data_offsets [0, 20] hold 20',
    );
    throwsExactly(
      () => decodeSafetensors(file(`{"w":{"dtype":"F64","shape":[],"data_offsets":[0,4]}}`, f32le(1))),
      'safetensors: tensor "w": F64 of shape [] needs 8 bytes, data_offsets [0, 4] hold 4',
    );
    // A huge declared shape is refused by the length check, never allocated.
    throwsExactly(
      () => decodeSafetensors(file(`{"w":${f32([2 ** 40, 2 ** 40], 0, 4)}}`, f32le(1))),
      'safetensors: tensor "w": F32 of shape [1099511627776, 1099511627776] needs 4.835703278458517e+24 bytes, data_offsets [0, 4] hold 4',
    );
    throwsExactly(
      () => decodeSafetensors(file(`{"a":${f32([2], 0, 8)},"b":${f32([2], 4, 12)}}`, new Array(12).fill(0))),
      'safetensors: tensors "a" [0, 8) and "b" [4, 12) overlap',
    );
    throwsExactly(
      () => decodeSafetensors(file(`{"a":${f32([1], 0, 4)},"b":${f32([1], 0, 4)}}`, f32le(1))),
      'safetensors: tensors "a" [0, 4) and "b" [0, 4) overlap',
    );
    throwsExactly(
      () => decodeSafetensors(file(`{"a":${f32([1], 0, 4)},"b":${f32([1], 8, 12)}}`, new Array(12).fill(0))),
      'safetensors: bytes [4, 8) of the data are not covered by any tensor',
    );
    throwsExactly(
      () => decodeSafetensors(file(`{"a":${f32([1], 4, 8)}}`, new Array(8).fill(0))),
      'safetensors: bytes [0, 4) of the data are not covered by any tensor',
    );
    throwsExactly(
      () => decodeSafetensors(file(`{"a":${f32([1], 0, 4)}}`, new Array(6).fill(0))),
      'safetensors: bytes [4, 6) of the data are not covered by any tensor',
    );
    throwsExactly(() => decodeSafetensors(file('{}', [0])), 'safetensors: bytes [0, 1) of the data are not covered by any tensor');
    // Empty tensors may sit anywhere on the tiling's boundaries.
    const edges = decodeSafetensors(
      file(`{"e":${f32([0], 4, 4)},"a":${f32([1], 0, 4)},"z":${f32([0, 5], 4, 4)}}`, f32le(3)),
    );
    expect(edges.tensors.e!.data).toEqual(new Float32Array(0));
    expect(edges.tensors.z!.shape).toEqual([0, 5]);
  });

  it('refuses metadata that is not an object of strings', () => {
    throwsExactly(
      () => decodeSafetensors(file('{"__metadata__":{"epoch":3}}')),
      'safetensors: __metadata__ "epoch" must be a string, got number',
    );
    throwsExactly(
      () => decodeSafetensors(file('{"__metadata__":["a"]}')),
      'safetensors: __metadata__ must be an object of strings, got array',
    );
    expect(decodeSafetensors(file('{"__metadata__":null}')).metadata).toEqual({});
  });
});

describe('safetensors encoding errors', () => {
  it('names the tensor, the expected and the actual sizes and types', () => {
    throwsExactly(
      () => encodeSafetensors({ w: { dtype: 'F32', shape: [2, 3], data: new Float32Array(5) } }),
      'safetensors: tensor "w": shape [2, 3] has 6 elements, data has 5',
    );
    throwsExactly(
      () => encodeSafetensors({ w: { dtype: 'F32', shape: [], data: new Float32Array(0) } }),
      'safetensors: tensor "w": shape [] has 1 elements, data has 0',
    );
    throwsExactly(
      () => encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: Int32Array.of(1, 2) } }),
      'safetensors: tensor "w": dtype F32 needs data as a Float32Array, got Int32Array',
    );
    throwsExactly(
      () => encodeSafetensors({ w: { dtype: 'F16', shape: [1], data: Float32Array.of(1) } }),
      'safetensors: tensor "w": dtype F16 needs data as a Uint16Array, got Float32Array',
    );
    throwsExactly(
      () => encodeSafetensors({ w: { dtype: 'f32', shape: [1], data: Float32Array.of(1) } }),
      'safetensors: tensor "w": unknown dtype "f32" (known: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64)',
    );
    throwsExactly(
      () => encodeSafetensors({ w: { dtype: 'F32', shape: [-1], data: Float32Array.of(1) } }),
      'safetensors: tensor "w": shape must be an array of non-negative integers, got [-1]',
    );
    throwsExactly(
      () => encodeSafetensors({ w: [1, 2] as unknown as Float32Array }),
      'safetensors: tensor "w": expected { dtype, shape, data } or a Float32Array, got array',
    );
  });

  it('refuses empty or reserved names, bad metadata and invalid Unicode', () => {
    const t = Float32Array.of(1);
    throwsExactly(() => encodeSafetensors({ '': t }), 'safetensors: tensor name must be a non-empty string');
    throwsExactly(() => encodeSafetensors({ __metadata__: t }), 'safetensors: tensor name "__metadata__" is reserved for the metadata');
    throwsExactly(() => encodeSafetensors({ ['a\ud800']: t }), 'safetensors: tensor name "a\\ud800" is not valid Unicode (lone surrogate)');
    throwsExactly(
      () => encodeSafetensors({ t }, { epoch: 3 as unknown as string }),
      'safetensors: metadata "epoch" must be a string, got number',
    );
    throwsExactly(() => encodeSafetensors({ t }, { k: '\udc00' }), 'safetensors: metadata "k" is not valid Unicode (lone surrogate)');
    throwsExactly(
      () => encodeSafetensors({ t }, ['a'] as unknown as Record<string, string>),
      'safetensors: metadata must be an object of strings, got array',
    );
    throwsExactly(
      () => encodeSafetensors(null as unknown as Record<string, SafeTensor>),
      'safetensors: tensors must be an object of { dtype, shape, data }, got null',
    );
  });
});

describe('toFloat32', () => {
  it('returns F32 data itself and converts the other numeric dtypes', () => {
    const f = Float32Array.of(1, 2);
    expect(toFloat32({ dtype: 'F32', shape: [2], data: f })).toBe(f);
    expect(toFloat32({ dtype: 'F64', shape: [2], data: Float64Array.of(0.1, -3) })).toEqual(Float32Array.of(0.1, -3));
    // F16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), -0, +Inf, NaN.
    const h = toFloat32({ dtype: 'F16', shape: [7], data: Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x7e00) });
    expect([...h.subarray(0, 6)]).toEqual([1, -2, 65504, 2 ** -24, -0, Infinity]);
    expect(Object.is(h[4], -0)).toBe(true);
    expect(Number.isNaN(h[6])).toBe(true);
    expect(toFloat32({ dtype: 'BF16', shape: [2], data: Uint16Array.of(0x3f80, 0xc0a0) })).toEqual(Float32Array.of(1, -5));
    expect(toFloat32({ dtype: 'I32', shape: [2], data: Int32Array.of(-7, 2 ** 30) })).toEqual(Float32Array.of(-7, 2 ** 30));
    expect(toFloat32({ dtype: 'I64', shape: [2], data: BigInt64Array.of(-5n, 2n ** 40n) })).toEqual(Float32Array.of(-5, 2 ** 40));
    expect(toFloat32({ dtype: 'U8', shape: [2], data: Uint8Array.of(0, 255) })).toEqual(Float32Array.of(0, 255));
    expect(toFloat32({ dtype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) })).toEqual(Float32Array.of(1, 0));
  });

  it('throws for dtypes it cannot convert and for data of the wrong type', () => {
    throwsExactly(
      () => toFloat32({ dtype: 'F8_E4M3', shape: [1], data: Uint8Array.of(0) }),
      'safetensors: toFloat32: cannot convert dtype "F8_E4M3"',
    );
    throwsExactly(() => toFloat32({ dtype: 'X', shape: [1], data: Uint8Array.of(0) }), 'safetensors: toFloat32: cannot convert dtype "X"');
    throwsExactly(
      () => toFloat32({ dtype: 'F64', shape: [1], data: Float32Array.of(0) }),
      'safetensors: toFloat32: dtype F64 needs data as a Float64Array, got Float32Array',
    );
  });
});

describe('checkpoint files (Node)', () => {
  it('saves atomically and loads back; unreadable, unwritable and malformed files give clear errors', async () => {
    const { mkdtemp, readdir, rm, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadFile, loadSafetensors, saveFile, saveSafetensors } = await import('../src/io/checkpoint-node.js');
    const dir = await mkdtemp(join(tmpdir(), 'webgpu-rnn-st-'));
    try {
      const path = join(dir, 'model.safetensors');
      await saveSafetensors(path, { w: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) } }, { epoch: '1' });
      await saveSafetensors(path, { w: { dtype: 'F32', shape: [2], data: Float32Array.of(3, 4) } }, { epoch: '2' });
      expect(await readdir(dir)).toEqual(['model.safetensors']); // no temporary file left behind
      const back = await loadSafetensors(path);
      expect(back).toEqual({ tensors: { w: { dtype: 'F32', shape: [2], data: Float32Array.of(3, 4) } }, metadata: { epoch: '2' } });
      expect(await loadFile(path)).toBeInstanceOf(Uint8Array);

      const missing = join(dir, 'missing.safetensors');
      await expect(loadFile(missing)).rejects.toThrow(new Error(`checkpoint: cannot read "${missing}" (ENOENT)`));
      await expect(loadFile(dir)).rejects.toThrow(new Error(`checkpoint: cannot read "${dir}" (EISDIR)`));
      const nowhere = join(dir, 'no', 'such', 'dir.safetensors');
      await expect(saveFile(nowhere, new Uint8Array(1))).rejects.toThrow(new Error(`checkpoint: cannot write "${nowhere}" (ENOENT)`));
      const junk = join(dir, 'junk.safetensors');
      await writeFile(junk, new Uint8Array(3));
      await expect(loadSafetensors(junk)).rejects.toThrow(
        new Error(`safetensors: file is 3 bytes, too short for the 8-byte header length (in "${junk}")`),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
