/**
 * A seeded fuzzer over real checkpoints: a small SequenceToSequence with Adam
 * is saved by saveCheckpoint, then a few hundred mutated copies (byte flips,
 * truncations, header JSON edits: dtypes, shapes, offsets, huge numbers,
 * nested arrays, missing and extra keys, metadata values, non-finite data)
 * go to decodeSafetensors and loadCheckpoint. Every outcome must be an
 * acceptance or an Error that says what is wrong, within a time bound; a
 * refused load must leave the parameters and optimizer state bit-identical.
 * WEBGPU_RNN_SEED picks another mutation stream; the seed is printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, CrossEntropyLoss, SequenceToSequence, createRuntime, type Runtime } from '../src/index.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { freshSeed, rng } from './suite/check.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Splits a file into its header (parsed) and data bytes; `build` puts one back together. */
function split(f: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(f.buffer, f.byteOffset, 8).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(f.subarray(8, 8 + n))), data: f.subarray(8 + n) };
}
function build(headerText: string, data: Uint8Array, lengthDelta = 0n): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length) + lengthDelta, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

type Outcome = 'clean error' | 'accepted' | 'crash' | 'hang' | 'unclear error' | 'corrupted state';

/** An error message that says what is wrong: prefixed by its layer, one that names a key, a part of the file or a value. */
function clear(e: unknown): boolean {
  if (!(e instanceof Error) || e.constructor !== Error) return false; // TypeError, RangeError: a crash
  const m = e.message;
  if (!/^(checkpoint|safetensors): /.test(m)) return false;
  if (/undefined is not|Cannot read|is not a function/.test(m)) return false;
  return /"[^"]*"|header|data|bytes|file|metadata|tensor|format|dtype|shape|offsets/.test(m) && m.length < 4000;
}

describe('checkpoint fuzzer', () => {
  it('a few hundred mutated checkpoints: no crash, no hang, clean errors, refused loads change nothing', async () => {
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const r = rng(seed);
    const int = (n: number) => Math.floor(r() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

    const V = 6;
    const model = new SequenceToSequence(rt, { input: 'embedding', inputSize: V, embeddingDim: 4, cell: 'lstm', hiddenSize: 5, numLayers: 2, dropout: 0.2, outputSize: V, seed: 11 });
    const of = (prefix: string) => model.parameters().filter((p) => p.name.startsWith(`${prefix}.`));
    const opts = new Adam([{ params: of('embedding'), lr: 0.01 }, { params: of('rnn'), lr: 0.01 }, { params: of('head'), lr: 0.02 }]);
    const loss = new CrossEntropyLoss(rt);
    const [T, B] = [4, 3];
    const x = rt.tensor(Array.from({ length: T * B }, (_, i) => i % V), [T, B]);
    const y = rt.tensor(Array.from({ length: T * B }, (_, i) => (i * 5 + 1) % V), [T * B]);
    for (let s = 0; s < 2; s++) {
      rt.step(() => {
        model.zeroGrad();
        const { logits } = model.forward(x);
        const l = loss.forward(logits.reshape([T * B, V]), y);
        model.backward(l.grad.reshape([T, B, V]));
        opts.step();
      });
    }
    const original = await saveCheckpoint(model, opts, { step: 2, rng: { data: 12345 }, metadata: { note: 'fuzz' } });
    const state = async (): Promise<string> => {
      const parts: number[][] = [];
      for (const v of Object.values(await model.stateDict())) parts.push(bits(v));
      const sd = await opts.stateDict();
      for (const st of Object.values(sd.state)) for (const v of Object.values(st)) parts.push(typeof v === 'number' ? [v] : bits(Float32Array.from(v)));
      for (const g of opts.paramGroups) {
        parts.push(bits(await g.hyper.read()));
        parts.push([g.lr]);
      }
      return JSON.stringify(parts);
    };
    await loadCheckpoint(original, model, opts);
    const baseline = await state();

    const { header, data } = split(original);
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const metaKeys = Object.keys(header.__metadata__ as object);
    const clone = () => JSON.parse(JSON.stringify(header)) as Record<string, Record<string, unknown>>;
    const weird: unknown[] = [
      -1, 1.5, 1e300, 2 ** 53, 2 ** 64, '3', null, true, [], {}, [[2]], [2, [3]], ['a'], -0, 1e-7, 'F32',
      JSON.parse('[' + '['.repeat(40) + ']'.repeat(40) + ']'),
    ];
    const metaValues = ['1e9', 'NaN', '-1', '1.5', '', ' ', 'Infinity', '2147483648', '4294967296', '9007199254740993', '0x10', 'x'.repeat(200_000), '{', '[1]', '{"data":1e400}', 'null', '-0'];

    /** One mutation: its kind and the bytes. */
    const mutate = (): [string, Uint8Array] => {
      const kind = int(12);
      switch (kind) {
        case 0: {
          // Bit flips anywhere.
          const f = original.slice();
          for (let k = 1 + int(4); k > 0; k--) f[int(f.length)]! ^= 1 << int(8);
          return ['byte flips', f];
        }
        case 1: {
          // Bit flips in the header only.
          const f = original.slice();
          const n = f.length - data.length;
          for (let k = 1 + int(3); k > 0; k--) f[8 + int(n - 8)]! ^= 1 << int(8);
          return ['header byte flips', f];
        }
        case 2:
          return ['truncation', original.slice(0, int(original.length))];
        case 3: {
          const h = clone();
          h[pick(names)]!.dtype = pick(['F16', 'F64', 'I64', 'BOOL', 'U8', 'X', 5, null, '']);
          return ['dtype', build(JSON.stringify(h), data)];
        }
        case 4: {
          const h = clone();
          const t = h[pick(names)]!;
          const shape = [...(t.shape as number[])];
          const v = r();
          t.shape = v < 0.3 ? pick(weird) : v < 0.6 ? [...shape, 1 + int(3)] : shape.map((d) => (r() < 0.5 ? pick(weird) : d + 1));
          return ['shape', build(JSON.stringify(h), data)];
        }
        case 5: {
          const h = clone();
          const t = h[pick(names)]!;
          const [a, b] = t.data_offsets as [number, number];
          t.data_offsets = pick([[b, a], [a + 4, b + 4], [a, b - 4], [a, 2 ** 60], [-4, b], [a, b, b], [a], [a + 0.5, b], pick(weird)]);
          return ['offsets', build(JSON.stringify(h), data)];
        }
        case 6: {
          const h = clone();
          const v = r();
          if (v < 0.4) delete h[pick(names)];
          else if (v < 0.7) h[`extra.${int(100)}`] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] };
          else {
            const k = pick(names);
            h[`${k}_renamed`] = h[k]!;
            delete h[k];
          }
          return ['missing / extra / renamed key', build(JSON.stringify(h), data)];
        }
        case 7: {
          const h = clone();
          const meta = h.__metadata__ as Record<string, unknown>;
          const k = r() < 0.3 ? 'step' : pick(metaKeys);
          if (r() < 0.15) delete meta[k];
          else meta[k] = pick(metaValues);
          return [`metadata ${k.replace(/\d+/g, 'i')}`, build(JSON.stringify(h), data)];
        }
        case 8: {
          const h = clone();
          const meta = h.__metadata__ as Record<string, unknown>;
          meta[pick(metaKeys)] = pick(weird); // not a string at all
          return ['metadata non-string', build(JSON.stringify(h), data)];
        }
        case 9: {
          // Non-finite values in an otherwise valid file.
          const f = original.slice();
          const dataStart = f.length - data.length;
          const h = header[pick(names)] as { data_offsets: [number, number] };
          const [a, b] = h.data_offsets;
          if (b > a) {
            const at = dataStart + a + 4 * int((b - a) / 4);
            new DataView(f.buffer).setFloat32(at, pick([NaN, Infinity, -Infinity, 3e38 * 10]), true);
          }
          return ['non-finite data', f];
        }
        case 10: {
          // The header length prefix.
          const text = new TextDecoder().decode(original.subarray(8, original.length - data.length));
          return ['header length', build(text, data, pick([1n, -1n, 8n, -8n, 2n ** 40n, -BigInt(text.length)]))];
        }
        default: {
          // The header's JSON as a whole.
          const text = new TextDecoder().decode(original.subarray(8, original.length - data.length));
          const v = int(6);
          const t =
            v === 0 ? '[' + text + ']'
            : v === 1 ? text.replace('"dtype"', '"dtype":"F32","dtype"') // a duplicate key
            : v === 2 ? text.slice(0, int(text.length))
            : v === 3 ? text.replace(/\[(\d+)/, '[' + '['.repeat(100_000) + '$1' + ']'.repeat(100_000))
            : v === 4 ? `{"__metadata__":${JSON.stringify(header.__metadata__)},"__metadata__":null${text.slice(1)}`
            : text.replace(/"data_offsets":\[(\d+)/, '"data_offsets":[1e400');
          return ['header JSON', build(t, data)];
        }
      }
    };

    const N = 500;
    const HANG_MS = 5000;
    const counts: Record<Outcome, number> = { 'clean error': 0, accepted: 0, crash: 0, hang: 0, 'unclear error': 0, 'corrupted state': 0 };
    const byKind: Record<string, Record<string, number>> = {};
    const bad: string[] = [];
    const started = performance.now();
    let slowest = 0;
    for (let i = 0; i < N; i++) {
      const [kind, bytes] = mutate();
      let outcome: Outcome;
      let detail = '';
      let decodeFault = '';
      const t0 = performance.now();
      try {
        decodeSafetensors(bytes);
      } catch (e) {
        if (!clear(e)) decodeFault = `decodeSafetensors: ${e instanceof Error ? `${e.constructor.name}: ${e.message.slice(0, 300)}` : String(e)}`;
      }
      let accepted = false;
      try {
        await loadCheckpoint(bytes, model, opts);
        accepted = true;
        outcome = 'accepted';
      } catch (e) {
        outcome = clear(e) ? 'clean error' : e instanceof Error && e.constructor === Error ? 'unclear error' : 'crash';
        detail = e instanceof Error ? `${e.constructor.name}: ${e.message.slice(0, 300)}` : String(e);
      }
      if (decodeFault) [outcome, detail] = ['crash', decodeFault];
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      if (ms > HANG_MS) outcome = 'hang';
      if (accepted) {
        await loadCheckpoint(original, model, opts); // back to the baseline
      } else if (outcome === 'clean error' && (await state()) !== baseline) {
        outcome = 'corrupted state';
      }
      counts[outcome]++;
      (byKind[kind] ??= {})[outcome] = (byKind[kind]![outcome] ?? 0) + 1;
      if (outcome !== 'clean error' && outcome !== 'accepted') bad.push(`#${i} ${kind}: ${outcome} (${ms.toFixed(0)} ms) ${detail}`);
    }
    expect(await state()).toBe(baseline);
    const total = performance.now() - started;
    console.log(`checkpoint fuzzer (seed ${seed}): ${N} files in ${(total / 1000).toFixed(1)} s, slowest ${slowest.toFixed(0)} ms:`, counts);
    for (const [k, v] of Object.entries(byKind).sort()) console.log(`  ${k}: ${JSON.stringify(v)}`);
    expect(bad, `seed ${seed}:\n${bad.join('\n')}`).toEqual([]);
    expect(counts['clean error'] + counts.accepted).toBe(N);
    loss.destroy();
    model.destroy();
    x.destroy();
    y.destroy();
  });
});

describe('checkpoint metadata bounds', () => {
  it('step past 2^31 - 1, non-decimal steps and seeds, NaN in the data: refused, naming the key', async () => {
    const model = new SequenceToSequence(rt, { input: 'embedding', inputSize: 4, cell: 'gru', hiddenSize: 3, outputSize: 4, seed: 2 });
    const opts = new Adam(model.parameters());
    const bytes = await saveCheckpoint(model, opts, { step: 3 });
    const before = JSON.stringify(Object.values(await model.stateDict()).map(bits));
    const { header, data } = split(bytes);
    const withMeta = (k: string, v: string) => {
      const h = JSON.parse(JSON.stringify(header));
      h.__metadata__[k] = v;
      return build(JSON.stringify(h), data);
    };
    await expect(loadCheckpoint(withMeta('step', '2147483648'), model, opts)).rejects.toThrow('metadata "step" must be an integer in [0, 2147483647] (decimal digits), got "2147483648"');
    for (const s of ['1e9', '0x10', '-0', ' 5', '1.0']) await expect(loadCheckpoint(withMeta('step', s), model, opts)).rejects.toThrow(`metadata "step" must be an integer in [0, 2147483647] (decimal digits), got ${JSON.stringify(s)}`);
    await expect(loadCheckpoint(withMeta('step', 'x'.repeat(100_000)), model, opts)).rejects.toThrow(/^checkpoint: invalid checkpoint:\n  - metadata "step" must be an integer in \[0, 2147483647\] \(decimal digits\), got "x{60}\.\.\."$/);
    await expect(loadCheckpoint(withMeta('rng.rnn.dropout_seed', '4294967296'), model, opts)).rejects.toThrow('metadata "rng.rnn.dropout_seed" must be an integer in [0, 4294967295] (decimal digits), got "4294967296"');
    const nan = bytes.slice();
    const at = nan.length - data.length + (header['rnn.weight_hh_l0'] as { data_offsets: number[] }).data_offsets[0]! + 8;
    new DataView(nan.buffer).setFloat32(at, NaN, true);
    await expect(loadCheckpoint(nan, model, opts)).rejects.toThrow('tensor "rnn.weight_hh_l0"[2] is NaN; values must be finite');
    await expect(saveCheckpoint(model, opts, { step: 2 ** 31 })).rejects.toThrow('saveCheckpoint: step must be an integer in [0, 2147483647], got 2147483648');
    expect(JSON.stringify(Object.values(await model.stateDict()).map(bits))).toBe(before);
    expect((await loadCheckpoint(withMeta('step', String(2 ** 31 - 1)), model, opts)).step).toBe(2 ** 31 - 1);
    model.destroy();
  });
});
