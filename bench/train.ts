/**
 * A full training step — forward, loss, backward, gradient clipping by
 * global norm, Adam update — ours vs TensorFlow.js on its 'webgpu' backend,
 * in the same page and on the same adapter. Run by `npm run bench:train`
 * (bench/run.js, which first runs our side in Node on Dawn through
 * bench/train-node.mjs); also works opened by hand from `npx vite` at
 * /bench/train.html.
 *
 * Models and ours: bench/train-models.js (shared with the Node script):
 * SequenceToSequence({ input: 'dense' }) LSTM / GRU (reset_after=False) /
 * RNN(tanh), B=32 T=64 I=32 H=128, a dense head H -> 1 per step, MSE; and the
 * WaveNet of bench/wavenet (B=16 T=256, 32 channels, dilations 1,2,4,8 x 2,
 * 256-way softmax cross-entropy, CrossEntropyLoss({ classDim: 1 })). Then
 * clipGradNorm(max norm 0.05: active for all four models) over every gradient arena and one
 * Adam(lr 1e-3, eps 1e-8) over model.parameters() (the Trainer's step), all in one `rt.step`.
 *
 * TF.js: the recurrent models as tf.layers (as bench/recurrent.ts), the
 * WaveNet as pad/slice/matMul ops (as bench/wavenet.ts); per step
 * `tf.variableGrads`, the global norm sqrt(sum of sum(g^2)) by hand (TF.js has
 * no clipByGlobalNorm), every gradient times min(1, 0.05 / (norm + 1e-6))
 * (torch's clip_grad_norm_ formula, as ours), `optimizer.applyGradients` of a
 * `tf.train.adam(1e-3, 0.9, 0.999, 1e-8)`.
 *
 * Both sides start from the same weights (recurrent: TF.js's, converted by
 * fromTfjsWeights; WaveNet: ours, transposed into TF.js's layout) and run 3
 * steps before timing; the first losses must agree, and the gradient norms
 * and the losses after 1 and 2 updates are compared. Recurrent models: ours
 * are PyTorch's, with two bias vectors (bias_ih + bias_hh) where Keras has one:
 * the same function, but ours' gradient norm counts the bias gradient twice
 * (compared against sqrt(norm_tf^2 + |g_bias|^2)) and Adam moves the summed
 * bias twice as far, so later losses differ slightly (reported, not checked).
 *
 * Timing as the other benches: each timed step ends by waiting for the GPU
 * (ours `await rt.sync()`, TF.js its queue submitted and
 * `onSubmittedWorkDone()` awaited, no read-back); median after warm-up;
 * dispatches and submits per step counted by the wrappers in counters.js.
 *
 * URL: `?steps=9&tfSteps=3&warmup=1&only=LSTM`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import * as lib from '../src/index.js';
import { fromTfjsWeights, type KerasLayerKind, type Runtime } from '../src/index.js';
import { type Stats, type TfWebGPUBackend, tfFinish, tfWaveNetLoss, timeSteps, toBatchFirst, wavenetToTfLayout, benchPage, runBench, say, startBench } from './common.js';
import { EPS, LR, MAX_NORM, MODELS, REC, WN, recurrentData, recurrentTrainer, wavenetData, wavenetTrainer, type Cell, type StateDict, type Trainer } from './train-models.js';

const page = benchPage<{ rows: TrainRow[]; checks: Check[]; settings: Record<string, unknown> }>();

const params = new URLSearchParams(location.search);
const steps = Math.max(3, Number(params.get('steps') ?? 9));
const tfSteps = Math.max(1, Number(params.get('tfSteps') ?? 3));
const warmup = Math.max(0, Number(params.get('warmup') ?? 1)); // after the 3 checked steps
const only = params.get('only');
const CHECK_STEPS = 3;

export interface TrainRow {
  model: string;
  ours: Stats;
  tf: Stats;
  /** TF.js ms / ours ms. */
  ratio: number;
  /** TF.js live tensors before and after its timed steps. */
  tfTensors: [number, number];
}

export interface Check {
  model: string;
  /** Mean loss before update 1, 2, 3. */
  lossOurs: number[];
  lossTf: number[];
  /** Gradient norm of step 1 (before clipping); tfExpected is what ours should be (see the header). */
  normOurs: number;
  normTf: number;
  normTfExpected: number;
}


/** What a TF.js model gives the common part: its variables, its loss, and the name of the variable whose gradient ours counts twice. */
interface TfModel {
  vars: tf.Variable[];
  lossFn: () => tf.Scalar;
  /** Recurrent: the Keras bias (ours has bias_ih and bias_hh). */
  doubledBias?: tf.Variable;
  dispose: () => void;
}

// ------------------------------------------------------------- recurrent

const tfInit = { kernelInitializer: 'glorotUniform', recurrentInitializer: 'glorotUniform', biasInitializer: 'randomUniform' } as const;


async function recurrentPair(rt: Runtime, cell: 'lstm' | 'gru' | 'rnn'): Promise<{ ours: Trainer<unknown>; tfm: TfModel }> {
  const { B, T, I, H } = REC;
  const data = recurrentData();
  const rnn =
    cell === 'lstm'
      ? tf.layers.lstm({ units: H, returnSequences: true, recurrentActivation: 'sigmoid', ...tfInit })
      : cell === 'gru'
        ? tf.layers.gru({ units: H, returnSequences: true, recurrentActivation: 'sigmoid', ...tfInit })
        : tf.layers.simpleRNN({ units: H, returnSequences: true, activation: 'tanh', ...tfInit });
  const dense = tf.layers.dense({ units: 1, biasInitializer: 'randomUniform' });
  const xTf = tf.tensor3d(toBatchFirst(data.x, T, B, I), [B, T, I]);
  const yTf = tf.tensor3d(toBatchFirst(data.y, T, B, 1), [B, T, 1]);
  // Builds the weights; not inside tf.tidy (on webgpu the variables then read back as zeros).
  const h = rnn.apply(xTf) as tf.Tensor;
  tf.dispose([h, dense.apply(h) as tf.Tensor]);
  const vars = [...rnn.trainableWeights, ...dense.trainableWeights].map((w) => w.read() as tf.Variable);
  if (vars.length !== 5) throw new Error(`${cell}: expected 5 TF.js variables, got ${vars.length}`);
  // data(), never dataSync() (zeros on TF.js webgpu in headless Chromium; see bench/recurrent.ts).
  const w = await Promise.all(vars.map(async (v) => ({ shape: v.shape, data: (await v.data()) as Float32Array })));
  const kind: KerasLayerKind = cell === 'lstm' ? 'lstm' : cell === 'gru' ? 'gru' : 'simpleRNN';
  const sd: StateDict = {};
  for (const [k, v] of Object.entries(fromTfjsWeights(kind, [w[0]!, w[1]!, w[2]!]).stateDict)) sd[`rnn.${k}`] = v as Float32Array;
  sd['head.weight'] = w[3]!.data; // Keras [H, 1] = ours [1, H]
  sd['head.bias'] = w[4]!.data;
  const ours = recurrentTrainer(lib, rt, cell, data, sd);
  return {
    ours,
    tfm: {
      vars,
      lossFn: () => tf.losses.meanSquaredError(yTf, dense.apply(rnn.apply(xTf) as tf.Tensor) as tf.Tensor) as tf.Scalar,
      doubledBias: vars[2],
      dispose: () => {
        tf.dispose([xTf, yTf]);
        rnn.dispose();
        dense.dispose();
      },
    },
  };
}

// --------------------------------------------------------------- WaveNet




async function wavenetPair(rt: Runtime): Promise<{ ours: Trainer<unknown>; tfm: TfModel }> {
  const { B, T, CH, OUT } = WN;
  const N = B * T;
  const data = wavenetData();
  const ours = wavenetTrainer(lib, rt, data);
  const net = ours.model;
  const L = net.numLayers;
  const init = wavenetToTfLayout(await net.stateDict(), L, WN);
  const V: Record<string, tf.Variable> = Object.fromEntries(
    Object.entries(init).map(([k, v]) => [k, tf.variable(tf.tensor(v.data, v.shape), true, `train_wn_${k}`)]),
  );
  const xTf = tf.tensor2d(data.x, [N, 1]);
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from(data.targets), 'int32'), OUT).toFloat());
  const lossFn = tfWaveNetLoss(tf, V, xTf, labels, net.layerDilations, { B, T, CH });

  const vars = Object.values(V);
  return { ours, tfm: { vars, lossFn, dispose: () => tf.dispose([...vars, xTf, labels]) } };
}

// ----------------------------------------------------------------- bench

async function benchModel(rt: Runtime, name: string, cell: Cell, checks: Check[]): Promise<TrainRow> {
  const backend = tf.backend() as unknown as TfWebGPUBackend;
  const { ours, tfm } = cell === 'wavenet' ? await wavenetPair(rt) : await recurrentPair(rt, cell);
  const optimizer = tf.train.adam(LR, 0.9, 0.999, EPS);
  /** One TF.js training step; returns [loss, norm, sum of squares of the doubled bias's gradient] (caller disposes). */
  const tfStep = (): tf.Tensor[] =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(tfm.lossFn, tfm.vars);
      const gs = tfm.vars.map((v) => grads[v.name]!);
      // A chain of adds: tf.addN of more than a few tensors fails on the webgpu backend (AddNPackedProgram binds one buffer per input).
      const norm = tf.sqrt(gs.map((g) => tf.sum(tf.square(g))).reduce((a, b) => tf.add(a, b)));
      const coef = tf.minimum(1, tf.div(MAX_NORM, tf.add(norm, 1e-6)));
      optimizer.applyGradients(tfm.vars.map((v) => ({ name: v.name, tensor: tf.mul(grads[v.name]!, coef) })));
      const b = tfm.doubledBias ? tf.sum(tf.square(grads[tfm.doubledBias.name]!)) : tf.scalar(0);
      return [value, norm, b];
    });

  // ------------------------------------------- correctness: 3 steps each
  const lossOurs: number[] = [];
  const lossTf: number[] = [];
  let normOurs = 0;
  let normTf = 0;
  let normTfExpected = 0;
  for (let i = 0; i < CHECK_STEPS; i++) {
    ours.step();
    await rt.sync();
    const r = await ours.read();
    lossOurs.push(r.loss);
    const out = tfStep();
    const [l, n, b] = await Promise.all(out.map(async (t) => (await t.data())[0]!));
    tf.dispose(out);
    lossTf.push(l!);
    if (i === 0) [normOurs, normTf, normTfExpected] = [r.norm, n!, Math.sqrt(n! * n! + b!)];
  }
  const check: Check = { model: name, lossOurs, lossTf, normOurs, normTf, normTfExpected };
  checks.push(check);
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);
  say(
    `${name}: loss ours ${lossOurs.map((v) => v.toPrecision(8)).join(' -> ')}, tf ${lossTf.map((v) => v.toPrecision(8)).join(' -> ')}; ` +
      `grad norm ours ${normOurs.toPrecision(6)}, tf ${normTf.toPrecision(6)}` +
      (tfm.doubledBias ? ` (with the bias gradient twice ${normTfExpected.toPrecision(6)})` : '') +
      ` (clipped to ${MAX_NORM})`,
  );
  const bad: string[] = [];
  if (!(rel(lossOurs[0]!, lossTf[0]!) <= 1e-4)) bad.push('initial loss');
  if (!(rel(normOurs, normTfExpected) <= 1e-3)) bad.push('gradient norm');
  // WaveNet: the same model on both sides, so the updates must agree too.
  if (cell === 'wavenet' && !lossOurs.every((v, i) => rel(v, lossTf[i]!) <= 1e-3)) bad.push('losses after the Adam updates');
  if (bad.length) throw new Error(`${name}: ours and TF.js disagree (${bad.join(', ')}): ${JSON.stringify(check)}`);

  // --------------------------------------------------------------- timing
  let counts = { dispatches: 0, submits: 0 };
  const st = await timeSteps(
    () => {
      counts = ours.step();
    },
    () => rt.sync(),
    steps,
    warmup,
    say,
  );
  if (counts.dispatches !== st.dispatches || counts.submits !== st.submits) {
    say(`  note: rt.step counted ${counts.dispatches} dispatches / ${counts.submits} submits, the WebGPU wrappers ${st.dispatches} / ${st.submits}`);
  }
  if (st.allocations) say(`  WARNING: ${st.allocations} createBuffer/createBindGroup calls during our timed steps`);
  say(`${name} ours: ${st.ms.toFixed(1)} ms/step (median of ${steps}), ${st.dispatches} dispatches, ${st.submits} submits`);
  // One more step, timed per kernel (the page says when the browser quantises timestamps).
  const profile = await rt.profile(() => ours.step());
  say(profile.toString(6).replace(/^/gm, '  '));
  const tensors0 = tf.memory().numTensors;
  const tfStats = await timeSteps(() => tf.dispose(tfStep()), () => tfFinish(backend), tfSteps, warmup, say);
  const tensors1 = tf.memory().numTensors;
  say(`${name} tf.js: ${tfStats.ms.toFixed(1)} ms/step (median of ${tfSteps}), ${tfStats.dispatches} dispatches, ${tfStats.submits} submits; x${(tfStats.ms / st.ms).toFixed(1)}`);

  ours.destroy();
  tfm.dispose();
  optimizer.dispose();
  return { model: name, ours: st, tf: tfStats, ratio: tfStats.ms / st.ms, tfTensors: [tensors0, tensors1] };
}

async function main(): Promise<void> {
  const { rt, info } = await startBench('train.html', tf);
  say(
    `adapter ${info.vendor} ${info.architecture}; tf ${tf.version.tfjs} backend ${tf.getBackend()}; ` +
      `ours median of ${steps} steps, tf.js of ${tfSteps}, after ${CHECK_STEPS} checked + ${warmup} warm-up steps`,
  );
  const rows: TrainRow[] = [];
  const checks: Check[] = [];
  const settings = { recurrent: { ...REC, loss: 'mse', head: 'dense H -> 1 per step' }, wavenet: { ...WN, loss: 'softmax cross-entropy' }, lr: LR, eps: EPS, maxNorm: MAX_NORM, steps, tfSteps, warmup, checkSteps: CHECK_STEPS, tfjs: tf.version.tfjs };
  for (const m of MODELS) {
    if (only && !m.name.includes(only)) continue;
    rows.push(await benchModel(rt, m.name, m.cell, checks));
    page.__results = { rows, checks, settings };
  }
  page.__results = { rows, checks, settings };
  rt.destroy();
}

runBench('train', main);
