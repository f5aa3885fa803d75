/**
 * Small layers with PyTorch's names and initialisation: Linear, Embedding.
 * Each owns a parameter arena and a gradient arena (same table), records
 * into the runtime's current step, and accumulates parameter gradients.
 */
import type { KernelDesc } from '../kernel.js';
import { bumpCounter, colSum, dropout, gemm, relu, reluBackward } from '../ops.js';
import type { Runtime } from '../runtime.js';
import { type Arena, type ArenaTable, Tensor, checkTensor, fmtShape, numel } from '../tensor.js';
import { fold, positiveInt, randomSeed, u32 } from '../util.js';
import { mulberry32, uniformInit } from './init.js';
import { Parameterized, type Parameter, childParameters, childState, loadChildren } from './params.js';

/** A tensor-to-tensor layer with parameters and gradients by PyTorch name. */
export abstract class Module extends Parameterized implements Layer {
  readonly params: Arena;
  readonly gradients: Arena;
  constructor(
    readonly rt: Runtime,
    table: ArenaTable,
    label: string,
  ) {
    super();
    this.params = rt.arena(table, `${label}.params`);
    this.gradients = rt.arena(table, `${label}.grads`);
  }

  abstract forward(x: Tensor): Tensor;
  abstract backward(dy: Tensor): Tensor;

  destroy(): void {
    this.params.destroy();
    this.gradients.destroy();
  }
}

/** y = x W^T + b over the last dimension (torch.nn.Linear): weight [out, in], bias [out]. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: boolean;
  private y: Tensor | null = null;
  private dx: Tensor | null = null;
  private x: Tensor | null = null;

  constructor(rt: Runtime, o: { inFeatures: number; outFeatures: number; bias?: boolean; seed?: number }) {
    const inF = positiveInt('Linear: inFeatures', o?.inFeatures);
    const outF = positiveInt('Linear: outFeatures', o?.outFeatures);
    const bias = o.bias ?? true;
    super(rt, bias ? { weight: [outF, inF], bias: [outF] } : { weight: [outF, inF] }, 'Linear');
    this.inFeatures = inF;
    this.outFeatures = outF;
    this.bias = bias;
    // PyTorch: kaiming_uniform(a=sqrt(5)) on the weight = uniform(+-1/sqrt(in)); the bias likewise.
    const rand = mulberry32(o.seed === undefined ? randomSeed() : u32('Linear: seed', o.seed));
    for (const t of Object.values(this.params.tensors)) t.write(uniformInit(rand, t.size, 1 / Math.sqrt(inF)));
  }

  /** x [..., in] -> y [..., out] (owned by the layer; overwritten by its next forward). */
  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor) || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(`Linear.forward: x must be [..., ${this.inFeatures}], got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
    }
    checkTensor('Linear.forward', 'x', x, this.rt);
    const rows = x.size / this.inFeatures;
    const shape = [...x.shape.slice(0, -1), this.outFeatures];
    if (!this.y || this.y.size !== rows * this.outFeatures) {
      this.rt.submit();
      this.y?.buffer.destroy();
      this.y = this.rt.zeros(shape, 'Linear.y');
    }
    const y = this.y.reshape(shape);
    const P = this.params.tensors;
    gemm(this.rt, y.reshape([rows, this.outFeatures]), x.reshape([rows, this.inFeatures]), P.weight!, { transB: true, bias: P.bias });
    this.x = x;
    return y;
  }

  /** dy [..., out] -> dx [..., in]; accumulates dW, db. */
  backward(dy: Tensor): Tensor {
    const x = this.x;
    if (!x) throw new Error('Linear.backward: call forward first');
    const rows = x.size / this.inFeatures;
    if (!(dy instanceof Tensor) || dy.size !== rows * this.outFeatures) {
      throw new Error(`Linear.backward: dy must be [..., ${this.outFeatures}] with ${rows} rows, got ${dy instanceof Tensor ? fmtShape(dy.shape) : typeof dy}`);
    }
    checkTensor('Linear.backward', 'dy', dy, this.rt);
    if (!this.dx || this.dx.size !== x.size) {
      this.rt.submit();
      this.dx?.buffer.destroy();
      this.dx = this.rt.zeros(x.shape, 'Linear.dx');
    }
    const dy2 = dy.reshape([rows, this.outFeatures]);
    const x2 = x.reshape([rows, this.inFeatures]);
    const G = this.gradients.tensors;
    gemm(this.rt, G.weight!, dy2, x2, { transA: true, beta: 1 });
    if (this.bias) colSum(this.rt, G.bias!, dy2, { beta: 1 });
    gemm(this.rt, this.dx.reshape([rows, this.inFeatures]), dy2, this.params.tensors.weight!);
    return this.dx.reshape(x.shape);
  }

  override destroy(): void {
    this.rt.submit();
    this.y?.buffer.destroy();
    this.dx?.buffer.destroy();
    super.destroy();
  }
}

const WG = 64;
/** `out[n, :] = weight[idx[n], :]` for `weight [V, D]`, `idx` N indices stored as floats, `out [N, D]`. */
export function embedLookup(rt: Runtime, out: Tensor, weight: Tensor, idx: Tensor): void {
  const [V, D] = weight.shape as [number, number];
  if (out.size !== idx.size * D) throw new Error(`embedLookup: out must hold ${idx.size} x ${D} values, got ${fmtShape(out.shape)}`);
  rt.dispatch(K_EMB_F, { out, w: weight, idx }, { N: idx.size, V, D });
}

const K_EMB_F: KernelDesc = { name: 'embed_forward', shader: 'embedding', entry: 'embed_forward', overrides: { WG }, grid: (p) => fold(Math.ceil((p.N! * p.D!) / WG)) };
const K_EMB_B: KernelDesc = { name: 'embed_backward', shader: 'embedding', entry: 'embed_backward', overrides: { WG }, grid: (p) => fold(Math.ceil((p.V! * p.D!) / WG)) };

/** out[..., :] = weight[idx[...], :] (torch.nn.Embedding): weight [num, dim], initialised N(0, 1). */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  private out: Tensor | null = null;
  private idx: Tensor | null = null;

  constructor(rt: Runtime, o: { numEmbeddings: number; embeddingDim: number; seed?: number }) {
    const V = positiveInt('Embedding: numEmbeddings', o?.numEmbeddings);
    const D = positiveInt('Embedding: embeddingDim', o?.embeddingDim);
    super(rt, { weight: [V, D] }, 'Embedding');
    this.numEmbeddings = V;
    this.embeddingDim = D;
    // PyTorch: normal(0, 1), here by Box-Muller from the seeded stream.
    const rand = mulberry32(o.seed === undefined ? randomSeed() : u32('Embedding: seed', o.seed));
    const w = new Float32Array(V * D);
    for (let i = 0; i < w.length; i++) w[i] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    this.params.tensors.weight!.write(w);
  }

  /** `idx` holds indices 0..num-1 stored as floats, any shape S; returns [...S, dim]. */
  forward(idx: Tensor): Tensor {
    if (!(idx instanceof Tensor)) throw new Error('Embedding.forward: idx must be a Tensor of indices');
    checkTensor('Embedding.forward', 'idx', idx, this.rt);
    const N = idx.size;
    const D = this.embeddingDim;
    const shape = [...idx.shape, D];
    if (!this.out || this.out.size !== N * D) {
      this.rt.submit();
      this.out?.buffer.destroy();
      this.out = this.rt.zeros(shape, 'Embedding.out');
    }
    embedLookup(this.rt, this.out, this.params.tensors.weight!, idx);
    this.idx = idx;
    return this.out.reshape(shape);
  }

  /** Accumulates the weight gradient from dy [...S, dim]; returns dy (indices have no gradient). */
  backward(dy: Tensor): Tensor {
    const idx = this.idx;
    if (!idx) throw new Error('Embedding.backward: call forward first');
    if (!(dy instanceof Tensor) || dy.size !== idx.size * this.embeddingDim) {
      throw new Error(`Embedding.backward: dy must be [..., ${this.embeddingDim}] with ${idx.size} positions, got ${dy instanceof Tensor ? fmtShape(dy.shape) : typeof dy}`);
    }
    checkTensor('Embedding.backward', 'dy', dy, this.rt);
    this.rt.dispatch(K_EMB_B, { dw: this.gradients.tensors.weight!, idx, dy }, { N: idx.size, V: this.numEmbeddings, D: this.embeddingDim });
    return dy;
  }

  override destroy(): void {
    this.rt.submit();
    this.out?.buffer.destroy();
    super.destroy();
  }
}

/** A module that maps one tensor to one tensor, so it can sit in a Sequential. */
export interface Layer {
  forward(x: Tensor): Tensor;
  backward(dy: Tensor): Tensor;
  zeroGrad(): void;
  destroy(): void;
}

/** Owns one output-shaped buffer, planned on first use and on a size change. */
class Scratch {
  private t: Tensor | null = null;
  constructor(
    private readonly rt: Runtime,
    private readonly label: string,
  ) {}
  get(shape: readonly number[]): Tensor {
    if (!this.t || this.t.size !== numel(shape)) {
      this.rt.submit();
      this.t?.buffer.destroy();
      this.t = this.rt.zeros(shape, this.label);
    }
    return this.t.reshape(shape);
  }
  destroy(): void {
    this.rt.submit();
    this.t?.buffer.destroy();
    this.t = null;
  }
}

/** A layer without parameters (Dropout, ReLU): the module methods, empty. */
abstract class Stateless implements Layer {
  abstract forward(x: Tensor): Tensor;
  abstract backward(dy: Tensor): Tensor;
  abstract destroy(): void;
  zeroGrad(): void {}
  /** No parameters: an empty state dict, no gradients. */
  async stateDict(): Promise<Record<string, Float32Array>> {
    return {};
  }
  async grads(): Promise<Record<string, Float32Array>> {
    return {};
  }
  parameters(): Parameter[] {
    return [];
  }
  loadStateDict(dict: Record<string, unknown>): void {
    const extra = Object.keys(dict ?? {});
    if (extra.length) throw new Error(`${this.constructor.name}.loadStateDict: it has no parameters; unexpected ${extra.join(', ')}`);
  }}

/**
 * torch.nn.Dropout: in training, zeroes each element with probability p and
 * scales the rest by 1/(1-p); the identity in eval(). The mask is drawn on the
 * GPU from (seed, a GPU-side step counter, index) and regenerated in backward.
 */
export class Dropout extends Stateless {
  training = true;
  readonly counter: Tensor;
  private readonly y: Scratch;
  private readonly dx: Scratch;
  private lastTraining = false;

  constructor(
    readonly rt: Runtime,
    readonly p: number,
    readonly seed = Math.floor(Math.random() * 2 ** 32),
  ) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
    u32('Dropout: seed', seed);
    this.counter = rt.zeros([1], 'Dropout.counter');
    this.y = new Scratch(rt, 'Dropout.y');
    this.dx = new Scratch(rt, 'Dropout.dx');
  }

  train(mode = true): this {
    this.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  forward(x: Tensor): Tensor {
    checkTensor('Dropout.forward', 'x', x, this.rt);
    this.lastTraining = this.training && this.p > 0;
    if (!this.lastTraining) return x;
    bumpCounter(this.rt, this.counter);
    const y = this.y.get(x.shape);
    dropout(this.rt, y, x, { p: this.p, seed: this.seed, stream: 0, counter: this.counter });
    return y;
  }

  backward(dy: Tensor): Tensor {
    checkTensor('Dropout.backward', 'dy', dy, this.rt);
    if (!this.lastTraining) return dy;
    const dx = this.dx.get(dy.shape);
    dropout(this.rt, dx, dy, { p: this.p, seed: this.seed, stream: 0, counter: this.counter });
    return dx;
  }




  destroy(): void {
    this.y.destroy();
    this.dx.destroy();
    this.counter.destroy();
  }
}

/** torch.nn.ReLU. */
export class ReLU extends Stateless {
  private readonly y: Scratch;
  private readonly dx: Scratch;
  private x: Tensor | null = null;
  constructor(readonly rt: Runtime) {
    super();
    this.y = new Scratch(rt, 'ReLU.y');
    this.dx = new Scratch(rt, 'ReLU.dx');
  }
  forward(x: Tensor): Tensor {
    checkTensor('ReLU.forward', 'x', x, this.rt);
    this.x = x;
    const y = this.y.get(x.shape);
    relu(this.rt, y, x);
    return y;
  }
  backward(dy: Tensor): Tensor {
    if (!this.x) throw new Error('ReLU.backward: call forward first');
    checkTensor('ReLU.backward', 'dy', dy, this.rt);
    const dx = this.dx.get(dy.shape);
    reluBackward(this.rt, dx, this.x, dy);
    return dx;
  }


  destroy(): void {
    this.y.destroy();
    this.dx.destroy();
  }
}

/**
 * torch.nn.Sequential over tensor-to-tensor layers: forward in order, backward
 * in reverse. Its state dict prefixes each layer's names with its index
 * (`0.weight`, `2.bias`), as PyTorch's.
 */
export class Sequential implements Layer {
  readonly layers: Layer[];
  constructor(...layers: Layer[]) {
    if (!layers.length) throw new Error('Sequential: give at least one layer');
    this.layers = layers;
  }
  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, l) => l.forward(h), x);
  }
  backward(dy: Tensor): Tensor {
    return this.layers.reduceRight((d, l) => l.backward(d), dy);
  }
  zeroGrad(): void {
    for (const l of this.layers) l.zeroGrad();
  }
  train(mode = true): this {
    for (const l of this.layers) if (l instanceof Dropout) l.train(mode);
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  /** The layers with parameters, by index (for optimizers and checkpoints). */
  get modules(): Record<string, Module> {
    const out: Record<string, Module> = {};
    this.layers.forEach((l, i) => {
      if (l instanceof Module) out[String(i)] = l;
    });
    return out;
  }
  /** All parameters under `prefix.name` (PyTorch's naming of submodules). */
  stateDict(): Promise<Record<string, Float32Array>> {
    return childState(this.modules);
  }

  /** Accumulated gradients, same keys as `stateDict()`. */
  grads(): Promise<Record<string, Float32Array>> {
    return childState(this.modules, 'grads');
  }

  parameters(): Parameter[] {
    return childParameters(this.modules);
  }
  loadStateDict(dict: Record<string, Float32Array | Tensor | ArrayLike<number>>): void {
    loadChildren(this.modules, dict, 'Sequential.loadStateDict');
  }

  destroy(): void {
    for (const l of this.layers) l.destroy();
  }
}
