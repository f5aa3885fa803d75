/**
 * One training step (forward + backward, no optimizer update) of a
 * recurrent layer and a dense head, ours vs TensorFlow.js layers on its
 * 'webgpu' backend, in the same page and on the same adapter. Run by
 * `npm run bench:recurrent` (bench/run.js); also works opened by hand from
 * `npx vite` at /bench/recurrent.html.
 *
 * Model, both sides: LSTM / GRU / RNN(tanh), one layer, B=32, T=64, I=32,
 * H=128, returning the whole sequence; a dense layer H -> 1 at every step;
 * MSE against a random target; gradients of every parameter (recurrent and
 * dense). TF.js: `tf.layers.lstm|gru|simpleRNN({ returnSequences: true,
 * recurrentActivation: 'sigmoid' })` + `tf.layers.dense`, gradients by
 * `tf.variableGrads`. TF.js's GRU is Keras's reset_after=False, so ours is
 * `new GRU(rt, { resetAfter: false })` to be the same model.
 * Ours: `zeroGrad`, `forward`, the head as GEMMs, dy by copy/axpy/scale,
 * the loss by sumSquares, head gradients by GEMM/colSum, `backward`, all in
 * one `rt.step`; every tensor allocated before the timed steps.
 *
 * Each timed step ends by waiting for the GPU: ours `await rt.sync()`, TF.js
 * its queue submitted and `onSubmittedWorkDone()` awaited (no read-back).
 * Dispatches and submits per step are counted for both sides by wrapping
 * `GPUComputePassEncoder.prototype.dispatchWorkgroups(Indirect)` and
 * `GPUQueue.prototype.submit` in recurrent.html before anything runs;
 * `createBuffer`/`createBindGroup` calls during our timed steps must be 0.
 *
 * Before timing, both sides run one step from the same weights (TF.js's,
 * converted by `fromTfjsWeights`) and their losses and gradients are compared.
 *
 * URL: `?steps=15&tfSteps=5&warmup=2&only=LSTM`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import {
  GRU,
  LSTM,
  RNN,
  axpy,
  colSum,
  copy,
  fromTfjsWeights,
  gemmDispatch,
  scale,
  sumSquares,
  type Dispatch,
  type KerasLayerKind,
  type Recurrent,
  type Runtime,
  type Tensor,
} from '../src/index.js';
import { randomData, relErr, type Stats, type TfWebGPUBackend, tfFinish, timeSteps, toBatchFirst, benchPage, runBench, say, startBench } from './common.js';

const B = 32;
const T = 64;
const I = 32;
const H = 128;
const N = T * B; // loss elements (one output per step and row)

const page = benchPage<{ rows: RecurrentRow[]; checks: Check[]; settings: Record<string, unknown> }>();

const params = new URLSearchParams(location.search);
const steps = Number(params.get('steps') ?? 15);
const tfSteps = Number(params.get('tfSteps') ?? 5);
const warmup = Math.max(2, Number(params.get('warmup') ?? 2));
const only = params.get('only');

export interface PathStats extends Stats {
  /** Dispatches as counted by our own rt.step counters (ours only). */
  rtDispatches?: number;
  rtSubmits?: number;
}

export interface RecurrentRow {
  model: string;
  seq: PathStats;
  step: PathStats;
  tf: PathStats;
  /** TF.js ms / our best ms. */
  ratio: number;
  /** TF.js live tensors before and after its timed steps (equal: nothing leaks). */
  tfTensors: [number, number];
}

export interface Check {
  model: string;
  path: string;
  lossOurs: number;
  lossTf: number;
  /** max |ours - tf| / max |tf| per gradient. */
  gradRelErr: Record<string, number>;
}


interface Model {
  name: string;
  kind: KerasLayerKind;
  ours: (rt: Runtime, kernel: 'sequence' | 'step') => Recurrent;
  tf: () => tf.layers.Layer;
}

// Glorot for the recurrent kernel too: TF.js's default orthogonal init runs a QR
// of [4H, H] op by op, minutes on SwiftShader; the weights are copied into ours anyway.
const tfInit = { kernelInitializer: 'glorotUniform', recurrentInitializer: 'glorotUniform', biasInitializer: 'randomUniform' } as const;

const MODELS: Model[] = [
  {
    name: 'LSTM',
    kind: 'lstm',
    ours: (rt, kernel) => new LSTM(rt, { inputSize: I, hiddenSize: H, kernel, seed: 1 }),
    tf: () => tf.layers.lstm({ units: H, returnSequences: true, recurrentActivation: 'sigmoid', ...tfInit }),
  },
  {
    name: 'GRU (reset_after=False)',
    kind: 'gru',
    ours: (rt, kernel) => new GRU(rt, { inputSize: I, hiddenSize: H, kernel, seed: 1, resetAfter: false }),
    tf: () => tf.layers.gru({ units: H, returnSequences: true, recurrentActivation: 'sigmoid', ...tfInit }),
  },
  {
    name: 'RNN (tanh)',
    kind: 'simpleRNN',
    ours: (rt, kernel) => new RNN(rt, { inputSize: I, hiddenSize: H, kernel, seed: 1 }),
    tf: () => tf.layers.simpleRNN({ units: H, returnSequences: true, activation: 'tanh', ...tfInit }),
  },
];

/** Shared inputs, both layouts. */
interface Data {
  x: Float32Array; // [T, B, I]
  y: Float32Array; // [T, B, 1]
}

async function benchModel(rt: Runtime, m: Model, data: Data, checks: Check[]): Promise<RecurrentRow> {
  // ---------------------------------------------------------------- TF.js
  const backend = tf.backend() as unknown as TfWebGPUBackend;
  const rnn = m.tf();
  const dense = tf.layers.dense({ units: 1, biasInitializer: 'randomUniform' });
  const xTf = tf.tensor3d(toBatchFirst(data.x, T, B, I), [B, T, I]);
  const yTf = tf.tensor3d(toBatchFirst(data.y, T, B, 1), [B, T, 1]);
  // Builds both layers' weights. Not inside tf.tidy: on the webgpu backend the
  // variables then read back as zeros (their initial values' buffers are released).
  const hTf = rnn.apply(xTf) as tf.Tensor;
  tf.dispose([hTf, dense.apply(hTf) as tf.Tensor]);
  const vars = [...rnn.trainableWeights, ...dense.trainableWeights].map((w) => w.read() as tf.Variable);
  if (vars.length !== 5) throw new Error(`${m.name}: expected 5 TF.js variables, got ${vars.length}`);
  const lossFn = () => tf.losses.meanSquaredError(yTf, dense.apply(rnn.apply(xTf) as tf.Tensor) as tf.Tensor) as tf.Scalar;
  /** One forward+backward; returns [loss, grads in `vars` order] (the caller disposes). */
  const tfStep = (): tf.Tensor[] =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossFn, vars);
      return [value, ...vars.map((v) => grads[v.name]!)];
    });

  // ------------------------------------------------------------------ ours
  // Read with data(), never dataSync(): on TF.js's webgpu backend in headless Chromium
  // (SwiftShader) dataSync() returns zeros and caches them, so later data() calls return zeros too.
  const read = (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => ({ shape: t.shape, data: (await t.data()) as Float32Array })));
  const [kernelW, recW, biasW, denseK, denseB] = await read([...rnn.getWeights(), ...dense.getWeights()]);
  const conv = fromTfjsWeights(m.kind, [kernelW!, recW!, biasW!]);
  const x = rt.tensor(data.x, [T, B, I], 'x');
  const target = rt.tensor(data.y, [N, 1], 'target');
  const Wd = rt.tensor(denseK!.data, [1, H], 'Wd'); // Keras [H, 1] = ours [1, H]
  const bd = rt.tensor(denseB!.data, [1], 'bd');
  const yhat = rt.zeros([N, 1], 'yhat');
  const dy = rt.zeros([N, 1], 'dy');
  const dWd = rt.zeros([1, H], 'dWd');
  const dbd = rt.zeros([1], 'dbd');
  const loss = rt.zeros([1], 'loss');
  const dOut = rt.zeros([T, B, H], 'dOut');
  const dOut2 = dOut.reshape([N, H]);

  const ourPath = (layer: Recurrent) => {
    let head: { fwd: Dispatch; dW: Dispatch; dOut: Dispatch } | null = null;
    return () =>
      rt.step(() => {
        layer.zeroGrad();
        const out = layer.forward(x).output.reshape([N, H]);
        // Bound on the first (warm-up) call: the output lives in the layer's plan, the same buffer every step.
        head ??= {
          fwd: gemmDispatch(rt, yhat, out, Wd, { transB: true, bias: bd }),
          dW: gemmDispatch(rt, dWd, dy, out, { transA: true }),
          dOut: gemmDispatch(rt, dOut2, dy, Wd),
        };
        rt.run(head.fwd); // yhat = out Wd^T + bd
        copy(rt, dy, yhat);
        axpy(rt, dy, -1, target); // dy = yhat - target
        sumSquares(rt, loss, [dy]); // loss * N
        scale(rt, dy, 2 / N); // dL/dyhat
        rt.run(head.dW); // dWd = dy^T out
        colSum(rt, dbd, dy); // dbd = sum dy
        rt.run(head.dOut); // dOut = dy Wd
        layer.backward(dOut);
      });
  };

  // ------------------------------------------- correctness: one step each
  const tfOut = tfStep();
  const lossTf = (await tfOut[0]!.data())[0]!;
  const tfGrad = await read(tfOut.slice(1));
  tf.dispose(tfOut);
  const tfConv = fromTfjsWeights(m.kind, tfGrad.slice(0, 3)).stateDict;

  const layers = { sequence: m.ours(rt, 'sequence'), step: m.ours(rt, 'step') };
  const runs: Record<'sequence' | 'step', () => unknown> = { sequence: () => 0, step: () => 0 };
  for (const path of ['sequence', 'step'] as const) {
    const layer = layers[path];
    if (layer.path !== path) throw new Error(`${m.name}: asked for kernel '${path}', got '${layer.path}'`);
    layer.loadStateDict(conv.stateDict);
    runs[path] = ourPath(layer);
    runs[path]();
    await rt.sync();
    const lossOurs = (await loss.read())[0]! / N;
    const g = await layer.grads();
    const gradRelErr: Record<string, number> = {
      weight_ih: relErr(g.weight_ih_l0!, tfConv.weight_ih_l0!),
      weight_hh: relErr(g.weight_hh_l0!, tfConv.weight_hh_l0!),
      bias: relErr(g.bias_ih_l0!, tfConv.bias_ih_l0!),
      dense_kernel: relErr(await dWd.read(), tfGrad[3]!.data),
      dense_bias: relErr(await dbd.read(), tfGrad[4]!.data),
    };
    checks.push({ model: m.name, path, lossOurs, lossTf, gradRelErr });
    const worst = Math.max(...Object.values(gradRelErr));
    say(
      `${m.name} [${path}]: loss ours ${lossOurs.toPrecision(8)} tf ${lossTf.toPrecision(8)} ` +
        `(|diff| ${Math.abs(lossOurs - lossTf).toExponential(2)}); worst gradient rel. error ${worst.toExponential(2)}`,
    );
    if (!(Math.abs(lossOurs - lossTf) <= 1e-4 * Math.max(1, Math.abs(lossTf))) || !(worst <= 1e-3)) {
      throw new Error(`${m.name} [${path}]: ours and TF.js disagree: ${JSON.stringify({ lossOurs, lossTf, gradRelErr })}`);
    }
  }

  // --------------------------------------------------------------- timing
  const time = (run: () => unknown, finish: () => Promise<void>, n: number, warm: number): Promise<PathStats> =>
    timeSteps(run, finish, n, warm, say);


  const ours: Record<'sequence' | 'step', PathStats> = {} as Record<'sequence' | 'step', PathStats>;
  for (const path of ['sequence', 'step'] as const) {
    let counts = { dispatches: 0, submits: 0 };
    const run = () => {
      counts = runs[path]() as { dispatches: number; submits: number };
    };
    const st = await time(run, () => rt.sync(), steps, warmup - 1);
    st.rtDispatches = counts.dispatches;
    st.rtSubmits = counts.submits;
    if (st.rtDispatches !== st.dispatches || st.rtSubmits !== st.submits) {
      say(`  note: rt.counters say ${st.rtDispatches} dispatches / ${st.rtSubmits} submits, the WebGPU wrappers ${st.dispatches} / ${st.submits}`);
    }
    if (st.allocations) say(`  WARNING: ${st.allocations} createBuffer/createBindGroup calls during our timed ${path} steps`);
    ours[path] = st;
    say(`${m.name} ours [${path}]: ${st.ms.toFixed(2)} ms/step (median of ${steps}), ${st.dispatches} dispatches, ${st.submits} submits`);
  }

  const tensors0 = tf.memory().numTensors;
  const tfRun = () => {
    tf.dispose(tfStep());
  };
  const tfStats = await time(tfRun, () => tfFinish(backend), tfSteps, warmup - 1);
  const tensors1 = tf.memory().numTensors;
  say(`${m.name} tf.js: ${tfStats.ms.toFixed(2)} ms/step (median of ${tfSteps}), ${tfStats.dispatches} dispatches, ${tfStats.submits} submits`);

  // --------------------------------------------------------------- cleanup
  for (const l of Object.values(layers)) l.destroy();
  for (const t of [x, target, Wd, bd, yhat, dy, dWd, dbd, loss, dOut] as Tensor[]) t.buffer.destroy();
  tf.dispose([xTf, yTf]); // getWeights() gives the variables themselves: the layers' dispose() frees them
  rnn.dispose();
  dense.dispose();

  return {
    model: m.name,
    seq: ours.sequence,
    step: ours.step,
    tf: tfStats,
    ratio: tfStats.ms / Math.min(ours.sequence.ms, ours.step.ms),
    tfTensors: [tensors0, tensors1],
  };
}

async function main(): Promise<void> {
  const { rt, info } = await startBench('recurrent.html', tf);
  say(
    `adapter ${info.vendor} ${info.architecture}; tf ${tf.version.tfjs} backend ${tf.getBackend()}; ` +
      `B=${B} T=${T} I=${I} H=${H}; ours median of ${steps} steps, tf.js median of ${tfSteps}, after ${warmup} warm-up steps`,
  );
  const data: Data = { x: randomData(T * B * I, 1), y: randomData(T * B, 2) };
  const rows: RecurrentRow[] = [];
  const checks: Check[] = [];
  for (const m of MODELS) {
    if (only && !m.name.includes(only)) continue;
    rows.push(await benchModel(rt, m, data, checks));
    page.__results = { rows, checks, settings: {} }; // partial results survive a later failure
  }
  page.__results = { rows, checks, settings: { B, T, I, H, steps, tfSteps, warmup, tfjs: tf.version.tfjs } };
  rt.destroy();
}

runBench('recurrent', main);
