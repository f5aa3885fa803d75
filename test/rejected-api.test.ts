// A rejected call to the training API (Trainer, optimizers, Scheduler,
// Module.loadStateDict, data helpers) leaves every object usable: each
// refusal is followed by a valid call, and where a run follows, it ends on
// the same bits as a run in which the refused call never happened.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, SGD, Scheduler, SequenceToSequence, Trainer, createRuntime, pairedData, seriesData, textData, type Runtime, type TrainData } from '../src/index.js';
import { readCsvColumn } from '../src/train/csv.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

const TEXT = 'the quick brown fox jumps over the lazy dog; the lazy dog sleeps. '.repeat(6);
const data = textData(TEXT, { T: 8, B: 4, seed: 3, validation: 0.2 });
const V = data.vocab.length;
const N = 6;

const make = () => {
  const model = new SequenceToSequence(rt, { input: 'embedding', inputSize: V, embeddingDim: 8, cell: 'lstm', hiddenSize: 12, numLayers: 2, dropout: 0.3, outputSize: V, seed: 5 });
  const optimizer = new Adam(model.parameters(), { lr: 0.01 });
  const trainer = new Trainer(model, { loss: 'cross_entropy', optimizer, clip: 1, logEvery: 1 });
  return { model, optimizer, trainer };
};
type Run = ReturnType<typeof make>;
const free = (r: Run) => {
  r.trainer.destroy();
  r.optimizer.destroy();
  r.model.destroy();
};
/** Parameter bits, optimizer state and the dropout counter: what a run's end is compared on. */
async function state(r: Run): Promise<string> {
  const sd = await r.model.stateDict();
  const bits = Object.entries(sd).map(([k, v]) => `${k}:${Array.from(new Uint32Array(Float32Array.from(v as ArrayLike<number>).buffer)).join(',')}`);
  return JSON.stringify([bits, await r.optimizer.stateDict(), Array.from(await r.model.rnn.dropoutCounter.read()), r.trainer.step, r.optimizer.lr]);
}

/** `data.train`, except that step `at`'s targets hold class `bad` (and numClasses is dropped when `late`: refused inside the step). */
function badTargets(at: number, late: boolean): TrainData {
  const d = data.train;
  return {
    ...d,
    numClasses: late ? undefined : d.numClasses,
    batch(step, x, y, extra) {
      const o = d.batch(step, x, y, extra);
      if (step === at) y[1] = V + 3;
      return o;
    },
  };
}

let reference: string;
describe('a rejected call leaves the training objects usable', () => {
  it('reference: an uninterrupted run of N steps', async () => {
    const r = make();
    await r.trainer.fit(data.train, { steps: N });
    reference = await state(r);
    free(r);
  });

  it('Trainer.fit with bad targets (found on the host, or while recording the step) rejects; fit with good data ends on the same bits', async () => {
    for (const late of [false, true]) {
      const r = make();
      await expect(r.trainer.fit(badTargets(2, late), { steps: N })).rejects.toThrow(/targets of step 2: y\[1\] = \d+ is not a class id/);
      expect(r.trainer.step).toBe(2); // steps 0 and 1 ran; nothing of step 2 did
      await r.trainer.fit(data.train, { steps: N - r.trainer.step });
      expect(await state(r), `refused ${late ? 'while recording' : 'on the host'}`).toBe(reference);
      free(r);
    }
  });

  it('Trainer.fit with bad data shapes or options rejects before any step; the next fit works', async () => {
    const r = make();
    await expect(r.trainer.fit({ ...data.train, xShape: [8, 0] }, { steps: 1 })).rejects.toThrow(/data shapes must be positive integers/);
    await expect(r.trainer.fit(data.train, { steps: -1 })).rejects.toThrow(/steps \(or epochs\) must give an integer/);
    await expect(r.trainer.fit(data.train, { steps: 1, validationEvery: 0 })).rejects.toThrow(/validationEvery must be an integer >= 1/);
    await expect(r.trainer.fit({ ...data.train, xShape: [8, 5] }, { steps: 1 })).rejects.toThrow(/targets must hold one class per position: the model's output \[8, 5, \d+\] needs 40, the data's y is \[32\]/);
    expect(r.trainer.step).toBe(0);
    await r.trainer.fit(data.train, { steps: N });
    expect(await state(r)).toBe(reference);
    free(r);
  });

  it('Trainer.evaluate with bad data rejects, restores train mode; the next evaluate gives the same result', async () => {
    const r = make();
    const good = await r.trainer.evaluate(data.validation!, { steps: 2 });
    const bad: TrainData = { ...data.validation!, batch: (s, x, y, e) => { data.validation!.batch(s, x, y, e); y[0] = -5; } };
    await expect(r.trainer.evaluate(bad, { steps: 2 })).rejects.toThrow(/targets of step 0: y\[0\] = -5 is not a class id/);
    await expect(r.trainer.evaluate(data.validation!, { steps: 0 })).rejects.toThrow(/steps must be an integer >= 1/);
    expect(r.model.training).toBe(true);
    expect(await r.trainer.evaluate(data.validation!, { steps: 2 })).toEqual(good);
    await r.trainer.fit(data.train, { steps: N });
    expect(await state(r)).toBe(reference);
    free(r);
  });

  it('Trainer.loadCheckpoint with a bad file rejects and changes nothing; a good one then resumes bit for bit', async () => {
    const a = make();
    await a.trainer.fit(data.train, { steps: N / 2 });
    const good = await a.trainer.saveCheckpoint();
    const other = new SequenceToSequence(rt, { input: 'embedding', inputSize: V, embeddingDim: 8, cell: 'gru', hiddenSize: 12, outputSize: V, seed: 1 });
    const otherOpt = new Adam(other.parameters(), { lr: 0.01 });
    const otherTrainer = new Trainer(other, { loss: 'cross_entropy', optimizer: otherOpt });
    const wrongModel = await otherTrainer.saveCheckpoint();
    const nanFile = good.slice();
    nanFile.fill(0xff, nanFile.length - 8); // the last values become NaN
    const b = make();
    const before = await state(b);
    for (const [bytes, msg] of [
      [new TextEncoder().encode('not a checkpoint'), /safetensors|checkpoint/],
      [good.slice(0, good.length - 10), /safetensors|checkpoint/],
      [wrongModel, /checkpoint/],
      [nanFile, /finite|NaN/],
    ] as const) {
      await expect(b.trainer.loadCheckpoint(bytes)).rejects.toThrow(msg);
      expect(await state(b)).toBe(before);
    }
    await b.trainer.loadCheckpoint(good);
    await b.trainer.fit(data.train, { steps: N / 2 });
    expect(await state(b)).toBe(reference);
    for (const x of [a, b]) free(x);
    otherTrainer.destroy();
    otherOpt.destroy();
    other.destroy();
  });

  it('Optimizer.loadStateDict with a bad dict, and a bad lr, throw and change nothing; the run then ends on the same bits', async () => {
    const r = make();
    await r.trainer.fit(data.train, { steps: N / 2 });
    const sd = await r.optimizer.stateDict();
    const before = await state(r);
    const first = Object.keys(sd.state)[0]!;
    const s0 = sd.state[first as unknown as number]! as Record<string, unknown>;
    const tensorKey = Object.keys(s0).find((k) => k !== 'step')!;
    const withNaN = structuredClone(sd);
    (withNaN.state[first as unknown as number] as Record<string, Float32Array>)[tensorKey] = Float32Array.from(s0[tensorKey] as Float32Array, (v, i) => (i === 0 ? NaN : v));
    const short = structuredClone(sd);
    (short.state[first as unknown as number] as Record<string, Float32Array>)[tensorKey] = new Float32Array(1);
    const otherBetas = structuredClone(sd);
    otherBetas.param_groups[0]!.betas = [0.5, 0.5];
    const bads: [unknown, RegExp][] = [
      [null, /loadStateDict/],
      [{}, /loadStateDict/],
      [{ ...sd, param_groups: [] }, /param group|groups/],
      [withNaN, /finite|NaN/],
      [short, /size|values|elements|length/],
      [otherBetas, /betas/],
    ];
    for (const [i, [bad, msg]] of bads.entries()) {
      expect(() => r.optimizer.loadStateDict(bad as typeof sd), `bad dict ${i}`).toThrow(msg);
      expect(await state(r)).toBe(before);
    }
    for (const lr of [NaN, -1, Infinity, '0.1' as unknown as number]) {
      expect(() => (r.optimizer.lr = lr)).toThrow(/lr/);
      expect(() => r.optimizer.setLr(lr)).toThrow(/lr/);
      expect(() => (r.optimizer.paramGroups[0]!.lr = lr)).toThrow(/lr/);
    }
    expect(await state(r)).toBe(before);
    r.optimizer.loadStateDict(sd); // a valid call: the same state back
    await r.trainer.fit(data.train, { steps: N / 2 });
    expect(await state(r)).toBe(reference);
    free(r);
  });

  it('Scheduler: a bad step, a bad state dict, a schedule that fails at a step: nothing changes; the next valid call works', async () => {
    const model = new SequenceToSequence(rt, { input: 'embedding', inputSize: V, embeddingDim: 4, cell: 'rnn', hiddenSize: 4, outputSize: V, seed: 2 });
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    const sched = new Scheduler(opt, (step, base) => (step >= 5 ? NaN : base / (step + 1)));
    sched.setStep(2);
    expect(() => sched.setStep(-1)).toThrow(/step must be an integer >= 0/);
    expect(() => sched.setStep(1.5)).toThrow(/step must be an integer >= 0/);
    expect(() => sched.loadStateDict(null as unknown as { last_epoch: number })).toThrow(/expected \{ last_epoch \}/);
    expect(() => sched.setStep(7)).toThrow(/the schedule gave lr NaN at step 7/);
    expect(sched.lastStep).toBe(2);
    expect(opt.lr).toBeCloseTo(0.1 / 3, 12);
    sched.step();
    sched.step();
    expect(sched.lastStep).toBe(4);
    expect(() => sched.step()).toThrow(/lr NaN at step 5/);
    expect(sched.lastStep).toBe(4);
    expect(opt.lr).toBeCloseTo(0.1 / 5, 12);
    sched.loadStateDict({ last_epoch: 1 });
    expect(opt.lr).toBeCloseTo(0.05, 12);
    expect(sched.stateDict().last_epoch).toBe(1);
    opt.destroy();
    model.destroy();
  });

  it('Module.loadStateDict: a refused dict changes no parameter; a valid one then loads', async () => {
    const a = make();
    const b = make();
    await a.trainer.fit(data.train, { steps: 2 });
    const sd = await a.model.stateDict();
    const before = await b.model.stateDict();
    const key = Object.keys(sd)[0]!;
    const bad = { ...sd, [key]: Float32Array.from(sd[key] as Float32Array, (v, i) => (i === 1 ? Infinity : v)) };
    expect(() => b.model.loadStateDict(bad)).toThrow(/finite/);
    expect(() => b.model.loadStateDict({ ...sd, extra: new Float32Array(2) })).toThrow(/extra/);
    expect(() => b.model.loadStateDict(null as unknown as typeof sd)).toThrow();
    expect(await b.model.stateDict()).toEqual(before);
    b.model.loadStateDict(sd);
    expect(await b.model.stateDict()).toEqual(sd);
    for (const x of [a, b]) free(x);
  });

  it('data helpers: a refused call leaves the helper (and its data) working', () => {
    expect(() => data.encode('the \u2603')).toThrow(/character "\u2603" at position 4 is not in the vocabulary/);
    expect(data.decode(data.encode('the dog'))).toBe('the dog');
    expect(() => textData(TEXT, { T: 0, B: 4 })).toThrow(/T/);
    expect(() => textData('ab', { T: 8, B: 4 })).toThrow(/too short/);
    expect(() => seriesData([1, 2, NaN, 4], { T: 2, B: 1 })).toThrow();
    expect(() => pairedData([], { B: 2, srcVocab: 3, tgtVocab: 4, startToken: 2, stopToken: 3 })).toThrow();
    expect(() => readCsvColumn('a,b\n1,x\n', 'b')).toThrow(/"x" is not a number/);
    expect(readCsvColumn('a,b\n1,2\n3,4\n', 'b').values).toEqual([2, 4]);
    // The batches after the refusals are those of before.
    const x = new Float32Array(8 * 4);
    const y = new Float32Array(8 * 4);
    const x2 = new Float32Array(8 * 4);
    data.train.batch(3, x, y, []);
    const again = textData(TEXT, { T: 8, B: 4, seed: 3, validation: 0.2 });
    again.train.batch(3, x2, new Float32Array(8 * 4), []);
    expect(Array.from(x)).toEqual(Array.from(x2));
  });
});
