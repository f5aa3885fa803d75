/**
 * WaveNet fast generation (Paine et al. 2016) on the GPU: per-layer queues of
 * past activations, O(layers) work per sample; N samples are recorded as a
 * few dispatches (chunks of `chunk` steps) with no read-back in between.
 */
import type { KernelDesc } from '../kernel.js';
import { gemm, swapAxes } from '../ops.js';
import type { Runtime } from '../runtime.js';
import { type Tensor, fmtShape } from '../tensor.js';
import { u32 } from '../util.js';
import type { WaveNet } from './wavenet.js';

export interface GenerateOptions {
  /** Sequences generated side by side (default 1). */
  batch?: number;
  /** [B, C_in, T0] inputs to start from (teacher-forced); default one zero step. */
  prefix?: Tensor;
  /**
   * How an output becomes the next input: `'argmax'` or `'sample'` (softmax
   * with `temperature`) pick a class, fed back one-hot (C_in = outChannels)
   * or, with `input: 'mulaw'`, as its mu-law decoded value (C_in = 1);
   * `'regression'` feeds the output itself back (C_in = outChannels).
   */
  mode?: 'argmax' | 'sample' | 'regression';
  input?: 'onehot' | 'mulaw';
  temperature?: number;
  /** Seed of the sampling stream (default 0). */
  seed?: number;
  /** Keep every output vector y (for inspection and tests; default false). */
  keepOutputs?: boolean;
  /** Steps per dispatch (default 256): bounds how long one dispatch runs. */
  chunk?: number;
  /** [B, G] global conditioning (required when the model has globalCondition). */
  cond?: Tensor;
}

const MODES = { argmax: 0, sample: 1, regression: 2 } as const;
const WG = 64;

/** u for step j of row b: the CPU twin of the sampling draw in shaders/wavenet_generate.wgsl. */
export function generationUniform(seed: number, b: number, j: number): number {
  const pcg = (v: number): number => {
    const s = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
    const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
    return ((w >>> 22) ^ w) >>> 0;
  };
  return (pcg((j ^ pcg((b ^ pcg(seed >>> 0)) >>> 0)) >>> 0) >>> 8) / 16777216;
}

/**
 * Generates `n` samples: returns `samples` [B, n] (classes, or the first
 * output channel in regression) and, with keepOutputs, `outputs` [B, n, O].
 * The first sample comes from the output at the prefix's last step.
 */
export function generate(net: WaveNet, n: number, o: GenerateOptions = {}): { samples: Tensor; outputs?: Tensor } {
  const rt: Runtime = net.rt;
  const name = 'WaveNet.generate';
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: n must be a positive integer, got ${n}`);
  const mode = o.mode ?? 'argmax';
  if (!(mode in MODES)) throw new Error(`${name}: mode must be 'argmax', 'sample' or 'regression', got '${String(mode)}'`);
  const input = o.input ?? 'onehot';
  const { inChannels: Cin, residualChannels: R, dilationChannels: Dc, skipChannels: S, outChannels: O, kernelSize: K } = net;
  if (mode === 'regression' && Cin !== O) throw new Error(`${name}: regression feeds outputs back: needs inChannels = outChannels, got ${Cin} and ${O}`);
  if (mode !== 'regression' && input === 'onehot' && Cin !== O) {
    throw new Error(`${name}: one-hot feedback needs inChannels = outChannels, got ${Cin} and ${O} (or use input: 'mulaw' with inChannels 1)`);
  }
  if (input === 'mulaw' && Cin !== 1) throw new Error(`${name}: mu-law feedback needs inChannels = 1, got ${Cin}`);
  const temperature = o.temperature ?? 1;
  if (!(temperature > 0)) throw new Error(`${name}: temperature must be > 0, got ${temperature}`);
  const seed = o.seed === undefined ? 0 : u32(`${name}: seed`, o.seed);
  const B = o.batch ?? o.prefix?.shape[0] ?? 1;
  let prefix = o.prefix;
  if (prefix && (prefix.ndim !== 3 || prefix.shape[0] !== B || prefix.shape[1] !== Cin || prefix.shape[2]! < 1)) {
    throw new Error(`${name}: prefix must be [B=${B}, C_in=${Cin}, T0 >= 1], got ${fmtShape(prefix.shape)}`);
  }
  const MAXC = Math.max(Cin, R, Dc, S, O);
  if (MAXC * 7 * 4 > rt.limits.maxComputeWorkgroupStorageSize) {
    throw new Error(`${name}: channels up to ${MAXC} need ${MAXC * 28} bytes of workgroup storage, the device has ${rt.limits.maxComputeWorkgroupStorageSize}`);
  }
  const T0 = prefix ? prefix.shape[2]! : 1;
  const L = net.numLayers;
  const P = net.params.tensors;
  const off = (t: Tensor) => (t.byteOffset - net.params.all.byteOffset) / 4;
  // Per-layer offsets and the queues.
  const G = net.globalCondition;
  if (G && (!o.cond || o.cond.ndim !== 2 || o.cond.shape[0] !== B || o.cond.shape[1] !== G)) {
    throw new Error(`${name}: cond must be [B, G] = [${B}, ${G}] (globalCondition), got ${o.cond ? fmtShape(o.cond.shape) : 'none'}`);
  }
  if (!G && o.cond) throw new Error(`${name}: cond given, but the model has no globalCondition`);
  const meta = new Float32Array(L * 11);
  let q = B * Cin; // state: next inputs first, then the queues
  for (let k = 0; k < L; k++) {
    const nm = `layers.${k}`;
    const d = net.layerDilations[k]!;
    const fields = [
      off(P[`${nm}.filter.weight`]!), off(P[`${nm}.filter.bias`]!), off(P[`${nm}.gate.weight`]!), off(P[`${nm}.gate.bias`]!),
      off(P[`${nm}.residual.weight`]!), off(P[`${nm}.residual.bias`]!), off(P[`${nm}.skip.weight`]!), off(P[`${nm}.skip.bias`]!),
      d, q, k * B * 2 * Dc,
    ];
    meta.set(fields, k * 11);
    q += B * (K - 1) * d * R;
  }
  if (q >= 2 ** 24 || net.params.all.size >= 2 ** 24) throw new Error(`${name}: model too large for the generation kernel's f32-stored offsets`);
  const tensors: Tensor[] = [];
  const own = (t: Tensor) => (tensors.push(t), t);
  const metaT = own(rt.tensor(meta, [L * 11], 'WaveNet.gen.layers'));
  // Per-layer conditioning terms (V_f c, V_g c), as in training; without conditioning a placeholder, not read.
  const condProj = own(rt.zeros([G ? L * B * 2 * Dc : 1], 'WaveNet.gen.cond'));
  if (G) {
    for (let k = 0; k < L; k++) {
      const at = k * B * 2 * Dc;
      const shape = { M: B, N: Dc, K: G, ldc: 2 * Dc, transB: true } as const;
      gemm(rt, condProj.view([B * 2 * Dc], at), o.cond!, P[`layers.${k}.cond_filter.weight`]!, shape);
      gemm(rt, condProj.view([B * 2 * Dc - Dc], at + Dc), o.cond!, P[`layers.${k}.cond_gate.weight`]!, shape);
    }
  }
  const state = own(rt.zeros([q], 'WaveNet.gen.state'));
  const out = own(rt.zeros([B * n * (1 + (o.keepOutputs ? O : 0))], 'WaveNet.gen.samples'));
  prefix ??= own(rt.zeros([B, Cin, 1], 'WaveNet.gen.prefix'));
  // [B, C_in, T0] -> [B, T0, C_in] rows, as the kernel reads them.
  const prefixT = own(rt.zeros([B, T0, Cin], 'WaveNet.gen.prefixT'));
  swapAxes(rt, prefixT, prefix, 1);
  const desc: KernelDesc = {
    name: 'wavenet_generate',
    shader: 'wavenet_generate',
    entry: 'generate',
    overrides: { WG, MAXC },
    grid: (p) => [1, p.B!],
  };
  const chunk = o.chunk ?? 256;
  const total = T0 - 1 + n; // steps: the prefix, then one per sample but the last
  const base = {
    B, Cin, R, Dc, S, O, K, L, T0,
    mode: MODES[mode],
    temperature,
    seed,
    nOut: n,
    keepOutputs: o.keepOutputs ? 1 : 0,
    oWin: off(P['input.weight']!), oBin: off(P['input.bias']!), oW1: off(P['head.0.weight']!), oB1: off(P['head.0.bias']!),
    oW2: off(P['head.1.weight']!), oB2: off(P['head.1.bias']!),
    oX: 0,
    mulaw: input === 'mulaw' && mode !== 'regression' ? 1 : 0,
    hasCond: G ? 1 : 0,
  };
  for (let t0 = 0; t0 < total; t0 += chunk) {
    const steps = Math.min(chunk, total - t0);
    rt.dispatch(desc, { state, samples: out, w: net.params.all, layers: metaT, prefix: prefixT, cond: condProj }, { ...base, t0, steps });
  }
  // Release the temporaries once the work is submitted (the outputs stay).
  rt.submit();
  for (const t of tensors) if (t !== out) t.buffer.destroy();
  return {
    samples: out.view([B, n], 0, 'WaveNet.samples'),
    outputs: o.keepOutputs ? out.view([B, n, O], B * n, 'WaveNet.outputs') : undefined,
  };
}
