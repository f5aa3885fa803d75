/**
 * Small layers with PyTorch's names and initialisation: Linear, Embedding.
 * Each owns a parameter arena and a gradient arena (same table), records
 * into the runtime's current step, and accumulates parameter gradients.
 */
import type { KernelDesc } from '../kernel.js';
import { bumpCounter, colSum, dropout, gemm, relu, reluBackward } from '../ops.js';
import type { Runtime } from '../runtime.js';
import { Tensor, checkTensor, fmtShape, numel } from '../tensor.js';
import { fold, positiveInt, randomSeed, u32 } from '../util.js';
import { mulberry32, uniformInit } from './init.js';
import { ArenaModule, Module, inputGradOf, outputOf, type BackwardOutput, type ForwardOutput } from './module.js';

/** A layer that maps one tensor to one tensor (or to a result holding it), so it can sit in a Sequential. */
export type Layer = Module & {
  forward(x: Tensor): ForwardOutput;
  backward(dy: Tensor): BackwardOutput;
};

/** y = x W^T + b over the last dimension (torch.nn.Linear): weight [out, in], bias [out]. */
export class Linear extends ArenaModule {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: boolean;
  private y: Tensor | null = null;
  private dx: Tensor | null = null;
  private x: Tensor | null = null;

  constructor(
    readonly rt: Runtime,
    o: { inFeatures: number; outFeatures: number; bias?: boolean; seed?: number },
  ) {
    super();
    const inF = positiveInt('Linear: inFeatures', o?.inFeatures);
    const outF = positiveInt('Linear: outFeatures', o?.outFeatures);
    const bias = o.bias ?? true;
    this.initArenas(bias ? { weight: [outF, inF], bias: [outF] } : { weight: [outF, inF] }, 'Linear');
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
export class Embedding extends ArenaModule {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  private out: Tensor | null = null;
  private idx: Tensor | null = null;

  constructor(
    readonly rt: Runtime,
    o: { numEmbeddings: number; embeddingDim: number; seed?: number },
  ) {
    super();
    const V = positiveInt('Embedding: numEmbeddings', o?.numEmbeddings);
    const D = positiveInt('Embedding: embeddingDim', o?.embeddingDim);
    this.initArenas({ weight: [V, D] }, 'Embedding');
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

  /** Accumulates the weight gradient from dy [...S, dim] (indices have no gradient: nothing is returned). */
  backward(dy: Tensor): void {
    const idx = this.idx;
    if (!idx) throw new Error('Embedding.backward: call forward first');
    if (!(dy instanceof Tensor) || dy.size !== idx.size * this.embeddingDim) {
      throw new Error(`Embedding.backward: dy must be [..., ${this.embeddingDim}] with ${idx.size} positions, got ${dy instanceof Tensor ? fmtShape(dy.shape) : typeof dy}`);
    }
    checkTensor('Embedding.backward', 'dy', dy, this.rt);
    this.rt.dispatch(K_EMB_B, { dw: this.gradients.tensors.weight!, idx, dy }, { N: idx.size, V: this.numEmbeddings, D: this.embeddingDim });
  }

  override destroy(): void {
    this.rt.submit();
    this.out?.buffer.destroy();
    super.destroy();
  }
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

/** A layer without parameters (Dropout, ReLU): forward and backward over scratch buffers of its own. */
abstract class Stateless extends Module {
  abstract forward(x: Tensor): Tensor;
  abstract backward(dy: Tensor): Tensor;
}

/**
 * torch.nn.Dropout: in training, zeroes each element with probability p and
 * scales the rest by 1/(1-p); the identity in eval(). The mask is drawn on the
 * GPU from (seed, a GPU-side step counter, index) and regenerated in backward.
 */
export class Dropout extends Stateless {
  /** [1] on the GPU: advances once per training forward (a checkpoint restores it with the seed). */
  readonly dropoutCounter: Tensor;
  private readonly y: Scratch;
  private readonly dx: Scratch;
  private lastTraining = false;
  private seedValue: number;

  constructor(
    readonly rt: Runtime,
    readonly p: number,
    seed = Math.floor(Math.random() * 2 ** 32),
  ) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
    this.seedValue = u32('Dropout: seed', seed);
    this.dropoutCounter = rt.zeros([1], 'Dropout.counter');
    this.y = new Scratch(rt, 'Dropout.y');
    this.dx = new Scratch(rt, 'Dropout.dx');
  }

  /** The seed of the masks (with the GPU counter, what a checkpoint restores). */
  get dropoutSeed(): number {
    return this.seedValue;
  }
  set dropoutSeed(v: number) {
    this.seedValue = u32('Dropout: dropoutSeed', v);
  }
  get seed(): number {
    return this.seedValue;
  }

  forward(x: Tensor): Tensor {
    checkTensor('Dropout.forward', 'x', x, this.rt);
    this.lastTraining = this.training && this.p > 0;
    if (!this.lastTraining) return x;
    bumpCounter(this.rt, this.dropoutCounter);
    const y = this.y.get(x.shape);
    dropout(this.rt, y, x, { p: this.p, seed: this.seedValue, stream: 0, counter: this.dropoutCounter });
    return y;
  }

  backward(dy: Tensor): Tensor {
    checkTensor('Dropout.backward', 'dy', dy, this.rt);
    if (!this.lastTraining) return dy;
    const dx = this.dx.get(dy.shape);
    dropout(this.rt, dx, dy, { p: this.p, seed: this.seedValue, stream: 0, counter: this.dropoutCounter });
    return dx;
  }

  override destroy(): void {
    this.y.destroy();
    this.dx.destroy();
    this.dropoutCounter.destroy();
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
  override destroy(): void {
    this.y.destroy();
    this.dx.destroy();
  }
}

/**
 * torch.nn.Sequential: forward in order, backward in reverse. A layer may
 * return a result object (a recurrent layer's { output, h, c }): its
 * `output` goes on, the whole output sequence, as Keras's
 * `return_sequences`; a backward's `dx` goes back. State-dict names are
 * prefixed with the layer's index (`0.weight`, `1.weight_ih_l0`), as PyTorch's.
 */
export class Sequential extends Module {
  readonly rt: Runtime;
  readonly layers: Layer[];
  constructor(...layers: Layer[]) {
    super();
    if (!layers.length) throw new Error('Sequential: give at least one layer');
    layers.forEach((l, i) => {
      if (!(l instanceof Module) || typeof l.forward !== 'function' || typeof l.backward !== 'function') {
        throw new Error(`Sequential: layer ${i} must be a Module with forward and backward, got ${l === null ? 'null' : typeof l}`);
      }
      if (l.rt !== layers[0]!.rt) throw new Error(`Sequential: layer ${i} belongs to another runtime than layer 0`);
    });
    this.rt = layers[0]!.rt;
    this.layers = layers;
  }
  override children(): Record<string, Module> {
    return Object.fromEntries(this.layers.map((l, i) => [String(i), l]));
  }
  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, l, i) => outputOf(l.forward(h), `Sequential layer ${i} (${l.constructor.name}).forward`), x);
  }
  /** dy: the gradient of the last layer's output; returns the first layer's input gradient (null for token ids). */
  backward(dy: Tensor): Tensor | null {
    let d: Tensor | null = dy;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i]!;
      if (!d) throw new Error(`Sequential.backward: layer ${i + 1} gives no input gradient for layer ${i} (${l.constructor.name})`);
      const r: BackwardOutput = l.backward(d);
      d = inputGradOf(r);
    }
    return d;
  }
}
