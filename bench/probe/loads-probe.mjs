// bench/probe/loads-probe.mjs: what a storage load costs on this adapter
// (SwiftShader: are lane-consecutive or lane-equal addresses cheaper than a
// gather? is a vec4 load one load or four?), and what a dispatch costs.
//
//   node bench/probe/loads-probe.mjs [--rounds=7]
//
// Each kernel runs 1024 invocations (workgroups of 64); each loops K=256 times
// doing 8 loads of one address pattern, each followed by an fma into an
// accumulator (4 independent accumulators); prints ns per load instruction per
// 4-lane group (time / (1024/4 * 256 * 8)), median and min over rounds.
// Each timing = 16 dispatches in one pass, one submit, await onSubmittedWorkDone.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';

const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? '1']; }));
const ROUNDS = +(args.rounds ?? 7);
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
const gpu = create([]);
globalThis.__gpu = gpu;
const adapter = await gpu.requestAdapter();
const device = await adapter.requestDevice({ requiredFeatures: adapter.features.has('subgroups') ? ['subgroups'] : [] });
const hasSub = device.features.has('subgroups');

const K = 256, N = 1024, L = 8, NX = 1 << 20;
// pattern: WGSL expression of the loaded value at (k, u, lid, gid), scalar (f32) or vec4
const P = {
  'scalar lane-consecutive  x[k*8192+u*1024+gid]': { e: 'x[k * 8192u + u * 1024u + gid]' },
  'scalar lane-equal        x[k*8+u]': { e: 'x[k * 8u + u + d.z]' },
  'scalar lane-stride 128   x[gid*128+k*8+u]': { e: 'x[(gid * 128u + k * 8u + u) & 1048575u]' },
  'scalar lane-stride 512   x[gid*512+...]': { e: 'x[(gid * 512u + k * 8u + u) & 1048575u]' },
  'vec4 lane-consecutive    x4[k*8192/4+u*1024+gid]': { e: 'x4[(k * 8192u + u * 1024u) / 4u + gid]', v: 1 },
  'vec4 lane-equal          x4[k*8+u]': { e: 'x4[k * 8u + u + d.z]', v: 1 },
  'vec4 lane-stride 128     x4[gid*32+k*2+u]': { e: 'x4[(gid * 32u + k * 8u + u) & 262143u]', v: 1 },
  'no load (fma only)': { e: 'f32(k + u)' },
};
if (hasSub) P['subgroupBroadcast of a consecutive scalar'] = { e: 'subgroupBroadcast(x[k * 8192u + gid], u & 3u)', sub: 1 };
// the broadcast lane must be a constant: unroll u
function kernel(p) {
  const body = Array.from({ length: L }, (_, u) => {
    const e = p.e.replaceAll('u * 1024u', `${u * 1024}u`).replaceAll('+ u ', `+ ${u}u `).replaceAll('+ u)', `+ ${u}u)`).replaceAll('u & 3u', `${u & 3}u`);
    return p.v ? `    a${u % 4} = fma(${e}, vec4<f32>(1.0001), a${u % 4});` : `    a${u % 4} = fma(vec4<f32>(${e}), vec4<f32>(1.0001), a${u % 4});`;
  }).join('\n');
  return `${p.sub ? 'enable subgroups;' : ''}
struct D { x: u32, y: u32, z: u32, w: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> d: D;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let gid = g.x;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  for (var k = 0u; k < ${K}u; k++) {
${body}
  }
  o[gid] = a0 + a1 + a2 + a3;
}`;
}
const xb = device.createBuffer({ size: NX * 4 + (1 << 16), usage: GPUBufferUsage.STORAGE });
const ob = device.createBuffer({ size: N * 16, usage: GPUBufferUsage.STORAGE });
const ub = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
device.queue.writeBuffer(ub, 0, new Uint32Array([0, 0, 0, 0]));
const ks = [];
for (const [name, p] of Object.entries(P)) {
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: kernel(p) }), entryPoint: 'main' } });
  const used = [0, 1, 2, 3].filter((b) => b === 2 || (b === 3 && /d\.z/.test(p.e)) || (b === 0 && /\bx\[/.test(p.e)) || (b === 1 && /x4\[/.test(p.e)));
  const res = { 0: { buffer: xb, size: NX * 4 }, 1: { buffer: xb, size: NX * 4 }, 2: { buffer: ob }, 3: { buffer: ub } };
  const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: used.map((b) => ({ binding: b, resource: res[b] })) });
  ks.push({ name, pipeline, bg, t: [] });
}
// an empty kernel: the cost of one dispatch
{
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: '@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x == 100000u) { o[0] = 1.0; } }' }), entryPoint: 'main' } });
  ks.push({ name: 'empty dispatch (per dispatch, us)', pipeline, bg: device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: ob } }] }), t: [], empty: true });
}
const REPS = 16;
async function run(k) {
  const e = device.createCommandEncoder();
  const pass = e.beginComputePass();
  pass.setPipeline(k.pipeline);
  pass.setBindGroup(0, k.bg);
  const reps = k.empty ? 256 : REPS;
  for (let i = 0; i < reps; i++) pass.dispatchWorkgroups(N / 64);
  pass.end();
  const t0 = performance.now();
  device.queue.submit([e.finish()]);
  await device.queue.onSubmittedWorkDone();
  const ms = (performance.now() - t0) / reps;
  return k.empty ? ms * 1000 : (ms * 1e6) / ((N / 4) * K * L);
}
for (const k of ks) await run(k);
for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < ks.length; i++) { const k = ks[(i + r) % ks.length]; k.t.push(await run(k)); }
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`adapter ${adapter.info?.architecture}; subgroups ${hasSub}; ns per load per 4 lanes (loop of ${L} loads + fmas), median  min..max over ${ROUNDS}`);
for (const k of ks) console.log(`  ${k.name.padEnd(52)} ${med(k.t).toFixed(2).padStart(7)}  ${Math.min(...k.t).toFixed(2)}..${Math.max(...k.t).toFixed(2)}`);
process.exit(0);
