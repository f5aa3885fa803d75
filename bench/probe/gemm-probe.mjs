// bench/probe/gemm-probe.mjs: the weight-gradient GEMM of a recurrent layer,
// dW_hh[4H, H] += dgates^T (4H x T*B) * hprev (T*B x H)  (gemm_tn: A = dgates [K, M] transposed),
// the project's gemm_reg (shaders/gemm.wgsl, TRANS_A, WG 4x1, 16x16 per invocation, scalar loads)
// against vec4-load TN kernels (gemm_tn4: A^T rows and B columns 4 at a time, optionally A through
// subgroupBroadcast), checked against a float64 reference, timed interleaved.
//
//   node bench/probe/gemm-probe.mjs [--M=512] [--N=128] [--K=2048] [--rounds=7]
//
// The vec4 kernels assume M % TM == 0, N % 16 == 0, lda, ldb, ldc, offsets % 4 == 0
// (true for LSTM/GRU/RNN dW_hh and dW_ih with H, I % 4 == 0); a real one would clamp as gemm_reg.
import { readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? '1']; }));
const M = +(args.M ?? 512), N = +(args.N ?? 128), K = +(args.K ?? 2048), ROUNDS = +(args.rounds ?? 7);
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && !existsSync('/dev/dri') && !existsSync('/dev/nvidia0') && existsSync(ICD)) process.env.VK_ICD_FILENAMES = ICD;
process.env.XDG_RUNTIME_DIR ||= tmpdir();
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
{
  const imm = globalThis.setImmediate;
  globalThis.setImmediate = function (fn, ...a) {
    if (typeof fn === 'function' && fn.name === '' && a.length === 0 && Function.prototype.toString.call(fn).includes('[native code]')) { setTimeout(fn, 1); return undefined; }
    return imm.call(this, fn, ...a);
  };
}
const gpu = create(['disable-dawn-features=timestamp_quantization']);
const adapter = await gpu.requestAdapter();
globalThis.__keep = [gpu, adapter]; // Dawn aborts if its instance is collected mid-run
const device = await adapter.requestDevice({ requiredFeatures: adapter.features.has('subgroups') ? ['subgroups'] : [] });

let seed = 7;
const rnd = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 2 ** 32 - 0.5; };
const A = Float32Array.from({ length: K * M }, rnd); // dgates [K, M]
const Bm = Float32Array.from({ length: K * N }, rnd); // hprev [K, N]
const C0 = Float32Array.from({ length: M * N }, rnd); // beta = 1: accumulate
const ref = new Float64Array(C0);
for (let k = 0; k < K; k++) for (let i = 0; i < M; i++) { const a = A[k * M + i]; if (!a) continue; for (let j = 0; j < N; j++) ref[i * N + j] += a * Bm[k * N + j]; }
const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const mk = (d) => { const b = device.createBuffer({ size: d.byteLength, usage: S }); device.queue.writeBuffer(b, 0, d); return b; };
const aB = mk(A), bB = mk(Bm), cB = mk(C0);

const X = ['x', 'y', 'z', 'w'];
const rows = (n, f) => Array.from({ length: n }, (_, i) => f(i)).join('\n');
// TM rows (TM % 4 == 0) x 16 columns per invocation; workgroup (4, 1).
function tn4(TM, sub) {
  const RA = TM / 4;
  const aload = sub
    ? `${rows(Math.ceil(RA / 4), (s) => `    let as${s} = a[ai + ${4 * s}u + min(sl & 3u, ${RA - 1 - 4 * s}u)];`)}
${rows(RA, (p) => `    let a${p} = subgroupBroadcast(as${p >> 2}, ${p & 3}u);`)}`
    : rows(RA, (p) => `    let a${p} = a[ai + ${p}u];`);
  return `${sub ? 'enable subgroups;' : ''}
struct GD { M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, offA: u32, offB: u32, offC: u32, beta: f32 }
@group(0) @binding(0) var<storage, read_write> c: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> d: GD;
@compute @workgroup_size(4, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>${sub ? ', @builtin(subgroup_invocation_id) sl: u32' : ''}) {
  let row0 = wg.y * ${TM}u;
  let col0 = min((wg.x * 4u + lid.x) * 16u, d.N - 16u);   // lanes past N redo the last block, store nothing
  var ai = (d.offA + row0) / 4u; var bi = (d.offB + col0) / 4u;
  let lda4 = d.lda / 4u; let ldb4 = d.ldb / 4u;
${rows(TM, (i) => [0, 1, 2, 3].map((q) => `var c${i}_${q} = vec4<f32>(0.0);`).join(' '))}
  for (var k = 0u; k < d.K; k++) {
${aload}
    let b0 = b[bi]; let b1 = b[bi + 1u]; let b2 = b[bi + 2u]; let b3 = b[bi + 3u];
    ai += lda4; bi += ldb4;
${rows(TM, (i) => `    { let s = vec4<f32>(a${i >> 2}.${X[i & 3]}); ${[0, 1, 2, 3].map((q) => `c${i}_${q} = fma(s, b${q}, c${i}_${q});`).join(' ')} }`)}
  }
  if ((wg.x * 4u + lid.x) * 16u >= d.N) { return; }
${rows(TM, (i) => `  { let o = (d.offC + (row0 + ${i}u) * d.ldc + col0) / 4u; ${[0, 1, 2, 3].map((q) => `c[o + ${q}u] = c${i}_${q} + d.beta * c[o + ${q}u];`).join(' ')} }`)}
}`;
}

function gemmSrc() {
  return readFileSync(path.join(root, 'shaders/gemm.wgsl'), 'utf8');
}
const V = [];
{
  // project kernel: gemm_reg, TRANS_A, WG 4x1 (src/ops.ts on a CPU adapter, N > 32)
  const module = device.createShaderModule({ code: gemmSrc() });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'gemm_reg', constants: { TRANS_A: 1, TRANS_B: 0, WG_X: 4, WG_Y: 1 } } });
  // GemmDims: M N K lda ldb ldc offA offB offC offBias alpha beta hasBias shift period ahead
  const u = new ArrayBuffer(64); const dv = new DataView(u);
  [M, N, K, M, N, N, 0, 0, 0, 0].forEach((x, i) => dv.setUint32(i * 4, x, true));
  dv.setFloat32(40, 1, true); dv.setFloat32(44, 1, true); dv.setUint32(48, 0, true); dv.setUint32(52, 0, true); dv.setUint32(56, 1, true);
  const ub = device.createBuffer({ size: 64, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }); device.queue.writeBuffer(ub, 0, u);
  const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [[0, cB], [1, aB], [2, bB], [3, aB], [4, ub]].map(([binding, buffer]) => ({ binding, resource: { buffer } })) });
  V.push({ name: 'gemm_reg TN 16x16 (project)', pipeline, bg, grid: [Math.ceil(N / 64), Math.ceil(M / 16)] });
}
for (const [TM, sub] of [[16, 0], [16, 1], [8, 0], [32, 1], [32, 0]]) {
  if (sub && !device.features.has('subgroups')) continue;
  if (M % TM || N % 16) continue;
  const module = device.createShaderModule({ code: tn4(TM, sub) });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const u = new ArrayBuffer(48); const dv = new DataView(u);
  [M, N, K, M, N, N, 0, 0, 0].forEach((x, i) => dv.setUint32(i * 4, x, true)); dv.setFloat32(36, 1, true);
  const ub = device.createBuffer({ size: 48, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }); device.queue.writeBuffer(ub, 0, u);
  const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [[0, cB], [1, aB], [2, bB], [4, ub]].map(([binding, buffer]) => ({ binding, resource: { buffer } })) });
  V.push({ name: `gemm_tn4 ${TM}x16${sub ? ' +subgroupBroadcast(A)' : ''}`, pipeline, bg, grid: [Math.ceil(N / 64), M / TM] });
}
async function runOnce(v, reps) {
  const e = device.createCommandEncoder();
  const p = e.beginComputePass(); p.setPipeline(v.pipeline); p.setBindGroup(0, v.bg);
  for (let i = 0; i < reps; i++) p.dispatchWorkgroups(...v.grid);
  p.end();
  const t0 = performance.now();
  device.queue.submit([e.finish()]);
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / reps;
}
async function check(v) {
  device.queue.writeBuffer(cB, 0, C0);
  await runOnce(v, 1);
  const st = device.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const e = device.createCommandEncoder(); e.copyBufferToBuffer(cB, 0, st, 0, M * N * 4); device.queue.submit([e.finish()]);
  await st.mapAsync(GPUMapMode.READ);
  const r = new Float32Array(st.getMappedRange());
  let err = 0; for (let i = 0; i < M * N; i++) err = Math.max(err, Math.abs(r[i] - ref[i]));
  st.unmap();
  return err;
}
for (const v of V) { v.err = await check(v); v.t = []; }
const REPS = 4;
for (const v of V) await runOnce(v, 1);
for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < V.length; i++) { const v = V[(i + r) % V.length]; v.t.push(await runOnce(v, REPS)); }
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
const base = med(V[0].t);
console.log(`gemm TN  M=${M} N=${N} K=${K} (dW = A^T B, beta 1): ms per call, median (min..max) over ${ROUNDS} rounds of ${REPS}`);
for (const v of V) {
  const m = med(v.t);
  console.log(`  ${v.name.padEnd(40)} ${m.toFixed(2).padStart(8)}  (${Math.min(...v.t).toFixed(2)}..${Math.max(...v.t).toFixed(2)})  ${((2 * M * N * K) / m / 1e6).toFixed(2)} GFLOP/s  x${(base / m).toFixed(2)}  maxErr ${v.err.toExponential(1)} (|ref| ~ ${Math.sqrt(K / 12 / 12).toFixed(1)})`);
}
process.exit(0);
