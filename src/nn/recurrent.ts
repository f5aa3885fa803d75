/**
 * Recurrent layers with PyTorch's semantics: `RNN`, `LSTM`, `GRU`.
 *
 * Per layer and direction, forward is one input-projection GEMM over all
 * T*B rows, one init dispatch and one fused dispatch per timestep; backward
 * is one fused dispatch per timestep, one final dispatch, then the weight
 * gradients as GEMMs over all T*B rows and the bias gradients as column sums.
 * Everything is recorded into the runtime's current step: nothing is read
 * back and nothing is allocated while recording (buffers are planned once per
 * (T, B) and re-planned explicitly when either changes).
 *
 * What differs between the cells (gates, phases per step, the tensors
 * forward saves and backward keeps, the weight-gradient GEMMs) is their
 * description in src/nn/cells.ts; this file branches on none of their names.
 */
import type { KernelDesc, Params } from '../kernel.js';
import { bumpCounter, colSum, dropout, fill, gemmDispatch, rowNorms, shaderConst, swap01, type DropoutMask } from '../ops.js';
import type { Runtime } from '../runtime.js';
import type { Dispatch } from '../scheduler.js';
import { type Arena, type ArenaTable, Tensor, checkTensor, fmtShape } from '../tensor.js';
import { positiveInt, randomSeed, u32 } from '../util.js';
import { mulberry32, uniformInit } from './init.js';
import { ArenaModule } from './module.js';
import { CELLS, type CellKind, type CellSpec, offsetField } from './cells.js';

export type Cell = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru';

export interface RecurrentOptions {
  /** I: features of each input step. */
  inputSize: number;
  /** H: features of the hidden state. */
  hiddenSize: number;
  /** L: stacked layers (default 1). */
  numLayers?: number;
  /** Use b_ih and b_hh (default true). */
  bias?: boolean;
  /** Inputs and outputs are [B, T, F] instead of [T, B, F] (default false). */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of each layer but the last, in training (default 0). */
  dropout?: number;
  /** D = 2: a second direction runs T-1 -> 0 (default false). */
  bidirectional?: boolean;
  /** Seed of the uniform(-1/sqrt(H), 1/sqrt(H)) initialisation (default: random). */
  seed?: number;
  /**
   * How the timestep loop is dispatched. `'sequence'`: one dispatch loops
   * over all T steps (a workgroup per 4 batch rows); `'step'`: one fused
   * dispatch per timestep (product and cell); `'gemm'`: per timestep, the
   * recurrent product as a GEMM dispatch (the register-blocked kernel CPUs
   * reward) and the cell as a second one. `'auto'` (default): gemm on a CPU
   * adapter; on a GPU sequence when H <= SEQUENCE_MAX_HIDDEN, else step.
   */
  kernel?: RecurrentPath | 'auto';
  /** Keep dL/dh_t of the last layer for `gradNormPerTimestep()` (default false). */
  trackGradNorm?: boolean;
}

export type RecurrentPath = 'step' | 'sequence' | 'gemm';

export interface ForwardState {
  /** [L*D, B, H] initial hidden state (zeros if absent). Copied: no gradient flows back into it (detached). */
  h0?: Tensor;
  /** [L*D, B, H] initial cell state, LSTM only. */
  c0?: Tensor;
  /** Valid steps per batch row, 1..T (like pack_padded_sequence); all T if absent. */
  lengths?: ArrayLike<number>;
}

export interface ForwardResult {
  /** [T, B, D*H] (or [B, T, D*H] with batchFirst): the last layer's h_t, both directions concatenated. */
  output: Tensor;
  /** [L*D, B, H] final hidden state of every layer and direction. */
  h: Tensor;
  /** [L*D, B, H] final cell state (LSTM). */
  c?: Tensor;
}

export interface BackwardResult {
  /** [T, B, I] (or [B, T, I]) gradient of the input. */
  dx: Tensor;
  /** [L*D, B, H] gradient of h0. */
  dh0: Tensor;
  /** [L*D, B, H] gradient of c0 (LSTM). */
  dc0?: Tensor;
  /** [T] norm of dL/dh_t over (B, H), last layer, forward direction (with trackGradNorm). */
  dhNorm?: Tensor;
}

const WG = 64;

/** Largest hidden size the whole-sequence kernels take under `kernel: 'auto'`. */
export const SEQUENCE_MAX_HIDDEN = 256;

interface KernelSet {
  init: KernelDesc;
  /** 'gemm' path: phase p of a step's cell, its product read from prod. */
  cells: KernelDesc[];
  bcells: KernelDesc[];
  /** Phase p of a step, forward and backward (one per phase). */
  step: KernelDesc[];
  bstep: KernelDesc[];
  bfinal: KernelDesc;
  fseq: KernelDesc;
  bseq: KernelDesc;
}

const PHASE_SUFFIX = ['', '_b'];
/** The fields of recurrent.wgsl's Dims that are no tensor's offset. */
const NON_TENSOR_FIELDS = new Set(['T', 'B', 'H', 't', 'reverse', 'ldOut', 'hasBias', 'offDOut', 'offLen', 'oOut', 'oWhh', 'oBhh', 'oDhs', 'ldProd', 'offProd']);

/** Every tensor offset field some cell's description names (the rest of a kernel's fields are refused). */
function describedFields(): Set<string> {
  const f = new Set<string>();
  for (const spec of Object.values(CELLS) as CellSpec[]) {
    for (const t of [...spec.saved, ...spec.grads]) f.add(offsetField(t.name));
    for (const st of spec.states) f.add(offsetField(`${st}n`)).add(offsetField(`${st}0`));
  }
  return f;
}
const DESCRIBED = /* @__PURE__ */ describedFields();

/**
 * Dispatch descriptions of one cell's kernels: per step (one invocation per
 * ROWS batch rows and unit; backward: per 4 units) and whole sequence (one
 * workgroup per ROWS batch rows, looping over all T steps).
 */
function cellKernels(spec: CellSpec, H: number, maxWG: number): KernelSet {
  const { shader } = spec;
  for (const [k, want] of [['G', spec.G], ['PHASES', spec.phases]] as const) {
    const got = shaderConst(shader, k);
    if (got !== want) throw new Error(`shaders/${shader}.wgsl has const ${k} = ${got}; src/nn/cells.ts says ${want}`);
  }
  const R = shaderConst(shader, 'ROWS');
  const U = 4; // backward invocations own 4 units
  const overrides: Record<string, number | boolean> = { ...spec.overrides, VEC4: H % 4 === 0 };
  const pow2 = (n: number) => Math.min(maxWG, Math.max(32, 2 ** Math.ceil(Math.log2(n))));
  const mk = (entry: string, wg: number, grid: (p: Params) => readonly [number, number?, number?]): KernelDesc => ({
    name: `${spec.prefix}_${entry}`,
    shader,
    entry,
    overrides: { WG: wg, ...overrides },
    grid,
  });
  const cd = (a: number, b: number) => Math.ceil(a / b);
  const phases = PHASE_SUFFIX.slice(0, spec.phases);
  return {
    init: mk('forward_init', WG, (p) => [cd(p.H!, WG), p.B!]),
    cells: phases.map((sfx) => mk(`forward_cells${sfx}`, WG, (p) => [cd(p.H!, WG), p.B!])),
    bcells: phases.map((sfx) => mk(`backward_cells${sfx}`, WG, (p) => [cd(p.H!, WG), p.B!])),
    step: phases.map((sfx) => mk(`forward_step${sfx}`, WG, (p) => [cd(p.H!, WG), cd(p.B!, R)])),
    bstep: phases.map((sfx) => mk(`backward_step${sfx}`, WG, (p) => [cd(cd(p.H!, U), WG), cd(p.B!, R)])),
    bfinal: mk('backward_final', WG, (p) => [cd(cd(p.H!, U), WG), cd(p.B!, R)]),
    fseq: mk('forward_seq', pow2(H), (p) => [1, cd(p.B!, R)]),
    bseq: mk('backward_seq', pow2(cd(H, U)), (p) => [1, cd(p.B!, R)]),
  };
}

/**
 * Binds the step kernels of a cell, which share one block of bindings: each
 * entry point takes the ones it uses (reflected from its WGSL).
 */
function bindShared(rt: Runtime, desc: KernelDesc, all: Record<string, Tensor>, params: Params): Dispatch {
  const kernel = rt.kernel(desc);
  const used = Object.fromEntries(kernel.storage.filter((b) => b.name in all).map((b) => [b.name, all[b.name]!]));
  const full: Params = { ...params };
  for (const f of kernel.uniform?.fields ?? []) {
    if (f.name in full || NON_TENSOR_FIELDS.has(f.name)) continue;
    // Another cell's tensor: NONE, out of every buffer's range.
    if (DESCRIBED.has(f.name)) full[f.name] = NONE;
    else throw new Error(`kernel ${desc.name}: uniform field '${f.name}' is no tensor of any cell in src/nn/cells.ts (a tensor 'x' is the field 'oX')`);
  }
  return rt.bind(kernel, used, full);
}
const NONE = 0xffffffff;

/** Element offset of `t` inside `base` (same buffer). */
function offsetIn(t: Tensor, base: Tensor): number {
  if (t.buffer !== base.buffer) throw new Error(`${t.label} is not inside ${base.label}`);
  return (t.byteOffset - base.byteOffset) / 4;
}

/** One layer and direction: its tensors by the names of the cell's description, and its bound dispatches. */
interface DirPlan {
  /** `saved` tensors (in act) and `grads` (in grad), by name. */
  t: Record<string, Tensor>;
  /** The uniform parameters common to its step kernels (tensor offsets, shape, direction). */
  params: Params;
  fwd: Dispatch[]; // input GEMM, then init + T steps (x phases), or one whole-sequence dispatch
  bwd: Dispatch[]; // T steps (x phases) + final, or one whole-sequence dispatch; then dW_ih, dW_hh, dX
}

/** Every buffer and bound dispatch for one (T, B): planned once, reused by every call with that shape. */
interface Plan {
  T: number;
  B: number;
  /** What the forward dispatches are bound to: the input and whether dropout is on. */
  boundX: Tensor | null;
  boundDrop: boolean;
  boundDOut: Tensor | null;
  xT: Tensor | null; // [T, B, I] time-major copy of a batch-first input
  outBF: Tensor | null; // [B, T, D*H] batch-first output
  dOutT: Tensor | null; // [T, B, D*H] time-major copy of a batch-first dOutput
  dxBF: Tensor | null; // [B, T, I] batch-first dx
  act: Arena[]; // per layer: out, and per direction the cell's saved tensors
  grad: Arena[]; // per layer: per direction the cell's gradient tensors; dhs (last layer, if tracked)
  outs: Tensor[]; // per layer [T*B, D*H]
  drops: Tensor[]; // per layer l < L-1: dropout(out_l), the input of layer l+1 [T*B, D*H]
  dUps: Tensor[]; // per layer l < L-1: the upstream gradient of out_l (through the mask)
  dIns: Tensor[]; // per layer: gradient of the layer's input; dIns[0] is dx [T*B, I]
  fin: Arena; // final states h, c [L*D, B, H]
  init: Arena; // initial states h, c (copies of h0, c0)
  dfin: Arena; // upstream gradients of the final states
  dinit: Arena; // gradients of the initial states
  initZero: boolean; // init holds zeros (no fill needed when h0 is absent)
  dfinZero: boolean;
  len: Tensor; // [B]
  prod: Tensor | null; // 'gemm' path: [B, (most product rows) * H], a phase's recurrent product
  lengthsKey: string;
  dhNorm: Tensor | null; // [T]
  dirs: DirPlan[][]; // [layer][direction]
}

const suffixOf = (l: number, d: number): string => `l${l}${d ? '_reverse' : ''}`;
const MAX_PLANS = 4;

/**
 * The shared machinery of RNN, LSTM and GRU. Parameters live in one arena
 * (PyTorch names and shapes), their gradients in a second with the same
 * table, so optimizers and clipping see each as one flat tensor.
 */
export abstract class Recurrent extends ArenaModule {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  /** Gates per unit: 1 (RNN), 4 (LSTM), 3 (GRU). */
  readonly G: number;
  /** The cell's description (src/nn/cells.ts). */
  readonly spec: CellSpec;
  /** The path in use: whole sequence per dispatch, or one dispatch per step. */
  readonly path: RecurrentPath;
  /** Keep dL/dh_t of the last layer (forward direction) for `gradNormPerTimestep()`. */
  readonly trackGradNorm: boolean;
  private seed: number;
  /** [1] on the GPU: advances once per training forward, so every step draws new dropout masks. */
  readonly dropoutCounter: Tensor;
  private readonly plans = new Map<string, Plan>();
  private last: Plan | null = null;
  private readonly kernels: KernelSet;

  protected constructor(
    readonly rt: Runtime,
    readonly cell: Cell,
    o: RecurrentOptions,
    /** GRU only: the reset gate multiplies h before the recurrent product (Keras reset_after=False). */
    resetBefore = false,
  ) {
    super();
    const name = this.constructor.name;
    if (!o || typeof o !== 'object') throw new Error(`${name}: options { inputSize, hiddenSize } are required`);
    this.inputSize = positiveInt(`${name}: inputSize`, o.inputSize);
    this.hiddenSize = positiveInt(`${name}: hiddenSize`, o.hiddenSize);
    this.numLayers = positiveInt(`${name}: numLayers`, o.numLayers ?? 1);
    this.bias = o.bias ?? true;
    this.batchFirst = o.batchFirst ?? false;
    this.dropout = o.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout < 1)) throw new Error(`${name}: dropout must be in [0, 1), got ${o.dropout}`);
    this.bidirectional = o.bidirectional ?? false;
    this.trackGradNorm = o.trackGradNorm ?? false;
    const kind: CellKind = resetBefore ? 'gru_reset_before' : cell;
    this.spec = CELLS[kind];
    this.G = this.spec.G;
    const kernel = o.kernel ?? 'auto';
    if (!['auto', 'step', 'sequence', 'gemm'].includes(kernel)) {
      throw new Error(`${name}: kernel must be 'auto', 'step', 'sequence' or 'gemm', got '${String(kernel)}'`);
    }
    // CPU adapters (SwiftShader) reward register blocking above all (a load costs a gather per
    // lane): the GEMM kernel's 16x16 blocks beat the fused per-step kernels' 4x4 (see
    // bench/results/train.json), and a barrier between steps is cheaper as the end of a dispatch
    // than as storageBarrier() in a loop. On GPUs one dispatch for the sequence saves T dispatch overheads.
    const auto = rt.isCpu ? 'gemm' : this.hiddenSize > SEQUENCE_MAX_HIDDEN ? 'step' : 'sequence';
    this.path = kernel === 'auto' ? auto : kernel;
    const maxWG = Math.min(256, rt.limits.maxComputeInvocationsPerWorkgroup, rt.limits.maxComputeWorkgroupSizeX);
    this.kernels = cellKernels(this.spec, this.hiddenSize, maxWG);
    const table = this.paramShapes();
    this.initArenas(table, name);
    this.seed = o.seed === undefined ? randomSeed() : u32(`${name}: seed`, o.seed);
    this.dropoutCounter = rt.zeros([1], `${name}.dropoutCounter`);
    this.resetParameters(this.seed);
  }

  /** The seed of the dropout masks (with the GPU-side counter, what a checkpoint must restore). */
  get dropoutSeed(): number {
    return this.seed;
  }
  set dropoutSeed(v: number) {
    this.seed = u32(`${this.constructor.name}: dropoutSeed`, v);
    this.plans.forEach((p) => (p.boundX = null)); // masks are bound with the seed: rebind
  }

  /** The cell keeps a cell state c besides h (LSTM). */
  private get hasCellState(): boolean {
    return this.spec.states.includes('c');
  }

  /** D: 1 or 2 directions. */
  get D(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** Dropout is applied between layers in this forward. */
  private get dropping(): boolean {
    return this.training && this.dropout > 0 && this.numLayers > 1;
  }

  /** PyTorch `state_dict` names and shapes, in PyTorch's order. */
  paramShapes(): ArenaTable {
    const { G, hiddenSize: H } = this;
    const t: Record<string, number[]> = {};
    for (let l = 0; l < this.numLayers; l++) {
      const I = l === 0 ? this.inputSize : this.D * H;
      for (let d = 0; d < this.D; d++) {
        const s = suffixOf(l, d);
        t[`weight_ih_${s}`] = [G * H, I];
        t[`weight_hh_${s}`] = [G * H, H];
        if (this.bias) {
          t[`bias_ih_${s}`] = [G * H];
          t[`bias_hh_${s}`] = [G * H];
        }
      }
    }
    return t;
  }

  /** Every parameter uniform in [-1/sqrt(H), 1/sqrt(H)), as PyTorch's reset_parameters, from `seed`. */
  resetParameters(seed: number): void {
    const rand = mulberry32(u32(`${this.constructor.name}.resetParameters: seed`, seed));
    const bound = 1 / Math.sqrt(this.hiddenSize);
    for (const t of Object.values(this.params.tensors)) t.write(uniformInit(rand, t.size, bound));
  }

  // ------------------------------------------------------------- planning

  private planFor(T: number, B: number): Plan {
    const key = `${T}x${B}`;
    const hit = this.plans.get(key);
    if (hit) {
      this.plans.delete(key);
      this.plans.set(key, hit); // most recently used last
      return hit;
    }
    if (this.plans.size >= MAX_PLANS) {
      const [oldKey, old] = this.plans.entries().next().value as [string, Plan];
      this.plans.delete(oldKey);
      this.destroyPlan(old);
    }
    const { rt, hiddenSize: H, D, numLayers: L, inputSize: I, spec } = this;
    const label = this.constructor.name;
    const act: Arena[] = [];
    const grad: Arena[] = [];
    const shapeOf = (c: { width: number; rows: 'TB' | 'B' }) => [c.rows === 'TB' ? T * B : B, c.width * H];
    for (let l = 0; l < L; l++) {
      const at: Record<string, number[]> = { out: [T * B, D * H] };
      const gt: Record<string, number[]> = {};
      for (let d = 0; d < D; d++) {
        for (const c of spec.saved) at[`${c.name}${d}`] = shapeOf(c);
        for (const c of spec.grads) gt[`${c.name}${d}`] = shapeOf(c);
      }
      if (l === L - 1 && this.trackGradNorm) gt.dhs = [T, B * H];
      act.push(rt.arena(at, `${label}.act${l}`));
      grad.push(rt.arena(gt, `${label}.grad${l}`));
    }
    // Separate buffers where one kernel reads one and writes the other.
    const st = Object.fromEntries(spec.states.map((s) => [s, [L * D, B, H]]));
    const dropping = this.dropout > 0 && L > 1;
    const plan: Plan = {
      T,
      B,
      boundX: null,
      boundDrop: false,
      boundDOut: null,
      xT: this.batchFirst ? rt.zeros([T, B, I], `${label}.xT`) : null,
      outBF: this.batchFirst ? rt.zeros([B, T, D * H], `${label}.outBF`) : null,
      dOutT: this.batchFirst ? rt.zeros([T, B, D * H], `${label}.dOutT`) : null,
      dxBF: this.batchFirst ? rt.zeros([B, T, I], `${label}.dxBF`) : null,
      act,
      grad,
      outs: act.map((a) => a.tensors.out!),
      drops: dropping ? Array.from({ length: L - 1 }, (_, l) => rt.zeros([T * B, D * H], `${label}.drop${l}`)) : [],
      dUps: dropping ? Array.from({ length: L - 1 }, (_, l) => rt.zeros([T * B, D * H], `${label}.dUp${l}`)) : [],
      dIns: Array.from({ length: L }, (_, l) => rt.zeros([T * B, l === 0 ? I : D * H], l === 0 ? `${label}.dx` : `${label}.dIn${l}`)),
      fin: rt.arena(st, `${label}.h_n`),
      init: rt.arena(st, `${label}.h_0`),
      dfin: rt.arena(st, `${label}.dh_n`),
      dinit: rt.arena(st, `${label}.dh_0`),
      initZero: true,
      dfinZero: true,
      len: rt.tensor(new Float32Array(B).fill(T), [B], `${label}.lengths`),
      prod: this.path === 'gemm' ? rt.zeros([B, Math.max(...spec.forward.map((f) => f.rows), 1) * H], `${label}.prod`) : null,
      lengthsKey: '',
      dhNorm: this.trackGradNorm ? rt.zeros([T], `${label}.dhNorm`) : null,
      dirs: [],
    };
    this.plans.set(key, plan);
    return plan;
  }

  private destroyPlan(p: Plan): void {
    for (const a of [...p.act, ...p.grad, p.fin, p.init, p.dfin, p.dinit]) a.destroy();
    const single = [...p.dIns, ...p.drops, ...p.dUps, p.len, p.prod, p.xT, p.outBF, p.dOutT, p.dxBF, p.dhNorm];
    for (const t of single) t?.buffer.destroy();
    if (this.last === p) this.last = null;
  }

  /** The tensors of layer l, direction d, by the names of the cell's description. */
  private dirTensors(p: Plan, l: number, d: number): Record<string, Tensor> {
    const a = p.act[l]!.tensors;
    const g = p.grad[l]!.tensors;
    const t: Record<string, Tensor> = {};
    for (const c of this.spec.saved) t[c.name] = a[`${c.name}${d}`]!;
    for (const c of this.spec.grads) t[c.name] = g[`${c.name}${d}`]!;
    return t;
  }

  /**
   * The uniform parameters common to every step kernel of layer l, direction
   * d: each tensor of the description at `o${Name}` (its offset in the buffer
   * it lives in), the states at `o${S}n` and `o${S}0`.
   */
  private stepParams(p: Plan, l: number, d: number, t: Record<string, Tensor>): Params {
    const { hiddenSize: H, D, params, spec } = this;
    const s = suffixOf(l, d);
    const actAll = p.act[l]!.all;
    const gradAll = p.grad[l]!.all;
    const k = l * D + d;
    const dhs = p.grad[l]!.tensors.dhs;
    const out: Params = {
      T: p.T,
      B: p.B,
      H,
      reverse: d,
      ldOut: D * H,
      oOut: offsetIn(p.outs[l]!, actAll) + d * H,
      oWhh: offsetIn(params.tensors[`weight_hh_${s}`]!, params.all),
      oBhh: this.bias ? offsetIn(params.tensors[`bias_hh_${s}`]!, params.all) : 0,
      hasBias: this.bias ? 1 : 0,
      oDhs: dhs && d === 0 ? offsetIn(dhs, gradAll) : NONE,
      ldProd: 0,
    };
    for (const c of spec.saved) out[offsetField(c.name)] = offsetIn(t[c.name]!, actAll);
    for (const c of spec.grads) out[offsetField(c.name)] = offsetIn(t[c.name]!, gradAll);
    for (const st of spec.states) {
      out[offsetField(`${st}n`)] = offsetIn(p.fin.tensors[st]!.index(k), p.fin.all);
      out[offsetField(`${st}0`)] = offsetIn(p.init.tensors[st]!.index(k), p.init.all);
    }
    return out;
  }

  /** The input of layer l: the layer-0 input, or the previous layer's output (after dropout, in training). */
  private layerInput(p: Plan, l: number, x: Tensor): Tensor {
    if (l === 0) return x.reshape([p.T * p.B, this.inputSize]);
    return p.boundDrop ? p.drops[l - 1]! : p.outs[l - 1]!;
  }

  /** Binds every forward dispatch for time-major input `x` (once per plan, input and dropout mode). */
  private bindForward(p: Plan, x: Tensor, drop: boolean): void {
    const { rt, D, numLayers: L, params, kernels, hiddenSize: H } = this;
    const { T, B } = p;
    // Built aside and installed at the end: a bind that throws leaves the plan bound as before.
    const all: DirPlan[][] = [];
    for (let l = 0; l < L; l++) {
      const input = l === 0 ? x.reshape([T * p.B, this.inputSize]) : drop ? p.drops[l - 1]! : p.outs[l - 1]!;
      const dirs: DirPlan[] = [];
      for (let d = 0; d < D; d++) {
        const s = suffixOf(l, d);
        const t = this.dirTensors(p, l, d);
        const sp = this.stepParams(p, l, d, t);
        const fwd: Dispatch[] = [
          gemmDispatch(rt, t.gates!, input, params.tensors[`weight_ih_${s}`]!, {
            transB: true,
            bias: this.bias ? params.tensors[`bias_ih_${s}`] : undefined,
          }),
        ];
        const stepBindings = { act: p.act[l]!.all, fin: p.fin.all, w: params.all, w4: params.all, len: p.len, init: p.init.all };
        if (this.path === 'sequence') {
          fwd.push(bindShared(rt, kernels.fseq, stepBindings, { ...sp, t: 0 }));
        } else {
          fwd.push(bindShared(rt, kernels.init, stepBindings, { ...sp, t: 0 }));
          const Whh = params.tensors[`weight_hh_${s}`]!;
          for (let i = 0; i < T; i++) {
            const step = d ? T - 1 - i : i;
            if (this.path === 'step') {
              for (const k of kernels.step) fwd.push(bindShared(rt, k, stepBindings, { ...sp, t: step }));
              continue;
            }
            // 'gemm': per phase, prod [B, N] = h_in[step] [B, H] x W_hh[row0*H .. +N, :]^T, then the cell.
            this.spec.forward.forEach((f, ph) => {
              const N = f.rows * H;
              const hIn = t[f.input]!.view([B * H], step * B * H);
              fwd.push(gemmDispatch(rt, p.prod!, hIn, Whh.view([N * H], f.row0 * H * H), { transB: true, M: B, N, K: H, lda: H, ldb: H, ldc: N }));
              fwd.push(bindShared(rt, kernels.cells[ph]!, { ...stepBindings, prod: p.prod! }, { ...sp, t: step, ldProd: N }));
            });
          }
        }
        dirs.push({ t, params: sp, fwd, bwd: [] });
      }
      all.push(dirs);
    }
    p.dirs = all;
    p.boundDrop = drop;
    p.boundX = x;
    p.boundDOut = null;
  }

  /** Binds every backward dispatch for time-major upstream gradient `dOut` [T*B, D*H]. */
  private bindBackward(p: Plan, dOut: Tensor): void {
    const { rt, D, numLayers: L, params, gradients, kernels, hiddenSize: H, G, spec } = this;
    const { T } = p;
    const lists: [DirPlan, Dispatch[]][] = []; // installed at the end, as in bindForward
    for (let l = L - 1; l >= 0; l--) {
      const up = l === L - 1 ? dOut : p.boundDrop ? p.dUps[l]! : p.dIns[l + 1]!;
      const input = this.layerInput(p, l, p.boundX!);
      for (let d = 0; d < D; d++) {
        const dir = p.dirs[l]![d]!;
        const s = suffixOf(l, d);
        const { t, params: sp } = dir;
        const upView = up.view([up.size - d * H], d * H);
        const bwd: Dispatch[] = [];
        const stepBindings = {
          grad: p.grad[l]!.all, saved: p.act[l]!.all, dOut: upView, dfin: p.dfin.all, w: params.all, w4: params.all, len: p.len, dinit: p.dinit.all,
        };
        if (this.path === 'sequence') {
          bwd.push(bindShared(rt, kernels.bseq, stepBindings, { ...sp, t: 0 }));
        } else {
          const Whh = params.tensors[`weight_hh_${s}`]!;
          for (let i = 0; i < T; i++) {
            const step = d ? i : T - 1 - i;
            if (this.path === 'step') {
              for (const k of kernels.bstep) bwd.push(bindShared(rt, k, stepBindings, { ...sp, t: step }));
              continue;
            }
            const next = d ? step - 1 : step + 1;
            spec.backward.forEach((b, ph) => {
              // The direction's last step (i = 0) is every active row's last: no row reads the next
              // step's product there, so none is computed (the cell leaves prod's stale values unused).
              if (b.step === 'this' || i > 0) {
                const dg = t[b.dgrad]!;
                const off = ((b.step === 'next' ? next : step) * p.B * G + b.row0) * H;
                // prod [B, H] = dgrad[s] [B, rows*H] (from column row0*H, row stride G*H) x W_hh[row0*H .., :]
                bwd.push(
                  gemmDispatch(rt, p.prod!, dg.view([dg.size - off], off), Whh.view([b.rows * H * H], b.row0 * H * H), {
                    M: p.B, N: H, K: b.rows * H, lda: G * H, ldb: H, ldc: H,
                  }),
                );
              }
              bwd.push(bindShared(rt, kernels.bcells[ph]!, { ...stepBindings, prod: p.prod! }, { ...sp, t: step, ldProd: H }));
            });
          }
          bwd.push(bindShared(rt, kernels.bfinal, stepBindings, { ...sp, t: 0 }));
        }
        const gt = gradients.tensors;
        bwd.push(gemmDispatch(rt, gt[`weight_ih_${s}`]!, t.dgates!, input, { transA: true, beta: 1 }));
        // dW_hh, block by block: rows row0*H .. of W_hh get dgrad^T input over all T*B rows.
        const dW = gt[`weight_hh_${s}`]!;
        const GH = G * H;
        for (const w of spec.dWhh) {
          const dg = t[w.dgrad]!;
          const M = w.rows * H;
          if (w.row0 === 0 && w.rows === G) {
            bwd.push(gemmDispatch(rt, dW, dg, t[w.input]!, { transA: true, beta: 1 }));
          } else {
            const opts = { transA: true, beta: 1, M, N: H, K: T * p.B, lda: GH, ldb: H, ldc: H };
            bwd.push(gemmDispatch(rt, dW.view([M, H], w.row0 * H * H), dg.view([dg.size - w.row0 * H], w.row0 * H), t[w.input]!, opts));
          }
        }
        bwd.push(gemmDispatch(rt, p.dIns[l]!, t.dgates!, params.tensors[`weight_ih_${s}`]!, { beta: d ? 1 : 0 }));
        lists.push([dir, bwd]);
      }
    }
    for (const [dir, bwd] of lists) dir.bwd = bwd;
    p.boundDOut = dOut;
  }

  private checkState(where: string, k: string, t: Tensor | undefined, want: number[]): void {
    if (t === undefined) return;
    if (!(t instanceof Tensor) || t.ndim !== 3 || t.shape.some((v, i) => v !== want[i])) {
      throw new Error(`${where}: ${k} must be ${fmtShape(want)}, got ${t instanceof Tensor ? fmtShape(t.shape) : typeof t}`);
    }
  }

  // ------------------------------------------------------------- forward

  /**
   * Records the forward pass of `x` ([T, B, I], or [B, T, I] with batchFirst).
   * Returns tensors owned by the layer, overwritten by the next forward of
   * the same (T, B).
   */
  forward(x: Tensor, state: ForwardState = {}): ForwardResult {
    const name = `${this.constructor.name}.forward`;
    checkTensor(name, 'x', x, this.rt);
    const layout = this.batchFirst ? '[B, T, I]' : '[T, B, I]';
    if (x.ndim !== 3 || x.shape[2] !== this.inputSize) {
      throw new Error(`${name}: x must be ${layout} with I = ${this.inputSize}, got ${fmtShape(x.shape)}`);
    }
    const [T, B] = (this.batchFirst ? [x.shape[1], x.shape[0]] : [x.shape[0], x.shape[1]]) as [number, number];
    if (T < 1 || B < 1) throw new Error(`${name}: x ${fmtShape(x.shape)} is empty`);
    const { D, numLayers: L, hiddenSize: H, rt } = this;
    const want = [L * D, B, H];
    this.checkState(name, 'h0', state.h0, want);
    if (state.c0 !== undefined && !this.hasCellState) throw new Error(`${name}: c0 is for LSTM only`);
    this.checkState(name, 'c0', state.c0, want);
    if (state.h0 !== undefined) checkTensor(name, 'h0', state.h0, rt);
    if (state.c0 !== undefined) checkTensor(name, 'c0', state.c0, rt);
    let lengths: number[] | null = null;
    if (state.lengths !== undefined) {
      lengths = Array.from(state.lengths);
      if (lengths.length !== B) throw new Error(`${name}: lengths must have B = ${B} entries, got ${lengths.length}`);
      lengths.forEach((v, b) => {
        if (!Number.isInteger(v) || v < 1 || v > T) throw new Error(`${name}: lengths[${b}] = ${v} is outside 1..${T}`);
      });
    }

    const p = this.planFor(T, B);
    this.last = p;
    const xt = p.xT ?? x;
    const drop = this.dropping;
    if (p.boundX !== xt || p.boundDrop !== drop) this.bindForward(p, xt, drop);
    const lengthsKey = lengths ? lengths.join(',') : '';
    if (lengthsKey !== p.lengthsKey) {
      p.len.write(lengths ?? new Float32Array(B).fill(T));
      p.lengthsKey = lengthsKey;
    }
    const init = p.init.tensors;
    if (state.h0 || state.c0) {
      for (const [st, given] of [['h', state.h0], ['c', state.c0]] as const) {
        if (!init[st]) continue;
        if (given) rt.copy(given, init[st]);
        else fill(rt, init[st], 0);
      }
      p.initZero = false;
    } else if (!p.initZero) {
      fill(rt, p.init.all, 0);
      p.initZero = true;
    }
    if (p.xT) swap01(rt, p.xT, x);
    if (drop) bumpCounter(rt, this.dropoutCounter);
    for (let l = 0; l < L; l++) {
      for (let d = 0; d < D; d++) for (const disp of p.dirs[l]![d]!.fwd) rt.run(disp);
      if (drop && l < L - 1) dropout(rt, p.drops[l]!, p.outs[l]!, this.mask(l));
    }
    let output = p.outs[L - 1]!.reshape([T, B, D * H]);
    if (p.outBF) {
      swap01(rt, p.outBF, output);
      output = p.outBF;
    }
    const fin = p.fin.tensors;
    return { output, h: fin.h!, c: fin.c };
  }

  private mask(l: number): DropoutMask {
    return { p: this.dropout, seed: this.seed, stream: l, counter: this.dropoutCounter };
  }

  // ------------------------------------------------------------ backward

  /**
   * Records backpropagation through time for the last forward. `dOutput`
   * is the gradient of the output (same shape); `dh`, `dc` of the final
   * states. Parameter gradients accumulate (+=); `dx`, `dh0`, `dc0` are written.
   */
  backward(dOutput: Tensor, up: { dh?: Tensor; dc?: Tensor } = {}): BackwardResult {
    const name = `${this.constructor.name}.backward`;
    const p = this.last;
    if (!p || !p.boundX) throw new Error(`${name}: call forward first`);
    const { D, numLayers: L, hiddenSize: H, rt } = this;
    const { T, B } = p;
    const wantOut = this.batchFirst ? [B, T, D * H] : [T, B, D * H];
    if (!(dOutput instanceof Tensor) || dOutput.ndim !== 3 || dOutput.shape.some((v, i) => v !== wantOut[i])) {
      throw new Error(
        `${name}: dOutput must be ${fmtShape(wantOut)} (the output's shape), got ${dOutput instanceof Tensor ? fmtShape(dOutput.shape) : typeof dOutput}`,
      );
    }
    const want = [L * D, B, H];
    this.checkState(name, 'dh', up.dh, want);
    if (up.dc !== undefined && !this.hasCellState) throw new Error(`${name}: dc is for LSTM only`);
    this.checkState(name, 'dc', up.dc, want);
    checkTensor(name, 'dOutput', dOutput, rt);
    if (up.dh !== undefined) checkTensor(name, 'dh', up.dh, rt);
    if (up.dc !== undefined) checkTensor(name, 'dc', up.dc, rt);
    if (p.dOutT) swap01(rt, p.dOutT, dOutput);
    const flat = (p.dOutT ?? dOutput).reshape([T * B, D * H]);
    if (p.boundDOut === null || p.boundDOut.buffer !== flat.buffer || p.boundDOut.byteOffset !== flat.byteOffset) this.bindBackward(p, flat);
    const dfin = p.dfin.tensors;
    if (up.dh || up.dc) {
      for (const [st, given] of [['h', up.dh], ['c', up.dc]] as const) {
        if (!dfin[st]) continue;
        if (given) rt.copy(given, dfin[st]);
        else fill(rt, dfin[st], 0);
      }
      p.dfinZero = false;
    } else if (!p.dfinZero) {
      fill(rt, p.dfin.all, 0);
      p.dfinZero = true;
    }
    const gt = this.gradients.tensors;
    for (let l = L - 1; l >= 0; l--) {
      if (p.boundDrop && l < L - 1) dropout(rt, p.dUps[l]!, p.dIns[l + 1]!, this.mask(l));
      for (let d = 0; d < D; d++) {
        const dir = p.dirs[l]![d]!;
        for (const disp of dir.bwd) rt.run(disp);
        if (this.bias) {
          const s = suffixOf(l, d);
          colSum(rt, gt[`bias_ih_${s}`]!, dir.t.dgates!, { beta: 1 });
          colSum(rt, gt[`bias_hh_${s}`]!, dir.t[this.spec.dbhh]!, { beta: 1 });
        }
      }
    }
    if (p.dhNorm) rowNorms(rt, p.dhNorm, p.grad[L - 1]!.tensors.dhs!);
    let dx = p.dIns[0]!.reshape([T, B, this.inputSize]);
    if (p.dxBF) {
      swap01(rt, p.dxBF, dx);
      dx = p.dxBF;
    }
    return { dx, dh0: p.dinit.tensors.h!, dc0: p.dinit.tensors.c, dhNorm: p.dhNorm ?? undefined };
  }

  /** The output tensor of the last forward (its shape: [T, B, D*H] or batch-first), or null before one. */
  get lastOutput(): Tensor | null {
    const p = this.last;
    if (!p) return null;
    return p.outBF ?? p.outs[this.numLayers - 1]!.reshape([p.T, p.B, this.D * this.hiddenSize]);
  }

  /**
   * The norm over (B, H) of dL/dh_t for every t, for the last layer's
   * forward direction, from the last backward: the figure that shows
   * vanishing and exploding gradients. Needs `trackGradNorm: true`.
   */
  async gradNormPerTimestep(): Promise<Float32Array> {
    const name = `${this.constructor.name}.gradNormPerTimestep`;
    if (!this.trackGradNorm) throw new Error(`${name}: construct the layer with trackGradNorm: true`);
    const p = this.last;
    if (!p || p.boundDOut === null) throw new Error(`${name}: call backward first`);
    return p.dhNorm!.read();
  }

  /**
   * The gate activations of the last forward, for looking inside the cell
   * (a heat map over a sample): `values[((t * B + b) * G + g) * H + j]`, gate
   * `g` named by `names` in PyTorch's order: LSTM input, forget, cell
   * (candidate g), output; GRU reset, update, new (candidate n); the vanilla
   * RNN's one "gate" is h_t itself. After the nonlinearity (sigmoid or
   * tanh). Steps past a row's length (`lengths`) hold no meaningful values.
   */
  async gateActivations(layer = 0, direction = 0): Promise<{ names: string[]; T: number; B: number; H: number; values: Float32Array }> {
    const name = `${this.constructor.name}.gateActivations`;
    const p = this.last;
    if (!p) throw new Error(`${name}: call forward first`);
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.numLayers) throw new Error(`${name}: layer must be an integer in [0, ${this.numLayers - 1}], got ${layer}`);
    if (!Number.isInteger(direction) || direction < 0 || direction >= this.D) throw new Error(`${name}: direction must be an integer in [0, ${this.D - 1}], got ${direction}`);
    const names = [...this.spec.gateNames];
    const values = await p.act[layer]!.tensors[`gates${direction}`]!.read();
    return { names, T: p.T, B: p.B, H: this.hiddenSize, values };
  }

  /** Frees the layer's buffers (after submitting work already recorded that uses them). */
  override destroy(): void {
    this.rt.submit();
    for (const p of this.plans.values()) this.destroyPlan(p);
    this.plans.clear();
    this.dropoutCounter.buffer.destroy();
    super.destroy();
  }
}


/** Long short-term memory, as torch.nn.LSTM (gates i, f, g, o). */
export class LSTM extends Recurrent {
  constructor(rt: Runtime, o: RecurrentOptions) {
    super(rt, 'lstm', o);
  }
}

/** Elman RNN, as torch.nn.RNN: h_t = tanh or relu(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh). */
export class RNN extends Recurrent {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(rt: Runtime, o: RecurrentOptions & { nonlinearity?: 'tanh' | 'relu' }) {
    const nl = o?.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new Error(`RNN: nonlinearity must be 'tanh' or 'relu', got '${String(nl)}'`);
    super(rt, nl === 'relu' ? 'rnn_relu' : 'rnn_tanh', o);
    this.nonlinearity = nl;
  }
}

/** Gated recurrent unit, as torch.nn.GRU (gates r, z, n; the reset gate multiplies W_hn h + b_hn). */
export class GRU extends Recurrent {
  /** true (PyTorch, Keras reset_after=True): r multiplies (W_hn h + b_hn); false: r multiplies h first. */
  readonly resetAfter: boolean;
  constructor(rt: Runtime, o: RecurrentOptions & { resetAfter?: boolean }) {
    const resetAfter = o?.resetAfter ?? true;
    if (typeof resetAfter !== 'boolean') throw new Error(`GRU: resetAfter must be a boolean, got ${String(resetAfter)}`);
    super(rt, 'gru', o, !resetAfter);
    this.resetAfter = resetAfter;
  }
}
