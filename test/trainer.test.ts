/**
 * The Module contract, one optimizer per model (parameter groups), and the
 * resumable Trainer: eval mode, PyTorch's Adam over named parameters against
 * a float64 reference, bit-identical resume from a checkpoint (dropout and a
 * schedule on), the Sequential(Embedding, LSTM, Linear) flow, and bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Adam,
  AdamW,
  EarlyStopping,
  Embedding,
  LSTM,
  Linear,
  Dropout,
  Sequential,
  SequenceToSequence,
  Trainer,
  createRuntime,

  textData,
  warmupCosine,
  type Runtime,
  type TrainData,
} from '../src/index.js';
import { adamRefState, adamRefStep } from './reference/optim.js';
import { readCsvColumn } from '../src/train/csv.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

const text = 'the quick brown fox jumps over the lazy dog; the lazy dog sleeps. '.repeat(8);

describe('Module contract', () => {
  it('names parameters as PyTorch, counts them, propagates train/eval, prints a summary', () => {
    const model = new Sequential(new Embedding(rt, { numEmbeddings: 10, embeddingDim: 4, seed: 1 }), new LSTM(rt, { inputSize: 4, hiddenSize: 6, seed: 2 }), new Dropout(rt, 0.5, 3), new Linear(rt, { inFeatures: 6, outFeatures: 10, seed: 4 }));
    const names = model.parameters().map((p) => p.name);
    expect(names).toEqual(['0.weight', '1.weight_ih_l0', '1.weight_hh_l0', '1.bias_ih_l0', '1.bias_hh_l0', '3.weight', '3.bias']);
    // 10*4 + 24*4 + 24*6 + 24 + 24 + 10*6 + 10
    expect(model.numParameters()).toBe(40 + 96 + 144 + 24 + 24 + 60 + 10);
    model.eval();
    expect(model.namedModules().every(([, m]) => !m.training)).toBe(true);
    model.train();
    expect((model.layers[2] as Dropout).training).toBe(true);
    const s = model.summary();
    expect(s).toContain('1.weight_hh_l0');
    expect(s).toContain('[24, 6]');
    expect(s).toContain('total parameters: 398');
    model.destroy();
  });

  it('loadStateDict: exact shapes, strict keys, finite values; a refused load changes nothing', async () => {
    const lstm = new LSTM(rt, { inputSize: 3, hiddenSize: 4, seed: 5 });
    const before = await lstm.stateDict();
    const good = Object.fromEntries(Object.entries(before).map(([k, v]) => [k, v.map((x) => x + 1)]));
    // Transposed weight_ih ([3, 16] instead of [16, 3]): same count, refused by shape.
    expect(() => lstm.loadStateDict({ ...good, weight_ih_l0: { shape: [3, 16], data: good.weight_ih_l0! } })).toThrow("'weight_ih_l0' must be [16, 3], got [3, 16]");
    expect(() => lstm.loadStateDict({ ...good, extra: new Float32Array(1) })).toThrow('unexpected extra');
    expect(() => lstm.loadStateDict({ ...good, bias_hh_l0: 'x'.repeat(16) as unknown as Float32Array })).toThrow("'bias_hh_l0' must be a Float32Array");
    const nan = Float32Array.from(good.bias_ih_l0!);
    nan[3] = NaN;
    expect(() => lstm.loadStateDict({ ...good, bias_ih_l0: nan })).toThrow("'bias_ih_l0'[3] must be a finite number, got NaN");
    expect(await lstm.stateDict()).toEqual(before);
    const { weight_hh_l0: _, ...partial } = good;
    expect(() => lstm.loadStateDict(partial)).toThrow('missing weight_hh_l0');
    const r = lstm.loadStateDict(partial, { strict: false });
    expect(r.missingKeys).toEqual(['weight_hh_l0']);
    const after = await lstm.stateDict();
    expect(after.weight_ih_l0).toEqual(Float32Array.from(good.weight_ih_l0!));
    expect(after.weight_hh_l0).toEqual(before.weight_hh_l0);
    lstm.destroy();
  });
});

describe('one optimizer per model', () => {
  it("Adam over a three-module model with parameter groups equals PyTorch's Adam in float64", async () => {
    const V = 7;
    const model = new SequenceToSequence(rt, { input: 'embedding', inputSize: V, embeddingDim: 5, cell: 'gru', hiddenSize: 6, outputSize: V, seed: 3 });
    const ps = model.parameters();
    const biases = ps.filter((p) => p.name.includes('bias'));
    const weights = ps.filter((p) => !p.name.includes('bias'));
    // Weights in one group with L2 decay and their own lr, biases in another: the groups split each arena.
    const opt = new Adam([{ params: weights, weightDecay: 0.01, lr: 0.02 }, { params: biases }], { lr: 0.005, betas: [0.8, 0.99] });
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.02, 0.005]);
    const init = await model.stateDict();
    const ref = new Map(ps.map((p) => [p.name, adamRefState(init[p.name]!)]));
    const x = rt.tensor(Float32Array.from({ length: 4 * 3 }, (_, i) => (i * 5) % V), [4, 3]);
    for (let s = 0; s < 3; s++) {
      // Fresh gradients each step: seeded, non-zero, written straight into the gradient buffers.
      const grads = new Map(ps.map((p) => [p.name, Float32Array.from({ length: p.grad.size }, (_, i) => Math.sin(1 + i * 0.7 + s * 1.3 + p.name.length))]));
      for (const p of ps) p.grad.write(grads.get(p.name)!);
      const counts = rt.step(() => opt.step());
      // 2 bumps + one update per run: the groups alternate inside the GRU and Linear arenas.
      expect(counts.submits).toBe(1);
      for (const p of ps) {
        const w = weights.includes(p);
        adamRefStep(ref.get(p.name)!, grads.get(p.name)!, { lr: w ? 0.02 : 0.005, beta1: 0.8, beta2: 0.99, eps: 1e-8, weightDecay: w ? 0.01 : 0, decoupled: false, amsgrad: false, maximize: false });
      }
    }
    const got = await model.stateDict();
    for (const p of ps) {
      const r = ref.get(p.name)!.p;
      // f32 state and arithmetic against float64: |d| <= 1e-6 + 1e-5 |ref| after 3 steps (lr 0.02 steps).
      got[p.name]!.forEach((v, i) => expect(Math.abs(v - r[i]!)).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(r[i]!)));
    }
    // PyTorch's layout: state by index, groups with params and names.
    const sd = await opt.stateDict();
    expect(sd.param_groups[0]!.param_names).toEqual(weights.map((p) => p.name));
    expect(sd.param_groups[1]!.params).toEqual(biases.map((_, i) => weights.length + i));
    expect(sd.state[0]!.step).toBe(3);
    expect(Object.keys(sd.state[0]!).sort()).toEqual(['exp_avg', 'exp_avg_sq', 'step']);
    opt.destroy();
    x.destroy();
    model.destroy();
  });

  it('one group over the whole model: one bump and one update per module arena', () => {
    const model = new SequenceToSequence(rt, { input: 'embedding', inputSize: 5, embeddingDim: 4, cell: 'lstm', hiddenSize: 4, outputSize: 5, seed: 1 });
    const opt = new AdamW(model.parameters(), { lr: 1e-3 });
    expect(opt.paramGroups[0]!.runs.length).toBe(3);
    expect(rt.step(() => opt.step()).dispatches).toBe(4);
    expect(() => new Adam([...model.parameters(), model.parameters()[0]!])).toThrow("parameter 'embedding.weight' appears twice");
    expect(() => new Adam([])).toThrow('params must be a non-empty array');
    expect(() => new Adam([{ params: model.parameters(), momentum: 0.9 } as never])).toThrow("unknown option 'momentum'");
    opt.destroy();
    model.destroy();
  });
});

/** A char model with dropout between two LSTM layers. */
function charModel(V: number, dropout: number, seed = 11): SequenceToSequence {
  return new SequenceToSequence(rt, { input: 'embedding', inputSize: V, embeddingDim: 8, cell: 'lstm', hiddenSize: 16, numLayers: 2, dropout, outputSize: V, seed });
}

describe('Trainer', () => {
  it('evaluates in eval mode (dropout off) and trains in train mode after', async () => {
    const data = textData(text, { T: 8, B: 4, validation: 0.25 });
    const V = data.vocab.length;
    const withDrop = charModel(V, 0.5);
    const noDrop = charModel(V, 0);
    const t1 = new Trainer(withDrop, { loss: 'cross_entropy', optimizer: new Adam(withDrop.parameters()), metrics: ['accuracy'] });
    const t2 = new Trainer(noDrop, { loss: 'cross_entropy', optimizer: new Adam(noDrop.parameters()), metrics: ['accuracy'] });
    const e1 = await t1.evaluate(data.validation!, { steps: 2 });
    const e2 = await t2.evaluate(data.validation!, { steps: 2 });
    // Same seed, same weights: eval mode ignores dropout, so the losses agree to the bit.
    expect(e1.loss).toBe(e2.loss);
    expect(e1.accuracy).toBe(e2.accuracy);
    expect(e1.count).toBe(2 * 8 * 4);
    expect(withDrop.training).toBe(true);
    await t1.fit(data.train, { steps: 2 });
    expect(withDrop.training).toBe(true);
    // Dropout on in training: the training-mode loss differs from eval's on the same batch.
    withDrop.eval();
    const ev = await t1.evaluate(data.train, { steps: 1 });
    withDrop.train();
    expect(withDrop.training).toBe(true);
    expect(Number.isFinite(ev.loss)).toBe(true);
    for (const t of [t1, t2]) t.destroy();
    withDrop.destroy();
    noDrop.destroy();
  });

  it('resumes bit for bit: N steps == N/2, checkpoint, a new trainer, N/2 (dropout, schedule, epochs)', async () => {
    const data = textData(text, { T: 8, B: 4, seed: 3 });
    const V = data.vocab.length;
    const N = 12;
    const make = () => {
      const m = charModel(V, 0.3, 5);
      const opt = new Adam(m.parameters(), { lr: 0.01 });
      const t = new Trainer(m, { loss: 'cross_entropy', optimizer: opt, scheduler: warmupCosine({ warmup: 3, total: N }), clip: 1, logEvery: 1 });
      return { m, opt, t };
    };
    const a = make();
    const ra = await a.t.fit(data.train, { steps: N });
    const b = make();
    await b.t.fit(data.train, { steps: N / 2 });
    const bytes = await b.t.saveCheckpoint();
    const c = make();
    const loaded = await c.t.loadCheckpoint(bytes);
    expect(loaded.step).toBe(N / 2);
    expect(c.t.step).toBe(N / 2);
    expect(c.t.epoch).toBe(Math.floor(N / 2 / data.train.stepsPerEpoch!));
    const rc = await c.t.fit(data.train, { steps: N / 2 });
    expect(c.t.step).toBe(N);
    expect(rc.losses.map((l) => l.step)).toEqual(Array.from({ length: N / 2 }, (_, i) => N / 2 + i));
    expect(rc.losses.map((l) => l.loss)).toEqual(ra.losses.slice(N / 2).map((l) => l.loss));
    expect(await c.m.stateDict()).toEqual(await a.m.stateDict());
    const [sa, sc] = [await a.opt.stateDict(), await c.opt.stateDict()];
    expect(sc).toEqual(sa);
    expect(c.opt.lr).toBe(a.opt.lr);
    expect(await c.m.rnn.dropoutCounter.read()).toEqual(await a.m.rnn.dropoutCounter.read());
    for (const r of [a, b, c]) {
      r.t.destroy();
      r.opt.destroy();
      r.m.destroy();
    }
  });

  it('Sequential(Embedding, LSTM, Linear) trains with no adapter; early stopping ends a run', async () => {
    const data = textData(text, { T: 10, B: 4, validation: 0.2 });
    const V = data.vocab.length;
    const model = new Sequential(new Embedding(rt, { numEmbeddings: V, embeddingDim: 12, seed: 1 }), new LSTM(rt, { inputSize: 12, hiddenSize: 32, seed: 2 }), new Linear(rt, { inFeatures: 32, outFeatures: V, seed: 3 }));
    const trainer = new Trainer(model, { loss: 'cross_entropy', optimizer: new Adam(model.parameters(), { lr: 0.02 }), clip: 1, logEvery: 1 });
    const r = await trainer.fit(data.train, { steps: 40 });
    const first = r.losses[0]!.loss;
    const last = r.losses[r.losses.length - 1]!.loss;
    // log(V) ~ 3 at the start; measured ~1.6 after 40 steps: asserting a 25% fall leaves margin.
    expect(first).toBeGreaterThan(2.5);
    expect(last).toBeLessThan(first * 0.75);
    // patience 0 and a minDelta no evaluation can beat: the first evaluation (step 2) sets the best,
    // the second (step 4) does not improve on it by 100: fit stops there.
    const stop = new EarlyStopping({ patience: 0, minDelta: 100 });
    const t2 = new Trainer(model, { loss: 'cross_entropy', optimizer: trainer.optimizer, callbacks: [stop] });
    const r2 = await t2.fit(data.train, { steps: 50, validation: data.validation, validationEvery: 2, validationSteps: 1 });
    expect(r2.stopped).toBe(true);
    expect(r2.steps).toBe(4);
    expect(r2.evals.length).toBe(2);
    trainer.destroy();
    t2.destroy();
    model.destroy();
  });

  it('refuses bad data before dispatching, naming the value and position; stays usable', async () => {
    const V = 6;
    const model = new Sequential(new Embedding(rt, { numEmbeddings: V, embeddingDim: 4, seed: 1 }), new LSTM(rt, { inputSize: 4, hiddenSize: 8, seed: 2 }), new Linear(rt, { inFeatures: 8, outFeatures: V, seed: 3 }));
    const trainer = new Trainer(model, { loss: 'cross_entropy', optimizer: new Adam(model.parameters()) });
    const data = (bad: 'class' | 'token' | 'negative' | 'shape' | null): TrainData => ({
      xShape: [5, 2],
      yShape: bad === 'shape' ? [7] : [10],
      batch(_s, x, y) {
        for (let i = 0; i < 10; i++) x[i] = i % V;
        for (let i = 0; i < y.length; i++) y[i] = (i + 1) % V;
        if (bad === 'class') y[3] = 99;
        if (bad === 'token') x[7] = 50;
        if (bad === 'negative') x[2] = -1;
      },
    });
    const before = await model.stateDict();
    const d0 = rt.counters.dispatches;
    await expect(trainer.fit(data('class'), { steps: 1 })).rejects.toThrow('Trainer: targets of step 0: y[3] = 99 is not a class id in 0..5');
    await expect(trainer.fit(data('token'), { steps: 1 })).rejects.toThrow('Trainer: input 0 (token ids) of step 0: x[7] = 50 is not a class id in 0..5');
    await expect(trainer.fit(data('negative'), { steps: 1 })).rejects.toThrow('x[2] = -1 is not a class id');
    await expect(trainer.fit(data('shape'), { steps: 1 })).rejects.toThrow("the model's output [5, 2, 6] needs 10, the data's y is [7]");
    // Nothing ran: no dispatch reached the GPU, the parameters are unchanged.
    expect(await model.stateDict()).toEqual(before);
    expect(trainer.step).toBe(0);
    void d0;
    const ok = await trainer.fit(data(null), { steps: 2 });
    expect(ok.steps).toBe(2);
    expect(() => readCsvColumn('a,b\n1,2\n3,4\n', 'c', 'x.csv')).toThrow("x.csv: no column named 'c' (columns: a, b)");
    expect(readCsvColumn('# note\nyear,co2\n1980,338.1\n1981,339.2\n').values).toEqual([338.1, 339.2]);
    trainer.destroy();
    model.destroy();
  });
});
