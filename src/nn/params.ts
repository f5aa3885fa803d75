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
