/**
 * Fault injection, shared by Node (test/fault-injection.test.ts) and headless
 * Chromium (test/browser/fault.ts): the GPU device is destroyed at a seeded
 * step of a training run, the run's promise must reject with a
 * GPUKernelError (device lost), and the run must be recoverable: a new
 * runtime, the last checkpoint (saved every `every` steps) loaded into a
 * fresh model, optimizer and Trainer, trained to the end, gives the same
 * parameters, bit for bit, as a run that was never interrupted (dropout on).
 *
 * The caller listens for unhandled rejections (Node: `unhandledRejection`,
 * a page: `unhandledrejection`); these functions only report.
 */
import { Adam, GPUKernelError, SequenceToSequence, Trainer, createRuntime, fit, textData, type Runtime, type TrainData } from '../../src/index.js';
import { rng } from './check.js';

const TEXT = 'the quick brown fox jumps over the lazy dog; the lazy dog sleeps. '.repeat(6);

/** Steps of every run, and how often the interrupted run saves a checkpoint. */
export const FAULT_STEPS = 8;
export const FAULT_EVERY = 2;

export interface FaultOutcome {
  /** The step whose batch destroyed the device. */
  lostAt: number;
  /** What the run's promise rejected with: `name: message`, or 'resolved'. */
  rejection: string;
  /** The rejection is a GPUKernelError of kind 'device-lost'. */
  deviceLost: boolean;
  /** Cleanup after the loss (trainer/optimizer/model/runtime destroy) threw this, if anything. */
  cleanupError: string | null;
  /** Step of the checkpoint the recovery started from. */
  resumedFrom: number;
  /** Parameters (and optimizer state) whose bits differ from the uninterrupted run's. */
  mismatches: string[];
}

const build = (rt: Runtime, V: number) => {
  const model = new SequenceToSequence(rt, { input: 'embedding', inputSize: V, embeddingDim: 8, cell: 'lstm', hiddenSize: 16, numLayers: 2, dropout: 0.3, outputSize: V, seed: 5 });
  const optimizer = new Adam(model.parameters(), { lr: 0.01 });
  const trainer = new Trainer(model, { loss: 'cross_entropy', optimizer, clip: 1, logEvery: 2 });
  return { model, optimizer, trainer };
};

/** `data`, whose batch for step `at` destroys the device first (once). */
function sabotaged(data: TrainData, rt: Runtime, at: number): TrainData {
  let done = false;
  return {
    ...data,
    batch(step, x, y, extra) {
      if (step === at && !done) {
        done = true;
        rt.device.destroy();
      }
      return data.batch(step, x, y, extra);
    },
  };
}

const describeError = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : `thrown non-Error: ${String(e)}`);
const isDeviceLost = (e: unknown): boolean => e instanceof GPUKernelError && e.kind === 'device-lost';

/** Every parameter's bits, and the optimizer's state (JSON: a float32 prints exactly as a double). */
async function snapshot(m: SequenceToSequence, o: Adam): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(await m.stateDict())) {
    const a = v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
    out.set(`model.${k}`, Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length)).join(','));
  }
  out.set('optimizer', JSON.stringify(await o.stateDict()));
  return out;
}

function compare(a: Map<string, string>, b: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const [k, va] of a) if (b.get(k) !== va) bad.push(k);
  for (const k of b.keys()) if (!a.has(k)) bad.push(k);
  return bad;
}

/** The uninterrupted run's final parameters and optimizer state, on `rt` (its objects freed, `rt` kept). */
async function referenceRun(rt: Runtime, data: ReturnType<typeof textData>): Promise<Map<string, string>> {
  const r = build(rt, data.vocab.length);
  await r.trainer.fit(data.train, { steps: FAULT_STEPS });
  const snap = await snapshot(r.model, r.optimizer);
  r.trainer.destroy();
  r.optimizer.destroy();
  r.model.destroy();
  return snap;
}

/**
 * Trainer runs that save a checkpoint every FAULT_EVERY steps, one per seed,
 * each on its own runtime whose device is destroyed at a step drawn from the
 * seed; then one new runtime (created after the losses) recovers each from
 * its last checkpoint into fresh objects and trains it to the end, and runs
 * the uninterrupted reference. (Every runtime compiles its kernels afresh,
 * the bulk of the time on SwiftShader: the recoveries and the reference
 * share one.)
 */
export async function trainerFaults(seeds: readonly number[]): Promise<FaultOutcome[]> {
  const data = textData(TEXT, { T: 8, B: 4, seed: 3 });
  const V = data.vocab.length;
  const lost: (Omit<FaultOutcome, 'resumedFrom' | 'mismatches'> & { checkpoint: Uint8Array })[] = [];
  for (const seed of seeds) {
    const lostAt = Math.floor(rng(seed)() * FAULT_STEPS);
    const rt = await createRuntime({ quiet: true });
    const a = build(rt, V);
    const bad = sabotaged(data.train, rt, lostAt);
    let checkpoint = await a.trainer.saveCheckpoint(); // step 0: a loss before the first save restarts from here
    let rejection = 'resolved';
    let deviceLost = false;
    try {
      while (a.trainer.step < FAULT_STEPS) {
        await a.trainer.fit(bad, { steps: Math.min(FAULT_EVERY, FAULT_STEPS - a.trainer.step) });
        checkpoint = await a.trainer.saveCheckpoint();
      }
    } catch (e) {
      rejection = describeError(e);
      deviceLost = isDeviceLost(e);
    }
    let cleanupError: string | null = null;
    try {
      a.trainer.destroy();
      a.optimizer.destroy();
      a.model.destroy();
      rt.destroy();
    } catch (e) {
      cleanupError = describeError(e);
    }
    lost.push({ lostAt, rejection, deviceLost, cleanupError, checkpoint });
  }
  // Recovery: a new runtime, fresh objects, the last checkpoint.
  const rt2 = await createRuntime({ quiet: true });
  const reference = await referenceRun(rt2, data);
  const out: FaultOutcome[] = [];
  for (const { checkpoint, ...l } of lost) {
    const b = build(rt2, V);
    const loaded = await b.trainer.loadCheckpoint(checkpoint);
    await b.trainer.fit(data.train, { steps: FAULT_STEPS - b.trainer.step });
    const mismatches = compare(reference, await snapshot(b.model, b.optimizer));
    b.trainer.destroy();
    b.optimizer.destroy();
    b.model.destroy();
    out.push({ ...l, resumedFrom: loaded.step, mismatches });
  }
  rt2.destroy();
  return out;
}

/** `fit()` (the one-call loop, which builds and frees its Trainer) with the device destroyed at a seeded step. */
export async function fitFault(seed: number): Promise<Pick<FaultOutcome, 'lostAt' | 'rejection' | 'deviceLost' | 'cleanupError'>> {
  const lostAt = Math.floor(rng(seed ^ 0x5bd1e995)() * FAULT_STEPS);
  const data = textData(TEXT, { T: 8, B: 4, seed: 3 });
  const rt = await createRuntime({ quiet: true });
  const model = new SequenceToSequence(rt, { input: 'embedding', inputSize: data.vocab.length, embeddingDim: 8, cell: 'gru', hiddenSize: 16, dropout: 0.3, outputSize: data.vocab.length, seed: 2 });
  let rejection = 'resolved';
  let deviceLost = false;
  try {
    await fit(model, sabotaged(data.train, rt, lostAt), { loss: 'cross_entropy', steps: FAULT_STEPS, lr: 0.01, logEvery: 3 });
  } catch (e) {
    rejection = describeError(e);
    deviceLost = isDeviceLost(e);
  }
  let cleanupError: string | null = null;
  try {
    model.destroy();
    rt.destroy();
  } catch (e) {
    cleanupError = describeError(e);
  }
  return { lostAt, rejection, deviceLost, cleanupError };
}
