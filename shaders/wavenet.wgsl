// WaveNet's dilated causal convolution with the gated unit, forward and backward.
//
// Activations are [B*T, C] matrices (row r = b*T + t, channels contiguous), so the
// 1x1 convolutions around these kernels are plain GEMMs. For a layer with
// kernel size K and dilation d, tap m reads the input s_m = (K-1-m)*d steps back
// (tap K-1 is the current step; PyTorch's Conv1d with left padding):
//
//   f[r, o] = b_f[o] + (cond_f[b, o]) + sum_m sum_i W_f[o, i, m] * h[r - s_m, i]   (0 where t - s_m < 0)
//   g[r, o] = likewise with W_g, b_g, cond_g
//   z = tanh(f) * sigmoid(g)
//
// The taps are gathered by index: no shifted copies of h are made.
// Weights W_f, W_g are [Cout, Cin, K] (PyTorch), in the parameter arena `w`
// (forward, input gradient) or the gradient arena `gw` (weight gradient, +=).
//
// Entry points (an invocation owns 4 rows):
//   gated_forward   z, tanh(f), sigmoid(g) -> gout (z, and what backward needs)   grid ceil(Cout/WG) x ceil(BT/4)
//   gate_backward   df = dz sg (1 - tf^2), dg = dz tf sg (1 - sg) -> dfg           grid ceil(BT*Cout/WG) (folded)
//   conv_dgrad      dh[r, i] = dhin[r, i] + sum_m sum_o df[r + s_m, o] W_f[o, i, m] + dg W_g   grid ceil(Cin/WG) x ceil(BT/4)
//                   (dhin: the gradient arriving through the residual path; absent (hasDhin = 0): 0)
//   conv_wgrad      dW_f[o, i, m] += sum_r df[r, o] h[r - s_m, i], and W_g              grid ceil(Cout*Cin*K/WG)
// Accumulation: parameter gradients +=; dh is written (=), the residual path's gradient added from dhin.

struct WnDims {
  BT: u32, T: u32, Cin: u32, Cout: u32, K: u32, d: u32,
  oZ: u32, oTf: u32, oSg: u32,          // in gout / saved
  oWf: u32, oBf: u32, oWg: u32, oBg: u32, // in w (params) or gw (gradients)
  oDf: u32, oDg: u32,                   // in dfg / dfgr
  hasCond: u32, oCond: u32,             // cond [B, 2, Cout]: per-sequence filter, gate terms
  offH: u32, offDz: u32, offDh: u32, offDhin: u32,
  hasDhin: u32,
}

@group(0) @binding(0) var<storage, read_write> gout: array<f32>;
@group(0) @binding(1) var<storage, read_write> dfg: array<f32>;
@group(0) @binding(2) var<storage, read_write> dh: array<f32>;
@group(0) @binding(3) var<storage, read_write> gw: array<f32>;
@group(0) @binding(4) var<storage, read> h: array<f32>;
@group(0) @binding(5) var<storage, read> w: array<f32>;
@group(0) @binding(6) var<storage, read> cond: array<f32>;
@group(0) @binding(7) var<storage, read> dz: array<f32>;
@group(0) @binding(8) var<storage, read> saved: array<f32>;
@group(0) @binding(9) var<storage, read> dfgr: array<f32>;
@group(0) @binding(10) var<uniform> dims: WnDims;
@group(0) @binding(11) var<storage, read> dhin: array<f32>;

override WG: u32 = 64;

fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }

// Row r's source row for a tap reaching s steps back, and whether it exists (same sequence, t - s >= 0).
fn back(r: u32, s: u32) -> vec2<u32> {
  let ok = (r % dims.T) >= s;
  return vec2<u32>(select(r, r - s, ok), u32(ok));
}
// ... and s steps ahead (t + s < T), for the input gradient.
fn ahead(r: u32, s: u32) -> vec2<u32> {
  let ok = (r % dims.T) + s < dims.T;
  return vec2<u32>(select(r, r + s, ok), u32(ok));
}

fn gated_row(r: u32, o: u32, f: f32, g: f32) {
  var ff = f; var gg = g;
  if (dims.hasCond != 0u) {
    let c = dims.oCond + (r / dims.T) * 2u * dims.Cout + o;
    ff += cond[c];
    gg += cond[c + dims.Cout];
  }
  let tf = tanh(ff);
  let sg = sigmoid(gg);
  let at = r * dims.Cout + o;
  gout[dims.oZ + at] = tf * sg;
  gout[dims.oTf + at] = tf;
  gout[dims.oSg + at] = sg;
}

@compute @workgroup_size(WG)
fn gated_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let o = gid.x;
  let r0 = gid.y * 4u;
  let BT = dims.BT; let Cin = dims.Cin; let K = dims.K;
  if (o >= dims.Cout || r0 >= BT) { return; }
  let r1 = min(r0 + 1u, BT - 1u); let r2 = min(r0 + 2u, BT - 1u); let r3 = min(r0 + 3u, BT - 1u);
  var f = vec4<f32>(w[dims.oBf + o]);
  var g = vec4<f32>(w[dims.oBg + o]);
  for (var m = 0u; m < K; m++) {
    let s = (K - 1u - m) * dims.d;
    let a0 = back(r0, s); let a1 = back(r1, s); let a2 = back(r2, s); let a3 = back(r3, s);
    let ok = vec4<f32>(f32(a0.y), f32(a1.y), f32(a2.y), f32(a3.y));
    let h0 = dims.offH + a0.x * Cin; let h1 = dims.offH + a1.x * Cin;
    let h2 = dims.offH + a2.x * Cin; let h3 = dims.offH + a3.x * Cin;
    var wi = o * Cin * K + m;
    for (var i = 0u; i < Cin; i++) {
      let x = ok * vec4<f32>(h[h0 + i], h[h1 + i], h[h2 + i], h[h3 + i]);
      f = fma(vec4<f32>(w[dims.oWf + wi]), x, f);
      g = fma(vec4<f32>(w[dims.oWg + wi]), x, g);
      wi += K;
    }
  }
  gated_row(r0, o, f.x, g.x);
  if (r0 + 1u < BT) { gated_row(r0 + 1u, o, f.y, g.y); }
  if (r0 + 2u < BT) { gated_row(r0 + 2u, o, f.z, g.z); }
  if (r0 + 3u < BT) { gated_row(r0 + 3u, o, f.w, g.w); }
}

@compute @workgroup_size(WG)
fn gate_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= dims.BT * dims.Cout) { return; }
  let tf = saved[dims.oTf + i];
  let sg = saved[dims.oSg + i];
  let d = dz[dims.offDz + i];
  dfg[dims.oDf + i] = d * sg * (1.0 - tf * tf);     // z = tanh(f) * sg
  dfg[dims.oDg + i] = d * tf * sg * (1.0 - sg);     // z = tf * sigmoid(g)
}

fn dh_row(r: u32, i: u32, v: f32) {
  var x = v;
  if (dims.hasDhin != 0u) { x += dhin[dims.offDhin + r * dims.Cin + i]; }
  dh[dims.offDh + r * dims.Cin + i] = x;
}

@compute @workgroup_size(WG)
fn conv_dgrad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let r0 = gid.y * 4u;
  let BT = dims.BT; let Cin = dims.Cin; let Cout = dims.Cout; let K = dims.K;
  if (i >= Cin || r0 >= BT) { return; }
  let r1 = min(r0 + 1u, BT - 1u); let r2 = min(r0 + 2u, BT - 1u); let r3 = min(r0 + 3u, BT - 1u);
  var acc = vec4<f32>(0.0);
  for (var m = 0u; m < K; m++) {
    let s = (K - 1u - m) * dims.d;
    let a0 = ahead(r0, s); let a1 = ahead(r1, s); let a2 = ahead(r2, s); let a3 = ahead(r3, s);
    let ok = vec4<f32>(f32(a0.y), f32(a1.y), f32(a2.y), f32(a3.y));
    let d0 = a0.x * Cout; let d1 = a1.x * Cout; let d2 = a2.x * Cout; let d3 = a3.x * Cout;
    var wi = i * K + m;
    var part = vec4<f32>(0.0);
    for (var o = 0u; o < Cout; o++) {
      let wf = w[dims.oWf + wi]; let wg = w[dims.oWg + wi];
      part = fma(vec4<f32>(wf), vec4<f32>(dfgr[dims.oDf + d0 + o], dfgr[dims.oDf + d1 + o], dfgr[dims.oDf + d2 + o], dfgr[dims.oDf + d3 + o]), part);
      part = fma(vec4<f32>(wg), vec4<f32>(dfgr[dims.oDg + d0 + o], dfgr[dims.oDg + d1 + o], dfgr[dims.oDg + d2 + o], dfgr[dims.oDg + d3 + o]), part);
      wi += Cin * K;
    }
    acc = fma(ok, part, acc);
  }
  dh_row(r0, i, acc.x);
  if (r0 + 1u < BT) { dh_row(r0 + 1u, i, acc.y); }
  if (r0 + 2u < BT) { dh_row(r0 + 2u, i, acc.z); }
  if (r0 + 3u < BT) { dh_row(r0 + 3u, i, acc.w); }
}

@compute @workgroup_size(WG)
fn conv_wgrad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x;                     // element (o, i, m) of W [Cout, Cin, K]
  let Cin = dims.Cin; let K = dims.K; let T = dims.T;
  if (e >= dims.Cout * Cin * K) { return; }
  let m = e % K;
  let i = (e / K) % Cin;
  let o = e / (K * Cin);
  let s = (K - 1u - m) * dims.d;
  var af = vec4<f32>(0.0);
  var ag = vec4<f32>(0.0);
  let nb = dims.BT / T;
  for (var b = 0u; b < nb; b++) {
    // t from s to T-1 (earlier steps read padding); four running sums break the add chain.
    var t = s;
    let base = b * T;
    for (; t + 4u <= T; t += 4u) {
      let r = base + t;
      let x = vec4<f32>(h[dims.offH + (r - s) * Cin + i], h[dims.offH + (r + 1u - s) * Cin + i],
                        h[dims.offH + (r + 2u - s) * Cin + i], h[dims.offH + (r + 3u - s) * Cin + i]);
      let c = dims.Cout;
      af = fma(vec4<f32>(dfgr[dims.oDf + r * c + o], dfgr[dims.oDf + (r + 1u) * c + o],
                         dfgr[dims.oDf + (r + 2u) * c + o], dfgr[dims.oDf + (r + 3u) * c + o]), x, af);
      ag = fma(vec4<f32>(dfgr[dims.oDg + r * c + o], dfgr[dims.oDg + (r + 1u) * c + o],
                         dfgr[dims.oDg + (r + 2u) * c + o], dfgr[dims.oDg + (r + 3u) * c + o]), x, ag);
    }
    for (; t < T; t++) {
      let r = base + t;
      let x = h[dims.offH + (r - s) * Cin + i];
      af.x = fma(dfgr[dims.oDf + r * dims.Cout + o], x, af.x);
      ag.x = fma(dfgr[dims.oDg + r * dims.Cout + o], x, ag.x);
    }
  }
  gw[dims.oWf + e] += (af.x + af.y) + (af.z + af.w);
  gw[dims.oWg + e] += (ag.x + ag.y) + (ag.z + ag.w);
}
