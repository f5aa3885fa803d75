/**
 * WaveNet: one training step, ours vs TensorFlow.js on its 'webgpu' backend,
 * and generation speed, our fast generation vs naive generation, in the same
 * page and on the same adapter. Run by `npm run bench:wavenet`
 * (bench/run.js); also works opened by hand from `npx vite` at
 * /bench/wavenet.html.
 *
 * 1. Training step. B=16, T=256, C_in=1, residual = dilation = skip = 32,
 *    dilations [1, 2, 4, 8] x 2 stacks, kernel 2, 256 logits; softmax
 *    cross-entropy at every (b, t) against random integer targets, mean over
 *    B*T; gradients of every parameter, no optimizer update.
 *    Ours: `zeroGrad`, `forward`,
 *    the loss and dy = (softmax(y) - onehot(target)) / (B*T) by the library's
 *    CrossEntropyLoss({ classDim: 1 }), `backward`,
 *    all in one `rt.step`, then `await rt.sync()`.
 *    TF.js: the same model as TF.js users build it (tf.conv1d has no causal
 *    padding and no gradient for dilation): the dilated causal convolution as
 *    pad-left-by-d along time, slice, one matMul per tap (filter and gate
 *    weights side by side, [R, 2Dc]), add; residual, skip and the
 *    relu-1x1-relu-1x1 head as matMuls; `tf.losses.softmaxCrossEntropy`;
 *    gradients by `tf.variableGrads`. Channels-last [B*T, C] activations.
 *    Both sides start from our weights (copied, transposed into TF.js's
 *    layout); one step each is compared (loss and every gradient) before timing.
 *
 * 2. Generation, B=1, C_in=1 (input: 'mulaw'), 256 outputs, same channels,
 *    1, 2 and 4 stacks of [1, 2, 4, 8]. Fast: `net.generate(n, { mode:
 *    'sample', input: 'mulaw', chunk })` then `await rt.sync()`. Naive: per
 *    sample, upload the last receptive-field window [1, 1, RF], `forward` in
 *    one `rt.step`, read the output back, argmax of the last column on the
 *    CPU, mu-law decode, shift it in. Cross-check: the naive samples equal
 *    `generate(n, { mode: 'argmax', prefix })` from the same window.
 *
 * Each timed step ends by waiting for the GPU: ours `await rt.sync()`, TF.js
 * its queue submitted and `onSubmittedWorkDone()` awaited (no read-back).
 * Dispatches and submits are counted for both sides by wrapping
 * `dispatchWorkgroups(Indirect)` and `GPUQueue.submit` in wavenet.html.
 *
 * URL: `?steps=7&tfSteps=3&warmup=2&genN=2000&naiveN=60&chunk=256&stacks=1,2,4&only=train|generate`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { CrossEntropyLoss, WaveNet, muLawDecode, receptiveField, type Runtime, type Tensor } from '../src/index.js';
import { gpuCount, randomData, median, relErr, type TfWebGPUBackend, tfFinish, tfWaveNetLoss, timeSteps, wavenetToTfLayout, benchPage, runBench, say, startBench } from './common.js';

const B = 16;
const T = 256;
const CH = 32; // residual = dilation = skip channels
const OUT = 256;
const DIL = [1, 2, 4, 8];
const STACKS = 2;
const KS = 2;
const N = B * T;

const page = benchPage<{ rows: Row[]; checks: Record<string, unknown>; settings: Record<string, unknown> }>();

const params = new URLSearchParams(location.search);
const steps = Math.max(5, Number(params.get('steps') ?? 7));
const tfSteps = Math.max(3, Number(params.get('tfSteps') ?? 3));
const warmup = Math.max(1, Number(params.get('warmup') ?? 2));
const genN = Number(params.get('genN') ?? 2000);
const genReps = Math.max(1, Number(params.get('genReps') ?? 3));
const naiveN = Number(params.get('naiveN') ?? 60);
const chunk = Number(params.get('chunk') ?? 256);
const stackList = (params.get('stacks') ?? '1,2,4').split(',').map(Number);
const only = params.get('only');

/** One line of the table: ours vs a baseline (TF.js for training, naive generation). */
export interface Row {
  case: 'train' | 'generate';
  config: string;
  baseline: 'tf.js' | 'naive';
  /** 'ms/step' (lower is better) or 'samples/s' (higher is better). */
  unit: 'ms/step' | 'samples/s';
  ours: number;
  base: number;
  /** How many times ours is faster. */
  ratio: number;
  /** Per step (train) or per sample (generation). */
  oursDispatches: number;
  baseDispatches: number;
  oursSubmits: number;
  baseSubmits: number;
  layers: number;
  receptiveField: number;
  /** Generation: ms per sample and per layer per sample. */
  fastMsPerSample?: number;
  fastUsPerLayerSample?: number;
  naiveMsPerSample?: number;
  detail: Record<string, unknown>;
}

// ------------------------------------------------------------- training

async function benchTrain(rt: Runtime, checks: Record<string, unknown>): Promise<Row> {
  const net = new WaveNet(rt, {
    inChannels: 1, residualChannels: CH, dilationChannels: CH, skipChannels: CH, outChannels: OUT,
    dilations: DIL, stacks: STACKS, kernelSize: KS, seed: 7,
  });
  const L = net.numLayers;
  const RF = receptiveField({ dilations: DIL, stacks: STACKS, kernelSize: KS });
  const xData = randomData(B * T, 1); // [B, 1, T]: values in [-1, 1)
  const tgtData = new Float32Array(N);
  const trand = randomData(N, 2);
  for (let i = 0; i < N; i++) tgtData[i] = Math.min(OUT - 1, Math.floor(((trand[i]! + 1) / 2) * OUT));

  // ------------------------------------------------------------------ ours
  const x = rt.tensor(xData, [B, 1, T], 'x');
  const tgt = rt.tensor(tgtData, [N], 'targets');
  const ce = new CrossEntropyLoss(rt, { classDim: 1 });
  let loss: Tensor | null = null;
  let counts = { dispatches: 0, submits: 0 };
  const oursStep = () => {
    counts = rt.step(() => {
      net.zeroGrad();
      const { output } = net.forward(x);
      const l = ce.forward(output, tgt); // the library's fused softmax cross-entropy, [B, C, T] layout
      loss = l.loss;
      net.backward(l.grad);
    });
  };

  // ----------------------------------------------------------------- TF.js
  const backend = tf.backend() as unknown as TfWebGPUBackend;
  const sd = await net.stateDict();
  const init = wavenetToTfLayout(sd, L, { CH, OUT, KS });
  // Not inside tf.tidy (see bench/recurrent.ts: variables made there read back as zeros on webgpu).
  const V: Record<string, tf.Variable> = Object.fromEntries(
    Object.entries(init).map(([k, v]) => [k, tf.variable(tf.tensor(v.data, v.shape), true, `wn_${k}`)]),
  );
  const varList = Object.values(V);
  const xTf = tf.tensor2d(xData, [N, 1]); // [B, 1, T] = [B, T, 1] for one channel: rows b*T + t
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from(tgtData), 'int32'), OUT).toFloat());
  const lossFn = tfWaveNetLoss(tf, V, xTf, labels, net.layerDilations, { B, T, CH });

  const names = Object.keys(V);
  const tfStep = (): tf.Tensor[] =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossFn, varList);
      return [value, ...names.map((k) => grads[V[k]!.name]!)];
    });

  // ------------------------------------------- correctness: one step each
  oursStep();
  await rt.sync();
  const lossOurs = (await loss!.read())[0]!;
  const gOurs = wavenetToTfLayout(await net.grads(), L, { CH, OUT, KS });
  const tfOut = tfStep();
  const lossTf = (await tfOut[0]!.data())[0]!;
  const gradRelErr: Record<string, number> = {};
  for (let i = 0; i < names.length; i++) gradRelErr[names[i]!] = relErr(gOurs[names[i]!]!.data, (await tfOut[i + 1]!.data()) as Float32Array);
  tf.dispose(tfOut);
  const worst = Math.max(...Object.values(gradRelErr));
  const worstName = names.find((k) => gradRelErr[k] === worst);
  checks.train = { lossOurs, lossTf, gradRelErr, worstGradRelErr: worst, worstGrad: worstName };
  say(
    `train check: loss ours ${lossOurs.toPrecision(8)} tf ${lossTf.toPrecision(8)} (|diff| ${Math.abs(lossOurs - lossTf).toExponential(2)}); ` +
      `worst gradient rel. error ${worst.toExponential(2)} (${worstName})`,
  );
  if (!(Math.abs(lossOurs - lossTf) <= 1e-4 * Math.max(1, Math.abs(lossTf))) || !(worst <= 1e-3)) {
    throw new Error(`WaveNet train: ours and TF.js disagree: ${JSON.stringify(checks.train)}`);
  }

  // --------------------------------------------------------------- timing
  const ours = await timeSteps(oursStep, () => rt.sync(), steps, warmup - 1, say);
  if (counts.dispatches !== ours.dispatches || counts.submits !== ours.submits) {
    say(`  note: rt.step counted ${counts.dispatches} dispatches / ${counts.submits} submits, the WebGPU wrappers ${ours.dispatches} / ${ours.submits}`);
  }
  if (ours.allocations) say(`  WARNING: ${ours.allocations} createBuffer/createBindGroup calls during our timed steps`);
  say(`train ours: ${ours.ms.toFixed(2)} ms/step (median of ${steps}), ${ours.dispatches} dispatches, ${ours.submits} submits`);
  const tensors0 = tf.memory().numTensors;
  const tfStats = await timeSteps(() => tf.dispose(tfStep()), () => tfFinish(backend), tfSteps, warmup - 1, say);
  const tensors1 = tf.memory().numTensors;
  say(`train tf.js: ${tfStats.ms.toFixed(2)} ms/step (median of ${tfSteps}), ${tfStats.dispatches} dispatches, ${tfStats.submits} submits`);

  // --------------------------------------------------------------- cleanup
  net.destroy();
  for (const t of [x, tgt] as Tensor[]) t.buffer.destroy();
  ce.destroy();
  tf.dispose([...varList, xTf, labels]);

  return {
    case: 'train',
    config: `B=${B} T=${T}, ${L} layers, RF ${RF}`,
    baseline: 'tf.js',
    unit: 'ms/step',
    ours: ours.ms,
    base: tfStats.ms,
    ratio: tfStats.ms / ours.ms,
    oursDispatches: ours.dispatches,
    baseDispatches: tfStats.dispatches,
    oursSubmits: ours.submits,
    baseSubmits: tfStats.submits,
    layers: L,
    receptiveField: RF,
    detail: { ours, tf: tfStats, tfTensors: [tensors0, tensors1] },
  };
}

// ----------------------------------------------------------- generation

function argmaxLastColumn(y: Float32Array, C: number, Tw: number): number {
  let best = 0;
  let bv = -Infinity;
  for (let c = 0; c < C; c++) {
    const v = y[c * Tw + Tw - 1]!;
    if (v > bv) [bv, best] = [v, c];
  }
  return best;
}

async function benchGenerate(rt: Runtime, stacks: number, checks: Record<string, unknown>): Promise<Row> {
  const net = new WaveNet(rt, {
    inChannels: 1, residualChannels: CH, dilationChannels: CH, skipChannels: CH, outChannels: OUT,
    dilations: DIL, stacks, kernelSize: KS, seed: 11 + stacks,
  });
  const L = net.numLayers;
  const RF = receptiveField({ dilations: DIL, stacks, kernelSize: KS });
  const prefixData = randomData(RF, 3 + stacks).map((v) => 0.5 * v);
  const prefix = rt.tensor(prefixData, [1, 1, RF], 'prefix');

  // ----------------------------------------------------------------- fast
  let fastCounts = { dispatches: 0, submits: 0 };
  const fastRun = async (n: number) => {
    const c0 = gpuCount();
    const { samples } = net.generate(n, { mode: 'sample', input: 'mulaw', chunk, seed: 5 });
    await rt.sync();
    const c1 = gpuCount();
    fastCounts = { dispatches: c1.dispatches - c0.dispatches, submits: c1.submits - c0.submits };
    samples.buffer.destroy();
  };
  await fastRun(Math.min(chunk, genN)); // warm-up: pipelines
  const fastAll: number[] = [];
  for (let i = 0; i < genReps; i++) {
    const t0 = performance.now();
    await fastRun(genN);
    fastAll.push(performance.now() - t0);
  }
  const fastMs = median(fastAll);
  const fastSps = genN / (fastMs / 1000);

  // ---------------------------------------------------------------- naive
  const win = rt.zeros([1, 1, RF], 'window');
  const naiveCounts = { dispatches: 0, submits: 0 };
  const naive = async (n: number, count: boolean): Promise<number[]> => {
    const w = Float32Array.from(prefixData);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const c0 = gpuCount();
      win.write(w);
      let y!: Tensor;
      rt.step(() => {
        y = net.forward(win).output;
      });
      const yv = await y.read();
      const q = argmaxLastColumn(yv, OUT, RF);
      out.push(q);
      w.copyWithin(0, 1);
      w[RF - 1] = muLawDecode(q);
      const c1 = gpuCount();
      if (count && i === 0) Object.assign(naiveCounts, { dispatches: c1.dispatches - c0.dispatches, submits: c1.submits - c0.submits });
    }
    return out;
  };
  await naive(3, false); // warm-up
  const t0 = performance.now();
  const naiveSamples = await naive(naiveN, true);
  const naiveMs = performance.now() - t0;
  const naiveSps = naiveN / (naiveMs / 1000);

  // Cross-check: fast argmax generation from the same window gives the naive samples.
  const { samples } = net.generate(naiveN, { mode: 'argmax', input: 'mulaw', prefix, chunk });
  const fastArgmax = await samples.read();
  samples.buffer.destroy();
  let agree = 0;
  while (agree < naiveN && fastArgmax[agree] === naiveSamples[agree]) agree++;
  checks[`generate_${stacks}`] = { samplesCompared: naiveN, identicalPrefix: agree };
  say(`generate ${stacks} stack(s): naive vs fast argmax: first ${agree}/${naiveN} samples identical`);
  if (agree < naiveN) say(`  WARNING: fast and naive generation differ from sample ${agree}: fast ${fastArgmax[agree]} naive ${naiveSamples[agree]}`);

  say(
    `generate ${stacks} stack(s), ${L} layers, RF ${RF}: fast ${fastSps.toFixed(0)} samples/s (${((fastMs / genN) * 1000).toFixed(1)} us/sample, ` +
      `${fastCounts.dispatches} dispatches / ${fastCounts.submits} submits per ${genN}); naive ${naiveSps.toFixed(1)} samples/s ` +
      `(${naiveCounts.dispatches} dispatches / ${naiveCounts.submits} submits per sample)`,
  );
  net.destroy();
  prefix.buffer.destroy();
  win.buffer.destroy();
  return {
    case: 'generate',
    config: `${stacks} stack${stacks > 1 ? 's' : ''}, ${L} layers, RF ${RF}`,
    baseline: 'naive',
    unit: 'samples/s',
    ours: fastSps,
    base: naiveSps,
    ratio: fastSps / naiveSps,
    oursDispatches: fastCounts.dispatches / genN,
    baseDispatches: naiveCounts.dispatches,
    oursSubmits: fastCounts.submits / genN,
    baseSubmits: naiveCounts.submits,
    layers: L,
    receptiveField: RF,
    fastMsPerSample: fastMs / genN,
    fastUsPerLayerSample: (fastMs / genN / L) * 1000,
    naiveMsPerSample: naiveMs / naiveN,
    detail: { fastRunsMs: fastAll, fastSamples: genN, fastDispatchesPerRun: fastCounts.dispatches, fastSubmitsPerRun: fastCounts.submits, naiveSamples: naiveN, naiveTotalMs: naiveMs },
  };
}

async function main(): Promise<void> {
  const { rt, info } = await startBench('wavenet.html', tf);
  say(
    `adapter ${info.vendor} ${info.architecture}; tf ${tf.version.tfjs} backend ${tf.getBackend()}; train B=${B} T=${T} channels ${CH} ` +
      `dilations [${DIL}] x ${STACKS}; ours median of ${steps}, tf.js of ${tfSteps}, after ${warmup} warm-up; generation ${genN} fast / ${naiveN} naive samples, chunk ${chunk}`,
  );
  const rows: Row[] = [];
  const checks: Record<string, unknown> = {};
  const settings = {
    train: { B, T, inChannels: 1, channels: CH, outChannels: OUT, dilations: DIL, stacks: STACKS, kernelSize: KS, steps, tfSteps, warmup },
    generate: { batch: 1, inChannels: 1, input: 'mulaw', mode: 'sample', channels: CH, outChannels: OUT, dilations: DIL, stacks: stackList, genN, genReps, naiveN, chunk },
    tfjs: tf.version.tfjs,
  };
  if (!only || only === 'train') {
    rows.push(await benchTrain(rt, checks));
    page.__results = { rows, checks, settings }; // partial results survive a later failure
  }
  if (!only || only === 'generate') {
    for (const s of stackList) {
      rows.push(await benchGenerate(rt, s, checks));
      page.__results = { rows, checks, settings };
    }
  }
  page.__results = { rows, checks, settings };
  rt.destroy();
}

runBench('wavenet', main);
