// appended to shaders/lstm.wgsl (+ recurrent.wgsl, recurrent_steps.wgsl); the module starts with: enable subgroups;
// grid 4 x 2 x 1

// ---- probe variants ----
override OWT: u32 = 0;
override OWI: u32 = 0;

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

@compute @workgroup_size(8)
fn B_C4S_R16_U4_WG8(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {
  let H = dims.H; let B = dims.B; let t = dims.t; let GH = 4u * H; let H4 = H / 4u;
  let j0 = min(gid.x, H / 4u - 1u) * 4u;
  let b0 = gid.y * 16u;
  let nt = next_clamped(t);
  let es0 = (dims.oDgates + (nt * B + min(b0 + 0u + (sl & 3u), B - 1u)) * GH) / 4u;
  let es1 = (dims.oDgates + (nt * B + min(b0 + 4u + (sl & 3u), B - 1u)) * GH) / 4u;
  let es2 = (dims.oDgates + (nt * B + min(b0 + 8u + (sl & 3u), B - 1u)) * GH) / 4u;
  let es3 = (dims.oDgates + (nt * B + min(b0 + 12u + (sl & 3u), B - 1u)) * GH) / 4u;
var a0_0 = vec4<f32>(0.0);
var a1_0 = vec4<f32>(0.0);
var a2_0 = vec4<f32>(0.0);
var a3_0 = vec4<f32>(0.0);
var a4_0 = vec4<f32>(0.0);
var a5_0 = vec4<f32>(0.0);
var a6_0 = vec4<f32>(0.0);
var a7_0 = vec4<f32>(0.0);
var a8_0 = vec4<f32>(0.0);
var a9_0 = vec4<f32>(0.0);
var a10_0 = vec4<f32>(0.0);
var a11_0 = vec4<f32>(0.0);
var a12_0 = vec4<f32>(0.0);
var a13_0 = vec4<f32>(0.0);
var a14_0 = vec4<f32>(0.0);
var a15_0 = vec4<f32>(0.0);
  var wi = (dims.oWhh + j0) / 4u;
  for (var k4 = 0u; k4 < H; k4++) {
    let gs0 = grad[es0 + k4];
    let gs1 = grad[es1 + k4];
    let gs2 = grad[es2 + k4];
    let gs3 = grad[es3 + k4];
    let g0 = subgroupBroadcast(gs0, 0u);
    let g1 = subgroupBroadcast(gs0, 1u);
    let g2 = subgroupBroadcast(gs0, 2u);
    let g3 = subgroupBroadcast(gs0, 3u);
    let g4 = subgroupBroadcast(gs1, 0u);
    let g5 = subgroupBroadcast(gs1, 1u);
    let g6 = subgroupBroadcast(gs1, 2u);
    let g7 = subgroupBroadcast(gs1, 3u);
    let g8 = subgroupBroadcast(gs2, 0u);
    let g9 = subgroupBroadcast(gs2, 1u);
    let g10 = subgroupBroadcast(gs2, 2u);
    let g11 = subgroupBroadcast(gs2, 3u);
    let g12 = subgroupBroadcast(gs3, 0u);
    let g13 = subgroupBroadcast(gs3, 1u);
    let g14 = subgroupBroadcast(gs3, 2u);
    let g15 = subgroupBroadcast(gs3, 3u);
    {
      let wv0 = w4[wi + 0u];
      wi += H4;
      a0_0 = fma(wv0, vec4<f32>(g0.x), a0_0);
      a1_0 = fma(wv0, vec4<f32>(g1.x), a1_0);
      a2_0 = fma(wv0, vec4<f32>(g2.x), a2_0);
      a3_0 = fma(wv0, vec4<f32>(g3.x), a3_0);
      a4_0 = fma(wv0, vec4<f32>(g4.x), a4_0);
      a5_0 = fma(wv0, vec4<f32>(g5.x), a5_0);
      a6_0 = fma(wv0, vec4<f32>(g6.x), a6_0);
      a7_0 = fma(wv0, vec4<f32>(g7.x), a7_0);
      a8_0 = fma(wv0, vec4<f32>(g8.x), a8_0);
      a9_0 = fma(wv0, vec4<f32>(g9.x), a9_0);
      a10_0 = fma(wv0, vec4<f32>(g10.x), a10_0);
      a11_0 = fma(wv0, vec4<f32>(g11.x), a11_0);
      a12_0 = fma(wv0, vec4<f32>(g12.x), a12_0);
      a13_0 = fma(wv0, vec4<f32>(g13.x), a13_0);
      a14_0 = fma(wv0, vec4<f32>(g14.x), a14_0);
      a15_0 = fma(wv0, vec4<f32>(g15.x), a15_0);
    }
    {
      let wv0 = w4[wi + 0u];
      wi += H4;
      a0_0 = fma(wv0, vec4<f32>(g0.y), a0_0);
      a1_0 = fma(wv0, vec4<f32>(g1.y), a1_0);
      a2_0 = fma(wv0, vec4<f32>(g2.y), a2_0);
      a3_0 = fma(wv0, vec4<f32>(g3.y), a3_0);
      a4_0 = fma(wv0, vec4<f32>(g4.y), a4_0);
      a5_0 = fma(wv0, vec4<f32>(g5.y), a5_0);
      a6_0 = fma(wv0, vec4<f32>(g6.y), a6_0);
      a7_0 = fma(wv0, vec4<f32>(g7.y), a7_0);
      a8_0 = fma(wv0, vec4<f32>(g8.y), a8_0);
      a9_0 = fma(wv0, vec4<f32>(g9.y), a9_0);
      a10_0 = fma(wv0, vec4<f32>(g10.y), a10_0);
      a11_0 = fma(wv0, vec4<f32>(g11.y), a11_0);
      a12_0 = fma(wv0, vec4<f32>(g12.y), a12_0);
      a13_0 = fma(wv0, vec4<f32>(g13.y), a13_0);
      a14_0 = fma(wv0, vec4<f32>(g14.y), a14_0);
      a15_0 = fma(wv0, vec4<f32>(g15.y), a15_0);
    }
    {
      let wv0 = w4[wi + 0u];
      wi += H4;
      a0_0 = fma(wv0, vec4<f32>(g0.z), a0_0);
      a1_0 = fma(wv0, vec4<f32>(g1.z), a1_0);
      a2_0 = fma(wv0, vec4<f32>(g2.z), a2_0);
      a3_0 = fma(wv0, vec4<f32>(g3.z), a3_0);
      a4_0 = fma(wv0, vec4<f32>(g4.z), a4_0);
      a5_0 = fma(wv0, vec4<f32>(g5.z), a5_0);
      a6_0 = fma(wv0, vec4<f32>(g6.z), a6_0);
      a7_0 = fma(wv0, vec4<f32>(g7.z), a7_0);
      a8_0 = fma(wv0, vec4<f32>(g8.z), a8_0);
      a9_0 = fma(wv0, vec4<f32>(g9.z), a9_0);
      a10_0 = fma(wv0, vec4<f32>(g10.z), a10_0);
      a11_0 = fma(wv0, vec4<f32>(g11.z), a11_0);
      a12_0 = fma(wv0, vec4<f32>(g12.z), a12_0);
      a13_0 = fma(wv0, vec4<f32>(g13.z), a13_0);
      a14_0 = fma(wv0, vec4<f32>(g14.z), a14_0);
      a15_0 = fma(wv0, vec4<f32>(g15.z), a15_0);
    }
    {
      let wv0 = w4[wi + 0u];
      wi += H4;
      a0_0 = fma(wv0, vec4<f32>(g0.w), a0_0);
      a1_0 = fma(wv0, vec4<f32>(g1.w), a1_0);
      a2_0 = fma(wv0, vec4<f32>(g2.w), a2_0);
      a3_0 = fma(wv0, vec4<f32>(g3.w), a3_0);
      a4_0 = fma(wv0, vec4<f32>(g4.w), a4_0);
      a5_0 = fma(wv0, vec4<f32>(g5.w), a5_0);
      a6_0 = fma(wv0, vec4<f32>(g6.w), a6_0);
      a7_0 = fma(wv0, vec4<f32>(g7.w), a7_0);
      a8_0 = fma(wv0, vec4<f32>(g8.w), a8_0);
      a9_0 = fma(wv0, vec4<f32>(g9.w), a9_0);
      a10_0 = fma(wv0, vec4<f32>(g10.w), a10_0);
      a11_0 = fma(wv0, vec4<f32>(g11.w), a11_0);
      a12_0 = fma(wv0, vec4<f32>(g12.w), a12_0);
      a13_0 = fma(wv0, vec4<f32>(g13.w), a13_0);
      a14_0 = fma(wv0, vec4<f32>(g14.w), a14_0);
      a15_0 = fma(wv0, vec4<f32>(g15.w), a15_0);
    }
  }
  if (gid.x < H / 4u) {
    if (b0 + 0u < B) {
      bcell4(t, b0 + 0u, j0 + 0u, a0_0);
    }
    if (b0 + 1u < B) {
      bcell4(t, b0 + 1u, j0 + 0u, a1_0);
    }
    if (b0 + 2u < B) {
      bcell4(t, b0 + 2u, j0 + 0u, a2_0);
    }
    if (b0 + 3u < B) {
      bcell4(t, b0 + 3u, j0 + 0u, a3_0);
    }
    if (b0 + 4u < B) {
      bcell4(t, b0 + 4u, j0 + 0u, a4_0);
    }
    if (b0 + 5u < B) {
      bcell4(t, b0 + 5u, j0 + 0u, a5_0);
    }
    if (b0 + 6u < B) {
      bcell4(t, b0 + 6u, j0 + 0u, a6_0);
    }
    if (b0 + 7u < B) {
      bcell4(t, b0 + 7u, j0 + 0u, a7_0);
    }
    if (b0 + 8u < B) {
      bcell4(t, b0 + 8u, j0 + 0u, a8_0);
    }
    if (b0 + 9u < B) {
      bcell4(t, b0 + 9u, j0 + 0u, a9_0);
    }
    if (b0 + 10u < B) {
      bcell4(t, b0 + 10u, j0 + 0u, a10_0);
    }
    if (b0 + 11u < B) {
      bcell4(t, b0 + 11u, j0 + 0u, a11_0);
    }
    if (b0 + 12u < B) {
      bcell4(t, b0 + 12u, j0 + 0u, a12_0);
    }
    if (b0 + 13u < B) {
      bcell4(t, b0 + 13u, j0 + 0u, a13_0);
    }
    if (b0 + 14u < B) {
      bcell4(t, b0 + 14u, j0 + 0u, a14_0);
    }
    if (b0 + 15u < B) {
      bcell4(t, b0 + 15u, j0 + 0u, a15_0);
    }
  }
}
