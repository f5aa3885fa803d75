/**
 * Checkpoints (format_version 2): one model (a Module) and its one optimizer
 * (parameter groups) saved, loaded into fresh objects, and resumed to the
 * bit; clear errors for files that do not fit, and a refused file changes
 * nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, CrossEntropyLoss, SGD, SequenceToSequence, clipGradNorm, createRuntime, type Optimizer, type Parameter, type Runtime } from '../src/index.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../src/io/safetensors.js';
import {
  CHECKPOINT_VERSION,
  MAX_CHECKPOINT_STEP,
  downloadCheckpoint,
  loadCheckpoint,
  loadFromIndexedDB,
  saveCheckpoint,
  saveToIndexedDB,
} from '../src/train/checkpoint.js';

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
  opt: Optimizer;
  x: ReturnType<Runtime['zeros']>;
  y: ReturnType<Runtime['zeros']>;
  data: DataRng;
  step: number;
}

/** The model's parameters under `prefix` (a child module's), with their full names. */
const under = (model: SequenceToSequence, prefix: string): Parameter[] => model.parameters().filter((p) => p.name.startsWith(`${prefix}.`));

/** Three groups of one Adam: embedding (lr 0.02), rnn (lr 0.01, L2 1e-3), head (lr 0.05). */
function groups(model: SequenceToSequence): Adam {
  return new Adam(
    [
      { params: under(model, 'embedding'), lr: 0.02 },
      { params: under(model, 'rnn'), lr: 0.01, weightDecay: 1e-3 },
      { params: under(model, 'head'), lr: 0.05 },
    ],
    { lr: 1e-3 },
  );
}

/** An Embedding + 2-layer LSTM (dropout between layers) + Linear, one optimizer of three groups (`makeOpt` may give another). */
function makeRun(
  seed: number,
  o: { cell?: 'lstm' | 'gru'; hiddenSize?: number; numLayers?: number } = {},
  makeOpt: (m: SequenceToSequence) => Optimizer = groups,
): Run {
  const model = new SequenceToSequence(rt, {
    input: 'embedding', inputSize: V, embeddingDim: 8, cell: o.cell ?? 'lstm', hiddenSize: o.hiddenSize ?? H,
    numLayers: o.numLayers ?? 2, dropout: 0.3, outputSize: V, seed,
  });
  return { model, opt: makeOpt(model), x: rt.zeros([T, B]), y: rt.zeros([T * B]), data: new DataRng(seed * 7919 + 1), step: 0 };
}

function destroyRun(r: Run): void {
  r.opt.destroy();
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
    r.opt.paramGroups[0]!.lr = 0.02 * 0.9 ** r.step; // a schedule: the first group's lr depends on the step
    rt.step(() => {
      r.model.zeroGrad();
      const { logits } = r.model.forward(r.x);
      const l = loss.forward(logits.reshape([T * B, V]), r.y);
      r.model.backward(l.grad.reshape([T, B, V]));
      clipGradNorm(rt, r.model.parameters(), 1.0);
      r.opt.step();
      pending.push(l.loss.read());
    });
    r.step++;
  }
  return (await Promise.all(pending)).map((v) => v[0]!);
}

const save = (r: Run, metadata?: Record<string, string>): Promise<Uint8Array> =>
  saveCheckpoint(r.model, r.opt, { step: r.step, rng: { data: r.data.s }, metadata });

async function load(bytes: Uint8Array, r: Run): Promise<void> {
  const got = await loadCheckpoint(bytes, r.model, r.opt);
  r.step = got.step;
  r.data.s = got.rng!.data!;
}

/** Bit patterns, so -0 vs 0 and NaN payloads count. */
const bits = (a: ArrayLike<number>): number[] => {
  const f = a instanceof Float32Array ? a : Float32Array.from(a);
  return Array.from(new Uint32Array(f.buffer, f.byteOffset, f.length));
};
const bitsOf = (xs: number[]): number[] => bits(Float32Array.from(xs));

/** Everything a resumed run depends on, as bits. */
async function snapshot(r: Run): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(await r.model.stateDict())) out[k] = bits(v);
  const sd = await r.opt.stateDict();
  for (const [i, st] of Object.entries(sd.state)) {
    for (const [k, v] of Object.entries(st)) out[`opt.state.${i}.${k}`] = typeof v === 'number' ? v : bits(v);
  }
  out['opt.param_groups'] = JSON.stringify(sd.param_groups);
  for (const [i, g] of r.opt.paramGroups.entries()) {
    out[`opt.group${i}.hyper`] = bits(await g.hyper.read());
    out[`opt.group${i}.lr`] = g.lr;
    out[`opt.group${i}.initialLr`] = g.initialLr;
  }
  out['opt.stepCount'] = r.opt.stepCount;
  out.dropoutCounter = bits(await r.model.rnn.dropoutCounter.read());
  out.dropoutSeed = r.model.rnn.dropoutSeed;
  return out;
}

/** The index of parameter `name` in the optimizer (its `optimizer.state.{i}` key). */
const indexOf = (r: Run, name: string): number => {
  const i = r.opt.params.findIndex((p) => p.name === name);
  expect(i).toBeGreaterThanOrEqual(0);
  return i;
};

describe('checkpoints', () => {
  it('round trip: parameters, optimizer state, step counts, lr and RNG counters load bit-identical into fresh objects', async () => {
    const a = makeRun(1);
    await train(a, 4);
    a.opt.paramGroups[2]!.lr = 0.0123; // a non-default lr must come back
    const bytes = await save(a, { note: 'hello', run: 'A' });

    // The file: parameters under model.stateDict()'s names, the rest apart, metadata as strings.
    const file = decodeSafetensors(bytes);
    const sd = await a.model.stateDict();
    const paramNames = Object.keys(file.tensors).filter((k) => !k.startsWith('optimizer.') && !k.startsWith('rng.'));
    expect(paramNames.sort()).toEqual(Object.keys(sd).sort());
    expect(file.tensors['rnn.weight_ih_l1']!.shape).toEqual([4 * H, H]);
    // Optimizer state in PyTorch's layout: by parameter index, with the parameter's shape.
    const iHh = indexOf(a, 'rnn.weight_hh_l0');
    const iHead = indexOf(a, 'head.weight');
    expect(file.tensors[`optimizer.state.${iHh}.exp_avg`]!.shape).toEqual([4 * H, H]);
    expect(file.tensors[`optimizer.state.${iHead}.exp_avg_sq`]!.shape).toEqual([V, H]);
    for (let i = 0; i < a.opt.params.length; i++) expect(Array.from(file.tensors[`optimizer.state.${i}.step`]!.data as Float32Array)).toEqual([4]);
    expect(Array.from(file.tensors['rng.rnn.dropout_counter']!.data as Float32Array)).toEqual([4]);
    expect(Object.keys(file.tensors).filter((k) => k.startsWith('optimizer.')).length).toBe(3 * a.opt.params.length);
    expect(file.metadata).toMatchObject({
      format: 'webgpu-rnn.checkpoint', format_version: String(CHECKPOINT_VERSION), step: '4', epoch: '0', note: 'hello', run: 'A',
      rng: JSON.stringify({ data: a.data.s }), 'rng.rnn.dropout_seed': String(a.model.rnn.dropoutSeed),
    });
    expect(CHECKPOINT_VERSION).toBe(2);
    expect(JSON.parse(file.metadata.architecture!)).toEqual({ self: 'SequenceToSequence', embedding: 'Embedding', rnn: 'LSTM', head: 'Linear' });
    const meta = JSON.parse(file.metadata.optimizer!);
    expect(meta.kind).toBe('Adam');
    expect(meta.param_groups).toHaveLength(3);
    expect(meta.param_groups[1]).toMatchObject({ lr: 0.01, initial_lr: 0.01, weight_decay: 0.001, betas: [0.9, 0.999], eps: 1e-8, amsgrad: false });
    expect(meta.param_groups[2]).toMatchObject({ lr: 0.0123, initial_lr: 0.05, param_names: ['head.weight', 'head.bias'], params: [iHead, iHead + 1] });
    expect(meta.param_groups[0].lr).toBe(0.02 * 0.9 ** 3);

    const b = makeRun(2); // different seeds: different parameters and dropout seed
    const before = await snapshot(b);
    const got = await loadCheckpoint(bytes, b.model, b.opt);
    expect(got).toEqual({ step: 4, epoch: 0, rng: { data: a.data.s }, metadata: { note: 'hello', run: 'A' } });
    [b.step, b.data.s] = [got.step, got.rng!.data!];
    const [sa, sb] = [await snapshot(a), await snapshot(b)];
    expect(sb).toEqual(sa);
    expect(sb['rnn.weight_ih_l0']).not.toEqual(before['rnn.weight_ih_l0']);
    expect(sb.dropoutSeed).not.toEqual(before.dropoutSeed);
    expect(b.opt.paramGroups[2]!.lr).toBe(0.0123);
    // Saving the loaded objects gives the same file, byte for byte.
    expect(Buffer.from(await save(b, { note: 'hello', run: 'A' })).equals(Buffer.from(bytes))).toBe(true);
    destroyRun(a);
    destroyRun(b);
  });

  it('epoch, scheduler, trainer and rng come back as given; without an optimizer the file holds parameters and RNG only', async () => {
    const a = makeRun(11);
    await train(a, 1);
    const extra = { step: 7, epoch: 2, scheduler: { last_epoch: 7, base_lrs: [0.02, 0.01, 0.05] }, rng: { data: a.data.s, shuffle: 3 }, trainer: { best: 1.25, history: [1, 2] } };
    const bytes = await saveCheckpoint(a.model, a.opt, extra);
    const b = makeRun(12);
    expect(await loadCheckpoint(bytes, b.model, b.opt)).toEqual({ ...extra, metadata: {} });

    const plain = await saveCheckpoint(a.model, null, { step: 1 });
    const f = decodeSafetensors(plain);
    expect(Object.keys(f.tensors).filter((k) => k.startsWith('optimizer.'))).toEqual([]);
    expect(f.metadata.optimizer).toBeUndefined();
    const c = makeRun(13);
    expect(await loadCheckpoint(plain, c.model, null)).toEqual({ step: 1, epoch: 0, metadata: {} });
    expect(bits((await c.model.stateDict())['head.weight']!)).toEqual(bits((await a.model.stateDict())['head.weight']!));
    // The same file with an optimizer: refused (there is no state to restore), and the reverse.
    // (Its missing state tensors are listed first; the missing "optimizer" metadata alone is named in the metadata test.)
    await expect(loadCheckpoint(plain, c.model, c.opt)).rejects.toThrow(/missing tensor "optimizer\.state\.0\.exp_avg": expected F32 \[7, 8\]/);
    await expect(loadCheckpoint(bytes, c.model, null)).rejects.toThrow(/unexpected tensor "optimizer\.state\.0\.step"/);
    for (const r of [a, b, c]) destroyRun(r);
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

    const c = makeRun(99); // fresh model, optimizer and data generator, other seeds
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
    const one = (m: SequenceToSequence) => new Adam(m.parameters(), { lr: 0.01 });
    const r = makeRun(9, {}, one);
    for (let i = 0; i < 300; i++) rt.step(() => r.opt.step());
    const bytes = await saveCheckpoint(r.model, r.opt, { step: 300 });
    const fresh = makeRun(10, {}, one);
    await loadCheckpoint(bytes, fresh.model, fresh.opt);
    const want = bits(await r.opt.paramGroups[0]!.hyper.read());
    expect(bits(await fresh.opt.paramGroups[0]!.hyper.read())).toEqual(want);
    // A state dict without them (as PyTorch's) recomputes 1 - beta^t on the host: at step 300 the f32 results differ.
    const sd = await r.opt.stateDict();
    const { bias_correction1: _1, bias_correction2: _2, ...pg } = sd.param_groups[0]!;
    fresh.opt.loadStateDict({ state: sd.state, param_groups: [pg as typeof sd.param_groups[0]] });
    const recomputed = await fresh.opt.paramGroups[0]!.hyper.read();
    expect(recomputed[0]).toBe(300);
    expect(bits(recomputed)).not.toEqual(want);
    destroyRun(r);
    destroyRun(fresh);
  });

  describe('files that do not fit', () => {
    let bytes: Uint8Array;
    /** The same run's parameters and RNG only (no optimizer): architecture mismatches alone. */
    let modelOnly: Uint8Array;
    let run: Run;
    beforeAll(async () => {
      run = makeRun(4);
      await train(run, 2);
      bytes = await save(run);
      modelOnly = await saveCheckpoint(run.model, null, { step: run.step });
    });
    afterAll(() => destroyRun(run));

    /** Loads `file` into a fresh run, expects `message`, and checks that nothing changed. */
    async function rejects(
      file: Uint8Array,
      message: RegExp,
      o?: Parameters<typeof makeRun>[1],
      makeOpt?: Parameters<typeof makeRun>[2],
      withOptimizer = true,
    ): Promise<string> {
      const r = makeRun(6, o, makeOpt);
      const before = await snapshot(r);
      let err: unknown;
      try {
        await loadCheckpoint(file, r.model, withOptimizer ? r.opt : null);
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

    it('files that are not checkpoints, and other versions (an old one is refused, pointing at the parameters)', async () => {
      await rejects(new TextEncoder().encode('{"weights": [1, 2, 3]} is not a safetensors file at all'), /cannot read the file \(\d+ bytes\): safetensors: /);
      await rejects(Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24), /cannot read the file/);
      const plain = encodeSafetensors(Object.fromEntries(Object.entries(await run.model.stateDict())));
      await rejects(plain, /not a webgpu-rnn checkpoint \(no "format" metadata/);
      await rejects(edit((_, m) => (m.format = 'other')), /not a webgpu-rnn checkpoint \(format "other", expected "webgpu-rnn\.checkpoint"\)/);
      await rejects(edit((_, m) => (m.format_version = '7')), /format_version "7" is not supported/);
      await rejects(
        edit((_, m) => (m.format_version = '1')),
        /format_version "1" is not supported \(this library reads 2; the parameters of an older file load with decodeSafetensors \+ model\.loadStateDict\)/,
      );
      await rejects(edit((_, m) => delete m.format_version), /format_version "undefined" is not supported/);
    });

    it('a missing, an extra and a mis-shaped tensor', async () => {
      const i = indexOf(run, 'rnn.weight_ih_l0');
      await rejects(edit((t) => delete t['rnn.bias_hh_l1']), /missing tensor "rnn\.bias_hh_l1": expected F32 \[48\]/);
      await rejects(edit((t) => delete t[`optimizer.state.${i}.exp_avg_sq`]), new RegExp(`missing tensor "optimizer\\.state\\.${i}\\.exp_avg_sq": expected F32 \\[48, 8\\]`));
      await rejects(edit((t) => delete t[`optimizer.state.${i}.step`]), new RegExp(`missing tensor "optimizer\\.state\\.${i}\\.step": expected F32 \\[1\\]`));
      await rejects(edit((t) => delete t['rng.rnn.dropout_counter']), /missing tensor "rng\.rnn\.dropout_counter": expected F32 \[1\]/);
      await rejects(edit((t) => (t['head.extra'] = { dtype: 'F32', shape: [2], data: new Float32Array(2) })), /unexpected tensor "head\.extra" \(F32 \[2\]\)/);
      await rejects(edit((t) => (t['optimizer.state.99.exp_avg'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) })), /unexpected tensor "optimizer\.state\.99\.exp_avg"/);
      await rejects(
        edit((t) => (t['head.weight'] = { dtype: 'F32', shape: [H, V], data: t['head.weight']!.data })),
        /tensor "head\.weight": expected F32 \[7, 12\], the file has F32 \[12, 7\]/,
      );
      await rejects(
        edit((t) => (t['head.bias'] = { dtype: 'F64', shape: [V], data: new Float64Array(V) })),
        /tensor "head\.bias": expected F32 \[7\], the file has F64 \[7\]/,
      );
      // Values the parameters refuse (checked before anything is written, the optimizer's state included).
      await rejects(
        edit((t) => ((t['head.bias']!.data as Float32Array)[0] = NaN)),
        /tensor "head\.bias"\[0\] is NaN; values must be finite/,
      );
      await rejects(edit((t) => ((t['optimizer.state.0.step']!.data as Float32Array)[0] = 1.5)), /optimizer\.state\.\*"\): .*state 0: step must be an integer/);
    });

    it('metadata: step, epoch, rng, scheduler, trainer, optimizer', async () => {
      const stepMsg = (s: string) => new RegExp(`invalid checkpoint:\\n  - metadata "step" must be an integer in \\[0, ${MAX_CHECKPOINT_STEP}\\] \\(decimal digits\\), got "${s.replace(/[.+]/g, '\\$&')}"$`);
      await rejects(edit((_, m) => (m.step = 'soon')), stepMsg('soon'));
      await rejects(edit((_, m) => (m.step = '-2')), stepMsg('-2'));
      // Above 2^31 - 1, and exponent notation: refused, naming "step".
      await rejects(edit((_, m) => (m.step = '1000000000000')), stepMsg('1000000000000'));
      await rejects(edit((_, m) => (m.step = '1e9')), stepMsg('1e9'));
      await rejects(edit((_, m) => (m.step = String(2 ** 31))), stepMsg(String(2 ** 31)));
      await rejects(edit((_, m) => delete m.step), /metadata "step" is missing/);
      await rejects(edit((_, m) => (m.epoch = '1.5')), /metadata "epoch" must be an integer/);
      await rejects(edit((_, m) => (m.rng = '{"data": "x"}')), /metadata "rng" must be a JSON object of finite numbers/);
      await rejects(edit((_, m) => (m.rng = '{not json')), /metadata "rng" is not JSON/);
      await rejects(edit((_, m) => (m.scheduler = '{"last_epoch": -1}')), /metadata "scheduler" must be \{ last_epoch/);
      await rejects(edit((_, m) => (m.trainer = '[1, 2]')), /metadata "trainer" must be a JSON object/);
      await rejects(edit((_, m) => (m['rng.rnn.dropout_seed'] = String(2 ** 32))), /metadata "rng\.rnn\.dropout_seed" must be an integer in \[0, 4294967295\]/);
      await rejects(edit((_, m) => delete m.optimizer), /the file holds no optimizer state/);
      await rejects(edit((_, m) => (m.optimizer = '{"kind": "Adam"}')), /metadata "optimizer" must be \{ kind, param_groups \}/);
      await rejects(
        edit((_, m) => {
          const o = JSON.parse(m.optimizer!);
          o.param_groups[1].lr = -1;
          m.optimizer = JSON.stringify(o);
        }),
        /optimizer\.state\.\*"\): .*param group 1: lr must be a number >= 0/,
      );
      // Reserved keys are not handed back as the caller's metadata, and the caller's are.
      const r = makeRun(6);
      const got = await loadCheckpoint(edit((_, m) => (m.mine = 'yes')), r.model, r.opt);
      expect(got.metadata).toEqual({ mine: 'yes' });
      destroyRun(r);
    });

    it('another architecture, another optimizer', async () => {
      const msg = await rejects(modelOnly, /tensor "rnn\.weight_ih_l0": expected F32 \[64, 8\], the file has F32 \[48, 8\]/, { hiddenSize: 16 }, undefined, false);
      expect(msg).toMatch(/tensor "head\.weight": expected F32 \[7, 16\], the file has F32 \[7, 12\]/);
      await rejects(modelOnly, /unexpected tensor "rnn\.weight_ih_l1"/, { numLayers: 1 }, undefined, false);
      // With the optimizer too, its state tensors (indexed by parameter) no longer fit either.
      await rejects(bytes, /tensor "optimizer\.state\.5\.exp_avg": expected F32 \[7, 12\], the file has F32 \[48, 12\]/, { numLayers: 1 });
      await rejects(
        modelOnly,
        /expected F32 \[36, 8\], the file has F32 \[48, 8\][^]*saved from \{"self":"SequenceToSequence","embedding":"Embedding","rnn":"LSTM","head":"Linear"\}; this model is \{"self":"SequenceToSequence","embedding":"Embedding","rnn":"GRU","head":"Linear"\}/,
        { cell: 'gru' },
        undefined,
        false,
      );
      // Another kind (its state tensors differ too), other groups, other hyperparameters.
      // (An SGD's missing momentum buffers are listed first, then the capped list ends; the kind check alone below.)
      await rejects(bytes, /missing tensor "optimizer\.state\.0\.momentum_buffer": expected F32 \[7, 8\]/, {}, (m) => new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 }));
      await rejects(
        edit((_, m) => (m.optimizer = JSON.stringify({ ...JSON.parse(m.optimizer!), kind: 'SGD' }))),
        /the file holds SGD state, the optimizer is Adam/,
      );
      await rejects(bytes, /optimizer\.state\.\*"\): Adam\.loadStateDict: the state has 3 param group\(s\), this optimizer 1/, {}, (m) => new Adam(m.parameters(), { lr: 0.01 }));
      await rejects(
        bytes,
        /param group 0: betas is \[0\.9,0\.999\] in the state, \[0\.8,0\.999\] here/,
        {},
        (m) => new Adam([{ params: under(m, 'embedding'), lr: 0.02, betas: [0.8, 0.999] }, { params: under(m, 'rnn'), lr: 0.01, weightDecay: 1e-3 }, { params: under(m, 'head'), lr: 0.05 }]),
      );
      await rejects(
        bytes,
        /optimizer\.state\.\*"\): Adam\.loadStateDict: param group 1 must list 9 parameters, has 8; param group 2 must list 1 parameters, has 2/,
        {},
        (m) => new Adam([{ params: under(m, 'embedding'), lr: 0.02 }, { params: [...under(m, 'rnn'), under(m, 'head')[0]!], lr: 0.01, weightDecay: 1e-3 }, { params: [under(m, 'head')[1]!], lr: 0.05 }]),
      );
      // An optimizer of another model's parameters.
      const r = makeRun(6);
      const other = makeRun(7);
      await expect(loadCheckpoint(bytes, r.model, other.opt)).rejects.toThrow(/loadCheckpoint: the optimizer's parameter 0 \('embedding\.weight'\) is not one of the model's/);
      await expect(saveCheckpoint(r.model, other.opt, { step: 0 })).rejects.toThrow(/saveCheckpoint: the optimizer's parameter 0 \('embedding\.weight'\) is not one of the model's/);
      destroyRun(r);
      destroyRun(other);
    });
  });

  it('saveCheckpoint checks its arguments (reserved metadata keys among them)', async () => {
    const r = makeRun(8);
    await expect(saveCheckpoint(r.model, r.opt, { step: -1 })).rejects.toThrow(/step must be an integer in \[0, 2147483647\], got -1/);
    await expect(saveCheckpoint(r.model, r.opt, { step: MAX_CHECKPOINT_STEP + 1 })).rejects.toThrow(/step must be an integer in \[0, 2147483647\]/);
    await expect(saveCheckpoint(r.model, r.opt, { step: 0, epoch: 1.5 })).rejects.toThrow(/epoch must be an integer/);
    for (const k of ['format', 'format_version', 'step', 'epoch', 'rng', 'architecture', 'optimizer', 'scheduler', 'trainer', 'optimizer.kind', 'rng.rnn.dropout_seed']) {
      await expect(saveCheckpoint(r.model, r.opt, { step: 0, metadata: { [k]: 'x' } })).rejects.toThrow(new RegExp(`metadata key "${k.replace(/\./g, '\\.')}" is reserved`));
    }
    await expect(saveCheckpoint(r.model, r.opt, { step: 0, metadata: { n: 1 as never } })).rejects.toThrow(/metadata "n" must be a string, got number/);
    await expect(saveCheckpoint(r.model, r.opt, { step: 0, rng: { s: NaN } })).rejects.toThrow(/rng "s" must be a finite number/);
    await expect(saveCheckpoint({ modules: {} } as never, r.opt, { step: 0 })).rejects.toThrow(/model must be a Module/);
    await expect(saveCheckpoint(r.model, [r.opt] as never, { step: 0 })).rejects.toThrow(/optimizer must be an Optimizer or null/);
    await expect(saveCheckpoint(r.model, r.opt, undefined as never)).rejects.toThrow(/extra \{ step \} is required/);
    await expect(loadCheckpoint('bytes' as never, r.model, r.opt)).rejects.toThrow(/expected the file's bytes as a Uint8Array/);
    // An ArrayBuffer loads as well as a Uint8Array.
    const bytes = await saveCheckpoint(r.model, r.opt, { step: 3 });
    const copy = bytes.slice().buffer;
    expect((await loadCheckpoint(copy, r.model, r.opt)).step).toBe(3);
    destroyRun(r);
  });

  it('the browser helpers say they need a browser when run in Node', async () => {
    expect(() => downloadCheckpoint(new Uint8Array(4))).toThrow(/^checkpoint: downloadCheckpoint needs a browser page \(document, Blob, URL\); in Node use saveFile$/);
    await expect(saveToIndexedDB('k', new Uint8Array(4))).rejects.toThrow(/IndexedDB is not available here \(it needs a browser\)/);
    await expect(loadFromIndexedDB('k')).rejects.toThrow(/IndexedDB is not available here/);
  });
});
