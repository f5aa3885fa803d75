/**
 * End to end: models learn, on the GPU, with one submit per training step.
 * Thresholds are set from measured runs with wide margins (see each test).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, CrossEntropyLoss, MSELoss, SequenceToSequence, SequenceToVector, WaveNet, clipGradNorm, createRuntime, type Optimizer, type Runtime } from '../src/index.js';
import { rng } from './suite/check.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

function optimizers(model: SequenceToSequence | SequenceToVector, lr: number): Optimizer[] {
  return [new Adam(model.parameters(), { lr })];
}

describe('training end to end', () => {
  it('a character LSTM learns a short repeated text', async () => {
    const text = 'the quick brown fox jumps over the lazy dog. ';
    const chars = [...new Set(text)].sort();
    const V = chars.length;
    const ids = Array.from(text.repeat(8), (c) => chars.indexOf(c));
    const [T, B] = [16, 8];
    const model = new SequenceToSequence(rt, { input: 'embedding', inputSize: V, embeddingDim: 16, cell: 'lstm', hiddenSize: 48, outputSize: V, seed: 7 });
    const opts = optimizers(model, 0.01);
    const loss = new CrossEntropyLoss(rt);
    const x = rt.zeros([T, B]);
    const y = rt.zeros([T * B]);
    const r = rng(3);
    const losses: Promise<Float32Array>[] = [];
    const steps = 150;
    let counts = { dispatches: 0, submits: 0 };
    for (let step = 0; step < steps; step++) {
      const xs = new Float32Array(T * B);
      const ys = new Float32Array(T * B);
      for (let b = 0; b < B; b++) {
        const s = Math.floor(r() * (ids.length - T - 1));
        for (let t = 0; t < T; t++) {
          xs[t * B + b] = ids[s + t]!;
          ys[t * B + b] = ids[s + t + 1]!;
        }
      }
      x.write(xs);
      y.write(ys);
      counts = rt.step(() => {
        model.zeroGrad();
        const { logits } = model.forward(x);
        const l = loss.forward(logits.reshape([T * B, V]), y);
        model.backward(l.grad.reshape([T, B, V]));
        clipGradNorm(rt, model.gradientArenas(), 5);
        for (const o of opts) o.step();
        if (step % 10 === 0 || step === steps - 1) losses.push(l.loss.read()); // read later: no stall
      });
    }
    const got = (await Promise.all(losses)).map((v) => v[0]!);
    if (process.env.SHOW_LOSSES) console.log(got.map((v) => v.toPrecision(3)).join(" "));
    // Measured: 3.35 at step 0 (log V = 3.3), 0.37 at step 30, 0.04 at step 149. Untrained or with a
    // broken gradient it stays above ~2; asserting < 0.6 leaves a 15x margin.
    expect(got[0]).toBeGreaterThan(2.5);
    expect(got[got.length - 1]).toBeLessThan(0.6);
    expect(counts.submits).toBe(1);
    // Dispatches of one step, GEMM LSTM path (a CPU adapter): zeroGrad 3 (one fill per module);
    // forward: embedding 1, LSTM 2T + 2 (a GEMM and a cell dispatch per step), head GEMM 1; loss 3;
    // backward: head 3 (dW, db, dx), LSTM 2T - 1 + 6 (no product at the first step back), embedding 1;
    // clipping over 3 arenas 2*3 + 2; one Adam over the model: 1 bump + 1 update per arena, 4.
    // Total 4T + 31. On a GPU the whole-sequence path replaces the LSTM's by 2 and 6: 32, independent of T.
    expect(counts.dispatches).toBe(rt.isCpu ? 4 * T + 31 : 32);
    model.destroy();
    loss.destroy();
  });

  it('a WaveNet learns a periodic waveform (next-sample regression)', async () => {
    const [B, T, P] = [4, 64, 16];
    const net = new WaveNet(rt, { inChannels: 1, residualChannels: 16, dilationChannels: 16, skipChannels: 16, outChannels: 1, dilations: [1, 2, 4, 8], seed: 3 });
    const opt = new Adam(net.parameters(), { lr: 0.005 });
    const loss = new MSELoss(rt);
    const x = rt.zeros([B, 1, T]);
    const y = rt.zeros([B, 1, T]);
    const wave = (t: number) => Math.sin((2 * Math.PI * t) / P) + 0.5 * Math.sin((4 * Math.PI * t) / P + 1);
    const r = rng(9);
    const losses: Promise<Float32Array>[] = [];
    const steps = 150;
    for (let step = 0; step < steps; step++) {
      const xs = new Float32Array(B * T);
      const ys = new Float32Array(B * T);
      for (let b = 0; b < B; b++) {
        const phase = Math.floor(r() * P);
        for (let t = 0; t < T; t++) {
          xs[b * T + t] = wave(phase + t);
          ys[b * T + t] = wave(phase + t + 1);
        }
      }
      x.write(xs);
      y.write(ys);
      rt.step(() => {
        net.zeroGrad();
        const { output } = net.forward(x);
        const l = loss.forward(output, y);
        net.backward(l.grad);
        opt.step();
        if (step % 15 === 0 || step === steps - 1) losses.push(l.loss.read());
      });
    }
    const got = (await Promise.all(losses)).map((v) => v[0]!);
    if (process.env.SHOW_LOSSES) console.log(got.map((v) => v.toPrecision(3)).join(' '));
    // Measured: 0.71 at step 0, 0.004-0.01 from step 60 on. The signal's variance is 0.63 (predicting 0);
    // repeating the current sample scores ~0.15. Asserting < 0.04 needs a real prediction (4x margin).
    expect(got[0]).toBeGreaterThan(0.2);
    expect(got[got.length - 1]).toBeLessThan(0.04);
    net.destroy();
    loss.destroy();
  });

  it('a GRU sequence-to-vector model learns to sum its inputs', async () => {
    const [T, B] = [8, 32];
    const model = new SequenceToVector(rt, { input: 'dense', inputSize: 1, cell: 'gru', hiddenSize: 24, outputSize: 1, seed: 11 });
    const opts = optimizers(model, 0.01);
    const loss = new MSELoss(rt);
    const x = rt.zeros([T, B, 1]);
    const y = rt.zeros([B, 1]);
    const r = rng(5);
    const losses: Promise<Float32Array>[] = [];
    const steps = 200;
    for (let step = 0; step < steps; step++) {
      const xs = Float32Array.from({ length: T * B }, () => r());
      const ys = new Float32Array(B);
      for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) ys[b] += xs[t * B + b]! / T;
      x.write(xs);
      y.write(ys);
      rt.step(() => {
        model.zeroGrad();
        const { logits } = model.forward(x);
        const l = loss.forward(logits, y);
        model.backward(l.grad);
        for (const o of opts) o.step();
        if (step % 20 === 0 || step === steps - 1) losses.push(l.loss.read());
      });
    }
    const got = (await Promise.all(losses)).map((v) => v[0]!);
    if (process.env.SHOW_LOSSES) console.log(got.map((v) => v.toPrecision(3)).join(" "));
    // The mean of 8 uniforms has variance 1/96 ~ 0.0104: predicting a constant scores ~0.01.
    // Measured: 0.14 at step 0, 8e-6 at step 199. Asserting < 2e-3 (250x margin) needs the model to
    // use its inputs: a constant prediction stays at ~0.01.
    expect(got[0]).toBeGreaterThan(0.02);
    expect(got[got.length - 1]).toBeLessThan(2e-3);
    model.destroy();
    loss.destroy();
  });
});
