/**
 * Float64 references for PyTorch's recurrent layers (nn.RNN tanh/relu,
 * nn.LSTM, nn.GRU): the forward pass and exact backpropagation through time,
 * written plainly, one batch row and one index at a time. GPU kernels are
 * checked against these; these are checked against central finite
 * differences in test/reference.test.ts.
 *
 * Layouts (all row-major, time-major):
 *   x        [T, B, I]
 *   output   [T, B, D*H]      forward direction in columns [0:H], reverse in [H:2H]
 *   h0, h, c [L*D, B, H]      index l*D + d
 *   weight_ih_l{l}{sfx} [G*H, I_l], weight_hh_l{l}{sfx} [G*H, H], bias_* [G*H]
 * with G gate blocks stacked in PyTorch's order (LSTM i,f,g,o; GRU r,z,n).
 */

export type Cell = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru';

export interface RefConfig {
  cell: Cell;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  bias: boolean;
  /** GRU only; default true = PyTorch. false = Keras/TF "reset_after=False": n = tanh(W_in x + b_in + W_hn (r * h) + b_hn). */
  resetAfter?: boolean;
}

/** PyTorch state_dict names, row-major. */
export type Dict = Record<string, Float64Array>;

/** Gate blocks per cell: 1, 1, 4, 3. */
export function gateCount(cell: Cell): number {
  switch (cell) {
    case 'rnn_tanh':
    case 'rnn_relu':
      return 1;
    case 'lstm':
      return 4;
    case 'gru':
      return 3;
  }
}

const numDirs = (cfg: RefConfig): number => (cfg.bidirectional ? 2 : 1);
/** I_0 = inputSize, I_l = D*H for l > 0. */
const layerInputSize = (cfg: RefConfig, l: number): number =>
  l === 0 ? cfg.inputSize : numDirs(cfg) * cfg.hiddenSize;
const suffix = (d: number): string => (d === 0 ? '' : '_reverse');

/** Keys in PyTorch's order: for l, for d: weight_ih, weight_hh, bias_ih, bias_hh. */
export function paramShapes(cfg: RefConfig): Record<string, number[]> {
  const G = gateCount(cfg.cell);
  const H = cfg.hiddenSize;
  const shapes: Record<string, number[]> = {};
  for (let l = 0; l < cfg.numLayers; l++) {
    for (let d = 0; d < numDirs(cfg); d++) {
      const s = `l${l}${suffix(d)}`;
      shapes[`weight_ih_${s}`] = [G * H, layerInputSize(cfg, l)];
      shapes[`weight_hh_${s}`] = [G * H, H];
      if (cfg.bias) {
        shapes[`bias_ih_${s}`] = [G * H];
        shapes[`bias_hh_${s}`] = [G * H];
      }
    }
  }
  return shapes;
}

const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** PyTorch's default init: every parameter uniform(-1/sqrt(H), 1/sqrt(H)); keys filled in paramShapes order. */
export function initParams(cfg: RefConfig, rand: () => number): Dict {
  const k = 1 / Math.sqrt(cfg.hiddenSize);
  const p: Dict = {};
  for (const [name, shape] of Object.entries(paramShapes(cfg))) {
    const a = new Float64Array(sizeOf(shape));
    for (let i = 0; i < a.length; i++) a[i] = -k + 2 * k * rand();
    p[name] = a;
  }
  return p;
}

export interface RefInputs {
  /** [T, B, I] (time-major) */
  x: Float64Array;
  T: number;
  B: number;
  /** [L*D, B, H], zeros if absent */
  h0?: Float64Array;
  /** LSTM only, [L*D, B, H], zeros if absent */
  c0?: Float64Array;
  /**
   * Per batch row, 1..T; like pack_padded_sequence (enforce_sorted=False):
   * outputs past a row's length are 0; final h/c of a row is the state at its
   * last valid step; the reverse direction of row b starts at t = lengths[b]-1
   * and runs down to 0.
   */
  lengths?: number[];
  /**
   * masks[l] ([T, B, D*H], values 0 or 1/(1-p)) multiplies layer l's output
   * before it feeds layer l+1 (l < L-1), as training-mode dropout does.
   */
  dropout?: { p: number; masks: Float64Array[] };
}

export interface RefForward {
  /** [T, B, D*H] */
  output: Float64Array;
  /** [L*D, B, H] */
  h: Float64Array;
  /** LSTM only, [L*D, B, H] */
  c?: Float64Array;
}

export interface RefGrads {
  /** dL/dparam, same keys and shapes as paramShapes */
  grads: Dict;
  /** [T, B, I] */
  dx: Float64Array;
  /** [L*D, B, H] */
  dh0: Float64Array;
  /** LSTM only */
  dc0?: Float64Array;
  /**
   * [T]: for the last layer, forward direction, the L2 norm over (B, H) of
   * dL/dh_t, the total gradient reaching h_t (from the output at t and from
   * step t+1). A row b contributes nothing at padded steps t >= lengths[b]
   * (no h_t exists there in a packed sequence).
   */
  dhNorm: Float64Array;
}

// ---------------------------------------------------------------------------
// One cell step for one batch row
// ---------------------------------------------------------------------------

const sigmoid = (a: number): number => 1 / (1 + Math.exp(-a));

/** The weights of one (layer, direction). Biases are null when cfg.bias is false. */
interface CellWeights {
  wih: Float64Array; // [G*H, I_l]
  whh: Float64Array; // [G*H, H]
  bih: Float64Array | null; // [G*H]
  bhh: Float64Array | null; // [G*H]
  inSize: number;
}

/** Everything one step of one row needs for its backward pass. */
interface StepRecord {
  x: Float64Array; // [I_l] input at this step
  hPrev: Float64Array; // [H]
  cPrev: Float64Array | null; // [H], LSTM
  /** [G*H] input-side pre-activation  gi = W_ih x + b_ih */
  gi: Float64Array;
  /**
   * [G*H] hidden-side pre-activation gh = W_hh h + b_hh, except, for a GRU
   * with resetAfter false, rows [2H:3H] hold W_hn (r*h) + b_hn.
   */
  gh: Float64Array;
  /** [G*H] gate activations (RNN: h itself; LSTM: i,f,g,o; GRU: r,z,n) */
  act: Float64Array;
  h: Float64Array; // [H] new hidden state
  c: Float64Array | null; // [H] new cell state, LSTM
}

function cellWeights(cfg: RefConfig, p: Dict, l: number, d: number): CellWeights {
  const s = `l${l}${suffix(d)}`;
  const get = (name: string): Float64Array => {
    const a = p[name];
    if (!a) throw new Error(`recurrent ref: missing parameter ${name}`);
    const want = sizeOf(paramShapes(cfg)[name]!);
    if (a.length !== want) throw new Error(`recurrent ref: ${name} has ${a.length} elements, expected ${want}`);
    return a;
  };
  return {
    wih: get(`weight_ih_${s}`),
    whh: get(`weight_hh_${s}`),
    bih: cfg.bias ? get(`bias_ih_${s}`) : null,
    bhh: cfg.bias ? get(`bias_hh_${s}`) : null,
    inSize: layerInputSize(cfg, l),
  };
}

/** gi[k] = sum_i W_ih[k, i] x[i] + b_ih[k], for k in [0, G*H). */
function inputPreact(w: CellWeights, G: number, H: number, x: Float64Array): Float64Array {
  const gi = new Float64Array(G * H);
  for (let k = 0; k < G * H; k++) {
    let s = w.bih ? w.bih[k]! : 0;
    for (let i = 0; i < w.inSize; i++) s += w.wih[k * w.inSize + i]! * x[i]!;
    gi[k] = s;
  }
  return gi;
}

/** sum_m W_hh[k, m] v[m] + b_hh[k], for one row k. */
function hiddenRow(w: CellWeights, H: number, k: number, v: Float64Array): number {
  let s = w.bhh ? w.bhh[k]! : 0;
  for (let m = 0; m < H; m++) s += w.whh[k * H + m]! * v[m]!;
  return s;
}

function cellForward(
  cfg: RefConfig,
  w: CellWeights,
  x: Float64Array,
  hPrev: Float64Array,
  cPrev: Float64Array | null,
): StepRecord {
  const H = cfg.hiddenSize;
  const G = gateCount(cfg.cell);
  const gi = inputPreact(w, G, H, x);
  const gh = new Float64Array(G * H);
  const act = new Float64Array(G * H);
  const h = new Float64Array(H);
  let c: Float64Array | null = null;

  if (cfg.cell === 'rnn_tanh' || cfg.cell === 'rnn_relu') {
    // h' = act(W_ih x + b_ih + W_hh h + b_hh)
    for (let j = 0; j < H; j++) {
      gh[j] = hiddenRow(w, H, j, hPrev);
      const a = gi[j]! + gh[j]!;
      act[j] = cfg.cell === 'rnn_tanh' ? Math.tanh(a) : Math.max(a, 0);
      h[j] = act[j]!;
    }
  } else if (cfg.cell === 'lstm') {
    // i = σ(W_ii x + b_ii + W_hi h + b_hi)   rows [0:H]
    // f = σ(W_if x + b_if + W_hf h + b_hf)   rows [H:2H]
    // g = tanh(W_ig x + b_ig + W_hg h + b_hg) rows [2H:3H]
    // o = σ(W_io x + b_io + W_ho h + b_ho)   rows [3H:4H]
    // c' = f * c + i * g;  h' = o * tanh(c')
    for (let k = 0; k < 4 * H; k++) gh[k] = hiddenRow(w, H, k, hPrev);
    c = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const i = sigmoid(gi[j]! + gh[j]!);
      const f = sigmoid(gi[H + j]! + gh[H + j]!);
      const g = Math.tanh(gi[2 * H + j]! + gh[2 * H + j]!);
      const o = sigmoid(gi[3 * H + j]! + gh[3 * H + j]!);
      act[j] = i;
      act[H + j] = f;
      act[2 * H + j] = g;
      act[3 * H + j] = o;
      c[j] = f * cPrev![j]! + i * g;
      h[j] = o * Math.tanh(c[j]!);
    }
  } else {
    // r = σ(W_ir x + b_ir + W_hr h + b_hr)   rows [0:H]
    // z = σ(W_iz x + b_iz + W_hz h + b_hz)   rows [H:2H]
    // resetAfter (PyTorch): n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    // else (Keras reset_after=False): n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)
    // h' = (1 - z) * n + z * h
    const resetAfter = cfg.resetAfter ?? true;
    for (let k = 0; k < 2 * H; k++) gh[k] = hiddenRow(w, H, k, hPrev);
    for (let j = 0; j < H; j++) {
      act[j] = sigmoid(gi[j]! + gh[j]!); // r
      act[H + j] = sigmoid(gi[H + j]! + gh[H + j]!); // z
    }
    const rh = new Float64Array(H); // r * h, used only when !resetAfter
    for (let m = 0; m < H; m++) rh[m] = act[m]! * hPrev[m]!;
    for (let j = 0; j < H; j++) {
      gh[2 * H + j] = hiddenRow(w, H, 2 * H + j, resetAfter ? hPrev : rh);
      const r = act[j]!;
      const z = act[H + j]!;
      const n = resetAfter ? Math.tanh(gi[2 * H + j]! + r * gh[2 * H + j]!) : Math.tanh(gi[2 * H + j]! + gh[2 * H + j]!);
      act[2 * H + j] = n;
      h[j] = (1 - z) * n + z * hPrev[j]!;
    }
  }
  return { x, hPrev, cPrev, gi, gh, act, h, c };
}

/** Gradient accumulators of one (layer, direction). */
interface CellGrads {
  wih: Float64Array;
  whh: Float64Array;
  bih: Float64Array | null;
  bhh: Float64Array | null;
}

/**
 * Backward of one step of one row. dh, dc: total gradients reaching the new
 * h', c'. Accumulates parameter gradients into g; returns dL/dx, dL/dh, dL/dc.
 */
function cellBackward(
  cfg: RefConfig,
  w: CellWeights,
  g: CellGrads,
  rec: StepRecord,
  dh: Float64Array,
  dc: Float64Array | null,
): { dx: Float64Array; dhPrev: Float64Array; dcPrev: Float64Array | null } {
  const H = cfg.hiddenSize;
  const G = gateCount(cfg.cell);
  const I = w.inSize;
  // dgi[k] = dL/d(gi[k]) (input-side pre-activation), dgh[k] = dL/d(gh[k]).
  const dgi = new Float64Array(G * H);
  const dgh = new Float64Array(G * H);
  const dhPrev = new Float64Array(H);
  let dcPrev: Float64Array | null = null;
  // hv[k] is the vector that W_hh row k multiplied in the forward pass: h,
  // except GRU !resetAfter rows [2H:3H], which multiplied r*h.
  let rhRows = false;
  let rh: Float64Array | null = null;

  if (cfg.cell === 'rnn_tanh' || cfg.cell === 'rnn_relu') {
    for (let j = 0; j < H; j++) {
      // h' = act(a): tanh' = 1 - h'^2; relu' = 1 if a > 0 else 0 (h' > 0 iff a > 0)
      const dAct = cfg.cell === 'rnn_tanh' ? 1 - rec.h[j]! * rec.h[j]! : rec.h[j]! > 0 ? 1 : 0;
      const da = dh[j]! * dAct;
      dgi[j] = da;
      dgh[j] = da;
    }
  } else if (cfg.cell === 'lstm') {
    dcPrev = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const i = rec.act[j]!;
      const f = rec.act[H + j]!;
      const gg = rec.act[2 * H + j]!;
      const o = rec.act[3 * H + j]!;
      const tc = Math.tanh(rec.c![j]!);
      // h' = o * tanh(c'):  do = dh * tanh(c');  dc' += dh * o * (1 - tanh(c')^2)
      const dO = dh[j]! * tc;
      const dcTot = dc![j]! + dh[j]! * o * (1 - tc * tc);
      // c' = f * c + i * g
      const dI = dcTot * gg;
      const dF = dcTot * rec.cPrev![j]!;
      const dG = dcTot * i;
      dcPrev[j] = dcTot * f;
      // through the activations: σ' = s(1-s), tanh' = 1 - t^2
      const ai = dI * i * (1 - i);
      const af = dF * f * (1 - f);
      const ag = dG * (1 - gg * gg);
      const ao = dO * o * (1 - o);
      dgi[j] = dgh[j] = ai;
      dgi[H + j] = dgh[H + j] = af;
      dgi[2 * H + j] = dgh[2 * H + j] = ag;
      dgi[3 * H + j] = dgh[3 * H + j] = ao;
    }
  } else {
    const resetAfter = cfg.resetAfter ?? true;
    const dr = new Float64Array(H); // dL/dr (after the sigmoid)
    for (let j = 0; j < H; j++) {
      const z = rec.act[H + j]!;
      const n = rec.act[2 * H + j]!;
      // h' = (1 - z) * n + z * h
      const dn = dh[j]! * (1 - z);
      const dz = dh[j]! * (rec.hPrev[j]! - n);
      dhPrev[j] += dh[j]! * z;
      // n = tanh(an)
      const dan = dn * (1 - n * n);
      dgi[2 * H + j] = dan; // an = gi_n + ...
      if (resetAfter) {
        // an = gi_n + r * gh_n
        dgh[2 * H + j] = dan * rec.act[j]!;
        dr[j] = dan * rec.gh[2 * H + j]!;
      } else {
        // an = gi_n + gh_n with gh_n = W_hn (r*h) + b_hn; dr via r*h below
        dgh[2 * H + j] = dan;
      }
      // z = σ(az)
      const daz = dz * z * (1 - z);
      dgi[H + j] = daz;
      dgh[H + j] = daz;
    }
    if (!resetAfter) {
      rhRows = true;
      rh = new Float64Array(H);
      for (let m = 0; m < H; m++) rh[m] = rec.act[m]! * rec.hPrev[m]!;
      // d(r*h)[m] = sum_j W_hn[j, m] dgh_n[j];  r*h -> dr[m] += d(rh)[m] h[m], dh[m] += d(rh)[m] r[m]
      for (let m = 0; m < H; m++) {
        let s = 0;
        for (let j = 0; j < H; j++) s += w.whh[(2 * H + j) * H + m]! * dgh[2 * H + j]!;
        dr[m] += s * rec.hPrev[m]!;
        dhPrev[m] += s * rec.act[m]!;
      }
    }
    for (let j = 0; j < H; j++) {
      // r = σ(ar)
      const r = rec.act[j]!;
      const dar = dr[j]! * r * (1 - r);
      dgi[j] = dar;
      dgh[j] = dar;
    }
  }

  // gi = W_ih x + b_ih:  dW_ih[k, i] += dgi[k] x[i];  db_ih[k] += dgi[k];  dx[i] += W_ih[k, i] dgi[k]
  const dx = new Float64Array(I);
  for (let k = 0; k < G * H; k++) {
    for (let i = 0; i < I; i++) {
      g.wih[k * I + i] += dgi[k]! * rec.x[i]!;
      dx[i] += w.wih[k * I + i]! * dgi[k]!;
    }
    if (g.bih) g.bih[k] += dgi[k]!;
  }
  // gh = W_hh hv + b_hh:  dW_hh[k, m] += dgh[k] hv[m];  db_hh[k] += dgh[k];  dh[m] += W_hh[k, m] dgh[k]
  // (GRU !resetAfter rows [2H:3H]: hv = r*h, and their dh was already taken above)
  for (let k = 0; k < G * H; k++) {
    const viaRh = rhRows && k >= 2 * H;
    for (let m = 0; m < H; m++) {
      const hv = viaRh ? rh![m]! : rec.hPrev[m]!;
      g.whh[k * H + m] += dgh[k]! * hv;
      if (!viaRh) dhPrev[m] += w.whh[k * H + m]! * dgh[k]!;
    }
    if (g.bhh) g.bhh[k] += dgh[k]!;
  }
  return { dx, dhPrev, dcPrev };
}

// ---------------------------------------------------------------------------
// The whole stack
// ---------------------------------------------------------------------------

interface Trace {
  /** per layer: its input [T, B, I_l] (layer l > 0: previous output times its dropout mask) */
  layerIn: Float64Array[];
  /** per layer: its output [T, B, D*H], before dropout */
  layerOut: Float64Array[];
  /** rec[l][d][t][b]; null at padded steps t >= lengths[b] */
  rec: (StepRecord | null)[][][][];
  h: Float64Array;
  c: Float64Array | null;
  lengths: number[];
}

function checkInputs(cfg: RefConfig, inp: RefInputs): number[] {
  const { T, B } = inp;
  const LD = cfg.numLayers * numDirs(cfg);
  const H = cfg.hiddenSize;
  const want = (what: string, a: ArrayLike<number> | undefined, n: number): void => {
    if (a && a.length !== n) throw new Error(`recurrent ref: ${what} has ${a.length} elements, expected ${n}`);
  };
  want('x', inp.x, T * B * cfg.inputSize);
  want('h0', inp.h0, LD * B * H);
  if (inp.c0 && cfg.cell !== 'lstm') throw new Error('recurrent ref: c0 given for a non-LSTM cell');
  want('c0', inp.c0, LD * B * H);
  const lengths = inp.lengths ?? new Array<number>(B).fill(T);
  if (lengths.length !== B) throw new Error(`recurrent ref: ${lengths.length} lengths for batch ${B}`);
  for (const n of lengths) {
    if (!Number.isInteger(n) || n < 1 || n > T) throw new Error(`recurrent ref: length ${n} outside 1..${T}`);
  }
  if (inp.dropout) {
    if (inp.dropout.masks.length < cfg.numLayers - 1) {
      throw new Error(`recurrent ref: ${inp.dropout.masks.length} dropout masks for ${cfg.numLayers} layers`);
    }
    for (let l = 0; l < cfg.numLayers - 1; l++) want(`dropout mask ${l}`, inp.dropout.masks[l], T * B * numDirs(cfg) * H);
  }
  return lengths;
}

function runForward(cfg: RefConfig, p: Dict, inp: RefInputs): Trace {
  const lengths = checkInputs(cfg, inp);
  const { T, B } = inp;
  const H = cfg.hiddenSize;
  const D = numDirs(cfg);
  const L = cfg.numLayers;
  const isLstm = cfg.cell === 'lstm';
  const hOut = new Float64Array(L * D * B * H);
  const cOut = isLstm ? new Float64Array(L * D * B * H) : null;
  const trace: Trace = { layerIn: [], layerOut: [], rec: [], h: hOut, c: cOut, lengths };

  let input = inp.x;
  for (let l = 0; l < L; l++) {
    const I = layerInputSize(cfg, l);
    const out = new Float64Array(T * B * D * H); // padded steps stay 0
    trace.layerIn.push(input);
    trace.rec.push([]);
    for (let d = 0; d < D; d++) {
      const w = cellWeights(cfg, p, l, d);
      const recs: (StepRecord | null)[][] = [];
      for (let t = 0; t < T; t++) recs.push(new Array<StepRecord | null>(B).fill(null));
      const s = l * D + d; // index into h0 / h / c
      for (let b = 0; b < B; b++) {
        let h: Float64Array = new Float64Array(H);
        let c: Float64Array | null = isLstm ? new Float64Array(H) : null;
        for (let j = 0; j < H; j++) {
          if (inp.h0) h[j] = inp.h0[(s * B + b) * H + j]!;
          if (c && inp.c0) c[j] = inp.c0[(s * B + b) * H + j]!;
        }
        // forward: t = 0 .. len-1; reverse: t = len-1 .. 0
        const len = lengths[b]!;
        for (let step = 0; step < len; step++) {
          const t = d === 0 ? step : len - 1 - step;
          const x = input.slice((t * B + b) * I, (t * B + b + 1) * I);
          const rec = cellForward(cfg, w, x, h, c);
          recs[t]![b] = rec;
          h = rec.h;
          c = rec.c;
          for (let j = 0; j < H; j++) out[(t * B + b) * D * H + d * H + j] = h[j]!;
        }
        for (let j = 0; j < H; j++) {
          hOut[(s * B + b) * H + j] = h[j]!;
          if (cOut) cOut[(s * B + b) * H + j] = c![j]!;
        }
      }
      trace.rec[l]!.push(recs);
    }
    trace.layerOut.push(out);
    // dropout between layers: next input = output * mask (mask values 0 or 1/(1-p))
    if (l < L - 1 && inp.dropout) {
      const m = inp.dropout.masks[l]!;
      input = Float64Array.from(out, (v, i) => v * m[i]!);
    } else {
      input = out;
    }
  }
  return trace;
}

export function forwardRef(cfg: RefConfig, p: Dict, inp: RefInputs): RefForward {
  const tr = runForward(cfg, p, inp);
  const r: RefForward = { output: tr.layerOut[cfg.numLayers - 1]!, h: tr.h };
  if (tr.c) r.c = tr.c;
  return r;
}

/**
 * Exact BPTT of forwardRef for L = sum(dOutput * output) + sum(dh * h_final)
 * + sum(dc * c_final).
 */
export function backwardRef(
  cfg: RefConfig,
  p: Dict,
  inp: RefInputs,
  up: { dOutput: Float64Array; dh?: Float64Array; dc?: Float64Array },
): RefGrads {
  const tr = runForward(cfg, p, inp);
  const { T, B } = inp;
  const H = cfg.hiddenSize;
  const D = numDirs(cfg);
  const L = cfg.numLayers;
  const isLstm = cfg.cell === 'lstm';
  const lengths = tr.lengths;
  if (up.dOutput.length !== T * B * D * H) throw new Error('recurrent ref: dOutput has the wrong size');
  if (up.dh && up.dh.length !== L * D * B * H) throw new Error('recurrent ref: dh has the wrong size');
  if (up.dc && (!isLstm || up.dc.length !== L * D * B * H)) throw new Error('recurrent ref: dc is wrong for this cell');

  const grads: Dict = {};
  for (const [name, shape] of Object.entries(paramShapes(cfg))) grads[name] = new Float64Array(sizeOf(shape));
  const dh0 = new Float64Array(L * D * B * H);
  const dc0 = isLstm ? new Float64Array(L * D * B * H) : null;
  const dhNormSq = new Float64Array(T);
  let dx = new Float64Array(0);

  // dY: dL/d(layer l's output, before dropout), [T, B, D*H]
  let dY = up.dOutput;
  for (let l = L - 1; l >= 0; l--) {
    const I = layerInputSize(cfg, l);
    const dX = new Float64Array(T * B * I); // dL/d(layer l's input)
    for (let d = 0; d < D; d++) {
      const w = cellWeights(cfg, p, l, d);
      const sName = `l${l}${suffix(d)}`;
      const g: CellGrads = {
        wih: grads[`weight_ih_${sName}`]!,
        whh: grads[`weight_hh_${sName}`]!,
        bih: cfg.bias ? grads[`bias_ih_${sName}`]! : null,
        bhh: cfg.bias ? grads[`bias_hh_${sName}`]! : null,
      };
      const s = l * D + d;
      for (let b = 0; b < B; b++) {
        // The gradient carried back along the recurrence starts as the upstream dh/dc of the final state.
        let carryH: Float64Array = new Float64Array(H);
        let carryC: Float64Array | null = isLstm ? new Float64Array(H) : null;
        for (let j = 0; j < H; j++) {
          if (up.dh) carryH[j] = up.dh[(s * B + b) * H + j]!;
          if (carryC && up.dc) carryC[j] = up.dc[(s * B + b) * H + j]!;
        }
        // Steps in the reverse of the order the forward pass took them.
        const len = lengths[b]!;
        for (let step = len - 1; step >= 0; step--) {
          const t = d === 0 ? step : len - 1 - step;
          const rec = tr.rec[l]![d]![t]![b]!;
          // dL/dh_t = (from the output at t) + (from the next step, carried)
          const dhT = new Float64Array(H);
          for (let j = 0; j < H; j++) dhT[j] = carryH[j]! + dY[(t * B + b) * D * H + d * H + j]!;
          if (l === L - 1 && d === 0) for (let j = 0; j < H; j++) dhNormSq[t] += dhT[j]! * dhT[j]!;
          const r = cellBackward(cfg, w, g, rec, dhT, carryC);
          for (let i = 0; i < I; i++) dX[(t * B + b) * I + i] += r.dx[i]!;
          carryH = r.dhPrev;
          carryC = r.dcPrev;
        }
        for (let j = 0; j < H; j++) {
          dh0[(s * B + b) * H + j] = carryH[j]!;
          if (dc0) dc0[(s * B + b) * H + j] = carryC![j]!;
        }
      }
    }
    if (l > 0) {
      // input of layer l = output of layer l-1 * mask[l-1]
      const m = inp.dropout?.masks[l - 1];
      dY = m ? Float64Array.from(dX, (v, i) => v * m[i]!) : dX;
    } else {
      dx = dX;
    }
  }
  const res: RefGrads = { grads, dx, dh0, dhNorm: dhNormSq.map(Math.sqrt) };
  if (dc0) res.dc0 = dc0;
  return res;
}
