/**
 * Encoder-decoder and vector-to-sequence models: they learn (on the GPU, one
 * submit per training step), the gradient reaches the encoder (checked
 * against finite differences of the GPU loss), step-by-step decoding agrees
 * with the teacher-forced forward, and bad inputs fail with clear messages.
 * Thresholds come from measured runs with margins (see each test).
 * SHOW_LOSSES=1 prints the measurements.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, CrossEntropyLoss, MSELoss, clipGradNorm, createRuntime, type Optimizer, type Runtime } from '../src/index.js';
import { EncoderDecoder, VectorToSequence } from '../src/models/seq2seq.js';
import { rng } from './suite/check.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

const show = (...a: unknown[]) => {
  if (process.env.SHOW_LOSSES) console.log(...a);
};

function optimizers(model: EncoderDecoder | VectorToSequence, lr: number): Optimizer[] {
  return [new Adam(model.parameters(), { lr })];
}

// Digit reversal: source digits 0..9 (padding past a row's length is masked by srcLengths);
// target vocabulary: digits, START, STOP. Targets past STOP are ignored by the loss.
const START = 10;
const STOP = 11;
const IGNORE = -100;
const [MIN_LEN, MAX_LEN] = [3, 5];
const TS = MAX_LEN;
const TD = MAX_LEN + 1;

function randomString(r: () => number): number[] {
  const n = MIN_LEN + Math.floor(r() * (MAX_LEN - MIN_LEN + 1));
  return Array.from({ length: n }, () => Math.floor(r() * 10));
}

/** Time-major batches: src [TS, B], tgtIn [TD, B] = START + reversed (+ STOP padding), targets [TD * B] = reversed + STOP (+ IGNORE). */
function batch(strings: number[][]) {
  const B = strings.length;
  const src = new Float32Array(TS * B);
  const tgtIn = new Float32Array(TD * B).fill(STOP);
  const tgt = new Float32Array(TD * B).fill(IGNORE);
  strings.forEach((s, b) => {
    const rev = [...s].reverse();
    s.forEach((d, t) => (src[t * B + b] = d));
    tgtIn[b] = START;
    rev.forEach((d, t) => {
      tgtIn[(t + 1) * B + b] = d;
      tgt[t * B + b] = d;
    });
    tgt[rev.length * B + b] = STOP;
  });
  return { src, tgtIn, tgt, lengths: strings.map((s) => s.length) };
}

describe('EncoderDecoder', () => {
  it('learns to reverse digit strings; greedy decoding is exact on held-out strings', async () => {
    const B = 32;
    const model = new EncoderDecoder(rt, { srcVocab: 10, tgtVocab: 12, embeddingDim: 32, hiddenSize: 64, cell: 'lstm', seed: Number(process.env.SEED ?? 1) });
    const opts = optimizers(model, 0.02);
    const ce = new CrossEntropyLoss(rt, { ignoreIndex: IGNORE });
    const src = rt.zeros([TS, B]);
    const tgtIn = rt.zeros([TD, B]);
    const tgt = rt.zeros([TD * B]);
    const r = rng(42);
    const heldOut = Array.from({ length: 4 * B }, () => randomString(r));
    const heldKeys = new Set(heldOut.map((s) => s.join('')));
    const steps = Number(process.env.STEPS ?? 250);
    const losses: Promise<Float32Array>[] = [];
    const t0 = performance.now();
    for (let step = 0; step < steps; step++) {
      const strings: number[][] = [];
      while (strings.length < B) {
        const s = randomString(r);
        if (!heldKeys.has(s.join(''))) strings.push(s);
      }
      const d = batch(strings);
      src.write(d.src);
      tgtIn.write(d.tgtIn);
      tgt.write(d.tgt);
      rt.step(() => {
        model.zeroGrad();
        const { logits } = model.forward(src, tgtIn, { srcLengths: d.lengths });
        const l = ce.forward(logits.reshape([TD * B, 12]), tgt);
        model.backward(l.grad.reshape([TD, B, 12]));
        clipGradNorm(rt, model.gradientArenas(), 5);
        for (const o of opts) o.step();
        if (step % 25 === 0 || step === steps - 1) losses.push(l.loss.read());
      });
    }
    const got = (await Promise.all(losses)).map((v) => v[0]!);
    const trainMs = performance.now() - t0;

    // Held-out: two batches of B, greedy.
    let exact = 0;
    let sampledAgree = 0;
    let tokens = 0;
    for (let i = 0; i < heldOut.length; i += B) {
      const strings = heldOut.slice(i, i + B);
      const d = batch(strings);
      src.write(d.src);
      const greedy = await model.greedyDecode(src, { maxLength: TD + 2, startToken: START, stopToken: STOP, srcLengths: d.lengths });
      const submits0 = rt.counters.submits;
      const sampled = await model.sampleDecode(src, { maxLength: TD + 2, startToken: START, stopToken: STOP, srcLengths: d.lengths, temperature: 0.05, seed: 9 });
      // Once its buffers exist, the whole decode loop runs on the GPU: one submit for every step,
      // and one for the read-back's copy at the end (the count does not grow with maxLength).
      expect(rt.counters.submits - submits0).toBe(2);
      strings.forEach((s, b) => {
        if (greedy[b]!.join(',') === [...s].reverse().join(',')) exact++;
        const g = greedy[b]!;
        const sm = sampled[b]!;
        for (let t = 0; t < Math.max(g.length, sm.length); t++) sampledAgree += g[t] === sm[t] ? 1 : 0;
        tokens += Math.max(g.length, sm.length);
      });
      if (i === 0) {
        // Step-by-step decoding agrees with the teacher-forced forward: feeding the greedy output
        // back as tgtIn, the argmax of every position's logits is the token decoded there.
        const tin = new Float32Array(TD * B).fill(STOP);
        greedy.forEach((g, b) => {
          tin[b] = START;
          g.slice(0, TD - 1).forEach((v, t) => (tin[(t + 1) * B + b] = v));
        });
        tgtIn.write(tin);
        const logits = await model.forward(src, tgtIn, { srcLengths: d.lengths }).logits.read();
        let agree = 0;
        let n = 0;
        greedy.forEach((g, b) => {
          const seq = [...g.slice(0, TD), STOP].slice(0, TD);
          seq.forEach((v, t) => {
            const row = logits.subarray((t * B + b) * 12, (t * B + b + 1) * 12);
            agree += row.indexOf(Math.max(...row)) === v ? 1 : 0;
            n++;
          });
        });
        show(`teacher-forced argmax agrees with step decoding: ${agree}/${n}`);
        expect(agree).toBe(n);
      }
    }
    const acc = exact / heldOut.length;
    show(`reverse: ${steps} steps in ${(trainMs / 1000).toFixed(1)} s; loss ${got.map((v) => v.toPrecision(3)).join(' ')}; held-out exact ${acc}; sampled agree ${sampledAgree}/${tokens}`);
    // Measured (LSTM H=64 E=32, B=32, Adam lr 0.02, 250 steps, 23-35 s on SwiftShader): loss 2.49 at
    // step 0 (log 12 = 2.48), 0.03-0.05 at step 249; held-out exact match 96.9% / 98.4% / 97.7% with
    // model seeds 1 / 2 / 3 (at 200 steps 94.5-97.7% over seeds 1-4, at 150 steps 87.5%); sampling at
    // temperature 0.05 agreed with greedy on 522/522 tokens. Asserting > 90% exact, loss < 0.2 (4x),
    // > 90% agreement; an untrained model scores ~0% exact.
    expect(got[0]).toBeGreaterThan(2);
    expect(got[got.length - 1]).toBeLessThan(0.2);
    expect(acc).toBeGreaterThan(0.9);
    expect(sampledAgree / tokens).toBeGreaterThan(0.9);
    model.destroy();
    ce.destroy();
    for (const t of [src, tgtIn, tgt]) t.destroy();
  });

  // The gradient path into the encoder is real: dL/dw from backward (the decoder's dh0/dc0 fed to the
  // encoder as its final-state gradient) matches central differences of the GPU loss, for encoder
  // weights and the source embedding, which reach the loss only through the encoder's final state.
  it.each([
    ['rnn', 1],
    ['gru', 1],
    ['lstm', 1],
    ['lstm', 2],
  ] as const)('encoder gradients match finite differences (%s, %i layers)', async (cell, numLayers) => {
    const [B, Ts, Td, V] = [4, 4, 5, 7];
    const model = new EncoderDecoder(rt, { srcVocab: 6, tgtVocab: V, embeddingDim: 5, hiddenSize: 8, cell, numLayers, seed: 3 });
    const ce = new CrossEntropyLoss(rt);
    const r = rng(17);
    const ids = (n: number, v: number) => Float32Array.from({ length: n }, () => Math.floor(r() * v));
    const src = rt.tensor(ids(Ts * B, 6), [Ts, B]);
    const tgtIn = rt.tensor(ids(Td * B, V), [Td, B]);
    const tgt = rt.tensor(ids(Td * B, V), [Td * B]);
    const lengths = [4, 2, 3, 4];
    let lossT!: Promise<Float32Array>;
    rt.step(() => {
      model.zeroGrad();
      const { logits } = model.forward(src, tgtIn, { srcLengths: lengths });
      const l = ce.forward(logits.reshape([Td * B, V]), tgt);
      model.backward(l.grad.reshape([Td, B, V]));
      lossT = l.loss.read();
    });
    await lossT;
    const grads = await model.grads();
    const params = await model.stateDict();
    const lossAt = async (): Promise<number> => {
      let p!: Promise<Float32Array>;
      rt.step(() => {
        const { logits } = model.forward(src, tgtIn, { srcLengths: lengths });
        p = ce.forward(logits.reshape([Td * B, V]), tgt).loss.read();
      });
      return (await p)[0]!;
    };
    const checked: string[] = [];
    for (const key of ['encoder.weight_hh_l0', 'encoder.weight_ih_l0', `encoder.bias_hh_l${numLayers - 1}`, 'src_embedding.weight']) {
      const g = grads[key]!;
      let i = 0;
      for (let j = 1; j < g.length; j++) if (Math.abs(g[j]!) > Math.abs(g[i]!)) i = j;
      expect(Math.abs(g[i]!)).toBeGreaterThan(1e-4); // non-zero: the loss reaches this parameter
      const eps = 1e-2;
      const [prefix, name] = [key.slice(0, key.indexOf('.')), key.slice(key.indexOf('.') + 1)];
      const sub = (m: Record<string, Float32Array>) =>
        Object.fromEntries(Object.entries(m).filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, v]) => [k.slice(prefix.length + 1), v]));
      const w = sub(params);
      const orig = w[name]![i]!;
      const module = model.children()[prefix]!;
      w[name]![i] = orig + eps;
      module.loadStateDict(w);
      const lp = await lossAt();
      w[name]![i] = orig - eps;
      module.loadStateDict(w);
      const lm = await lossAt();
      w[name]![i] = orig;
      module.loadStateDict(w);
      const fd = (lp - lm) / (2 * eps);
      checked.push(`${key}[${i}] ${g[i]!.toExponential(3)} fd ${fd.toExponential(3)}`);
      // Central differences in float32: truncation O(eps^2) and rounding ~1e-7 * loss / eps ~ 2e-5.
      // Measured: relative errors below 0.3%, 1.4% at most (an embedding entry of 1.2e-3, where the
      // rounding term dominates); asserting 5% + 2e-4 absolute.
      expect(Math.abs(fd - g[i]!)).toBeLessThanOrEqual(0.05 * Math.abs(g[i]!) + 2e-4);
    }
    show(`${cell} L=${numLayers}: ${checked.join('; ')}`);
    model.destroy();
    ce.destroy();
    for (const t of [src, tgtIn, tgt]) t.destroy();
  });

  it('rejects bad inputs with clear messages', async () => {
    const model = new EncoderDecoder(rt, { srcVocab: 5, tgtVocab: 6, embeddingDim: 4, hiddenSize: 8, cell: 'gru', seed: 1 });
    const src = rt.zeros([3, 2]);
    const tgtIn = rt.zeros([4, 2]);
    expect(() => model.backward(rt.zeros([4, 2, 6]))).toThrow(/EncoderDecoder.backward: call forward first/);
    expect(() => model.forward(rt.zeros([3, 2, 1]), tgtIn)).toThrow(/EncoderDecoder.forward: src must be token ids \[T, B\], got \[3, 2, 1\]/);
    expect(() => model.forward(src, rt.zeros([4, 3]))).toThrow(/EncoderDecoder.forward: tgtIn must be token ids \[T, B = 2\], got \[4, 3\]/);
    expect(() => model.forward(src, tgtIn, { srcLengths: [3, 4] })).toThrow(/lengths\[1\] = 4 is outside 1..3/);
    rt.step(() => void model.forward(src, tgtIn));
    expect(() => model.backward(rt.zeros([4, 2, 5]))).toThrow(/EncoderDecoder.backward: dlogits must be \[4, 2, 6\]/);
    await expect(model.greedyDecode(src, { maxLength: 3, startToken: 6, stopToken: 0 })).rejects.toThrow(/startToken must be a token id in 0..5, got 6/);
    await expect(model.greedyDecode(src, { maxLength: 0, startToken: 1, stopToken: 0 })).rejects.toThrow(/maxLength must be a positive integer/);
    await expect(model.sampleDecode(src, { maxLength: 3, startToken: 1, stopToken: 0, temperature: 0 })).rejects.toThrow(/temperature must be a finite number > 0/);
    expect(() => new EncoderDecoder(rt, { srcVocab: 5, tgtVocab: 6, embeddingDim: 4, hiddenSize: 8, cell: 'tanh' as 'rnn' })).toThrow(/cell must be 'rnn', 'lstm' or 'gru'/);
    expect(() => new EncoderDecoder(rt, { srcVocab: 0, tgtVocab: 6, embeddingDim: 4, hiddenSize: 8, cell: 'rnn' })).toThrow(/srcVocab must be a positive integer/);
    expect(() => model.loadStateDict({ 'decoder.weight_ih_l0': new Float32Array(1), 'attention.w': new Float32Array(1) })).toThrow(/unexpected attention.w/);
    const sd = await model.stateDict();
    expect(Object.keys(sd).map((k) => k.split('.')[0])).toEqual(expect.arrayContaining(['encoder', 'decoder', 'src_embedding', 'tgt_embedding', 'head']));
    model.loadStateDict(sd); // round trip
    model.destroy();
    src.destroy();
    tgtIn.destroy();
  });
});

describe('VectorToSequence', () => {
  // (a, b) -> a, a + b, ..., a + 5b: conditioned through the initial state (zero step inputs) or as
  // every step's input. The targets' variance is ~0.8 (a ~ U(-1, 1), b ~ U(-0.4, 0.4)).
  it.each(['state', 'input'] as const)('learns (a, b) -> a + t b with condition %s', async (condition) => {
    const [T, B] = [6, 32];
    const model = new VectorToSequence(rt, { inputSize: 2, hiddenSize: 32, cell: 'gru', outputSize: 1, condition, seed: 5 });
    const opts = optimizers(model, 0.01);
    const mse = new MSELoss(rt);
    const v = rt.zeros([B, 2]);
    const y = rt.zeros([T, B, 1]);
    const r = rng(8);
    const steps = Number(process.env.V2S_STEPS ?? 200);
    const losses: Promise<Float32Array>[] = [];
    for (let step = 0; step < steps; step++) {
      const vs = new Float32Array(B * 2);
      const ys = new Float32Array(T * B);
      for (let b = 0; b < B; b++) {
        const [a, d] = [r() * 2 - 1, (r() * 2 - 1) * 0.4];
        vs[2 * b] = a;
        vs[2 * b + 1] = d;
        for (let t = 0; t < T; t++) ys[t * B + b] = a + t * d;
      }
      v.write(vs);
      y.write(ys);
      rt.step(() => {
        model.zeroGrad();
        const { outputs } = model.forward(v, T);
        const l = mse.forward(outputs, y);
        model.backward(l.grad);
        for (const o of opts) o.step();
        if (step % 25 === 0 || step === steps - 1) losses.push(l.loss.read());
      });
    }
    const got = (await Promise.all(losses)).map((x) => x[0]!);
    show(`v2s ${condition}: ${got.map((x) => x.toPrecision(3)).join(' ')}`);
    // Measured (seed 5, 200 steps): 0.67 at step 0 for both; at step 175/199: 'state' 4e-4/1.5e-4,
    // 'input' 1e-3/4e-4 (at 300 steps both 2e-4). A model ignoring v scores ~0.8; asserting < 0.01.
    expect(got[0]).toBeGreaterThan(0.3);
    expect(got[got.length - 1]).toBeLessThan(0.01);
    // The conditioning Linear learns too (its gradient is non-zero).
    if (condition === 'state') {
      const g = await model.conditioner!.grads();
      expect(Math.max(...Array.from(g.weight!, Math.abs))).toBeGreaterThan(0);
    }
    model.destroy();
    mse.destroy();
    v.destroy();
    y.destroy();
  });

  it('takes step inputs under state conditioning, and rejects bad inputs with clear messages', async () => {
    const m = new VectorToSequence(rt, { inputSize: 3, hiddenSize: 8, cell: 'lstm', outputSize: 2, condition: 'state', numLayers: 2, seed: 2 });
    const v = rt.tensor(Float32Array.from({ length: 4 * 3 }, (_, i) => Math.sin(i)), [4, 3]);
    const inputs = rt.tensor(Float32Array.from({ length: 5 * 4 * 2 }, (_, i) => Math.cos(i)), [5, 4, 2]);
    let out!: Promise<Float32Array>;
    let dv!: Promise<Float32Array>;
    rt.step(() => {
      m.zeroGrad();
      const { outputs } = m.forward(v, 5, inputs);
      out = outputs.read();
      dv = m.backward(rt.zeros([5, 4, 2])).dv.read();
    });
    expect((await out).every(Number.isFinite)).toBe(true);
    expect((await dv).length).toBe(12);
    expect(() => m.forward(rt.zeros([4, 2]), 5)).toThrow(/VectorToSequence.forward: v must be \[B, 3\], got \[4, 2\]/);
    expect(() => m.forward(v, 5, rt.zeros([5, 4, 3]))).toThrow(/inputs must be \[T = 5, B = 4, 2\], got \[5, 4, 3\]/);
    expect(() => m.forward(v, 0)).toThrow(/T must be a positive integer/);
    rt.step(() => void m.forward(v, 5));
    expect(() => m.backward(rt.zeros([4, 4, 2]))).toThrow(/dOutputs must be \[5, 4, 2\]/);
    const mi = new VectorToSequence(rt, { inputSize: 3, hiddenSize: 8, cell: 'rnn', outputSize: 2, condition: 'input' });
    expect(() => mi.forward(v, 5, inputs)).toThrow(/inputs are for condition 'state'/);
    expect(() => new VectorToSequence(rt, { inputSize: 3, hiddenSize: 8, cell: 'rnn', outputSize: 2, condition: 'h0' as 'state' })).toThrow(/condition must be 'state' or 'input'/);
    m.destroy();
    mi.destroy();
  });
});
