/**
 * Optimizers (SGD, Adam, AdamW), gradient clipping and lr schedules against
 * the float64 references of test/reference/optim.ts: fresh seeded random
 * parameters and gradients (new gradients uploaded before every step),
 * several tensors of awkward sizes in one arena (the padding between them
 * must stay zero), dispatch and submit counts per step. Optimizers take
 * Parameters (`{ name, value, grad }`, built here from raw arenas) or
 * parameter groups, as torch.optim does; state is read through `stateOf` and
 * PyTorch's `stateDict()` layout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor, createRuntime, type Arena, type ArenaTable, type Parameter, type Runtime } from '../src/index.js';
import { Adam, AdamW, SGD, clipGradNorm, clipGradValue, type Optimizer, type OptimizerStateDict } from '../src/train/optim.js';
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

/** The arenas' tensors as Parameters (what `model.parameters()` gives), in table order. */
function paramsOf(pa: Arena, ga: Arena): Parameter[] {
  return Object.keys(pa.tensors).map((k) => ({ name: k, value: pa.tensors[k]!, grad: ga.tensors[k]! }));
}

function arenas(r: () => number): { params: Arena; grads: Arena; p0: Float32Array; ps: Parameter[] } {
  const params = rt.arena(TABLE, 'params');
  const grads = rt.arena(TABLE, 'grads');
  const p0 = uniform(r, N);
  upload(params, p0);
  return { params, grads, p0, ps: paramsOf(params, grads) };
}

/** The whole flat buffer under a (state) tensor view, padding included. */
function whole(t: Tensor): Promise<Float32Array> {
  return new Tensor(rt, t.buffer, 0, [t.buffer.size / 4]).read();
}

/** State `name` of every parameter of a state dict, concatenated in index order (= table order here). */
function stateCat(sd: OptimizerStateDict, name: string): Float32Array {
  const parts = Object.keys(sd.state)
    .map(Number)
    .sort((a, b) => a - b)
    .map((i) => sd.state[i]![name] as Float32Array);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Element ranges of each table entry in gathered (table) order. */
const RANGES: Record<string, [number, number]> = (() => {
  const out: Record<string, [number, number]> = {};
  let at = 0;
  for (const k of NAMES) {
    const n = TABLE[k]!.reduce((a, b) => a * b, 1);
    out[k] = [at, at + n];
    at += n;
  }
  return out;
})();

/** Per element, the reference of the group its tensor belongs to (elementwise optimizers: each group's own run over everything, then picked). */
function pickByGroup(refs: ArrayLike<number>[], groupOf: Record<string, number>): Float64Array {
  const out = new Float64Array(N);
  for (const k of NAMES) {
    const [a, b] = RANGES[k]!;
    for (let i = a; i < b; i++) out[i] = refs[groupOf[k]!]![i]!;
  }
  return out;
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

/** One step of the GPU optimizer, counted: per group one counter bump, per contiguous run one update (one group over one arena: 2), 1 submit. */
function gpuStep(opt: Optimizer, dispatches = 2): void {
  const c = rt.step(() => opt.step());
  expect(c.dispatches).toBe(dispatches);
  expect(c.submits).toBe(1);
  expect(c.copies).toBe(0);
}

const hyperOf = async (opt: Optimizer, g = 0): Promise<Float32Array> => opt.paramGroups[g]!.hyper.read();

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
      const { params, grads, p0, ps } = arenas(r);
      const opt = new SGD(ps, { lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay, nesterov: o.nesterov, maximize: o.maximize });
      expect(opt.paramGroups).toHaveLength(1);
      expect(opt.paramGroups[0]!.runs).toHaveLength(1); // one arena = one run
      // The first step must not read the momentum buffer (PyTorch's buf = clone(g)): poison it (the tensors, not the padding).
      if (o.momentum) for (const p of ps) opt.stateOf(p, 'momentum_buffer').write(new Float32Array(p.value.size).fill(NaN));
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
      const sd = await opt.stateDict();
      if (o.momentum) {
        const bflat = await whole(opt.stateOf(ps[0]!, 'momentum_buffer'));
        expectClose(`SGD ${name}: momentum_buffer`, gather(params, bflat), ref.buf!, stepTol(STEPS, ref.buf!), seed);
        expectPaddingZero('SGD momentum_buffer', params, bflat);
        expect(Array.from(stateCat(sd, 'momentum_buffer'))).toEqual(Array.from(gather(params, bflat)));
      } else {
        // No momentum: no state tensors, as PyTorch (step only).
        expect(Object.keys(sd.state[0]!)).toEqual(['step']);
      }
      expect(opt.stepCount).toBe(STEPS);
      expect((await hyperOf(opt))[0]).toBe(STEPS);
      expect(sd.state[3]!.step).toBe(STEPS);
      opt.destroy();
      destroy(params, grads);
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
    const opt = new SGD(paramsOf(params, grads), { lr: 0.25, momentum: 0.9 });
    gpuStep(opt);
    const ref: SgdRefState = { p: Float64Array.from(p), buf: null };
    sgdRefStep(ref, g, { lr: 0.25, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false });
    expectClose('SGD big arena', await params.tensors.big!.read(), ref.p, stepTol(1, ref.p), seed);
    opt.destroy();
    destroy(params, grads);
  });

  it('rejects nesterov without momentum or with dampening, and parameters that are not', () => {
    const params = rt.arena(TABLE, 'p');
    const grads = rt.arena(TABLE, 'g');
    const other = rt.arena({ w: [7, 11] }, 'o');
    const ps = paramsOf(params, grads);
    expect(() => new SGD(ps, { nesterov: true })).toThrow(/nesterov/);
    expect(() => new SGD(ps, { momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(/nesterov/);
    expect(() => new SGD([{ params: ps, momentum: 0.9, dampening: 0.1, nesterov: true }])).toThrow(/nesterov/);
    expect(() => new SGD([])).toThrow(/non-empty/);
    expect(() => new SGD([{ params: [] }])).toThrow(/group 0 has no parameters/);
    // A gradient of another size, a gradient in the parameter's own buffer, a parameter twice.
    expect(() => new SGD([{ name: 'w', value: params.tensors.w!, grad: other.tensors.w! }])).toThrow(/'w' has 91 values but its grad 77/);
    expect(() => new SGD([{ name: 'w', value: params.tensors.w!, grad: params.tensors.w! }])).toThrow(/share a buffer/);
    expect(() => new SGD([{ params: ps.slice(0, 2) }, { params: ps.slice(1) }])).toThrow(/'b' appears twice/);
    expect(() => new SGD([{ params: ps, foo: 1 } as never])).toThrow(/unknown option 'foo'/);
    expect(() => new SGD(ps, { lr: -1 })).toThrow(/lr must be a finite number >= 0/);
    expect(() => new SGD([{ not: 'a parameter' } as never])).toThrow(/params\[0\] must be a Parameter or a group/);
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

function makeAdam(ps: Parameter[], o: AdamRefOptions, defaults = false): Adam {
  const opts = defaults
    ? {}
    : { lr: o.lr, betas: [o.beta1, o.beta2] as [number, number], eps: o.eps, weightDecay: o.weightDecay, amsgrad: o.amsgrad, maximize: o.maximize };
  return o.decoupled ? new AdamW(ps, opts) : new Adam(ps, opts);
}

describe('Adam / AdamW vs float64 reference', () => {
  for (const [name, o] of ADAM_CASES) {
    it(`${name}, ${STEPS} steps`, async () => {
      const seed = seedNow();
      const r = rng(seed);
      const { params, grads, p0, ps } = arenas(r);
      // The default cases construct with no options: PyTorch's defaults must be the ones referenced.
      const opt = makeAdam(ps, o, name.includes('defaults'));
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
      const sd = await opt.stateDict();
      expectClose(`${name}: exp_avg`, stateCat(sd, 'exp_avg'), ref.m, stepTol(STEPS, ref.m), seed);
      expectClose(`${name}: exp_avg_sq`, stateCat(sd, 'exp_avg_sq'), ref.v, stepTol(STEPS, ref.v), seed);
      if (o.amsgrad) expectClose(`${name}: max_exp_avg_sq`, stateCat(sd, 'max_exp_avg_sq'), ref.vmax, stepTol(STEPS, ref.vmax), seed);
      const names = o.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
      expect(Object.keys(sd.state[0]!).sort()).toEqual(['step', ...names].sort());
      for (const k of names) expectPaddingZero(`${name}: ${k}`, params, await whole(opt.stateOf(ps[0]!, k)));
      for (let i = 0; i < NAMES.length; i++) expect(sd.state[i]!.step).toBe(STEPS);
      // PyTorch's param_groups: hyperparameters under its names, indices and names of the parameters.
      expect(sd.param_groups).toHaveLength(1);
      expect(sd.param_groups[0]).toMatchObject({
        lr: o.lr, betas: [o.beta1, o.beta2], eps: o.eps, weight_decay: o.weightDecay, amsgrad: o.amsgrad, maximize: o.maximize,
        params: [0, 1, 2, 3], param_names: NAMES,
      });
      opt.destroy();
      destroy(params, grads);
    });
  }

  it('AdamW differs from Adam with L2 (decoupled decay is not an L2 term)', async () => {
    const seed = seedNow();
    const r = rng(seed);
    const { params, grads, p0, ps } = arenas(r);
    const g = uniform(r, N);
    upload(grads, g);
    const opt = new AdamW(ps, { lr: 0.1, weightDecay: 0.5 });
    // The decoupled decay factor 1 - lr * wd is in the hyper buffer from construction (not only after an lr change).
    expect((await hyperOf(opt))[2]).toBe(Math.fround(1 - 0.1 * 0.5));
    gpuStep(opt);
    const got = gather(params, await params.all.read());
    const wRef = adamRefState(p0);
    adamRefStep(wRef, g, { ...ADAM_BASE, lr: 0.1, weightDecay: 0.5, decoupled: true });
    const lRef = adamRefState(p0);
    adamRefStep(lRef, g, { ...ADAM_BASE, lr: 0.1, weightDecay: 0.5, decoupled: false });
    expectClose('AdamW step 1', got, wRef.p, stepTol(1, wRef.p), seed);
    // At step 1 Adam's update is ~lr * sign(g + wd p): it differs from AdamW's by ~0.05 for many elements.
    expect(maxAbs(wRef.p.map((x, i) => x - lRef.p[i]!))).toBeGreaterThan(0.01);
    opt.destroy();
    destroy(params, grads);
  });
});

// ------------------------------------------------------------ parameter groups

describe('parameter groups', () => {
  it('two groups splitting one arena (w, b | u, s): a run each, its own lr and weight decay, vs float64', async () => {
    const seed = seedNow();
    const r = rng(seed);
    const { params, grads, p0, ps } = arenas(r);
    const [w, b, u, s] = ps as [Parameter, Parameter, Parameter, Parameter];
    const o0: AdamRefOptions = { ...ADAM_BASE, lr: 0.01 };
    const o1: AdamRefOptions = { ...ADAM_BASE, lr: 0.05, weightDecay: 0.1 };
    const opt = new Adam([{ params: [w, b] }, { params: [u, s], lr: 0.05, weightDecay: 0.1 }], { lr: 0.01 });
    expect(opt.paramGroups.map((g) => g.runs.length)).toEqual([1, 1]);
    expect(opt.paramGroups.map((g) => g.runs[0]!.params.map((p) => p.name))).toEqual([['w', 'b'], ['u', 's']]);
    // Each run spans its tensors and the padding between them, nothing of the other group.
    const [r0, r1] = [opt.paramGroups[0]!.runs[0]!, opt.paramGroups[1]!.runs[0]!];
    expect([r0.value.byteOffset, r0.value.size]).toEqual([0, params.offsets.b! / 4 + 5]);
    expect([r1.value.byteOffset, r1.value.size]).toEqual([params.offsets.u!, (params.offsets.s! - params.offsets.u!) / 4 + 1]);
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.01, 0.05]);
    expect((await hyperOf(opt, 0))[1]).toBe(Math.fround(0.01));
    expect((await hyperOf(opt, 1))[1]).toBe(Math.fround(0.05));
    const refs = [adamRefState(p0), adamRefState(p0)];
    for (let k = 0; k < STEPS; k++) {
      const g = uniform(r, N);
      upload(grads, g);
      gpuStep(opt, 2 + 2); // a bump per group, an update per run
      adamRefStep(refs[0]!, g, o0);
      adamRefStep(refs[1]!, g, o1);
    }
    const groupOf = { w: 0, b: 0, u: 1, s: 1 };
    const want = pickByGroup([refs[0]!.p, refs[1]!.p], groupOf);
    const flat = await params.all.read();
    expectClose('two groups: params', gather(params, flat), want, stepTol(STEPS, want), seed);
    expectPaddingZero('two groups: params', params, flat);
    // The groups' updates differ where they should (a single lr for all would fail above).
    expect(maxAbs(refs[0]!.p.map((x, i) => x - refs[1]!.p[i]!))).toBeGreaterThan(0.01);
    const sd = await opt.stateDict();
    const wantM = pickByGroup([refs[0]!.m, refs[1]!.m], groupOf);
    expectClose('two groups: exp_avg', stateCat(sd, 'exp_avg'), wantM, stepTol(STEPS, wantM), seed);
    expectPaddingZero('two groups: exp_avg', params, await whole(opt.stateOf(w, 'exp_avg')));
    expect(sd.param_groups.map((g) => [g.lr, g.weight_decay, g.params, g.param_names])).toEqual([
      [0.01, 0, [0, 1], ['w', 'b']],
      [0.05, 0.1, [2, 3], ['u', 's']],
    ]);
    opt.destroy();
    destroy(params, grads);
  });

  it('interleaved groups (w, u | b, s): two runs each, 2 bumps + 4 updates per step; a Scheduler scales each group from its own lr', async () => {
    const seed = seedNow();
    const r = rng(seed);
    const { params, grads, p0, ps } = arenas(r);
    const [w, b, u, s] = ps as [Parameter, Parameter, Parameter, Parameter];
    const opt = new SGD([{ params: [w, u], lr: 0.1 }, { params: [b, s], lr: 0.2, momentum: 0.9 }]);
    expect(opt.paramGroups.map((g) => g.runs.map((x) => x.params.map((p) => p.name)))).toEqual([[['w'], ['u']], [['b'], ['s']]]);
    expect(opt.paramGroups.map((g) => g.initialLr)).toEqual([0.1, 0.2]);
    const sched = new Scheduler(opt, stepLR({ stepSize: 1, gamma: 0.5 }));
    const o0: SgdRefOptions = { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };
    const o1: SgdRefOptions = { ...o0, lr: 0.2, momentum: 0.9 };
    const refs: SgdRefState[] = [{ p: Float64Array.from(p0), buf: null }, { p: Float64Array.from(p0), buf: null }];
    for (let k = 0; k < 4; k++) {
      const lrs = [0.1 * 0.5 ** k, 0.2 * 0.5 ** k];
      opt.paramGroups.forEach((g, i) => expect(g.lr).toBeCloseTo(lrs[i]!, 15));
      expect(sched.lrsAt(k)).toEqual(opt.paramGroups.map((g) => g.lr));
      expect((await hyperOf(opt, 0))[1]).toBe(Math.fround(opt.paramGroups[0]!.lr));
      expect((await hyperOf(opt, 1))[1]).toBe(Math.fround(opt.paramGroups[1]!.lr));
      const g = uniform(r, N);
      upload(grads, g);
      gpuStep(opt, 2 + 4);
      sgdRefStep(refs[0]!, g, { ...o0, lr: opt.paramGroups[0]!.lr });
      sgdRefStep(refs[1]!, g, { ...o1, lr: opt.paramGroups[1]!.lr });
      sched.step();
    }
    const want = pickByGroup([refs[0]!.p, refs[1]!.p], { w: 0, u: 0, b: 1, s: 1 });
    const flat = await params.all.read();
    expectClose('interleaved groups: params', gather(params, flat), want, stepTol(4, want, refs[1]!.buf!), seed);
    expectPaddingZero('interleaved groups: params', params, flat);
    // Setting one group's lr writes that group's hyper buffer only; the optimizer's lr sets every group's.
    const h1 = await hyperOf(opt, 1);
    opt.paramGroups[0]!.lr = 0.3;
    expect((await hyperOf(opt, 0))[1]).toBe(Math.fround(0.3));
    expect(Array.from(await hyperOf(opt, 1))).toEqual(Array.from(h1));
    opt.lr = 0.04;
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.04, 0.04]);
    expect((await hyperOf(opt, 1))[1]).toBe(Math.fround(0.04));
    // Indices follow the groups' order: w, u, then b, s; only group 1 keeps a momentum buffer.
    const sd = await opt.stateDict();
    expect(sd.param_groups.map((g) => [g.params, g.param_names, g.momentum])).toEqual([
      [[0, 1], ['w', 'u'], 0],
      [[2, 3], ['b', 's'], 0.9],
    ]);
    expect([0, 1, 2, 3].map((i) => Object.keys(sd.state[i]!).sort())).toEqual([['step'], ['step'], ['momentum_buffer', 'step'], ['momentum_buffer', 'step']]);
    opt.destroy();
    destroy(params, grads);
  });
});

// ------------------------------------------ schedules, lr in the hyper buffer

describe('lr schedule applied between steps', () => {
  it('warmup + cosine over 8 steps: lr per step, no new uniform slots after step 1, one submit per step', async () => {
    const seed = seedNow();
    const r = rng(seed);
    const { params, grads, p0, ps } = arenas(r);
    const o = { ...ADAM_BASE, lr: 0.05 };
    const opt = new Adam(ps, { lr: o.lr });
    const sched = new Scheduler(opt, warmupCosine({ warmup: 3, total: 8, startFactor: 0.2, etaMin: 0.001 }));
    expect(opt.paramGroups[0]!.initialLr).toBe(0.05);
    const ref = adamRefState(p0);
    let slots = -1;
    for (let s = 0; s < 8; s++) {
      const g = uniform(r, N);
      upload(grads, g);
      const lr = sched.lrAt(s);
      expect(opt.lr).toBe(lr);
      expect(opt.paramGroups[0]!.lr).toBe(lr);
      expect((await hyperOf(opt))[1]).toBe(Math.fround(lr));
      gpuStep(opt);
      if (s === 1) slots = rt.uniforms.size;
      if (s > 1) expect(rt.uniforms.size).toBe(slots);
      adamRefStep(ref, g, { ...o, lr });
      sched.step();
    }
    expectClose('scheduled Adam', gather(params, await params.all.read()), ref.p, stepTol(8, ref.p), seed);
    opt.destroy();
    destroy(params, grads);
  });
});

// --------------------------------------------------------------- state dicts

describe('optimizer state round trip (stateDict / loadStateDict)', () => {
  for (const kind of ['Adam amsgrad', 'SGD nesterov'] as const) {
    it(`${kind}: stateDict after 3 steps -> loadStateDict into a new optimizer -> 3 more steps match the reference`, async () => {
      const seed = seedNow();
      const r = rng(seed);
      const { params, grads, p0, ps } = arenas(r);
      const ao: AdamRefOptions = { ...ADAM_BASE, lr: 0.01, amsgrad: true, weightDecay: 0.1 };
      const so: SgdRefOptions = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: true, maximize: false };
      const make = (p: Parameter[]): Optimizer =>
        kind === 'SGD nesterov' ? new SGD(p, { lr: so.lr, momentum: so.momentum, weightDecay: so.weightDecay, nesterov: true }) : new Adam(p, { lr: ao.lr, amsgrad: true, weightDecay: 0.1 });
      const a = adamRefState(p0);
      const sref: SgdRefState = { p: Float64Array.from(p0), buf: null };
      const refStep = (g: Float32Array) => (kind === 'SGD nesterov' ? sgdRefStep(sref, g, so) : adamRefStep(a, g, ao));
      const opt = make(ps);
      for (let s = 0; s < 3; s++) {
        const g = uniform(r, N);
        upload(grads, g);
        gpuStep(opt);
        refStep(g);
      }
      const saved = await opt.stateDict();
      expect(Object.keys(saved.state)).toEqual(['0', '1', '2', '3']);
      for (let i = 0; i < 4; i++) expect(saved.state[i]!.step).toBe(3);
      expect(saved.param_groups[0]!.params).toEqual([0, 1, 2, 3]);
      // What a checkpoint does with it: JSON for param_groups (numbers survive exactly).
      const restoredSd: OptimizerStateDict = { state: saved.state, param_groups: JSON.parse(JSON.stringify(saved.param_groups)) };
      const savedParams = await params.all.read();
      // A fresh optimizer on fresh arenas, restored.
      const params2 = rt.arena(TABLE, 'params2');
      const grads2 = rt.arena(TABLE, 'grads2');
      params2.all.write(savedParams);
      const ps2 = paramsOf(params2, grads2);
      const opt2 = make(ps2);
      opt2.loadStateDict(restoredSd);
      expect(opt2.stepCount).toBe(3);
      expect(Array.from(await hyperOf(opt2))).toEqual(Array.from(await hyperOf(opt)));
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
      const names = kind === 'SGD nesterov' ? ['momentum_buffer'] : ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'];
      for (const k of names) expectPaddingZero(`${kind} restored ${k}`, params2, await whole(opt2.stateOf(ps2[0]!, k)));
      const after = await opt2.stateDict();
      expect(after.state[0]!.step).toBe(6);

      // Refusals name the problem and change nothing.
      const hyperBefore = Array.from(await hyperOf(opt2));
      const state = Object.fromEntries(Object.entries(after.state).map(([i, s]) => [i, { ...s }]));
      const bad = (f: (sd: OptimizerStateDict) => void): OptimizerStateDict => {
        const sd: OptimizerStateDict = { state: structuredClone(state), param_groups: structuredClone(after.param_groups) };
        f(sd);
        return sd;
      };
      const k0 = names[0]!;
      expect(() => opt2.loadStateDict(bad((sd) => delete sd.state[1]![k0]))).toThrow(new RegExp(`state 1 \\('b'\\): ${k0} must hold 5 values \\[5\\], got none`));
      expect(() => opt2.loadStateDict(bad((sd) => (sd.state[2]![k0] = new Float32Array(3))))).toThrow(/state 2 \('u'\).*must hold 99 values \[33, 3\], got 3/);
      expect(() => opt2.loadStateDict(bad((sd) => (sd.state[0]!.extra = new Float32Array(91))))).toThrow(/unknown state 'extra'/);
      expect(() => opt2.loadStateDict(bad((sd) => (sd.state[3]!.step = 5)))).toThrow(/state 3: step 5 differs from its group's 6/);
      expect(() => opt2.loadStateDict(bad((sd) => (sd.state[0]!.step = 1.5)))).toThrow(/state 0: step must be an integer/);
      expect(() => opt2.loadStateDict(bad((sd) => (sd.param_groups[0]!.params = [0, 1])))).toThrow(/param group 0 must list 4 parameters, has 2/);
      expect(() => opt2.loadStateDict(bad((sd) => sd.param_groups.push({ params: [] })))).toThrow(/2 param group\(s\), this optimizer 1/);
      expect(() => opt2.loadStateDict(bad((sd) => (sd.param_groups[0]!.lr = -1)))).toThrow(/lr must be a number >= 0/);
      const hyperKey = kind === 'SGD nesterov' ? 'momentum' : 'eps';
      expect(() => opt2.loadStateDict(bad((sd) => (sd.param_groups[0]![hyperKey] = 0.5)))).toThrow(new RegExp(`param group 0: ${hyperKey} is 0.5 in the state`));
      expect(() => opt2.loadStateDict({ weights: [] } as never)).toThrow(/expected \{ state, param_groups \}/);
      const now = await opt2.stateDict();
      expect(now).toEqual(after);
      expect(Array.from(await hyperOf(opt2))).toEqual(hyperBefore);
      expect(opt2.stepCount).toBe(6);
      opt.destroy();
      opt2.destroy();
      destroy(params, grads, params2, grads2);
    });
  }

  it('a restored lr and initial_lr come back; an optimizer that never stepped has zero state and step 0', async () => {
    const r = rng(seedNow());
    const { params, grads, ps } = arenas(r);
    const opt = new Adam(ps, { lr: 0.02 });
    const sd0 = await opt.stateDict();
    expect(sd0.state[0]!.step).toBe(0);
    expect([...stateCat(sd0, 'exp_avg')].every((x) => x === 0)).toBe(true);
    const opt2 = new Adam(ps, { lr: 0.5 });
    opt2.loadStateDict({ ...sd0, param_groups: [{ ...sd0.param_groups[0]!, lr: 0.007, initial_lr: 0.03 }] });
    expect(opt2.paramGroups[0]!.lr).toBe(0.007);
    expect(opt2.paramGroups[0]!.initialLr).toBe(0.03);
    expect((await hyperOf(opt2))[1]).toBe(Math.fround(0.007));
    opt.destroy();
    opt2.destroy();
    destroy(params, grads);
  });

  it('zeroGrad: one dispatch, every gradient (and the padding) zero', async () => {
    const r = rng(seedNow());
    const params = rt.arena(TABLE, 'p');
    const grads = rt.arena(TABLE, 'g');
    upload(grads, uniform(r, N));
    const opt = new SGD(paramsOf(params, grads), { lr: 0.1 });
    const c = rt.step(() => opt.zeroGrad());
    expect(c.dispatches).toBe(1);
    expect([...(await grads.all.read())].every((x) => x === 0)).toBe(true);
    opt.destroy();
    destroy(params, grads);
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

  it('clipGradValue clamps exactly to [-v, v] (one dispatch per tensor; Parameters merged into runs)', async () => {
    const seed = seedNow();
    const r = rng(seed);
    const params = rt.arena(TABLE, 'p');
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
    // The four parameters of one arena are one run: one dispatch.
    const v2 = Math.fround(0.3);
    const c2 = rt.step(() => clipGradValue(rt, paramsOf(params, grads), 0.3));
    expect(c2.dispatches).toBe(1);
    expectClose('clip value parameters', gather(grads, await grads.all.read()), clipGradValueRef(clipGradValueRef(gA, v), v2), { atol: 0, rtol: 0 }, seed);
    destroy(params, grads, tB);
  });

  it('clip (of Parameters) + SGD in one recorded step: one submit, matches clip-then-step', async () => {
    const seed = seedNow();
    const r = rng(seed);
    const { params, grads, p0, ps } = arenas(r);
    const g = uniform(r, N, -2, 2);
    upload(grads, g);
    const opt = new SGD(ps, { lr: 0.3, momentum: 0.5 });
    const c = rt.step(() => {
      clipGradNorm(rt, ps, 0.5); // model.parameters()-style: the arena's four tensors are one run
      opt.step();
    });
    expect(c.submits).toBe(1);
    expect(c.dispatches).toBe(4 + 2);
    const clipped = clipGradNormRef([g], 0.5);
    const ref: SgdRefState = { p: Float64Array.from(p0), buf: null };
    sgdRefStep(ref, clipped.grads[0]!, { lr: 0.3, momentum: 0.5, dampening: 0, weightDecay: 0, nesterov: false, maximize: false });
    // The clip's relative error (<= 80 u of g) times lr, plus the step's rounding.
    const flat = await params.all.read();
    expectClose('clip + SGD', gather(params, flat), ref.p, { atol: 16 * U32, rtol: 16 * U32 }, seed);
    expectPaddingZero('clip + SGD', params, flat);
    expect(() => clipGradNorm(rt, [], 1)).toThrow(/grads is empty/);
    expect(() => clipGradNorm(rt, ps, -1)).toThrow(/maxNorm must be >= 0/);
    opt.destroy();
    destroy(params, grads);
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
  it("Scheduler sets each group's lr from its initial lr at construction and each step", async () => {
    const params = rt.arena({ w: [8] });
    const grads = rt.arena({ w: [8] });
    const opt = new SGD(paramsOf(params, grads), { lr: 1 });
    const lrs: number[] = [];
    const sched = new Scheduler(opt, stepLR({ stepSize: 2, gamma: 0.1 }));
    lrs.push(opt.paramGroups[0]!.lr);
    for (let i = 0; i < 3; i++) {
      sched.step();
      lrs.push(opt.paramGroups[0]!.lr);
    }
    expect(lrs.map((x) => +x.toPrecision(12))).toEqual([1, 1, 0.1, 0.1]);
    expect(opt.paramGroups[0]!.initialLr).toBe(1);
    expect((await hyperOf(opt))[1]).toBe(Math.fround(lrs[3]!));
    sched.setStep(0);
    expect(opt.lr).toBe(1);
    expect(() => new Scheduler(opt, () => NaN)).toThrow(/finite number >= 0/);
    opt.destroy();
    destroy(params, grads);
  });
});

describe('Optimizer.destroy', () => {
  it('frees its state and hyper buffers: a step recorded afterwards is refused at once, naming the freed buffer', async () => {
    const params = rt.arena({ w: [8] });
    const grads = rt.arena({ w: [8] });
    const opt = new Adam(paramsOf(params, grads), { lr: 1e-3 });
    gpuStep(opt);
    await rt.sync();
    opt.destroy();
    expect(() => rt.step(() => opt.step())).toThrow(/Adam\..*destroyed/);
    await rt.sync(); // nothing of the refused step was submitted
    destroy(params, grads);
  });
});
