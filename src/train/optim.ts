/**
 * Optimizers with torch.optim semantics (SGD, Adam, AdamW), each fused into
 * one WGSL dispatch over a whole parameter arena, and gradient clipping on the
 * GPU (clip_grad_norm_, clip_grad_value_). See shaders/optim.wgsl.
 *
 * Per `step()`: one tiny dispatch advancing the GPU-side step counter (and
 * Adam's bias corrections), then one dispatch updating every parameter:
 * 2 dispatches, no read-back, no buffer created, no new uniform slot after
 * the first step.
 *
 * The learning rate is a host-side value written into the optimizer's small
 * "hyper" buffer (`lr` setter / `setLr`) when it changes. That write submits
 * work already recorded (see `Tensor.write`), so change the lr between steps,
 * before recording the next one (what `Scheduler.step()` after `rt.step(...)`
 * does); setting an unchanged lr writes nothing.
 */
import type { KernelDesc, Params } from '../kernel.js';
import { fill, sumSquares } from '../ops.js';
import type { Runtime } from '../runtime.js';
import type { Dispatch } from '../scheduler.js';
import { Arena, Tensor, fmtShape } from '../tensor.js';
import { cdiv, fold } from '../util.js';

const WG = 64;

const descs = new Map<string, KernelDesc>();
function desc(entry: string): KernelDesc {
  let d = descs.get(entry);
  if (!d) {
    const one = entry === 'bump' || entry === 'clip_norm_finalize';
    d = {
      name: `optim_${entry}`,
      shader: 'optim',
      entry,
      overrides: one ? {} : { WG },
      grid: one ? () => [1] : (p: Params) => fold(cdiv(p.n!, WG)),
      extents: one
        ? () => ({ hyperW: 5 })
        : (p: Params) => ({ p: p.n!, g: p.n!, m: p.n!, v: p.n!, vmax: p.n!, grad: p.n!, hyper: 5 }),
    };
    descs.set(entry, d);
  }
  return d;
}

/** Slots of the hyper buffer (see shaders/optim.wgsl). */
const H_STEP = 0;
const H_LR = 1;
const H_DECAY = 2;
const H_BC1 = 3;
const H_BC2 = 4;
const H_SIZE = 8;

/** A flat checkpoint value: an array of the arena's whole length, or a tensor of that size. */
export type StateValue = ArrayLike<number> | Tensor;

function checkLr(what: string, v: number, name = 'lr'): void {
  if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${what}: ${name} must be a finite number >= 0, got ${v}`);
}

/**
 * What SGD, Adam and AdamW share: the parameter and gradient arenas, the
 * hyper buffer (step, lr, decay factor, bias corrections), the bound
 * dispatches, and the state used by checkpoints.
 */
export abstract class Optimizer {
  /** `[8]`: step, lr, decoupled decay factor, 1 - beta1^t, 1 - beta2^t (own buffer). */
  readonly hyper: Tensor;
  /** The lr the optimizer was created with (schedules scale it). */
  readonly baseLr: number;
  protected lrValue: number;
  private bumpD: Dispatch | null = null;
  private updateD: Dispatch | null = null;
  /** Host mirror of the step count, for `setState` round trips and schedules. */
  protected stepsRecorded = 0;

  constructor(
    readonly rt: Runtime,
    readonly params: Arena,
    readonly grads: Arena,
    lr: number,
    protected readonly name: string,
  ) {
    checkLr(name, lr);
    if (!(params instanceof Arena) || !(grads instanceof Arena)) {
      throw new Error(`${name}: params and grads must be Arenas (rt.arena(table)); use the same table for both`);
    }
    if (params.buffer === grads.buffer) throw new Error(`${name}: params and grads must be different arenas`);
    if (params.all.size !== grads.all.size || !sameLayout(params, grads)) {
      throw new Error(
        `${name}: grads ${grads.label} ${fmtShape(grads.all.shape)} must have the layout of params ${params.label} ${fmtShape(params.all.shape)} (make both with one table)`,
      );
    }
    this.baseLr = lr;
    this.lrValue = lr;
    this.hyper = rt.zeros([H_SIZE], `${name}.hyper`);
  }

  /** A state arena laid out like the parameters (zero). */
  protected stateArena(label: string): Arena {
    return this.rt.arena(this.params.table, `${this.name}.${label}`);
  }

  /** Writes step, lr, decay and the bias corrections for `step` completed steps. */
  protected writeHyper(step: number): void {
    const [c1, c2] = this.betaComplements();
    const h = new Float32Array(H_SIZE);
    h[H_STEP] = step;
    h[H_LR] = this.lrValue;
    h[H_DECAY] = this.decayFactor(this.lrValue);
    // 1 - beta^t in float64 (PyTorch computes it in Python floats).
    h[H_BC1] = c1 ? 1 - (1 - c1) ** step : 0;
    h[H_BC2] = c2 ? 1 - (1 - c2) ** step : 0;
    this.hyper.write(h);
    this.stepsRecorded = step;
  }

  /** `[1 - beta1, 1 - beta2]` (0 where there is no bias correction). */
  protected betaComplements(): [number, number] {
    return [0, 0];
  }

  /** AdamW's `1 - lr * weight_decay` (1 otherwise). */
  protected decayFactor(_lr: number): number {
    return 1;
  }

  protected abstract updateEntry(): string;
  protected abstract updateTensors(): Record<string, Tensor>;
  protected abstract updateParams(): Params;

  get lr(): number {
    return this.lrValue;
  }

  /** Sets the learning rate of the next steps (a write to the hyper buffer when it changes; do it between steps). */
  set lr(v: number) {
    checkLr(this.name, v);
    if (v === this.lrValue) return;
    this.lrValue = v;
    this.hyper.view([2], H_LR, `${this.name}.lr`).write([v, this.decayFactor(v)]);
  }

  setLr(v: number): void {
    this.lr = v;
  }

  /** Steps recorded so far (host mirror of `hyper[0]`, exact while the GPU's f32 counter is, below 2^24). */
  get stepCount(): number {
    return this.stepsRecorded;
  }

  /** Records one optimizer step into the current step: bump the counter, update every parameter. */
  step(): void {
    if (!this.updateD) {
      const [c1, c2] = this.betaComplements();
      this.bumpD = this.rt.bind(desc('bump'), { hyperW: this.hyper }, { c1, c2 });
      this.updateD = this.rt.bind(desc(this.updateEntry()), { ...this.updateTensors(), hyper: this.hyper }, {
        n: this.params.all.size,
        ...this.updateParams(),
      });
    }
    this.rt.run(this.bumpD!);
    this.rt.run(this.updateD);
    this.stepsRecorded++;
  }

  /** `grads = 0` over the whole gradient arena (one dispatch). */
  zeroGrad(): void {
    fill(this.rt, this.grads.all, 0);
  }

  /** The state arenas by PyTorch's state names (`exp_avg`, `momentum_buffer`, ...). */
  abstract get state(): Readonly<Record<string, Arena>>;

  /** Frees the optimizer's own buffers (its state and hyper buffer; not the parameters or gradients). */
  destroy(): void {
    for (const a of Object.values(this.state)) a.destroy();
    this.hyper.destroy();
    this.bumpD = this.updateD = null;
  }

  /**
   * The state to save: each state arena as one flat tensor (padding
   * included), and `step` (`[1]`, a view of the hyper buffer).
   */
  stateTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, a] of Object.entries(this.state)) out[k] = a.all;
    out.step = this.hyper.view([1], H_STEP, `${this.name}.step`);
    return out;
  }

  /** Downloads `stateTensors()` (one read each). */
  async stateDict(): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(this.stateTensors())) out[k] = await t.read();
    return out;
  }

  /**
   * Restores what `stateTensors()` / `stateDict()` gave: every state name,
   * each a flat array (or tensor) of the arena's length, and `step` (a number,
   * or a one-element array/tensor). Submits pending work first; not inside a step.
   */
  async loadState(state: Record<string, StateValue | number>): Promise<void> {
    const names = Object.keys(this.state);
    for (const k of Object.keys(state)) {
      if (k !== 'step' && !names.includes(k)) {
        throw new Error(`${this.name}.loadState: unknown state '${k}'; expected ${[...names, 'step'].join(', ')}`);
      }
    }
    for (const k of [...names, 'step']) {
      if (!(k in state)) throw new Error(`${this.name}.loadState: '${k}' is missing`);
    }
    for (const k of names) {
      const dst = this.state[k]!.all;
      const v = state[k] as StateValue;
      const data = v instanceof Tensor ? await v.read() : v;
      if (typeof data === 'number' || data.length !== dst.size) {
        throw new Error(`${this.name}.loadState: '${k}' must hold ${dst.size} values (the whole arena), got ${typeof data === 'number' ? 'a number' : data.length}`);
      }
      dst.write(data);
    }
    const s = state.step!;
    const step = typeof s === 'number' ? s : s instanceof Tensor ? (await s.read())[0]! : s[0]!;
    if (!Number.isInteger(step) || step < 0) throw new Error(`${this.name}.loadState: step must be an integer >= 0, got ${step}`);
    this.writeHyper(step);
  }

  /** `loadState` under PyTorch-like naming. */
  setState(state: Record<string, StateValue | number>): Promise<void> {
    return this.loadState(state);
  }
}

function sameLayout(a: Arena, b: Arena): boolean {
  const ka = Object.keys(a.table);
  const kb = Object.keys(b.table);
  if (ka.length !== kb.length) return false;
  return ka.every((k, i) => kb[i] === k && a.offsets[k] === b.offsets[k] && a.tensors[k]!.size === b.tensors[k]!.size);
}

// ---------------------------------------------------------------------- SGD

export interface SGDOptions {
  /** Default 1e-3 (PyTorch 2.x). */
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

/** torch.optim.SGD: the same update, options and defaults; state `momentum_buffer` when momentum != 0. */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  readonly maximize: boolean;
  private readonly buf: Arena | null;

  constructor(rt: Runtime, params: Arena, grads: Arena, o: SGDOptions = {}) {
    super(rt, params, grads, o.lr ?? 1e-3, 'SGD');
    this.momentum = o.momentum ?? 0;
    this.dampening = o.dampening ?? 0;
    this.weightDecay = o.weightDecay ?? 0;
    this.nesterov = !!o.nesterov;
    this.maximize = !!o.maximize;
    for (const [k, v] of Object.entries({ momentum: this.momentum, weightDecay: this.weightDecay })) {
      if (!(Number.isFinite(v) && v >= 0)) throw new Error(`SGD: ${k} must be >= 0, got ${v}`);
    }
    if (!Number.isFinite(this.dampening)) throw new Error(`SGD: dampening must be finite, got ${this.dampening}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error('SGD: nesterov momentum requires a momentum > 0 and zero dampening');
    }
    this.buf = this.momentum !== 0 ? this.stateArena('momentum_buffer') : null;
    this.writeHyper(0);
  }

  get state(): Readonly<Record<string, Arena>> {
    return this.buf ? { momentum_buffer: this.buf } : {};
  }

  protected updateEntry(): string {
    return this.buf ? 'sgd_momentum' : 'sgd';
  }

  protected updateTensors(): Record<string, Tensor> {
    const t: Record<string, Tensor> = { p: this.params.all, g: this.grads.all };
    if (this.buf) t.m = this.buf.all;
    return t;
  }

  protected updateParams(): Params {
    return {
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov ? 1 : 0,
      maximize: this.maximize ? 1 : 0,
    };
  }
}

// --------------------------------------------------------------- Adam, AdamW

export interface AdamOptions {
  /** Default 1e-3. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Adam: L2 added to the gradient, default 0. AdamW: decoupled, default 1e-2. */
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

/** torch.optim.Adam: L2 weight decay added to the gradient; state `exp_avg`, `exp_avg_sq` (+ `max_exp_avg_sq`). */
export class Adam extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  readonly maximize: boolean;
  readonly expAvg: Arena;
  readonly expAvgSq: Arena;
  readonly maxExpAvgSq: Arena | null;

  constructor(rt: Runtime, params: Arena, grads: Arena, o: AdamOptions = {}, protected readonly decoupled = false) {
    super(rt, params, grads, o.lr ?? 1e-3, decoupled ? 'AdamW' : 'Adam');
    this.betas = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? (decoupled ? 1e-2 : 0);
    this.amsgrad = !!o.amsgrad;
    this.maximize = !!o.maximize;
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new Error(`${this.name}: betas must be in [0, 1), got [${b1}, ${b2}]`);
    if (!(this.eps >= 0)) throw new Error(`${this.name}: eps must be >= 0, got ${this.eps}`);
    if (!(Number.isFinite(this.weightDecay) && this.weightDecay >= 0)) {
      throw new Error(`${this.name}: weightDecay must be >= 0, got ${this.weightDecay}`);
    }
    this.expAvg = this.stateArena('exp_avg');
    this.expAvgSq = this.stateArena('exp_avg_sq');
    this.maxExpAvgSq = this.amsgrad ? this.stateArena('max_exp_avg_sq') : null;
    this.writeHyper(0);
  }

  get state(): Readonly<Record<string, Arena>> {
    const s: Record<string, Arena> = { exp_avg: this.expAvg, exp_avg_sq: this.expAvgSq };
    if (this.maxExpAvgSq) s.max_exp_avg_sq = this.maxExpAvgSq;
    return s;
  }

  protected override betaComplements(): [number, number] {
    return [1 - this.betas[0], 1 - this.betas[1]];
  }

  protected override decayFactor(lr: number): number {
    return this.decoupled ? 1 - lr * this.weightDecay : 1;
  }

  protected updateEntry(): string {
    return this.amsgrad ? 'adam_amsgrad' : 'adam';
  }

  protected updateTensors(): Record<string, Tensor> {
    const t: Record<string, Tensor> = { p: this.params.all, g: this.grads.all, m: this.expAvg.all, v: this.expAvgSq.all };
    if (this.maxExpAvgSq) t.vmax = this.maxExpAvgSq.all;
    return t;
  }

  protected updateParams(): Params {
    const [b1, b2] = this.betas;
    return {
      w1: 1 - b1,
      beta2: b2,
      w2: 1 - b2,
      eps: this.eps,
      weightDecay: this.decoupled ? 0 : this.weightDecay,
      decoupled: this.decoupled ? 1 : 0,
      maximize: this.maximize ? 1 : 0,
    };
  }
}

/** torch.optim.AdamW: decoupled weight decay (`p *= 1 - lr * wd` before the Adam update), default 1e-2. */
export class AdamW extends Adam {
  constructor(rt: Runtime, params: Arena, grads: Arena, o: AdamOptions = {}) {
    super(rt, params, grads, o, true);
  }
}

// ----------------------------------------------------------------- clipping

type GradList = readonly (Tensor | Arena)[];

function flatGrads(what: string, grads: GradList): Tensor[] {
  if (!grads.length) throw new Error(`${what}: grads is empty`);
  return grads.map((g, i) => {
    const t = g instanceof Arena ? g.all : g;
    if (!(t instanceof Tensor)) throw new Error(`${what}: grads[${i}] must be a Tensor or an Arena`);
    return t;
  });
}

const normScratch = new WeakMap<Runtime, Tensor>();

/**
 * torch.nn.utils.clip_grad_norm_(grads, maxNorm, norm_type=2) on the GPU:
 * total = sqrt(sum of g^2 over every tensor) into `out[0]`, then every
 * gradient times min(1, maxNorm / (total + 1e-6)), read from the buffer (no
 * read-back; below the limit the gradients are untouched, bit for bit).
 * Returns the norm tensor `[1]` (`await norm.read()` to log it). Without
 * `out`, a tensor shared by every call on this runtime (made on the first
 * call) is returned: pass `out` to keep a norm past the next call.
 * Dispatches: one partial sum per tensor + 1 (sumSquares), 1 square root,
 * one scale per tensor (an arena counts as one tensor).
 */
export function clipGradNorm(rt: Runtime, grads: GradList, maxNorm: number, out?: Tensor): Tensor {
  if (!(maxNorm >= 0)) throw new Error(`clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`);
  const ts = flatGrads('clipGradNorm', grads);
  let norm = out;
  if (!norm) {
    norm = normScratch.get(rt);
    if (!norm) normScratch.set(rt, (norm = rt.zeros([1], 'clipGradNorm.norm')));
  }
  if (norm.size < 1) throw new Error(`clipGradNorm: out must hold 1 element, got ${fmtShape(norm.shape)}`);
  const n1 = norm.size === 1 ? norm : norm.view([1], 0);
  sumSquares(rt, n1, ts);
  rt.dispatch(desc('clip_norm_finalize'), { normW: n1 }, { n: 1, limit: 0 });
  for (const g of ts) rt.dispatch(desc('clip_norm_scale'), { grad: g, norm: n1 }, { n: g.size, limit: maxNorm });
  return n1;
}

/** torch.nn.utils.clip_grad_value_: every gradient clamped to [-clipValue, clipValue] (one dispatch per tensor). */
export function clipGradValue(rt: Runtime, grads: GradList, clipValue: number): void {
  if (!(clipValue >= 0)) throw new Error(`clipGradValue: clipValue must be >= 0, got ${clipValue}`);
  for (const g of flatGrads('clipGradValue', grads)) rt.dispatch(desc('clip_value'), { grad: g }, { n: g.size, limit: clipValue });
}
