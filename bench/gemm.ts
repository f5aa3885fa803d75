/**
 * GEMM throughput: our `gemm` (src/ops.ts) vs `tf.matMul` on TensorFlow.js's
 * 'webgpu' backend, in the same page and on the same adapter. Run by
 * `npm run bench:gemm` (bench/run.js); also works opened by hand from
 * `npx vite` at /bench/gemm.html.
 *
 * Each measurement records `n` identical GEMMs and waits once for the queue
 * (ours: one `rt.step`, then `rt.sync()`; TF.js: n `tf.matMul`s, then its
 * queue is submitted and awaited the same way, no read-back), with `n` grown
 * until one round takes at least `minMs`; the best of `rounds` rounds counts,
 * ours and TF.js taking turns (other load on the machine then hits both).
 * Outputs of both are compared at the end, so a broken kernel is not timed.
 *
 * URL: `?minMs=400&rounds=3&only=TEXT`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { gemmDispatch, type Runtime } from '../src/index.js';
import { benchPage, randomData, runBench, say, startBench, type TfWebGPUBackend, tfFinish } from './common.js';

interface Shape {
  label: string;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
}

/** T*B = 2048 rows (e.g. T=64, B=32), 4H = 512 (H=128), I = 32 or 128. */
const SHAPES: Shape[] = [
  { label: 'square 256', M: 256, N: 256, K: 256 },
  { label: 'square 512', M: 512, N: 512, K: 512 },
  { label: 'square 1024', M: 1024, N: 1024, K: 1024 },
  { label: 'LSTM x@W_ih, I=32', M: 2048, N: 512, K: 32 },
  { label: 'LSTM x@W_ih, I=128', M: 2048, N: 512, K: 128 },
  { label: 'dW_ih = X^T dG, I=32', M: 32, N: 512, K: 2048, transA: true },
  { label: 'dW_ih = X^T dG, I=128', M: 128, N: 512, K: 2048, transA: true },
  { label: 'dX = dG W_ih^T, I=128', M: 2048, N: 128, K: 512, transB: true },
];

export interface GemmRow {
  shape: string;
  op: string;
  M: number;
  N: number;
  K: number;
  oursMs: number;
  oursGflops: number;
  oursReps: number;
  tfMs: number;
  tfGflops: number;
  tfReps: number;
  /** ours / tf throughput. */
  ratio: number;
  /** max |ours - tf| over the output. */
  maxDiff: number;
}

const page = benchPage<{ rows: GemmRow[]; settings: Record<string, unknown> }>();

const params = new URLSearchParams(location.search);
const minMs = Number(params.get('minMs') ?? 400);
const rounds = Number(params.get('rounds') ?? 3);
const only = params.get('only');

type Round = (n: number) => Promise<void>;

/** Warms `run` up, then grows `n` until one round of `run(n)` takes >= minMs. */
async function calibrate(run: Round): Promise<number> {
  await run(1); // pipeline compile, buffer allocation
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    await run(n);
    const dt = performance.now() - t0;
    if (dt >= minMs || n >= 4096) return n;
    n = Math.min(4096, Math.max(n + 1, Math.ceil((n * minMs * 1.2) / Math.max(dt, 1))));
  }
}

/**
 * Per-call ms of each runner: the best of `rounds` rounds, the runners taking
 * turns so that load from other processes on the machine falls on both alike.
 */
async function timeInTurns(runs: Round[]): Promise<{ ms: number; n: number }[]> {
  const ns: number[] = [];
  for (const run of runs) ns.push(await calibrate(run));
  const best = runs.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < runs.length; i++) {
      const t0 = performance.now();
      await runs[i]!(ns[i]!);
      best[i] = Math.min(best[i]!, (performance.now() - t0) / ns[i]!);
    }
  }
  return best.map((ms, i) => ({ ms, n: ns[i]! }));
}

async function benchShape(rt: Runtime, s: Shape): Promise<GemmRow> {
  const { M, N, K } = s;
  const transA = !!s.transA;
  const transB = !!s.transB;
  const aShape = transA ? [K, M] : [M, K];
  const bShape = transB ? [N, K] : [K, N];
  const aData = randomData(M * K, 1);
  const bData = randomData(K * N, 2);
  const flop = 2 * M * N * K;

  // Ours: bind once, record n times into one step, wait once.
  const a = rt.tensor(aData, aShape, 'a');
  const b = rt.tensor(bData, bShape, 'b');
  const c = rt.zeros([M, N], 'c');
  const d = gemmDispatch(rt, c, a, b, { transA, transB });
  const oursRound: Round = async (n) => {
    rt.step(() => {
      for (let i = 0; i < n; i++) rt.run(d);
    });
    await rt.sync();
  };

  // TF.js webgpu: n matMuls, then submit its queue and wait for it (no read-back in the timing).
  const backend = tf.backend() as unknown as TfWebGPUBackend;
  const ta = tf.tensor(aData, aShape);
  const tb = tf.tensor(bData, bShape);
  const tfRound: Round = async (n) => {
    const outs: tf.Tensor[] = [];
    for (let i = 0; i < n; i++) outs.push(tf.matMul(ta, tb, transA, transB));
    await tfFinish(backend);
    for (const o of outs) o.dispose();
  };

  const [ours, theirs] = (await timeInTurns([oursRound, tfRound])) as [{ ms: number; n: number }, { ms: number; n: number }];
  const oursOut = await c.read();
  for (const t of [a, b, c]) t.buffer.destroy();
  const tc = tf.matMul(ta, tb, transA, transB);
  const tfOut = (await tc.data()) as Float32Array;
  tf.dispose([ta, tb, tc]);

  let maxDiff = 0;
  for (let i = 0; i < oursOut.length; i++) maxDiff = Math.max(maxDiff, Math.abs(oursOut[i]! - tfOut[i]!));
  // Inputs in [-1, 1): f32 rounding of a K-term dot product stays far below K * 2^-20; a wrong term is ~0.1+.
  if (!(maxDiff <= K * 2 ** -20 + 1e-5)) {
    throw new Error(`${s.label}: ours and TF.js differ by ${maxDiff} (M=${M} N=${N} K=${K})`);
  }
  const row: GemmRow = {
    shape: s.label,
    op: `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`,
    M,
    N,
    K,
    oursMs: ours.ms,
    oursGflops: flop / ours.ms / 1e6,
    oursReps: ours.n,
    tfMs: theirs.ms,
    tfGflops: flop / theirs.ms / 1e6,
    tfReps: theirs.n,
    ratio: theirs.ms / ours.ms,
    maxDiff,
  };
  say(
    `${s.label.padEnd(24)} ${row.op} ${M}x${N}x${K}: ours ${row.oursGflops.toFixed(2)} GFLOP/s, ` +
      `tf ${row.tfGflops.toFixed(2)} GFLOP/s, ratio ${row.ratio.toFixed(2)}`,
  );
  return row;
}

async function main(): Promise<void> {
  const { rt, info } = await startBench('gemm.html', tf, { counters: false });
  say(`adapter ${info.vendor} ${info.architecture}; tf ${tf.version.tfjs} backend ${tf.getBackend()}; minMs ${minMs}, rounds ${rounds}`);
  const rows: GemmRow[] = [];
  for (const s of SHAPES) {
    if (only && !s.label.includes(only)) continue;
    rows.push(await benchShape(rt, s));
  }
  page.__results = { rows, settings: { minMs, rounds, tfjs: tf.version.tfjs } };
  rt.destroy();
}

runBench('gemm', main);
