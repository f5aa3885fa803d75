/**
 * Training in a Dedicated Worker: a small typed message protocol, the
 * worker side (`serveTraining`) and the page side (`TrainingWorker`), plus
 * `LocalTraining`, the same client over the same loop on the main thread
 * (the fallback where a worker has no WebGPU).
 *
 * The worker owns the GPU device, the model and the loop: it trains in
 * chunks of ~200 ms, posts progress (step, losses, steps/s) after each, and
 * a view (whatever `job.view` returns: generated samples, gate activations,
 * a forecast) every `viewEveryMs` and when it pauses or finishes. The page
 * sends start / pause / resume / abort, live values (`set`, between chunks)
 * and named requests (`request(name, args)`, answered in turn with the
 * chunks: one GPU queue, never interleaved with a step), and gets checkpoint
 * bytes back (transferred, not copied).
 *
 *     // worker.ts
 *     serveTraining(async (rt, config: { hidden: number }) => trainerJob(trainer, data));
 *     // page
 *     const w = new TrainingWorker(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }));
 *     await w.ready; await w.build({ hidden: 64 });
 *     w.onProgress = (p) => plot(p.points);
 *     w.start({ steps: 1000 });
 *
 * Everything in a message is structured-cloneable: numbers, strings, plain
 * objects, typed arrays.
 */
import { createRuntime, type Runtime } from './runtime.js';
import type { TrainData } from './train/data.js';
import type { Trainer } from './train/trainer.js';

/** One loss reading: one value per loss series. */
export interface TrainingPoint {
  step: number;
  loss: number[];
}

/** What a worker trains: built by the `setup` given to `serveTraining` (or `LocalTraining`). */
export interface TrainingJob {
  /** Trains `n` more steps (from `from`, the loop's step count); returns the losses it read (at least the last step's). */
  train(from: number, n: number): Promise<TrainingPoint[]>;
  /** The page's results after `step` steps (samples, activations): posted as a `view` message. */
  view?(step: number): unknown | Promise<unknown>;
  /** Live values (learning rate, clipping, page settings): applied between chunks. */
  set?(values: Record<string, unknown>): void;
  /** Named computations the page may ask for (a decode, a probe): run between chunks, results posted back. */
  requests?: Record<string, (args: unknown) => unknown | Promise<unknown>>;
  /** A checkpoint of the model (and optimizer) as bytes. */
  checkpoint?(): Promise<Uint8Array>;
  /** What the page should know once the job is built (vocabulary, sizes): returned by `build`. */
  info?: unknown;
  destroy?(): void;
}

export type TrainingSetup<C = unknown> = (rt: Runtime, config: C) => Promise<TrainingJob> | TrainingJob;

/** A Trainer as a job: `train` is `fit(data, { steps })`, `set` follows `lr` and `clip` (0: off), `checkpoint` is `saveCheckpoint`. */
export function trainerJob(trainer: Trainer, data: TrainData, extra: Partial<TrainingJob> = {}): TrainingJob {
  return {
    async train(_from, n) {
      const r = await trainer.fit(data, { steps: n });
      return r.losses.map((l) => ({ step: l.step, loss: [l.loss] }));
    },
    set(v) {
      if (typeof v.lr === 'number' && v.lr > 0) trainer.optimizer.lr = v.lr;
      if (typeof v.clip === 'number') trainer.clip = v.clip > 0 ? v.clip : undefined;
    },
    checkpoint: () => trainer.saveCheckpoint(),
    destroy: () => trainer.destroy(),
    ...extra,
  };
}

// ------------------------------------------------------------------ protocol

/** Page -> worker. */
export type ToWorker =
  | { kind: 'build'; id: number; config: unknown }
  | { kind: 'start'; steps?: number; viewEveryMs?: number }
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'abort'; id: number }
  | { kind: 'set'; values: Record<string, unknown> }
  | { kind: 'view' }
  | { kind: 'request'; id: number; name: string; args?: unknown }
  | { kind: 'checkpoint'; id: number };

export type TrainingState = 'idle' | 'training' | 'paused' | 'done';

export interface Progress {
  /** Steps taken so far. */
  step: number;
  /** The losses read in the last chunk. */
  points: TrainingPoint[];
  msPerStep: number;
  /** Over the last ~5 s (the first chunks also compile kernels). */
  stepsPerSecond: number | null;
}

/** Worker -> page. */
export type FromWorker =
  | { kind: 'ready'; adapter: string; isCpu: boolean }
  | { kind: 'unavailable'; reason: string }
  | ({ kind: 'progress' } & Progress)
  | { kind: 'view'; step: number; value: unknown }
  | { kind: 'state'; state: TrainingState; step: number }
  | { kind: 'response'; id: number; ok: true; value: unknown }
  | { kind: 'response'; id: number; ok: false; error: string }
  | { kind: 'error'; message: string };

// ------------------------------------------------------------------ the loop (worker side, or main thread)

/** Runs a job in chunks; takes `ToWorker` messages, emits `FromWorker` ones. */
class TrainingHost {
  private job: TrainingJob | null = null;
  private step = 0;
  private state: TrainingState = 'idle';
  private running = false;
  private target: number | undefined;
  private viewEveryMs = 1500;
  private loop: Promise<void> | null = null;
  /** All GPU work (chunks, views, requests) in turn. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly rt: Promise<Runtime>,
    private readonly setup: TrainingSetup,
    private readonly emit: (m: FromWorker, transfer?: Transferable[]) => void,
  ) {}

  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const r = this.queue.then(fn);
    this.queue = r.catch(() => undefined);
    return r;
  }

  private fail(e: unknown): void {
    this.running = false;
    this.emit({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
  }

  private answer(id: number, fn: () => Promise<unknown>, transfer?: (v: unknown) => Transferable[]): void {
    fn().then(
      (value) => this.emit({ kind: 'response', id, ok: true, value }, transfer?.(value)),
      (e: unknown) => this.emit({ kind: 'response', id, ok: false, error: e instanceof Error ? e.message : String(e) }),
    );
  }

  handle(m: ToWorker): void {
    switch (m.kind) {
      case 'build':
        return this.answer(m.id, async () => {
          await this.stop();
          this.destroyJob();
          const rt = await this.rt;
          this.job = await this.setup(rt, m.config);
          this.step = 0;
          this.setState('idle');
          return this.job.info;
        });
      case 'start':
      case 'resume':
        if (m.kind === 'start') {
          this.target = m.steps;
          if (m.viewEveryMs !== undefined) this.viewEveryMs = m.viewEveryMs;
        } else if (this.target !== undefined && this.step >= this.target) this.target = undefined; // resumed after 'done': train on
        if (!this.job || this.running) return;
        this.running = true;
        this.setState('training');
        this.loop = this.run().catch((e: unknown) => this.fail(e));
        return;
      case 'pause':
        // Always answered with a state (paused, or what it was: idle, done).
        void this.stop().then(() => this.setState(this.state === 'training' ? 'paused' : this.state));
        return;
      case 'abort':
        return this.answer(m.id, async () => {
          await this.stop();
          this.destroyJob();
          this.step = 0;
          this.setState('idle');
        });
      case 'set':
        this.job?.set?.(m.values);
        return;
      case 'view':
        void this.exclusive(() => this.view()).catch((e: unknown) => this.fail(e));
        return;
      case 'request':
        return this.answer(m.id, () =>
          this.exclusive(() => {
            const fn = this.job?.requests?.[m.name];
            if (!fn) throw new Error(`training worker: no request '${m.name}'${this.job ? '' : ' (no job built)'}`);
            return fn(m.args);
          }),
        );
      case 'checkpoint':
        return this.answer(
          m.id,
          () =>
            this.exclusive(async () => {
              if (!this.job?.checkpoint) throw new Error('training worker: this job makes no checkpoints');
              const b = await this.job.checkpoint();
              // Its own buffer, whole: transferred to the page, not copied.
              return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();
            }),
          (v) => [(v as Uint8Array).buffer as ArrayBuffer],
        );
    }
  }

  private setState(s: TrainingState): void {
    this.state = s;
    this.emit({ kind: 'state', state: s, step: this.step });
  }

  private destroyJob(): void {
    this.job?.destroy?.();
    this.job = null;
  }

  private async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.loop = null;
  }

  private async view(): Promise<void> {
    if (!this.job?.view) return;
    const step = this.step;
    const value = await this.job.view(step);
    this.emit({ kind: 'view', step, value });
  }

  private async run(): Promise<void> {
    const job = this.job!;
    const rt = await this.rt;
    let n = 1;
    let lastView = performance.now();
    const recent: [number, number][] = [[performance.now(), this.step]];
    while (this.running) {
      if (this.target !== undefined && this.step >= this.target) {
        this.running = false;
        this.setState('done');
        return;
      }
      if (this.target !== undefined) n = Math.min(n, this.target - this.step);
      const t = performance.now();
      const points = await this.exclusive(async () => {
        const p = await job.train(this.step, n);
        await rt.checkErrors();
        return p;
      });
      const dt = performance.now() - t;
      this.step += n;
      const now = performance.now();
      recent.push([now, this.step]);
      while (recent.length > 2 && now - recent[1]![0] > 5000) recent.shift();
      const [tA, sA] = recent[0]!;
      this.emit({ kind: 'progress', step: this.step, points, msPerStep: dt / n, stepsPerSecond: now > tA ? (this.step - sA) / ((now - tA) / 1000) : null });
      n = Math.max(1, Math.min(50, Math.round(200 / Math.max(dt / n, 0.1))));
      const done = this.target !== undefined && this.step >= this.target;
      if (done || now - lastView > this.viewEveryMs) {
        await this.exclusive(() => this.view());
        lastView = performance.now();
      }
      if (done) {
        this.running = false;
        this.setState('done');
        return;
      }
      // Let messages in (pause, set, requests) between chunks.
      await new Promise((r) => setTimeout(r, 0));
    }
    await this.exclusive(() => this.view());
  }
}

/** The scope a worker posts from (a DedicatedWorkerGlobalScope). */
export interface WorkerScope {
  postMessage(message: unknown, options?: StructuredSerializeOptions): void;
  addEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
}

export interface ServeOptions {
  /** Where messages come from and go to (default: the worker's global scope, `self`). */
  scope?: WorkerScope;
  /** The runtime to train on (default: `createRuntime()` over the worker's `navigator.gpu`). */
  runtime?: () => Promise<Runtime>;
}

/**
 * The worker side: opens the worker's own WebGPU device, posts `ready` (or
 * `unavailable` where the worker has no `navigator.gpu` or no adapter), then
 * builds jobs with `setup(rt, config)` and trains them as the page asks.
 */
export function serveTraining<C>(setup: TrainingSetup<C>, o: ServeOptions = {}): void {
  const scope = o.scope ?? (self as unknown as WorkerScope);
  const emit = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, { transfer });
  const rt = (async () => {
    if (o.runtime) return o.runtime();
    if (typeof navigator === 'undefined' || !('gpu' in navigator) || !navigator.gpu) throw new Unavailable('navigator.gpu is missing in this worker');
    try {
      return await createRuntime({ quiet: true });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new Unavailable(/no adapter/i.test(msg) ? 'requestAdapter() found no adapter in this worker' : msg);
    }
  })();
  rt.then(
    (r) => {
      r.device.addEventListener('uncapturederror', (ev) => emit({ kind: 'error', message: `WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}` }));
      void r.device.lost.then((info) => {
        if (info.reason !== 'destroyed') emit({ kind: 'error', message: `WebGPU device lost: ${info.message}` });
      });
      emit({ kind: 'ready', ...describe(r) });
    },
    (e: unknown) => emit(e instanceof Unavailable ? { kind: 'unavailable', reason: e.message } : { kind: 'error', message: e instanceof Error ? e.message : String(e) }),
  );
  const host = new TrainingHost(rt, setup as TrainingSetup, emit);
  scope.addEventListener('message', (e) => host.handle(e.data as ToWorker));
}

class Unavailable extends Error {}

function describe(rt: Runtime): { adapter: string; isCpu: boolean } {
  const i = rt.adapterInfo;
  return { adapter: [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') || 'unnamed adapter', isCpu: rt.isCpu };
}

// ------------------------------------------------------------------ page side

/** Raised by `ready` where the worker has no WebGPU (fall back to `LocalTraining`). */
export class WorkerUnavailable extends Error {}

/**
 * The page's handle on a training loop: a worker's (`TrainingWorker`) or the
 * main thread's (`LocalTraining`). Set the `on*` callbacks, `build`, `start`.
 */
export abstract class TrainingClient {
  /** Resolves with the adapter once the device is open; rejects with WorkerUnavailable where there is no WebGPU. */
  readonly ready: Promise<{ adapter: string; isCpu: boolean }>;
  onProgress: (p: Progress) => void = () => undefined;
  onView: (value: unknown, step: number) => void = () => undefined;
  onState: (state: TrainingState, step: number) => void = () => undefined;
  onError: (message: string) => void = () => undefined;
  private resolveReady!: (v: { adapter: string; isCpu: boolean }) => void;
  private rejectReady!: (e: Error) => void;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private waiters: (() => void)[] = [];

  constructor() {
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    // A rejected `ready` nobody awaits yet is not an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  protected abstract send(m: ToWorker): void;

  protected receive(m: FromWorker): void {
    switch (m.kind) {
      case 'ready':
        return this.resolveReady({ adapter: m.adapter, isCpu: m.isCpu });
      case 'unavailable':
        return this.rejectReady(new WorkerUnavailable(m.reason));
      case 'progress':
        return this.onProgress(m);
      case 'view':
        return this.onView(m.value, m.step);
      case 'state': {
        this.onState(m.state, m.step);
        const w = this.waiters;
        this.waiters = [];
        for (const resolve of w) resolve();
        return;
      }
      case 'response': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.ok) p?.resolve(m.value);
        else p?.reject(new Error(m.error));
        return;
      }
      case 'error':
        this.rejectReady(new Error(m.message));
        return this.onError(m.message);
    }
  }

  private call<T>(m: { kind: 'build'; config: unknown } | { kind: 'abort' } | { kind: 'request'; name: string; args?: unknown } | { kind: 'checkpoint' }): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.send({ ...m, id } as ToWorker);
    });
  }

  /** Builds a job from `config` (the worker's `setup`); resolves with its `info`. */
  build<I = unknown>(config: unknown): Promise<I> {
    return this.call({ kind: 'build', config });
  }
  /** Trains until `steps` steps in all (default: until paused); a view every `viewEveryMs`. `resume` after 'done' trains on. */
  start(o: { steps?: number; viewEveryMs?: number } = {}): void {
    this.send({ kind: 'start', ...o });
  }
  /** Stops after the current chunk (and its view); resolves with the next state message (paused, or idle/done when it was not training). */
  pause(): Promise<void> {
    const p = new Promise<void>((resolve) => this.waiters.push(resolve));
    this.send({ kind: 'pause' });
    return p;
  }
  resume(): void {
    this.send({ kind: 'resume' });
  }
  /** Stops and frees the job (build again to train anew). */
  abort(): Promise<void> {
    return this.call({ kind: 'abort' });
  }
  /** Live values (`lr`, `clip`, a page's own): from the next chunk. */
  set(values: Record<string, unknown>): void {
    this.send({ kind: 'set', values });
  }
  /** Asks for a view now (it arrives through `onView`). */
  view(): void {
    this.send({ kind: 'view' });
  }
  /** A named request of the job (`job.requests[name](args)`), between chunks. */
  request<T = unknown>(name: string, args?: unknown): Promise<T> {
    return this.call({ kind: 'request', name, args });
  }
  /** The job's checkpoint bytes. */
  checkpoint(): Promise<Uint8Array> {
    return this.call({ kind: 'checkpoint' });
  }
  abstract terminate(): void;
}

/** A worker running `serveTraining`. */
export class TrainingWorker extends TrainingClient {
  constructor(readonly worker: Worker) {
    super();
    worker.addEventListener('message', (e: MessageEvent) => this.receive(e.data as FromWorker));
    worker.addEventListener('error', (e) => this.receive({ kind: 'error', message: `training worker: ${e.message || 'failed to load'}` }));
  }
  protected send(m: ToWorker): void {
    this.worker.postMessage(m);
  }
  terminate(): void {
    this.worker.terminate();
  }
}

/** The same loop on the main thread (where a worker has no WebGPU): messages go through the event loop, as with a worker. */
export class LocalTraining extends TrainingClient {
  private readonly host: TrainingHost;
  private closed = false;
  constructor(rt: Runtime, setup: TrainingSetup) {
    super();
    this.host = new TrainingHost(Promise.resolve(rt), setup, (m) => {
      if (!this.closed) setTimeout(() => this.receive(m), 0);
    });
    setTimeout(() => this.receive({ kind: 'ready', ...describe(rt) }), 0);
  }
  protected send(m: ToWorker): void {
    this.host.handle(m);
  }
  terminate(): void {
    this.closed = true;
  }
}
