/**
 * WaveNet (van den Oord et al. 2016): a stack of dilated causal convolutions
 * (dilations 1, 2, 4, 8, ... repeated `stacks` times) with gated units,
 * residual and skip 1x1 convolutions, and a relu-1x1-relu-1x1 head.
 *
 * Tensors follow PyTorch's Conv1d: input [B, C_in, T], output [B, out, T],
 * weights [out, in, kernel]; `stateDict()` names input.*, layers.{k}.filter/
 * gate/residual/skip.*, head.0.*, head.1.*. Inside, activations are [B*T, C]
 * matrices, so every 1x1 convolution is one GEMM over all B*T positions and
 * the dilated convolution is one kernel with its taps gathered by index.
 * Training is parallel over time; dispatches per layer are a constant.
 */
import type { KernelDesc, Params } from '../kernel.js';
import { axpy, colSum, gemm, relu, reluBackward, swapAxes } from '../ops.js';
import type { Runtime } from '../runtime.js';
import { type Arena, type ArenaTable, Tensor, checkTensor, fmtShape, numel } from '../tensor.js';
import { cdiv, fold, positiveInt, randomSeed, u32 } from '../util.js';
import { mulberry32, uniformInit } from './init.js';
import { ArenaModule } from './module.js';
import { generate, type GenerateOptions } from './wavenet_generate.js';

export interface WaveNetConfig {
  /** C_in: channels of the input signal (1 for raw audio, 256 for one-hot mu-law). */
  inChannels: number;
  /** R: channels of the residual stream. */
  residualChannels: number;
  /** Dc: channels of the gated unit (each of filter and gate). */
  dilationChannels: number;
  /** S: channels of the skip sum and the head. */
  skipChannels: number;
  /** Output channels (256: logits over 8-bit mu-law classes; otherwise a regression). */
  outChannels: number;
  /** Dilations of one stack (default [1, 2, 4, 8]). */
  dilations?: number[];
  /** Repeats of the dilation stack (default 1). */
  stacks?: number;
  /** Taps of each dilated convolution (default 2). */
  kernelSize?: number;
  /**
   * G: size of a global conditioning vector c [B, G] (a speaker, a style),
   * added inside both nonlinearities through per-layer projections
   * `layers.{k}.cond_filter.weight`, `cond_gate.weight` [Dc, G] (no bias).
   */
  globalCondition?: number;
  /** Seed of PyTorch's default Conv1d initialisation, uniform(+-1/sqrt(in*kernel)) (default random). */
  seed?: number;
}

/** Inputs an output can see: stacks * (kernelSize - 1) * sum(dilations) + 1. */
export function receptiveField(cfg: Pick<WaveNetConfig, 'dilations' | 'stacks' | 'kernelSize'>): number {
  const dil = cfg.dilations ?? [1, 2, 4, 8];
  return (cfg.stacks ?? 1) * ((cfg.kernelSize ?? 2) - 1) * dil.reduce((a, b) => a + b, 0) + 1;
}

const WG = 64;
const cd = cdiv;
const kern = (entry: string, grid: (p: Params) => readonly [number, number?, number?]): KernelDesc => ({
  name: `wavenet_${entry}`,
  shader: 'wavenet',
  entry,
  overrides: { WG },
  grid,
});
const ewGrid = (p: Params) => fold(cd(p.n!, WG));
const K_PACK = kern('pack_weights', ewGrid);
const K_GATE = kern('gate_forward', ewGrid);
const K_GATE_BWD = kern('gate_backward', ewGrid);
const K_UNPACK = kern('unpack_grads', ewGrid);

/** Element offset of `t` inside `base` (same buffer). */
const offsetIn = (t: Tensor, base: Tensor): number => (t.byteOffset - base.byteOffset) / 4;

interface Plan {
  B: number;
  T: number;
  xT: Tensor; // [BT, Cin]
  hs: Tensor[]; // L + 1 residual stream tensors [BT, R]
  packs: Arena[]; // per layer: Wt [K][2Dc][Cin], bias [2Dc] (filter and gate side by side, tap-major)
  fg: Tensor; // [BT, 2Dc] filter and gate pre-activations (reused by every layer)
  gates: Arena[]; // per layer: z, tf, sg [BT, Dc]
  s: Tensor; // skip sum [BT, S]
  a1: Tensor;
  u: Tensor;
  a2: Tensor;
  y: Tensor; // [BT, out]
  out: Tensor; // [B, out, T]
  // backward
  dyT: Tensor;
  da2: Tensor;
  du: Tensor;
  da1: Tensor;
  ds: Tensor;
  dz: Tensor; // [BT, Dc]
  dfg: Tensor; // [BT, 2Dc]: d filter, d gate pre-activations
  dpack: Arena; // wt, bias: their gradients in the packed layout
  dh: Tensor; // [BT, R]: the residual stream's gradient, accumulated from the top layer down
  dxT: Tensor;
  dx: Tensor; // [B, Cin, T]
  // global conditioning (G > 0)
  condProj: Tensor | null; // [L, B, 2, Dc]: V_f c, V_g c per layer
  dsum: Tensor | null; // [B, 2Dc]: dfg summed over time per sequence
  dcond: Tensor | null; // [B, G]
  cond: Tensor | null; // the conditioning of the last forward
  forwarded: boolean;
}

export class WaveNet extends ArenaModule {
  readonly inChannels: number;
  readonly residualChannels: number;
  readonly dilationChannels: number;
  readonly skipChannels: number;
  readonly outChannels: number;
  readonly dilations: number[];
  readonly stacks: number;
  readonly kernelSize: number;
  /** G: size of the conditioning vector (0: none). */
  readonly globalCondition: number;
  /** Dilation of each layer, across stacks. */
  readonly layerDilations: number[];
  private plan: Plan | null = null;

  constructor(
    readonly rt: Runtime,
    cfg: WaveNetConfig,
  ) {
    super();
    if (!cfg || typeof cfg !== 'object') throw new Error('WaveNet: a config object is required');
    this.inChannels = positiveInt('WaveNet: inChannels', cfg.inChannels);
    this.residualChannels = positiveInt('WaveNet: residualChannels', cfg.residualChannels);
    this.dilationChannels = positiveInt('WaveNet: dilationChannels', cfg.dilationChannels);
    this.skipChannels = positiveInt('WaveNet: skipChannels', cfg.skipChannels);
    this.outChannels = positiveInt('WaveNet: outChannels', cfg.outChannels);
    this.dilations = cfg.dilations ?? [1, 2, 4, 8];
    if (!Array.isArray(this.dilations) || this.dilations.length === 0) {
      throw new Error(`WaveNet: dilations must be a non-empty array of positive integers, got ${JSON.stringify(cfg.dilations)}`);
    }
    this.dilations.forEach((d, i) => positiveInt(`WaveNet: dilations[${i}]`, d));
    this.stacks = positiveInt('WaveNet: stacks', cfg.stacks ?? 1);
    this.kernelSize = positiveInt('WaveNet: kernelSize', cfg.kernelSize ?? 2);
    this.globalCondition = cfg.globalCondition === undefined ? 0 : positiveInt('WaveNet: globalCondition', cfg.globalCondition);
    this.layerDilations = Array.from({ length: this.stacks }, () => this.dilations).flat();
    const table = this.paramShapes();
    this.initArenas(table, 'WaveNet');
    this.resetParameters(cfg.seed === undefined ? randomSeed() : u32('WaveNet: seed', cfg.seed));
  }

  /** Layers across stacks. */
  get numLayers(): number {
    return this.layerDilations.length;
  }

  /** PyTorch `state_dict` names and shapes, in module order. */
  paramShapes(): ArenaTable {
    const { inChannels: C, residualChannels: R, dilationChannels: Dc, skipChannels: S, outChannels: O, kernelSize: K } = this;
    const t: Record<string, number[]> = { 'input.weight': [R, C, 1], 'input.bias': [R] };
    for (let k = 0; k < this.numLayers; k++) {
      t[`layers.${k}.filter.weight`] = [Dc, R, K];
      t[`layers.${k}.filter.bias`] = [Dc];
      t[`layers.${k}.gate.weight`] = [Dc, R, K];
      t[`layers.${k}.gate.bias`] = [Dc];
      if (this.globalCondition) {
        t[`layers.${k}.cond_filter.weight`] = [Dc, this.globalCondition];
        t[`layers.${k}.cond_gate.weight`] = [Dc, this.globalCondition];
      }
      t[`layers.${k}.residual.weight`] = [R, Dc, 1];
      t[`layers.${k}.residual.bias`] = [R];
      t[`layers.${k}.skip.weight`] = [S, Dc, 1];
      t[`layers.${k}.skip.bias`] = [S];
    }
    t['head.0.weight'] = [S, S, 1];
    t['head.0.bias'] = [S];
    t['head.1.weight'] = [O, S, 1];
    t['head.1.bias'] = [O];
    return t;
  }

  /** PyTorch's default for Conv1d and Linear: weight and bias uniform in +-1/sqrt(fan_in), fan_in = in * kernel. */
  resetParameters(seed: number): void {
    const rand = mulberry32(u32('WaveNet.resetParameters: seed', seed));
    const shapes = this.paramShapes();
    for (const [name, t] of Object.entries(this.params.tensors)) {
      const wShape = shapes[name.replace(/\.bias$/, '.weight')]!;
      const fanIn = numel(wShape.slice(1));
      t.write(uniformInit(rand, t.size, 1 / Math.sqrt(fanIn)));
    }
  }

  private planFor(B: number, T: number): Plan {
    const p = this.plan;
    if (p && p.B === B && p.T === T) return p;
    if (p) this.destroyPlan(p);
    const { rt, inChannels: C, residualChannels: R, dilationChannels: Dc, skipChannels: S, outChannels: O } = this;
    const BT = B * T;
    const z = (shape: number[], label: string) => rt.zeros(shape, `WaveNet.${label}`);
    const packTable = { wt: [this.kernelSize, 2 * Dc, R], bias: [2 * Dc] };
    this.plan = {
      B,
      T,
      xT: z([BT, C], 'xT'),
      hs: Array.from({ length: this.numLayers + 1 }, (_, k) => z([BT, R], `h${k}`)),
      packs: Array.from({ length: this.numLayers }, (_, k) => rt.arena(packTable, `WaveNet.pack${k}`)),
      fg: z([BT, 2 * Dc], 'fg'),
      gates: Array.from({ length: this.numLayers }, (_, k) => rt.arena({ z: [BT, Dc], tf: [BT, Dc], sg: [BT, Dc] }, `WaveNet.gates${k}`)),
      s: z([BT, S], 'skip'),
      a1: z([BT, S], 'a1'),
      u: z([BT, S], 'u'),
      a2: z([BT, S], 'a2'),
      y: z([BT, O], 'y'),
      out: z([B, O, T], 'output'),
      dyT: z([BT, O], 'dyT'),
      da2: z([BT, S], 'da2'),
      du: z([BT, S], 'du'),
      da1: z([BT, S], 'da1'),
      ds: z([BT, S], 'ds'),
      dz: z([BT, Dc], 'dz'),
      dfg: z([BT, 2 * Dc], 'dfg'),
      dpack: rt.arena(packTable, 'WaveNet.dpack'),
      dh: z([BT, R], 'dh'),
      dxT: z([BT, C], 'dxT'),
      dx: z([B, C, T], 'dx'),
      condProj: this.globalCondition ? z([this.numLayers, B, 2, Dc], 'condProj') : null,
      dsum: this.globalCondition ? z([B, 2 * Dc], 'dsum') : null,
      dcond: this.globalCondition ? z([B, this.globalCondition], 'dcond') : null,
      cond: null,
      forwarded: false,
    };
    return this.plan;
  }

  private destroyPlan(p: Plan): void {
    this.rt.submit();
    for (const a of [...p.gates, ...p.packs, p.dpack]) a.buffer.destroy();
    for (const t of [p.condProj, p.dcond, p.dsum]) t?.buffer.destroy();
    for (const t of [p.xT, ...p.hs, p.fg, p.s, p.a1, p.u, p.a2, p.y, p.out, p.dyT, p.da2, p.du, p.da1, p.ds, p.dz, p.dfg, p.dh, p.dxT, p.dx]) {
      t.buffer.destroy();
    }
  }

  /** The 2-D [rows, cols] view of a Conv1d weight [out, in, 1]. */
  private w2(name: string): Tensor {
    const t = this.params.tensors[name]!;
    return t.reshape([t.shape[0]!, t.shape[1]! * t.shape[2]!]);
  }

  private g2(name: string): Tensor {
    const t = this.gradients.tensors[name]!;
    return t.reshape([t.shape[0]!, t.shape[1]! * t.shape[2]!]);
  }

  /** Uniform parameters of the wavenet.wgsl kernels for layer k; weights located in `arena` (params or grads). */
  private gateParams(p: Plan, k: number, arena: Arena, pack: Arena, n: number): Params {
    const nm = `layers.${k}`;
    const g = p.gates[k]!;
    const at = (t: Tensor, base: Tensor) => offsetIn(t, base);
    return {
      BT: p.B * p.T,
      T: p.T,
      Cin: this.residualChannels,
      Dc: this.dilationChannels,
      K: this.kernelSize,
      n,
      oWf: at(arena.tensors[`${nm}.filter.weight`]!, arena.all),
      oBf: at(arena.tensors[`${nm}.filter.bias`]!, arena.all),
      oWg: at(arena.tensors[`${nm}.gate.weight`]!, arena.all),
      oBg: at(arena.tensors[`${nm}.gate.bias`]!, arena.all),
      oWt: at(pack.tensors.wt!, pack.all),
      oBias: at(pack.tensors.bias!, pack.all),
      oZ: at(g.tensors.z!, g.all),
      oTf: at(g.tensors.tf!, g.all),
      oSg: at(g.tensors.sg!, g.all),
      hasCond: this.globalCondition ? 1 : 0,
      oCond: this.globalCondition ? k * p.B * 2 * this.dilationChannels : 0,
    };
  }

  /** Tap m of layer k reads s_m = (K-1-m) d steps back. */
  private tapShift(k: number, m: number): number {
    return (this.kernelSize - 1 - m) * this.layerDilations[k]!;
  }

  /**
   * Records the forward pass of `x` [B, C_in, T]. Returns `output`
   * [B, out, T], owned by the model (overwritten by the next forward).
   */
  forward(x: Tensor, o: { cond?: Tensor } = {}): { output: Tensor } {
    const name = 'WaveNet.forward';
    if (!(x instanceof Tensor)) throw new Error(`${name}: x must be a Tensor`);
    if (x.ndim !== 3 || x.shape[1] !== this.inChannels) {
      throw new Error(`${name}: x must be [B, C_in, T] with C_in = ${this.inChannels}, got ${fmtShape(x.shape)}`);
    }
    const [B, , T] = x.shape as [number, number, number];
    if (B < 1 || T < 1) throw new Error(`${name}: x ${fmtShape(x.shape)} is empty`);
    const G = this.globalCondition;
    if (G && (!(o.cond instanceof Tensor) || o.cond.ndim !== 2 || o.cond.shape[0] !== B || o.cond.shape[1] !== G)) {
      throw new Error(`${name}: cond must be [B, G] = [${B}, ${G}] (globalCondition), got ${o.cond instanceof Tensor ? fmtShape(o.cond.shape) : String(o.cond)}`);
    }
    if (!G && o.cond !== undefined) throw new Error(`${name}: cond given, but the model has no globalCondition`);
    checkTensor(name, 'x', x, this.rt);
    if (o.cond !== undefined) checkTensor(name, 'cond', o.cond, this.rt);
    const { rt } = this;
    const p = this.planFor(B, T);
    // Until this forward is recorded in full, there is nothing for backward to differentiate.
    p.forwarded = false;
    const P = this.params.tensors;
    p.cond = o.cond ?? null;
    if (G) {
      // condProj[k, b] = (V_f c_b, V_g c_b): two small GEMMs per layer, into column halves.
      const Dc = this.dilationChannels;
      for (let k = 0; k < this.numLayers; k++) {
        const at = k * B * 2 * Dc;
        const shape = { M: B, N: Dc, K: G, ldc: 2 * Dc, transB: true } as const;
        gemm(rt, p.condProj!.view([B * 2 * Dc], at), o.cond!, P[`layers.${k}.cond_filter.weight`]!, shape);
        gemm(rt, p.condProj!.view([B * 2 * Dc - Dc], at + Dc), o.cond!, P[`layers.${k}.cond_gate.weight`]!, shape);
      }
    }
    swapAxes(rt, p.xT.reshape([B, T, this.inChannels]), x, 1);
    gemm(rt, p.hs[0]!, p.xT, this.w2('input.weight'), { transB: true, bias: P['input.bias'] });
    const { kernelSize: K, residualChannels: R, dilationChannels: Dc } = this;
    const BT = B * T;
    for (let k = 0; k < this.numLayers; k++) {
      const g = p.gates[k]!;
      const pack = p.packs[k]!;
      const nPack = K * 2 * Dc * R;
      rt.dispatch(K_PACK, { packed: pack.all, w: this.params.all }, this.gateParams(p, k, this.params, pack, nPack));
      // fg = b + sum_m h[t - s_m] Wt_m^T: one GEMM per tap, its rows gathered by index.
      for (let m = 0; m < K; m++) {
        const wt = pack.tensors.wt!.view([2 * Dc, R], m * 2 * Dc * R);
        gemm(rt, p.fg, p.hs[k]!, wt, {
          transB: true,
          beta: m === 0 ? 0 : 1,
          bias: m === 0 ? pack.tensors.bias : undefined,
          shiftA: { shift: this.tapShift(k, m), period: T },
        });
      }
      // Without conditioning, `cond` is bound to the parameters and not read (hasCond 0).
      rt.dispatch(K_GATE, { gout: g.all, fg: p.fg, cond: p.condProj ?? this.params.all }, this.gateParams(p, k, this.params, pack, BT * Dc));
      const n = `layers.${k}`;
      gemm(rt, p.s, g.tensors.z!, this.w2(`${n}.skip.weight`), { transB: true, bias: P[`${n}.skip.bias`], beta: k === 0 ? 0 : 1 });
      if (k < this.numLayers - 1) {
        // The last layer's residual output feeds nothing: skipped (its gradient is zero).
        gemm(rt, p.hs[k + 1]!, g.tensors.z!, this.w2(`${n}.residual.weight`), { transB: true, bias: P[`${n}.residual.bias`] });
        axpy(rt, p.hs[k + 1]!, 1, p.hs[k]!);
      }
    }
    relu(rt, p.a1, p.s);
    gemm(rt, p.u, p.a1, this.w2('head.0.weight'), { transB: true, bias: P['head.0.bias'] });
    relu(rt, p.a2, p.u);
    gemm(rt, p.y, p.a2, this.w2('head.1.weight'), { transB: true, bias: P['head.1.bias'] });
    swapAxes(rt, p.out, p.y.reshape([B, T, this.outChannels]), 1);
    p.forwarded = true;
    return { output: p.out };
  }

  /**
   * Records the backward pass of the last forward for `dy` [B, out, T]
   * (the gradient of the output). Parameter gradients accumulate (+=);
   * returns `dx` [B, C_in, T] (written).
   */
  backward(dy: Tensor): { dx: Tensor; dcond?: Tensor } {
    const name = 'WaveNet.backward';
    const p = this.plan;
    if (!p || !p.forwarded) throw new Error(`${name}: call forward first`);
    const { B, T } = p;
    const want = [B, this.outChannels, T];
    if (!(dy instanceof Tensor) || dy.ndim !== 3 || dy.shape.some((v, i) => v !== want[i])) {
      throw new Error(`${name}: dy must be ${fmtShape(want)} (the output's shape), got ${dy instanceof Tensor ? fmtShape(dy.shape) : typeof dy}`);
    }
    checkTensor(name, 'dy', dy, this.rt);
    const { rt } = this;
    const Gt = this.gradients.tensors;
    swapAxes(rt, p.dyT.reshape([B, T, this.outChannels]), dy, 1);
    // head: y = a2 W2^T + b2, a2 = relu(u), u = a1 W1^T + b1, a1 = relu(s)
    gemm(rt, this.g2('head.1.weight'), p.dyT, p.a2, { transA: true, beta: 1 });
    colSum(rt, Gt['head.1.bias']!, p.dyT, { beta: 1 });
    gemm(rt, p.da2, p.dyT, this.w2('head.1.weight'));
    reluBackward(rt, p.du, p.u, p.da2);
    gemm(rt, this.g2('head.0.weight'), p.du, p.a1, { transA: true, beta: 1 });
    colSum(rt, Gt['head.0.bias']!, p.du, { beta: 1 });
    gemm(rt, p.da1, p.du, this.w2('head.0.weight'));
    reluBackward(rt, p.ds, p.s, p.da1);
    const { kernelSize: K, residualChannels: R, dilationChannels: Dc } = this;
    const BT = B * T;
    // p.dh: the gradient of the residual stream, dh_{k+1} on entering layer k, dh_k on leaving.
    for (let k = this.numLayers - 1; k >= 0; k--) {
      const n = `layers.${k}`;
      const g = p.gates[k]!;
      const top = k === this.numLayers - 1; // its residual output feeds nothing: no dh_{k+1}
      // dz = ds W_s (+ dh_{k+1} W_r)
      gemm(rt, p.dz, p.ds, this.w2(`${n}.skip.weight`));
      gemm(rt, this.g2(`${n}.skip.weight`), p.ds, g.tensors.z!, { transA: true, beta: 1 });
      colSum(rt, Gt[`${n}.skip.bias`]!, p.ds, { beta: 1 });
      if (!top) {
        gemm(rt, p.dz, p.dh, this.w2(`${n}.residual.weight`), { beta: 1 });
        gemm(rt, this.g2(`${n}.residual.weight`), p.dh, g.tensors.z!, { transA: true, beta: 1 });
        colSum(rt, Gt[`${n}.residual.bias`]!, p.dh, { beta: 1 });
      }
      const pack = p.packs[k]!;
      const dpack = p.dpack;
      rt.dispatch(K_GATE_BWD, { dfg: p.dfg, dz: p.dz, saved: g.all }, this.gateParams(p, k, this.params, pack, BT * Dc));
      // Packed weight gradients, one GEMM per tap (h's rows shifted by index), then added into the arena.
      colSum(rt, dpack.tensors.bias!, p.dfg);
      for (let m = 0; m < K; m++) {
        const dwt = dpack.tensors.wt!.view([2 * Dc, R], m * 2 * Dc * R);
        gemm(rt, dwt, p.dfg, p.hs[k]!, { transA: true, shiftB: { shift: this.tapShift(k, m), period: T } });
      }
      rt.dispatch(K_UNPACK, { gw: this.gradients.all, dpacked: dpack.all }, this.gateParams(p, k, this.gradients, dpack, K * 2 * Dc * R));
      if (p.dsum) {
        // f, g get V c_b at every t: dV += (sum_t dfg)^T c, dc += (sum_t dfg) V.
        colSum(rt, p.dsum, p.dfg, { groups: B });
        const half = { M: Dc, N: this.globalCondition, K: B, lda: 2 * Dc, transA: true, beta: 1 } as const;
        gemm(rt, Gt[`${n}.cond_filter.weight`]!, p.dsum, p.cond!, half);
        gemm(rt, Gt[`${n}.cond_gate.weight`]!, p.dsum.view([B * 2 * Dc - Dc], Dc), p.cond!, half);
        const back = { M: B, N: this.globalCondition, K: Dc, lda: 2 * Dc } as const;
        gemm(rt, p.dcond!, p.dsum, this.params.tensors[`${n}.cond_filter.weight`]!, { ...back, beta: top ? 0 : 1 });
        gemm(rt, p.dcond!, p.dsum.view([B * 2 * Dc - Dc], Dc), this.params.tensors[`${n}.cond_gate.weight`]!, { ...back, beta: 1 });
      }
      // dh_k = dh_{k+1} (the residual identity) + sum_m dfg[t + s_m] Wt_m (the taps, ahead by index).
      for (let m = 0; m < K; m++) {
        const wt = pack.tensors.wt!.view([2 * Dc, R], m * 2 * Dc * R);
        gemm(rt, p.dh, p.dfg, wt, { beta: top && m === 0 ? 0 : 1, shiftA: { shift: this.tapShift(k, m), period: T, ahead: true } });
      }
    }
    const dhUp = p.dh;
    // input: h0 = xT W_in^T + b_in
    gemm(rt, this.g2('input.weight'), dhUp, p.xT, { transA: true, beta: 1 });
    colSum(rt, Gt['input.bias']!, dhUp, { beta: 1 });
    gemm(rt, p.dxT, dhUp, this.w2('input.weight'));
    swapAxes(rt, p.dx, p.dxT.reshape([B, T, this.inChannels]), 1);
    return { dx: p.dx, dcond: p.dcond ?? undefined };
  }

  /**
   * Generates `n` samples with per-layer queues (fast generation): see
   * `GenerateOptions`. Recorded as a few dispatches, no read-back.
   */
  generate(n: number, o: GenerateOptions = {}): { samples: Tensor; outputs?: Tensor } {
    return generate(this, n, o);
  }

  override destroy(): void {
    if (this.plan) this.destroyPlan(this.plan);
    this.plan = null;
    super.destroy();
  }
}
