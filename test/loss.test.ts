import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrossEntropyLoss, MSELoss, createRuntime, type Runtime } from '../src/index.js';
import { crossEntropyRef, mseRef } from './reference/loss.js';
import { U32, expectClose, freshSeed, rng, uniform } from './suite/check.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

// The loss is a sum of N terms of size ~log(C) computed in f32 (exp/log to a few u each), then
// divided: relative error ~N u; rtol 1e-5 at these N. Gradients are single softmax terms: ~C u.
const LOSS_TOL = { atol: 1e-6, rtol: 1e-5 };
const GRAD_TOL = { atol: 64 * U32, rtol: 1e-5 };

describe('softmax cross-entropy', () => {
  for (const [tag, classDim] of [['[N, C] rows', 'last'], ['[B, C, T] (classDim 1)', 1]] as const) {
    it(`${tag}: loss and gradient with an ignore index and weights, mean over valid positions`, async () => {
      const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
      const r = rng(seed);
      const [B, T, C] = [3, 7, 11];
      const N = B * T;
      const shape = classDim === 'last' ? [N, C] : [B, C, T];
      const at = classDim === 'last' ? (n: number, c: number) => n * C + c : (n: number, c: number) => (Math.floor(n / T) * C + c) * T + (n % T);
      const x = uniform(r, N * C, -3, 3);
      const targets = Float32Array.from({ length: N }, () => Math.floor(r() * C));
      targets[2] = -100;
      targets[9] = -100;
      const mask = Float32Array.from({ length: N }, () => (r() < 0.2 ? 0 : 0.5 + r()));
      const loss = new CrossEntropyLoss(rt, { classDim });
      const xs = rt.tensor(x, shape);
      const ts = rt.tensor(targets, [N]);
      for (const m of [undefined, mask]) {
        const res = loss.forward(xs, ts, m ? rt.tensor(m, [N]) : undefined);
        const ref = crossEntropyRef(x, targets, N, C, at, -100, m);
        expectClose('loss', await res.loss.read(), [ref.loss], LOSS_TOL, seed);
        expectClose('count', await res.count.read(), [ref.count], { atol: 0, rtol: 1e-6 }, seed);
        expectClose('grad', await res.grad.read(), ref.grad, GRAD_TOL, seed);
        expect(res.grad.shape).toEqual(shape);
      }
      loss.destroy();
    });
  }

  it('three dispatches, recorded into the current step; bad input named', () => {
    const loss = new CrossEntropyLoss(rt);
    const x = rt.zeros([4, 5]);
    const t = rt.tensor([0, 1, 2, 3], [4]);
    const c = rt.step(() => loss.forward(x, t));
    expect(c.dispatches).toBe(3);
    expect(() => loss.forward(x, rt.zeros([3]))).toThrow('CrossEntropyLoss.forward: targets must hold one class index per position (4 for logits [4, 5]), got [3]');
    expect(() => loss.forward(x, t, rt.zeros([5]))).toThrow('CrossEntropyLoss.forward: mask must have one weight per position (4), got [5]');
    expect(() => new CrossEntropyLoss(rt, { classDim: 2 as 1 })).toThrow("CrossEntropyLoss: classDim must be 'last' or 1, got 2");
    loss.destroy();
  });
});

describe('mean squared error', () => {
  it('loss and gradient, with and without row weights', async () => {
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const r = rng(seed);
    const [N, F] = [13, 3];
    const p = uniform(r, N * F);
    const t = uniform(r, N * F);
    const mask = Float32Array.from({ length: N }, () => (r() < 0.3 ? 0 : r()));
    const loss = new MSELoss(rt);
    const ps = rt.tensor(p, [N, F]);
    const ts = rt.tensor(t, [N, F]);
    for (const m of [undefined, mask]) {
      const res = loss.forward(ps, ts, m ? rt.tensor(m, [N]) : undefined);
      const ref = mseRef(p, t, F, m);
      expectClose('mse', await res.loss.read(), [ref.loss], LOSS_TOL, seed);
      expectClose('mse grad', await res.grad.read(), ref.grad, GRAD_TOL, seed);
    }
    expect(() => loss.forward(ps, rt.zeros([3]))).toThrow('MSELoss.forward: pred and target must be Tensors of equal size, got [13, 3] and [3]');
    loss.destroy();
  });
});
