/**
 * The float64 WaveNet reference (test/reference/wavenet.ts) checked on its own:
 * wavenetBackwardRef against central finite differences of wavenetForwardRef,
 * causality and the receptive field, a hand-computed 1-channel case, mu-law,
 * and fast (queued) generation against the naive definition.
 */
import { describe, expect, it } from 'vitest';
import { expectClose, rng } from './suite/check.js';
import {
  generateFastRef,
  generateNaiveRef,
  initWaveNet,
  muLawDecode,
  muLawEncode,
  receptiveField,
  wavenetBackwardRef,
  wavenetForwardRef,
  wavenetShapes,
  type Dict,
  type WaveNetConfig,
} from './reference/wavenet.js';
import { FD_TOL, dot, fdGrad } from './reference/fd.js';

const randArr = (r: () => number, n: number, lo = -1, hi = 1): Float64Array =>
  Float64Array.from({ length: n }, () => lo + (hi - lo) * r());



/** Random parameters twice as wide as PyTorch's init, so tanh/sigmoid leave their linear region. */
const wideParams = (cfg: WaveNetConfig, r: () => number): Dict => initWaveNet(cfg, () => 2 * r() - 0.5);

/**
 * Shift the skip sum and head.0 up by 4 so (nearly) every head relu is active: a dead relu
 * would hide an upstream change from the output, and the "this does change the output"
 * halves of the causality / receptive-field checks would fail for that reason alone.
 */
function liveHead(p: Dict): Dict {
  for (const name of ['layers.0.skip.bias', 'head.0.bias']) p[name] = p[name]!.map((v) => v + 4);
  return p;
}

const base: WaveNetConfig = {
  inChannels: 2,
  residualChannels: 3,
  dilationChannels: 3,
  skipChannels: 4,
  outChannels: 3,
  dilations: [1, 2],
  stacks: 2,
  kernelSize: 2,
};

describe('wavenet reference: shapes, init, receptive field formula', () => {
  it('wavenetShapes follows PyTorch names and order', () => {
    const cfg: WaveNetConfig = { ...base, stacks: 1, kernelSize: 3, globalCondition: 5 };
    expect(Object.entries(wavenetShapes(cfg))).toEqual([
      ['input.weight', [3, 2, 1]],
      ['input.bias', [3]],
      ['layers.0.filter.weight', [3, 3, 3]],
      ['layers.0.filter.bias', [3]],
      ['layers.0.gate.weight', [3, 3, 3]],
      ['layers.0.gate.bias', [3]],
      ['layers.0.cond_filter.weight', [3, 5]],
      ['layers.0.cond_gate.weight', [3, 5]],
      ['layers.0.residual.weight', [3, 3, 1]],
      ['layers.0.residual.bias', [3]],
      ['layers.0.skip.weight', [4, 3, 1]],
      ['layers.0.skip.bias', [4]],
      ['layers.1.filter.weight', [3, 3, 3]],
      ['layers.1.filter.bias', [3]],
      ['layers.1.gate.weight', [3, 3, 3]],
      ['layers.1.gate.bias', [3]],
      ['layers.1.cond_filter.weight', [3, 5]],
      ['layers.1.cond_gate.weight', [3, 5]],
      ['layers.1.residual.weight', [3, 3, 1]],
      ['layers.1.residual.bias', [3]],
      ['layers.1.skip.weight', [4, 3, 1]],
      ['layers.1.skip.bias', [4]],
      ['head.0.weight', [4, 4, 1]],
      ['head.0.bias', [4]],
      ['head.1.weight', [3, 4, 1]],
      ['head.1.bias', [3]],
    ]);
    // defaults: dilations [1, 2, 4, 8], 1 stack, kernel 2, no conditioning
    const keys = Object.keys(wavenetShapes({ inChannels: 1, residualChannels: 2, dilationChannels: 2, skipChannels: 2, outChannels: 1 }));
    expect(keys.filter((k) => k.endsWith('filter.weight'))).toHaveLength(4);
    expect(keys.some((k) => k.includes('cond_'))).toBe(false);
  });

  it('initWaveNet is uniform(-1/sqrt(in*kernel), 1/sqrt(in*kernel)), biases with their weight\'s bound', () => {
    const cfg: WaveNetConfig = { ...base, kernelSize: 3, globalCondition: 2 };
    const p = initWaveNet(cfg, rng(3));
    const bounds: Record<string, number> = {
      'input.weight': 1 / Math.sqrt(2),
      'input.bias': 1 / Math.sqrt(2),
      'layers.1.filter.weight': 1 / Math.sqrt(9),
      'layers.1.gate.bias': 1 / Math.sqrt(9),
      'layers.1.cond_filter.weight': 1 / Math.sqrt(2),
      'layers.1.residual.bias': 1 / Math.sqrt(3),
      'layers.1.skip.weight': 1 / Math.sqrt(3),
      'head.0.bias': 1 / Math.sqrt(4),
      'head.1.weight': 1 / Math.sqrt(4),
    };
    for (const [name, shape] of Object.entries(wavenetShapes(cfg))) {
      expect(p[name]!.length).toBe(shape.reduce((a, b) => a * b, 1));
    }
    for (const [name, k] of Object.entries(bounds)) {
      for (const v of p[name]!) expect(Math.abs(v)).toBeLessThanOrEqual(k);
      // rand() = 0 gives -k exactly
      expect(initWaveNet(cfg, () => 0)[name]![0]).toBe(-k);
    }
  });

  it('receptiveField = stacks * (K-1) * sum(dilations) + 1', () => {
    expect(receptiveField({ ...base })).toBe(2 * 1 * 3 + 1);
    expect(receptiveField({ ...base, kernelSize: 3 })).toBe(2 * 2 * 3 + 1);
    expect(receptiveField({ inChannels: 1, residualChannels: 1, dilationChannels: 1, skipChannels: 1, outChannels: 1 })).toBe(16);
    expect(receptiveField({ ...base, dilations: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], stacks: 3 })).toBe(3 * 1023 + 1);
  });
});

describe('wavenet reference: a hand-computed 1-channel case', () => {
  /**
   * 1 channel everywhere, dilations [1], 1 stack, K = 2, B = 1, T = 3, x = [1, 2, 3].
   *   input   w 1, b 0                 h = [1, 2, 3]
   *   filter  W[0,0,:] = [0.5, 0.25]   (tap 0 = t-1, tap 1 = t), b 0
   *           f = [0.25*1, 0.5*1 + 0.25*2, 0.5*2 + 0.25*3] = [0.25, 1, 1.75]
   *   gate    W = [0, 0], b 0          g = 0, sigmoid(g) = 1/2
   *           z = tanh(f) / 2
   *   residual w 7, b 7                (h_1 feeds nothing: y must not depend on it)
   *   skip    w 2, b 0                 s = tanh(f) = [0.2449, 0.7616, 0.9414] > 0
   *   head.0  w 1, b -0.5              u = tanh(f) - 0.5 = [-0.2551, 0.2616, 0.4414]
   *                                    relu(u) = [0, tanh(1) - 0.5, tanh(1.75) - 0.5]
   *   head.1  w 3, b 1                 y = [1, 1 + 3 (tanh(1) - 0.5), 1 + 3 (tanh(1.75) - 0.5)]
   *                                      = [1, 1.78478246786729, 2.32412661549186]
   * Gradients for dy = [0, 0, 1] (L = y[2]):
   *   dL/db_2 = 1, dL/dW_2 = relu(u[2]) = tanh(1.75) - 0.5, dL/db_1 = W_2 = 3
   *   chain y[2] <- u[2] (W_2 = 3, u > 0) <- s[2] (W_1 = 1, s > 0) <- z[2] (W_s = 2)
   *         <- f[2] (dz/df = sigmoid(0) (1 - tanh(1.75)^2) = 0.5 sech2) <- h (taps 0.5 at t-1, 0.25 at t)
   *   dL/dx[0] = 0                           (f[2] = 0.5 h[1] + 0.25 h[2] never sees x[0])
   *   dL/dx[1] = 3 * 1 * 2 * 0.5 sech2 * 0.5  = 1.5 sech2
   *   dL/dx[2] = 3 * 1 * 2 * 0.5 sech2 * 0.25 = 0.75 sech2
   *   dL/db_g  = 3 * 1 * 2 * tanh(1.75) * sigmoid'(0) = 6 tanh(1.75) / 4
   */
  const cfg: WaveNetConfig = {
    inChannels: 1,
    residualChannels: 1,
    dilationChannels: 1,
    skipChannels: 1,
    outChannels: 1,
    dilations: [1],
    stacks: 1,
    kernelSize: 2,
  };
  const F = (...v: number[]): Float64Array => Float64Array.from(v);
  const p: Dict = {
    'input.weight': F(1),
    'input.bias': F(0),
    'layers.0.filter.weight': F(0.5, 0.25),
    'layers.0.filter.bias': F(0),
    'layers.0.gate.weight': F(0, 0),
    'layers.0.gate.bias': F(0),
    'layers.0.residual.weight': F(7),
    'layers.0.residual.bias': F(7),
    'layers.0.skip.weight': F(2),
    'layers.0.skip.bias': F(0),
    'head.0.weight': F(1),
    'head.0.bias': F(-0.5),
    'head.1.weight': F(3),
    'head.1.bias': F(1),
  };
  const x = F(1, 2, 3);

  it('forward', () => {
    const { y } = wavenetForwardRef(cfg, p, x, 1, 3);
    // 1e-14: a few roundings of O(1) values; the hard-coded decimals carry 15 digits
    expectClose('hand y', y, [1, 1.78478246786729, 2.32412661549186], { atol: 1e-14, rtol: 0 }, 0);
    expect(y[0]).toBe(1); // relu(u[0]) = 0 exactly
  });

  it('backward', () => {
    const { grads, dx } = wavenetBackwardRef(cfg, p, x, 1, 3, F(0, 0, 1));
    const sech2 = 1 - Math.tanh(1.75) ** 2;
    // exact formulas evaluated the same way, up to a few roundings
    const tol = { atol: 1e-15, rtol: 1e-14 };
    expectClose('hand db2', grads['head.1.bias']!, [1], tol, 0);
    expectClose('hand dW2', grads['head.1.weight']!, [Math.tanh(1.75) - 0.5], tol, 0);
    expectClose('hand db1', grads['head.0.bias']!, [3], tol, 0);
    expectClose('hand dx', dx, [0, 1.5 * sech2, 0.75 * sech2], tol, 0);
    // residual parameters never reach y; sigmoid'(0) = 1/4: dL/db_g = 3*2*tanh(1.75)*0.25
    expectClose('hand dres', [...grads['layers.0.residual.weight']!, ...grads['layers.0.residual.bias']!], [0, 0], tol, 0);
    expectClose('hand dbg', grads['layers.0.gate.bias']!, [6 * Math.tanh(1.75) * 0.25], tol, 0);
  });
});

interface FdCase {
  name: string;
  cfg: WaveNetConfig;
  B: number;
  T: number;
}

const fdCases: FdCase[] = [
  { name: 'K 2, dilations [1,2], 2 stacks', cfg: base, B: 2, T: 9 },
  { name: 'K 3, dilations [1,2], 2 stacks', cfg: { ...base, kernelSize: 3 }, B: 2, T: 9 },
  { name: 'K 2, dilations [1,2], 2 stacks, global condition 2', cfg: { ...base, globalCondition: 2 }, B: 2, T: 9 },
];

describe('wavenet reference: backward vs central finite differences', () => {
  for (const c of fdCases) {
    it(c.name, () => {
      const seed = 2000 + fdCases.indexOf(c);
      const r = rng(seed);
      const { cfg, B, T } = c;
      const p = wideParams(cfg, r);
      const x = randArr(r, B * cfg.inChannels * T);
      const cond = cfg.globalCondition ? randArr(r, B * cfg.globalCondition) : undefined;
      const dy = randArr(r, B * cfg.outChannels * T);
      const L = (): number => dot(dy, wavenetForwardRef(cfg, p, x, B, T, cond).y);

      // Finite differences are valid only away from the relu kinks of the head: the
      // unperturbed pre-activations s and u must sit well clear of 0 (a 1e-6 nudge of
      // any input moves them by ~1e-6), and both branches must occur.
      const fw = wavenetForwardRef(cfg, p, x, B, T, cond).cache as { s: Float64Array; u: Float64Array };
      const pre = [...fw.s, ...fw.u];
      expect(Math.min(...pre.map(Math.abs))).toBeGreaterThan(1e-4);
      expect(pre.some((v) => v < 0)).toBe(true);
      expect(pre.some((v) => v > 0)).toBe(true);

      const g = wavenetBackwardRef(cfg, p, x, B, T, dy, cond);
      expect(Object.keys(g.grads)).toEqual(Object.keys(wavenetShapes(cfg)));
      const layers = (cfg.stacks ?? 1) * cfg.dilations!.length;
      for (const name of Object.keys(wavenetShapes(cfg))) {
        expectClose(`${c.name}: d${name}`, g.grads[name]!, fdGrad(p[name]!, L), FD_TOL, seed);
        if (name.startsWith(`layers.${layers - 1}.residual.`)) {
          // the last layer's residual output h_layers feeds nothing (only the skips reach the head),
          // so its gradient is exactly zero, as in PyTorch
          expect(g.grads[name]!.every((v) => v === 0)).toBe(true);
        } else {
          // not trivially zero
          expect(g.grads[name]!.some((v) => Math.abs(v) > 1e-4)).toBe(true);
        }
      }
      expectClose(`${c.name}: dx`, g.dx, fdGrad(x, L), FD_TOL, seed);
      expect(g.dx.some((v) => Math.abs(v) > 1e-3)).toBe(true);
      if (cond) {
        expectClose(`${c.name}: dcond`, g.dcond!, fdGrad(cond, L), FD_TOL, seed);
        expect(g.dcond!.some((v) => Math.abs(v) > 1e-3)).toBe(true);
      } else {
        expect(g.dcond).toBeUndefined();
      }
    });
  }
});

describe('wavenet reference: causality and receptive field', () => {
  const rfCases: FdCase[] = [
    { name: 'K 2, dilations [1,2,4], 2 stacks', cfg: { ...base, dilations: [1, 2, 4], stacks: 2 }, B: 1, T: 20 },
    { name: 'K 3, dilations [1,3], 1 stack', cfg: { ...base, dilations: [1, 3], stacks: 1, kernelSize: 3 }, B: 1, T: 12 },
    { name: 'K 2, dilations [1,2], 2 stacks, conditioned', cfg: { ...base, globalCondition: 2 }, B: 2, T: 10 },
  ];
  for (const c of rfCases) {
    it(c.name, () => {
      const seed = 3000 + rfCases.indexOf(c);
      const r = rng(seed);
      const { cfg, B, T } = c;
      const Cin = cfg.inChannels;
      const O = cfg.outChannels;
      const p = liveHead(wideParams(cfg, r));
      const x = randArr(r, B * Cin * T);
      const cond = cfg.globalCondition ? randArr(r, B * cfg.globalCondition) : undefined;
      const y0 = wavenetForwardRef(cfg, p, x, B, T, cond).y;
      /** y after adding 0.5 to every channel of x[b = 0, :, t]. */
      const perturbedAt = (t: number): Float64Array => {
        const x2 = Float64Array.from(x);
        for (let i = 0; i < Cin; i++) x2[i * T + t] = x2[i * T + t]! + 0.5;
        return wavenetForwardRef(cfg, p, x2, B, T, cond).y;
      };
      const col = (y: Float64Array, b: number, t: number): number[] =>
        Array.from({ length: O }, (_, o) => y[(b * O + o) * T + t]!);

      // causality: changing x at t changes no output before t (bit-exact), changes the output at t,
      // and never touches another batch row
      for (let t = 0; t < T; t++) {
        const y = perturbedAt(t);
        for (let tt = 0; tt < t; tt++) expect(col(y, 0, tt)).toEqual(col(y0, 0, tt));
        expect(col(y, 0, t)).not.toEqual(col(y0, 0, t));
        for (let b = 1; b < B; b++) for (let tt = 0; tt < T; tt++) expect(col(y, b, tt)).toEqual(col(y0, b, tt));
      }

      // receptive field: the output at t0 depends on x at t0 - RF + 1 but not at t0 - RF (or earlier)
      const RF = receptiveField(cfg);
      const t0 = T - 1;
      expect(t0 - RF).toBeGreaterThanOrEqual(0);
      expect(col(perturbedAt(t0 - RF + 1), 0, t0)).not.toEqual(col(y0, 0, t0));
      for (let t = 0; t <= t0 - RF; t++) expect(col(perturbedAt(t), 0, t0)).toEqual(col(y0, 0, t0));
    });
  }
});

describe('wavenet reference: mu-law', () => {
  const mu = 255;
  /** The companding curve f(x) = sign(x) ln(1 + mu|x|) / ln(1 + mu). */
  const compand = (x: number): number => (Math.sign(x) * Math.log(1 + mu * Math.abs(x))) / Math.log(1 + mu);

  it('fixed points', () => {
    // f(0) = 0 -> (0 + 1)/2 * 255 = 127.5, rounded half up -> 128
    expect(muLawEncode(0)).toBe(128);
    expect(muLawEncode(1)).toBe(255);
    expect(muLawEncode(-1)).toBe(0);
    expect(muLawEncode(3)).toBe(255); // clamped to [-1, 1]
    expect(muLawEncode(-3)).toBe(0);
    // f(0.5) = ln(128.5)/ln(256) = 0.87570 -> 239.152 -> 239;  f(-0.5) -> 15.848 -> 16
    expect(muLawEncode(0.5)).toBe(239);
    expect(muLawEncode(-0.5)).toBe(16);
    // f(0.01) = ln(3.55)/ln(256) -> 156.63 -> 157
    expect(muLawEncode(0.01)).toBe(157);
    expect(muLawDecode(0)).toBe(-1);
    expect(muLawDecode(255)).toBe(1);
    // decode(128): f = 1/255, x = (256^(1/255) - 1)/255 ~ 8.6e-5 (the smallest positive level)
    // rtol 1e-13: 256^(1/255) - 1 cancels ~1.7 digits, and pow / exp(log) may differ in the last bit
    expectClose('decode(128)', [muLawDecode(128)], [(Math.pow(256, 1 / 255) - 1) / 255], { atol: 0, rtol: 1e-13 }, 0);
    expect(muLawDecode(127)).toBeCloseTo(-muLawDecode(128), 15); // symmetric about 127.5
  });

  it('encode(decode(q)) = q for every level, decode increasing', () => {
    for (const m of [255, 15]) {
      let prev = -Infinity;
      for (let q = 0; q <= m; q++) {
        const x = muLawDecode(q, m);
        expect(muLawEncode(x, m)).toBe(q);
        expect(x).toBeGreaterThan(prev);
        prev = x;
      }
    }
  });

  it('round-trip error bounds', () => {
    // In the companded domain the quantiser step is 2/mu, so |f(x') - f(x)| <= 1/mu.
    // In x, x = G(f) = sign(f) ((1+mu)^|f| - 1)/mu has G'(f) = ln(1+mu)/mu (1+mu)^|f|, and
    // (1+mu)^|f(x)| = 1 + mu|x|, so |x' - x| <= (1/mu) ln(1+mu)/mu (1+mu)^(1/mu) (1 + mu|x|):
    // ~8.7e-5 near 0, ~0.022 near |x| = 1.
    let prevQ = -1;
    for (let k = -2000; k <= 2000; k++) {
      const x = k / 2000;
      const q = muLawEncode(x);
      expect(Number.isInteger(q) && q >= 0 && q <= mu).toBe(true);
      expect(q).toBeGreaterThanOrEqual(prevQ); // monotone
      prevQ = q;
      const xr = muLawDecode(q);
      expect(Math.abs(compand(xr) - compand(x))).toBeLessThanOrEqual(1 / mu + 1e-12);
      const bound = (Math.log(1 + mu) / (mu * mu)) * Math.pow(1 + mu, 1 / mu) * (1 + mu * Math.abs(x));
      expect(Math.abs(xr - x)).toBeLessThanOrEqual(bound);
    }
  });
});

describe('wavenet reference: fast generation equals naive generation', () => {
  /** One-hot of argmax(out) over C classes (first index on ties). */
  const argmax = (out: Float64Array): number => {
    let best = 0;
    for (let i = 1; i < out.length; i++) if (out[i]! > out[best]!) best = i;
    return best;
  };
  const oneHot = (C: number, k: number): Float64Array => {
    const v = new Float64Array(C);
    v[k] = 1;
    return v;
  };
  // The fast path sums the same terms in the same order (padding reads zeros instead of
  // skipping them), so agreement is in fact bit-exact; 1e-12 is the contract.
  const GEN_TOL = { atol: 1e-12, rtol: 0 };

  interface GenCase {
    name: string;
    cfg: WaveNetConfig;
    T0: number;
    kind: 'onehot' | 'regression' | 'mulaw';
  }
  const deep = { dilations: [1, 2, 4], stacks: 2 }; // RF = 15
  const genCases: GenCase[] = [
    {
      name: 'argmax one-hot, 4 classes, dilations [1,2,4] x2',
      cfg: { inChannels: 4, residualChannels: 4, dilationChannels: 4, skipChannels: 6, outChannels: 4, ...deep },
      T0: 3,
      kind: 'onehot',
    },
    {
      name: 'argmax one-hot, global condition 3',
      cfg: { inChannels: 4, residualChannels: 4, dilationChannels: 4, skipChannels: 6, outChannels: 4, ...deep, globalCondition: 3 },
      T0: 2,
      kind: 'onehot',
    },
    {
      name: 'regression C_in = out = 1, K 3, dilations [1,2,4] x2',
      cfg: { inChannels: 1, residualChannels: 3, dilationChannels: 3, skipChannels: 4, outChannels: 1, ...deep, kernelSize: 3 },
      T0: 1,
      kind: 'regression',
    },
    {
      name: 'mu-law: 256-way argmax decoded to 1 channel, conditioned',
      cfg: { inChannels: 1, residualChannels: 4, dilationChannels: 4, skipChannels: 8, outChannels: 256, ...deep, globalCondition: 2 },
      T0: 4,
      kind: 'mulaw',
    },
  ];

  for (const c of genCases) {
    it(c.name, () => {
      const seed = 4000 + genCases.indexOf(c);
      const r = rng(seed);
      const { cfg, T0 } = c;
      const Cin = cfg.inChannels;
      const p = wideParams(cfg, r);
      const cond = cfg.globalCondition ? randArr(r, cfg.globalCondition) : undefined;
      const RF = receptiveField(cfg);
      const n = 3 * RF + 2; // well past the point where the queues have wrapped several times
      // prefix [C_in, T0]
      const prefix = new Float64Array(Cin * T0);
      if (c.kind === 'onehot') {
        for (let t = 0; t < T0; t++) prefix[Math.floor(r() * Cin) * T0 + t] = 1;
      } else {
        prefix.set(randArr(r, Cin * T0));
      }
      // Sampling made deterministic: Gumbel-max with a fixed noise table indexed by step,
      // argmax(out + gumbel[step]), so `next` is a pure function of (out, step) yet the
      // sequence does not settle on one class (plain argmax of a random net often does).
      const O = cfg.outChannels;
      const gumbel = Float64Array.from({ length: n * O }, () => -Math.log(-Math.log(1e-12 + (1 - 2e-12) * r())));
      const sample = (out: Float64Array, step: number): number => argmax(out.map((v, o) => v + gumbel[step * O + o]!));
      const next = (out: Float64Array, step: number): Float64Array => {
        switch (c.kind) {
          case 'onehot':
            return oneHot(Cin, sample(out, step));
          case 'regression':
            return Float64Array.of(out[0]!);
          case 'mulaw':
            return Float64Array.of(muLawDecode(sample(out, step)));
        }
      };
      const steps: number[][] = [[], []];
      const naive = generateNaiveRef(cfg, p, prefix, T0, n, (o, s) => (steps[0]!.push(s), next(o, s)), cond);
      const fast = generateFastRef(cfg, p, prefix, T0, n, (o, s) => (steps[1]!.push(s), next(o, s)), cond);
      expect(steps[0]).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(steps[1]).toEqual(steps[0]);
      expect(naive.inputs.length).toBe(n * Cin);
      expect(naive.outputs.length).toBe(n * cfg.outChannels);
      expectClose(`${c.name}: outputs`, fast.outputs, naive.outputs, GEN_TOL, seed);
      expectClose(`${c.name}: inputs`, fast.inputs, naive.inputs, GEN_TOL, seed);

      // the first output is the forward's last column on the prefix itself
      const yPrefix = wavenetForwardRef(cfg, p, prefix, 1, T0, cond).y;
      const first = Array.from({ length: cfg.outChannels }, (_, o) => yPrefix[o * T0 + T0 - 1]!);
      expectClose(`${c.name}: first output`, naive.outputs.slice(0, cfg.outChannels), first, GEN_TOL, seed);

      // non-degenerate: the generated inputs are not all the same value
      const distinct = new Set<string>();
      for (let s = 0; s < n; s++) distinct.add(Array.from(naive.inputs.slice(s * Cin, (s + 1) * Cin)).join(','));
      expect(distinct.size).toBeGreaterThan(1);
    });
  }

  it('n = 0 and a 1-sample prefix', () => {
    const cfg: WaveNetConfig = { inChannels: 1, residualChannels: 2, dilationChannels: 2, skipChannels: 2, outChannels: 1, dilations: [1, 2] };
    const p = wideParams(cfg, rng(5));
    const id = (o: Float64Array): Float64Array => o;
    for (const gen of [generateNaiveRef, generateFastRef]) {
      const g0 = gen(cfg, p, Float64Array.of(0.3), 1, 0, id);
      expect(g0.inputs.length + g0.outputs.length).toBe(0);
    }
    const a = generateNaiveRef(cfg, p, Float64Array.of(0.3), 1, 5, id);
    const b = generateFastRef(cfg, p, Float64Array.of(0.3), 1, 5, id);
    expectClose('short outputs', b.outputs, a.outputs, GEN_TOL, 5);
  });
});
