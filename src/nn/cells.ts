/**
 * The recurrent cells, one description each: everything `Recurrent`
 * (src/nn/recurrent.ts) needs to plan buffers, bind kernels and compute
 * weight gradients for a cell. Adding a cell is one entry here plus its
 * shader (which includes recurrent.wgsl, recurrent_steps.wgsl and, with one phase per step,
 * recurrent_one_phase.wgsl, and defines
 * the per-unit formulas).
 *
 * Tensor names are the contract with the shader: a tensor `name` kept per
 * layer and direction is the arena entry `${name}${d}` and reaches the
 * kernels as the uniform field `o${Name}` (its element offset in the buffer it
 * lives in), as recurrent.wgsl's `struct Dims` declares. A state `s` (h, c)
 * has its final value at `o${S}n` (in fin / dfin) and its initial value at
 * `o${S}0` (in init / dinit).
 */

/** A tensor of one layer and direction, `width * H` floats per row. */
export interface CellTensor {
  /** Arena name (without the direction digit) and uniform field `o${Name}`. */
  name: string;
  /** Floats per row, in units of H (gates: G). */
  width: number;
  /** `'TB'`: one row per (t, b) [T*B, width*H]; `'B'`: one per batch row [B, width*H] (a carry between steps). */
  rows: 'TB' | 'B';
}

/** A block of W_hh's rows whose gradient is `dgrad^T input` over all T*B rows. */
export interface WeightGradient {
  /** First W_hh row, in units of H. */
  row0: number;
  /** Rows, in units of H. */
  rows: number;
  /** Gate gradients (in grad), read from column row0*H on. */
  dgrad: string;
  /** What those rows of W_hh multiplied (in act). */
  input: string;
}

/**
 * Phase p's recurrent product in the forward, as a GEMM (the `'gemm'` path;
 * the fused kernels compute the same in WGSL, forward_gh in the shader):
 * prod [B, rows*H] = input[t] [B, H] x W_hh[row0*H .., :]^T.
 */
export interface ForwardProduct {
  /** First W_hh row, in units of H. */
  row0: number;
  /** Rows, in units of H (the gates of this phase). */
  rows: number;
  /** The tensor (in act, [T*B, H]) the rows multiply. */
  input: string;
}

/**
 * Phase p's product in the backward (backward_rec in the shader): prod [B, H] =
 * dgrad[s] [B, rows*H] (columns row0*H on) x W_hh[row0*H .., :], at s the step
 * after t in the direction's order (`'next'`) or t itself (`'this'`).
 */
export interface BackwardProduct {
  row0: number;
  rows: number;
  /** Gate gradients (in grad, [T*B, G*H]). */
  dgrad: string;
  step: 'next' | 'this';
}

export interface CellSpec {
  /** The shader (shaders/<shader>.wgsl); its `const G` and `const PHASES` must agree with this entry. */
  shader: string;
  /** Kernel names are `${prefix}_${entry}`. */
  prefix: string;
  /** Overrides every kernel of the cell is compiled with. */
  overrides: Record<string, number | boolean>;
  /** Gates per unit (rows of W_ih and W_hh: G*H). */
  G: number;
  /** Dispatches per step (and storage barriers per step in the whole-sequence kernels). */
  phases: 1 | 2;
  /** Recurrent states, `h` first: the forward's h0 (c0), results h (c), backward's dh (dc) and dh0 (dc0). */
  states: readonly ('h' | 'c')[];
  /** What `gateActivations()` calls the G blocks of `gates`, in PyTorch's order. */
  gateNames: readonly string[];
  /** Forward writes, backward reads (in act, read-only as `saved` in backward). Always `gates` (G) and `hprev` (1). */
  saved: readonly CellTensor[];
  /** Backward's own (in grad). Always `dgates` (G): the input-side gate gradients, which give dW_ih, db_ih and dx. */
  grads: readonly CellTensor[];
  /** Per phase, the forward's recurrent product. */
  forward: readonly ForwardProduct[];
  /** Per phase, the backward's product. */
  backward: readonly BackwardProduct[];
  /** The gradient of W_hh as GEMMs over all T*B rows. */
  dWhh: readonly WeightGradient[];
  /** The gate gradients (in grad) whose column sums are db_hh. */
  dbhh: string;
}

const TB = (name: string, width = 1): CellTensor => ({ name, width, rows: 'TB' });
const CARRY = (name: string): CellTensor => ({ name, width: 1, rows: 'B' });

const rnn = (relu: boolean): CellSpec => ({
  shader: 'rnn',
  prefix: relu ? 'rnn_relu' : 'rnn_tanh',
  overrides: relu ? { RELU: true } : {},
  G: 1,
  phases: 1,
  states: ['h'],
  gateNames: ['hidden'], // `gates` holds h_t itself
  saved: [TB('gates'), TB('hprev')],
  grads: [TB('dgates')],
  forward: [{ row0: 0, rows: 1, input: 'hprev' }],
  backward: [{ row0: 0, rows: 1, dgrad: 'dgates', step: 'next' }],
  dWhh: [{ row0: 0, rows: 1, dgrad: 'dgates', input: 'hprev' }],
  dbhh: 'dgates',
});

/** The cells, by the name `Recurrent` is built with. */
export const CELLS = {
  rnn_tanh: rnn(false),
  rnn_relu: rnn(true),
  lstm: {
    shader: 'lstm',
    prefix: 'lstm',
    overrides: {},
    G: 4,
    phases: 1,
    states: ['h', 'c'],
    gateNames: ['input', 'forget', 'cell', 'output'],
    saved: [TB('gates', 4), TB('hprev'), TB('cprev')],
    grads: [TB('dgates', 4), CARRY('dcarry')],
    forward: [{ row0: 0, rows: 4, input: 'hprev' }],
    backward: [{ row0: 0, rows: 4, dgrad: 'dgates', step: 'next' }],
    dWhh: [{ row0: 0, rows: 4, dgrad: 'dgates', input: 'hprev' }],
    dbhh: 'dgates',
  },
  // PyTorch's GRU (Keras reset_after=True): r multiplies (W_hn h + b_hn).
  gru: {
    shader: 'gru',
    prefix: 'gru',
    overrides: {},
    G: 3,
    phases: 1,
    states: ['h'],
    gateNames: ['reset', 'update', 'new'],
    saved: [TB('gates', 3), TB('hprev'), TB('ghn')],
    // dgh: the hidden-side gate gradients (n's is dn_pre * r); dcarry: dh_{t-1} through z * h_{t-1}.
    grads: [TB('dgates', 3), TB('dgh', 3), CARRY('dcarry')],
    forward: [{ row0: 0, rows: 3, input: 'hprev' }],
    backward: [{ row0: 0, rows: 3, dgrad: 'dgh', step: 'next' }],
    dWhh: [{ row0: 0, rows: 3, dgrad: 'dgh', input: 'hprev' }],
    dbhh: 'dgh',
  },
  // Keras reset_after=False (Cho et al.): r multiplies h before W_hn, so a step has two phases.
  gru_reset_before: {
    shader: 'gru_reset_before',
    prefix: 'gru_reset_before',
    overrides: {},
    G: 3,
    phases: 2,
    states: ['h'],
    gateNames: ['reset', 'update', 'new'],
    saved: [TB('gates', 3), TB('hprev'), TB('rh')],
    grads: [TB('dgates', 3), TB('dgh', 3), CARRY('dcarry'), TB('drh')],
    // Phase 0: r, z from h_{t-1}; phase 1: n from r * h_{t-1}. Backward phase 0: dh through the r, z rows
    // of the next step; phase 1: d(r * h) through the n rows of this step (written by phase 0).
    forward: [
      { row0: 0, rows: 2, input: 'hprev' },
      { row0: 2, rows: 1, input: 'rh' },
    ],
    backward: [
      { row0: 0, rows: 2, dgrad: 'dgh', step: 'next' },
      { row0: 2, rows: 1, dgrad: 'dgates', step: 'this' },
    ],
    // Rows r, z of W_hh multiply h_{t-1}; rows n multiply r * h_{t-1}.
    dWhh: [
      { row0: 0, rows: 2, dgrad: 'dgh', input: 'hprev' },
      { row0: 2, rows: 1, dgrad: 'dgh', input: 'rh' },
    ],
    dbhh: 'dgh',
  },
} satisfies Record<string, CellSpec>;

export type CellKind = keyof typeof CELLS;

/** `name` -> `oName`: the uniform field holding a tensor's offset. */
export const offsetField = (name: string): string => `o${name[0]!.toUpperCase()}${name.slice(1)}`;
