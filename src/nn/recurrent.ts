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
 */
import type { KernelDesc, Params } from '../kernel.js';
import { colSum, fill, gemmDispatch } from '../ops.js';
import type { Runtime } from '../runtime.js';
import type { Dispatch } from '../scheduler.js';
import { type Arena, type ArenaTable, Tensor, fmtShape, numel } from '../tensor.js';
import { mulberry32, uniformInit } from './init.js';

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
   * `'sequence'`: one dispatch loops over all T steps (a workgroup per batch
   * row); `'step'`: one dispatch per timestep; `'auto'` (default): sequence
   * when H <= SEQUENCE_MAX_HIDDEN.
   */
  kernel?: 'auto' | 'step' | 'sequence';
}

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
}

const G_OF: Record<Cell, number> = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 };
const SHADER_OF: Record<Cell, string> = { rnn_tanh: 'rnn', rnn_relu: 'rnn', lstm: 'lstm', gru: 'gru' };
const WG = 64;

/** Largest hidden size the whole-sequence kernels take under `kernel: 'auto'`. */
export const SEQUENCE_MAX_HIDDEN = 256;

type KernelSet = Record<'init' | 'step' | 'bstep' | 'bfinal' | 'fseq' | 'bseq', KernelDesc>;

/**
 * Dispatch descriptions of one cell's kernels: per step (one invocation per
 * batch row and unit) and whole sequence (one workgroup of `seqWG`
 * invocations per batch row, looping over all T steps).
 */
function cellKernels(cell: Cell, seqWG: number): KernelSet {
  const shader = SHADER_OF[cell];
  const relu: Record<string, boolean> = cell === 'rnn_relu' ? { RELU: true } : {};
  const stepGrid = (p: Params) => [Math.ceil(p.H! / WG), p.B!] as const;
  const seqGrid = (p: Params) => [1, p.B!] as const;
  const mk = (entry: string, seq: boolean): KernelDesc => ({
    name: `${cell}_${entry}`,
    shader,
    entry,
    overrides: { WG: seq ? seqWG : WG, ...relu },
    grid: seq ? seqGrid : stepGrid,
  });
  return {
    init: mk('forward_init', false),
    step: mk('forward_step', false),
    bstep: mk('backward_step', false),
    bfinal: mk('backward_final', false),
    fseq: mk('forward_seq', true),
    bseq: mk('backward_seq', true),
  };
}

function positiveInt(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${what} must be a positive integer, got ${String(v)}`);
  return v;
}

/** Element offset of `t` inside `base` (same buffer). */
function offsetIn(t: Tensor, base: Tensor): number {
  if (t.buffer !== base.buffer) throw new Error(`${t.label} is not inside ${base.label}`);
  return (t.byteOffset - base.byteOffset) / 4;
}

interface DirTensors {
  gates: Tensor; // [T*B, G*H] in act
  hprev: Tensor; // [T*B, H] in act
  aux: Tensor | null; // [T*B, H] in act: cprev (LSTM), gh_n (GRU)
  dgates: Tensor; // [T*B, G*H] in grad: input-side gate gradients
  dgh: Tensor; // [T*B, G*H] in grad: hidden-side gate gradients (GRU's differ; others: = dgates)
  dcarry: Tensor | null; // [B, H] in grad: dc (LSTM), dh through z (GRU)
}

interface DirPlan extends DirTensors {
  fwd: Dispatch[]; // input GEMM, init, steps in order
  bwd: Dispatch[]; // steps, final, dW_ih, dW_hh, db x2, dX
}

interface Plan {
  T: number;
  B: number;
  x: Tensor | null; // the input the dispatches are bound to
  dOut: Tensor | null;
  act: Arena[]; // per layer
  grad: Arena[]; // per layer
  outs: Tensor[]; // per layer [T*B, D*H]
  dIns: Tensor[]; // per layer l >= 1: gradient of layer l's input [T*B, D*H]; dIns[0] = dx [T*B, I]
  fin: Arena; // final states h, c [L*D, B, H]
  init: Arena; // initial states h, c (copies of h0, c0)
  dfin: Arena; // upstream gradients of the final states
  dinit: Arena; // gradients of the initial states
  len: Tensor; // [B]
  dirs: DirPlan[][]; // [layer][direction]
  lengthsKey: string;
}

/**
 * The shared machinery of RNN, LSTM and GRU. Parameters live in one arena
 * (PyTorch names and shapes), their gradients in a second with the same
 * table, so optimizers and clipping see each as one flat tensor.
 */
export abstract class Recurrent {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  /** Parameters, by PyTorch `state_dict` name. */
  readonly params: Arena;
  /** Gradients, same names and layout as `params`. */
  readonly gradients: Arena;
  /** Gates per unit: 1 (RNN), 4 (LSTM), 3 (GRU). */
  readonly G: number;
  private plan: Plan | null = null;
  private readonly kernels: KernelSet;
  /** The path in use: whole sequence per dispatch, or one dispatch per step. */
  readonly path: 'sequence' | 'step';

  protected constructor(
    readonly rt: Runtime,
    readonly cell: Cell,
    o: RecurrentOptions,
  ) {
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
    this.G = G_OF[cell];
    const kernel = o.kernel ?? 'auto';
    if (!['auto', 'step', 'sequence'].includes(kernel)) {
      throw new Error(`${name}: kernel must be 'auto', 'step' or 'sequence', got '${String(kernel)}'`);
    }
    this.path = kernel === 'step' || (kernel === 'auto' && this.hiddenSize > SEQUENCE_MAX_HIDDEN) ? 'step' : 'sequence';
    const maxWG = Math.min(256, rt.limits.maxComputeInvocationsPerWorkgroup, rt.limits.maxComputeWorkgroupSizeX);
    this.kernels = cellKernels(cell, Math.min(maxWG, Math.max(32, 2 ** Math.ceil(Math.log2(this.hiddenSize)))));
    const table = this.paramShapes();
    this.params = rt.arena(table, `${name}.params`);
    this.gradients = rt.arena(table, `${name}.grads`);
    this.resetParameters(o.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  /** D: 1 or 2 directions. */
  get D(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** PyTorch `state_dict` names and shapes, in PyTorch's order. */
  paramShapes(): ArenaTable {
    const { G, hiddenSize: H } = this;
    const t: Record<string, number[]> = {};
    for (let l = 0; l < this.numLayers; l++) {
      const I = l === 0 ? this.inputSize : this.D * H;
      for (let d = 0; d < this.D; d++) {
        const s = `l${l}${d ? '_reverse' : ''}`;
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

  /** Every parameter uniform in [-1/sqrt(H), 1/sqrt(H)), as PyTorch's reset_parameters. */
  resetParameters(seed: number): void {
    const rand = mulberry32(seed);
    const bound = 1 / Math.sqrt(this.hiddenSize);
    for (const [name, t] of Object.entries(this.params.tensors)) {
      t.write(uniformInit(rand, t.size, bound));
      void name;
    }
  }

  /** Loads PyTorch-named tensors; every parameter must be present with its exact shape, and nothing else. */
  loadStateDict(dict: Record<string, Float32Array | Tensor | ArrayLike<number>>): void {
    const name = this.constructor.name;
    const table = this.paramShapes();
    const missing = Object.keys(table).filter((k) => !(k in dict));
    const extra = Object.keys(dict).filter((k) => !(k in table));
    if (missing.length || extra.length) {
      throw new Error(
        `${name}.loadStateDict: ${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${
          extra.length ? `unexpected ${extra.join(', ')}` : ''
        }`,
      );
    }
    for (const [k, shape] of Object.entries(table)) {
      const v = dict[k]!;
      const n = numel(shape);
      if (v instanceof Tensor) {
        if (v.shape.length !== shape.length || v.shape.some((d, i) => d !== shape[i])) {
          throw new Error(`${name}.loadStateDict: '${k}' must be ${fmtShape(shape)}, got ${fmtShape(v.shape)}`);
        }
      } else if (v.length !== n) {
        throw new Error(`${name}.loadStateDict: '${k}' must have ${n} values (${fmtShape(shape)}), got ${v.length}`);
      }
    }
    for (const k of Object.keys(table)) {
      const v = dict[k]!;
      const dst = this.params.tensors[k]!;
      if (v instanceof Tensor) this.rt.copy(v, dst);
      else dst.write(v);
    }
  }

  /** Downloads the parameters, by PyTorch name. */
  async stateDict(): Promise<Record<string, Float32Array>> {
    return readArena(this.params);
  }

  /** Downloads the accumulated gradients, same keys as `stateDict()`. */
  async grads(): Promise<Record<string, Float32Array>> {
    return readArena(this.gradients);
  }

  /** Sets all parameter gradients to zero (one dispatch). */
  zeroGrad(): void {
    fill(this.rt, this.gradients.all, 0);
  }

  // ------------------------------------------------------------- planning

  private planFor(T: number, B: number): Plan {
    const p = this.plan;
    if (p && p.T === T && p.B === B) return p;
    if (p) this.destroyPlan(p);
    const { rt, G, hiddenSize: H, D, numLayers: L } = this;
    const label = this.constructor.name;
    const act: Arena[] = [];
    const grad: Arena[] = [];
    const dIns: Tensor[] = [];
    for (let l = 0; l < L; l++) {
      const at: Record<string, number[]> = { out: [T * B, D * H] };
      const gt: Record<string, number[]> = {};
      for (let d = 0; d < D; d++) {
        at[`gates${d}`] = [T * B, G * H];
        at[`hprev${d}`] = [T * B, H];
        if (this.cell === 'lstm' || this.cell === 'gru') at[`aux${d}`] = [T * B, H];
        gt[`dgates${d}`] = [T * B, G * H];
        if (this.cell === 'gru') gt[`dgh${d}`] = [T * B, G * H];
        if (this.cell === 'lstm' || this.cell === 'gru') gt[`dcarry${d}`] = [B, H];
      }
      act.push(rt.arena(at, `${label}.act${l}`));
      grad.push(rt.arena(gt, `${label}.grad${l}`));
      dIns.push(rt.zeros([T * B, l === 0 ? this.inputSize : D * H], l === 0 ? `${label}.dx` : `${label}.dIn${l}`));
    }
    // Four arenas, not one: a kernel reads some of these while it writes others.
    const st = { h: [L * D, B, H], c: [L * D, B, H] };
    const len = rt.tensor(new Float32Array(B).fill(T), [B], `${label}.lengths`);
    this.plan = {
      T,
      B,
      x: null,
      dOut: null,
      act,
      grad,
      outs: act.map((a) => a.tensors.out!),
      dIns,
      fin: rt.arena(st, `${label}.h_n`),
      init: rt.arena(st, `${label}.h_0`),
      dfin: rt.arena(st, `${label}.dh_n`),
      dinit: rt.arena(st, `${label}.dh_0`),
      len,
      dirs: [],
      lengthsKey: '',
    };
    return this.plan;
  }

  private destroyPlan(p: Plan): void {
    for (const a of [...p.act, ...p.grad, p.fin, p.init, p.dfin, p.dinit]) a.destroy();
    for (const t of [...p.dIns, p.len]) t.buffer.destroy();
  }

  /** The uniform parameters common to every step kernel of layer l, direction d. */
  private stepParams(p: Plan, l: number, d: number, dir: DirTensors): Params {
    const { hiddenSize: H, D, params } = this;
    const s = `l${l}${d ? '_reverse' : ''}`;
    const actAll = p.act[l]!.all;
    const gradAll = p.grad[l]!.all;
    const k = l * D + d;
    const fin = p.fin.tensors;
    const init = p.init.tensors;
    const out: Params = {
      T: p.T,
      B: p.B,
      H,
      reverse: d,
      ldOut: D * H,
      oOut: offsetIn(p.outs[l]!, actAll) + d * H,
      oGates: offsetIn(dir.gates, actAll),
      oHprev: offsetIn(dir.hprev, actAll),
      oHn: offsetIn(fin.h!.index(k), p.fin.all),
      oH0: offsetIn(init.h!.index(k), p.init.all),
      oDgates: offsetIn(dir.dgates, gradAll),
      oWhh: offsetIn(params.tensors[`weight_hh_${s}`]!, params.all),
      oBhh: this.bias ? offsetIn(params.tensors[`bias_hh_${s}`]!, params.all) : 0,
      hasBias: this.bias ? 1 : 0,
    };
    if (dir.dcarry) out.oDcarry = offsetIn(dir.dcarry, gradAll);
    if (this.cell === 'lstm') {
      out.oCprev = offsetIn(dir.aux!, actAll);
      out.oCn = offsetIn(fin.c!.index(k), p.fin.all);
      out.oC0 = offsetIn(init.c!.index(k), p.init.all);
    } else if (this.cell === 'gru') {
      out.oGhn = offsetIn(dir.aux!, actAll);
      out.oDgh = offsetIn(dir.dgh, gradAll);
    }
    return out;
  }

  /** Binds every forward dispatch for input `x` (once per plan and input tensor). */
  private bindForward(p: Plan, x: Tensor): void {
    const { rt, D, numLayers: L, params, kernels } = this;
    const { T, B } = p;
    p.dirs = [];
    for (let l = 0; l < L; l++) {
      const input = l === 0 ? x.reshape([T * B, this.inputSize]) : p.outs[l - 1]!;
      const dirs: DirPlan[] = [];
      for (let d = 0; d < D; d++) {
        const s = `l${l}${d ? '_reverse' : ''}`;
        const a = p.act[l]!.tensors;
        const g = p.grad[l]!.tensors;
        const dir: DirTensors = {
          gates: a[`gates${d}`]!,
          hprev: a[`hprev${d}`]!,
          aux: a[`aux${d}`] ?? null,
          dgates: g[`dgates${d}`]!,
          dgh: g[`dgh${d}`] ?? g[`dgates${d}`]!,
          dcarry: g[`dcarry${d}`] ?? null,
        };
        const sp = this.stepParams(p, l, d, dir);
        const fwd: Dispatch[] = [
          gemmDispatch(rt, dir.gates, input, params.tensors[`weight_ih_${s}`]!, {
            transB: true,
            bias: this.bias ? params.tensors[`bias_ih_${s}`] : undefined,
          }),
        ];
        const stepBindings = { act: p.act[l]!.all, fin: p.fin.all, w: params.all, len: p.len };
        if (this.path === 'sequence') {
          fwd.push(rt.bind(kernels.fseq, { ...stepBindings, init: p.init.all }, { ...sp, t: 0 }));
        } else {
          fwd.push(rt.bind(kernels.init, { act: p.act[l]!.all, init: p.init.all, len: p.len }, { ...sp, t: 0 }));
          for (let i = 0; i < T; i++) {
            const t = d ? T - 1 - i : i;
            fwd.push(rt.bind(kernels.step, stepBindings, { ...sp, t }));
          }
        }
        dirs.push({ ...dir, fwd, bwd: [] });
      }
      p.dirs.push(dirs);
    }
    p.x = x;
    p.dOut = null;
  }

  /** Binds every backward dispatch for upstream gradient `dOut` [T*B, D*H]. */
  private bindBackward(p: Plan, dOut: Tensor): void {
    const { rt, D, numLayers: L, params, gradients, kernels } = this;
    const { T } = p;
    for (let l = L - 1; l >= 0; l--) {
      const up = l === L - 1 ? dOut : p.dIns[l + 1]!;
      const input = l === 0 ? p.x!.reshape([T * p.B, this.inputSize]) : p.outs[l - 1]!;
      for (let d = 0; d < D; d++) {
        const dir = p.dirs[l]![d]!;
        const s = `l${l}${d ? '_reverse' : ''}`;
        const sp = this.stepParams(p, l, d, dir);
        const upView = up.view([up.size - d * this.hiddenSize], d * this.hiddenSize);
        const bwd: Dispatch[] = [];
        const stepBindings = { grad: p.grad[l]!.all, saved: p.act[l]!.all, dOut: upView, dfin: p.dfin.all, w: params.all, len: p.len };
        if (this.path === 'sequence') {
          bwd.push(rt.bind(kernels.bseq, { ...stepBindings, dinit: p.dinit.all }, { ...sp, t: 0 }));
        } else {
          for (let i = 0; i < T; i++) {
            const t = d ? i : T - 1 - i;
            bwd.push(rt.bind(kernels.bstep, stepBindings, { ...sp, t }));
          }
          bwd.push(rt.bind(kernels.bfinal, { grad: p.grad[l]!.all, dinit: p.dinit.all, w: params.all, len: p.len }, { ...sp, t: 0 }));
        }
        const gt = gradients.tensors;
        bwd.push(gemmDispatch(rt, gt[`weight_ih_${s}`]!, dir.dgates, input, { transA: true, beta: 1 }));
        bwd.push(gemmDispatch(rt, gt[`weight_hh_${s}`]!, dir.dgh, dir.hprev, { transA: true, beta: 1 }));
        bwd.push(gemmDispatch(rt, p.dIns[l]!, dir.dgates, params.tensors[`weight_ih_${s}`]!, { beta: d ? 1 : 0 }));
        dir.bwd = bwd;
      }
    }
    p.dOut = dOut;
  }

  // ------------------------------------------------------------- forward

  /**
   * Records the forward pass of `x` ([T, B, I], or [B, T, I] with batchFirst).
   * Returns tensors owned by the layer, overwritten by the next forward.
   */
  forward(x: Tensor, state: ForwardState = {}): ForwardResult {
    const name = `${this.constructor.name}.forward`;
    if (!(x instanceof Tensor)) throw new Error(`${name}: x must be a Tensor`);
    if (x.ndim !== 3 || x.shape[2] !== this.inputSize) {
      throw new Error(`${name}: x must be ${this.batchFirst ? '[B, T, I]' : '[T, B, I]'} with I = ${this.inputSize}, got ${fmtShape(x.shape)}`);
    }
    if (this.batchFirst) throw new Error(`${name}: batchFirst is not implemented yet`);
    const [T, B] = x.shape as [number, number, number];
    if (T < 1 || B < 1) throw new Error(`${name}: x ${fmtShape(x.shape)} is empty`);
    const { D, numLayers: L, hiddenSize: H } = this;
    const want = [L * D, B, H];
    const checkState = (k: string, t: Tensor | undefined) => {
      if (t === undefined) return;
      if (!(t instanceof Tensor) || t.shape.length !== 3 || t.shape.some((v, i) => v !== want[i])) {
        throw new Error(`${name}: ${k} must be ${fmtShape(want)}, got ${t instanceof Tensor ? fmtShape(t.shape) : typeof t}`);
      }
    };
    checkState('h0', state.h0);
    if (state.c0 !== undefined && this.cell !== 'lstm') throw new Error(`${name}: c0 is for LSTM only`);
    checkState('c0', state.c0);
    let lengths: number[] | null = null;
    if (state.lengths !== undefined) {
      lengths = Array.from(state.lengths);
      if (lengths.length !== B) throw new Error(`${name}: lengths must have B = ${B} entries, got ${lengths.length}`);
      lengths.forEach((v, b) => {
        if (!Number.isInteger(v) || v < 1 || v > T) throw new Error(`${name}: lengths[${b}] = ${v} is outside 1..${T}`);
      });
    }

    const p = this.planFor(T, B);
    if (p.x !== x) this.bindForward(p, x);
    const lengthsKey = lengths ? lengths.join(',') : '';
    if (lengthsKey !== p.lengthsKey) {
      p.len.write(lengths ?? new Float32Array(B).fill(T));
      p.lengthsKey = lengthsKey;
    }
    const init = p.init.tensors;
    if (state.h0) this.rt.copy(state.h0, init.h!);
    else fill(this.rt, init.h!, 0);
    if (this.cell === 'lstm') {
      if (state.c0) this.rt.copy(state.c0, init.c!);
      else fill(this.rt, init.c!, 0);
    }
    for (let l = 0; l < L; l++) {
      for (let d = 0; d < D; d++) for (const disp of p.dirs[l]![d]!.fwd) this.rt.run(disp);
    }
    const out = p.outs[L - 1]!.reshape([T, B, D * H]);
    const fin = p.fin.tensors;
    return { output: out, h: fin.h!, c: this.cell === 'lstm' ? fin.c! : undefined };
  }

  // ------------------------------------------------------------ backward

  /**
   * Records backpropagation through time for the last forward. `dOutput`
   * is the gradient of the output; `dh`, `dc` of the final states. Parameter
   * gradients accumulate (+=); `dx`, `dh0`, `dc0` are written.
   */
  backward(dOutput: Tensor, up: { dh?: Tensor; dc?: Tensor } = {}): BackwardResult {
    const name = `${this.constructor.name}.backward`;
    const p = this.plan;
    if (!p || !p.x) throw new Error(`${name}: call forward first`);
    const { D, numLayers: L, hiddenSize: H } = this;
    const { T, B } = p;
    const wantOut = [T, B, D * H];
    if (!(dOutput instanceof Tensor) || dOutput.size !== T * B * D * H || dOutput.ndim !== 3 || dOutput.shape.some((v, i) => v !== wantOut[i])) {
      throw new Error(`${name}: dOutput must be ${fmtShape(wantOut)}, got ${dOutput instanceof Tensor ? fmtShape(dOutput.shape) : typeof dOutput}`);
    }
    const want = [L * D, B, H];
    for (const [k, t] of Object.entries(up)) {
      if (t !== undefined && (!(t instanceof Tensor) || t.shape.some((v, i) => v !== want[i]) || t.ndim !== 3)) {
        throw new Error(`${name}: ${k} must be ${fmtShape(want)}, got ${t instanceof Tensor ? fmtShape(t.shape) : typeof t}`);
      }
    }
    if (up.dc !== undefined && this.cell !== 'lstm') throw new Error(`${name}: dc is for LSTM only`);
    const flat = dOutput.reshape([T * B, D * H]);
    if (p.dOut === null || p.dOut.buffer !== flat.buffer || p.dOut.byteOffset !== flat.byteOffset) this.bindBackward(p, flat);
    const dfin = p.dfin.tensors;
    if (up.dh) this.rt.copy(up.dh, dfin.h!);
    else fill(this.rt, dfin.h!, 0);
    if (this.cell === 'lstm') {
      if (up.dc) this.rt.copy(up.dc, dfin.c!);
      else fill(this.rt, dfin.c!, 0);
    }
    const gt = this.gradients.tensors;
    for (let l = L - 1; l >= 0; l--) {
      for (let d = 0; d < D; d++) {
        const dir = p.dirs[l]![d]!;
        for (const disp of dir.bwd) this.rt.run(disp);
        if (this.bias) {
          const s = `l${l}${d ? '_reverse' : ''}`;
          colSum(this.rt, gt[`bias_ih_${s}`]!, dir.dgates, { beta: 1 });
          colSum(this.rt, gt[`bias_hh_${s}`]!, dir.dgh, { beta: 1 });
        }
      }
    }
    return {
      dx: p.dIns[0]!.reshape([T, B, this.inputSize]),
      dh0: p.dinit.tensors.h!,
      dc0: this.cell === 'lstm' ? p.dinit.tensors.c! : undefined,
    };
  }

  /** Frees the layer's buffers. */
  destroy(): void {
    if (this.plan) this.destroyPlan(this.plan);
    this.plan = null;
    this.params.destroy();
    this.gradients.destroy();
  }
}

async function readArena(a: Arena): Promise<Record<string, Float32Array>> {
  const all = await a.all.read();
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(a.tensors)) {
    const at = a.offsets[k]! / 4;
    out[k] = all.slice(at, at + t.size);
  }
  return out;
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
    if (o?.resetAfter === false) throw new Error('GRU: resetAfter: false is not implemented yet');
    super(rt, 'gru', o);
    this.resetAfter = true;
  }
}
