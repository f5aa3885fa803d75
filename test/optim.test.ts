/**
 * Optimizers (SGD, Adam, AdamW), gradient clipping and lr schedules against
 * the float64 references of test/reference/optim.ts: fresh seeded random
 * parameters and gradients (new gradients uploaded before every step),
 * several tensors of awkward sizes in one arena (the padding between them
 * must stay zero), dispatch and submit counts per step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Arena, type ArenaTable, type Runtime, type Tensor } from '../src/index.js';
import { Adam, AdamW, SGD, clipGradNorm, clipGradValue, type Optimizer } from '../src/train/optim.js';
import { Scheduler, cosineAnnealing, linearWarmup, sequential, stepLR, warmupCosine, type Schedule } from '../src/train/schedule.js';
import {
  adamRefState,
  adamRefStep,
  clipGradNormRef,
  clipGradValueRef,
  sgdRefStep,
  type AdamRefOptions,
  type SgdRefOptions,
  type SgdRefState,
} from './reference/optim.js';
import { U32, expectClose, freshSeed, rng, uniform } from './suite/check.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

const seedNow = () => freshSeed(process.env.WEBGPU_RNN_SEED);

/** Sizes that leave padding after every tensor (the storage alignment is 64+ floats): 91, 5, 99, 1 values. */
const TABLE: ArenaTable = { w: [7, 13], b: [5], u: [33, 3], s: [1] };
const NAMES = Object.keys(TABLE);
const N = NAMES.reduce((s, k) => s + TABLE[k]!.reduce((a, b) => a * b, 1), 0);
const STEPS = 6;

/** The real elements of a flat arena, concatenated in table order. */
function gather(a: Arena, flat: Float32Array): Float32Array {
  const out = new Float32Array(N);
  let at = 0;
  for (const k of NAMES) {
    const o = a.offsets[k]! / 4;
    const n = a.tensors[k]!.size;
    out.set(flat.subarray(o, o + n), at);
    at += n;
  }
  return out;
}

/** Throws unless every element of the flat arena outside its tensors is exactly zero. */
function expectPaddingZero(what: string, a: Arena, flat: Float32Array): void {
  const inside = new Uint8Array(flat.length);
  for (const k of NAMES) inside.fill(1, a.offsets[k]! / 4, a.offsets[k]! / 4 + a.tensors[k]!.size);
  const bad = [...flat.keys()].filter((i) => !inside[i] && flat[i] !== 0);
  if (bad.length) throw new Error(`${what}: padding changed at ${bad.slice(0, 5).join(', ')} (${flat[bad[0]!]})`);
  expect(flat.length - inside.reduce((s, x) => s + x, 0)).toBeGreaterThan(0); // there is padding to check
}

/** Uploads `data` (N values in table order) into the arena's tensors (outside any step). */
function upload(a: Arena, data: Float32Array): void {
  let at = 0;
  for (const k of NAMES) {
    const t = a.tensors[k]!;
    t.write(data.subarray(at, at + t.size));
    at += t.size;
  }
}

function arenas(r: () => number): { params: Arena; grads: Arena; p0: Float32Array } {
  const params = rt.arena(TABLE, 'params');
  const grads = rt.arena(TABLE, 'grads');
  const p0 = uniform(r, N);
  upload(params, p0);
  return { params, grads, p0 };
}

const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};

/**
 * Tolerance after `steps` f32 steps against float64. Each step rounds a
 * handful of times (decay, moment update, step, subtract: <= ~8 roundings of
 * values no larger than the state's magnitude `mag`), and the f32 errors of
 * earlier steps carry forward with factors <= 1 (momentum, beta < 1): so
 * <= 8 * steps * u * mag; we allow 2x that. A wrong formula (a missed
 * dampening, bias correction, decay or Nesterov term) moves values by
 * ~1e-3 or more, far beyond ~1e-5.
 */
const stepTol = (steps: number, ...ref: ArrayLike<number>[]) => ({
  atol: 16 * steps * U32 * Math.max(1, ...ref.map(maxAbs)),
  rtol: 16 * steps * U32,
});

function destroy(...as: (Arena | Tensor)[]): void {
  for (const a of as) a.buffer.destroy();
}

/** One step of the GPU optimizer, counted: exactly 2 dispatches (counter + update), 1 submit. */
function gpuStep(opt: Optimizer): void {
  const c = rt.step(() => opt.step());
  expect(c.dispatches).toBe(2);
  expect(c.submits).toBe(1);
  expect(c.copies).toBe(0);
}

// ---------------------------------------------------------------------- SGD

const SGD_CASES: [string, SgdRefOptions][] = [
  ['plain + weight decay', { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0.05, nesterov: false, maximize: false }],
  ['momentum + dampening + weight decay', { lr: 0.1, momentum: 0.9, dampening: 0.3, weightDecay: 0.05, nesterov: false, maximize: false }],
  ['nesterov + weight decay + maximize', { lr: 0.05, momentum: 0.8, dampening: 0, weightDecay: 0.01, nesterov: true, maximize: true }],
];

describe('SGD vs float64 reference', () => {
  for (const [name, o] of SGD_CASES) {
    it(`${name}, ${STEPS} steps`, async () => {
      const seed = seedNow();
      const r = rng(seed);
      const { params, grads, p0 } = arenas(r);
      const opt = new SGD(rt, params, grads, { lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay, nesterov: o.nesterov, maximize: o.maximize });
      // The first step must not read the momentum buffer (PyTorch's buf = clone(g)): poison it.
      if (o.momentum) upload(opt.state.momentum_buffer!, new Float32Array(N).fill(NaN));
      const ref: SgdRefState = { p: Float64Array.from(p0), buf: null };
      for (let s = 0; s < STEPS; s++) {
        const g = uniform(r, N);
        upload(grads, g);
        gpuStep(opt);
        sgdRefStep(ref, g, o);
      }
      const flat = await params.all.read();
      expectClose(`SGD ${name}: params`, gather(params, flat), ref.p, stepTol(STEPS, ref.p, ref.buf ?? []), seed);
      expectPaddingZero('SGD params', params, flat);
      if (o.momentum) {
        const bflat = await opt.state.momentum_buffer!.all.read();
        expectClose(`SGD ${name}: momentum_buffer`, gather(params, bflat), ref.buf!, stepTol(STEPS, ref.buf!), seed);
      }
      expect(opt.stepCount).toBe(STEPS);
      expect((await opt.stateTensors().step!.read())[0]).toBe(STEPS);
      destroy(params, grads, opt.hyper, ...Object.values(opt.state));
    });
  }

  it('an arena past 65535 workgroups (folded 2-D grid): every element updated', async () => {
    const seed = seedNow();
    const r = rng(seed);
    const n = 65535 * 64 + 77;
    const params = rt.arena({ big: [n] }, 'big.p');
    const grads = rt.arena({ big: [n] }, 'big.g');
    const p = uniform(r, n);
    const g = uniform(r, n);
    params.tensors.big!.write(p);
    grads.tensors.big!.write(g);
    const opt = new SGD(rt, params, grads, { lr: 0.25, momentum: 0.9 });
    gpuStep(opt);
    const ref: SgdRefState = { p: Float64Array.from(p), buf: null };
    sgdRefStep(ref, g, { lr: 0.25, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false });
    expectClose('SGD big arena', await params.tensors.big!.read(), ref.p, stepTol(1, ref.p), seed);
    destroy(params, grads, opt.hyper, ...Object.values(opt.state));
  });

  it('rejects nesterov without momentum or with dampening, and mismatched arenas', () => {
    const params = rt.arena(TABLE, 'p');
    const grads = rt.arena(TABLE, 'g');
    const other = rt.arena({ w: [7, 13] }, 'o');
    expect(() => new SGD(rt, params, grads, { nesterov: true })).toThrow(/nesterov/);
    expect(() => new SGD(rt, params, grads, { momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(/nesterov/);
    expect(() => new SGD(rt, params, other)).toThrow(/layout/);
    expect(() => new SGD(rt, params, params)).toThrow(/different/);
    destroy(params, grads, other);
  });
});

// --------------------------------------------------------------- Adam, AdamW

const ADAM_BASE: AdamRefOptions = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false, maximize: false };
const ADAM_CASES: [string, AdamRefOptions][] = [
  ['Adam defaults (bias correction)', { ...ADAM_BASE }],
  ['Adam L2 weight decay, lr 0.01', { ...ADAM_BASE, lr: 0.01, weightDecay: 0.1 }],
  // A large eps makes the denominator's eps term matter; amsgrad's max; other betas.
  ['Adam amsgrad, betas (0.8, 0.99), eps 1e-3, maximize', { ...ADAM_BASE, lr: 0.02, beta1: 0.8, beta2: 0.99, eps: 1e-3, amsgrad: true, maximize: true }],
  ['AdamW defaults (decoupled wd 1e-2)', { ...ADAM_BASE, weightDecay: 1e-2, decoupled: true }],
  ['AdamW wd 0.5, lr 0.05', { ...ADAM_BASE, lr: 0.05, weightDecay: 0.5, decoupled: true }],
];

function makeAdam(params: Arena, grads: Arena, o: AdamRefOptions, defaults = false): Adam {
  const opts = defaults
    ? {}
    : { lr: o.lr, betas: [o.beta1, o.beta2] as [number, number], eps: o.eps, weightDecay: o.weightDecay, amsgrad: o.amsgrad, maximize: o.maximize };
  return o.decoupled ? new AdamW(rt, params, grads, opts) : new Adam(rt, params, grads, opts);
}

describe('Adam / AdamW vs float64 reference', () => {
  for (const [name, o] of ADAM_CASES) {
    it(`${name}, ${STEPS} steps`, async () => {
      const seed = seedNow();
      const r = rng(seed);
      const { params, grads, p0 } = arenas(r);
      // The default cases construct with no options: PyTorch's defaults must be the ones referenced.
      const opt = makeAdam(params, grads, o, name.includes('defaults'));
      const ref = adamRefState(p0);
      for (let s = 0; s < STEPS; s++) {
        const g = uniform(r, N);
        upload(grads, g);
        gpuStep(opt);
        adamRefStep(ref, g, o);
      }
      const flat = await params.all.read();
      // p moves by ~lr per step; the update's own relative error (a few u, plus the f32 bias
      // corrections' ~t u) is far below the tolerance for |p| ~ 1.
      expectClose(`${name}: params`, gather(params, flat), ref.p, stepTol(STEPS, ref.p), seed);
      expectPaddingZero(`${name}: params`, params, flat);
      const st = await opt.stateDict();
      expectClose(`${name}: exp_avg`, gather(params, st.exp_avg!), ref.m, stepTol(STEPS, ref.m), seed);
      expectClose(`${name}: exp_avg_sq`, gather(params, st.exp_avg_sq!), ref.v, stepTol(STEPS, ref.v), seed);
      if (o.amsgrad) expectClose(`${name}: max_exp_avg_sq`, gather(params, st.max_exp_avg_sq!), ref.vmax, stepTol(STEPS, ref.vmax), seed);
      for (const k of Object.keys(opt.state)) expectPaddingZero(`${name}: ${k}`, params, st[k]!);
      expect(st.step![0]).toBe(STEPS);
      destroy(params, grads, opt.hyper, ...Object.values(opt.state));
    });
  }

  it('AdamW differs from Adam with L2 (decoupled decay is not an L2 term)', async () => {
    const seed = seedNow();
    const r = rng(seed);
    const { params, grads, p0 } = arenas(r);
    const g = uniform(r, N);
    upload(grads, g);
    const opt = new AdamW(rt, params, grads, { lr: 0.1, weightDecay: 0.5 });
    gpuStep(opt);
    const got = gather(params, await params.all.read());
    const wRef = adamRefState(p0);
    adamRefStep(wRef, g, { ...ADAM_BASE, lr: 0.1, weightDecay: 0.5, decoupled: true });
    const lRef = adamRefState(p0);
    adamRefStep(lRef, g, { ...ADAM_BASE, lr: 0.1, weightDecay: 0.5, decoupled: false });
    expectClose('AdamW step 1', got, wRef.p, stepTol(1, wRef.p), seed);
    // At step 1 Adam's update is ~lr * sign(g + wd p): it differs from AdamW's by ~0.05 for many elements.
    expect(maxAbs(wRef.p.map((x, i) => x - lRef.p[i]!))).toBeGreaterThan(0.01);
    destroy(params, grads, opt.hyper, ...Object.values(opt.state));
  });
});

// ------------------------------------------ schedules, lr in the hyper buffer

describe('lr schedule applied between steps', () => {
  it('warmup + cosine over 8 steps: lr per step, no new uniform slots after step 1, one submit per step', async () => {
    const seed = seedNow();
    const r = rng(seed);
    const { params, grads, p0 } = arenas(r);
    const o = { ...ADAM_BASE, lr: 0.05 };
    const opt = new Adam(rt, params, grads, { lr: o.lr });
    const sched = new Scheduler(opt, warmupCosine({ warmup: 3, total: 8, startFactor: 0.2, etaMin: 0.001 }));
    const ref = adamRefState(p0);
    let slots = -1;
    for (let s = 0; s < 8; s++) {
      const g = uniform(r, N);
      upload(grads, g);
      const lr = sched.lrAt(s);
      expect(opt.lr).toBe(lr);
      expect((await opt.hyper.read())[1]).toBe(Math.fround(lr));
      gpuStep(opt);
      if (s === 1) slots = rt.uniforms.size;
      if (s > 1) expect(rt.uniforms.size).toBe(slots);
      adamRefStep(ref, g, { ...o, lr });
      sched.step();
    }
    expectClose('scheduled Adam', gather(params, await params.all.read()), ref.p, stepTol(8, ref.p), seed);
    destroy(params, grads, opt.hyper, ...Object.values(opt.state));
  });
});

// --------------------------------------------------------------- checkpoints

describe('optimizer state round trip', () => {
  for (const kind of ['Adam amsgrad', 'SGD nesterov'] as const) {
    it(`${kind}: stateDict after 3 steps -> loadState into a new optimizer -> 3 more steps match the reference`, async () => {
      const seed = seedNow();
      const r = rng(seed);
      const { params, grads, p0 } = arenas(r);
      const ao: AdamRefOptions = { ...ADAM_BASE, lr: 0.01, amsgrad: true, weightDecay: 0.1 };
      const so: SgdRefOptions = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: true, maximize: false };
      const make = (p: Arena, g: Arena): Optimizer =>
        kind === 'SGD nesterov' ? new SGD(rt, p, g, { lr: so.lr, momentum: so.momentum, weightDecay: so.weightDecay, nesterov: true }) : new Adam(rt, p, g, { lr: ao.lr, amsgrad: true, weightDecay: 0.1 });
      const a = adamRefState(p0);
      const sref: SgdRefState = { p: Float64Array.from(p0), buf: null };
      const refStep = (g: Float32Array) => (kind === 'SGD nesterov' ? sgdRefStep(sref, g, so) : adamRefStep(a, g, ao));
      const opt = make(params, grads);
      for (let s = 0; s < 3; s++) {
        const g = uniform(r, N);
        upload(grads, g);
        gpuStep(opt);
        refStep(g);
      }
      const saved = await opt.stateDict();
      expect(saved.step![0]).toBe(3);
      const savedParams = await params.all.read();
      // A fresh optimizer on fresh arenas, restored.
      const params2 = rt.arena(TABLE, 'params2');
      const grads2 = rt.arena(TABLE, 'grads2');
      params2.all.write(savedParams);
      const opt2 = make(params2, grads2);
      await opt2.loadState({ ...saved, step: 3 });
      expect(opt2.stepCount).toBe(3);
      for (let s = 0; s < 3; s++) {
        const g = uniform(r, N);
        upload(grads2, g);
        gpuStep(opt2);
        refStep(g);
      }
      const refP = kind === 'SGD nesterov' ? sref.p : a.p;
      const flat = await params2.all.read();
      expectClose(`${kind} restored`, gather(params2, flat), refP, stepTol(6, refP, sref.buf ?? []), seed);
      expectPaddingZero(`${kind} restored`, params2, flat);
      expect((await opt2.stateDict()).step![0]).toBe(6);
      await expect(opt2.loadState({ step: 1 })).rejects.toThrow(/missing/);
      destroy(params, grads, params2, grads2, opt.hyper, opt2.hyper, ...Object.values(opt.state), ...Object.values(opt2.state));
    });
  }

  it('zeroGrad: one dispatch, every gradient (and the padding) zero', async () => {
    const r = rng(seedNow());
    const params = rt.arena(TABLE, 'p');
    const grads = rt.arena(TABLE, 'g');
    upload(grads, uniform(r, N));
    const opt = new SGD(rt, params, grads, { lr: 0.1 });
    const c = rt.step(() => opt.zeroGrad());
    expect(c.dispatches).toBe(1);
    expect([...(await grads.all.read())].every((x) => x === 0)).toBe(true);
    destroy(params, grads, opt.hyper);
  });
});

// ----------------------------------------------------------------- clipping

describe('gradient clipping vs float64 reference', () => {
  it('clipGradNorm: arena + separate tensor, norm above max_norm: norm and scaled grads, no read-back', async () => {
    const seed = seedNow();
    const r = rng(seed);
    const grads = rt.arena(TABLE, 'g');
    const gA = uniform(r, N);
    upload(grads, gA);
    const gB = uniform(r, 300, -2, 2);
    const tB = rt.tensor(gB, [300], 'gB');
    const out = rt.tensor([NaN], [1], 'norm'); // poisoned: must be overwritten
    const ref = clipGradNormRef([gA, gB], 1.5);
    expect(ref.norm).toBeGreaterThan(1.5);
    let norm: Tensor | null = null;
    const c = rt.step(() => {
      norm = clipGradNorm(rt, [grads, tB], 1.5, out);
    });
    // sumSquares: one partial pass per tensor + one final; the square root; one scale per tensor.
    expect(c.dispatches).toBe(2 + 1 + 1 + 2);
    expect(c.submits).toBe(1);
    expect(c.copies).toBe(0);
    // Sum of ~700 squares in f32 (fma chains then a tree): relative error <~ 20 u; sqrt halves it.
    expectClose('clip norm', await norm!.read(), [ref.norm], { atol: 0, rtol: 64 * U32 }, seed);
    // coef = max_norm / (norm + 1e-6) carries the norm's error, then one rounding per product.
    const tol = { atol: 0, rtol: 80 * U32 };
    const flat = await grads.all.read();
    expectClose('clipped arena grads', gather(grads, flat), ref.grads[0]!, tol, seed);
    expectPaddingZero('clipped arena grads', grads, flat);
    expectClose('clipped tensor grads', await tB.read(), ref.grads[1]!, tol, seed);
    destroy(grads, tB, out);
  });

  it('clipGradNorm below max_norm leaves gradients bit-identical; default out tensor', async () => {
    const seed = seedNow();
    const r = rng(seed);
    const g = uniform(r, 1000);
    const t = rt.tensor(g, [10, 100], 'g');
    const ref = clipGradNormRef([g], 1e3);
    const norm = clipGradNorm(rt, [t], 1e3);
    expect(norm.size).toBe(1);
    expectClose('norm', await norm.read(), [ref.norm], { atol: 0, rtol: 64 * U32 }, seed);
    const got = await t.read();
    for (let i = 0; i < g.length; i++) if (!Object.is(got[i], g[i])) throw new Error(`element ${i} changed: ${g[i]} -> ${got[i]} (seed ${seed})`);
    destroy(t);
  });

  it('clipGradValue clamps exactly to [-v, v] (one dispatch per tensor)', async () => {
    const seed = seedNow();
    const r = rng(seed);
    const grads = rt.arena(TABLE, 'g');
    const gA = uniform(r, N, -3, 3);
    upload(grads, gA);
    const gB = uniform(r, 77, -3, 3);
    const tB = rt.tensor(gB, [7, 11], 'gB');
    const c = rt.step(() => clipGradValue(rt, [grads, tB], 0.7));
    expect(c.dispatches).toBe(2);
    // clamp is exact in f32 (0.7 rounds to f32 once, in the reference too).
    const v = Math.fround(0.7);
    const flat = await grads.all.read();
    expectClose('clip value arena', gather(grads, flat), clipGradValueRef(gA, v), { atol: 0, rtol: 0 }, seed);
    expectPaddingZero('clip value arena', grads, flat);
    expectClose('clip value tensor', await tB.read(), clipGradValueRef(gB, v), { atol: 0, rtol: 0 }, seed);
    destroy(grads, tB);
  });

  it('clip + SGD in one recorded step: one submit, matches clip-then-step', async () => {
    const seed = seedNow();
    const r = rng(seed);
    const { params, grads, p0 } = arenas(r);
    const g = uniform(r, N, -2, 2);
    upload(grads, g);
    const opt = new SGD(rt, params, grads, { lr: 0.3, momentum: 0.5 });
    const c = rt.step(() => {
      clipGradNorm(rt, [grads], 0.5);
      opt.step();
    });
    expect(c.submits).toBe(1);
    expect(c.dispatches).toBe(4 + 2);
    const clipped = clipGradNormRef([g], 0.5);
    const ref: SgdRefState = { p: Float64Array.from(p0), buf: null };
    sgdRefStep(ref, clipped.grads[0]!, { lr: 0.3, momentum: 0.5, dampening: 0, weightDecay: 0, nesterov: false, maximize: false });
    // The clip's relative error (<= 80 u of g) times lr, plus the step's rounding.
    expectClose('clip + SGD', gather(params, await params.all.read()), ref.p, { atol: 16 * U32, rtol: 16 * U32 }, seed);
    destroy(params, grads, opt.hyper, ...Object.values(opt.state));
  });
});

// ---------------------------------------------------------------- schedules

describe('schedules vs hand-computed values', () => {
  const close = (s: Schedule, base: number, want: number[]) => {
    // float64 arithmetic on both sides: agreement to 1e-12 relative.
    want.forEach((w, i) => expect(Math.abs(s(i, base) - w)).toBeLessThanOrEqual(1e-12 * Math.abs(w) + 1e-15));
  };
  it('StepLR(step_size 3, gamma 0.5)', () => close(stepLR({ stepSize: 3, gamma: 0.5 }), 0.1, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]));
  it('CosineAnnealingLR(T_max 4, eta_min 0.01)', () =>
    // 0.01 + 0.09 (1 + cos(k pi / 4)) / 2: cos = 1, 0.70710678, 0, -0.70710678, -1
    close(cosineAnnealing({ tMax: 4, etaMin: 0.01 }), 0.1, [0.1, 0.08681980515339464, 0.055, 0.023180194846605364, 0.01]));
  it('linear warmup (start 0.25 over 3 steps)', () => close(linearWarmup({ startFactor: 0.25, steps: 3 }), 0.2, [0.05, 0.1, 0.15, 0.2, 0.2]));
  it('warmup then cosine (sequential)', () => {
    const want = [0.5, 0.75, 1, 0.8535533905932737, 0.5, 0.14644660940672624, 0];
    close(warmupCosine({ warmup: 2, total: 6, startFactor: 0.5 }), 1, want);
    close(sequential([linearWarmup({ startFactor: 0.5, steps: 2 }), cosineAnnealing({ tMax: 4 })], [2]), 1, want);
  });
  it('Scheduler sets the optimizer lr at construction and each step', () => {
    const lrs: number[] = [];
    const sched = new Scheduler({ setLr: (v: number) => lrs.push(v) }, stepLR({ stepSize: 2, gamma: 0.1 }), 1);
    sched.step();
    sched.step();
    sched.step();
    expect(lrs.map((x) => +x.toPrecision(12))).toEqual([1, 1, 0.1, 0.1]);
  });
});

describe('Optimizer.destroy', () => {
  it('frees its state and hyper buffers: a step recorded afterwards fails at submit with a WebGPU error', async () => {
    const params = rt.arena({ w: [8] });
    const grads = rt.arena({ w: [8] });
    const opt = new Adam(rt, params, grads, { lr: 1e-3 });
    gpuStep(opt);
    await rt.sync();
    opt.destroy();
    rt.step(() => opt.step());
    await expect(rt.sync()).rejects.toThrow(/destroyed|invalid|Destroyed/i);
    destroy(params, grads);
  });
});
