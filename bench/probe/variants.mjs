// Kernel variants of bench/probe/steps-probe.mjs: WGSL entry points appended to
// shaders/lstm.wgsl (with recurrent.wgsl + recurrent_steps.wgsl included), so
// they share its bindings, Dims and cell code (forward_cell, backward_cell,
// next_clamped); each replaces the recurrent product and the work split.
// Rows are unrolled by hand (R named accumulators): SwiftShader does not
// unroll loops over private arrays.
//
// Layouts in the parameter buffer w (see steps-probe.mjs):
//   W_hh [4H, H] at dims.oWhh (PyTorch), W^T [H, 4H] at OWT (WT[k, g*H + j] = W_hh[g*H + j, k]),
//   gate-interleaved WI [H(k), H(j), 4(g)] at OWI.

export const PRELUDE = `
// ---- probe variants ----
override OWT: u32 = 0;
override OWI: u32 = 0;
`;

const X = ['x', 'y', 'z', 'w'];
const rows = (R, f) => Array.from({ length: R }, (_, r) => f(r)).join('\n');
const cd = (a, b) => Math.ceil(a / b);

// ------------------------------------------------------------------ forward
// gh[r] (vec4 over the 4 gates) for unit j; a per-k loop over h_prev as vec4 (4 k's).
function fwdPerUnit({ name, R, WG, H, wload, hmode = 'v4', stage = false }) {
  const H4 = H / 4;
  const hread = (r, k4) => (stage ? `hs[${r}u * ${H4}u + ${k4}]` : `act[q${r} + ${k4}]`);
  let body;
  if (hmode === 'v4') {
    body = `
  for (var k4 = 0u; k4 < H4; k4++) {
${rows(R, (r) => `    let h${r} = ${hread(r, 'k4')};`)}
${[0, 1, 2, 3].map((u) => `    { let wv = ${wload(`k4 * 4u + ${u}u`)};
${rows(R, (r) => `      a${r} = fma(wv, vec4<f32>(h${r}.${X[u]}), a${r});`)} }`).join('\n')}
  }`;
  } else {
    // scalar h loads (act_ld), one k per iteration
    body = `
  for (var k = 0u; k < H; k++) {
    let wv = ${wload('k')};
${rows(R, (r) => `    a${r} = fma(wv, vec4<f32>(act_ld(p${r} + k)), a${r});`)}
  }`;
  }
  const stageCode = stage
    ? `
  for (var i = lid; i < ${R * H4}u; i += ${WG}u) {
    let r = i / ${H4}u;
    hs[i] = act[(dims.oHprev + (t * B + min(b0 + r, B - 1u)) * H) / 4u + i % ${H4}u];
  }
  workgroupBarrier();`
    : '';
  const wgsl = `
${stage ? `var<workgroup> hs: array<vec4<f32>, ${R * H4}>;` : ''}
@compute @workgroup_size(${WG})
fn ${name}(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = dims.H; let B = dims.B; let t = dims.t; let GH = 4u * H; let H4 = H / 4u;
  let j = min(gid.x, H - 1u);   // lanes past H compute unit H-1 and store nothing
  let b0 = gid.y * ${R}u;${stageCode}
${rows(R, (r) => `  let p${r} = dims.oHprev + (t * B + min(b0 + ${r}u, B - 1u)) * H; let q${r} = p${r} / 4u;`)}
${rows(R, (r) => `  var a${r} = vec4<f32>(0.0);`)}
${body}
  if (gid.x < H) {
${rows(R, (r) => `    if (b0 + ${r}u < B) { forward_cell(t, b0 + ${r}u, j, a${r}); }`)}
  }
}
`;
  return { name, entry: name, wgsl, grid: [cd(H, WG), cd(globalThis.__B, R), 1] };
}

// W^T: 4 scalar loads per k, adjacent j -> adjacent addresses
const wT = (k) => `vec4<f32>(w[OWT + (${k}) * GH + j], w[OWT + (${k}) * GH + H + j], w[OWT + (${k}) * GH + 2u * H + j], w[OWT + (${k}) * GH + 3u * H + j])`;
// gate-interleaved: one vec4 load per k
const wI = (k) => `w4[OWI / 4u + (${k}) * H + j]`;
// PyTorch W_hh rows, scalar along k (lanes H floats apart)
const wP = (k) => `vec4<f32>(w[dims.oWhh + j * H + (${k})], w[dims.oWhh + (H + j) * H + (${k})], w[dims.oWhh + (2u * H + j) * H + (${k})], w[dims.oWhh + (3u * H + j) * H + (${k})])`;

// Invocation = 4 units j0..j0+3 (vec4 along j of W^T), R rows: acc[r][g] vec4 over units.
function fwdQuad({ name, R, WG, H }) {
  const acc = (r, g) => `a${r}_${g}`;
  const wgsl = `
@compute @workgroup_size(${WG})
fn ${name}(@builtin(global_invocation_id) gid: vec3<u32>) {
  let H = dims.H; let B = dims.B; let t = dims.t; let GH = 4u * H; let H4 = H / 4u;
  let j0 = min(gid.x, H4 - 1u) * 4u;
  let b0 = gid.y * ${R}u;
${rows(R, (r) => `  let q${r} = (dims.oHprev + (t * B + min(b0 + ${r}u, B - 1u)) * H) / 4u;`)}
${rows(R, (r) => [0, 1, 2, 3].map((g) => `  var ${acc(r, g)} = vec4<f32>(0.0);`).join(' '))}
  var wi = (OWT + j0) / 4u;
  for (var k4 = 0u; k4 < H4; k4++) {
${rows(R, (r) => `    let h${r} = act[q${r} + k4];`)}
${[0, 1, 2, 3].map((u) => `    {
${[0, 1, 2, 3].map((g) => `      let w${g} = w4[wi + ${g}u * H4];`).join('\n')}
      wi += GH / 4u;
${rows(R, (r) => [0, 1, 2, 3].map((g) => `      ${acc(r, g)} = fma(w${g}, vec4<f32>(h${r}.${X[u]}), ${acc(r, g)});`).join('\n'))}
    }`).join('\n')}
  }
  if (gid.x < H4) {
${rows(R, (r) => `    if (b0 + ${r}u < B) {
${[0, 1, 2, 3].map((u) => `      forward_cell(t, b0 + ${r}u, j0 + ${u}u, vec4<f32>(${[0, 1, 2, 3].map((g) => `${acc(r, g)}.${X[u]}`).join(', ')}));`).join('\n')}
    }`)}
  }
}
`;
  return { name, entry: name, wgsl, grid: [cd(H / 4, WG), cd(globalThis.__B, R), 1] };
}

export function forwardVariants({ H, B }) {
  globalThis.__B = B;
  const v = [];
  v.push({ name: 'F0_base_vec4k', base: true, entry: 'forward_step', constants: { WG: 64, VEC4: 1 }, grid: [cd(H, 64), cd(B, 4), 1] });
  v.push({ name: 'F0_base_scalar', base: true, entry: 'forward_step', constants: { WG: 64, VEC4: 0 }, grid: [cd(H, 64), cd(B, 4), 1] });
  for (const R of [1, 2, 4, 8]) for (const WG of [32, 64, 128]) {
    v.push(fwdPerUnit({ name: `F_WT_R${R}_WG${WG}`, R, WG, H, wload: wT }));
  }
  v.push(fwdPerUnit({ name: `F_WT_R4_WG256`, R: 4, WG: 256, H, wload: wT }));
  v.push(fwdPerUnit({ name: `F_WTsh_R4_WG64`, R: 4, WG: 64, H, wload: wT, hmode: 'scalar' }));
  for (const R of [2, 4, 8]) v.push(fwdPerUnit({ name: `F_WI_R${R}_WG64`, R, WG: 64, H, wload: wI }));
  v.push(fwdPerUnit({ name: `F_WI_R4_WG128`, R: 4, WG: 128, H, wload: wI }));
  for (const R of [2, 4, 8]) v.push(fwdPerUnit({ name: `F_WTws_R${R}_WG64`, R, WG: 64, H, wload: wT, stage: true }));
  v.push(fwdPerUnit({ name: `F_WTws_R4_WG128`, R: 4, WG: 128, H, wload: wT, stage: true }));
  v.push(fwdPerUnit({ name: `F_P_R4_WG64`, R: 4, WG: 64, H, wload: wP }));
  for (const R of [2, 4]) v.push(fwdQuad({ name: `F_WTquad_R${R}_WG32`, R, WG: 32, H }));
  return v;
}

// ------------------------------------------------------------------ backward
// rec[r] for unit j = sum_k dgates[nt, b0+r, k] W_hh[k, j]; dgates 4 k's as vec4.
function bwdPerUnit({ name, R, WG, H, wload, stage = false }) {
  const GH4 = H; // 4H / 4
  const gread = (r, k4) => (stage ? `gs[${r}u * ${GH4}u + ${k4}]` : `grad[e${r} + ${k4}]`);
  const stageCode = stage
    ? `
  for (var i = lid; i < ${R * GH4}u; i += ${WG}u) {
    let r = i / ${GH4}u;
    gs[i] = grad[(dims.oDgates + (nt * B + min(b0 + r, B - 1u)) * GH) / 4u + i % ${GH4}u];
  }
  workgroupBarrier();`
    : '';
  const wgsl = `
${stage ? `var<workgroup> gs: array<vec4<f32>, ${R * GH4}>;` : ''}
@compute @workgroup_size(${WG})
fn ${name}(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let H = dims.H; let B = dims.B; let t = dims.t; let GH = 4u * H;
  let j = min(gid.x, H - 1u);
  let b0 = gid.y * ${R}u;
  let nt = next_clamped(t);${stageCode}
${rows(R, (r) => `  let e${r} = (dims.oDgates + (nt * B + min(b0 + ${r}u, B - 1u)) * GH) / 4u;`)}
${rows(R, (r) => `  var a${r} = vec4<f32>(0.0);`)}
  for (var k4 = 0u; k4 < H; k4++) {
    let wv = ${wload('k4')};
${rows(R, (r) => `    a${r} = fma(wv, ${gread(r, 'k4')}, a${r});`)}
  }
  if (gid.x < H) {
${rows(R, (r) => `    if (b0 + ${r}u < B) { backward_cell(t, b0 + ${r}u, j, dot(a${r}, vec4<f32>(1.0))); }`)}
  }
}
`;
  return { name, entry: name, wgsl, grid: [cd(H, WG), cd(globalThis.__B, R), 1] };
}
// W_hh rows 4k4..4k4+3 at column j: scalar, adjacent j -> adjacent addresses
const bP = (k4) => `vec4<f32>(w[dims.oWhh + (${k4}) * 4u * H + j], w[dims.oWhh + ((${k4}) * 4u + 1u) * H + j], w[dims.oWhh + ((${k4}) * 4u + 2u) * H + j], w[dims.oWhh + ((${k4}) * 4u + 3u) * H + j])`;
// W^T row j along k: one vec4 per lane, lanes 4H floats apart (the forward baseline's pattern)
const bT = (k4) => `w4[(OWT + j * GH) / 4u + (${k4})]`;

export function backwardVariants({ H, B }) {
  globalThis.__B = B;
  const v = [];
  v.push({ name: 'B0_base_vec4j', base: true, entry: 'backward_step', constants: { WG: 64, VEC4: 1 }, grid: [cd(H / 4, 64), cd(B, 4), 1] });
  v.push({ name: 'B0_base_vec4j_WG32', base: true, entry: 'backward_step', constants: { WG: 32, VEC4: 1 }, grid: [cd(H / 4, 32), cd(B, 4), 1] });
  v.push({ name: 'B0_base_scalar', base: true, entry: 'backward_step', constants: { WG: 64, VEC4: 0 }, grid: [cd(H / 4, 64), cd(B, 4), 1] });
  for (const R of [1, 2, 4, 8]) for (const WG of [32, 64, 128]) {
    v.push(bwdPerUnit({ name: `B_J_R${R}_WG${WG}`, R, WG, H, wload: bP }));
  }
  for (const R of [4, 8]) v.push(bwdPerUnit({ name: `B_Jws_R${R}_WG64`, R, WG: 64, H, wload: bP, stage: true }));
  v.push(bwdPerUnit({ name: `B_WTrow_R4_WG64`, R: 4, WG: 64, H, wload: bT }));
  return v;
}

// ------------------------------------------------------------------ register-blocked (GEMM-like) steps
// Forward: invocation = U units j0..j0+U-1 x R rows, all 4 gates: reads the gate-interleaved
// WI [H(k), H(j), 4] (one vec4 = unit j's 4 gates at k) and h_prev 4 k's at a time (vec4).
// sub: h_prev through subgroupBroadcast: lane l loads rows 4s + (l & 3), lane r%4 gives row r.
export function fwdBlock({ name, R, U, WG, H, B, sub = false }) {
  const acc = (r, u) => `a${r}_${u}`;
  const hload = sub
    ? `${rows(R / 4, (s) => `    let hs${s} = act[qs${s} + k4];`)}
${rows(R, (r) => `    let h${r} = subgroupBroadcast(hs${r >> 2}, ${r & 3}u);`)}`
    : rows(R, (r) => `    let h${r} = act[q${r} + k4];`);
  const wgsl = `
@compute @workgroup_size(${WG})
fn ${name}(@builtin(global_invocation_id) gid: vec3<u32>${sub ? ', @builtin(subgroup_invocation_id) sl: u32' : ''}) {
  let H = dims.H; let B = dims.B; let t = dims.t; let H4 = H / 4u;
  let j0 = min(gid.x, H / ${U}u - 1u) * ${U}u;
  let b0 = gid.y * ${R}u;
${sub ? rows(R / 4, (s) => `  let qs${s} = (dims.oHprev + (t * B + min(b0 + ${4 * s}u + (sl & 3u), B - 1u)) * H) / 4u;`) : rows(R, (r) => `  let q${r} = (dims.oHprev + (t * B + min(b0 + ${r}u, B - 1u)) * H) / 4u;`)}
${rows(R, (r) => Array.from({ length: U }, (_, u) => `var ${acc(r, u)} = vec4<f32>(0.0);`).join(' '))}
  var wi = OWI / 4u + j0;
  for (var k4 = 0u; k4 < H4; k4++) {
${hload}
${[0, 1, 2, 3].map((kk) => `    {
${Array.from({ length: U }, (_, u) => `      let wv${u} = w4[wi + ${u}u];`).join('\n')}
      wi += H;
${rows(R, (r) => Array.from({ length: U }, (_, u) => `      ${acc(r, u)} = fma(wv${u}, vec4<f32>(h${r}.${X[kk]}), ${acc(r, u)});`).join('\n'))}
    }`).join('\n')}
  }
  if (gid.x < H / ${U}u) {
${rows(R, (r) => `    if (b0 + ${r}u < B) {
${Array.from({ length: U }, (_, u) => `      forward_cell(t, b0 + ${r}u, j0 + ${u}u, ${acc(r, u)});`).join('\n')}
    }`)}
  }
}
`;
  return { name, entry: name, wgsl, enable: sub ? 'subgroups' : null, grid: [cd(H / U, WG), cd(B, R), 1] };
}

// Backward: invocation = U units (U/4 vec4 along j of W_hh [4H, H]) x R rows; dgates[next] 4 k's at a time.
export function bwdBlock({ name, R, U, WG, H, B, sub = false }) {
  const V = U / 4;
  const acc = (r, v) => `a${r}_${v}`;
  const gload = sub
    ? `${rows(R / 4, (s) => `    let gs${s} = grad[es${s} + k4];`)}
${rows(R, (r) => `    let g${r} = subgroupBroadcast(gs${r >> 2}, ${r & 3}u);`)}`
    : rows(R, (r) => `    let g${r} = grad[e${r} + k4];`);
  const wgsl = `
@compute @workgroup_size(${WG})
fn ${name}(@builtin(global_invocation_id) gid: vec3<u32>${sub ? ', @builtin(subgroup_invocation_id) sl: u32' : ''}) {
  let H = dims.H; let B = dims.B; let t = dims.t; let GH = 4u * H; let H4 = H / 4u;
  let j0 = min(gid.x, H / ${U}u - 1u) * ${U}u;
  let b0 = gid.y * ${R}u;
  let nt = next_clamped(t);
${sub ? rows(R / 4, (s) => `  let es${s} = (dims.oDgates + (nt * B + min(b0 + ${4 * s}u + (sl & 3u), B - 1u)) * GH) / 4u;`) : rows(R, (r) => `  let e${r} = (dims.oDgates + (nt * B + min(b0 + ${r}u, B - 1u)) * GH) / 4u;`)}
${rows(R, (r) => Array.from({ length: V }, (_, v) => `var ${acc(r, v)} = vec4<f32>(0.0);`).join(' '))}
  var wi = (dims.oWhh + j0) / 4u;
  for (var k4 = 0u; k4 < H; k4++) {
${gload}
${[0, 1, 2, 3].map((kk) => `    {
${Array.from({ length: V }, (_, v) => `      let wv${v} = w4[wi + ${v}u];`).join('\n')}
      wi += H4;
${rows(R, (r) => Array.from({ length: V }, (_, v) => `      ${acc(r, v)} = fma(wv${v}, vec4<f32>(g${r}.${X[kk]}), ${acc(r, v)});`).join('\n'))}
    }`).join('\n')}
  }
  if (gid.x < H / ${U}u) {
${rows(R, (r) => `    if (b0 + ${r}u < B) {
${Array.from({ length: U }, (_, u) => `      backward_cell(t, b0 + ${r}u, j0 + ${u}u, ${acc(r, u >> 2)}.${X[u & 3]});`).join('\n')}
    }`)}
  }
}
`;
  return { name, entry: name, wgsl, enable: sub ? 'subgroups' : null, grid: [cd(H / U, WG), cd(B, R), 1] };
}

export function blockVariants({ H, B }) {
  const f = [], b = [];
  f.push({ name: 'F0_base_vec4k', base: true, entry: 'forward_step', constants: { WG: 64, VEC4: 1 }, grid: [cd(H, 64), cd(B, 4), 1] });
  for (const [R, U, WG] of [[4, 4, 4], [8, 4, 4], [16, 4, 4], [8, 2, 4], [8, 4, 8], [16, 2, 4], [4, 8, 4], [16, 4, 16]]) {
    if (B % R || H % U) continue;
    f.push(fwdBlock({ name: `F_blk_R${R}_U${U}_WG${WG}`, R, U, WG, H, B }));
    if (R % 4 === 0) f.push(fwdBlock({ name: `F_blkS_R${R}_U${U}_WG${WG}`, R, U, WG, H, B, sub: true }));
  }
  b.push({ name: 'B0_base_vec4j', base: true, entry: 'backward_step', constants: { WG: 64, VEC4: 1 }, grid: [cd(H / 4, 64), cd(B, 4), 1] });
  for (const [R, U, WG] of [[4, 4, 4], [8, 4, 4], [16, 4, 4], [8, 8, 4], [4, 16, 4], [8, 16, 4], [16, 8, 4], [8, 8, 8]]) {
    if (B % R || H % U) continue;
    b.push(bwdBlock({ name: `B_blk_R${R}_U${U}_WG${WG}`, R, U, WG, H, B }));
    if (R % 4 === 0) b.push(bwdBlock({ name: `B_blkS_R${R}_U${U}_WG${WG}`, R, U, WG, H, B, sub: true }));
  }
  return { f, b };
}

// ------------------------------------------------------------------ blocked + vectorized cell
// Cell code over 4 adjacent units (j0 % 4 == 0, H % 4 == 0, ldOut % 4 == 0): vec4 loads and
// stores of gates / out / hprev / cprev; the backward reads the saved activations through
// `act` (binding 0, bound to the saved buffer: the backward writes nothing there).
export const CELL4 = `
fn fcell4(t: u32, b: u32, j0: u32, gi: vec4<f32>, gf: vec4<f32>, gg: vec4<f32>, go: vec4<f32>) {
  let H = dims.H; let B = dims.B; let H4 = H / 4u;
  let l = row_len(b);
  let row = t * B + b;
  let o_at = (dims.oOut + row * dims.ldOut + j0) / 4u;
  if (t >= l) { act[o_at] = vec4<f32>(0.0); return; }
  let g0 = (dims.oGates + row * 4u * H + j0) / 4u;
  var pi = act[g0] + gi; var pf = act[g0 + H4] + gf; var pg = act[g0 + 2u * H4] + gg; var po = act[g0 + 3u * H4] + go;
  if (dims.hasBias != 0u) {
    let bb = (dims.oBhh + j0) / 4u;
    pi += w4[bb]; pf += w4[bb + H4]; pg += w4[bb + 2u * H4]; po += w4[bb + 3u * H4];
  }
  let ig = 1.0 / (1.0 + exp(-pi));
  let fg = 1.0 / (1.0 + exp(-pf));
  let gt = tanh(pg);
  let og = 1.0 / (1.0 + exp(-po));
  let c = fg * act[(dims.oCprev + row * H + j0) / 4u] + ig * gt;
  let h = og * tanh(c);
  act[g0] = ig; act[g0 + H4] = fg; act[g0 + 2u * H4] = gt; act[g0 + 3u * H4] = og;
  act[o_at] = h;
  if (t == last_step(l)) {
    for (var u = 0u; u < 4u; u++) { fin[dims.oHn + b * H + j0 + u] = h[u]; fin[dims.oCn + b * H + j0 + u] = c[u]; }
  } else {
    let at = ((next_step(t) * B + b) * H + j0) / 4u;
    act[dims.oHprev / 4u + at] = h;
    act[dims.oCprev / 4u + at] = c;
  }
}
fn bcell4(t: u32, b: u32, j0: u32, rec: vec4<f32>) {
  let H = dims.H; let B = dims.B; let H4 = H / 4u;
  let l = row_len(b);
  let row = t * B + b;
  let d0 = (dims.oDgates + row * 4u * H + j0) / 4u;
  if (t >= l) {
    if (dims.oDhs != NONE) { grad[(dims.oDhs + row * H + j0) / 4u] = vec4<f32>(0.0); }
    grad[d0] = vec4<f32>(0.0); grad[d0 + H4] = vec4<f32>(0.0); grad[d0 + 2u * H4] = vec4<f32>(0.0); grad[d0 + 3u * H4] = vec4<f32>(0.0);
    return;
  }
  let oo = dims.offDOut + row * dims.ldOut + j0;
  var dh = vec4<f32>(dOut[oo], dOut[oo + 1u], dOut[oo + 2u], dOut[oo + 3u]);
  var dc: vec4<f32>;
  let dca = (dims.oDcarry + b * H + j0) / 4u;
  if (t == last_step(l)) {
    let n = dims.oHn + b * H + j0; let m = dims.oCn + b * H + j0;
    dh += vec4<f32>(dfin[n], dfin[n + 1u], dfin[n + 2u], dfin[n + 3u]);
    dc = vec4<f32>(dfin[m], dfin[m + 1u], dfin[m + 2u], dfin[m + 3u]);
  } else {
    dh += rec;
    dc = grad[dca];
  }
  if (dims.oDhs != NONE) { grad[(dims.oDhs + row * H + j0) / 4u] = dh; }
  let s0 = (dims.oGates + row * 4u * H + j0) / 4u;
  let ig = act[s0]; let fg = act[s0 + H4]; let gg = act[s0 + 2u * H4]; let og = act[s0 + 3u * H4];
  let cp = act[(dims.oCprev + row * H + j0) / 4u];
  let c = fg * cp + ig * gg;
  let tc = tanh(c);
  dc += dh * og * (1.0 - tc * tc);
  grad[dca] = dc * fg;
  grad[d0] = dc * gg * ig * (1.0 - ig);
  grad[d0 + H4] = dc * cp * fg * (1.0 - fg);
  grad[d0 + 2u * H4] = dc * ig * (1.0 - gg * gg);
  grad[d0 + 3u * H4] = dh * tc * og * (1.0 - og);
}
`;

// Forward: invocation = 4*V units x R rows, W^T [H(k), 4H] read as vec4 along j (V vec4 per gate per k),
// accumulators per (row, gate, unit quad) = vec4 over units -> fcell4 directly.
export function fwdBlockT({ name, R, V = 1, WG, H, B, sub = false }) {
  const U = 4 * V;
  const acc = (r, g, v) => `a${r}_${g}_${v}`;
  const hload = sub
    ? `${rows(R / 4, (s) => `    let hs${s} = act[qs${s} + k4];`)}
${rows(R, (r) => `    let h${r} = subgroupBroadcast(hs${r >> 2}, ${r & 3}u);`)}`
    : rows(R, (r) => `    let h${r} = act[q${r} + k4];`);
  const wgsl = CELL4 + `
@compute @workgroup_size(${WG})
fn ${name}(@builtin(global_invocation_id) gid: vec3<u32>${sub ? ', @builtin(subgroup_invocation_id) sl: u32' : ''}) {
  let H = dims.H; let B = dims.B; let t = dims.t; let H4 = H / 4u;
  let j0 = min(gid.x, H / ${U}u - 1u) * ${U}u;
  let b0 = gid.y * ${R}u;
${sub ? rows(R / 4, (s) => `  let qs${s} = (dims.oHprev + (t * B + min(b0 + ${4 * s}u + (sl & 3u), B - 1u)) * H) / 4u;`) : rows(R, (r) => `  let q${r} = (dims.oHprev + (t * B + min(b0 + ${r}u, B - 1u)) * H) / 4u;`)}
${rows(R, (r) => [0, 1, 2, 3].map((g) => Array.from({ length: V }, (_, v) => `var ${acc(r, g, v)} = vec4<f32>(0.0);`).join(' ')).join(' '))}
  var wi = (OWT + j0) / 4u;
  for (var k4 = 0u; k4 < H4; k4++) {
${hload}
${[0, 1, 2, 3].map((kk) => `    {
${[0, 1, 2, 3].map((g) => Array.from({ length: V }, (_, v) => `      let wv${g}_${v} = w4[wi + ${g}u * H4 + ${v}u];`).join('\n')).join('\n')}
      wi += H;
${rows(R, (r) => [0, 1, 2, 3].map((g) => Array.from({ length: V }, (_, v) => `      ${acc(r, g, v)} = fma(wv${g}_${v}, vec4<f32>(h${r}.${X[kk]}), ${acc(r, g, v)});`).join('\n')).join('\n'))}
    }`).join('\n')}
  }
  if (gid.x < H / ${U}u) {
${rows(R, (r) => `    if (b0 + ${r}u < B) {
${Array.from({ length: V }, (_, v) => `      fcell4(t, b0 + ${r}u, j0 + ${4 * v}u, ${[0, 1, 2, 3].map((g) => acc(r, g, v)).join(', ')});`).join('\n')}
    }`)}
  }
}
`;
  return { name, entry: name, wgsl, enable: sub ? 'subgroups' : null, grid: [cd(H / U, WG), cd(B, R), 1] };
}

// Backward as bwdBlock, with bcell4 (vec4 over the invocation's unit quads).
export function bwdBlock4(o) {
  const v = bwdBlock(o);
  const { R, U, name } = o;
  const V = U / 4;
  const start = v.wgsl.indexOf(`  if (gid.x < H / ${U}u) {`);
  v.wgsl = CELL4 + v.wgsl.slice(0, start) + `  if (gid.x < H / ${U}u) {
${rows(R, (r) => `    if (b0 + ${r}u < B) {
${Array.from({ length: V }, (_, q) => `      bcell4(t, b0 + ${r}u, j0 + ${4 * q}u, a${r}_${q});`).join('\n')}
    }`)}
  }
}
`;
  v.savedAsAct = true;
  return v;
}

export function cell4Variants({ H, B }) {
  const f = [], b = [];
  f.push({ name: 'F0_base_vec4k', base: true, entry: 'forward_step', constants: { WG: 64, VEC4: 1 }, grid: [cd(H, 64), cd(B, 4), 1] });
  f.push(fwdBlock({ name: 'F_blkS_R16_U4_WG16', R: 16, U: 4, WG: 16, H, B, sub: true }));
  f.push(fwdBlock({ name: 'F_blkS_R8_U4_WG8', R: 8, U: 4, WG: 8, H, B, sub: true }));
  for (const [R, V, WG, sub] of [[8, 1, 4, 1], [8, 1, 8, 1], [16, 1, 4, 1], [16, 1, 16, 1], [16, 1, 8, 0], [8, 2, 4, 1], [32, 1, 8, 1], [4, 1, 4, 1], [4, 2, 4, 1]]) {
    if (B % R || H % (4 * V)) continue;
    f.push(fwdBlockT({ name: `F_T4${sub ? 'S' : ''}_R${R}_U${4 * V}_WG${WG}`, R, V, WG, H, B, sub: !!sub }));
  }
  b.push({ name: 'B0_base_vec4j', base: true, entry: 'backward_step', constants: { WG: 64, VEC4: 1 }, grid: [cd(H / 4, 64), cd(B, 4), 1] });
  b.push(bwdBlock({ name: 'B_blkS_R8_U4_WG4', R: 8, U: 4, WG: 4, H, B, sub: true }));
  b.push(bwdBlock({ name: 'B_blkS_R8_U8_WG4', R: 8, U: 8, WG: 4, H, B, sub: true }));
  for (const [R, U, WG, sub] of [[8, 4, 4, 1], [8, 4, 8, 1], [8, 8, 4, 1], [16, 4, 4, 1], [16, 8, 4, 1], [4, 4, 4, 1], [8, 4, 4, 0], [16, 4, 8, 1]]) {
    if (B % R || H % U) continue;
    b.push(bwdBlock4({ name: `B_C4${sub ? 'S' : ''}_R${R}_U${U}_WG${WG}`, R, U, WG, H, B, sub: !!sub }));
  }
  return { f, b };
}

// The leading variants (for the size sweep), plus diagnostics: `_cellonly` runs the same kernel
// with the product loop cut to zero iterations (its output is wrong by design: it measures the
// cell, the launch and the loads outside the loop).
export function topVariants({ H, B }) {
  const f = [], b = [];
  const cellOnly = (v) => ({ ...v, name: v.name + '_cellonly', diag: true, wgsl: v.wgsl.replace(/k4 < (H4|H);/, 'k4 < 0u;') });
  f.push({ name: 'F0_base_vec4k', base: true, entry: 'forward_step', constants: { WG: 64, VEC4: 1 }, grid: [cd(H, 64), cd(B, 4), 1] });
  const fv = [];
  for (const [R, WG, sub] of [[8, 4, 1], [8, 8, 1], [16, 8, 0], [16, 8, 1], [16, 16, 1], [32, 8, 1], [32, 4, 1]]) {
    if (B % R || H % 4) continue;
    fv.push(fwdBlockT({ name: `F_T4${sub ? 'S' : ''}_R${R}_U4_WG${WG}`, R, V: 1, WG, H, B, sub: !!sub }));
  }
  f.push(...fv);
  if (fv.length) f.push(cellOnly(fv.find((v) => /R16_U4_WG8/.test(v.name) && /T4S/.test(v.name)) ?? fv[0]));
  b.push({ name: 'B0_base_vec4j', base: true, entry: 'backward_step', constants: { WG: 64, VEC4: 1 }, grid: [cd(H / 4, 64), cd(B, 4), 1] });
  const bv = [];
  for (const [R, U, WG, sub] of [[8, 8, 4, 1], [8, 4, 4, 1], [16, 4, 4, 1], [16, 4, 8, 1], [16, 8, 4, 1], [32, 4, 4, 1], [32, 4, 8, 1], [16, 4, 8, 0]]) {
    if (B % R || H % U) continue;
    bv.push(bwdBlock4({ name: `B_C4${sub ? 'S' : ''}_R${R}_U${U}_WG${WG}`, R, U, WG, H, B, sub: !!sub }));
  }
  b.push(...bv);
  if (bv.length) b.push(cellOnly(bv.find((v) => /S_R16_U4_WG8/.test(v.name)) ?? bv[0]));
  return { f, b };
}
