import type { Module } from '../nn/layers.js';
import { type Parameter, childParameters, childState, loadChildren } from '../nn/params.js';
import type { Recurrent } from '../nn/recurrent.js';
import type { Runtime } from '../runtime.js';
import type { Tensor } from '../tensor.js';

type Dict = Record<string, Float32Array | Tensor | ArrayLike<number>>;

/**
 * What the models share: a named set of modules with parameters (state dict
 * prefixes `name.`), for optimizers and checkpoints, and buffers of their own
 * kept by purpose (decoding, generation, backward scratch).
 */
export abstract class Composite {
  /** Buffers the model owns (destroyed with it), by purpose. */
  protected readonly scratch = new Map<string, Tensor>();

  constructor(readonly rt: Runtime) {}

  abstract get modules(): Record<string, Module | Recurrent>;

  zeroGrad(): void {
    for (const m of Object.values(this.modules)) m.zeroGrad();
  }

  /** All parameters under `prefix.name` (PyTorch's naming of submodules). */
  stateDict(): Promise<Record<string, Float32Array>> {
    return childState(this.modules);
  }


  /** Name, values and gradient of every parameter (PyTorch's named_parameters). */
  parameters(): Parameter[] {
    return childParameters(this.modules);
  }

  /** Accumulated gradients, same keys as `stateDict()`. */
  grads(): Promise<Record<string, Float32Array>> {
    return childState(this.modules, 'grads');
  }


  loadStateDict(dict: Dict): void {
    loadChildren(this.modules, dict, `${this.constructor.name}.loadStateDict`);
  }


  /** A zero-initialised buffer of `shape` kept under `key`; re-made (old one freed) when the shape changes. */
  protected buffer(key: string, shape: readonly number[]): Tensor {
    const t = this.scratch.get(key);
    if (t && t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])) return t;
    if (t) t.destroy(); // submits recorded work that may use it first
    const n = this.rt.zeros(shape, `${this.constructor.name}.${key}`);
    this.scratch.set(key, n);
    return n;
  }

  destroy(): void {
    this.rt.submit();
    for (const t of this.scratch.values()) t.buffer.destroy();
    this.scratch.clear();
    for (const m of Object.values(this.modules)) m.destroy();
  }
}
