/**
 * Real PyTorch as the reference: torch-initialised nn.RNN / nn.LSTM / nn.GRU
 * state dicts load into our layers and give torch's outputs, final states and
 * gradients; checkpoints written here load into torch modules
 * (load_state_dict(strict=True)) and give the same logits, continue training
 * there with their Adam state to the parameters our next step gives, and
 * torch's state dicts load here. The Python side is test/torch/*.py and
 * tools/torch/*.py; files travel as safetensors in a temp dir. The CLI and
 * DistributedDataParallel: test/torch-cli.test.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Adam, CrossEntropyLoss, GRU, LSTM, RNN, SequenceToSequence, createRuntime, type Recurrent, type Runtime, type Tensor } from '../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { encodeSafetensors } from '../src/io/safetensors.js';
import { expectClose, freshSeed, rng } from './suite/check.js';
import { describeTorch, maxDiff, python, readTensors, tempDir } from './torch/harness.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
/** Per case: the largest max |diff| and the largest relative figure (max |diff| / max |torch|) over its tensors. */
const report = new Map<string, { abs: number; rel: number; n: number }>();
afterAll(() => {
  const lines = [...report].map(([k, r]) => `  ${k.padEnd(34)} ${String(r.n).padStart(3)} tensors  max|diff| ${r.abs.toExponential(2)}  rel ${r.rel.toExponential(2)}`);
  if (lines.length) console.log(`torch comparisons (seed ${seed}):\n${lines.join('\n')}`);
});

/** Compares and records max |diff| (absolute, and relative to max |torch|). */
function close(what: string, ours: ArrayLike<number>, theirs: ArrayLike<number>, tol: { atol: number; rtol: number }): void {
  const d = maxDiff(ours, theirs);
  const key = what.split(' ').slice(0, what.includes('->') ? 2 : 1).join(' ');
  const r = report.get(key) ?? { abs: 0, rel: 0, n: 0 };
  report.set(key, { abs: Math.max(r.abs, d.abs), rel: Math.max(r.rel, d.rel), n: r.n + 1 });
  expect(d.ref, `${what}: torch's values are all zero (nothing to compare)`).toBeGreaterThan(0);
  expectClose(what, ours, theirs, tol, seed);
}

interface LayerCase {
  name: string;
  cell: 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru';
  I: number;
  H: number;
  L: number;
  T: number;
  B: number;
  bidirectional: boolean;
  batch_first: boolean;
  /** Valid steps per batch row (our `lengths`; torch's pack_padded_sequence). */
  lengths?: number[];
}

const layerCases: LayerCase[] = [
  { name: 'rnn_tanh_l2_bi', cell: 'rnn_tanh', I: 5, H: 6, L: 2, T: 5, B: 3, bidirectional: true, batch_first: false },
  { name: 'rnn_relu_l2', cell: 'rnn_relu', I: 4, H: 7, L: 2, T: 6, B: 3, bidirectional: false, batch_first: false },
  { name: 'lstm_l2_bi_batch_first', cell: 'lstm', I: 5, H: 8, L: 2, T: 5, B: 3, bidirectional: true, batch_first: true },
  { name: 'lstm_l1_h33', cell: 'lstm', I: 9, H: 33, L: 1, T: 7, B: 2, bidirectional: false, batch_first: false },
  { name: 'gru_l2_bi', cell: 'gru', I: 6, H: 5, L: 2, T: 5, B: 2, bidirectional: true, batch_first: false },
  { name: 'gru_l3', cell: 'gru', I: 3, H: 12, L: 3, T: 4, B: 4, bidirectional: false, batch_first: false },
  { name: 'lstm_l2_bi_lengths', cell: 'lstm', I: 4, H: 6, L: 2, T: 6, B: 3, bidirectional: true, batch_first: false, lengths: [6, 2, 4] },
  { name: 'gru_bi_batch_first_lengths', cell: 'gru', I: 5, H: 7, L: 1, T: 5, B: 4, bidirectional: true, batch_first: true, lengths: [3, 5, 1, 4] },
];

function makeLayer(c: LayerCase): Recurrent {
  const o = { inputSize: c.I, hiddenSize: c.H, numLayers: c.L, bidirectional: c.bidirectional, batchFirst: c.batch_first, seed: 1 };
  if (c.cell === 'lstm') return new LSTM(rt, o);
  if (c.cell === 'gru') return new GRU(rt, o);
  return new RNN(rt, { ...o, nonlinearity: c.cell === 'rnn_relu' ? 'relu' : 'tanh' });
}

/*
 * Tolerance of the layer comparisons: torch computes in float64 from the same
 * float32 parameters and inputs; our kernels compute in float32, so each
 * value carries the rounding of sums over I or H terms, compounded over T
 * steps and L layers (and back again for the gradients). Measured on
 * SwiftShader: max |diff| <= 6e-7 with values of O(1) (1e-7 to 4e-7 of the
 * largest |value|). 3e-6 absolute + 3e-5 relative is 5x that, for other seeds
 * and for GPUs that contract to fma or sum in another order, and still fails
 * a wrong formula, gate order or index by orders of magnitude (such errors
 * are >= 1e-2 here).
 */
const LAYER_TOL = { atol: 3e-6, rtol: 3e-5 };

describeTorch('PyTorch: nn.RNN / nn.LSTM / nn.GRU state dicts give torch\'s outputs, states and gradients', () => {
  const dir = tempDir('torch-layers');
  beforeAll(() => {
    const cases = layerCases.map((c, i) => ({ ...c, seed: (seed + i * 7919) % 2 ** 31 }));
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
    python('test/torch/recurrent.py', [join(dir, 'cases.json'), dir]);
  }, 120_000);

  for (const c of layerCases) {
    it(c.name, async () => {
      const f = readTensors(join(dir, `${c.name}.safetensors`));
      const layer = makeLayer(c);
      const params: Record<string, Float32Array> = {};
      for (const [k, v] of Object.entries(f.t)) if (k.startsWith('param.')) params[k.slice(6)] = v;
      layer.loadStateDict(params);
      const up = (k: string): Tensor | undefined => (f.t[k] ? rt.tensor(f.t[k]!, f.shape[k]!) : undefined);
      const [x, h0, c0, dout, dh, dc] = ['x', 'h0', 'c0', 'dout', 'dh', 'dc'].map(up) as Tensor[];
      const lstm = c.cell === 'lstm';
      let res!: ReturnType<Recurrent['forward']>;
      let back!: ReturnType<Recurrent['backward']>;
      rt.step(() => {
        layer.zeroGrad();
        res = layer.forward(x!, { h0, ...(lstm ? { c0 } : {}), ...(c.lengths ? { lengths: c.lengths } : {}) });
        back = layer.backward(dout!, lstm ? { dh, dc } : { dh });
      });
      close(`${c.name} output`, await res.output.read(), f.f64.out!, LAYER_TOL);
      close(`${c.name} h_n`, await res.h.read(), f.f64.h_n!, LAYER_TOL);
      if (lstm) close(`${c.name} c_n`, await res.c!.read(), f.f64.c_n!, LAYER_TOL);
      close(`${c.name} dx`, await back.dx.read(), f.f64.dx!, LAYER_TOL);
      close(`${c.name} dh0`, await back.dh0.read(), f.f64.dh0!, LAYER_TOL);
      if (lstm) close(`${c.name} dc0`, await back.dc0!.read(), f.f64.dc0!, LAYER_TOL);
      const grads = await layer.grads();
      expect(Object.keys(grads).sort()).toEqual(Object.keys(params).sort());
      for (const [k, g] of Object.entries(grads)) close(`${c.name} grad ${k}`, g, f.f64[`grad.${k}`]!, LAYER_TOL);
      for (const t of [x, h0, c0, dout, dh, dc]) t?.destroy();
      layer.destroy();
    });
  }
});

// ------------------------------------------------------------------ whole models

type Arch = 'lstm' | 'gru' | 'rnn';
interface ModelCase {
  name: string;
  arch: Arch;
  V: number;
  E: number;
  H: number;
  L: number;
}
const [MT, MB] = [6, 3];

/*
 * Tolerance of the logits: the same float32-vs-float64 argument as the
 * layers', through an embedding lookup (exact), the recurrent layers and a
 * Linear head (a sum over H). Measured on SwiftShader: max |diff| <= 2e-7
 * with logits of O(1); 3e-6 + 3e-5|ref| as there.
 */
const LOGIT_TOL = { atol: 3e-6, rtol: 3e-5 };

function makeModel(c: Omit<ModelCase, 'name'>, s: number): SequenceToSequence {
  return new SequenceToSequence(rt, { input: 'embedding', inputSize: c.V, embeddingDim: c.E, cell: c.arch, hiddenSize: c.H, numLayers: c.L, outputSize: c.V, seed: s });
}

/** Random token ids [T, B] as the models take them (floats holding integers). */
function randomIds(r: () => number, V: number): Float32Array {
  return Float32Array.from({ length: MT * MB }, () => Math.floor(r() * V));
}

async function logitsOf(model: SequenceToSequence, ids: Float32Array): Promise<Float32Array> {
  const x = rt.tensor(ids, [MT, MB]);
  let out!: Tensor;
  rt.step(() => {
    out = model.forward(x).logits;
  });
  const got = await out.read();
  x.destroy();
  return got;
}

/** Records one training step on ids x [MT, MB] and targets y: cross-entropy on the logits, backward, opt.step(); returns the loss. */
function trainStep(model: SequenceToSequence, opt: Adam, loss: CrossEntropyLoss, x: Tensor, y: Tensor): Tensor {
  let lossT!: Tensor;
  rt.step(() => {
    model.zeroGrad();
    const { logits } = model.forward(x);
    const V = logits.shape[2]!;
    const l = loss.forward(logits.reshape([MT * MB, V]), y);
    lossT = l.loss;
    model.backward(l.grad.reshape([MT, MB, V]));
    opt.step();
  });
  return lossT;
}

describeTorch('PyTorch: checkpoints written here load into torch modules (strict) and give the same logits; torch state dicts load here', () => {
  const dir = tempDir('torch-models');
  const cases: ModelCase[] = [
    { name: 'lstm_l2', arch: 'lstm', V: 11, E: 6, H: 10, L: 2 },
    { name: 'gru_l1', arch: 'gru', V: 9, E: 5, H: 8, L: 1 },
    { name: 'rnn_l2', arch: 'rnn', V: 7, E: 4, H: 6, L: 2 },
  ];

  it('saveCheckpoint (SequenceToSequence after 2 Adam steps) -> torch load_state_dict(strict=True): the same logits', async () => {
    const r = rng(seed ^ 0x5eed);
    const loss = new CrossEntropyLoss(rt);
    const ours: Record<string, Float32Array> = {};
    const jobs = [];
    for (const c of cases) {
      const model = makeModel(c, (seed + c.V) >>> 0);
      const opt = new Adam(model.parameters(), { lr: 0.05 });
      const x = rt.zeros([MT, MB]);
      const y = rt.zeros([MT * MB]);
      for (let step = 0; step < 2; step++) {
        // Trained, so the file holds moved parameters and optimizer state, not an initialisation.
        x.write(randomIds(r, c.V));
        y.write(randomIds(r, c.V));
        trainStep(model, opt, loss, x, y);
      }
      const ckpt = join(dir, `${c.name}.safetensors`);
      writeFileSync(ckpt, await saveCheckpoint(model, opt, { step: 2 }));
      opt.destroy();
      const ids = randomIds(r, c.V);
      ours[c.name] = await logitsOf(model, ids);
      const inputs = join(dir, `${c.name}.ids.safetensors`);
      writeFileSync(inputs, encodeSafetensors({ ids: { dtype: 'F32', shape: [MT, MB], data: ids } }));
      jobs.push({ checkpoint: ckpt, arch: c.arch, inputs, out: join(dir, `${c.name}.torch.safetensors`) });
      for (const t of [x, y]) t.destroy();
      model.destroy();
    }
    loss.destroy();
    writeFileSync(join(dir, 'jobs.json'), JSON.stringify(jobs));
    const done = JSON.parse(python('test/torch/models.py', ['logits', join(dir, 'jobs.json')])) as { loaded: string[]; dropped: string[] }[];
    for (const [i, c] of cases.entries()) {
      // What torch took: exactly the model's parameters; what it left: optimizer state and RNG counters.
      expect(done[i]!.loaded).toContain('rnn.weight_hh_l0');
      expect(done[i]!.loaded.filter((k) => !/^(embedding|rnn|head)\./.test(k))).toEqual([]);
      expect(done[i]!.dropped.length).toBeGreaterThan(0);
      expect(done[i]!.dropped.every((k) => k.startsWith('optimizer.') || k.startsWith('rng.'))).toBe(true);
      const theirs = readTensors(jobs[i]!.out).f64.logits!;
      close(`checkpoint->torch ${c.name} logits`, ours[c.name]!, theirs, LOGIT_TOL);
    }
  });

  it('the way back: a checkpoint continues training in torch (as ddp_train.py --init loads it): one more Adam step gives our next parameters', async () => {
    const c = { arch: 'lstm' as const, V: 9, E: 5, H: 8, L: 2 };
    const r = rng(seed ^ 0xc0de);
    const model = makeModel(c, (seed + 5) >>> 0);
    const of = (prefix: string) => model.parameters().filter((p) => p.name.startsWith(`${prefix}.`));
    // One Adam, a param group per module with its own hyperparameters: the file's param groups.
    const opt = new Adam([
      { params: of('embedding'), lr: 0.02 },
      { params: of('rnn'), lr: 0.01, weightDecay: 1e-3 },
      { params: of('head'), lr: 0.05, betas: [0.8, 0.99] },
    ]);
    const loss = new CrossEntropyLoss(rt);
    const x = rt.zeros([MT, MB]);
    const y = rt.zeros([MT * MB]);
    for (let i = 0; i < 3; i++) {
      x.write(randomIds(r, c.V));
      y.write(randomIds(r, c.V));
      trainStep(model, opt, loss, x, y);
    }
    const ckpt = join(dir, 'continue.safetensors');
    writeFileSync(ckpt, await saveCheckpoint(model, opt, { step: 3 }));
    // The fourth step, here and in torch, on the same batch.
    const [xs, ys] = [randomIds(r, c.V), randomIds(r, c.V)];
    x.write(xs);
    y.write(ys);
    const ourLoss = (await trainStep(model, opt, loss, x, y).read())[0]!;
    const ours = await model.stateDict();
    const batch = join(dir, 'continue.batch.safetensors');
    writeFileSync(batch, encodeSafetensors({ x: { dtype: 'F32', shape: [MT, MB], data: xs }, y: { dtype: 'F32', shape: [MT * MB], data: ys } }));
    const out = join(dir, 'continue.torch.safetensors');
    writeFileSync(join(dir, 'continue.json'), JSON.stringify({ checkpoint: ckpt, batch, out }));
    const got = JSON.parse(python('test/torch/models.py', ['continue', join(dir, 'continue.json')])) as { step: number; resumed: string[]; groups: { lr: number; betas: number[]; weight_decay: number }[] };
    expect(got.step).toBe(3);
    expect(got.resumed.sort()).toEqual(Object.keys(ours).sort()); // every parameter's moments
    expect(got.groups.map((g) => [g.lr, g.betas, g.weight_decay])).toEqual([[0.02, [0.9, 0.999], 0], [0.01, [0.9, 0.999], 0.001], [0.05, [0.8, 0.99], 0]]);
    const f = readTensors(out);
    close('continue->torch loss', [ourLoss], f.f64.loss!, LOGIT_TOL);
    /*
     * The step moves each parameter by about lr * m / sqrt(v) (up to 0.05 here);
     * its float32 error is that of the gradients (~1e-7 relative), so the new
     * parameters agree as the logits do. A missing moment or a wrong step count
     * (bias correction) moves them by ~1e-3.
     */
    for (const [k, v] of Object.entries(ours)) close(`continue->torch parameters ${k}`, v, f.f64[k]!, LOGIT_TOL);
    const before = readTensors(ckpt).t;
    const moved = maxDiff(ours['head.weight']!, before['head.weight']!);
    expect(moved.abs).toBeGreaterThan(1e-3); // the step did move them
    for (const t of [x, y]) t.destroy();
    loss.destroy();
    model.destroy();
  });

  it("and back: torch.optim.Adam's state (two steps in torch) continues here: our third step gives torch's third step", async () => {
    const c = { name: 'back', arch: 'lstm' as const, V: 7, E: 5, H: 6, L: 1 };
    const r = rng(seed ^ 0xbacc);
    const batches: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (let i = 0; i < 3; i++) {
      batches[`x${i}`] = { dtype: 'F32', shape: [MT, MB], data: randomIds(r, c.V) };
      batches[`y${i}`] = { dtype: 'F32', shape: [MT * MB], data: randomIds(r, c.V) };
    }
    const files = { batches: join(dir, 'back.batches.safetensors'), ckpt: join(dir, 'back.ckpt.safetensors'), out: join(dir, 'back.out.safetensors') };
    writeFileSync(files.batches, encodeSafetensors(batches));
    writeFileSync(join(dir, 'back.json'), JSON.stringify({ ...c, T: MT, B: MB, seed: seed % 2 ** 31, lr: 0.05, ...files }));
    python('test/torch/models.py', ['back', join(dir, 'back.json')]);
    const model = makeModel(c, 1);
    const opt = new Adam(model.parameters(), { lr: 0.05 });
    // The file is torch's: parameters, Adam moments and step by parameter index, torch's param_groups.
    const info = await loadCheckpoint(new Uint8Array(readFileSync(files.ckpt)), model, opt);
    expect(info.step).toBe(2);
    expect(opt.stepCount).toBe(2);
    const loss = new CrossEntropyLoss(rt);
    const x = rt.tensor(batches.x2!.data, [MT, MB]);
    const y = rt.tensor(batches.y2!.data, [MT * MB]);
    trainStep(model, opt, loss, x, y);
    const ours = await model.stateDict();
    const theirs = readTensors(files.out).t;
    const before = readTensors(files.ckpt).t;
    // Both sides float32 here (torch's step too): the gradients' rounding differs (~1e-7 relative),
    // and a step moves parameters by up to lr = 0.05; a lost moment or step count moves them ~1e-3.
    for (const [k, v] of Object.entries(ours)) close(`torch->ours Adam step 3 ${k}`, v, theirs[k]!, { atol: 1e-5, rtol: 1e-4 });
    expect(maxDiff(ours['head.weight']!, before['head.weight']!).abs).toBeGreaterThan(1e-3);
    for (const t of [x, y]) t.destroy();
    loss.destroy();
    opt.destroy();
    model.destroy();
  });

  it('a torch-initialised model\'s state dict (written by Python) loads into SequenceToSequence and gives torch\'s logits', async () => {
    for (const c of cases) {
      const out = join(dir, `${c.name}.from-torch.safetensors`);
      writeFileSync(join(dir, 'spec.json'), JSON.stringify({ ...c, T: MT, B: MB, seed: (seed + 31 * c.V) % 2 ** 31, out }));
      python('test/torch/models.py', ['export', join(dir, 'spec.json')]);
      const f = readTensors(out);
      const model = makeModel(c, 1);
      const sd = Object.fromEntries(Object.entries(f.t).filter(([k]) => k !== 'ids' && k !== 'logits'));
      model.loadStateDict(sd);
      // Loaded as given: our state dict is torch's, value for value.
      const back = await model.stateDict();
      expect(Object.keys(back).sort()).toEqual(Object.keys(sd).sort());
      for (const [k, v] of Object.entries(sd)) expect(Array.from(back[k]!), k).toEqual(Array.from(v));
      close(`torch->ours ${c.name} logits`, await logitsOf(model, f.t.ids!), f.f64.logits!, LOGIT_TOL);
      model.destroy();
    }
  });
});
