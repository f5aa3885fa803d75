import { fill } from '../ops.js';
import type { Runtime } from '../runtime.js';
import type { Arena, Tensor } from '../tensor.js';

/** A parameter as PyTorch's `named_parameters()` gives it: its name, its values and its gradient, on the GPU. */
export interface Parameter {
  name: string;
  value: Tensor;
  grad: Tensor;
}

/** The parameters of a (parameters, gradients) arena pair, names prefixed. */
export function arenaParameters(params: Arena, grads: Arena, prefix = ''): Parameter[] {
  return Object.entries(params.tensors).map(([k, value]) => ({ name: prefix + k, value, grad: grads.tensors[k]! }));
}

/** The parameters of named submodules, as `prefix.name`. */
export function childParameters(children: Record<string, { parameters(): Parameter[] }>): Parameter[] {
  return Object.entries(children).flatMap(([p, m]) => m.parameters().map((q) => ({ ...q, name: `${p}.${q.name}` })));
}

type StateValue = Float32Array | Tensor | ArrayLike<number>;
interface Child {
  stateDict(): Promise<Record<string, Float32Array>>;
  grads(): Promise<Record<string, Float32Array>>;
  loadStateDict(dict: Record<string, StateValue>): void;
  /** Throws what loadStateDict would, writing nothing. */
  checkStateDict?(dict: Record<string, StateValue>): void;
}

/** The children's state dicts (or gradients, with `which`) under `prefix.name`, as PyTorch names submodules. */
export async function childState(children: Record<string, Child>, which: 'stateDict' | 'grads' = 'stateDict'): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [p, m] of Object.entries(children)) for (const [k, v] of Object.entries(await m[which]())) out[`${p}.${k}`] = v;
  return out;
}

/** Splits a prefixed state dict among the children; an entry no child claims is refused before anything loads. */
export function loadChildren(children: Record<string, Child>, dict: Record<string, StateValue>, who: string): void {
  if (!dict || typeof dict !== 'object') throw new Error(`${who}: expected an object of tensors`);
  const known = new Set(Object.keys(children));
  const extra = Object.keys(dict).filter((k) => !known.has(k.split('.')[0]!));
  if (extra.length) throw new Error(`${who}: unexpected ${extra.join(', ')} (prefixes: ${[...known].map((k) => `${k}.`).join(', ')})`);
  const subs = Object.entries(children).map(([p, m]) => {
    const sub: Record<string, StateValue> = {};
    for (const [k, v] of Object.entries(dict)) if (k.startsWith(`${p}.`)) sub[k.slice(p.length + 1)] = v;
    return [m, sub] as const;
  });
  // Every child checked before any loads: a refused dict leaves all parameters as they were.
  for (const [m, sub] of subs) m.checkStateDict?.(sub);
  for (const [m, sub] of subs) m.loadStateDict(sub);
}

/**
 * What every layer with parameters shares: a parameter arena and a gradient
 * arena of one table (PyTorch names), and the state-dict methods over them.
 * Module (tensor-to-tensor layers), Recurrent and WaveNet build on it.
 */
export abstract class Parameterized {
  abstract readonly rt: Runtime;
  /** Parameters, by PyTorch `state_dict` name. */
  abstract readonly params: Arena;
  /** Gradients, same names and layout as `params`. */
  abstract readonly gradients: Arena;

  /** Downloads the parameters, by PyTorch name. */
  stateDict(): Promise<Record<string, Float32Array>> {
    return this.params.read();
  }

  /** Name, values and gradient of every parameter (PyTorch's named_parameters). */
  parameters(): Parameter[] {
    return arenaParameters(this.params, this.gradients);
  }

  /** Downloads the accumulated gradients, same keys as `stateDict()`. */
  grads(): Promise<Record<string, Float32Array>> {
    return this.gradients.read();
  }

  /** Sets all parameter gradients to zero (one dispatch). */
  zeroGrad(): void {
    fill(this.rt, this.gradients.all, 0);
  }

  /** Loads PyTorch-named tensors; every parameter must be present with its exact shape, and nothing else. */
  loadStateDict(dict: Record<string, StateValue>): void {
    this.params.load(dict, `${this.constructor.name}.loadStateDict`);
  }

  /** Throws what `loadStateDict` would for `dict`, writing nothing. */
  checkStateDict(dict: Record<string, StateValue>): void {
    this.params.check(dict, `${this.constructor.name}.loadStateDict`);
  }
}
