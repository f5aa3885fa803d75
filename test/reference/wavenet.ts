/**
 * Float64 reference for a WaveNet (van den Oord et al. 2016) with PyTorch
 * Conv1d conventions: the forward pass, exact backpropagation, mu-law
 * companding, and autoregressive generation two ways (the naive definition,
 * and Paine et al. 2016's fast queues). Written plainly, one index at a time;
 * GPU kernels are checked against this, and this is checked against central
 * finite differences in test/reference-wavenet.test.ts.
 *
 * Layouts (all row-major, batch-major, PyTorch Conv1d):
 *   x    [B, C_in, T]            cond [B, globalCondition]
 *   y    [B, outChannels, T]
 *   Conv1d weight [out, in, kernel], bias [out]; 1x1 projection weight [out, in]
 *
 * Model (R = residualChannels, Dc = dilationChannels, S = skipChannels,
 * K = kernelSize, layer k = 0 .. stacks*dilations.length - 1 with dilation
 * d_k = dilations[k % dilations.length]):
 *   h_0 = W_in x + b_in                                   (1x1 conv)
 *   f_k = W_f * h_k + b_f  [+ V_f c]                      (causal dilated conv)
 *   g_k = W_g * h_k + b_g  [+ V_g c]
 *     (W*h)[o, t] = sum_i sum_m W[o, i, m] h[i, t - (K-1-m) d_k],  h[., <0] = 0
 *   z_k = tanh(f_k) * sigmoid(g_k)
 *   h_{k+1} = h_k + W_r z_k + b_r                         (residual, 1x1)
 *   s = sum_k (W_s z_k + b_s)                              (skip, 1x1)
 *   y = W_2 relu(W_1 relu(s) + b_1) + b_2                  (head.0, head.1)
 */

export interface WaveNetConfig {
  inChannels: number;
  residualChannels: number;
  dilationChannels: number;
  skipChannels: number;
  outChannels: number;
  /** Dilations of one stack; default [1, 2, 4, 8]. */
  dilations?: number[];
  /** Repeats of the dilation pattern; default 1. */
  stacks?: number;
  /** Taps of the dilated convolutions; default 2. */
  kernelSize?: number;
  /** Size of the global conditioning vector c; absent = no conditioning. */
  globalCondition?: number;
}

/** PyTorch state_dict names, row-major. */
export type Dict = Record<string, Float64Array>;

interface Resolved {
  Cin: number;
  R: number;
  Dc: number;
  S: number;
  O: number;
  dilations: number[];
  stacks: number;
  K: number;
  G: number; // 0 = no global conditioning
  layers: number;
}

function resolve(cfg: WaveNetConfig): Resolved {
  const dilations = cfg.dilations ?? [1, 2, 4, 8];
  const stacks = cfg.stacks ?? 1;
  return {
    Cin: cfg.inChannels,
    R: cfg.residualChannels,
    Dc: cfg.dilationChannels,
    S: cfg.skipChannels,
    O: cfg.outChannels,
    dilations,
    stacks,
    K: cfg.kernelSize ?? 2,
    G: cfg.globalCondition ?? 0,
    layers: stacks * dilations.length,
  };
}

/** d_k = dilations[k % dilations.length]. */
const dilationOf = (c: Resolved, k: number): number => c.dilations[k % c.dilations.length]!;

/** Keys in PyTorch's order: input, layers.{k}.(filter, gate, [cond_filter, cond_gate], residual, skip), head.0, head.1. */
export function wavenetShapes(cfg: WaveNetConfig): Record<string, number[]> {
  const c = resolve(cfg);
  const shapes: Record<string, number[]> = {};
  shapes['input.weight'] = [c.R, c.Cin, 1];
  shapes['input.bias'] = [c.R];
  for (let k = 0; k < c.layers; k++) {
    shapes[`layers.${k}.filter.weight`] = [c.Dc, c.R, c.K];
    shapes[`layers.${k}.filter.bias`] = [c.Dc];
    shapes[`layers.${k}.gate.weight`] = [c.Dc, c.R, c.K];
    shapes[`layers.${k}.gate.bias`] = [c.Dc];
    if (c.G > 0) {
      shapes[`layers.${k}.cond_filter.weight`] = [c.Dc, c.G];
      shapes[`layers.${k}.cond_gate.weight`] = [c.Dc, c.G];
    }
    shapes[`layers.${k}.residual.weight`] = [c.R, c.Dc, 1];
    shapes[`layers.${k}.residual.bias`] = [c.R];
    shapes[`layers.${k}.skip.weight`] = [c.S, c.Dc, 1];
    shapes[`layers.${k}.skip.bias`] = [c.S];
  }
  shapes['head.0.weight'] = [c.S, c.S, 1];
  shapes['head.0.bias'] = [c.S];
  shapes['head.1.weight'] = [c.O, c.S, 1];
  shapes['head.1.bias'] = [c.O];
  return shapes;
}

/** Receptive field in samples: stacks * (K - 1) * sum(dilations) + 1. */
export function receptiveField(cfg: WaveNetConfig): number {
  const c = resolve(cfg);
  let sum = 0;
  for (const d of c.dilations) sum += d;
  return c.stacks * (c.K - 1) * sum + 1;
}

const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * PyTorch's Conv1d / Linear default: weight and bias uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))
 * with fan_in = in_channels * kernel_size (= shape[1] * shape[2] of the weight; for the
 * [Dc, G] cond projections fan_in = G). Keys filled in wavenetShapes order, each weight
 * then its bias using the weight's fan_in.
 */
export function initWaveNet(cfg: WaveNetConfig, rand: () => number): Dict {
  const shapes = wavenetShapes(cfg);
  const p: Dict = {};
  let bound = 0;
  for (const [name, shape] of Object.entries(shapes)) {
    if (name.endsWith('.weight')) {
      const fanIn = shape.length === 3 ? shape[1]! * shape[2]! : shape[1]!;
      bound = 1 / Math.sqrt(fanIn);
    }
    // a bias directly follows its weight, so `bound` is that weight's
    const a = new Float64Array(sizeOf(shape));
    for (let i = 0; i < a.length; i++) a[i] = -bound + 2 * bound * rand();
    p[name] = a;
  }
  return p;
}

// ---------------------------------------------------------------------------
// building blocks, [B, C, T] layout
// ---------------------------------------------------------------------------

/** Flat index of [b, ch, t] in a [B, C, T] tensor. */
const at = (b: number, ch: number, t: number, C: number, T: number): number => (b * C + ch) * T + t;

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** 1x1 conv: out[b, o, t] = bias[o] + sum_i W[o, i] in[b, i, t]. */
function conv1x1(W: Float64Array, bias: Float64Array, inp: Float64Array, B: number, I: number, O: number, T: number): Float64Array {
  const out = new Float64Array(B * O * T);
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < O; o++) {
      for (let t = 0; t < T; t++) {
        let acc = bias[o]!;
        for (let i = 0; i < I; i++) acc += W[o * I + i]! * inp[at(b, i, t, I, T)]!;
        out[at(b, o, t, O, T)] = acc;
      }
    }
  }
  return out;
}

/**
 * Causal dilated conv (PyTorch Conv1d, left zero padding (K-1)*d):
 *   out[b, o, t] = bias[o] + sum_i sum_m W[o, i, m] in[b, i, t - (K-1-m) d],  in[., ., <0] = 0
 * plus, when V and cond are given, the broadcast projection sum_j V[o, j] cond[b, j].
 */
function causalConv(
  W: Float64Array,
  bias: Float64Array,
  inp: Float64Array,
  B: number,
  I: number,
  O: number,
  T: number,
  K: number,
  d: number,
  V?: Float64Array,
  cond?: Float64Array,
  G = 0,
): Float64Array {
  const out = new Float64Array(B * O * T);
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < O; o++) {
      // conditioning term: sum_j V[o, j] c[b, j], the same for every t
      let condTerm = 0;
      if (V && cond) for (let j = 0; j < G; j++) condTerm += V[o * G + j]! * cond[b * G + j]!;
      for (let t = 0; t < T; t++) {
        let acc = bias[o]!;
        for (let i = 0; i < I; i++) {
          for (let m = 0; m < K; m++) {
            const tt = t - (K - 1 - m) * d; // tap m = K-1 is the current time
            if (tt >= 0) acc += W[(o * I + i) * K + m]! * inp[at(b, i, tt, I, T)]!;
          }
        }
        out[at(b, o, t, O, T)] = acc + condTerm;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// forward
// ---------------------------------------------------------------------------

interface LayerCache {
  h: Float64Array; // layer input h_k [B, R, T]
  f: Float64Array; // filter pre-activation [B, Dc, T]
  g: Float64Array; // gate pre-activation [B, Dc, T]
  z: Float64Array; // tanh(f) * sigmoid(g) [B, Dc, T]
}

interface Cache {
  layers: LayerCache[];
  s: Float64Array; // skip sum [B, S, T]
  a1: Float64Array; // relu(s)
  u: Float64Array; // W_1 relu(s) + b_1
  a2: Float64Array; // relu(u)
}

function checkInputs(c: Resolved, p: Dict, x: Float64Array, B: number, T: number, cond?: Float64Array): void {
  if (x.length !== B * c.Cin * T) throw new Error(`wavenet: x has ${x.length} elements, expected B*C_in*T = ${B * c.Cin * T}`);
  if (c.G > 0) {
    if (!cond || cond.length !== B * c.G) throw new Error(`wavenet: cond must have B*globalCondition = ${B * c.G} elements`);
  } else if (cond) {
    throw new Error('wavenet: cond given but config has no globalCondition');
  }
  for (const [name, shape] of Object.entries(wavenetShapes(cfgOf(c)))) {
    const a = p[name];
    if (!a || a.length !== sizeOf(shape)) throw new Error(`wavenet: parameter ${name} missing or not of shape [${shape}]`);
  }
}

const cfgOf = (c: Resolved): WaveNetConfig => ({
  inChannels: c.Cin,
  residualChannels: c.R,
  dilationChannels: c.Dc,
  skipChannels: c.S,
  outChannels: c.O,
  dilations: c.dilations,
  stacks: c.stacks,
  kernelSize: c.K,
  ...(c.G > 0 ? { globalCondition: c.G } : {}),
});

/** y [B, outChannels, T] for x [B, C_in, T] (and cond [B, globalCondition] when configured). */
export function wavenetForwardRef(
  cfg: WaveNetConfig,
  p: Dict,
  x: Float64Array,
  B: number,
  T: number,
  cond?: Float64Array,
): { y: Float64Array; cache: unknown } {
  const c = resolve(cfg);
  checkInputs(c, p, x, B, T, cond);
  const { R, Dc, S, O, K } = c;

  // h_0 = W_in x + b_in
  let h = conv1x1(p['input.weight']!, p['input.bias']!, x, B, c.Cin, R, T);
  const s = new Float64Array(B * S * T); // s starts at 0
  const layers: LayerCache[] = [];
  for (let k = 0; k < c.layers; k++) {
    const d = dilationOf(c, k);
    const L = `layers.${k}`;
    // f = W_f * h + b_f (+ V_f c),  g = W_g * h + b_g (+ V_g c)
    const f = causalConv(p[`${L}.filter.weight`]!, p[`${L}.filter.bias`]!, h, B, R, Dc, T, K, d, p[`${L}.cond_filter.weight`], cond, c.G);
    const g = causalConv(p[`${L}.gate.weight`]!, p[`${L}.gate.bias`]!, h, B, R, Dc, T, K, d, p[`${L}.cond_gate.weight`], cond, c.G);
    // z = tanh(f) * sigmoid(g)
    const z = new Float64Array(B * Dc * T);
    for (let i = 0; i < z.length; i++) z[i] = Math.tanh(f[i]!) * sigmoid(g[i]!);
    layers.push({ h, f, g, z });
    // h_next = h + (W_r z + b_r)
    const res = conv1x1(p[`${L}.residual.weight`]!, p[`${L}.residual.bias`]!, z, B, Dc, R, T);
    const hNext = new Float64Array(B * R * T);
    for (let i = 0; i < hNext.length; i++) hNext[i] = h[i]! + res[i]!;
    // s += W_s z + b_s
    const sk = conv1x1(p[`${L}.skip.weight`]!, p[`${L}.skip.bias`]!, z, B, Dc, S, T);
    for (let i = 0; i < s.length; i++) s[i] = s[i]! + sk[i]!;
    h = hNext;
  }
  // y = W_2 relu(W_1 relu(s) + b_1) + b_2
  const a1 = s.map((v) => Math.max(v, 0));
  const u = conv1x1(p['head.0.weight']!, p['head.0.bias']!, a1, B, S, S, T);
  const a2 = u.map((v) => Math.max(v, 0));
  const y = conv1x1(p['head.1.weight']!, p['head.1.bias']!, a2, B, S, O, T);
  const cache: Cache = { layers, s, a1, u, a2 };
  return { y, cache };
}

// ---------------------------------------------------------------------------
// backward
// ---------------------------------------------------------------------------

/**
 * Backward of out = W in + bias (1x1): given dOut [B, O, T],
 *   dW[o, i] += sum_{b,t} dOut[b, o, t] in[b, i, t]
 *   dbias[o] += sum_{b,t} dOut[b, o, t]
 *   dIn[b, i, t] = sum_o W[o, i] dOut[b, o, t]      (returned)
 */
function conv1x1Backward(
  W: Float64Array,
  inp: Float64Array,
  dOut: Float64Array,
  B: number,
  I: number,
  O: number,
  T: number,
  dW: Float64Array,
  dbias: Float64Array,
): Float64Array {
  const dIn = new Float64Array(B * I * T);
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < O; o++) {
      for (let t = 0; t < T; t++) {
        const go = dOut[at(b, o, t, O, T)]!;
        dbias[o] = dbias[o]! + go;
        for (let i = 0; i < I; i++) {
          dW[o * I + i] = dW[o * I + i]! + go * inp[at(b, i, t, I, T)]!;
          dIn[at(b, i, t, I, T)] = dIn[at(b, i, t, I, T)]! + W[o * I + i]! * go;
        }
      }
    }
  }
  return dIn;
}

/**
 * Backward of the causal conv out[b,o,t] = bias[o] + sum_{i,m} W[o,i,m] in[b,i,t-(K-1-m)d] + sum_j V[o,j] c[b,j]:
 *   dW[o, i, m] += sum_{b,t} dOut[b, o, t] in[b, i, t - (K-1-m) d]     (terms with t - (K-1-m) d >= 0)
 *   dbias[o]    += sum_{b,t} dOut[b, o, t]
 *   dIn[b, i, t - (K-1-m) d] += W[o, i, m] dOut[b, o, t]               (accumulated into dIn)
 *   dV[o, j]    += sum_{b,t} dOut[b, o, t] c[b, j]
 *   dc[b, j]    += sum_{o,t} V[o, j] dOut[b, o, t]
 */
function causalConvBackward(
  W: Float64Array,
  inp: Float64Array,
  dOut: Float64Array,
  B: number,
  I: number,
  O: number,
  T: number,
  K: number,
  d: number,
  dW: Float64Array,
  dbias: Float64Array,
  dIn: Float64Array,
  cond?: { V: Float64Array; c: Float64Array; G: number; dV: Float64Array; dc: Float64Array },
): void {
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < O; o++) {
      for (let t = 0; t < T; t++) {
        const go = dOut[at(b, o, t, O, T)]!;
        dbias[o] = dbias[o]! + go;
        for (let i = 0; i < I; i++) {
          for (let m = 0; m < K; m++) {
            const tt = t - (K - 1 - m) * d;
            if (tt < 0) continue; // zero padding: no parameter or input receives this term
            const w = (o * I + i) * K + m;
            dW[w] = dW[w]! + go * inp[at(b, i, tt, I, T)]!;
            dIn[at(b, i, tt, I, T)] = dIn[at(b, i, tt, I, T)]! + W[w]! * go;
          }
        }
        if (cond) {
          for (let j = 0; j < cond.G; j++) {
            cond.dV[o * cond.G + j] = cond.dV[o * cond.G + j]! + go * cond.c[b * cond.G + j]!;
            cond.dc[b * cond.G + j] = cond.dc[b * cond.G + j]! + cond.V[o * cond.G + j]! * go;
          }
        }
      }
    }
  }
}

/**
 * Gradients of L = sum(dy * y) with respect to every parameter (PyTorch names),
 * x (dx [B, C_in, T]) and, when configured, cond (dcond [B, globalCondition]).
 * relu'(0) = 0, as in PyTorch.
 */
export function wavenetBackwardRef(
  cfg: WaveNetConfig,
  p: Dict,
  x: Float64Array,
  B: number,
  T: number,
  dy: Float64Array,
  cond?: Float64Array,
): { grads: Dict; dx: Float64Array; dcond?: Float64Array } {
  const c = resolve(cfg);
  const { R, Dc, S, O, K } = c;
  if (dy.length !== B * O * T) throw new Error(`wavenet: dy has ${dy.length} elements, expected ${B * O * T}`);
  const cache = wavenetForwardRef(cfg, p, x, B, T, cond).cache as Cache;

  const grads: Dict = {};
  for (const [name, shape] of Object.entries(wavenetShapes(cfg))) grads[name] = new Float64Array(sizeOf(shape));
  const dcond = c.G > 0 ? new Float64Array(B * c.G) : undefined;

  // head: y = W_2 a2 + b_2, a2 = relu(u), u = W_1 a1 + b_1, a1 = relu(s)
  const da2 = conv1x1Backward(p['head.1.weight']!, cache.a2, dy, B, S, O, T, grads['head.1.weight']!, grads['head.1.bias']!);
  // du = da2 * [u > 0]
  const du = new Float64Array(B * S * T);
  for (let i = 0; i < du.length; i++) du[i] = cache.u[i]! > 0 ? da2[i]! : 0;
  const da1 = conv1x1Backward(p['head.0.weight']!, cache.a1, du, B, S, S, T, grads['head.0.weight']!, grads['head.0.bias']!);
  // ds = da1 * [s > 0]; every layer's skip output receives this same ds (s is their sum)
  const ds = new Float64Array(B * S * T);
  for (let i = 0; i < ds.length; i++) ds[i] = cache.s[i]! > 0 ? da1[i]! : 0;

  // dh = dL/dh_{k+1}, starting past the last layer, where h_layers feeds nothing: 0
  let dh = new Float64Array(B * R * T);
  for (let k = c.layers - 1; k >= 0; k--) {
    const d = dilationOf(c, k);
    const L = `layers.${k}`;
    const { h, f, g, z } = cache.layers[k]!;
    // h_{k+1} = h_k + W_r z + b_r  and  s += W_s z + b_s:
    //   dz = W_r^T dh_{k+1} + W_s^T ds
    const dzRes = conv1x1Backward(p[`${L}.residual.weight`]!, z, dh, B, Dc, R, T, grads[`${L}.residual.weight`]!, grads[`${L}.residual.bias`]!);
    const dzSkip = conv1x1Backward(p[`${L}.skip.weight`]!, z, ds, B, Dc, S, T, grads[`${L}.skip.weight`]!, grads[`${L}.skip.bias`]!);
    // z = tanh(f) sigmoid(g):
    //   df = dz * sigmoid(g) * (1 - tanh(f)^2)
    //   dg = dz * tanh(f) * sigmoid(g) * (1 - sigmoid(g))
    const df = new Float64Array(B * Dc * T);
    const dg = new Float64Array(B * Dc * T);
    for (let i = 0; i < df.length; i++) {
      const dz = dzRes[i]! + dzSkip[i]!;
      const th = Math.tanh(f[i]!);
      const sg = sigmoid(g[i]!);
      df[i] = dz * sg * (1 - th * th);
      dg[i] = dz * th * sg * (1 - sg);
    }
    // dh_k = dh_{k+1} (identity path of the residual) + conv^T(df) + conv^T(dg)
    const dhPrev = Float64Array.from(dh);
    causalConvBackward(
      p[`${L}.filter.weight`]!, h, df, B, R, Dc, T, K, d,
      grads[`${L}.filter.weight`]!, grads[`${L}.filter.bias`]!, dhPrev,
      c.G > 0 ? { V: p[`${L}.cond_filter.weight`]!, c: cond!, G: c.G, dV: grads[`${L}.cond_filter.weight`]!, dc: dcond! } : undefined,
    );
    causalConvBackward(
      p[`${L}.gate.weight`]!, h, dg, B, R, Dc, T, K, d,
      grads[`${L}.gate.weight`]!, grads[`${L}.gate.bias`]!, dhPrev,
      c.G > 0 ? { V: p[`${L}.cond_gate.weight`]!, c: cond!, G: c.G, dV: grads[`${L}.cond_gate.weight`]!, dc: dcond! } : undefined,
    );
    dh = dhPrev;
  }
  // h_0 = W_in x + b_in:  dx = W_in^T dh_0
  const dx = conv1x1Backward(p['input.weight']!, x, dh, B, c.Cin, R, T, grads['input.weight']!, grads['input.bias']!);
  return dcond ? { grads, dx, dcond } : { grads, dx };
}

// ---------------------------------------------------------------------------
// mu-law
// ---------------------------------------------------------------------------

/**
 * mu-law companding then quantisation (the paper's 8-bit, mu = 255):
 *   f(x) = sign(x) ln(1 + mu |x|) / ln(1 + mu),  x clamped to [-1, 1]
 *   q = round((f + 1) / 2 * mu)  in 0..mu     (Math.round: halves round up, so encode(0) = 128)
 */
export function muLawEncode(x: number, mu = 255): number {
  const xc = Math.min(1, Math.max(-1, x));
  const f = (Math.sign(xc) * Math.log(1 + mu * Math.abs(xc))) / Math.log(1 + mu);
  return Math.round(((f + 1) / 2) * mu);
}

/**
 * Inverse of muLawEncode up to quantisation:
 *   f = 2 q / mu - 1,   x = sign(f) ((1 + mu)^|f| - 1) / mu
 */
export function muLawDecode(q: number, mu = 255): number {
  const f = (2 * q) / mu - 1;
  return (Math.sign(f) * (Math.pow(1 + mu, Math.abs(f)) - 1)) / mu;
}

// ---------------------------------------------------------------------------
// generation (batch 1)
// ---------------------------------------------------------------------------

type NextFn = (out: Float64Array, step: number) => Float64Array;

function checkGeneration(c: Resolved, prefix: Float64Array, T0: number, n: number): void {
  if (!(T0 >= 1)) throw new Error('wavenet generation: the prefix needs at least one time step');
  if (prefix.length !== c.Cin * T0) throw new Error(`wavenet generation: prefix has ${prefix.length} elements, expected C_in*T0 = ${c.Cin * T0}`);
  if (!(n >= 0)) throw new Error('wavenet generation: n must be >= 0');
}

function takeInput(c: Resolved, next: NextFn, out: Float64Array, step: number): Float64Array {
  const v = next(Float64Array.from(out), step);
  if (v.length !== c.Cin) throw new Error(`wavenet generation: next() returned ${v.length} values, expected C_in = ${c.Cin}`);
  return Float64Array.from(v);
}

/**
 * The definition: at step s = 0..n-1, run the full forward on the sequence so far
 * (prefix then the s inputs generated so far, length T0 + s), take its last output column
 * out_s, and append input_s = next(out_s, s). Returns inputs [n, C_in] and outputs [n, outChannels]
 * (outputs[s] = out_s, the column input_s was made from).
 */
export function generateNaiveRef(
  cfg: WaveNetConfig,
  p: Dict,
  prefix: Float64Array,
  T0: number,
  n: number,
  next: NextFn,
  cond?: Float64Array,
): { inputs: Float64Array; outputs: Float64Array } {
  const c = resolve(cfg);
  checkGeneration(c, prefix, T0, n);
  const inputs = new Float64Array(n * c.Cin);
  const outputs = new Float64Array(n * c.O);
  for (let step = 0; step < n; step++) {
    const T = T0 + step;
    // x [1, C_in, T]: prefix columns, then generated columns
    const x = new Float64Array(c.Cin * T);
    for (let i = 0; i < c.Cin; i++) {
      for (let t = 0; t < T; t++) x[i * T + t] = t < T0 ? prefix[i * T0 + t]! : inputs[(t - T0) * c.Cin + i]!;
    }
    const { y } = wavenetForwardRef(cfg, p, x, 1, T, cond);
    const out = new Float64Array(c.O);
    for (let o = 0; o < c.O; o++) out[o] = y[o * T + (T - 1)]!;
    outputs.set(out, step * c.O);
    inputs.set(takeInput(c, next, out, step), step * c.Cin);
  }
  return { inputs, outputs };
}

/**
 * Fast generation (Paine et al. 2016): each layer k keeps a queue of the last (K-1) d_k
 * columns of its input h_k (oldest first, zeros at the start = the causal zero padding).
 * One time step costs O(layers): for a new input column x_t,
 *   h_0 = W_in x_t + b_in
 *   per layer: f[o] = b_f[o] + sum_i sum_m W_f[o,i,m] h_k(t - (K-1-m) d) (+ V_f c), the past
 *     columns read from the queue (lag L = (K-1-m) d is queue[len - L]); same for g;
 *     z = tanh(f) sigmoid(g); push h_k (dropping the oldest); h_{k+1} = h_k + W_r z + b_r;
 *     s += W_s z + b_s
 *   y_t = W_2 relu(W_1 relu(s) + b_1) + b_2
 * The prefix is fed column by column; then each generated input is fed back. Same result
 * and return value as generateNaiveRef.
 */
export function generateFastRef(
  cfg: WaveNetConfig,
  p: Dict,
  prefix: Float64Array,
  T0: number,
  n: number,
  next: NextFn,
  cond?: Float64Array,
): { inputs: Float64Array; outputs: Float64Array } {
  const c = resolve(cfg);
  checkGeneration(c, prefix, T0, n);
  checkInputs(c, p, new Float64Array(c.Cin * T0), 1, T0, cond);
  const { Cin, R, Dc, S, O, K, G } = c;

  // queues[k]: (K-1) d_k columns of length R, oldest first
  const queues: Float64Array[][] = [];
  for (let k = 0; k < c.layers; k++) {
    const len = (K - 1) * dilationOf(c, k);
    queues.push(Array.from({ length: len }, () => new Float64Array(R)));
  }

  /** One column through the network: x_t [C_in] -> y_t [O], advancing the queues. */
  const stepColumn = (xt: Float64Array): Float64Array => {
    // h_0 = W_in x_t + b_in
    let h = new Float64Array(R);
    for (let r = 0; r < R; r++) {
      let acc = p['input.bias']![r]!;
      for (let i = 0; i < Cin; i++) acc += p['input.weight']![r * Cin + i]! * xt[i]!;
      h[r] = acc;
    }
    const s = new Float64Array(S);
    for (let k = 0; k < c.layers; k++) {
      const d = dilationOf(c, k);
      const L = `layers.${k}`;
      const q = queues[k]!;
      /** h_k at lag L = (K-1-m) d: the current column for L = 0, else queue[len - L]. */
      const past = (lag: number): Float64Array => (lag === 0 ? h : q[q.length - lag]!);
      const z = new Float64Array(Dc);
      for (let o = 0; o < Dc; o++) {
        const conv = (W: Float64Array, bias: Float64Array, V?: Float64Array): number => {
          let condTerm = 0;
          if (V && cond) for (let j = 0; j < G; j++) condTerm += V[o * G + j]! * cond[j]!;
          let acc = bias[o]!;
          for (let i = 0; i < R; i++) {
            for (let m = 0; m < K; m++) acc += W[(o * R + i) * K + m]! * past((K - 1 - m) * d)[i]!;
          }
          return acc + condTerm;
        };
        const f = conv(p[`${L}.filter.weight`]!, p[`${L}.filter.bias`]!, p[`${L}.cond_filter.weight`]);
        const g = conv(p[`${L}.gate.weight`]!, p[`${L}.gate.bias`]!, p[`${L}.cond_gate.weight`]);
        z[o] = Math.tanh(f) * sigmoid(g);
      }
      // push the layer input, drop the oldest
      if (q.length > 0) {
        q.shift();
        q.push(Float64Array.from(h));
      }
      // h_{k+1} = h_k + W_r z + b_r ;  s += W_s z + b_s
      const hNext = new Float64Array(R);
      for (let r = 0; r < R; r++) {
        let acc = p[`${L}.residual.bias`]![r]!;
        for (let i = 0; i < Dc; i++) acc += p[`${L}.residual.weight`]![r * Dc + i]! * z[i]!;
        hNext[r] = h[r]! + acc;
      }
      for (let o = 0; o < S; o++) {
        let acc = p[`${L}.skip.bias`]![o]!;
        for (let i = 0; i < Dc; i++) acc += p[`${L}.skip.weight`]![o * Dc + i]! * z[i]!;
        s[o] = s[o]! + acc;
      }
      h = hNext;
    }
    // y = W_2 relu(W_1 relu(s) + b_1) + b_2
    const a2 = new Float64Array(S);
    for (let o = 0; o < S; o++) {
      let acc = p['head.0.bias']![o]!;
      for (let i = 0; i < S; i++) acc += p['head.0.weight']![o * S + i]! * Math.max(s[i]!, 0);
      a2[o] = Math.max(acc, 0);
    }
    const y = new Float64Array(O);
    for (let o = 0; o < O; o++) {
      let acc = p['head.1.bias']![o]!;
      for (let i = 0; i < S; i++) acc += p['head.1.weight']![o * S + i]! * a2[i]!;
      y[o] = acc;
    }
    return y;
  };

  let out: Float64Array = new Float64Array(O);
  for (let t = 0; t < T0; t++) {
    const xt = new Float64Array(Cin);
    for (let i = 0; i < Cin; i++) xt[i] = prefix[i * T0 + t]!;
    out = stepColumn(xt);
  }
  const inputs = new Float64Array(n * Cin);
  const outputs = new Float64Array(n * O);
  for (let step = 0; step < n; step++) {
    outputs.set(out, step * O);
    const xt = takeInput(c, next, out, step);
    inputs.set(xt, step * Cin);
    if (step < n - 1) out = stepColumn(xt);
  }
  return { inputs, outputs };
}
