/**
 * Optimizers with torch.optim's signatures and semantics (SGD, Adam, AdamW)
 * over a model's parameters, and gradient clipping on the GPU
 * (clip_grad_norm_, clip_grad_value_). See shaders/optim.wgsl.
 *
 *     const opt = new Adam(model.parameters(), { lr: 1e-3 });
 *     const opt2 = new AdamW([{ params: weights, weightDecay: 0.1 }, { params: biases, weightDecay: 0 }], { lr: 1e-3 });
 *
 * Fused: the parameters of a group that lie next to each other in one buffer
 * (a module's whole arena, usually) are updated by one dispatch. Per
 * `step()`: one tiny dispatch per group advancing its GPU-side step counter
 * (and Adam's bias corrections), then one update dispatch per contiguous run
 * of parameters: with one group over a model of k modules, 1 + k dispatches;
 * no read-back, no buffer created, no new uniform slot after the first step.
 *
 * Each group's learning rate is a host value written into the group's small
 * "hyper" buffer when it changes. That write submits work already recorded
 * (see `Tensor.write`), so change it between steps, before recording the next
 * one (what a Scheduler does); setting an unchanged lr writes nothing.
 *
 * `stateDict()` is PyTorch's layout: `{ state: { [index]: { step, exp_avg, ... } },
 * param_groups: [{ lr, betas, ..., params: [indices], param_names }] }`.
 */
import type { KernelDesc, Params } from '../kernel.js';
import { fill, sumSquares } from '../ops.js';
import type { Runtime } from '../runtime.js';
import type { Dispatch } from '../scheduler.js';
import { Arena, Tensor, fmtShape } from '../tensor.js';
import type { Parameter } from '../nn/module.js';
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

function checkLr(what: string, v: unknown, name = 'lr'): number {
  if (typeof v !== 'number' || !(Number.isFinite(v) && v >= 0)) throw new Error(`${what}: ${name} must be a finite number >= 0, got ${String(v)}`);
  return v;
}

/** A parameter group as given to an optimizer: its parameters and any options that differ from the defaults. */
export type ParamGroupSpec<O> = { params: Parameter[] } & O;

/** Parameters that lie next to each other in one buffer (gaps only of alignment padding), updated by one dispatch. */
export interface ParamRun {
  /** The run's values and gradients as flat tensors. */
  value: Tensor;
  grad: Tensor;
  params: Parameter[];
}

function isParameter(p: unknown): p is Parameter {
  return !!p && typeof p === 'object' && (p as Parameter).value instanceof Tensor && (p as Parameter).grad instanceof Tensor;
}

/**
 * Splits parameters into runs of neighbours: same value buffer, same grad
 * buffer, the grad at the same distance from its value, and only alignment
 * padding (zero, never written) between one and the next. The padding inside
 * a run is updated with zeros and stays zero.
 */
export function contiguousRuns(params: readonly Parameter[], align: number): ParamRun[] {
  // Each buffer's parameters together (buffers in first-seen order), by offset.
  const order = new Map<GPUBuffer, number>();
  params.forEach((p) => order.has(p.value.buffer) || order.set(p.value.buffer, order.size));
  const sorted = [...params].sort((a, b) => order.get(a.value.buffer)! - order.get(b.value.buffer)! || a.value.byteOffset - b.value.byteOffset);
  const runs: { start: Parameter; end: Parameter; params: Parameter[] }[] = [];
  for (const p of sorted) {
    const r = runs[runs.length - 1];
    if (r) {
      const prevEnd = r.end.value.byteOffset + r.end.value.byteLength;
      const gap = p.value.byteOffset - prevEnd;
      const same =
        p.value.buffer === r.end.value.buffer &&
        p.grad.buffer === r.end.grad.buffer &&
        p.grad.byteOffset - p.value.byteOffset === r.start.grad.byteOffset - r.start.value.byteOffset &&
        gap >= 0 &&
        gap < align &&
        p.value.byteOffset % align === 0;
      if (same) {
        r.end = p;
        r.params.push(p);
        continue;
      }
    }
    runs.push({ start: p, end: p, params: [p] });
  }
  return runs.map(({ start, end, params: ps }) => {
    const n = (end.value.byteOffset + end.value.byteLength - start.value.byteOffset) / 4;
    const rt = start.value.rt;
    return {
      value: new Tensor(rt, start.value.buffer, start.value.byteOffset, [n], `${start.name}..${end.name}`),
      grad: new Tensor(rt, start.grad.buffer, start.grad.byteOffset, [n], `${start.name}..${end.name}.grad`),
      params: ps,
    };
  });
}

/** Hyperparameters of a group, as numbers and flags (PyTorch's names are derived for the state dict). */
type GroupOptions = Record<string, number | boolean | [number, number]>;

/**
 * One parameter group: its parameters, hyperparameters and hyper buffer
 * (step, lr, decay factor, bias corrections), as `optimizer.paramGroups[i]`.
 * `lr` can be set between steps (a schedule does it).
 */
export class ParamGroup {
  readonly params: Parameter[];
  /** The group's hyperparameters (defaults merged with the group's own). */
  readonly options: Readonly<GroupOptions>;
  /** `[8]` on the GPU: step, lr, decoupled decay factor, 1 - beta1^t, 1 - beta2^t. */
  readonly hyper: Tensor;
  /** The lr at construction (a schedule scales it; PyTorch's initial_lr). */
  initialLr: number;
  readonly runs: ParamRun[];
  private lrValue: number;

  constructor(
    private readonly opt: Optimizer,
    params: Parameter[],
    options: GroupOptions,
    index: number,
  ) {
    this.params = params;
    this.options = options;
    this.lrValue = checkLr(`${opt.name}: param group ${index}`, options.lr);
    this.initialLr = this.lrValue;
    const rt = opt.rt;
    this.hyper = rt.zeros([H_SIZE], `${opt.name}.group${index}.hyper`);
    this.runs = contiguousRuns(params, rt.limits.minStorageBufferOffsetAlignment);
  }

  get lr(): number {
    return this.lrValue;
  }
  /** Sets the lr of the next steps (a write to the hyper buffer when it changes; do it between steps). */
  set lr(v: number) {
    checkLr(this.opt.name, v);
    if (v === this.lrValue) return;
    this.lrValue = v;
    this.hyper.view([2], H_LR, `${this.opt.name}.lr`).write([v, this.opt.decayFactor(this, v)]);
  }
}

export type ParamsArg<O> = readonly Parameter[] | readonly ParamGroupSpec<O>[];

/**
 * What SGD, Adam and AdamW share: parameter groups with their hyper
 * buffers, state buffers laid out like the parameter buffers, the bound
 * dispatches, and the state dict.
 */
export abstract class Optimizer {
  readonly rt: Runtime;
  readonly paramGroups: ParamGroup[];
  /** Every parameter, in order (their indices are the state dict's). */
  readonly params: Parameter[];
  private readonly stateBuffers = new Map<string, Map<GPUBuffer, Tensor>>();
  private bound: Dispatch[] | null = null;
  /** Host mirror of the step count, for schedules and state round trips. */
  protected stepsRecorded = 0;

  constructor(
    params: ParamsArg<object>,
    defaults: GroupOptions,
    readonly name: string,
  ) {
    if (!Array.isArray(params) || params.length === 0) {
      throw new Error(`${name}: params must be a non-empty array of parameters (model.parameters()) or of groups [{ params, ...options }], got ${Array.isArray(params) ? 'an empty array' : typeof params}`);
    }
    const specs: { params: Parameter[]; o: Record<string, unknown> }[] = isParameter(params[0])
      ? [{ params: params as Parameter[], o: {} }]
      : (params as ParamGroupSpec<object>[]).map((g, i) => {
          if (!g || typeof g !== 'object' || !Array.isArray(g.params)) throw new Error(`${name}: params[${i}] must be a Parameter or a group { params: Parameter[], ...options }`);
          const { params: ps, ...o } = g;
          return { params: ps, o };
        });
    const seen = new Set<Tensor>();
    const all: Parameter[] = [];
    specs.forEach(({ params: ps }, gi) => {
      if (!ps.length) throw new Error(`${name}: param group ${gi} has no parameters`);
      ps.forEach((p, i) => {
        if (!isParameter(p)) throw new Error(`${name}: group ${gi} params[${i}] is not a Parameter ({ name, value, grad } tensors), got ${typeof p}`);
        if (seen.has(p.value)) throw new Error(`${name}: parameter '${p.name}' appears twice (a parameter belongs to one group)`);
        if (p.value.size !== p.grad.size) throw new Error(`${name}: parameter '${p.name}' has ${p.value.size} values but its grad ${p.grad.size}`);
        if (p.value.buffer === p.grad.buffer) throw new Error(`${name}: parameter '${p.name}' and its grad share a buffer`);
        seen.add(p.value);
        all.push(p);
      });
    });
    this.rt = all[0]!.value.rt;
    for (const p of all) if (p.value.rt !== this.rt) throw new Error(`${name}: parameter '${p.name}' belongs to another runtime`);
    this.params = all;
    this.paramGroups = specs.map(({ params: ps, o }, gi) => {
      for (const k of Object.keys(o)) if (!(k in defaults)) throw new Error(`${name}: param group ${gi}: unknown option '${k}' (known: ${Object.keys(defaults).join(', ')})`);
      const merged = { ...defaults, ...(o as GroupOptions) };
      this.validate(merged, gi);
      return new ParamGroup(this, ps, merged, gi);
    });
    for (const g of this.paramGroups) this.writeHyper(g, 0);
  }

  /** Checks a group's merged options (throws naming the option). */
  protected abstract validate(o: GroupOptions, group: number): void;
  /** State names (PyTorch's) a group keeps per parameter. */
  protected abstract stateNames(g: ParamGroup): string[];
  protected abstract updateEntry(g: ParamGroup): string;
  /** The update kernel's state bindings (`m`, `v`, `vmax`) by state name. */
  protected abstract stateBindings(g: ParamGroup): Record<string, string>;
  protected abstract updateParams(g: ParamGroup): Params;
  /** Hyperparameters under PyTorch's param_group names. */
  protected abstract torchOptions(g: ParamGroup): Record<string, unknown>;
  /** `[1 - beta1, 1 - beta2]` (0 where there is no bias correction). */
  protected betaComplements(_g: ParamGroup): [number, number] {
    return [0, 0];
  }
  /** AdamW's `1 - lr * weight_decay` (1 otherwise). */
  decayFactor(_g: ParamGroup, _lr: number): number {
    return 1;
  }

  /** The state tensor `state` of one parameter (a view of a buffer laid out like its parameter buffer). */
  stateOf(p: Parameter, state: string): Tensor {
    let m = this.stateBuffers.get(state);
    if (!m) this.stateBuffers.set(state, (m = new Map()));
    let buf = m.get(p.value.buffer);
    if (!buf) m.set(p.value.buffer, (buf = this.rt.zeros([p.value.buffer.size / 4], `${this.name}.${state}`)));
    return buf.view(p.value.shape, p.value.byteOffset / 4, `${this.name}.${state}.${p.name}`);
  }

  private runState(r: ParamRun, state: string): Tensor {
    const first = this.stateOf(r.params[0]!, state);
    return new Tensor(this.rt, first.buffer, first.byteOffset, r.value.shape, `${this.name}.${state}.run`);
  }

  /** Writes step, lr, decay and the bias corrections for `step` completed steps. */
  private writeHyper(g: ParamGroup, step: number, bc?: [number, number]): void {
    const [c1, c2] = this.betaComplements(g);
    const h = new Float32Array(H_SIZE);
    h[H_STEP] = step;
    h[H_LR] = g.lr;
    h[H_DECAY] = this.decayFactor(g, g.lr);
    // 1 - beta^t in float64 (PyTorch computes it in Python floats), unless the GPU's own values are given.
    h[H_BC1] = bc ? bc[0] : c1 ? 1 - (1 - c1) ** step : 0;
    h[H_BC2] = bc ? bc[1] : c2 ? 1 - (1 - c2) ** step : 0;
    g.hyper.write(h);
  }

  /** The first group's lr; setting it sets every group's. */
  get lr(): number {
    return this.paramGroups[0]!.lr;
  }
  set lr(v: number) {
    for (const g of this.paramGroups) g.lr = v;
  }
  setLr(v: number): void {
    this.lr = v;
  }

  /** Steps recorded so far (host mirror of the GPU counter, exact below 2^24). */
  get stepCount(): number {
    return this.stepsRecorded;
  }

  /** Records one optimizer step into the current step: per group, bump its counter, update each run. */
  step(): void {
    if (!this.bound) {
      const b: Dispatch[] = [];
      for (const g of this.paramGroups) {
        const [c1, c2] = this.betaComplements(g);
        b.push(this.rt.bind(desc('bump'), { hyperW: g.hyper }, { c1, c2 }));
        const bindings = this.stateBindings(g);
        for (const r of g.runs) {
          const t: Record<string, Tensor> = { p: r.value, g: r.grad, hyper: g.hyper };
          for (const [state, binding] of Object.entries(bindings)) t[binding] = this.runState(r, state);
          b.push(this.rt.bind(desc(this.updateEntry(g)), t, { n: r.value.size, ...this.updateParams(g) }));
        }
      }
      this.bound = b;
    }
    for (const d of this.bound) this.rt.run(d);
    this.stepsRecorded++;
  }

  /** Sets every parameter's gradient to zero (one dispatch per run). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const r of g.runs) fill(this.rt, r.grad, 0);
  }

  /** Frees the optimizer's own buffers (state and hyper; not the parameters or gradients). */
  destroy(): void {
    this.rt.submit();
    for (const m of this.stateBuffers.values()) for (const t of m.values()) t.buffer.destroy();
    this.stateBuffers.clear();
    for (const g of this.paramGroups) g.hyper.buffer.destroy();
    this.bound = null;
  }

  /** The state names of each parameter, by index. */
  private stateLayout(): { p: Parameter; group: ParamGroup; names: string[] }[] {
    return this.paramGroups.flatMap((g) => g.params.map((p) => ({ p, group: g, names: this.stateNames(g) })));
  }

  /**
   * The optimizer's state in PyTorch's layout: `state[i]` holds `step` and
   * the state tensors of parameter i (flat, the parameter's shape in
   * `shapes`), `param_groups[g]` the hyperparameters under PyTorch's names
   * with `params` (indices) and `param_names`. Ours besides: each group's
   * `bias_correction1/2` as the GPU accumulated them (f32), so a restored run
   * continues bit for bit. Downloads (call between steps).
   */
  async stateDict(): Promise<OptimizerStateDict> {
    const hyper = await Promise.all(this.paramGroups.map((g) => g.hyper.read()));
    const layout = this.stateLayout();
    // One read-back per state buffer (laid out like a parameter buffer, an
    // arena usually), sliced here per parameter, as Arena.read does.
    const views = layout.map(({ p, names }) => names.map((n) => this.stateOf(p, n)));
    const buffers = new Set(views.flat().map((v) => v.buffer));
    const read = new Map<GPUBuffer, Float32Array>();
    await Promise.all([...buffers].map(async (b) => read.set(b, await new Tensor(this.rt, b, 0, [b.size / 4]).read())));
    const state: OptimizerStateDict['state'] = {};
    const groupOf = new Map(this.paramGroups.map((g, gi) => [g, gi]));
    layout.forEach(({ group, names }, i) => {
      const h = hyper[groupOf.get(group)!]!;
      const s: Record<string, Float32Array | number> = { step: h[H_STEP]! };
      names.forEach((n, j) => {
        const v = views[i]![j]!;
        const at = v.byteOffset / 4;
        s[n] = read.get(v.buffer)!.slice(at, at + v.size);
      });
      state[i] = s;
    });
    let at = 0;
    const param_groups = this.paramGroups.map((g, gi) => {
      const h = hyper[gi]!;
      const idx = g.params.map(() => at++);
      return {
        ...this.torchOptions(g),
        lr: g.lr,
        initial_lr: g.initialLr,
        params: idx,
        param_names: g.params.map((p) => p.name),
        bias_correction1: h[H_BC1]!,
        bias_correction2: h[H_BC2]!,
      };
    });
    return { state, param_groups };
  }

  /** Shapes of each parameter's state tensors, by index (for files). */
  stateShapes(): { name: string; shape: readonly number[]; states: string[] }[] {
    return this.stateLayout().map(({ p, names }) => ({ name: p.name, shape: p.value.shape, states: names }));
  }

  /** The kind of optimizer ('Adam', 'AdamW', 'SGD'), minification-proof. */
  abstract get kind(): string;

  /**
   * Restores a `stateDict()` (or one made by PyTorch in this layout): the
   * same groups with the same number of parameters, every state tensor with
   * its parameter's size. The hyperparameters must be the file's (a
   * different `betas` or `eps` would change the run: refused, naming it);
   * `lr` and `initial_lr` are restored. Everything is checked before
   * anything is written. Call between steps.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const { steps, layout, indexOf } = this.checkStateDict(sd);
    for (const { p, names } of layout) {
      const s = sd.state[indexOf.get(p)!];
      for (const n of names) {
        const t = this.stateOf(p, n);
        if (s) t.write(s[n] as ArrayLike<number>);
        else t.write(new Float32Array(t.size));
      }
    }
    this.paramGroups.forEach((g, gi) => {
      const sg = sd.param_groups[gi]!;
      if (typeof sg.initial_lr === 'number') g.initialLr = sg.initial_lr;
      if (typeof sg.lr === 'number') g.lr = sg.lr;
      const bc = typeof sg.bias_correction1 === 'number' && typeof sg.bias_correction2 === 'number' ? ([sg.bias_correction1, sg.bias_correction2] as [number, number]) : undefined;
      this.writeHyper(g, steps[gi]!, bc);
    });
    this.stepsRecorded = Math.max(0, ...steps);
  }

  /** `loadStateDict`'s checks alone: throws what it would refuse, writes nothing. */
  checkStateDict(sd: OptimizerStateDict): { steps: number[]; layout: { p: Parameter; names: string[] }[]; indexOf: Map<Parameter, number> } {
    const who = `${this.name}.loadStateDict`;
    if (!sd || typeof sd !== 'object' || !sd.state || typeof sd.state !== 'object' || !Array.isArray(sd.param_groups)) {
      throw new Error(`${who}: expected { state, param_groups } (PyTorch's layout)`);
    }
    if (sd.param_groups.length !== this.paramGroups.length) throw new Error(`${who}: the state has ${sd.param_groups.length} param group(s), this optimizer ${this.paramGroups.length}`);
    const problems: string[] = [];
    const steps: number[] = [];
    this.paramGroups.forEach((g, gi) => {
      const sg = sd.param_groups[gi]!;
      if (!sg || !Array.isArray(sg.params) || sg.params.length !== g.params.length) {
        problems.push(`param group ${gi} must list ${g.params.length} parameters, has ${Array.isArray(sg?.params) ? sg.params.length : 'none'}`);
        return;
      }
      const mine = this.torchOptions(g);
      for (const [k, v] of Object.entries(mine)) {
        if (k in sg && JSON.stringify(sg[k]) !== JSON.stringify(v)) problems.push(`param group ${gi}: ${k} is ${JSON.stringify(sg[k])} in the state, ${JSON.stringify(v)} here`);
      }
      for (const k of ['lr', 'initial_lr']) {
        if (k in sg && !(typeof sg[k] === 'number' && Number.isFinite(sg[k] as number) && (sg[k] as number) >= 0)) problems.push(`param group ${gi}: ${k} must be a number >= 0, got ${JSON.stringify(sg[k])}`);
      }
      let step: number | undefined;
      for (const i of sg.params as number[]) {
        const s = sd.state[i];
        if (!s) continue; // no state yet (never stepped), as PyTorch
        const v = typeof s.step === 'number' ? s.step : (s.step as ArrayLike<number>)?.[0];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2 ** 24) problems.push(`state ${i}: step must be an integer in [0, 2^24], got ${String(s.step)}`);
        else if (step !== undefined && v !== step) problems.push(`state ${i}: step ${v} differs from its group's ${step} (a group steps together)`);
        else step = v;
      }
      steps[gi] = step ?? 0;
      for (const k of ['bias_correction1', 'bias_correction2']) {
        if (k in sg && !(typeof sg[k] === 'number' && (sg[k] as number) >= 0 && (sg[k] as number) <= 1)) problems.push(`param group ${gi}: ${k} must be in [0, 1], got ${JSON.stringify(sg[k])}`);
      }
    });
    const layout = this.stateLayout();
    const indexOf = new Map<Parameter, number>();
    let at = 0;
    this.paramGroups.forEach((g, gi) => g.params.forEach((p, j) => indexOf.set(p, (sd.param_groups[gi]?.params as number[] | undefined)?.[j] ?? at++)));
    for (const { p, names } of layout) {
      const i = indexOf.get(p)!;
      const s = sd.state[i];
      if (!s) continue;
      for (const n of names) {
        const v = s[n] as ArrayLike<number> | undefined;
        if (!v || typeof v === 'number' || v.length !== p.value.size) {
          problems.push(`state ${i} ('${p.name}'): ${n} must hold ${p.value.size} values ${fmtShape(p.value.shape)}, got ${v === undefined ? 'none' : typeof v === 'number' ? 'a number' : v.length}`);
          continue;
        }
        // A NaN moment would turn the parameter into NaN at the next step, as Module.loadStateDict refuses one.
        for (let j = 0; j < v.length; j++) {
          if (typeof v[j] !== 'number' || !Number.isFinite(v[j])) {
            problems.push(`state ${i} ('${p.name}'): ${n}[${j}] must be a finite number, got ${String(v[j])}`);
            break;
          }
        }
      }
      for (const k of Object.keys(s)) if (k !== 'step' && !names.includes(k)) problems.push(`state ${i} ('${p.name}'): unknown state '${k}' (expected ${names.join(', ') || 'none'})`);
    }
    if (problems.length) throw new Error(`${who}: ${problems.slice(0, 8).join('; ')}${problems.length > 8 ? `; and ${problems.length - 8} more` : ''}`);
    return { steps, layout, indexOf };
  }
}

/** An optimizer's state in PyTorch's layout (see `Optimizer.stateDict`). */
export interface OptimizerStateDict {
  state: Record<number, Record<string, Float32Array | ArrayLike<number> | number>>;
  param_groups: ({ params: number[]; param_names?: string[] } & Record<string, unknown>)[];
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

const num = (o: GroupOptions, k: string): number => o[k] as number;

/** torch.optim.SGD: the same update, options and defaults; state `momentum_buffer` when momentum != 0. */
export class SGD extends Optimizer {
  constructor(params: ParamsArg<SGDOptions>, o: SGDOptions = {}) {
    super(params, { lr: o.lr ?? 1e-3, momentum: o.momentum ?? 0, dampening: o.dampening ?? 0, weightDecay: o.weightDecay ?? 0, nesterov: !!o.nesterov, maximize: !!o.maximize }, 'SGD');
  }
  get kind(): string {
    return 'SGD';
  }
  /** The first group's momentum (groups may differ). */
  get momentum(): number {
    return num(this.paramGroups[0]!.options, 'momentum');
  }
  protected validate(o: GroupOptions, gi: number): void {
    for (const k of ['momentum', 'weightDecay']) {
      const v = o[k];
      if (typeof v !== 'number' || !(Number.isFinite(v) && v >= 0)) throw new Error(`SGD: group ${gi}: ${k} must be >= 0, got ${String(v)}`);
    }
    if (typeof o.dampening !== 'number' || !Number.isFinite(o.dampening)) throw new Error(`SGD: group ${gi}: dampening must be finite, got ${String(o.dampening)}`);
    if (o.nesterov && (num(o, 'momentum') <= 0 || o.dampening !== 0)) throw new Error('SGD: nesterov momentum requires a momentum > 0 and zero dampening');
  }
  protected stateNames(g: ParamGroup): string[] {
    return num(g.options, 'momentum') !== 0 ? ['momentum_buffer'] : [];
  }
  protected updateEntry(g: ParamGroup): string {
    return num(g.options, 'momentum') !== 0 ? 'sgd_momentum' : 'sgd';
  }
  protected stateBindings(g: ParamGroup): Record<string, string> {
    return num(g.options, 'momentum') !== 0 ? { momentum_buffer: 'm' } : {};
  }
  protected updateParams(g: ParamGroup): Params {
    const o = g.options;
    return { momentum: num(o, 'momentum'), dampening: num(o, 'dampening'), weightDecay: num(o, 'weightDecay'), nesterov: o.nesterov ? 1 : 0, maximize: o.maximize ? 1 : 0 };
  }
  protected torchOptions(g: ParamGroup): Record<string, unknown> {
    const o = g.options;
    return { momentum: o.momentum, dampening: o.dampening, weight_decay: o.weightDecay, nesterov: o.nesterov, maximize: o.maximize };
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
  constructor(params: ParamsArg<AdamOptions>, o: AdamOptions = {}, protected readonly decoupled = false) {
    super(
      params,
      { lr: o.lr ?? 1e-3, betas: o.betas ?? [0.9, 0.999], eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? (decoupled ? 1e-2 : 0), amsgrad: !!o.amsgrad, maximize: !!o.maximize },
      decoupled ? 'AdamW' : 'Adam',
    );
  }
  get kind(): string {
    return this.decoupled ? 'AdamW' : 'Adam';
  }
  /** The first group's betas, eps, weight decay (groups may differ: `paramGroups[i].options`). */
  get betas(): [number, number] {
    return this.paramGroups[0]!.options.betas as [number, number];
  }
  get eps(): number {
    return num(this.paramGroups[0]!.options, 'eps');
  }
  get weightDecay(): number {
    return num(this.paramGroups[0]!.options, 'weightDecay');
  }
  protected validate(o: GroupOptions, gi: number): void {
    const b = o.betas as unknown;
    if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => typeof x === 'number' && x >= 0 && x < 1)) throw new Error(`${this.kind}: group ${gi}: betas must be two numbers in [0, 1), got ${JSON.stringify(b)}`);
    if (typeof o.eps !== 'number' || !(o.eps >= 0)) throw new Error(`${this.kind}: group ${gi}: eps must be >= 0, got ${String(o.eps)}`);
    if (typeof o.weightDecay !== 'number' || !(Number.isFinite(o.weightDecay) && o.weightDecay >= 0)) throw new Error(`${this.kind}: group ${gi}: weightDecay must be >= 0, got ${String(o.weightDecay)}`);
  }
  protected stateNames(g: ParamGroup): string[] {
    return g.options.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
  }
  protected updateEntry(g: ParamGroup): string {
    return g.options.amsgrad ? 'adam_amsgrad' : 'adam';
  }
  protected stateBindings(g: ParamGroup): Record<string, string> {
    return g.options.amsgrad ? { exp_avg: 'm', exp_avg_sq: 'v', max_exp_avg_sq: 'vmax' } : { exp_avg: 'm', exp_avg_sq: 'v' };
  }
  protected override betaComplements(g: ParamGroup): [number, number] {
    const [b1, b2] = g.options.betas as [number, number];
    return [1 - b1, 1 - b2];
  }
  override decayFactor(g: ParamGroup, lr: number): number {
    // By name, not `decoupled`: the base constructor writes the hyper buffers before Adam's fields are set.
    return this.name === 'AdamW' ? 1 - lr * num(g.options, 'weightDecay') : 1;
  }
  protected updateParams(g: ParamGroup): Params {
    const [b1, b2] = g.options.betas as [number, number];
    return {
      w1: 1 - b1,
      beta2: b2,
      w2: 1 - b2,
      eps: num(g.options, 'eps'),
      weightDecay: this.decoupled ? 0 : num(g.options, 'weightDecay'),
      decoupled: this.decoupled ? 1 : 0,
      maximize: g.options.maximize ? 1 : 0,
    };
  }
  protected torchOptions(g: ParamGroup): Record<string, unknown> {
    const o = g.options;
    return { betas: o.betas, eps: o.eps, weight_decay: o.weightDecay, amsgrad: o.amsgrad, maximize: o.maximize };
  }
}

/** torch.optim.AdamW: decoupled weight decay (`p *= 1 - lr * wd` before the Adam update), default 1e-2. */
export class AdamW extends Adam {
  constructor(params: ParamsArg<AdamOptions>, o: AdamOptions = {}) {
    super(params, o, true);
  }
}

// ----------------------------------------------------------------- clipping

/** Gradients to clip: tensors, gradient arenas (one reduction each), or parameters (`model.parameters()`, merged into runs). */
type GradList = readonly (Tensor | Arena)[] | readonly Parameter[];

function flatGrads(what: string, grads: GradList): Tensor[] {
  if (!Array.isArray(grads) || !grads.length) throw new Error(`${what}: grads is empty`);
  if (isParameter(grads[0])) {
    const ps = grads as readonly Parameter[];
    ps.forEach((p, i) => {
      if (!isParameter(p)) throw new Error(`${what}: grads[${i}] is not a Parameter`);
    });
    return contiguousRuns(ps, ps[0]!.value.rt.limits.minStorageBufferOffsetAlignment).map((r) => r.grad);
  }
  return (grads as readonly (Tensor | Arena)[]).map((g, i) => {
    const t = g instanceof Arena ? g.all : g;
    if (!(t instanceof Tensor)) throw new Error(`${what}: grads[${i}] must be a Tensor, an Arena or a Parameter`);
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
