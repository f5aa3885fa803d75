import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Embedding, Linear, createRuntime, type Runtime } from '../src/index.js';
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
