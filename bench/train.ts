/**
 * A full training step — forward, loss, backward, gradient clipping by
 * global norm, Adam update — ours (in this page, and in Node on Dawn when
 * bench/run.js drives the page) vs TensorFlow.js on its 'webgpu' backend
 * (same page, same adapter) and on its 'wasm' backend (same page, the CPU).
 * Run by `npm run bench:train` (bench/run.js); also works opened by hand from
 * `npx vite` at /bench/train.html (no Node column then, and TF.js wasm without
 * threads: those need the COOP/COEP headers bench/run.js sends).
 *
 * Models and ours: bench/train-models.js (shared with bench/train-node.mjs):
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
 * `tf.train.adam(1e-3, 0.9, 0.999, 1e-8)`. The same code builds a second copy
 * on the wasm backend (its own variables, optimizer and data, created while
 * 'wasm' is the backend; tf.setBackend switches before each side's steps, so
 * no tensor ever moves between backends), starting from the webgpu copy's
 * weights. The wasm binaries come from the package through Vite (`?url`);
 * which flavour loaded (SIMD, threads) is reported.
 *
 * Both sides start from the same weights (recurrent: TF.js's, converted by
 * fromTfjsWeights; WaveNet: ours, transposed into TF.js's layout) and run 3
 * steps before timing; the first losses must agree, and the gradient norms
 * and the losses after 1 and 2 updates are compared. Recurrent models: ours
 * are PyTorch's, with two bias vectors (bias_ih + bias_hh) where Keras has one:
 * the same function, but ours' gradient norm counts the bias gradient twice
 * (compared against sqrt(norm_tf^2 + |g_bias|^2)) and Adam moves the summed
 * bias twice as far, so later losses differ slightly (reported, not checked).
 * TF.js wasm must match TF.js webgpu (the same model: every loss of the 3
 * checked steps, and the loss after the timed steps), and ours in Node ours
 * in this page (Node gets this page's initial weights; the same steps).
 *
 * Timing as the other benches: each timed step ends by waiting for the GPU
 * (ours `await rt.sync()`, TF.js webgpu its queue submitted and
 * `onSubmittedWorkDone()` awaited, no read-back; TF.js wasm runs each op
 * before returning); dispatches and submits per step counted by the
 * wrappers in counters.js. The sides take turns: `rounds` rounds of `per`
 * steps of ours here, `per` of ours in Node (window.__node*, exposed by
 * bench/run.js), `tfPer` of TF.js webgpu, `tfPer` of TF.js wasm, after the
 * checked steps and `warmup` more on each side; medians over all rounds, so
 * the machine's other load is about the same for every column.
 *
 * TF.js wasm's thread pool is TF.js's default: the threaded SIMD binary when
 * the page is cross-origin isolated, XNNPACK's pool at half the logical CPUs
 * (1 thread on a 2-CPU machine; setThreadsCount(2) still gives 1 there, and
 * faking navigator.hardwareConcurrency to get 2 made a 512^2 matMul slower on
 * a loaded 2-core machine), reported as `settings.wasm.threadsCount`.
 *
 * URL: `?rounds=3&per=3&tfPer=1&warmup=1&only=LSTM&wasm=0`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as lib from '../src/index.js';
import { fromTfjsWeights, type KerasLayerKind, type Runtime } from '../src/index.js';
import { type Stats, type TfWebGPUBackend, median, tfFinish, tfWaveNetLoss, timeSteps, toBatchFirst, wavenetToTfLayout, benchPage, runBench, say, startBench } from './common.js';
import { EPS, LR, MAX_NORM, MODELS, REC, WN, recurrentData, recurrentTrainer, wavenetData, wavenetTrainer, type Cell, type StateDict, type Trainer } from './train-models.js';

const page = benchPage<{ rows: TrainRow[]; checks: Check[]; settings: Record<string, unknown> }>();

const params = new URLSearchParams(location.search);
const rounds = Math.max(1, Number(params.get('rounds') ?? 3));
const per = Math.max(1, Number(params.get('per') ?? 3));
const tfPer = Math.max(1, Number(params.get('tfPer') ?? 1));
const warmup = Math.max(0, Number(params.get('warmup') ?? 1)); // after the 3 checked steps
const only = params.get('only');
const wasmWanted = params.get('wasm') !== '0';
const CHECK_STEPS = 3;

/** A kernel's share of one profiled step (Profile.top). */
export interface TopKernel {
  kernel: string;
  calls: number;
  ms: number;
  share: number;
}

/** What bench/run.js exposes (bench/train-node.mjs nodeSide): ours in Node, on Dawn. */
interface NodeSide {
  __nodeInfo: () => Promise<Record<string, unknown>>;
  __nodeSetup: (cell: Cell, stateDict: Record<string, number[]>, k: number) => Promise<{ losses: number[]; norm: number; dispatches: number; submits: number }>;
  __nodeSteps: (n: number) => Promise<number[]>;
  __nodeRead: () => Promise<{ loss: number; norm: number }>;
  __nodeProfile: (top: number) => Promise<{ text: string; top: TopKernel[] }>;
  __nodeTeardown: () => Promise<void>;
}
const nodeSide = (): NodeSide | null => {
  const w = window as unknown as Partial<NodeSide>;
  return typeof w.__nodeSteps === 'function' ? (w as NodeSide) : null;
};

export interface NodeStats {
  ms: number;
  all: number[];
  dispatches: number;
  submits: number;
}

export interface TrainRow {
  model: string;
  /** Ours in this page. */
  ours: Stats;
  /** Ours in Node (Dawn), taking turns with this page; null without bench/run.js. */
  node: NodeStats | null;
  /** TF.js webgpu. */
  tf: Stats;
  /** TF.js wasm; null when off or when it failed (wasmError). */
  wasm: Stats | null;
  wasmError?: string;
  /** TF.js webgpu ms / ours ms (this page). */
  ratio: number;
  /** TF.js wasm ms / ours ms (this page). */
  ratioWasm: number | null;
  /** Ours in Node ms / ours in this page ms. */
  ratioNode: number | null;
  /** TF.js live tensors (both backends) before and after the timed rounds. */
  tfTensors: [number, number];
  /** The profiled step's top kernels, ours here and in Node. */
  profileTop: { chromium: TopKernel[]; node: TopKernel[] | null };
}

export interface Check {
  model: string;
  /** Mean loss before update 1, 2, 3. */
  lossOurs: number[];
  lossTf: number[];
  lossWasm: number[] | null;
  lossNode: number[] | null;
  /** Gradient norm of step 1 (before clipping); tfExpected is what ours should be (see the header). */
  normOurs: number;
  normTf: number;
  normTfExpected: number;
  normWasm: number | null;
  normNode: number | null;
  /** After the timed rounds: ours' (and Node's) last step's loss, at step `oursSteps`; TF.js's loss after its `tfSteps` updates. */
  final: { ours: number; node: number | null; tf: number; wasm: number | null; oursSteps: number; tfSteps: number };
}

/** What a TF.js model gives the common part: its variables, its loss, and the name of the variable whose gradient ours counts twice. */
interface TfModel {
  vars: tf.Variable[];
  lossFn: () => tf.Scalar;
  /** Recurrent: the Keras bias (ours has bias_ih and bias_hh). */
  doubledBias?: tf.Variable;
  dispose: () => void;
}

/** The weights a TF.js model starts from, in its variables' order. */
type TfInit = { shape: number[]; data: Float32Array }[];

async function useBackend(name: 'webgpu' | 'wasm'): Promise<void> {
  if (tf.getBackend() !== name && !(await tf.setBackend(name))) throw new Error(`TF.js: cannot switch to the ${name} backend`);
}

// ------------------------------------------------------------- recurrent

const tfInit = { kernelInitializer: 'glorotUniform', recurrentInitializer: 'glorotUniform', biasInitializer: 'randomUniform' } as const;

/** The TF.js recurrent model on the current backend, from its own random weights or `init`. */
function tfRecurrent(cell: 'lstm' | 'gru' | 'rnn', data: { x: Float32Array; y: Float32Array }, init?: TfInit): TfModel {
  const { B, T, I, H } = REC;
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
  if (init) {
    vars.forEach((v, i) => {
      const t = tf.tensor(init[i]!.data, init[i]!.shape);
      v.assign(t);
      t.dispose();
    });
  }
  return {
    vars,
    lossFn: () => tf.losses.meanSquaredError(yTf, dense.apply(rnn.apply(xTf) as tf.Tensor) as tf.Tensor) as tf.Scalar,
    doubledBias: vars[2],
    dispose: () => {
      tf.dispose([xTf, yTf]);
      rnn.dispose();
      dense.dispose();
    },
  };
}

interface Pair {
  ours: Trainer<unknown>;
  /** TF.js on webgpu. */
  tfm: TfModel;
  /** Builds the same TF.js model, from the same weights, on the current backend (wasm). */
  copy: () => TfModel;
  /** Ours' initial weights (for Node). */
  stateDict: StateDict;
}

async function recurrentPair(rt: Runtime, cell: 'lstm' | 'gru' | 'rnn'): Promise<Pair> {
  const data = recurrentData();
  const tfm = tfRecurrent(cell, data);
  // data(), never dataSync() (zeros on TF.js webgpu in headless Chromium; see bench/recurrent.ts).
  const w: TfInit = await Promise.all(tfm.vars.map(async (v) => ({ shape: v.shape, data: (await v.data()) as Float32Array })));
  const kind: KerasLayerKind = cell === 'lstm' ? 'lstm' : cell === 'gru' ? 'gru' : 'simpleRNN';
  const sd: StateDict = {};
  for (const [k, v] of Object.entries(fromTfjsWeights(kind, [w[0]!, w[1]!, w[2]!]).stateDict)) sd[`rnn.${k}`] = v as Float32Array;
  sd['head.weight'] = w[3]!.data; // Keras [H, 1] = ours [1, H]
  sd['head.bias'] = w[4]!.data;
  const ours = recurrentTrainer(lib, rt, cell, data, sd);
  return { ours, tfm, copy: () => tfRecurrent(cell, data, w), stateDict: sd };
}

// --------------------------------------------------------------- WaveNet

/** The TF.js WaveNet on the current backend, from `init` (wavenetToTfLayout); `tag` keeps the variable names apart per backend. */
function tfWaveNet(init: Record<string, { shape: number[]; data: Float32Array }>, data: { x: Float32Array; targets: Float32Array }, dilations: readonly number[], tag: string): TfModel {
  const { B, T, CH, OUT } = WN;
  const V: Record<string, tf.Variable> = Object.fromEntries(
    Object.entries(init).map(([k, v]) => [k, tf.variable(tf.tensor(v.data, v.shape), true, `train_wn_${tag}_${k}`)]),
  );
  const xTf = tf.tensor2d(data.x, [B * T, 1]);
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from(data.targets), 'int32'), OUT).toFloat());
  const lossFn = tfWaveNetLoss(tf, V, xTf, labels, dilations, { B, T, CH });
  const vars = Object.values(V);
  return { vars, lossFn, dispose: () => tf.dispose([...vars, xTf, labels]) };
}

async function wavenetPair(rt: Runtime): Promise<Pair> {
  const data = wavenetData();
  const ours = wavenetTrainer(lib, rt, data);
  const net = ours.model;
  const sd = (await net.stateDict()) as StateDict;
  const init = wavenetToTfLayout(sd, net.numLayers, WN);
  return { ours, tfm: tfWaveNet(init, data, net.layerDilations, 'webgpu'), copy: () => tfWaveNet(init, data, net.layerDilations, 'wasm'), stateDict: sd };
}

// ----------------------------------------------------------------- bench

/** One TF.js training step; returns [loss, norm, sum of squares of the doubled bias's gradient] (caller disposes). */
const tfStepOf = (tfm: TfModel, optimizer: tf.Optimizer) => (): tf.Tensor[] =>
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

/** Every value of the step's tensors (then disposed). */
async function values(out: tf.Tensor[]): Promise<number[]> {
  const v = await Promise.all(out.map(async (t) => (await t.data())[0]!));
  tf.dispose(out);
  return v;
}

/** The stats of several timed batches as one: the median over all their steps. */
function merge(parts: Stats[]): Stats {
  const all = parts.flatMap((p) => p.all);
  return { ms: median(all), all, dispatches: parts[0]!.dispatches, submits: parts[0]!.submits, allocations: parts.reduce((s, p) => s + p.allocations, 0) };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);
const f32 = (sd: StateDict) => Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, Array.from(v)]));
const topOf = (p: { top: (n: number) => { kernel: string; calls: number; totalMs: number; share: number }[] }, n = 6): TopKernel[] =>
  p.top(n).map((k) => ({ kernel: k.kernel, calls: k.calls, ms: k.totalMs, share: k.share }));

async function benchModel(rt: Runtime, name: string, cell: Cell, checks: Check[], wasmOn: boolean): Promise<TrainRow> {
  const backend = tf.findBackend('webgpu') as unknown as TfWebGPUBackend;
  const node = nodeSide();
  await useBackend('webgpu');
  const { ours, tfm, copy, stateDict } = cell === 'wavenet' ? await wavenetPair(rt) : await recurrentPair(rt, cell);
  const optimizer = tf.train.adam(LR, 0.9, 0.999, EPS);
  const tfStep = tfStepOf(tfm, optimizer);
  let wasm: { tfm: TfModel; optimizer: tf.Optimizer; step: () => tf.Tensor[] } | null = null;
  let wasmError: string | undefined;
  if (wasmOn) {
    await useBackend('wasm');
    try {
      const m = copy();
      const o = tf.train.adam(LR, 0.9, 0.999, EPS);
      wasm = { tfm: m, optimizer: o, step: tfStepOf(m, o) };
    } catch (e) {
      wasmError = e instanceof Error ? e.message : String(e);
      say(`${name}: TF.js wasm model failed: ${wasmError}`);
    }
    await useBackend('webgpu');
  }

  // ------------------------------------------- correctness: 3 steps each
  const lossOurs: number[] = [];
  const lossTf: number[] = [];
  const lossWasm: number[] = [];
  let normOurs = 0;
  let normTf = 0;
  let normTfExpected = 0;
  let normWasm = 0;
  for (let i = 0; i < CHECK_STEPS; i++) {
    ours.step();
    await rt.sync();
    const r = await ours.read();
    lossOurs.push(r.loss);
    const [l, n, b] = await values(tfStep());
    lossTf.push(l!);
    if (i === 0) [normOurs, normTf, normTfExpected] = [r.norm, n!, Math.sqrt(n! * n! + b!)];
  }
  if (wasm) {
    await useBackend('wasm');
    try {
      for (let i = 0; i < CHECK_STEPS; i++) {
        const [l, n] = await values(wasm.step());
        lossWasm.push(l!);
        if (i === 0) normWasm = n!;
      }
    } catch (e) {
      wasmError = e instanceof Error ? e.message : String(e);
      say(`${name}: TF.js wasm step failed: ${wasmError}`);
      wasm.tfm.dispose();
      wasm.optimizer.dispose();
      wasm = null;
    }
    await useBackend('webgpu');
  }
  const nodeCheck = node ? await node.__nodeSetup(cell, f32(stateDict), CHECK_STEPS) : null;
  const check: Check = {
    model: name,
    lossOurs,
    lossTf,
    lossWasm: wasm ? lossWasm : null,
    lossNode: nodeCheck?.losses ?? null,
    normOurs,
    normTf,
    normTfExpected,
    normWasm: wasm ? normWasm : null,
    normNode: nodeCheck?.norm ?? null,
    final: { ours: NaN, node: null, tf: NaN, wasm: null, oursSteps: CHECK_STEPS + warmup + rounds * per, tfSteps: CHECK_STEPS + warmup + rounds * tfPer },
  };
  checks.push(check);
  const seq = (a: number[]) => a.map((v) => v.toPrecision(8)).join(' -> ');
  say(
    `${name}: loss ours ${seq(lossOurs)}, tf ${seq(lossTf)}` +
      (wasm ? `, tf wasm ${seq(lossWasm)}` : '') +
      (nodeCheck ? `, ours in Node ${seq(nodeCheck.losses)}` : '') +
      `; grad norm ours ${normOurs.toPrecision(6)}, tf ${normTf.toPrecision(6)}` +
      (tfm.doubledBias ? ` (with the bias gradient twice ${normTfExpected.toPrecision(6)})` : '') +
      (wasm ? `, tf wasm ${normWasm.toPrecision(6)}` : '') +
      (nodeCheck ? `, Node ${nodeCheck.norm.toPrecision(6)}` : '') +
      ` (clipped to ${MAX_NORM})`,
  );
  const bad: string[] = [];
  if (!(rel(lossOurs[0]!, lossTf[0]!) <= 1e-4)) bad.push('initial loss');
  if (!(rel(normOurs, normTfExpected) <= 1e-3)) bad.push('gradient norm');
  // WaveNet: the same model on both sides, so the updates must agree too.
  if (cell === 'wavenet' && !lossOurs.every((v, i) => rel(v, lossTf[i]!) <= 1e-3)) bad.push('losses after the Adam updates');
  // TF.js wasm runs the webgpu copy's model from its weights: every step agrees.
  if (wasm && !(lossWasm.every((v, i) => rel(v, lossTf[i]!) <= 1e-4) && rel(normWasm, normTf) <= 1e-4)) bad.push('TF.js wasm vs webgpu');
  // Ours in Node: the same model, weights and kernels as ours here.
  if (nodeCheck && !(nodeCheck.losses.every((v, i) => rel(v, lossOurs[i]!) <= 1e-5) && rel(nodeCheck.norm, normOurs) <= 1e-5)) bad.push('ours in Node vs ours here');
  if (bad.length) throw new Error(`${name}: the sides disagree (${bad.join(', ')}): ${JSON.stringify(check)}`);

  // --------------------------------------------------------------- timing
  let counts = { dispatches: 0, submits: 0 };
  const oursStep = () => {
    counts = ours.step();
  };
  const sync = () => rt.sync();
  const gpuFinish = () => tfFinish(backend);
  const wasmFinish = async () => undefined; // wasm kernels run before each op returns
  const tensors0 = tf.memory().numTensors;
  const parts: { ours: Stats[]; node: number[]; tf: Stats[]; wasm: Stats[] } = { ours: [], node: [], tf: [], wasm: [] };
  for (let r = -1; r < rounds; r++) {
    // Round -1: the warm-up on every side.
    const n = r < 0 ? warmup : per;
    const nt = r < 0 ? warmup : tfPer;
    if (n === 0) continue;
    const o = await timeSteps(oursStep, sync, n, 0, say);
    const d = node ? await node.__nodeSteps(n) : [];
    await useBackend('webgpu');
    const t = await timeSteps(() => tf.dispose(tfStep()), gpuFinish, nt, 0, say);
    let w: Stats | null = null;
    if (wasm) {
      await useBackend('wasm');
      w = await timeSteps(() => tf.dispose(wasm!.step()), wasmFinish, nt, 0, say);
      await useBackend('webgpu');
    }
    if (r < 0) continue;
    parts.ours.push(o);
    parts.node.push(...d);
    parts.tf.push(t);
    if (w) parts.wasm.push(w);
    say(
      `  round ${r + 1}/${rounds}: ours ${median(o.all).toFixed(0)} ms` +
        (node ? `, Node ${median(d).toFixed(0)} ms` : '') +
        `, tf webgpu ${median(t.all).toFixed(0)} ms` +
        (w ? `, tf wasm ${median(w.all).toFixed(0)} ms` : ''),
    );
  }
  const tensors1 = tf.memory().numTensors;
  const st = merge(parts.ours);
  const tfStats = merge(parts.tf);
  const wasmStats = wasm ? merge(parts.wasm) : null;
  if (counts.dispatches !== st.dispatches || counts.submits !== st.submits) {
    say(`  note: rt.step counted ${counts.dispatches} dispatches / ${counts.submits} submits, the WebGPU wrappers ${st.dispatches} / ${st.submits}`);
  }
  if (st.allocations) say(`  WARNING: ${st.allocations} createBuffer/createBindGroup calls during our timed steps`);
  const nodeStats: NodeStats | null = node && nodeCheck ? { ms: median(parts.node), all: parts.node, dispatches: nodeCheck.dispatches, submits: nodeCheck.submits } : null;

  // ------------------------- the same state on every side after the same steps
  check.final.ours = (await ours.read()).loss;
  if (node) check.final.node = (await node.__nodeRead()).loss;
  check.final.tf = (await values([tf.tidy(() => tfm.lossFn())]))[0]!;
  if (wasm) {
    await useBackend('wasm');
    check.final.wasm = (await values([tf.tidy(() => wasm!.tfm.lossFn())]))[0]!;
    await useBackend('webgpu');
  }
  const fin = check.final;
  say(
    `${name}: loss at step ${fin.oursSteps}: ours ${fin.ours.toPrecision(7)}` +
      (fin.node !== null ? `, Node ${fin.node.toPrecision(7)}` : '') +
      `; after ${fin.tfSteps} updates: tf webgpu ${fin.tf.toPrecision(7)}` +
      (fin.wasm !== null ? `, tf wasm ${fin.wasm.toPrecision(7)}` : ''),
  );
  const late: string[] = [];
  if (fin.wasm !== null && !(rel(fin.wasm, fin.tf) <= 1e-3)) late.push('TF.js wasm vs webgpu');
  if (fin.node !== null && !(rel(fin.node, fin.ours) <= 1e-3)) late.push('ours in Node vs here');
  if (late.length) throw new Error(`${name}: after the timed steps the sides disagree (${late.join(', ')}): ${JSON.stringify(fin)}`);

  // ------------------------------------- one more step each, timed per kernel
  const profile = await rt.profile(() => ours.step());
  say(`${name} ours profile (Chromium):\n` + profile.toString(6).replace(/^/gm, '  '));
  const nodeProfile = node ? await node.__nodeProfile(6) : null;
  if (nodeProfile) say(`${name} ours profile (Node):\n` + nodeProfile.text.replace(/^/gm, '  '));

  say(
    `${name}: ours ${st.ms.toFixed(1)} ms/step, ${st.dispatches} dispatches, ${st.submits} submits` +
      (nodeStats ? `; Node ${nodeStats.ms.toFixed(1)} ms (x${(nodeStats.ms / st.ms).toFixed(2)})` : '') +
      `; tf webgpu ${tfStats.ms.toFixed(1)} ms (x${(tfStats.ms / st.ms).toFixed(1)}), ${tfStats.dispatches} dispatches, ${tfStats.submits} submits` +
      (wasmStats ? `; tf wasm ${wasmStats.ms.toFixed(1)} ms (x${(wasmStats.ms / st.ms).toFixed(1)})` : ''),
  );

  ours.destroy();
  tfm.dispose();
  optimizer.dispose();
  if (wasm) {
    await useBackend('wasm');
    wasm.tfm.dispose();
    wasm.optimizer.dispose();
    await useBackend('webgpu');
  }
  if (node) await node.__nodeTeardown();
  return {
    model: name,
    ours: st,
    node: nodeStats,
    tf: tfStats,
    wasm: wasmStats,
    ...(wasmError ? { wasmError } : {}),
    ratio: tfStats.ms / st.ms,
    ratioWasm: wasmStats ? wasmStats.ms / st.ms : null,
    ratioNode: nodeStats ? nodeStats.ms / st.ms : null,
    tfTensors: [tensors0, tensors1],
    profileTop: { chromium: topOf(profile), node: nodeProfile?.top ?? null },
  };
}

/** Loads TF.js's wasm backend (then back to webgpu); which flavour loaded, or why none did. */
async function startWasm(): Promise<Record<string, unknown>> {
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlainUrl,
    'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
  });
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    await tf.ready();
    const flavour = {
      simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
      threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
      threadsCount: getThreadsCount(),
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      hardwareConcurrency: navigator.hardwareConcurrency,
    };
    return flavour;
  } finally {
    await useBackend('webgpu');
  }
}

async function main(): Promise<void> {
  const { rt, info } = await startBench('train.html', tf);
  const node = nodeSide();
  const nodeInfo = node ? await node.__nodeInfo() : null;
  let wasm: Record<string, unknown> | null = null;
  let wasmError: string | null = null;
  if (wasmWanted) {
    try {
      wasm = await startWasm();
    } catch (e) {
      wasmError = e instanceof Error ? e.message : String(e);
      say(`TF.js wasm backend did not load: ${wasmError}`);
    }
  }
  say(
    `adapter ${info.vendor} ${info.architecture}; tf ${tf.version.tfjs} webgpu` +
      (wasm ? ` and wasm (SIMD ${wasm.simd}, threads ${wasm.threads}: ${wasm.threadsCount}, crossOriginIsolated ${wasm.crossOriginIsolated})` : '') +
      (nodeInfo ? `; ours in Node ${String(nodeInfo.node)} too` : '; no Node side (open through bench/run.js for it)') +
      `; ${rounds} rounds of ${per} steps of ours, ${tfPer} of each TF.js, after ${CHECK_STEPS} checked + ${warmup} warm-up steps`,
  );
  const rows: TrainRow[] = [];
  const checks: Check[] = [];
  const settings = {
    recurrent: { ...REC, loss: 'mse', head: 'dense H -> 1 per step' },
    wavenet: { ...WN, loss: 'softmax cross-entropy' },
    lr: LR,
    eps: EPS,
    maxNorm: MAX_NORM,
    rounds,
    per,
    tfPer,
    steps: rounds * per,
    tfSteps: rounds * tfPer,
    warmup,
    checkSteps: CHECK_STEPS,
    tfjs: tf.version.tfjs,
    wasm,
    wasmError,
    node: nodeInfo,
  };
  for (const m of MODELS) {
    if (only && !m.name.includes(only)) continue;
    rows.push(await benchModel(rt, m.name, m.cell, checks, wasm !== null));
    page.__results = { rows, checks, settings };
  }
  page.__results = { rows, checks, settings };
  rt.destroy();
}

runBench('train', main);
