/**
 * Checkpoints: save, load into fresh objects, and resume to the bit; clear
 * errors for files that do not fit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, CrossEntropyLoss, SGD, SequenceToSequence, clipGradNorm, createRuntime, type Optimizer, type Runtime } from '../src/index.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../src/io/safetensors.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';

let rt: Runtime;
let loss: CrossEntropyLoss;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
  loss = new CrossEntropyLoss(rt);
});
afterAll(() => {
  loss?.destroy();
  rt?.destroy();
});

const [V, T, B, H] = [7, 6, 4, 12];

/** mulberry32 with its state in the open, so a checkpoint can carry it. */
class DataRng {
  constructor(public s: number) {}
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

interface Run {
  model: SequenceToSequence;
  opts: Optimizer[];
  x: ReturnType<Runtime['zeros']>;
  y: ReturnType<Runtime['zeros']>;
  data: DataRng;
  step: number;
}

/** An Embedding + 2-layer LSTM (dropout between layers) + Linear; Adam on embedding and rnn, SGD with momentum on the head. */
function makeRun(seed: number, o: { cell?: 'lstm' | 'gru'; hiddenSize?: number; numLayers?: number } = {}): Run {
  const model = new SequenceToSequence(rt, {
    input: 'embedding', inputSize: V, embeddingDim: 8, cell: o.cell ?? 'lstm', hiddenSize: o.hiddenSize ?? H,
    numLayers: o.numLayers ?? 2, dropout: 0.3, outputSize: V, seed,
  });
  const m = model.modules;
  const opts: Optimizer[] = [
    new Adam(rt, m.embedding!.params, m.embedding!.gradients, { lr: 0.02 }),
    new Adam(rt, m.rnn!.params, m.rnn!.gradients, { lr: 0.01, weightDecay: 1e-3 }),
    new SGD(rt, m.head!.params, m.head!.gradients, { lr: 0.05, momentum: 0.9 }),
  ];
  return { model, opts, x: rt.zeros([T, B]), y: rt.zeros([T * B]), data: new DataRng(seed * 7919 + 1), step: 0 };
}

function destroyRun(r: Run): void {
  r.model.destroy();
  r.x.destroy();
  r.y.destroy();
}

/** `n` training steps on data drawn from `r.data`; the per-step losses. */
async function train(r: Run, n: number): Promise<number[]> {
  const pending: Promise<Float32Array>[] = [];
  for (let i = 0; i < n; i++) {
    const xs = Float32Array.from({ length: T * B }, () => Math.floor(r.data.next() * V));
    const ys = Float32Array.from({ length: T * B }, () => Math.floor(r.data.next() * V));
    r.x.write(xs);
    r.y.write(ys);
    r.opts[0]!.lr = 0.02 * 0.9 ** r.step; // a schedule: lr depends on the step
    rt.step(() => {
      r.model.zeroGrad();
      const { logits } = r.model.forward(r.x);
      const l = loss.forward(logits.reshape([T * B, V]), r.y);
      r.model.backward(l.grad.reshape([T, B, V]));
      clipGradNorm(rt, Object.values(r.model.modules).map((m) => m.gradients), 1.0);
      for (const o of r.opts) o.step();
      pending.push(l.loss.read());
    });
    r.step++;
  }
  return (await Promise.all(pending)).map((v) => v[0]!);
}

const save = (r: Run, metadata?: Record<string, string>): Promise<Uint8Array> =>
  saveCheckpoint(r.model, r.opts, { step: r.step, rng: { data: r.data.s }, metadata });

async function load(bytes: Uint8Array, r: Run): Promise<void> {
  const got = await loadCheckpoint(bytes, r.model, r.opts);
  r.step = got.step;
  r.data.s = got.rng!.data!;
}

/** Bit patterns, so -0 vs 0 and NaN payloads count. */
const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const bitsOf = (xs: number[]): number[] => bits(Float32Array.from(xs));

/** Everything a resumed run depends on, as bits. */
async function snapshot(r: Run): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(await r.model.stateDict())) out[k] = bits(v);
  for (const [i, o] of r.opts.entries()) {
    for (const [k, v] of Object.entries(await o.stateDict())) out[`opt${i}.${k}`] = bits(v);
    out[`opt${i}.hyper`] = bits(await o.hyper.read());
    out[`opt${i}.lr`] = [o.lr];
    out[`opt${i}.stepCount`] = [o.stepCount];
  }
  out.dropoutCounter = bits(await r.model.rnn.dropoutCounter.read());
  return out;
}

describe('checkpoints', () => {
  it('round trip: parameters, optimizer state, step counts, lr and RNG counters load bit-identical into fresh objects', async () => {
    const a = makeRun(1);
    await train(a, 4);
    a.opts[2]!.lr = 0.0123; // a non-default lr must come back
    const bytes = await save(a, { note: 'hello', run: 'A' });

    // The file: parameters under model.stateDict()'s names, the rest apart, metadata as strings.
    const file = decodeSafetensors(bytes);
    const sd = await a.model.stateDict();
    const paramNames = Object.keys(file.tensors).filter((k) => !k.startsWith('optimizer.') && !k.startsWith('rng.'));
    expect(paramNames.sort()).toEqual(Object.keys(sd).sort());
    expect(file.tensors['rnn.weight_ih_l1']!.shape).toEqual([4 * H, H]);
    expect(file.tensors['optimizer.1.exp_avg.weight_hh_l0']!.shape).toEqual([4 * H, H]);
    expect(file.tensors['optimizer.2.momentum_buffer.weight']!.shape).toEqual([V, H]);
    expect(Array.from(file.tensors['optimizer.0.step']!.data as Float32Array)).toEqual([4]);
    expect(Array.from(file.tensors['rng.rnn.dropout_counter']!.data as Float32Array)).toEqual([4]);
    expect(file.metadata).toMatchObject({
      format: 'webgpu-rnn.checkpoint', format_version: '1', step: '4', optimizers: '3', note: 'hello',
      'optimizer.0.kind': 'Adam', 'optimizer.0.module': 'embedding', 'optimizer.1.weight_decay': '0.001',
      'optimizer.2.kind': 'SGD', 'optimizer.2.module': 'head', 'optimizer.2.lr': '0.0123', 'optimizer.2.momentum': '0.9',
      'optimizer.1.betas': '[0.9,0.999]', rng: JSON.stringify({ data: a.data.s }),
    });

    const b = makeRun(2); // different seeds: different parameters and dropout seed
    const before = await snapshot(b);
    const got = await loadCheckpoint(bytes, b.model, b.opts);
    expect(got).toEqual({ step: 4, rng: { data: a.data.s }, metadata: { note: 'hello', run: 'A' } });
    [b.step, b.data.s] = [got.step, got.rng!.data!];
    const [sa, sb] = [await snapshot(a), await snapshot(b)];
    expect(sb).toEqual(sa);
    expect(sb['rnn.weight_ih_l0']).not.toEqual(before['rnn.weight_ih_l0']);
    // Saving the loaded objects gives the same file, byte for byte.
    expect(Buffer.from(await save(b, { note: 'hello', run: 'A' })).equals(Buffer.from(bytes))).toBe(true);
    destroyRun(a);
    destroyRun(b);
  });

  it('resume: N steps, save, load into fresh objects, N more steps = 2N steps straight, to the bit (dropout on)', async () => {
    const N = 4;
    const a = makeRun(3);
    const straight = await train(a, 2 * N);

    const b = makeRun(3);
    const first = await train(b, N);
    expect(bitsOf(first)).toEqual(bitsOf(straight.slice(0, N)));
    const bytes = await save(b);
    destroyRun(b);

    const c = makeRun(99); // fresh model, optimizers and data generator, other seeds
    await load(bytes, c);
    expect(c.step).toBe(N);
    const second = await train(c, N);
    expect(bitsOf(second)).toEqual(bitsOf(straight.slice(N)));
    expect(await snapshot(c)).toEqual(await snapshot(a));
    expect(Array.from(await c.model.rnn.dropoutCounter.read())).toEqual([2 * N]);

    // Control: without the restored dropout counter the next step differs.
    const d = makeRun(5);
    await load(bytes, d);
    d.model.rnn.dropoutCounter.write([0]);
    expect(bitsOf(await train(d, 1))).not.toEqual(bitsOf(straight.slice(N, N + 1)));
    for (const r of [a, c, d]) destroyRun(r);
  });

  it("Adam's bias corrections come back as the GPU accumulated them (recomputing them in float64 differs)", async () => {
    const r = makeRun(9);
    const adam = r.opts[2] = new Adam(rt, r.model.head.params, r.model.head.gradients, { lr: 0.01 });
    for (let i = 0; i < 300; i++) rt.step(() => adam.step());
    const bytes = await saveCheckpoint(r.model, r.opts, { step: 300 });
    const fresh = makeRun(10);
    fresh.opts[2] = new Adam(rt, fresh.model.head.params, fresh.model.head.gradients, { lr: 0.01 });
    await loadCheckpoint(bytes, fresh.model, fresh.opts);
    const want = bits(await adam.hyper.read());
    expect(bits(await fresh.opts[2].hyper.read())).toEqual(want);
    // Optimizer.loadState alone recomputes 1 - beta^t on the host: at step 300 the f32 results differ.
    await fresh.opts[2].loadState(await adam.stateDict());
    expect(bits(await fresh.opts[2].hyper.read())).not.toEqual(want);
    destroyRun(r);
    destroyRun(fresh);
  });

  describe('files that do not fit', () => {
    let bytes: Uint8Array;
    let run: Run;
    beforeAll(async () => {
      run = makeRun(4);
      await train(run, 2);
      bytes = await save(run);
    });
    afterAll(() => destroyRun(run));

    /** Loads `file` into a fresh run, expects `message`, and checks that nothing changed. */
    async function rejects(file: Uint8Array, message: RegExp, o?: Parameters<typeof makeRun>[1]): Promise<string> {
      const r = makeRun(6, o);
      const before = await snapshot(r);
      let err: unknown;
      try {
        await loadCheckpoint(file, r.model, r.opts);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      const msg = (err as Error).message;
      expect(msg).toMatch(/^checkpoint: /);
      expect(msg).toMatch(message);
      expect(await snapshot(r)).toEqual(before);
      destroyRun(r);
      return msg;
    }

    function edit(f: (t: Record<string, SafeTensor>, m: Record<string, string>) => void): Uint8Array {
      const { tensors, metadata } = decodeSafetensors(bytes);
      f(tensors, metadata);
      return encodeSafetensors(tensors, metadata);
    }

    it('truncated files', async () => {
      await rejects(bytes.subarray(0, bytes.length - 10), /cannot read the file.*truncated/);
      await rejects(bytes.subarray(0, 100), /cannot read the file.*header length/);
      await rejects(bytes.subarray(0, 5), /cannot read the file.*too short/);
      await rejects(new Uint8Array(0), /cannot read the file/);
    });

    it('files that are not checkpoints', async () => {
      await rejects(new TextEncoder().encode('{"weights": [1, 2, 3]} is not a safetensors file at all'), /cannot read the file \(\d+ bytes\): safetensors: /);
      await rejects(Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24), /cannot read the file/);
      const plain = encodeSafetensors(Object.fromEntries(Object.entries(await run.model.stateDict())));
      await rejects(plain, /not a webgpu-rnn checkpoint \(no "format" metadata/);
      await rejects(edit((_, m) => (m.format_version = '7')), /format_version "7" is not supported/);
    });

    it('a missing, an extra and a mis-shaped tensor', async () => {
      await rejects(edit((t) => delete t['rnn.bias_hh_l1']), /missing tensor "rnn\.bias_hh_l1": expected F32 \[48\]/);
      await rejects(edit((t) => delete t['optimizer.1.exp_avg_sq.weight_ih_l0']), /missing tensor "optimizer\.1\.exp_avg_sq\.weight_ih_l0"/);
      await rejects(edit((t) => delete t['rng.rnn.dropout_counter']), /missing tensor "rng\.rnn\.dropout_counter": expected F32 \[1\]/);
      await rejects(edit((t) => (t['head.extra'] = { dtype: 'F32', shape: [2], data: new Float32Array(2) })), /unexpected tensor "head\.extra" \(F32 \[2\]\)/);
      await rejects(
        edit((t) => (t['head.weight'] = { dtype: 'F32', shape: [H, V], data: t['head.weight']!.data })),
        /tensor "head\.weight": expected F32 \[7, 12\], the file has F32 \[12, 7\]/,
      );
      await rejects(
        edit((t) => (t['head.bias'] = { dtype: 'F64', shape: [V], data: new Float64Array(V) })),
        /tensor "head\.bias": expected F32 \[7\], the file has F64 \[7\]/,
      );
      await rejects(edit((_, m) => (m.step = 'soon')), /invalid checkpoint:\n  - metadata "step" is "soon", not a number$/);
      await rejects(edit((_, m) => (m.step = '-2')), /metadata "step" must be an integer >= 0, got "-2"/);
      await rejects(edit((t) => ((t['optimizer.0.step']!.data as Float32Array)[0] = 1.5)), /"optimizer\.0\.step" must hold an integer/);
    });

    it('another architecture, other optimizers', async () => {
      const msg = await rejects(bytes, /tensor "rnn\.weight_ih_l0": expected F32 \[64, 8\], the file has F32 \[48, 8\]/, { hiddenSize: 16 });
      expect(msg).toMatch(/tensor "head\.weight": expected F32 \[7, 16\], the file has F32 \[7, 12\]/);
      await rejects(bytes, /unexpected tensor "rnn\.weight_ih_l1"/, { numLayers: 1 });
      await rejects(bytes, /expected F32 \[36, 8\], the file has F32 \[48, 8\].*\n[^]*saved from \{"embedding":"Embedding","rnn":"LSTM","head":"Linear"\}; this model is \{"embedding":"Embedding","rnn":"GRU","head":"Linear"\}/, { cell: 'gru' });
      // Optimizers of another kind, or fewer of them.
      const r = makeRun(6);
      const sgd = new SGD(rt, r.model.rnn.params, r.model.rnn.gradients, { lr: 0.1, momentum: 0.9 });
      await expect(loadCheckpoint(bytes, r.model, [r.opts[0]!, sgd, r.opts[2]!])).rejects.toThrow(/optimizer 1: the file holds Adam state, optimizers\[1\] is SGD/);
      await expect(loadCheckpoint(bytes, r.model, [r.opts[0]!, r.opts[2]!, r.opts[1]!])).rejects.toThrow(/optimizer 1: in the file it updates module "rnn", optimizers\[1\] updates "head"/);
      await expect(loadCheckpoint(bytes, r.model, r.opts.slice(0, 2))).rejects.toThrow(/the file holds 3 optimizer\(s\), 2 given[^]*unexpected tensor "optimizer\.2\.step"/);
      destroyRun(r);
    });
  });

  it('saveCheckpoint checks its arguments', async () => {
    const r = makeRun(8);
    await expect(saveCheckpoint(r.model, r.opts, { step: -1 })).rejects.toThrow(/step must be an integer >= 0/);
    await expect(saveCheckpoint(r.model, r.opts, { step: 0, metadata: { format: 'x' } })).rejects.toThrow(/metadata key "format" is reserved/);
    await expect(saveCheckpoint(r.model, r.opts, { step: 0, rng: { s: NaN } })).rejects.toThrow(/rng "s" must be a finite number/);
    await expect(saveCheckpoint({ modules: {} } as never, r.opts, { step: 0 })).resolves.toBeInstanceOf(Uint8Array);
    destroyRun(r);
  });
});
