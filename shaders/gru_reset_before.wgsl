// GRU with the reset gate applied before the recurrent product (Keras/TF.js
// `reset_after: false`, the original Cho et al. form), gate order (r, z, n):
//
//   gates = x W_ih^T + b_ih                                  (one GEMM before the loop)
//   r = sigmoid(gates_r + h W_hr^T + b_hr),  z = sigmoid(gates_z + h W_hz^T + b_hz)
//   n = tanh(gates_n + (r * h) W_hn^T + b_hn),  h_t = (1 - z) * n + z * h_{t-1}
//
// n needs r of every unit of the row first, so a step has two phases:
//   A: r, z and rh = r * h_{t-1} for each unit       B: n and h_t for each unit
// and backward likewise:
//   1: dh_t, then dn, dz (and the z * h path)          2: d(rh) = dn_pre W_hn, then dr
// Per-step path: two dispatches per step. Whole-sequence path: a storage
// barrier between the phases. Layout as gru.wgsl, with
//   act:  rh [T, B, H] (the input of W_hn) instead of gh_n
//   grad: drh [T, B, H] (d rh, read by the step before through r)
// Backward: dh_t = dOut[t] + dcarry + sum_{k in r,z rows} dgh[next, k] W_hh[k, j] + drh[next, j] * r[next, j].

struct GruDims {
  T: u32, B: u32, H: u32,
  t: u32,
  reverse: u32,
  ldOut: u32,
  oOut: u32, oGates: u32, oHprev: u32, oRh: u32,    // in act / saved
  oHn: u32,                                         // in fin / dfin
  oH0: u32,                                         // in init / dinit
  oDgates: u32, oDgh: u32, oDcarry: u32, oDrh: u32, // in grad
  oWhh: u32, oBhh: u32,                             // in w
  offDOut: u32, offLen: u32,
  hasBias: u32,
  oDhs: u32,       // in grad: where to keep dL/dh_t [T, B, H]; NONE: not kept
}

const NONE = 0xffffffffu;

@group(0) @binding(0) var<storage, read_write> act: array<f32>;
@group(0) @binding(1) var<storage, read_write> fin: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> dinit: array<f32>;
@group(0) @binding(4) var<storage, read> saved: array<f32>;
@group(0) @binding(5) var<storage, read> init: array<f32>;
@group(0) @binding(6) var<storage, read> dOut: array<f32>;
@group(0) @binding(7) var<storage, read> dfin: array<f32>;
@group(0) @binding(8) var<storage, read> w: array<f32>;
@group(0) @binding(9) var<storage, read> len: array<f32>;
@group(0) @binding(10) var<uniform> dims: GruDims;

override WG: u32 = 64;

fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }

fn row_len(b: u32) -> u32 { return u32(len[dims.offLen + b]); }
fn first_step(l: u32) -> u32 { return select(0u, l - 1u, dims.reverse == 1u); }
fn last_step(l: u32) -> u32 { return select(l - 1u, 0u, dims.reverse == 1u); }
fn next_step(t: u32) -> u32 { return select(t + 1u, t - 1u, dims.reverse == 1u); }

fn init_unit(b: u32, j: u32) {
  let H = dims.H;
  act[dims.oHprev + (first_step(row_len(b)) * dims.B + b) * H + j] = init[dims.oH0 + b * H + j];
}

// Phase A: r, z, rh.
fn forward_a(t: u32, b: u32, j: u32) {
  let H = dims.H;
  if (t >= row_len(b)) { return; }
  let row = t * dims.B + b;
  let hp0 = dims.oHprev + row * H;
  let w0 = dims.oWhh + j * H;
  let gs = H * H;
  var acc = vec2<f32>(0.0);
  for (var k = 0u; k < H; k++) {
    let wk = w0 + k;
    acc = fma(vec2<f32>(w[wk], w[wk + gs]), vec2<f32>(act[hp0 + k]), acc);
  }
  if (dims.hasBias != 0u) { acc += vec2<f32>(w[dims.oBhh + j], w[dims.oBhh + H + j]); }
  let g0 = dims.oGates + row * 3u * H + j;
  let r = sigmoid(act[g0] + acc.x);
  let z = sigmoid(act[g0 + H] + acc.y);
  act[g0] = r;
  act[g0 + H] = z;
  act[dims.oRh + row * H + j] = r * act[hp0 + j];
}

// Phase B: n, h_t.
fn forward_b(t: u32, b: u32, j: u32) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let o_at = dims.oOut + row * dims.ldOut + j;
  if (t >= l) { act[o_at] = 0.0; return; }
  let rh0 = dims.oRh + row * H;
  let w0 = dims.oWhh + (2u * H + j) * H;
  var s = 0.0;
  for (var k = 0u; k < H; k++) { s = fma(w[w0 + k], act[rh0 + k], s); }
  if (dims.hasBias != 0u) { s += w[dims.oBhh + 2u * H + j]; }
  let g0 = dims.oGates + row * 3u * H + j;
  let n = tanh(act[g0 + 2u * H] + s);
  let z = act[g0 + H];
  let hp = act[dims.oHprev + row * H + j];
  let h = (1.0 - z) * n + z * hp;
  act[g0 + 2u * H] = n;
  act[o_at] = h;
  if (t == last_step(l)) {
    fin[dims.oHn + b * H + j] = h;
  } else {
    act[dims.oHprev + (next_step(t) * B + b) * H + j] = h;
  }
}

// The gradient reaching h_prev of step `step` other than the direct z path:
// through the r and z rows of W_hh, and through rh = r * h_prev.
fn recurrent_grad(step: u32, b: u32, j: u32) -> f32 {
  let H = dims.H;
  let row = step * dims.B + b;
  let d0 = dims.oDgh + row * 3u * H;
  let w0 = dims.oWhh + j;
  let gs = H * H;
  var acc = vec2<f32>(0.0);
  for (var k = 0u; k < H; k++) {
    let wk = w0 + k * H;
    acc = fma(vec2<f32>(grad[d0 + k], grad[d0 + H + k]), vec2<f32>(w[wk], w[wk + gs]), acc);
  }
  let r = saved[dims.oGates + row * 3u * H + j];
  return acc.x + acc.y + grad[dims.oDrh + row * H + j] * r;
}

// Phase 1: dh_t; dn, dz; the z * h path.
fn backward_1(t: u32, b: u32, j: u32) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let dx0 = dims.oDgates + row * 3u * H + j;
  let dg0 = dims.oDgh + row * 3u * H + j;
  if (t >= l) {
    grad[dx0] = 0.0; grad[dx0 + H] = 0.0; grad[dx0 + 2u * H] = 0.0;
    grad[dg0] = 0.0; grad[dg0 + H] = 0.0; grad[dg0 + 2u * H] = 0.0;
    grad[dims.oDrh + row * H + j] = 0.0;
    if (dims.oDhs != NONE) { grad[dims.oDhs + row * H + j] = 0.0; }
    return;
  }
  var dh = dOut[dims.offDOut + row * dims.ldOut + j];
  if (t == last_step(l)) {
    dh += dfin[dims.oHn + b * H + j];
  } else {
    dh += grad[dims.oDcarry + b * H + j] + recurrent_grad(next_step(t), b, j);
  }
  if (dims.oDhs != NONE) { grad[dims.oDhs + row * H + j] = dh; }
  let s0 = dims.oGates + row * 3u * H + j;
  let z = saved[s0 + H]; let n = saved[s0 + 2u * H];
  let hp = saved[dims.oHprev + row * H + j];
  let dn_pre = dh * (1.0 - z) * (1.0 - n * n);       // n = tanh(.)
  let dz_pre = dh * (hp - n) * z * (1.0 - z);        // z = sigmoid(.)
  grad[dims.oDcarry + b * H + j] = dh * z;
  grad[dx0 + H] = dz_pre; grad[dx0 + 2u * H] = dn_pre;
  grad[dg0 + H] = dz_pre; grad[dg0 + 2u * H] = dn_pre;
}

// Phase 2: d(rh)_j = sum_i dn_pre_i W_hn[i, j]; dr = d(rh) * h_prev.
fn backward_2(t: u32, b: u32, j: u32) {
  let H = dims.H;
  if (t >= row_len(b)) { return; }
  let row = t * dims.B + b;
  let d0 = dims.oDgates + row * 3u * H + 2u * H;
  let w0 = dims.oWhh + 2u * H * H + j;
  var s = 0.0;
  for (var i = 0u; i < H; i++) { s = fma(grad[d0 + i], w[w0 + i * H], s); }
  grad[dims.oDrh + row * H + j] = s;
  let r = saved[dims.oGates + row * 3u * H + j];
  let dr_pre = s * saved[dims.oHprev + row * H + j] * r * (1.0 - r);
  grad[dims.oDgates + row * 3u * H + j] = dr_pre;
  grad[dims.oDgh + row * 3u * H + j] = dr_pre;
}

fn final_unit(b: u32, j: u32) {
  let H = dims.H;
  dinit[dims.oH0 + b * H + j] = grad[dims.oDcarry + b * H + j] + recurrent_grad(first_step(row_len(b)), b, j);
}

// ---- per step (grid ceil(H / WG) x B) ----

@compute @workgroup_size(WG)
fn forward_init(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { init_unit(gid.y, gid.x); }
}

@compute @workgroup_size(WG)
fn forward_step(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { forward_a(dims.t, gid.y, gid.x); }
}

@compute @workgroup_size(WG)
fn forward_step_b(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { forward_b(dims.t, gid.y, gid.x); }
}

@compute @workgroup_size(WG)
fn backward_step(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { backward_1(dims.t, gid.y, gid.x); }
}

@compute @workgroup_size(WG)
fn backward_step_b(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { backward_2(dims.t, gid.y, gid.x); }
}

@compute @workgroup_size(WG)
fn backward_final(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { final_unit(gid.y, gid.x); }
}

// ---- whole sequence (grid 1 x B: a workgroup per batch row) ----

@compute @workgroup_size(WG)
fn forward_seq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.y;
  for (var j = lid; j < dims.H; j += WG) { init_unit(b, j); }
  storageBarrier();
  for (var s = 0u; s < dims.T; s++) {
    let t = select(s, dims.T - 1u - s, dims.reverse == 1u);
    for (var j = lid; j < dims.H; j += WG) { forward_a(t, b, j); }
    storageBarrier();
    for (var j = lid; j < dims.H; j += WG) { forward_b(t, b, j); }
    storageBarrier();
  }
}

@compute @workgroup_size(WG)
fn backward_seq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.y;
  for (var s = 0u; s < dims.T; s++) {
    let t = select(dims.T - 1u - s, s, dims.reverse == 1u);
    for (var j = lid; j < dims.H; j += WG) { backward_1(t, b, j); }
    storageBarrier();
    for (var j = lid; j < dims.H; j += WG) { backward_2(t, b, j); }
    storageBarrier();
  }
  for (var j = lid; j < dims.H; j += WG) { final_unit(b, j); }
}
