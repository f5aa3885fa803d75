/** Helpers shared by the benchmark pages (bench/*.ts). */
import type * as TF from '@tensorflow/tfjs';
import { createRuntime, type Runtime } from '../src/index.js';

/** What bench/counters.js counts on the page: every WebGPU user's dispatches, submits and allocations. */
export interface GpuCount {
  dispatches: number;
  submits: number;
  buffers: number;
  bindGroups: number;
}

export const gpuCount = (): GpuCount => ({ ...(window as unknown as { __gpuCount: GpuCount }).__gpuCount });

/** Deterministic data in [-1, 1) (an LCG: the same on both sides of a comparison). */
export function randomData(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

export function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** max |ours - ref| / max |ref|. */
export function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (ours.length !== ref.length) throw new Error(`length ${ours.length} vs ${ref.length}`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(ours[i]! - ref[i]!));
    m = Math.max(m, Math.abs(ref[i]!));
  }
  return d / Math.max(m, 1e-30);
}

/** The parts of TF.js's WebGPUBackend used to end a batch the way its own read-back does. */
export interface TfWebGPUBackend {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** Submits what TF.js has recorded (it batches up to 15 dispatches per submit) and waits for the queue. */
export async function tfFinish(backend: TfWebGPUBackend): Promise<void> {
  if (backend.commandEncoder) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
  await backend.device.queue.onSubmittedWorkDone();
}

/** Timing of a benchmarked step: median ms and WebGPU calls per step (bench/counters.js). */
export interface Stats {
  ms: number;
  /** Every timed step, ms. */
  all: number[];
  dispatches: number;
  submits: number;
  /** createBuffer / createBindGroup calls during the timed steps (0 for a step that allocates nothing). */
  allocations: number;
}

/** Median ms of `n` runs of `run` + `finish` after `warm` more, counting GPU calls per run; `say` notes a run whose counts differ. */
export async function timeSteps(run: () => unknown, finish: () => Promise<void>, n: number, warm: number, say: (s: string) => void): Promise<Stats> {
  for (let i = 0; i < warm; i++) {
    run();
    await finish();
  }
  const all: number[] = [];
  let dispatches = -1;
  let submits = -1;
  let allocations = 0;
  for (let i = 0; i < n; i++) {
    const c0 = gpuCount();
    const t0 = performance.now();
    run();
    await finish();
    all.push(performance.now() - t0);
    const c1 = gpuCount();
    allocations += c1.buffers - c0.buffers + c1.bindGroups - c0.bindGroups;
    const d = c1.dispatches - c0.dispatches;
    const s = c1.submits - c0.submits;
    if (dispatches >= 0 && (d !== dispatches || s !== submits)) say(`  note: run ${i} made ${d} dispatches, ${s} submits (run 0: ${dispatches}, ${submits})`);
    if (i === 0) [dispatches, submits] = [d, s];
  }
  return { ms: median(all), all, dispatches, submits, allocations };
}

/** [T, B, F] -> [B, T, F] (TF.js layers are batch-first). */
export function toBatchFirst(a: Float32Array, T: number, B: number, F: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) out.set(a.subarray((t * B + b) * F, (t * B + b + 1) * F), (b * T + t) * F);
  return out;
}

/** A 1x1 Conv1d weight [out, in, 1] as a matMul operand [in, out]. */
export function w1x1(w: Float32Array, out: number, inp: number): Float32Array {
  const r = new Float32Array(out * inp);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) r[i * out + o] = w[o * inp + i]!;
  return r;
}

/** Filter and gate [Dc, R, K], tap m -> [R, 2 Dc] (filter columns, then gate columns). */
export function wTap(wf: Float32Array, wg: Float32Array, Dc: number, R: number, K: number, m: number): Float32Array {
  const r = new Float32Array(R * 2 * Dc);
  for (let o = 0; o < Dc; o++)
    for (let i = 0; i < R; i++) {
      r[i * 2 * Dc + o] = wf[(o * R + i) * K + m]!;
      r[i * 2 * Dc + Dc + o] = wg[(o * R + i) * K + m]!;
    }
  return r;
}

const cat = (a: Float32Array, b: Float32Array) => {
  const r = new Float32Array(a.length + b.length);
  r.set(a);
  r.set(b, a.length);
  return r;
};

/**
 * A WaveNet state dict (or its gradients, same names) in the layout of the
 * TF.js model the benches build (slices + matMul, filter and gate side by side
 * per tap), by variable name. `CH` = residual = dilation = skip channels.
 */
export function wavenetToTfLayout(
  sd: Record<string, Float32Array>,
  layers: number,
  d: { CH: number; OUT: number; KS: number },
): Record<string, { shape: number[]; data: Float32Array }> {
  const { CH, OUT, KS } = d;
  const v: Record<string, { shape: number[]; data: Float32Array }> = {
    Win: { shape: [1, CH], data: w1x1(sd['input.weight']!, CH, 1) },
    bin: { shape: [CH], data: sd['input.bias']! },
  };
  for (let k = 0; k < layers; k++) {
    const n = `layers.${k}`;
    for (let m = 0; m < KS; m++) v[`W${m}_${k}`] = { shape: [CH, 2 * CH], data: wTap(sd[`${n}.filter.weight`]!, sd[`${n}.gate.weight`]!, CH, CH, KS, m) };
    v[`bfg_${k}`] = { shape: [2 * CH], data: cat(sd[`${n}.filter.bias`]!, sd[`${n}.gate.bias`]!) };
    v[`Ws_${k}`] = { shape: [CH, CH], data: w1x1(sd[`${n}.skip.weight`]!, CH, CH) };
    v[`bs_${k}`] = { shape: [CH], data: sd[`${n}.skip.bias`]! };
    if (k < layers - 1) {
      // The last layer's residual output feeds nothing (ours skips it too).
      v[`Wr_${k}`] = { shape: [CH, CH], data: w1x1(sd[`${n}.residual.weight`]!, CH, CH) };
      v[`br_${k}`] = { shape: [CH], data: sd[`${n}.residual.bias`]! };
    }
  }
  v.H1 = { shape: [CH, CH], data: w1x1(sd['head.0.weight']!, CH, CH) };
  v.b1 = { shape: [CH], data: sd['head.0.bias']! };
  v.H2 = { shape: [CH, OUT], data: w1x1(sd['head.1.weight']!, OUT, CH) };
  v.b2 = { shape: [OUT], data: sd['head.1.bias']! };
  return v;
}

/**
 * The WaveNet the benches build in TF.js, as its users must (tf.conv1d has no
 * causal padding and no gradient for dilation): per layer the kernel-2 causal
 * conv as a padded, sliced copy (tap 0: t - d) and the current step (tap 1),
 * each a matMul with filter and gate side by side; residual, skip and the head
 * as matMuls; softmax cross-entropy, mean over the B*T positions.
 * `V` holds the variables in `wavenetToTfLayout`'s layout; `x` is [B*T, 1].
 */
export function tfWaveNetLoss(
  tf: typeof TF,
  V: Record<string, TF.Variable>,
  x: TF.Tensor2D,
  labels: TF.Tensor,
  dilations: readonly number[],
  d: { B: number; T: number; CH: number },
): () => TF.Scalar {
  const { B, T, CH } = d;
  const N = B * T;
  const L = dilations.length;
  return () => {
    let h = tf.add(tf.matMul(x, V.Win!), V.bin!) as TF.Tensor2D; // [BT, R]
    let s: TF.Tensor2D | null = null;
    for (let k = 0; k < L; k++) {
      const dil = dilations[k]!;
      const prev = tf.slice(tf.pad(h.reshape([B, T, CH]), [[0, 0], [dil, 0], [0, 0]]), [0, 0, 0], [B, T, CH]).reshape([N, CH]);
      const fg = tf.add(tf.add(tf.matMul(prev, V[`W0_${k}`]!), tf.matMul(h, V[`W1_${k}`]!)), V[`bfg_${k}`]!) as TF.Tensor2D;
      const z = tf.mul(tf.tanh(tf.slice(fg, [0, 0], [N, CH])), tf.sigmoid(tf.slice(fg, [0, CH], [N, CH]))) as TF.Tensor2D;
      const sk = tf.add(tf.matMul(z, V[`Ws_${k}`]!), V[`bs_${k}`]!) as TF.Tensor2D;
      s = s ? (tf.add(s, sk) as TF.Tensor2D) : sk;
      if (k < L - 1) h = tf.add(h, tf.add(tf.matMul(z, V[`Wr_${k}`]!), V[`br_${k}`]!)) as TF.Tensor2D;
    }
    const u = tf.add(tf.matMul(tf.relu(s!), V.H1!), V.b1!);
    const y = tf.add(tf.matMul(tf.relu(u) as TF.Tensor2D, V.H2!), V.b2!);
    return tf.losses.softmaxCrossEntropy(labels, y) as TF.Scalar;
  };
}

/** What a benchmark page leaves for bench/run.js to read (__gpuCount is installed by its .html). */
export interface BenchPage<R> {
  __adapter?: Record<string, unknown>;
  __results?: R;
  __done?: boolean;
  __gpuCount?: GpuCount;
}

export const benchPage = <R>(): BenchPage<R> => window as unknown as BenchPage<R>;

/** A line on the page's log and the console. */
export function say(s: string): void {
  document.getElementById('log')!.textContent += s + '\n';
  console.log(s);
}

/**
 * What every benchmark page does first: checks that its .html installed the
 * WebGPU call counters (unless `counters: false`), opens our runtime (its adapter recorded for run.js),
 * and puts TF.js on its webgpu backend with every op on the GPU.
 */
export async function startBench(html: string, tf: typeof TF, o: { counters?: boolean } = {}): Promise<{ rt: Runtime; info: GPUAdapterInfo }> {
  const page = benchPage<unknown>();
  if ((o.counters ?? true) && !page.__gpuCount) throw new Error(`${html} did not install the WebGPU call counters`);
  const rt = await createRuntime({ quiet: true });
  const info = rt.adapterInfo;
  page.__adapter = { vendor: info.vendor, architecture: info.architecture, description: info.description, isCpu: rt.isCpu };
  tf.env().set('WEBGPU_CPU_FORWARD', false); // every op on the GPU, however small
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js: the webgpu backend failed to initialise');
  await tf.ready();
  return { rt, info };
}

/** Runs a page's main: a failure is logged as an error, and __done is set either way. */
export function runBench(name: string, main: () => Promise<void>): void {
  main()
    .catch((e) => console.error(`${name} bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`))
    .finally(() => {
      benchPage<unknown>().__done = true;
    });
}
