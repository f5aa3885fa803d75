/**
 * The real-GPU kit in one bundle (bench/gpu/build.mjs makes .gpu/kit.mjs):
 * Node plus this file plus dawn.node is all a GPU server needs.
 *
 *   node kit.mjs probe  [--allow-cpu]            the adapter, as one JSON line
 *   node kit.mjs check  [--allow-cpu] [--only TEXT] [--seed N] [--json FILE]
 *   node kit.mjs bench  [--allow-cpu] [--cpu-sizes] [--parts train,gemm,dispatch] [--json FILE]
 *
 * `check` runs every case of the shared kernel suite (test/suite/all.ts: every
 * GEMM variant, elementwise, reductions, sampling, and every recurrent case on
 * every path, 'step', 'sequence' and 'gemm') against the float64 references, with a
 * tiny runner instead of vitest. `bench` times full training steps, GEMM and
 * dispatch/submit costs; GPU times come from `timestamp-query` where the
 * adapter has it. Exit codes: 0 ok, 1 a failure, 3 a CPU adapter without
 * --allow-cpu, 4 no adapter.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as lib from '../../src/index.js';
import { createRuntime, fill, gemm, type Runtime } from '../../src/index.js';
import { sharedCases } from '../../test/suite/all.js';
import { freshSeed } from '../../test/suite/check.js';
import { EPS, LR, MAX_NORM, WN, randomData, wavenetData, wavenetTrainer } from '../train-models.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const argv = process.argv.slice(2);
const cmd = argv[0] ?? 'probe';
const flag = (name: string): boolean => argv.includes(`--${name}`);
const opt = (name: string, def: string | null = null): string | null => {
  const i = argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < argv.length ? argv[i + 1]! : def;
};
const allowCpu = flag('allow-cpu');
const log = (s: string): void => void process.stderr.write(s + '\n');
const now = (): number => performance.now();
const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (v: number, d = 3): number => (Number.isFinite(v) ? Number(v.toPrecision(d + 2)) : v);

// ------------------------------------------------------------------ the GPU

interface DawnModule {
  create: (flags: string[]) => GPU;
  globals: Record<string, unknown>;
}

let dawnGlobals: Record<string, unknown> = {};
/** Held for the life of the process: Dawn crashes (SIGSEGV) when its GPU object is collected while a device lives. */
let gpuKeep: GPU | null = null;

/** Dawn from the bundled `webgpu` index (dawn.node beside this file, under dist/linux-x64/). */
async function openGpu(): Promise<GPU> {
  const env = process.env;
  env.XDG_RUNTIME_DIR ||= tmpdir();
  if (allowCpu && !env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES) {
    // No GPU device node: SwiftShader is the only Vulkan that Dawn accepts on such a machine.
    const gpuNode = ['/dev/dri', '/dev/nvidia0', '/dev/kfd'].some((p) => existsSync(p));
    if (!gpuNode && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const mod = (await import('webgpu')) as unknown as DawnModule;
  dawnGlobals = mod.globals;
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  gpuKeep = mod.create(['disable-dawn-features=timestamp_quantization']);
  return gpuKeep;
}

interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isCpu: boolean;
  features: string[];
  limits: Record<string, number>;
  env: Record<string, string | undefined>;
}

async function open(): Promise<{ rt: Runtime; adapter: AdapterReport }> {
  const gpu = await openGpu();
  let rt: Runtime;
  try {
    rt = await createRuntime({ gpu, quiet: true, powerPreference: 'high-performance' });
  } catch (e) {
    log(`no WebGPU adapter: ${(e as Error).message}`);
    process.exit(4);
  }
  const i = rt.adapterInfo;
  const L = rt.limits as unknown as Record<string, number>;
  const limits = Object.fromEntries(
    ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxStorageBuffersPerShaderStage', 'minUniformBufferOffsetAlignment'].map((k) => [k, L[k]!]),
  );
  const adapter: AdapterReport = {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    isCpu: rt.isCpu,
    features: [...rt.features].sort(),
    limits,
    env: { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES, VK_DRIVER_FILES: process.env.VK_DRIVER_FILES },
  };
  if (rt.isCpu && !allowCpu) {
    log(`refusing a CPU adapter (${i.vendor} ${i.architecture} ${i.description}); pass --allow-cpu to run on it anyway`);
    process.stdout.write(JSON.stringify({ adapter, refused: true }) + '\n');
    process.exit(3);
  }
  return { rt, adapter };
}

/**
 * GPU time of chosen submits: while armed, each `queue.submit` is bracketed by
 * two empty compute passes that write timestamps (command buffers of one
 * submit run in order), so the difference is the GPU time of that submit.
 */
class GpuTimer {
  readonly ok: boolean;
  private readonly qs: GPUQuerySet | null = null;
  private used = 0;
  private armed = false;
  private readonly cap = 256;

  constructor(private readonly device: GPUDevice) {
    this.ok = device.features.has('timestamp-query');
    if (!this.ok) return;
    this.qs = device.createQuerySet({ type: 'timestamp', count: 2 * this.cap });
    const proto = (dawnGlobals.GPUQueue as { prototype: GPUQueue }).prototype;
    const orig = proto.submit;
    const timer = this as GpuTimer;
    proto.submit = function (this: GPUQueue, cbs: Iterable<GPUCommandBuffer>) {
      if (!timer.armed || timer.used >= timer.cap) return orig.call(this, cbs);
      const i = timer.used++;
      return orig.call(this, [timer.mark(2 * i, true), ...cbs, timer.mark(2 * i + 1, false)]);
    };
  }

  private mark(index: number, begin: boolean): GPUCommandBuffer {
    const enc = this.device.createCommandEncoder({ label: 'kit.timestamp' });
    const tw: GPUComputePassTimestampWrites = begin ? { querySet: this.qs!, beginningOfPassWriteIndex: index } : { querySet: this.qs!, endOfPassWriteIndex: index };
    enc.beginComputePass({ timestampWrites: tw }).end();
    return enc.finish();
  }

  /** Runs `fn` with every submit it makes timed. */
  timed<T>(fn: () => T): T {
    this.armed = this.ok;
    try {
      return fn();
    } finally {
      this.armed = false;
    }
  }

  /** GPU milliseconds of each submit timed since the last collect (null without timestamp-query). */
  async collect(): Promise<number[] | null> {
    if (!this.ok || this.used === 0) return this.ok ? [] : null;
    const n = this.used;
    this.used = 0;
    const bytes = 16 * n;
    const res = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const map = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder({ label: 'kit.resolve' });
    enc.resolveQuerySet(this.qs!, 0, 2 * n, res, 0);
    enc.copyBufferToBuffer(res, 0, map, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    await map.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(map.getMappedRange().slice(0));
    map.unmap();
    res.destroy();
    map.destroy();
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(Number(t[2 * i + 1]! - t[2 * i]!) / 1e6);
    return out;
  }
}

// ------------------------------------------------------------------ check

async function check(): Promise<number> {
  const { rt, adapter } = await open();
  const seed = freshSeed(opt('seed') ?? process.env.WEBGPU_RNN_SEED);
  const only = opt('only');
  const cases = sharedCases.filter((c) => !only || only.split('|').some((s) => c.name.includes(s)));
  log(`check: ${cases.length} cases on ${adapter.vendor} ${adapter.architecture} ${adapter.description}, seed ${seed}`);
  const results: { name: string; ok: boolean; ms: number; error?: string }[] = [];
  const t0 = now();
  const file = opt('json');
  const write = (done: boolean) => {
    const failed = results.filter((r) => !r.ok);
    const summary = { passed: results.length - failed.length, failed: failed.length, total: cases.length, ran: results.length, done, seconds: round((now() - t0) / 1000) };
    if (file) writeFileSync(file, JSON.stringify({ part: 'check', adapter, seed, summary, failures: failed, cases: results }) + '\n');
    return summary;
  };
  for (const c of cases) {
    const t = now();
    if (flag('verbose')) log(`  ${c.name}`);
    try {
      await c.run(rt, seed);
      await rt.sync();
      results.push({ name: c.name, ok: true, ms: round(now() - t) });
    } catch (e) {
      const msg = String((e as Error)?.message ?? e).slice(0, 600);
      results.push({ name: c.name, ok: false, ms: round(now() - t), error: msg });
      log(`FAIL ${c.name}: ${msg}`);
      // A failure can leave errors queued on the device: drain them so they do not land on the next case.
      await rt.checkErrors().catch(() => undefined);
    }
    // Written after every case: a run cut short by its timeout still leaves what it found.
    write(false);
  }
  const summary = write(true);
  log(`check: ${summary.passed}/${summary.total} passed in ${summary.seconds} s`);
  if (!file) process.stdout.write(JSON.stringify(summary) + '\n');
  rt.destroy();
  return summary.failed ? 1 : 0;
}

// ------------------------------------------------------------------ bench

interface Trainer {
  step(): lib.Counters;
  read(): Promise<{ loss: number; norm: number }>;
  destroy(): void;
}

/** zeroGrad, forward, MSE loss, backward, clipGradNorm, Adam: one rt.step (bench/train-models.js's sequence). */
function recurrentTrainer(rt: Runtime, cell: 'lstm' | 'gru' | 'rnn', s: { B: number; T: number; I: number; H: number; L: number; kernel?: Path }): Trainer {
  const model = new lib.SequenceToSequence(rt, { input: 'dense', inputSize: s.I, cell, hiddenSize: s.H, numLayers: s.L, outputSize: 1, seed: 1, kernel: s.kernel });
  const x = rt.tensor(randomData(s.T * s.B * s.I, 1), [s.T, s.B, s.I], 'kit.x');
  const y = rt.tensor(randomData(s.T * s.B, 2), [s.T, s.B, 1], 'kit.y');
  const mse = new lib.MSELoss(rt);
  const opt = new lib.Adam(model.parameters(), { lr: LR, eps: EPS });
  const grads = model.gradientArenas();
  const norm = rt.zeros([1], 'kit.norm');
  let loss: lib.Tensor | null = null;
  return {
    step: () =>
      rt.step(() => {
        model.zeroGrad();
        const { logits } = model.forward(x);
        const l = mse.forward(logits, y);
        model.backward(l.grad);
        loss = l.loss;
        lib.clipGradNorm(rt, grads, MAX_NORM, norm);
        opt.step();
      }),
    read: async () => ({ loss: (await loss!.read())[0]!, norm: (await norm.read())[0]! }),
    destroy() {
      rt.submit();
      mse.destroy();
      opt.destroy();
      for (const t of [x, y, norm]) t.buffer.destroy();
      model.destroy();
    },
  };
}

export interface ModelSpec {
  name: string;
  cell: 'lstm' | 'gru' | 'rnn' | 'wavenet';
  B: number;
  T: number;
  I?: number;
  H?: number;
  L?: number;
  /** The recurrent path (default: the adapter's auto choice). */
  kernel?: Path;
}
type Path = 'step' | 'sequence' | 'gemm';

/** The models, at full size (GPU) or shrunk (CPU: SwiftShader on a few cores). Mirrored by torch_bench.py. */
export function models(cpu: boolean): ModelSpec[] {
  const rec = { B: 32, T: 64, I: 32, H: 128, L: 1 };
  return [
    { name: 'LSTM', cell: 'lstm', ...rec },
    { name: 'GRU', cell: 'gru', ...rec },
    { name: 'RNN (tanh)', cell: 'rnn', ...rec },
    { name: 'WaveNet', cell: 'wavenet', B: WN.B, T: WN.T },
    { name: 'LSTM big', cell: 'lstm', B: cpu ? 8 : 64, T: cpu ? 4 : 100, I: 512, H: 512, L: 2 },
    // Each recurrent path on its own, for tuning the auto choice (SEQUENCE_MAX_HIDDEN, gemm on CPUs).
    ...(['step', 'sequence', 'gemm'] as const).flatMap((kernel): ModelSpec[] => [
      { name: `LSTM [${kernel}]`, cell: 'lstm', ...rec, kernel },
      { name: `LSTM big [${kernel}]`, cell: 'lstm', B: cpu ? 8 : 64, T: cpu ? 4 : 100, I: 512, H: 512, L: 2, kernel },
    ]),
  ];
}

async function benchTrain(rt: Runtime, timer: GpuTimer, cpu: boolean, deadline: number): Promise<unknown[]> {
  const warmup = cpu ? 1 : 5;
  const steps = cpu ? 2 : 30;
  const rows: unknown[] = [];
  for (const m of models(cpu)) {
    if (now() > deadline) {
      rows.push({ model: m.name, skipped: 'time budget spent' });
      continue;
    }
    const tb = now();
    const tr: Trainer =
      m.cell === 'wavenet' ? (wavenetTrainer(lib, rt, wavenetData()) as Trainer) : recurrentTrainer(rt, m.cell, { B: m.B, T: m.T, I: m.I!, H: m.H!, L: m.L!, kernel: m.kernel });
    let counts = tr.step();
    await rt.sync();
    const firstStepMs = now() - tb; // includes pipeline creation
    const first = await tr.read();
    for (let i = 1; i < warmup; i++) {
      tr.step();
      await rt.sync();
    }
    const wall: number[] = [];
    const record: number[] = [];
    for (let i = 0; i < steps && (i < 2 || now() < deadline); i++) {
      const t0 = now();
      counts = timer.timed(() => tr.step());
      record.push(now() - t0);
      await rt.sync();
      wall.push(now() - t0);
    }
    const gpu = await timer.collect();
    const last = await tr.read();
    const row = {
      model: m.name,
      sizes: { B: m.B, T: m.T, I: m.I, H: m.H, L: m.L },
      steps: wall.length,
      warmup,
      wallMs: round(median(wall)),
      gpuMs: gpu && gpu.length ? round(median(gpu)) : null,
      recordMs: round(median(record)),
      firstStepMs: round(firstStepMs),
      dispatches: counts.dispatches,
      submits: counts.submits,
      lossFirst: round(first.loss, 5),
      lossLast: round(last.loss, 5),
    };
    if (!Number.isFinite(first.loss) || !Number.isFinite(last.loss)) (row as Record<string, unknown>).error = 'non-finite loss';
    log(`train ${m.name}: ${row.wallMs} ms/step wall, ${row.gpuMs ?? '-'} ms GPU, ${row.dispatches} dispatches; loss ${row.lossFirst} -> ${row.lossLast}`);
    rows.push(row);
    tr.destroy();
  }
  return rows;
}

/** A few entries of C = A B recomputed in float64: a large GEMM that is fast but wrong must not count. */
function spotCheck(a: Float32Array, b: Float32Array, c: Float32Array, n: number): number {
  let worst = 0;
  for (let k = 0; k < 16; k++) {
    const i = (k * 7919) % n;
    const j = (k * 104729 + 13) % n;
    let s = 0;
    for (let p = 0; p < n; p++) s += a[i * n + p]! * b[p * n + j]!;
    worst = Math.max(worst, Math.abs(c[i * n + j]! - s) / Math.sqrt(n));
  }
  return worst;
}

async function benchGemm(rt: Runtime, timer: GpuTimer, cpu: boolean, deadline: number): Promise<unknown[]> {
  const sizes = cpu ? [256] : [1024, 2048, 4096];
  const variants = ['auto', 'reg', 'tiled'] as const;
  const rows: unknown[] = [];
  for (const n of sizes) {
    const ad = randomData(n * n, 11);
    const bd = randomData(n * n, 12);
    const a = rt.tensor(ad, [n, n], 'kit.a');
    const b = rt.tensor(bd, [n, n], 'kit.b');
    const c = rt.zeros([n, n], 'kit.c');
    for (const variant of variants) {
      if (now() > deadline) {
        rows.push({ n, variant, skipped: 'time budget spent' });
        continue;
      }
      rt.step(() => gemm(rt, c, a, b, { variant }));
      await rt.sync();
      const err = spotCheck(ad, bd, await c.read(), n);
      // Repeats per submit: about 20 ms of GPU work at 10 TFLOP/s (GPU), or a few at CPU speed.
      const reps = cpu ? 2 : Math.max(1, Math.round((2e11 * 0.02) / (2 * n ** 3)) * 4);
      const wall: number[] = [];
      for (let r = 0; r < (cpu ? 2 : 5); r++) {
        const t0 = now();
        timer.timed(() => rt.step(() => {
          for (let i = 0; i < reps; i++) gemm(rt, c, a, b, { variant });
        }));
        await rt.sync();
        wall.push(now() - t0);
      }
      const gpu = await timer.collect();
      const flop = 2 * n ** 3 * reps;
      const best = Math.min(...wall);
      const gbest = gpu && gpu.length ? Math.min(...gpu) : null;
      const row = {
        n,
        variant,
        reps,
        wallGflops: round(flop / best / 1e6),
        gpuGflops: gbest ? round(flop / gbest / 1e6) : null,
        msPerGemm: round((gbest ?? best) / reps),
        spotErr: round(err, 2),
        ok: err < 1e-4,
      };
      log(`gemm ${n}^3 [${variant}]: ${row.gpuGflops ?? '-'} GFLOP/s GPU, ${row.wallGflops} wall, spot error ${row.spotErr}`);
      rows.push(row);
    }
    for (const t of [a, b, c]) t.buffer.destroy();
  }
  return rows;
}

async function benchDispatch(rt: Runtime, timer: GpuTimer, cpu: boolean): Promise<Record<string, unknown>> {
  const t = rt.zeros([64], 'kit.tiny');
  fill(rt, t, 1);
  await rt.sync();
  // Many tiny dispatches in one submit: CPU cost to record one, and GPU cost of one.
  const n = cpu ? 500 : 5000;
  const rec: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = now();
    timer.timed(() => rt.step(() => {
      for (let i = 0; i < n; i++) fill(rt, t, i);
    }));
    rec.push(now() - t0);
    await rt.sync();
    wall.push(now() - t0);
  }
  const gpu = await timer.collect();
  // Many submits of one dispatch each, one wait at the end.
  const ns = cpu ? 100 : 1000;
  const subs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = now();
    for (let i = 0; i < ns; i++) rt.step(() => fill(rt, t, i));
    await rt.sync();
    subs.push(now() - t0);
  }
  // One dispatch, submit and wait, one at a time: the round trip.
  const trips: number[] = [];
  for (let i = 0; i < (cpu ? 20 : 200); i++) {
    const t0 = now();
    rt.step(() => fill(rt, t, i));
    await rt.sync();
    trips.push(now() - t0);
  }
  const reads: number[] = [];
  for (let i = 0; i < (cpu ? 10 : 100); i++) {
    const t0 = now();
    await t.read();
    reads.push(now() - t0);
  }
  t.buffer.destroy();
  const us = (ms: number) => round(ms * 1000);
  const out = {
    dispatchRecordUs: us(Math.min(...rec) / n),
    dispatchWallUs: us(Math.min(...wall) / n),
    dispatchGpuUs: gpu && gpu.length ? us(Math.min(...gpu) / n) : null,
    submitUs: us(Math.min(...subs) / ns),
    roundTripUs: us(median(trips)),
    readBackUs: us(median(reads)),
    dispatchesPerSubmit: n,
    submits: ns,
  };
  log(`dispatch: ${out.dispatchRecordUs} us to record, ${out.dispatchGpuUs ?? '-'} us GPU each; submit ${out.submitUs} us; round trip ${out.roundTripUs} us; read-back ${out.readBackUs} us`);
  return out;
}

async function bench(): Promise<number> {
  const t0 = now();
  const { rt, adapter } = await open();
  const cpu = adapter.isCpu || flag('cpu-sizes');
  const parts = (opt('parts', 'dispatch,gemm,train') ?? '').split(',');
  const budget = Number(opt('max-s', cpu ? '240' : '300')) * 1000;
  const timer = new GpuTimer(rt.device);
  log(`bench on ${adapter.vendor} ${adapter.architecture} ${adapter.description}${cpu ? ' (CPU sizes)' : ''}; GPU timestamps: ${timer.ok}`);
  const out: Record<string, unknown> = { part: 'bench', adapter, cpuSizes: cpu, gpuTimestamps: timer.ok, node: process.version };
  let bad = false;
  const file = opt('json');
  const seconds: Record<string, number> = {};
  out.seconds = seconds;
  for (const p of parts) {
    const ts = now();
    try {
      if (p === 'dispatch') out.dispatch = await benchDispatch(rt, timer, cpu);
      else if (p === 'gemm') {
        const rows = await benchGemm(rt, timer, cpu, t0 + budget * 0.35);
        out.gemm = rows;
        bad ||= rows.some((r) => (r as { ok?: boolean }).ok === false);
      } else if (p === 'train') {
        const rows = await benchTrain(rt, timer, cpu, t0 + budget);
        out.train = rows;
        bad ||= rows.some((r) => 'error' in (r as object));
      }
    } catch (e) {
      out[p] = { error: String((e as Error)?.message ?? e).slice(0, 600) };
      log(`bench ${p} failed: ${(e as Error)?.stack ?? e}`);
      bad = true;
    }
    seconds[p] = round((now() - ts) / 1000);
    if (file) writeFileSync(file, JSON.stringify(out) + '\n'); // after every part: a timeout keeps the parts done
  }
  if (!file) process.stdout.write(JSON.stringify(out) + '\n');
  rt.destroy();
  return bad ? 1 : 0;
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  if (cmd === 'probe') {
    const { rt, adapter } = await open();
    process.stdout.write(JSON.stringify({ adapter }) + '\n');
    rt.destroy();
    return 0;
  }
  if (cmd === 'check') return check();
  if (cmd === 'bench') return bench();
  log(`unknown command ${cmd}: probe, check or bench`);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`kit ${cmd}: ${(e as Error)?.stack ?? e}`);
    process.exit(1);
  },
);
