/**
 * `Trainer`: the training loop, as an object that can stop and resume.
 *
 *     const trainer = new Trainer(model, { loss: 'cross_entropy', optimizer: new Adam(model.parameters(), { lr: 3e-3 }),
 *       scheduler: warmupCosine({ warmup: 20, total: 400 }), clip: 1, metrics: ['accuracy'] });
 *     await trainer.fit(data.train, { epochs: 3, validation: data.validation });
 *     const bytes = await trainer.saveCheckpoint();       // model, optimizer, schedule, step, epoch, RNG
 *     ...
 *     await other.loadCheckpoint(bytes);                   // continues bit for bit
 *
 * Every step uploads its batch, then records zeroGrad, forward, loss,
 * backward, clipping and the optimizer update into one command stream and
 * submits it once. The loss is read back every `logEvery` steps without
 * waiting for it: the GPU keeps going while the read resolves. The
 * learning-rate schedule is a small buffer write between steps (nothing is
 * re-recorded). Evaluation always runs in eval mode (no dropout) and restores
 * the previous mode. A GPU failure (device loss, validation error) rejects
 * `fit` with the GPUKernelError and leaves no read unhandled.
 */
import { pickTokens } from '../ops.js';
import type { Runtime } from '../runtime.js';
import type { Counters } from '../scheduler.js';
import { Tensor, fmtShape, numel } from '../tensor.js';
import { type Module, type ForwardOutput, outputOf } from '../nn/module.js';
import { Embedding, Sequential } from '../nn/layers.js';
import { saveCheckpoint, loadCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import type { TrainData } from './data.js';
import { CrossEntropyLoss, MSELoss, type LossResult } from './loss.js';
import { clipGradNorm, type Optimizer } from './optim.js';
import { Scheduler, type Schedule } from './schedule.js';

/** What the Trainer trains: any Module with a forward (tensor or result with output/logits) and a backward. */
export type TrainModel = Module & {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- models take their own inputs and options
  forward(...args: any[]): ForwardOutput;
  backward(dy: Tensor): unknown;
};

export interface StepInfo {
  /** The step just taken (0-based, counting across runs of a resumed trainer). */
  step: number;
  epoch: number;
  /** Its mean loss (on the steps whose loss is read: every `logEvery`). */
  loss: number;
  /** Training steps per second in this `fit` so far. */
  stepsPerSecond: number;
  /** The lr of the first param group for this step. */
  lr: number;
  /** Global gradient norm before clipping, when `clip` is set. */
  gradNorm?: number;
}

export interface EvalResult {
  /** Mean loss over every valid position of the batches evaluated. */
  loss: number;
  /** Fraction of valid positions whose argmax is the target (cross-entropy with metrics ['accuracy']). */
  accuracy?: number;
  /** Positions counted. */
  count: number;
}

export interface EpochInfo {
  epoch: number;
  step: number;
  /** Mean of the training losses read in this epoch. */
  loss: number;
  /** Held-out results at the epoch's end, when `fit` has validation data. */
  val?: EvalResult;
}

/** Hooks into the loop (Keras's callbacks); `trainer.stopTraining = true` ends `fit` after the current step. */
export interface Callback {
  onStepEnd?(trainer: Trainer, info: StepInfo): void;
  onEpochEnd?(trainer: Trainer, info: EpochInfo): void | Promise<void>;
  onEvaluate?(trainer: Trainer, info: EvalResult & { step: number }): void | Promise<void>;
  /** State to keep in checkpoints (JSON), and its restore. */
  state?(): Record<string, unknown>;
  loadState?(s: Record<string, unknown>): void;
}

export interface TrainerOptions {
  loss: 'cross_entropy' | 'mse';
  optimizer: Optimizer;
  /** Cross-entropy: where the classes are in the output: `'last'` (default) or `1` ([B, C, T], WaveNet). */
  classDim?: 'last' | 1;
  /** Cross-entropy: targets equal to this are ignored (padding), as torch's ignore_index. */
  ignoreIndex?: number;
  /** A schedule (step, baseLr) => lr, or a Scheduler over `optimizer`; applied before every step. */
  scheduler?: Schedule | Scheduler;
  /** Clip gradients to this global norm (clip_grad_norm_). */
  clip?: number;
  /** `'accuracy'`: evaluation also counts argmax hits (cross-entropy). */
  metrics?: 'accuracy'[];
  callbacks?: Callback[];
  /** Truncated BPTT: each step's final state seeds the next step's forward (detached; not kept in checkpoints). */
  tbptt?: boolean;
  /** Read the loss every this many steps (default 10). */
  logEvery?: number;
}

export interface TrainerFitOptions {
  /** Steps to take from the current one; or `epochs` x data.stepsPerEpoch. */
  steps?: number;
  epochs?: number;
  signal?: AbortSignal;
  /** Held-out data evaluated at each epoch's end (or every `validationEvery` steps). */
  validation?: TrainData | null;
  validationEvery?: number;
  /** Batches per evaluation (default data.stepsPerEpoch, or 1). */
  validationSteps?: number;
  onStep?: (info: StepInfo) => void;
}

export interface TrainerFitResult {
  /** Steps taken by this call. */
  steps: number;
  aborted: boolean;
  /** Stopped by a callback (early stopping). */
  stopped: boolean;
  losses: { step: number; loss: number }[];
  evals: (EvalResult & { step: number })[];
}

interface Io {
  key: string;
  /** The model's output for these shapes was checked against the targets (see `probe`). */
  checked?: boolean;
  xs: Float32Array;
  ys: Float32Array;
  extras: Float32Array[];
  x: Tensor;
  y: Tensor;
  extra: Tensor[];
}

/** Ids an input must stay below, per input (the Embedding that reads it), where the model says. */
function inputVocabularies(model: Module): (number | null)[] {
  const m = model as Module & { inputVocabularies?: () => (number | null)[] };
  if (typeof m.inputVocabularies === 'function') return m.inputVocabularies();
  if (model instanceof Sequential && model.layers[0] instanceof Embedding) return [model.layers[0].numEmbeddings];
  if (model instanceof Embedding) return [model.numEmbeddings];
  return [];
}

function checkIds(what: string, a: Float32Array, n: number, ignore?: number): void {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v === ignore) continue;
    if (!Number.isInteger(v) || v < 0 || v >= n) throw new Error(`${what}[${i}] = ${v} is not a class id in 0..${n - 1}${ignore !== undefined ? ` (or ${ignore}, ignored)` : ''}`);
  }
}

export class Trainer {
  readonly rt: Runtime;
  readonly optimizer: Optimizer;
  readonly scheduler: Scheduler | null;
  readonly callbacks: Callback[];
  /** Steps taken so far (restored by loadCheckpoint). */
  step = 0;
  /** Epochs completed (when the data has stepsPerEpoch). */
  epoch = 0;
  /** Set by a callback to end `fit` after the current step. */
  stopTraining = false;
  private clipValue: number | undefined;
  private readonly lossFn: CrossEntropyLoss | MSELoss;
  private readonly evalLoss: CrossEntropyLoss | MSELoss;
  private io: Io | null = null;
  private evalIo: Io | null = null;
  private tokens: Tensor | null = null;
  private carry: { h?: Tensor; c?: Tensor } = {};
  private epochLosses: number[] = [];
  private readonly o: TrainerOptions;
  /** The model's input vocabularies, read once (its structure is fixed at construction). */
  private readonly vocabs: (number | null)[];
  private last: { loss: Tensor; norm: Tensor | null } | null = null;

  constructor(
    readonly model: TrainModel,
    o: TrainerOptions,
  ) {
    const who = 'Trainer';
    if (!model || typeof model.forward !== 'function' || typeof model.backward !== 'function' || typeof model.parameters !== 'function') {
      throw new Error(`${who}: model must be a Module with forward and backward`);
    }
    if (!o || (o.loss !== 'cross_entropy' && o.loss !== 'mse')) throw new Error(`${who}: loss must be 'cross_entropy' or 'mse', got '${String(o?.loss)}'`);
    if (!o.optimizer || !Array.isArray(o.optimizer.paramGroups)) throw new Error(`${who}: optimizer must be an Optimizer (e.g. new Adam(model.parameters(), { lr }))`);
    const mine = new Set(model.parameters().map((p) => p.value));
    for (const p of o.optimizer.params) if (!mine.has(p.value)) throw new Error(`${who}: the optimizer updates '${p.name}', which is not a parameter of the model`);
    if (o.clip !== undefined && !(typeof o.clip === 'number' && o.clip > 0)) throw new Error(`${who}: clip must be a number > 0, got ${String(o.clip)}`);
    const logEvery = o.logEvery ?? 10;
    if (!Number.isInteger(logEvery) || logEvery < 1) throw new Error(`${who}: logEvery must be an integer >= 1, got ${String(o.logEvery)}`);
    for (const m of o.metrics ?? []) if (m !== 'accuracy') throw new Error(`${who}: unknown metric '${String(m)}' (known: accuracy)`);
    if (o.metrics?.length && o.loss !== 'cross_entropy') throw new Error(`${who}: accuracy needs loss 'cross_entropy'`);
    this.o = { ...o, logEvery };
    this.clipValue = o.clip;
    this.rt = model.rt;
    this.optimizer = o.optimizer;
    this.scheduler = o.scheduler === undefined ? null : o.scheduler instanceof Scheduler ? o.scheduler : new Scheduler(o.optimizer, o.scheduler);
    if (this.scheduler && this.scheduler.optimizer !== o.optimizer) throw new Error(`${who}: the scheduler drives another optimizer`);
    this.callbacks = o.callbacks ?? [];
    const mk = () => (o.loss === 'cross_entropy' ? new CrossEntropyLoss(this.rt, { classDim: o.classDim ?? 'last', ignoreIndex: o.ignoreIndex }) : new MSELoss(this.rt));
    this.lossFn = mk();
    this.evalLoss = mk();
    this.vocabs = inputVocabularies(model);
  }

  /** The global-norm clipping limit (undefined: off); can be changed between steps. */
  get clip(): number | undefined {
    return this.clipValue;
  }
  set clip(v: number | undefined) {
    if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new Error(`Trainer: clip must be a number > 0 or undefined, got ${String(v)}`);
    this.clipValue = v;
  }

  /** Buffers for a data source's shapes (kept while the shapes stay). */
  private ioFor(data: TrainData, which: 'train' | 'eval'): Io {
    if (!data || !Array.isArray(data.xShape) || !Array.isArray(data.yShape) || typeof data.batch !== 'function') {
      throw new Error('Trainer: data must be a TrainData { xShape, yShape, batch(step, x, y, extra) }');
    }
    const shapes = [data.xShape, data.yShape, ...(data.extraShapes ?? [])];
    shapes.forEach((s) => {
      if (!s.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`Trainer: data shapes must be positive integers, got ${fmtShape(s)}`);
    });
    const key = shapes.map((s) => s.join('x')).join('|');
    const cur = which === 'train' ? this.io : this.evalIo;
    if (cur?.key === key) return cur;
    if (cur) for (const t of [cur.x, cur.y, ...cur.extra]) t.destroy();
    const io: Io = {
      key,
      xs: new Float32Array(numel(data.xShape)),
      ys: new Float32Array(numel(data.yShape)),
      extras: (data.extraShapes ?? []).map((s) => new Float32Array(numel(s))),
      x: this.rt.zeros(data.xShape, `Trainer.${which}.x`),
      y: this.rt.zeros(data.yShape, `Trainer.${which}.y`),
      extra: (data.extraShapes ?? []).map((s, i) => this.rt.zeros(s, `Trainer.${which}.extra${i}`)),
    };
    if (which === 'train') this.io = io;
    else this.evalIo = io;
    return io;
  }

  /** Fills and checks one batch on the host (before anything is recorded); returns the forward's options. */
  private load(data: TrainData, io: Io, step: number): Record<string, unknown> | undefined {
    const opts = data.batch(step, io.xs, io.ys, io.extras) ?? undefined;
    [io.xs, ...io.extras].forEach((a, i) => {
      const n = this.vocabs[i];
      if (n) checkIds(`Trainer: input ${i} (token ids) of step ${step}: x`, a, n);
    });
    if (this.o.loss === 'cross_entropy' && data.numClasses) checkIds(`Trainer: targets of step ${step}: y`, io.ys, data.numClasses, this.o.ignoreIndex);
    if (this.o.loss === 'mse') {
      const bad = io.ys.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new Error(`Trainer: targets of step ${step}: y[${bad}] = ${io.ys[bad]} is not finite`);
    }
    io.x.write(io.xs);
    io.y.write(io.ys);
    io.extra.forEach((t, i) => t.write(io.extras[i]!));
    return opts;
  }

  private applyLoss(fn: CrossEntropyLoss | MSELoss, out: Tensor, target: Tensor): LossResult {
    if (fn instanceof CrossEntropyLoss) {
      const classDim = this.o.classDim ?? 'last';
      const C = classDim === 1 ? out.shape[1]! : out.shape[out.ndim - 1]!;
      if (out.size / C !== target.size) {
        throw new Error(`Trainer: cross-entropy targets must hold one class per position: the model's output ${fmtShape(out.shape)} needs ${out.size / C}, the data's y is ${fmtShape(target.shape)}`);
      }
      return fn.forward(classDim === 1 ? out : out.reshape([out.size / C, C]), target.reshape([out.size / C]));
    }
    if (out.size !== target.size) throw new Error(`Trainer: MSE targets must match the model's output ${fmtShape(out.shape)}, the data's y is ${fmtShape(target.shape)}`);
    return fn.forward(out, target.reshape(out.shape));
  }

  /** Classes of the model's output, checked against the targets once it is known. */
  private checkTargets(out: Tensor, ys: Float32Array, step: number): void {
    if (this.o.loss !== 'cross_entropy') return;
    const C = (this.o.classDim ?? 'last') === 1 ? out.shape[1]! : out.shape[out.ndim - 1]!;
    checkIds(`Trainer: targets of step ${step}: y`, ys, C, this.o.ignoreIndex);
  }

  /**
   * Once per data shape: records the forward in eval mode (no dropout counter
   * moves) and the loss's shape checks, then drops the recording. A model
   * re-plans for new shapes, which submits what the step had recorded so far
   * (a dropout counter bump among it): a mismatch found only inside the
   * training step would leave the run changed although the step was refused.
   */
  private probe(io: Io, opts: Record<string, unknown> | undefined, step: number): void {
    if (io.checked) return;
    const wasTraining = this.model.training;
    this.rt.submit();
    this.model.eval();
    try {
      const out = outputOf(this.forward(io, opts), `${this.model.constructor.name}.forward`);
      this.checkTargets(out, io.ys, step);
      this.applyLoss(this.evalLoss, out, io.y);
    } finally {
      this.rt.recorder.discard();
      this.model.train(wasTraining);
    }
    io.checked = true;
  }

  private forward(io: Io, opts: Record<string, unknown> | undefined): ReturnType<TrainModel['forward']> {
    const args: unknown[] = [io.x, ...io.extra];
    const state = this.o.tbptt && this.carry.h ? { h0: this.carry.h, c0: this.carry.c } : undefined;
    if (opts || state) args.push({ ...(opts ?? {}), ...(state ?? {}) });
    return this.model.forward(...args);
  }

  /** Records one training step into the current step: zeroGrad, forward, loss, backward, clipping, the update. */
  private record(io: Io, opts: Record<string, unknown> | undefined, s: number): { loss: Tensor; norm: Tensor | null } {
    this.model.zeroGrad();
    const r = this.forward(io, opts);
    const out = outputOf(r, `${this.model.constructor.name}.forward`);
    this.checkTargets(out, io.ys, s);
    const l = this.applyLoss(this.lossFn, out, io.y);
    this.model.backward(l.grad.reshape(out.shape));
    const norm = this.clipValue !== undefined ? clipGradNorm(this.rt, this.model.gradientArenas(), this.clipValue) : null;
    this.optimizer.step();
    if (this.o.tbptt) {
      const st = r as { h?: Tensor; c?: Tensor };
      this.carry = { h: st.h, c: st.c };
    }
    this.last = { loss: l.loss, norm };
    return this.last;
  }

  /**
   * One training step of `data` at `this.step`, synchronously: the batch
   * uploaded and checked, the step recorded and submitted once, nothing read
   * back (for benchmarks and loops of one's own; `lastLoss()` reads it).
   * Returns the step's dispatch, pass, submit and copy counts.
   */
  runStep(data: TrainData): Counters {
    const io = this.ioFor(data, 'train');
    const s = this.step;
    this.scheduler?.setStep(s);
    const opts = this.load(data, io, s);
    this.probe(io, opts, s);
    const counts = this.rt.step(() => void this.record(io, opts, s));
    this.step++;
    return counts;
  }

  /** The mean loss and the gradient norm (before clipping; NaN without `clip`) of the last step recorded. */
  async lastLoss(): Promise<{ loss: number; gradNorm: number }> {
    if (!this.last) throw new Error('Trainer.lastLoss: no step recorded yet');
    const [lv, nv] = await Promise.all([this.last.loss.read(), this.last.norm?.read()]);
    return { loss: lv[0]!, gradNorm: nv ? nv[0]! : NaN };
  }

  /**
   * Trains `steps` more steps (or `epochs` more epochs) from `this.step`.
   * Resolves when every loss read has; rejects on bad data before anything
   * of that step is dispatched, and on a GPU failure (after settling every
   * read: nothing is left unhandled).
   */
  async fit(data: TrainData, f: TrainerFitOptions = {}): Promise<TrainerFitResult> {
    const rt = this.rt;
    let steps = f.steps;
    if (steps === undefined && f.epochs !== undefined) {
      if (!data?.stepsPerEpoch) throw new Error('Trainer.fit: epochs needs data.stepsPerEpoch');
      if (!Number.isInteger(f.epochs) || f.epochs < 0) throw new Error(`Trainer.fit: epochs must be an integer >= 0, got ${f.epochs}`);
      steps = f.epochs * data.stepsPerEpoch;
    }
    if (steps === undefined || !Number.isSafeInteger(steps) || steps < 0) throw new Error(`Trainer.fit: steps (or epochs) must give an integer number of steps >= 0, got ${String(steps)}`);
    if (f.validationEvery !== undefined && !(Number.isInteger(f.validationEvery) && f.validationEvery >= 1)) throw new Error(`Trainer.fit: validationEvery must be an integer >= 1, got ${f.validationEvery}`);
    const io = this.ioFor(data, 'train');
    const logEvery = this.o.logEvery!;
    const losses: { step: number; loss: number }[] = [];
    const evals: (EvalResult & { step: number })[] = [];
    const reads: Promise<void>[] = [];
    let readError: unknown = null;
    const t0 = performance.now();
    const start = this.step;
    const end = start + steps;
    let aborted = false;
    this.stopTraining = false;
    const spe = data.stepsPerEpoch;
    this.model.train();
    try {
      while (this.step < end) {
        if (f.signal?.aborted) {
          aborted = true;
          break;
        }
        const s = this.step;
        this.scheduler?.setStep(s);
        const opts = this.load(data, io, s);
        this.probe(io, opts, s);
        const log = s % logEvery === 0 || s === end - 1;
        const lr = this.optimizer.lr;
        rt.step(() => {
          const { loss, norm } = this.record(io, opts, s);
          if (log) {
            const epoch = this.epoch;
            const read = Promise.all([loss.read(), norm?.read()]).then(([lv, nv]) => {
              const info: StepInfo = { step: s, epoch, loss: lv[0]!, lr, stepsPerSecond: (s + 1 - start) / ((performance.now() - t0) / 1000) };
              if (nv) info.gradNorm = nv[0]!;
              losses.push({ step: s, loss: info.loss });
              this.epochLosses.push(info.loss);
              f.onStep?.(info);
              for (const c of this.callbacks) c.onStepEnd?.(this, info);
            });
            // Settled here so that a GPU failure is one rejection of fit, never an unhandled one.
            reads.push(read.catch((e: unknown) => void (readError ??= e)));
          }
        });
        this.step++;
        if (readError) throw readError;
        if (spe && this.step % spe === 0) {
          await Promise.all(reads.splice(0));
          if (readError) throw readError;
          const info: EpochInfo = { epoch: this.epoch, step: this.step, loss: mean(this.epochLosses) };
          this.epochLosses = [];
          this.epoch++;
          if (f.validation && f.validationEvery === undefined) {
            info.val = await this.runEval(f.validation, f.validationSteps, evals);
          }
          for (const c of this.callbacks) await c.onEpochEnd?.(this, info);
        }
        if (f.validation && f.validationEvery !== undefined && (this.step - start) % f.validationEvery === 0) {
          await this.runEval(f.validation, f.validationSteps, evals);
        }
        if (this.stopTraining) break;
        // Yield to the event loop now and then (a page stays responsive; aborts are seen).
        if (s % logEvery === logEvery - 1) await new Promise((r) => setTimeout(r, 0));
      }
      await Promise.all(reads);
      if (readError) throw readError;
      await rt.sync();
    } catch (e) {
      await Promise.allSettled(reads);
      throw e;
    }
    losses.sort((a, b) => a.step - b.step);
    return { steps: this.step - start, aborted, stopped: this.stopTraining, losses, evals };
  }

  private async runEval(data: TrainData, steps: number | undefined, evals: (EvalResult & { step: number })[]): Promise<EvalResult> {
    const r = { ...(await this.evaluate(data, { steps })), step: this.step };
    evals.push(r);
    for (const c of this.callbacks) await c.onEvaluate?.(this, r);
    return r;
  }

  /**
   * Mean loss (and accuracy with metrics ['accuracy']) over `steps` batches
   * of `data` (default one epoch, or 1), in eval mode (no dropout); the
   * previous mode is restored. The model's gradients are not touched.
   */
  async evaluate(data: TrainData, o: { steps?: number } = {}): Promise<EvalResult> {
    const steps = o.steps ?? data?.stepsPerEpoch ?? 1;
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`Trainer.evaluate: steps must be an integer >= 1, got ${steps}`);
    const io = this.ioFor(data, 'eval');
    const wasTraining = this.model.training;
    const accuracy = (this.o.metrics ?? []).includes('accuracy');
    this.model.eval();
    let total = 0;
    let count = 0;
    let hits = 0;
    try {
      for (let s = 0; s < steps; s++) {
        const opts = this.load(data, io, s);
        let lr: LossResult | null = null;
        let tok: Tensor | null = null;
        this.rt.step(() => {
          const out = outputOf(this.forward(io, opts), `${this.model.constructor.name}.forward`);
          this.checkTargets(out, io.ys, s);
          lr = this.applyLoss(this.evalLoss, out, io.y);
          if (accuracy) tok = this.argmax(out);
        });
        const [lv, cv, tv] = await Promise.all([lr!.loss.read(), lr!.count.read(), tok ? (tok as Tensor).read() : null]);
        total += lv[0]! * cv[0]!;
        count += cv[0]!;
        if (tv) for (let i = 0; i < tv.length; i++) if (io.ys[i] !== this.o.ignoreIndex && tv[i] === io.ys[i]) hits++;
      }
    } finally {
      this.model.train(wasTraining);
    }
    return { loss: count ? total / count : NaN, count, ...(accuracy ? { accuracy: count ? hits / count : NaN } : {}) };
  }

  /** Argmax per position of the output (classes last; [B, C, T] is not supported). */
  private argmax(out: Tensor): Tensor {
    if ((this.o.classDim ?? 'last') !== 'last') throw new Error("Trainer: accuracy needs classDim 'last'");
    const C = out.shape[out.ndim - 1]!;
    const N = out.size / C;
    if (!this.tokens || this.tokens.size !== N) {
      this.tokens?.destroy();
      this.tokens = this.rt.zeros([1, N], 'Trainer.argmax');
    }
    pickTokens(this.rt, this.tokens, out.reshape([N, C]), { mode: 'argmax', seed: 0, step: 0 });
    return this.tokens;
  }

  /**
   * A checkpoint of everything a resumed run needs: the model's parameters,
   * the optimizer's state, the schedule, step and epoch, the GPU dropout
   * streams and the callbacks' state (early stopping's best), plus `metadata`.
   */
  saveCheckpoint(o: { metadata?: Record<string, string>; rng?: Record<string, number> } = {}): Promise<Uint8Array> {
    const cb: Record<string, unknown> = {};
    this.callbacks.forEach((c, i) => {
      if (c.state) cb[String(i)] = c.state();
    });
    return saveCheckpoint(this.model, this.optimizer, {
      step: this.step,
      epoch: this.epoch,
      ...(this.scheduler ? { scheduler: this.scheduler.stateDict() } : {}),
      trainer: { callbacks: cb },
      ...(o.rng ? { rng: o.rng } : {}),
      metadata: o.metadata,
    });
  }

  /** Restores a `saveCheckpoint()` file: the run continues from its step, epoch and schedule. Nothing changes if the file does not fit. */
  async loadCheckpoint(bytes: Uint8Array | ArrayBuffer): Promise<LoadedCheckpoint> {
    const c = await loadCheckpoint(bytes, this.model, this.optimizer);
    this.step = c.step;
    this.epoch = c.epoch;
    this.carry = {};
    this.epochLosses = [];
    if (this.scheduler) this.scheduler.setStep(c.scheduler?.last_epoch ?? c.step);
    const cb = (c.trainer?.callbacks ?? {}) as Record<string, Record<string, unknown>>;
    this.callbacks.forEach((k, i) => {
      if (k.loadState && cb[String(i)]) k.loadState(cb[String(i)]!);
    });
    return c;
  }

  /** Frees the trainer's own buffers (not the model's or the optimizer's). */
  destroy(): void {
    this.rt.submit();
    for (const io of [this.io, this.evalIo]) if (io) for (const t of [io.x, io.y, ...io.extra]) t.buffer.destroy();
    this.io = this.evalIo = null;
    this.tokens?.buffer.destroy();
    this.tokens = null;
    this.lossFn.destroy();
    this.evalLoss.destroy();
  }
}

const mean = (a: number[]): number => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : NaN);

/**
 * Keras's EarlyStopping: ends `fit` when the monitored validation value has
 * not improved by `minDelta` for `patience` epochs (or evaluations). Its
 * best and wait count are kept in checkpoints.
 */
export class EarlyStopping implements Callback {
  readonly monitor: 'val_loss' | 'val_accuracy';
  readonly patience: number;
  readonly minDelta: number;
  best = Infinity;
  wait = 0;
  stoppedAt: number | null = null;
  constructor(o: { monitor?: 'val_loss' | 'val_accuracy'; patience?: number; minDelta?: number } = {}) {
    this.monitor = o.monitor ?? 'val_loss';
    if (this.monitor !== 'val_loss' && this.monitor !== 'val_accuracy') throw new Error(`EarlyStopping: monitor must be 'val_loss' or 'val_accuracy', got '${String(o.monitor)}'`);
    this.patience = o.patience ?? 0;
    this.minDelta = o.minDelta ?? 0;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new Error(`EarlyStopping: patience must be an integer >= 0, got ${o.patience}`);
    if (!(this.minDelta >= 0)) throw new Error(`EarlyStopping: minDelta must be >= 0, got ${o.minDelta}`);
  }
  onEvaluate(trainer: Trainer, r: EvalResult & { step: number }): void {
    // Lower is better: the loss, or minus the accuracy.
    const v = this.monitor === 'val_loss' ? r.loss : -(r.accuracy ?? NaN);
    if (!Number.isFinite(v)) return;
    if (v < this.best - this.minDelta) {
      this.best = v;
      this.wait = 0;
      return;
    }
    this.wait++;
    if (this.wait > this.patience) {
      this.stoppedAt = trainer.step;
      trainer.stopTraining = true;
    }
  }
  state(): Record<string, unknown> {
    return { best: Number.isFinite(this.best) ? this.best : null, wait: this.wait };
  }
  loadState(s: Record<string, unknown>): void {
    this.best = typeof s.best === 'number' ? s.best : Infinity;
    this.wait = typeof s.wait === 'number' ? s.wait : 0;
  }
}
