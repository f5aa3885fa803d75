import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dropout, Embedding, Linear, ReLU, Sequential, createRuntime, dropoutMaskCpu, type Runtime } from '../src/index.js';
import { gemmRef } from './reference/linalg.js';
import { U32, expectClose, freshSeed, rng, uniform } from './suite/check.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

// GEMM tolerance reasoning (test/suite/kernels.ts): 4*K*u absolute for K-term dot products of values <= 1.
const tol = (K: number) => ({ atol: 4 * K * U32, rtol: 8 * U32 });

describe('Linear', () => {
  it('y = x W^T + b over [..., in]; backward accumulates dW, db and returns dx', async () => {
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const r = rng(seed);
    const [A, B, I, O] = [3, 5, 7, 4];
    const lin = new Linear(rt, { inFeatures: I, outFeatures: O, seed });
    const W = uniform(r, O * I);
    const b = uniform(r, O);
    lin.loadStateDict({ weight: W, bias: b });
    const x = uniform(r, A * B * I);
    const dy = uniform(r, A * B * O);
    const y = lin.forward(rt.tensor(x, [A, B, I]));
    expect(y.shape).toEqual([A, B, O]);
    const M = A * B;
    expectClose('y', await y.read(), gemmRef(x, W, new Float64Array(M * O), { M, N: O, K: I, transA: false, transB: true, alpha: 1, beta: 0, lda: I, ldb: I, ldc: O, bias: b }), tol(I), seed);
    lin.zeroGrad();
    const dx = lin.backward(rt.tensor(dy, [A, B, O]));
    expect(dx.shape).toEqual([A, B, I]);
    expectClose('dx', await dx.read(), gemmRef(dy, W, new Float64Array(M * I), { M, N: I, K: O, transA: false, transB: false, alpha: 1, beta: 0, lda: O, ldb: I, ldc: I }), tol(O), seed);
    const g = await lin.grads();
    expectClose('dW', g.weight!, gemmRef(dy, x, new Float64Array(O * I), { M: O, N: I, K: M, transA: true, transB: false, alpha: 1, beta: 0, lda: O, ldb: I, ldc: I }), tol(M), seed);
    const db = Float64Array.from({ length: O }, (_, o) => Array.from({ length: M }, (_, m) => dy[m * O + o]!).reduce((s, v) => s + v, 0));
    expectClose('db', g.bias!, db, tol(M), seed);
    expect(Object.keys(await lin.stateDict())).toEqual(['weight', 'bias']);
    expect(() => lin.forward(rt.zeros([2, 6]))).toThrow('Linear.forward: x must be [..., 7], got [2, 6]');
    lin.destroy();
  });
});

describe('Embedding', () => {
  it('looks rows up and accumulates their gradients, repeated indices summed', async () => {
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const r = rng(seed);
    const [V, D, N] = [6, 5, 17];
    const emb = new Embedding(rt, { numEmbeddings: V, embeddingDim: D, seed });
    const W = uniform(r, V * D);
    emb.loadStateDict({ weight: W });
    const idx = Float32Array.from({ length: N }, () => Math.floor(r() * V));
    idx[3] = idx[4] = 2; // a repeated index
    const out = emb.forward(rt.tensor(idx, [N]));
    expect(out.shape).toEqual([N, D]);
    const want = new Float64Array(N * D);
    for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) want[n * D + d] = W[idx[n]! * D + d]!;
    expectClose('lookup', await out.read(), want, { atol: 0, rtol: 0 }, seed);
    const dy = uniform(r, N * D);
    emb.zeroGrad();
    emb.backward(rt.tensor(dy, [N, D]));
    const dW = new Float64Array(V * D);
    for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) dW[idx[n]! * D + d] += dy[n * D + d]!;
    // Sums of <= N values of size <= 1: N u.
    expectClose('dW', (await emb.grads()).weight!, dW, { atol: N * U32, rtol: 4 * U32 }, seed);
    emb.destroy();
  });
});

describe('Dropout, ReLU, Sequential', () => {
  it('Sequential(Linear, ReLU, Dropout, Linear): forward and backward vs a reference; eval() turns dropout off', async () => {
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const r = rng(seed);
    const [N, I, Hd, O, p] = [9, 5, 7, 3, 0.3];
    const l0 = new Linear(rt, { inFeatures: I, outFeatures: Hd, seed });
    const l3 = new Linear(rt, { inFeatures: Hd, outFeatures: O, seed: (seed + 1) >>> 0 }); // seeds are u32
    const drop = new Dropout(rt, p, 1234);
    const net = new Sequential(l0, new ReLU(rt), drop, l3);
    const W0 = uniform(r, Hd * I), b0 = uniform(r, Hd), W3 = uniform(r, O * Hd), b3 = uniform(r, O);
    net.loadStateDict({ '0.weight': W0, '0.bias': b0, '3.weight': W3, '3.bias': b3 });
    expect(Object.keys(await net.stateDict())).toEqual(['0.weight', '0.bias', '3.weight', '3.bias']);
    const x = uniform(r, N * I);
    const dy = uniform(r, N * O);
    const mask = dropoutMaskCpu(N * Hd, p, 1234, 0, 1); // the first training forward draws with counter 1
    // Reference in float64.
    const h = new Float64Array(N * Hd);
    for (let n = 0; n < N; n++) for (let j = 0; j < Hd; j++) {
      let s = b0[j]!;
      for (let i = 0; i < I; i++) s += x[n * I + i]! * W0[j * I + i]!;
      h[n * Hd + j] = Math.max(s, 0) * mask[n * Hd + j]!;
    }
    const y = new Float64Array(N * O);
    for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
      let s = b3[o]!;
      for (let j = 0; j < Hd; j++) s += h[n * Hd + j]! * W3[o * Hd + j]!;
      y[n * O + o] = s;
    }
    const pre = new Float64Array(N * Hd); // pre-activation sign for relu'
    for (let n = 0; n < N; n++) for (let j = 0; j < Hd; j++) {
      let s = b0[j]!;
      for (let i = 0; i < I; i++) s += x[n * I + i]! * W0[j * I + i]!;
      pre[n * Hd + j] = s;
    }
    const dx = new Float64Array(N * I);
    for (let n = 0; n < N; n++) for (let j = 0; j < Hd; j++) {
      let dh = 0;
      for (let o = 0; o < O; o++) dh += dy[n * O + o]! * W3[o * Hd + j]!;
      const dpre = pre[n * Hd + j]! > 0 ? dh * mask[n * Hd + j]! : 0;
      for (let i = 0; i < I; i++) dx[n * I + i] += dpre * W0[j * I + i]!;
    }
    const xt = rt.tensor(x, [N, I]);
    expectClose('sequential y', await net.forward(xt).read(), y, tol(Hd), seed);
    net.zeroGrad();
    expectClose('sequential dx', await net.backward(rt.tensor(dy, [N, O]))!.read(), dx, tol(Hd * O), seed);
    net.eval();
    const yEval = await net.forward(xt).read();
    const h2 = Float64Array.from(pre, (v) => Math.max(v, 0));
    const want = new Float64Array(N * O);
    for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
      let s = b3[o]!;
      for (let j = 0; j < Hd; j++) s += h2[n * Hd + j]! * W3[o * Hd + j]!;
      want[n * O + o] = s;
    }
    expectClose('eval y', yEval, want, tol(Hd), seed);
    expect(() => new Dropout(rt, 1)).toThrow('Dropout: p must be in [0, 1), got 1');
    expect(await drop.stateDict()).toEqual({});
    expect(drop.parameters()).toEqual([]);
    expect(() => drop.loadStateDict({ weight: new Float32Array(1) })).toThrow('Dropout.loadStateDict: unexpected weight');
    net.destroy();
  });
});
