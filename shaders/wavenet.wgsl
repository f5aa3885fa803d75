// WaveNet's gated unit around dilated causal convolutions, forward and backward.
//
// Activations are [B*T, C] matrices (row r = b*T + t). The dilated convolution
// itself runs as GEMMs, one per tap, each reading its tap's input rows shifted
// by index inside each sequence (gemm's SHIFT_A / SHIFT_B, no shifted copies):
//   fg[r, :] = b + sum_m h[r - s_m, :] Wt_m^T,  s_m = (K-1-m) d   (tap K-1 is the current step)
// with filter and gate side by side: fg [BT, 2Dc], Wt [K][2Dc][Cin] packed from
// PyTorch's W_f, W_g [Dc, Cin, K] (pack_weights), and their gradients unpacked
// back into the gradient arena (unpack_grads).
//
//   pack_weights    Wt[m][o'][c] = (o' < Dc ? W_f[o', c, m] : W_g[o' - Dc, c, m]); bias [2Dc]   grid ceil(K*2Dc*Cin / WG)
//   gate_forward    z = tanh(f + cf) * sigmoid(g + cg); keeps tanh, sigmoid           grid ceil(BT*Dc / WG) (folded)
//   gate_backward   dfg[r, o] = dz tf' ..., dfg[r, Dc + o] = dz ... sg'                grid as gate_forward
//   unpack_grads    dW_f[o, c, m] += dWt[m][o][c], dW_g likewise; db_f, db_g += dbias  grid ceil(K*2Dc*Cin / WG)
// (cf, cg: the global-conditioning terms of row r's sequence, when hasCond.)

struct WnDims {
  BT: u32, T: u32, Cin: u32, Dc: u32, K: u32,
  n: u32,                                   // elements of this dispatch
  oWf: u32, oBf: u32, oWg: u32, oBg: u32,   // in w (params) or gw (gradients)
  oWt: u32, oBias: u32,                     // in packed / dpacked
  oZ: u32, oTf: u32, oSg: u32,              // in gout / saved
  hasCond: u32, oCond: u32,                 // cond [B, 2, Dc]
  offFg: u32, offDz: u32, offDfg: u32,
}

@group(0) @binding(0) var<storage, read_write> packed: array<f32>;   // Wt, bias
@group(0) @binding(1) var<storage, read_write> gout: array<f32>;     // z, tf, sg
@group(0) @binding(2) var<storage, read_write> dfg: array<f32>;      // [BT, 2Dc]
@group(0) @binding(3) var<storage, read_write> gw: array<f32>;       // the gradient arena
@group(0) @binding(4) var<storage, read> w: array<f32>;              // the parameter arena
@group(0) @binding(5) var<storage, read> fg: array<f32>;             // [BT, 2Dc]
@group(0) @binding(6) var<storage, read> cond: array<f32>;
@group(0) @binding(7) var<storage, read> dz: array<f32>;             // [BT, Dc]
@group(0) @binding(8) var<storage, read> saved: array<f32>;          // z, tf, sg
@group(0) @binding(9) var<storage, read> dpacked: array<f32>;        // dWt, dbias
@group(0) @binding(10) var<uniform> dims: WnDims;

override WG: u32 = 64;

fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }

fn flat(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 { return (wid.y * nwg.x + wid.x) * WG + lid; }

// Element e of Wt [K][2Dc][Cin] -> (m, o', c) and the PyTorch index (o, c, m) in W_f or W_g.
fn packed_index(e: u32) -> vec4<u32> {
  let Cin = dims.Cin; let D2 = 2u * dims.Dc;
  let c = e % Cin;
  let op = (e / Cin) % D2;
  let m = e / (Cin * D2);
  let o = op % dims.Dc;
  return vec4<u32>((o * Cin + c) * dims.K + m, u32(op >= dims.Dc), op, 0u);
}

@compute @workgroup_size(WG)
fn pack_weights(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let e = flat(wid, nwg, lid);
  if (e < dims.n) {
    let p = packed_index(e);
    packed[dims.oWt + e] = select(w[dims.oWf + p.x], w[dims.oWg + p.x], p.y == 1u);
  }
  if (e < 2u * dims.Dc) {
    packed[dims.oBias + e] = select(w[dims.oBf + e], w[dims.oBg + e - dims.Dc], e >= dims.Dc);
  }
}

@compute @workgroup_size(WG)
fn gate_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  let Dc = dims.Dc;
  if (i >= dims.BT * Dc) { return; }
  let r = i / Dc; let o = i % Dc;
  var f = fg[dims.offFg + r * 2u * Dc + o];
  var g = fg[dims.offFg + r * 2u * Dc + Dc + o];
  if (dims.hasCond != 0u) {
    let c = dims.oCond + (r / dims.T) * 2u * Dc + o;
    f += cond[c];
    g += cond[c + Dc];
  }
  let tf = tanh(f);
  let sg = sigmoid(g);
  gout[dims.oZ + i] = tf * sg;
  gout[dims.oTf + i] = tf;
  gout[dims.oSg + i] = sg;
}

@compute @workgroup_size(WG)
fn gate_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  let Dc = dims.Dc;
  if (i >= dims.BT * Dc) { return; }
  let r = i / Dc; let o = i % Dc;
  let tf = saved[dims.oTf + i];
  let sg = saved[dims.oSg + i];
  let d = dz[dims.offDz + i];
  dfg[dims.offDfg + r * 2u * Dc + o] = d * sg * (1.0 - tf * tf);         // z = tanh(f) * sg
  dfg[dims.offDfg + r * 2u * Dc + Dc + o] = d * tf * sg * (1.0 - sg);    // z = tf * sigmoid(g)
}

@compute @workgroup_size(WG)
fn unpack_grads(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let e = flat(wid, nwg, lid);
  if (e < dims.n) {
    let p = packed_index(e);
    let at = select(dims.oWf, dims.oWg, p.y == 1u) + p.x;
    gw[at] = gw[at] + dpacked[dims.oWt + e];
  }
  if (e < 2u * dims.Dc) {
    let at = select(dims.oBf + e, dims.oBg + e - dims.Dc, e >= dims.Dc);
    gw[at] = gw[at] + dpacked[dims.oBias + e];
  }
}
