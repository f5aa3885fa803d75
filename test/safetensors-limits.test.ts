// Crafted safetensors headers: refused with one-line errors, before they cost
// stack or memory; and the header limit justified by the largest table the
// library builds.
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_HEADER_BYTES, decodeSafetensors } from '../src/io/safetensors.js';

/** A file by hand: u64 little-endian header length, the header, the data bytes. */
function file(header: string, data = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('safetensors: nesting', () => {
  it('a deeply nested shape is a one-line error naming the tensor, not a stack overflow', () => {
    for (const depth of [4, 100, 200_000]) {
      const deep = '['.repeat(depth) + ']'.repeat(depth);
      const e = errorOf(() => decodeSafetensors(file(`{"ok":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"w.deep":{"dtype":"F32","shape":${deep},"data_offsets":[0,0]}}`)));
      expect(e.message).toBe('safetensors: "w.deep": nested deeper than 3 levels (an entry is { dtype, shape, data_offsets } with arrays of numbers)');
    }
  });

  it('deep metadata values, deep data_offsets and a deep top level are refused the same way', () => {
    const deep = '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000);
    expect(errorOf(() => decodeSafetensors(file(`{"__metadata__":${deep}}`))).message).toMatch(/^safetensors: "__metadata__": nested deeper than 3 levels/);
    expect(errorOf(() => decodeSafetensors(file(`{"x":{"dtype":"F32","shape":[],"data_offsets":[[[0]],4]}}`))).message).toMatch(/^safetensors: "x": nested deeper/);
    expect(errorOf(() => decodeSafetensors(file('['.repeat(10) + ']'.repeat(10)))).message).toMatch(/^safetensors: the header: nested deeper/);
    // Brackets inside strings (names, metadata) are not nesting.
    const ok = decodeSafetensors(file(`{"__metadata__":{"note":"[[[[{{{{\\"]]]]"},"a[[[[":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`));
    expect(ok.metadata.note).toBe('[[[[{{{{"]]]]');
    expect(Object.keys(ok.tensors)).toEqual(['a[[[[']);
  });
});

describe('safetensors: header size', () => {
  it('the default limit holds the header of the largest table the library builds, with room to spare', () => {
    // A 1,000-layer WaveNet with global conditioning (10 tensors per layer) plus its input and
    // head, under a model prefix, saved with AMSGrad Adam: the parameter and three moments each.
    const names: [string, number[]][] = [['input.weight', [512, 256, 1]], ['input.bias', [512]]];
    for (let k = 0; k < 1000; k++) {
      for (const c of ['filter', 'gate', 'residual', 'skip']) {
        names.push([`layers.${k}.${c}.weight`, [512, 512, 2]], [`layers.${k}.${c}.bias`, [512]]);
      }
      names.push([`layers.${k}.cond_filter.weight`, [512, 1024]], [`layers.${k}.cond_gate.weight`, [512, 1024]]);
    }
    for (let h = 0; h < 2; h++) names.push([`head.${h}.weight`, [512, 512, 1]], [`head.${h}.bias`, [512]]);
    const entries: string[] = [];
    const offset = 9_999_999_999; // 10-digit offsets: the widest a file under 10 GB writes
    for (const prefix of ['model.', 'optimizer.0.exp_avg.model.', 'optimizer.0.exp_avg_sq.model.', 'optimizer.0.max_exp_avg_sq.model.']) {
      for (const [n, shape] of names) entries.push(`${JSON.stringify(prefix + n)}:{"dtype":"F32","shape":[${shape}],"data_offsets":[${offset},${offset}]}`);
    }
    const bytes = `{${entries.join(',')}}`.length;
    expect(entries.length).toBe(40_024);
    expect(bytes).toBeLessThan(DEFAULT_MAX_HEADER_BYTES * 0.75);
    expect(DEFAULT_MAX_HEADER_BYTES).toBe(8 * 1024 * 1024);
  });

  it('a header over the limit is refused before it is decoded; one at the limit decodes in bounded time', () => {
    const e = errorOf(() => {
      const f = new Uint8Array(16);
      new DataView(f.buffer).setBigUint64(0, 99_000_000n, true);
      decodeSafetensors(f);
    });
    expect(e.message).toBe('safetensors: header length 99000000 exceeds the limit of 8388608 bytes (maxHeaderBytes)');
    // The worst case under the limit: as many tiny entries as fit.
    const parts: string[] = [];
    let len = 2;
    for (let i = 0; len < DEFAULT_MAX_HEADER_BYTES - 100; i++) {
      const p = `"t${i}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`;
      parts.push(p);
      len += p.length + 1;
    }
    const f = file(`{${parts.join(',')}}`);
    const t0 = performance.now();
    const heap0 = process.memoryUsage().heapUsed;
    const out = decodeSafetensors(f);
    const ms = performance.now() - t0;
    const mb = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
    console.log(`${parts.length} entries in a ${(f.length / 2 ** 20).toFixed(1)} MiB header: ${ms.toFixed(0)} ms, heap +${mb.toFixed(0)} MiB`);
    expect(Object.keys(out.tensors).length).toBe(parts.length);
    expect(ms).toBeLessThan(10_000); // ~1-2 s on the 2-core CI box; the old 100 MB limit allowed ~12x this
  });
});
