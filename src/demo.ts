/**
 * A built-in demo of the runtime (until the training command lands): fits a
 * linear model y = x W + b by full-batch gradient descent, every step one
 * recorded command stream and one submit, the loss read back asynchronously.
 */
import { mulberry32 } from './nn/init.js';
import { axpy, colSum, copy, gemm, sumSquares } from './ops.js';
import type { Runtime } from './runtime.js';

export interface LinearDemoResult {
  losses: { step: number; loss: number }[];
  dispatchesPerStep: number;
  submitsPerStep: number;
  msPerStep: number;
}

/** Deterministic pseudo-random numbers in [-1, 1). */
function gen(seed: number): () => number {
  const u = mulberry32(seed);
  return () => u() * 2 - 1;
}

export async function linearRegressionDemo(
  rt: Runtime,
  o: { rows?: number; inputs?: number; outputs?: number; steps?: number; lr?: number; seed?: number; log?: (s: string) => void } = {},
): Promise<LinearDemoResult> {
  const { rows = 512, inputs = 32, outputs = 8, steps = 200, lr = 0.5, seed = 1 } = o;
  const r = gen(seed);
  const xData = Float32Array.from({ length: rows * inputs }, r);
  const wTrue = Float32Array.from({ length: inputs * outputs }, r);
  const yData = new Float32Array(rows * outputs);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < outputs; j++) {
      let s = 0.25;
      for (let k = 0; k < inputs; k++) s += xData[i * inputs + k]! * wTrue[k * outputs + j]!;
      yData[i * outputs + j] = s + 0.01 * r();
    }
  }
  const data = rt.arena({ x: [rows, inputs], y: [rows, outputs] }, 'data');
  const params = rt.arena({ w: [inputs, outputs], b: [outputs] }, 'params');
  const grads = rt.arena({ w: [inputs, outputs], b: [outputs] }, 'grads');
  const acts = rt.arena({ pred: [rows, outputs], loss: [1] }, 'acts');
  const resid = rt.arena({ r: [rows, outputs] }, 'resid');
  const { x, y } = data.tensors as Record<'x' | 'y', ReturnType<Runtime['zeros']>>;
  x.write(xData);
  y.write(yData);
  const P = params.tensors;
  const G = grads.tensors;
  const A = acts.tensors;
  const R = resid.tensors.r!;

  const losses: { step: number; loss: number }[] = [];
  const pendingReads: Promise<void>[] = [];
  let counts = { dispatches: 0, submits: 0 };
  const t0 = performance.now();
  for (let step = 0; step < steps; step++) {
    const c = rt.step(() => {
      gemm(rt, A.pred!, x, P.w!, { bias: P.b! }); //         pred = x W + b
      copy(rt, R, A.pred!); //                              r = pred - y
      axpy(rt, R, -1, y);
      sumSquares(rt, A.loss!, [R]); //                      loss * rows*outputs = sum r^2
      gemm(rt, G.w!, x, R, { transA: true, alpha: 2 / (rows * outputs) }); // dW = 2/n x^T r
      colSum(rt, G.b!, R); //                               db = 2/n sum_rows r
      axpy(rt, P.w!, -lr, G.w!);
      axpy(rt, P.b!, -lr * (2 / (rows * outputs)), G.b!);
    });
    counts = c;
    if (step % 20 === 0 || step === steps - 1) {
      // Read without awaiting inside the loop: the GPU keeps going.
      pendingReads.push(
        A.loss!.read().then((v) => {
          losses.push({ step, loss: v[0]! / (rows * outputs) });
          o.log?.(`step ${String(step).padStart(4)}  loss ${(v[0]! / (rows * outputs)).toExponential(3)}`);
        }),
      );
    }
  }
  await Promise.all(pendingReads);
  await rt.sync();
  const msPerStep = (performance.now() - t0) / steps;
  for (const a of [data, params, grads, acts, resid]) a.destroy();
  losses.sort((p, q) => p.step - q.step);
  return { losses, dispatchesPerStep: counts.dispatches, submitsPerStep: counts.submits, msPerStep };
}
