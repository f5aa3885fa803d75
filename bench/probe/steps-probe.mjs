// bench/probe/steps-probe.mjs: which WGSL formulation of the per-timestep
// recurrent kernels (LSTM forward_step / backward_step) is fastest on this
// adapter (SwiftShader here), measured standalone against the project's own
// shaders.
//
//   node bench/probe/steps-probe.mjs [--H=128] [--B=32] [--T=64] [--rounds=9]
//        [--only=regex] [--dir=fwd|bwd|all] [--json=out.json] [--dump=dir]
//
// It creates a Dawn device (the `webgpu` package; SwiftShader when the machine
// has no GPU), builds the LSTM buffers of one layer (T steps of gates, hprev,
// cprev, dgates ...) exactly as src/nn/recurrent.ts lays them out, and, for
// every variant (variants.mjs):
//   1. checks it: a whole forward (T steps) or backward (T steps, from the
//      reference's saved activations) against a JS float64 reference; max abs
//      error over everything the step writes (gates/activations, out, hprev,
//      cprev / dgates, dcarry). A variant off by more than 1e-4 is disqualified.
//   2. times it: T dispatches (one per timestep, a dynamic uniform offset per
//      step, one compute pass, as the layer records them), one submit, await
//      onSubmittedWorkDone; ms per dispatch = wall / T. Variants are
//      interleaved round by round; reports median and min..max over rounds.
// Every variant keeps the project's cell code (lstm.wgsl's forward_cell /
// backward_cell, bindings, Dims) and replaces only the product and the work
// split: entry points appended to shaders/lstm.wgsl (+ recurrent*.wgsl).
// Extra weight layouts (W^T [H, 4H], gate-interleaved [H(k), H(j), 4]) are
// written into the parameter buffer `w` at override offsets OWT / OWI.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { forwardVariants, backwardVariants, blockVariants, cell4Variants, topVariants, PRELUDE } from './variants.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? '1']; }));
const H = +(args.H ?? 128), B = +(args.B ?? 32), T = +(args.T ?? 64), ROUNDS = +(args.rounds ?? 9);
const G = 4;
const only = args.only ? new RegExp(args.only) : null;
const dirSel = args.dir ?? 'all';

// ---------------------------------------------------------------- Dawn
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && !['/dev/dri', '/dev/nvidia0'].some((p) => existsSync(p)) && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}
process.env.XDG_RUNTIME_DIR ||= tmpdir();
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
// Dawn polls its promises with setImmediate back to back, which spins a core
// away from SwiftShader's workers: poll its native callbacks on a 1 ms timer (as src/dawn.ts).
{
  const imm = globalThis.setImmediate;
  globalThis.setImmediate = function (fn, ...a) {
    if (typeof fn === 'function' && fn.name === '' && a.length === 0 && Function.prototype.toString.call(fn).includes('[native code]')) {
      setTimeout(fn, 1);
      return undefined;
    }
    return imm.call(this, fn, ...a);
  };
}
const gpu = create(['disable-dawn-features=timestamp_quantization']);
const adapter = await gpu.requestAdapter();
globalThis.__keep = [gpu, adapter]; // Dawn aborts if its instance is collected mid-run
const device = await adapter.requestDevice({
  requiredFeatures: adapter.features.has('subgroups') ? ['subgroups'] : [],
  requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage, maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize },
});
device.addEventListener?.('uncapturederror', (e) => console.error('GPU error:', e.error?.message));
const info = adapter.info ?? {};
console.log(`adapter: ${info.vendor} ${info.architecture} ${info.description ?? ''}; H=${H} B=${B} T=${T} rounds=${ROUNDS}`);

// ---------------------------------------------------------------- shader source
function withIncludes(name, seen = new Set()) {
  const src = readFileSync(path.join(root, 'shaders', `${name}.wgsl`), 'utf8');
  return src.replace(/^\/\/ #include (\w+)\s*$/gm, (_, inc) => {
    if (seen.has(inc)) return '';
    seen.add(inc);
    return withIncludes(inc, seen);
  });
}
const LSTM_SRC = withIncludes('lstm');

// ---------------------------------------------------------------- data
let seed = 12345;
const rand = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 2 ** 32; };
const uni = (n, a) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * a);
const GH = G * H;
const bound = 1 / Math.sqrt(H);
const Whh = uni(GH * H, bound);     // [4H, H]
const bhh = uni(GH, bound);
const WT = new Float32Array(H * GH);  // [H(k), 4H]: WT[k*4H + r] = Whh[r*H + k]
for (let r = 0; r < GH; r++) for (let k = 0; k < H; k++) WT[k * GH + r] = Whh[r * H + k];
const WI = new Float32Array(H * H * 4); // [H(k), H(j), 4(g)]: WI[(k*H + j)*4 + g] = Whh[(g*H + j)*H + k]
for (let g = 0; g < G; g++) for (let j = 0; j < H; j++) for (let k = 0; k < H; k++) WI[(k * H + j) * 4 + g] = Whh[(g * H + j) * H + k];
const gatesIn = uni(T * B * GH, 1.0); // x W_ih^T + b_ih
const h0 = uni(B * H, 0.5), c0 = uni(B * H, 0.5);
const dOutH = uni(T * B * H, 1.0), dhn = uni(B * H, 1.0), dcn = uni(B * H, 1.0);

// w arena: Whh | bhh | WT | WI
const oWhh = 0, oBhh = GH * H, oWT = oBhh + GH, oWI = oWT + H * GH;
const wArena = new Float32Array(oWI + H * H * 4);
wArena.set(Whh, oWhh); wArena.set(bhh, oBhh); wArena.set(WT, oWT); wArena.set(WI, oWI);
// act arena: out [T,B,H] | gates [T,B,4H] | hprev [T,B,H] | cprev [T,B,H]
const oOut = 0, oGates = T * B * H, oHprev = oGates + T * B * GH, oCprev = oHprev + T * B * H;
const actSize = oCprev + T * B * H;
// grad arena: dgates [T,B,4H] | dcarry [B,H]
const oDgates = 0, oDcarry = T * B * GH, gradSize = oDcarry + B * H;

// ---------------------------------------------------------------- float64 reference
const sig = (x) => 1 / (1 + Math.exp(-x));
function refForward() {
  const act = new Float64Array(actSize);
  const hn = new Float64Array(B * H), cn = new Float64Array(B * H);
  for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) { act[oHprev + b * H + j] = h0[b * H + j]; act[oCprev + b * H + j] = c0[b * H + j]; }
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const row = t * B + b;
      for (let j = 0; j < H; j++) {
        const pre = [0, 0, 0, 0];
        for (let g = 0; g < G; g++) {
          let s = gatesIn[row * GH + g * H + j] + bhh[g * H + j];
          for (let k = 0; k < H; k++) s += Whh[(g * H + j) * H + k] * act[oHprev + row * H + k];
          pre[g] = s;
        }
        const ig = sig(pre[0]), fg = sig(pre[1]), gg = Math.tanh(pre[2]), og = sig(pre[3]);
        const c = fg * act[oCprev + row * H + j] + ig * gg, h = og * Math.tanh(c);
        act[oGates + row * GH + j] = ig; act[oGates + row * GH + H + j] = fg; act[oGates + row * GH + 2 * H + j] = gg; act[oGates + row * GH + 3 * H + j] = og;
        act[oOut + row * H + j] = h;
        if (t === T - 1) { hn[b * H + j] = h; cn[b * H + j] = c; } else { act[oHprev + (row + B) * H + j] = h; act[oCprev + (row + B) * H + j] = c; }
      }
    }
  }
  return { act, hn, cn };
}
// Backward from `saved` (the float32 forward activations), as lstm.wgsl's backward_cell.
function refBackward(saved) {
  const grad = new Float64Array(gradSize);
  for (let t = T - 1; t >= 0; t--) {
    for (let b = 0; b < B; b++) {
      const row = t * B + b;
      for (let j = 0; j < H; j++) {
        let dh = dOutH[row * H + j], dc;
        if (t === T - 1) { dh += dhn[b * H + j]; dc = dcn[b * H + j]; } else {
          let rec = 0;
          for (let k = 0; k < GH; k++) rec += grad[oDgates + (row + B) * GH + k] * Whh[k * H + j];
          dh += rec; dc = grad[oDcarry + b * H + j];
        }
        const s0 = oGates + row * GH + j;
        const ig = saved[s0], fg = saved[s0 + H], gg = saved[s0 + 2 * H], og = saved[s0 + 3 * H];
        const cp = saved[oCprev + row * H + j];
        const c = fg * cp + ig * gg, tc = Math.tanh(c);
        dc += dh * og * (1 - tc * tc);
        grad[oDcarry + b * H + j] = dc * fg;
        const d0 = oDgates + row * GH + j;
        grad[d0] = dc * gg * ig * (1 - ig); grad[d0 + H] = dc * cp * fg * (1 - fg);
        grad[d0 + 2 * H] = dc * ig * (1 - gg * gg); grad[d0 + 3 * H] = dh * tc * og * (1 - og);
      }
    }
  }
  return grad;
}
let t0 = performance.now();
const refF = refForward();
const actInit = new Float32Array(actSize);
actInit.set(gatesIn, oGates);
for (let b = 0; b < B * H; b++) { actInit[oHprev + b] = h0[b]; actInit[oCprev + b] = c0[b]; }
const saved32 = Float32Array.from(refF.act);
const refG = refBackward(saved32);
console.log(`reference: ${(performance.now() - t0).toFixed(0)} ms`);

// ---------------------------------------------------------------- buffers
const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const buf = (data, usage = S) => {
  const b = device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 16) * 16), usage });
  device.queue.writeBuffer(b, 0, data);
  return b;
};
const actBuf = buf(actInit);
const savedBuf = buf(saved32);
const gradBuf = buf(new Float32Array(gradSize));
const finBuf = buf(new Float32Array(2 * B * H));
const initBuf = buf(Float32Array.from([...h0, ...c0]));
const dinitBuf = buf(new Float32Array(2 * B * H));
const dOutBuf = buf(dOutH);
const dfinBuf = buf(Float32Array.from([...dhn, ...dcn]));
const wBuf = buf(wArena);
const lenBuf = buf(new Float32Array(B).fill(T));
const dummyRW = buf(new Float32Array(16));
// Dims per step, 256 bytes apart (dynamic offset)
const NONE = 0xffffffff;
function dimsFor(t) {
  return Uint32Array.from([T, B, H, t, 0, H, oOut, oGates, oHprev, oCprev, 0, B * H, 0, B * H, oDgates, oDcarry, oWhh, oBhh, 0, 0, 1, NONE]);
}
const uni8 = new Uint32Array(T * 64);
for (let t = 0; t < T; t++) uni8.set(dimsFor(t), t * 64);
const dimsBuf = buf(uni8, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);

const ro = 'read-only-storage', rw = 'storage';
const layout = device.createBindGroupLayout({
  entries: [[0, rw], [1, rw], [2, rw], [3, rw], [4, ro], [5, ro], [6, ro], [7, ro], [8, ro], [9, ro], [11, ro]]
    .map(([binding, type]) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } }))
    .concat([{ binding: 10, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: 96 } }]),
});
const plLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
const bg = (fwd) => device.createBindGroup({
  layout,
  entries: [
    [0, fwd ? actBuf : dummyRW], [1, finBuf], [2, gradBuf], [3, dinitBuf], [4, fwd ? dummyRW : savedBuf], [5, initBuf], [6, dOutBuf],
    [7, dfinBuf], [8, wBuf], [9, lenBuf], [11, wBuf],
  ].map(([binding, buffer]) => ({ binding, resource: { buffer } })).concat([{ binding: 10, resource: { buffer: dimsBuf, size: 96 } }]),
});
const bgF = bg(true), bgB = bg(false);
// backward kernels that read the saved activations as vec4 through binding 0 (act)
const bgBA = device.createBindGroup({
  layout,
  entries: [
    [0, savedBuf], [1, finBuf], [2, gradBuf], [3, dinitBuf], [4, dummyRW], [5, initBuf], [6, dOutBuf],
    [7, dfinBuf], [8, wBuf], [9, lenBuf], [11, wBuf],
  ].map(([binding, buffer]) => ({ binding, resource: { buffer } })).concat([{ binding: 10, resource: { buffer: dimsBuf, size: 96 } }]),
});

async function readBuf(b, n) {
  const st = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const e = device.createCommandEncoder();
  e.copyBufferToBuffer(b, 0, st, 0, n * 4);
  device.queue.submit([e.finish()]);
  await st.mapAsync(GPUMapMode.READ);
  const r = new Float32Array(st.getMappedRange().slice(0));
  st.destroy();
  return r;
}

// ---------------------------------------------------------------- variants
const ctx = { H, B, T, G, oWT, oWI };
const all = [];
const set = args.set ?? 'block';
const blk = set === 'cell4' ? cell4Variants(ctx) : set === 'top' ? topVariants(ctx) : blockVariants(ctx);
const F = set === 'block' || set === 'cell4' || set === 'top' ? blk.f : set === 'first' ? forwardVariants(ctx) : [...forwardVariants(ctx), ...blk.f.filter((v) => !v.base)];
const Bv = set === 'block' || set === 'cell4' || set === 'top' ? blk.b : set === 'first' ? backwardVariants(ctx) : [...backwardVariants(ctx), ...blk.b.filter((v) => !v.base)];
if (dirSel !== 'bwd') all.push(...F.map((v) => ({ ...v, dir: 'fwd' })));
if (dirSel !== 'fwd') all.push(...Bv.map((v) => ({ ...v, dir: 'bwd' })));
const variants = all.filter((v) => !only || only.test(v.name));
if (args.dump) mkdirSync(args.dump, { recursive: true });

for (const v of variants) {
  if (v.enable && !device.features.has(v.enable)) { console.log(`${v.name}: skipped (no ${v.enable})`); continue; }
  const code = (v.enable ? `enable ${v.enable};\n` : '') + (v.base ? LSTM_SRC : LSTM_SRC + PRELUDE + v.wgsl);
  if (args.dump) writeFileSync(path.join(args.dump, `${v.name}.wgsl`), v.base ? `// project shaders/lstm.wgsl entry ${v.entry}\n` : `// appended to shaders/lstm.wgsl (+ recurrent.wgsl, recurrent_steps.wgsl)${v.enable ? `; the module starts with: enable ${v.enable};` : ''}\n// grid ${v.grid.join(' x ')}\n` + PRELUDE + v.wgsl);
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const constants = { ...(v.constants ?? {}), ...(v.base ? {} : { OWT: oWT, OWI: oWI }) };
  try {
    v.pipeline = device.createComputePipeline({ layout: plLayout, compute: { module, entryPoint: v.entry, constants } });
  } catch (e) { v.error = String(e.message ?? e); }
  const err = await device.popErrorScope();
  if (err) v.error = err.message;
  if (v.error) { console.log(`${v.name}: compile error: ${v.error.slice(0, 2000)}`); continue; }
}

function record(v, enc) {
  const pass = enc.beginComputePass();
  pass.setPipeline(v.pipeline);
  for (let s = 0; s < T; s++) {
    const t = v.dir === 'fwd' ? s : T - 1 - s;
    pass.setBindGroup(0, v.dir === 'fwd' ? bgF : v.savedAsAct ? bgBA : bgB, [t * 256]);
    pass.dispatchWorkgroups(...v.grid);
  }
  pass.end();
}

async function check(v) {
  device.queue.writeBuffer(actBuf, 0, actInit);
  device.queue.writeBuffer(gradBuf, 0, new Float32Array(gradSize));
  const enc = device.createCommandEncoder();
  record(v, enc);
  device.queue.submit([enc.finish()]);
  let err = 0;
  if (v.dir === 'fwd') {
    const a = await readBuf(actBuf, actSize);
    for (let i = 0; i < actSize; i++) err = Math.max(err, Math.abs(a[i] - refF.act[i]));
    const f = await readBuf(finBuf, 2 * B * H);
    for (let i = 0; i < B * H; i++) err = Math.max(err, Math.abs(f[i] - refF.hn[i]), Math.abs(f[B * H + i] - refF.cn[i]));
  } else {
    const g = await readBuf(gradBuf, gradSize);
    for (let i = 0; i < gradSize; i++) err = Math.max(err, Math.abs(g[i] - refG[i]));
  }
  if (!Number.isFinite(err)) err = Infinity;
  return err;
}

async function time(v) {
  const enc = device.createCommandEncoder();
  record(v, enc);
  const cb = enc.finish();
  const t0 = performance.now();
  device.queue.submit([cb]);
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / T;
}

const live = variants.filter((v) => v.pipeline);
for (const v of live) {
  v.err = await check(v);
  v.ok = v.err < 1e-4 || !!v.diag;
  console.log(`${v.dir} ${v.name.padEnd(28)} grid ${v.grid.join('x').padEnd(8)} maxErr ${v.err.toExponential(2)}${v.diag ? '  (diagnostic)' : v.ok ? '' : '  DISQUALIFIED'}`);
  v.times = [];
}
// warm-up, then interleaved rounds (order rotated each round)
for (const v of live) await time(v);
for (let r = 0; r < ROUNDS; r++) {
  const order = live.map((_, i) => live[(i + r) % live.length]);
  for (const v of order) v.times.push(await time(v));
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const rows = [];
for (const dir of ['fwd', 'bwd']) {
  const vs = live.filter((v) => v.dir === dir);
  if (!vs.length) continue;
  const baseV = vs.find((v) => v.base);
  const bm = baseV ? med(baseV.times) : null;
  console.log(`\n${dir}  H=${H} B=${B} T=${T}: ms per dispatch, median (min..max) over ${ROUNDS} rounds`);
  for (const v of [...vs].sort((a, b) => med(a.times) - med(b.times))) {
    const m = med(v.times);
    const line = `  ${v.name.padEnd(30)} ${m.toFixed(3)}  (${Math.min(...v.times).toFixed(3)}..${Math.max(...v.times).toFixed(3)})${bm ? `  x${(bm / m).toFixed(2)}` : ''}  err ${v.diag ? 'n/a (diagnostic)' : v.err.toExponential(1)}${v.ok ? '' : ' WRONG'}`;
    console.log(line);
    rows.push({ dir, name: v.name, H, B, T, medianMs: m, minMs: Math.min(...v.times), maxMs: Math.max(...v.times), maxErr: v.err, ok: v.ok, grid: v.grid, times: v.times });
  }
}
if (args.json) writeFileSync(args.json, JSON.stringify({ adapter: info, H, B, T, rounds: ROUNDS, rows }, null, 1));
device.destroy?.();
process.exit(0);
