// appended to shaders/lstm.wgsl (+ recurrent.wgsl, recurrent_steps.wgsl); the module starts with: enable subgroups;
// grid 8 x 4 x 1

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

@compute @workgroup_size(4)
fn F_T4S_R8_U4_WG4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {
  let H = dims.H; let B = dims.B; let t = dims.t; let H4 = H / 4u;
  let j0 = min(gid.x, H / 4u - 1u) * 4u;
  let b0 = gid.y * 8u;
  let qs0 = (dims.oHprev + (t * B + min(b0 + 0u + (sl & 3u), B - 1u)) * H) / 4u;
  let qs1 = (dims.oHprev + (t * B + min(b0 + 4u + (sl & 3u), B - 1u)) * H) / 4u;
var a0_0_0 = vec4<f32>(0.0); var a0_1_0 = vec4<f32>(0.0); var a0_2_0 = vec4<f32>(0.0); var a0_3_0 = vec4<f32>(0.0);
var a1_0_0 = vec4<f32>(0.0); var a1_1_0 = vec4<f32>(0.0); var a1_2_0 = vec4<f32>(0.0); var a1_3_0 = vec4<f32>(0.0);
var a2_0_0 = vec4<f32>(0.0); var a2_1_0 = vec4<f32>(0.0); var a2_2_0 = vec4<f32>(0.0); var a2_3_0 = vec4<f32>(0.0);
var a3_0_0 = vec4<f32>(0.0); var a3_1_0 = vec4<f32>(0.0); var a3_2_0 = vec4<f32>(0.0); var a3_3_0 = vec4<f32>(0.0);
var a4_0_0 = vec4<f32>(0.0); var a4_1_0 = vec4<f32>(0.0); var a4_2_0 = vec4<f32>(0.0); var a4_3_0 = vec4<f32>(0.0);
var a5_0_0 = vec4<f32>(0.0); var a5_1_0 = vec4<f32>(0.0); var a5_2_0 = vec4<f32>(0.0); var a5_3_0 = vec4<f32>(0.0);
var a6_0_0 = vec4<f32>(0.0); var a6_1_0 = vec4<f32>(0.0); var a6_2_0 = vec4<f32>(0.0); var a6_3_0 = vec4<f32>(0.0);
var a7_0_0 = vec4<f32>(0.0); var a7_1_0 = vec4<f32>(0.0); var a7_2_0 = vec4<f32>(0.0); var a7_3_0 = vec4<f32>(0.0);
  var wi = (OWT + j0) / 4u;
  for (var k4 = 0u; k4 < H4; k4++) {
    let hs0 = act[qs0 + k4];
    let hs1 = act[qs1 + k4];
    let h0 = subgroupBroadcast(hs0, 0u);
    let h1 = subgroupBroadcast(hs0, 1u);
    let h2 = subgroupBroadcast(hs0, 2u);
    let h3 = subgroupBroadcast(hs0, 3u);
    let h4 = subgroupBroadcast(hs1, 0u);
    let h5 = subgroupBroadcast(hs1, 1u);
    let h6 = subgroupBroadcast(hs1, 2u);
    let h7 = subgroupBroadcast(hs1, 3u);
    {
      let wv0_0 = w4[wi + 0u * H4 + 0u];
      let wv1_0 = w4[wi + 1u * H4 + 0u];
      let wv2_0 = w4[wi + 2u * H4 + 0u];
      let wv3_0 = w4[wi + 3u * H4 + 0u];
      wi += H;
      a0_0_0 = fma(wv0_0, vec4<f32>(h0.x), a0_0_0);
      a0_1_0 = fma(wv1_0, vec4<f32>(h0.x), a0_1_0);
      a0_2_0 = fma(wv2_0, vec4<f32>(h0.x), a0_2_0);
      a0_3_0 = fma(wv3_0, vec4<f32>(h0.x), a0_3_0);
      a1_0_0 = fma(wv0_0, vec4<f32>(h1.x), a1_0_0);
      a1_1_0 = fma(wv1_0, vec4<f32>(h1.x), a1_1_0);
      a1_2_0 = fma(wv2_0, vec4<f32>(h1.x), a1_2_0);
      a1_3_0 = fma(wv3_0, vec4<f32>(h1.x), a1_3_0);
      a2_0_0 = fma(wv0_0, vec4<f32>(h2.x), a2_0_0);
      a2_1_0 = fma(wv1_0, vec4<f32>(h2.x), a2_1_0);
      a2_2_0 = fma(wv2_0, vec4<f32>(h2.x), a2_2_0);
      a2_3_0 = fma(wv3_0, vec4<f32>(h2.x), a2_3_0);
      a3_0_0 = fma(wv0_0, vec4<f32>(h3.x), a3_0_0);
      a3_1_0 = fma(wv1_0, vec4<f32>(h3.x), a3_1_0);
      a3_2_0 = fma(wv2_0, vec4<f32>(h3.x), a3_2_0);
      a3_3_0 = fma(wv3_0, vec4<f32>(h3.x), a3_3_0);
      a4_0_0 = fma(wv0_0, vec4<f32>(h4.x), a4_0_0);
      a4_1_0 = fma(wv1_0, vec4<f32>(h4.x), a4_1_0);
      a4_2_0 = fma(wv2_0, vec4<f32>(h4.x), a4_2_0);
      a4_3_0 = fma(wv3_0, vec4<f32>(h4.x), a4_3_0);
      a5_0_0 = fma(wv0_0, vec4<f32>(h5.x), a5_0_0);
      a5_1_0 = fma(wv1_0, vec4<f32>(h5.x), a5_1_0);
      a5_2_0 = fma(wv2_0, vec4<f32>(h5.x), a5_2_0);
      a5_3_0 = fma(wv3_0, vec4<f32>(h5.x), a5_3_0);
      a6_0_0 = fma(wv0_0, vec4<f32>(h6.x), a6_0_0);
      a6_1_0 = fma(wv1_0, vec4<f32>(h6.x), a6_1_0);
      a6_2_0 = fma(wv2_0, vec4<f32>(h6.x), a6_2_0);
      a6_3_0 = fma(wv3_0, vec4<f32>(h6.x), a6_3_0);
      a7_0_0 = fma(wv0_0, vec4<f32>(h7.x), a7_0_0);
      a7_1_0 = fma(wv1_0, vec4<f32>(h7.x), a7_1_0);
      a7_2_0 = fma(wv2_0, vec4<f32>(h7.x), a7_2_0);
      a7_3_0 = fma(wv3_0, vec4<f32>(h7.x), a7_3_0);
    }
    {
      let wv0_0 = w4[wi + 0u * H4 + 0u];
      let wv1_0 = w4[wi + 1u * H4 + 0u];
      let wv2_0 = w4[wi + 2u * H4 + 0u];
      let wv3_0 = w4[wi + 3u * H4 + 0u];
      wi += H;
      a0_0_0 = fma(wv0_0, vec4<f32>(h0.y), a0_0_0);
      a0_1_0 = fma(wv1_0, vec4<f32>(h0.y), a0_1_0);
      a0_2_0 = fma(wv2_0, vec4<f32>(h0.y), a0_2_0);
      a0_3_0 = fma(wv3_0, vec4<f32>(h0.y), a0_3_0);
      a1_0_0 = fma(wv0_0, vec4<f32>(h1.y), a1_0_0);
      a1_1_0 = fma(wv1_0, vec4<f32>(h1.y), a1_1_0);
      a1_2_0 = fma(wv2_0, vec4<f32>(h1.y), a1_2_0);
      a1_3_0 = fma(wv3_0, vec4<f32>(h1.y), a1_3_0);
      a2_0_0 = fma(wv0_0, vec4<f32>(h2.y), a2_0_0);
      a2_1_0 = fma(wv1_0, vec4<f32>(h2.y), a2_1_0);
      a2_2_0 = fma(wv2_0, vec4<f32>(h2.y), a2_2_0);
      a2_3_0 = fma(wv3_0, vec4<f32>(h2.y), a2_3_0);
      a3_0_0 = fma(wv0_0, vec4<f32>(h3.y), a3_0_0);
      a3_1_0 = fma(wv1_0, vec4<f32>(h3.y), a3_1_0);
      a3_2_0 = fma(wv2_0, vec4<f32>(h3.y), a3_2_0);
      a3_3_0 = fma(wv3_0, vec4<f32>(h3.y), a3_3_0);
      a4_0_0 = fma(wv0_0, vec4<f32>(h4.y), a4_0_0);
      a4_1_0 = fma(wv1_0, vec4<f32>(h4.y), a4_1_0);
      a4_2_0 = fma(wv2_0, vec4<f32>(h4.y), a4_2_0);
      a4_3_0 = fma(wv3_0, vec4<f32>(h4.y), a4_3_0);
      a5_0_0 = fma(wv0_0, vec4<f32>(h5.y), a5_0_0);
      a5_1_0 = fma(wv1_0, vec4<f32>(h5.y), a5_1_0);
      a5_2_0 = fma(wv2_0, vec4<f32>(h5.y), a5_2_0);
      a5_3_0 = fma(wv3_0, vec4<f32>(h5.y), a5_3_0);
      a6_0_0 = fma(wv0_0, vec4<f32>(h6.y), a6_0_0);
      a6_1_0 = fma(wv1_0, vec4<f32>(h6.y), a6_1_0);
      a6_2_0 = fma(wv2_0, vec4<f32>(h6.y), a6_2_0);
      a6_3_0 = fma(wv3_0, vec4<f32>(h6.y), a6_3_0);
      a7_0_0 = fma(wv0_0, vec4<f32>(h7.y), a7_0_0);
      a7_1_0 = fma(wv1_0, vec4<f32>(h7.y), a7_1_0);
      a7_2_0 = fma(wv2_0, vec4<f32>(h7.y), a7_2_0);
      a7_3_0 = fma(wv3_0, vec4<f32>(h7.y), a7_3_0);
    }
    {
      let wv0_0 = w4[wi + 0u * H4 + 0u];
      let wv1_0 = w4[wi + 1u * H4 + 0u];
      let wv2_0 = w4[wi + 2u * H4 + 0u];
      let wv3_0 = w4[wi + 3u * H4 + 0u];
      wi += H;
      a0_0_0 = fma(wv0_0, vec4<f32>(h0.z), a0_0_0);
      a0_1_0 = fma(wv1_0, vec4<f32>(h0.z), a0_1_0);
      a0_2_0 = fma(wv2_0, vec4<f32>(h0.z), a0_2_0);
      a0_3_0 = fma(wv3_0, vec4<f32>(h0.z), a0_3_0);
      a1_0_0 = fma(wv0_0, vec4<f32>(h1.z), a1_0_0);
      a1_1_0 = fma(wv1_0, vec4<f32>(h1.z), a1_1_0);
      a1_2_0 = fma(wv2_0, vec4<f32>(h1.z), a1_2_0);
      a1_3_0 = fma(wv3_0, vec4<f32>(h1.z), a1_3_0);
      a2_0_0 = fma(wv0_0, vec4<f32>(h2.z), a2_0_0);
      a2_1_0 = fma(wv1_0, vec4<f32>(h2.z), a2_1_0);
      a2_2_0 = fma(wv2_0, vec4<f32>(h2.z), a2_2_0);
      a2_3_0 = fma(wv3_0, vec4<f32>(h2.z), a2_3_0);
      a3_0_0 = fma(wv0_0, vec4<f32>(h3.z), a3_0_0);
      a3_1_0 = fma(wv1_0, vec4<f32>(h3.z), a3_1_0);
      a3_2_0 = fma(wv2_0, vec4<f32>(h3.z), a3_2_0);
      a3_3_0 = fma(wv3_0, vec4<f32>(h3.z), a3_3_0);
      a4_0_0 = fma(wv0_0, vec4<f32>(h4.z), a4_0_0);
      a4_1_0 = fma(wv1_0, vec4<f32>(h4.z), a4_1_0);
      a4_2_0 = fma(wv2_0, vec4<f32>(h4.z), a4_2_0);
      a4_3_0 = fma(wv3_0, vec4<f32>(h4.z), a4_3_0);
      a5_0_0 = fma(wv0_0, vec4<f32>(h5.z), a5_0_0);
      a5_1_0 = fma(wv1_0, vec4<f32>(h5.z), a5_1_0);
      a5_2_0 = fma(wv2_0, vec4<f32>(h5.z), a5_2_0);
      a5_3_0 = fma(wv3_0, vec4<f32>(h5.z), a5_3_0);
      a6_0_0 = fma(wv0_0, vec4<f32>(h6.z), a6_0_0);
      a6_1_0 = fma(wv1_0, vec4<f32>(h6.z), a6_1_0);
      a6_2_0 = fma(wv2_0, vec4<f32>(h6.z), a6_2_0);
      a6_3_0 = fma(wv3_0, vec4<f32>(h6.z), a6_3_0);
      a7_0_0 = fma(wv0_0, vec4<f32>(h7.z), a7_0_0);
      a7_1_0 = fma(wv1_0, vec4<f32>(h7.z), a7_1_0);
      a7_2_0 = fma(wv2_0, vec4<f32>(h7.z), a7_2_0);
      a7_3_0 = fma(wv3_0, vec4<f32>(h7.z), a7_3_0);
    }
    {
      let wv0_0 = w4[wi + 0u * H4 + 0u];
      let wv1_0 = w4[wi + 1u * H4 + 0u];
      let wv2_0 = w4[wi + 2u * H4 + 0u];
      let wv3_0 = w4[wi + 3u * H4 + 0u];
      wi += H;
      a0_0_0 = fma(wv0_0, vec4<f32>(h0.w), a0_0_0);
      a0_1_0 = fma(wv1_0, vec4<f32>(h0.w), a0_1_0);
      a0_2_0 = fma(wv2_0, vec4<f32>(h0.w), a0_2_0);
      a0_3_0 = fma(wv3_0, vec4<f32>(h0.w), a0_3_0);
      a1_0_0 = fma(wv0_0, vec4<f32>(h1.w), a1_0_0);
      a1_1_0 = fma(wv1_0, vec4<f32>(h1.w), a1_1_0);
      a1_2_0 = fma(wv2_0, vec4<f32>(h1.w), a1_2_0);
      a1_3_0 = fma(wv3_0, vec4<f32>(h1.w), a1_3_0);
      a2_0_0 = fma(wv0_0, vec4<f32>(h2.w), a2_0_0);
      a2_1_0 = fma(wv1_0, vec4<f32>(h2.w), a2_1_0);
      a2_2_0 = fma(wv2_0, vec4<f32>(h2.w), a2_2_0);
      a2_3_0 = fma(wv3_0, vec4<f32>(h2.w), a2_3_0);
      a3_0_0 = fma(wv0_0, vec4<f32>(h3.w), a3_0_0);
      a3_1_0 = fma(wv1_0, vec4<f32>(h3.w), a3_1_0);
      a3_2_0 = fma(wv2_0, vec4<f32>(h3.w), a3_2_0);
      a3_3_0 = fma(wv3_0, vec4<f32>(h3.w), a3_3_0);
      a4_0_0 = fma(wv0_0, vec4<f32>(h4.w), a4_0_0);
      a4_1_0 = fma(wv1_0, vec4<f32>(h4.w), a4_1_0);
      a4_2_0 = fma(wv2_0, vec4<f32>(h4.w), a4_2_0);
      a4_3_0 = fma(wv3_0, vec4<f32>(h4.w), a4_3_0);
      a5_0_0 = fma(wv0_0, vec4<f32>(h5.w), a5_0_0);
      a5_1_0 = fma(wv1_0, vec4<f32>(h5.w), a5_1_0);
      a5_2_0 = fma(wv2_0, vec4<f32>(h5.w), a5_2_0);
      a5_3_0 = fma(wv3_0, vec4<f32>(h5.w), a5_3_0);
      a6_0_0 = fma(wv0_0, vec4<f32>(h6.w), a6_0_0);
      a6_1_0 = fma(wv1_0, vec4<f32>(h6.w), a6_1_0);
      a6_2_0 = fma(wv2_0, vec4<f32>(h6.w), a6_2_0);
      a6_3_0 = fma(wv3_0, vec4<f32>(h6.w), a6_3_0);
      a7_0_0 = fma(wv0_0, vec4<f32>(h7.w), a7_0_0);
      a7_1_0 = fma(wv1_0, vec4<f32>(h7.w), a7_1_0);
      a7_2_0 = fma(wv2_0, vec4<f32>(h7.w), a7_2_0);
      a7_3_0 = fma(wv3_0, vec4<f32>(h7.w), a7_3_0);
    }
  }
  if (gid.x < H / 4u) {
    if (b0 + 0u < B) {
      fcell4(t, b0 + 0u, j0 + 0u, a0_0_0, a0_1_0, a0_2_0, a0_3_0);
    }
    if (b0 + 1u < B) {
      fcell4(t, b0 + 1u, j0 + 0u, a1_0_0, a1_1_0, a1_2_0, a1_3_0);
    }
    if (b0 + 2u < B) {
      fcell4(t, b0 + 2u, j0 + 0u, a2_0_0, a2_1_0, a2_2_0, a2_3_0);
    }
    if (b0 + 3u < B) {
      fcell4(t, b0 + 3u, j0 + 0u, a3_0_0, a3_1_0, a3_2_0, a3_3_0);
    }
    if (b0 + 4u < B) {
      fcell4(t, b0 + 4u, j0 + 0u, a4_0_0, a4_1_0, a4_2_0, a4_3_0);
    }
    if (b0 + 5u < B) {
      fcell4(t, b0 + 5u, j0 + 0u, a5_0_0, a5_1_0, a5_2_0, a5_3_0);
    }
    if (b0 + 6u < B) {
      fcell4(t, b0 + 6u, j0 + 0u, a6_0_0, a6_1_0, a6_2_0, a6_3_0);
    }
    if (b0 + 7u < B) {
      fcell4(t, b0 + 7u, j0 + 0u, a7_0_0, a7_1_0, a7_2_0, a7_3_0);
    }
  }
}
