import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GPUKernelError,
  Tensor,
  axpy,
  createRuntime,
  fill,
  gemm,
  registerShader,
  type KernelDesc,
  type Runtime,
} from '../src/index.js';
import { expectClose, freshSeed, rng, uniform } from './suite/check.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime();
});
afterAll(() => rt?.destroy());

const axpyDesc: KernelDesc = {
  name: 'axpy',
  shader: 'elementwise',
  entry: 'axpy',
  overrides: { WG: 64 },
  grid: (p) => [Math.ceil(p.n! / 64)],
  extents: (p) => ({ y: p.n!, x: p.n! }),
};

describe('scheduler', () => {
  it('records a 1,000-dispatch step into one submit and one pass, and re-records it without new slots or bind groups', async () => {
    const n = 37;
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const r = rng(seed);
    // Multiples of 1/8 in [-4, 4): every partial sum below is exact in f32.
    const x0 = Float32Array.from({ length: n }, () => Math.floor(r() * 64 - 32) / 8);
    const y0 = Float32Array.from({ length: n }, () => Math.floor(r() * 64 - 32) / 8);
    const x = rt.tensor(x0, [n], 'x');
    const y = rt.tensor(y0, [n], 'y');
    const N = 1000;
    const counts = rt.step(() => {
      for (let i = 0; i < N; i++) axpy(rt, y, i % 2 ? 0.5 : -0.25, x);
    });
    expect(counts).toEqual({ dispatches: N, passes: 1, submits: 1, copies: 0 });
    const slots = rt.uniforms.size;
    const again = rt.step(() => {
      for (let i = 0; i < N; i++) axpy(rt, y, i % 2 ? 0.5 : -0.25, x);
    });
    expect(again).toEqual(counts);
    expect(rt.uniforms.size).toBe(slots); // parameters were written once, on the first recording
    // 2 * 500 * (0.5 - 0.25) = 250 times x added to y.
    const want = Float64Array.from(y0, (v, i) => v + 250 * x0[i]!);
    expectClose('1000 axpy', await y.read(), want, { atol: 0, rtol: 0 }, seed);
  });

  it('a bound dispatch recorded per timestep selects its parameters by offset, sharing one bind group', async () => {
    const T = 5;
    const B = 3;
    const ys = rt.zeros([T, B], 'ys');
    const xs = rt.zeros([T, B], 'xs');
    const ds = Array.from({ length: T }, (_, t) => rt.bind(axpyDesc, { y: ys.index(t), x: xs.index(t) }, { n: B, alpha: 0 }));
    expect(new Set(ds.map((d) => d.bindGroup)).size).toBe(1);
    expect(new Set(ds.map((d) => d.uniformOffset)).size).toBe(T);
    ys.buffer.destroy();
    xs.buffer.destroy();
  });

  it('write() submits recorded work first, so the work sees the old contents', async () => {
    const y = rt.tensor([1, 2, 3], [3], 'y');
    const x = rt.tensor([10, 20, 30], [3], 'x');
    axpy(rt, y, 1, x); // recorded, not yet submitted
    x.write([100, 200, 300]);
    expect(Array.from(await y.read())).toEqual([11, 22, 33]);
  });
});

describe('tensors and arenas', () => {
  it('lays an arena out at the storage-offset alignment, with zero padding', async () => {
    const align = rt.limits.minStorageBufferOffsetAlignment;
    const a = rt.arena({ w: [3, 5], b: [7], big: [70, 3] }, 'params');
    expect(a.offsets).toEqual({ w: 0, b: align, big: 2 * align });
    expect(a.tensors.big!.shape).toEqual([70, 3]);
    fill(rt, a.tensors.w!, 2);
    fill(rt, a.tensors.b!, 3);
    fill(rt, a.tensors.big!, -1);
    const all = await a.all.read();
    const sum = all.reduce((s, v) => s + v, 0);
    expect(sum).toBe(15 * 2 + 7 * 3 - 210); // padding contributes nothing
    a.destroy();
  });

  it('round-trips data and checks views', async () => {
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const d = uniform(rng(seed), 24);
    const t = rt.tensor(d, [2, 3, 4]);
    expect(Array.from(await t.read())).toEqual(Array.from(d));
    expect(Array.from(await t.index(1).read())).toEqual(Array.from(d.subarray(12)));
    expect(() => t.view([5, 5])).toThrow(/does not fit in \[2, 3, 4\]/);
    expect(() => t.reshape([5])).toThrow(/cannot view \[2, 3, 4\] as \[5\]/);
    expect(() => rt.tensor([1, 2, 3], [2, 2], 'x')).toThrow(/x: data has 3 values, shape \[2, 2\] needs 4/);
    expect(() => t.write([1])).toThrow(/data has 1 values, tensor \[2, 3, 4\] holds 24/);
    t.buffer.destroy();
  });
});

describe('errors before dispatch', () => {
  it('a buffer smaller than the kernel needs names kernel, binding and sizes', () => {
    const a = rt.zeros([4, 3], 'a');
    const b = rt.zeros([3, 5], 'b');
    const c = rt.zeros([4, 5], 'c');
    const before = rt.counters.dispatches;
    expect(() => gemm(rt, c, a, b, { M: 4, N: 5, K: 6, lda: 6, ldb: 5, ldc: 5 })).toThrow(
      "kernel gemm_nn: binding 'a' needs 24 elements (96 bytes) but a [4, 3] has 12 (48 bytes)",
    );
    expect(rt.counters.dispatches).toBe(before);
  });

  it('a missing or unknown binding, and a missing parameter, are named', () => {
    const y = rt.zeros([8], 'y');
    expect(() => rt.dispatch(axpyDesc, { y }, { n: 8, alpha: 1 })).toThrow("kernel axpy: binding 'x' is missing");
    expect(() => rt.dispatch(axpyDesc, { y, x: y, z: y }, { n: 8, alpha: 1 })).toThrow(
      "kernel axpy: no binding 'z'; it binds y, x",
    );
    const x = rt.zeros([8], 'x');
    expect(() => rt.dispatch(axpyDesc, { y, x }, { n: 8 })).toThrow("kernel axpy: parameter 'alpha' (f32) is missing");
    expect(() => rt.dispatch(axpyDesc, { y, x }, { n: 8, alpha: 1, beta: 2 })).toThrow(
      "kernel axpy: unknown parameter 'beta'; dims (EwDims) has n, offY, offX, alpha",
    );
    expect(() => rt.dispatch(axpyDesc, { y, x }, { n: -1, alpha: 1 })).toThrow("kernel axpy: parameter 'n' must be a u32, got -1");
  });

  it('a read-only and a writable binding of one buffer is refused (WebGPU forbids it)', () => {
    const buf = rt.zeros([16], 'shared');
    expect(() => axpy(rt, buf.view([8], 0), 1, buf.view([8], 8))).toThrow(
      /binding 'x' \(read\) and 'y' \(read_write\) are in the same GPU buffer/,
    );
  });

  it('a buffer without STORAGE usage is refused', () => {
    const raw = rt.device.createBuffer({ size: 64, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    const t = new Tensor(rt, raw, 0, [16], 'raw');
    expect(() => fill(rt, t, 1)).toThrow(/kernel fill: binding 'y' needs a buffer with STORAGE usage; raw's buffer has usage 0xc/);
    raw.destroy();
  });

  it('shape mismatches in gemm name both operands', () => {
    const a = rt.zeros([7, 13], 'a');
    const b = rt.zeros([5, 3], 'b');
    const c = rt.zeros([7, 3], 'c');
    expect(() => gemm(rt, c, a, b)).toThrow(
      'gemm: inner dimensions differ: op(a) is [7, 13] (a [7, 13], transA=false) but op(b) is [5, 3] (b [5, 3], transB=false)',
    );
    const b2 = rt.zeros([13, 3], 'b2');
    const c2 = rt.zeros([3, 7], 'c2');
    expect(() => gemm(rt, c2, a, b2)).toThrow('gemm: c must be [7, 3] for op(a) [7, 13] @ op(b) [13, 3], got [3, 7]');
    expect(() => gemm(rt, c, a, b2, { bias: a })).toThrow(/gemm: bias must have N=3 elements, got a \[7, 13\]/);
  });
});

describe('WebGPU errors become exceptions', () => {
  it('a shader that does not compile rejects sync() with WebGPU\'s message and the kernel', async () => {
    registerShader(
      'broken_for_test',
      `@group(0) @binding(0) var<storage, read_write> y: array<f32>;
       @compute @workgroup_size(1) fn main() { y[0] = undefined_name; }`,
    );
    // wgsl_reflect parses it; Dawn's compiler rejects it.
    try {
      rt.kernel({ name: 'broken_kernel', shader: 'broken_for_test', entry: 'main', grid: () => [1] });
    } catch {
      // Some builds throw at once; the runtime must still report on sync.
    }
    const err = await rt.sync().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GPUKernelError);
    expect(String((err as Error).message)).toMatch(/broken_kernel/);
    expect(String((err as Error).message)).toMatch(/undefined_name/);
  });

  it('recording a dispatch whose buffer was destroyed throws at once, naming the tensor; the runtime goes on', async () => {
    const y = rt.zeros([8], 'y');
    const x = rt.zeros([8], 'x');
    const d = rt.bind(axpyDesc, { y, x }, { n: 8, alpha: 1 });
    x.buffer.destroy();
    expect(() => rt.run(d)).toThrow(/\bx\b.*destroyed/);
    await rt.sync();
    fill(rt, y, 2);
    expect(Array.from(await y.read())).toEqual(new Array(8).fill(2));
  });

  it('a step that throws drops its recording and its error scopes: a later uncaptured error still surfaces', async () => {
    const y = rt.zeros([8], 'y');
    const x = rt.zeros([8], 'x');
    const d = rt.bind(axpyDesc, { y, x }, { n: 8, alpha: 1 });
    for (let i = 0; i < 3; i++) {
      expect(() =>
        rt.step(() => {
          rt.run(d);
          throw new Error('bad input found while recording');
        }),
      ).toThrow(/bad input/);
    }
    await rt.checkErrors();
    // Outside any step: WebGPU's uncaptured error, which pushed scopes left open would swallow.
    rt.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    await expect(rt.checkErrors()).rejects.toThrow(/WebGPU error: .*usage/i);
    // ... and the runtime goes on.
    fill(rt, y, 3);
    expect(Array.from(await y.read())).toEqual(new Array(8).fill(3));
  });

  it('device loss makes every later call throw', async () => {
    const other = await createRuntime({ quiet: true });
    const y = other.zeros([4], 'y');
    other.device.destroy();
    await other.device.lost;
    expect(() => fill(other, y, 1)).toThrow(/WebGPU device lost \(destroyed\)/);
    await expect(y.read()).rejects.toThrow(/device lost/);
  });
});

describe('limits', () => {
  it('works within the WebGPU default limits', async () => {
    const small = await createRuntime({ limits: 'default', quiet: true });
    expect(small.limits.maxStorageBufferBindingSize).toBe(134217728);
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const r = rng(seed);
    const a = small.tensor(uniform(r, 6), [2, 3]);
    const b = small.tensor(uniform(r, 12), [3, 4]);
    const c = small.zeros([2, 4]);
    gemm(small, c, a, b);
    const got = await c.read();
    expect(got.every(Number.isFinite)).toBe(true);
    small.destroy();
  });

  it('asks for the adapter\'s larger limits by default', () => {
    // SwiftShader offers 32 KiB of workgroup storage (default 16 KiB) and 1 GiB bindings.
    expect(rt.limits.maxComputeWorkgroupStorageSize).toBeGreaterThanOrEqual(16384);
    expect(rt.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(134217728);
  });
});

describe('bind-group cache', () => {
  it('stays bounded when tensors come and go (a page that trains in chunks makes new ones every chunk)', async () => {
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const keep = rt.tensor(uniform(rng(seed), 4), [4]);
    for (let i = 0; i < 4200; i++) {
      const t = rt.zeros([4]);
      rt.bind(axpyDesc, { y: t, x: keep }, { n: 4, alpha: 1 });
      t.buffer.destroy();
    }
    expect(rt.cachedBindGroups).toBeLessThanOrEqual(4096);
    // Still correct after evictions: y = 2 * keep.
    const y = rt.zeros([4]);
    rt.step(() => axpy(rt, y, 2, keep));
    // Exact: 0 + 2x has no rounding in f32.
    expectClose('axpy after evictions', await y.read(), Array.from(await keep.read(), (v) => 2 * v), { atol: 0, rtol: 0 }, seed);
  });
});
