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
// barrier between the phases. Bindings, products and work split: recurrent.wgsl
// (an invocation owns 4 batch rows; one unit forward, four units backward).
// Layout as gru.wgsl, with
//   act:  rh [T, B, H] (the input of W_hn) instead of gh_n
//   grad: drh [T, B, H] (d rh, read by the step before through r)
// Backward: dh_t = dOut[t] + dcarry + sum_{k in r,z rows} dgh[next, k] W_hh[k, j] + drh[next, j] * r[next, j].

struct Dims {
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

const G = 3u;

// #include recurrent


fn dgh_base() -> u32 { return dims.oDgh; }

fn init_unit(b: u32, j: u32) {
  let H = dims.H;
  act_st(dims.oHprev + (first_step(row_len(b)) * dims.B + b) * H + j, init[dims.oH0 + b * H + j]);
}

// Phase A: r, z, rh (gh = the r and z rows' products with h_prev).
fn cell_a(t: u32, b: u32, j: u32, gh_: vec4<f32>) {
  let H = dims.H;
  if (t >= row_len(b)) { return; }
  let row = t * dims.B + b;
  var gh = gh_.xy;
  if (dims.hasBias != 0u) { gh += vec2<f32>(w[dims.oBhh + j], w[dims.oBhh + H + j]); }
  let g0 = dims.oGates + row * 3u * H + j;
  let r = sigmoid(act_ld(g0) + gh.x);
  let z = sigmoid(act_ld(g0 + H) + gh.y);
  act_st(g0, r);
  act_st(g0 + H, z);
  act_st(dims.oRh + row * H + j, r * act_ld(dims.oHprev + row * H + j));
}

// Phase B: n, h_t (s = W_hn row j times rh).
fn cell_b(t: u32, b: u32, j: u32, s_: f32) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let o_at = dims.oOut + row * dims.ldOut + j;
  if (t >= l) { act_st(o_at, 0.0); return; }
  var s = s_;
  if (dims.hasBias != 0u) { s += w[dims.oBhh + 2u * H + j]; }
  let g0 = dims.oGates + row * 3u * H + j;
  let n = tanh(act_ld(g0 + 2u * H) + s);
  let z = act_ld(g0 + H);
  let hp = act_ld(dims.oHprev + row * H + j);
  let h = (1.0 - z) * n + z * hp;
  act_st(g0 + 2u * H, n);
  act_st(o_at, h);
  if (t == last_step(l)) {
    fin[dims.oHn + b * H + j] = h;
  } else {
    act_st(dims.oHprev + (next_step(t) * B + b) * H + j, h);
  }
}

// The part of dL/dh_prev(step) through rh = r * h_prev: drh[step, j] * r[step, j].
fn through_rh(step: u32, b: u32, j: u32) -> f32 {
  let H = dims.H;
  let row = step * dims.B + b;
  return grad_ld(dims.oDrh + row * H + j) * saved[dims.oGates + row * 3u * H + j];
}

// Phase 1: dh_t; dn, dz; the z * h path. rec: the r and z rows' products at next(t).
fn cell_1(t: u32, b: u32, j: u32, rec: f32) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let dx0 = dims.oDgates + row * 3u * H + j;
  let dg0 = dims.oDgh + row * 3u * H + j;
  if (t >= l) {
    grad_st(dx0, 0.0); grad_st(dx0 + H, 0.0); grad_st(dx0 + 2u * H, 0.0);
    grad_st(dg0, 0.0); grad_st(dg0 + H, 0.0); grad_st(dg0 + 2u * H, 0.0);
    grad_st(dims.oDrh + row * H + j, 0.0);
    if (dims.oDhs != NONE) { grad_st(dims.oDhs + row * H + j, 0.0); }
    return;
  }
  var dh = dOut[dims.offDOut + row * dims.ldOut + j];
  if (t == last_step(l)) {
    dh += dfin[dims.oHn + b * H + j];
  } else {
    dh += grad_ld(dims.oDcarry + b * H + j) + rec + through_rh(next_step(t), b, j);
  }
  if (dims.oDhs != NONE) { grad_st(dims.oDhs + row * H + j, dh); }
  let s0 = dims.oGates + row * 3u * H + j;
  let z = saved[s0 + H]; let n = saved[s0 + 2u * H];
  let hp = saved[dims.oHprev + row * H + j];
  let dn_pre = dh * (1.0 - z) * (1.0 - n * n);       // n = tanh(.)
  let dz_pre = dh * (hp - n) * z * (1.0 - z);        // z = sigmoid(.)
  grad_st(dims.oDcarry + b * H + j, dh * z);
  grad_st(dx0 + H, dz_pre); grad_st(dx0 + 2u * H, dn_pre);
  grad_st(dg0 + H, dz_pre); grad_st(dg0 + 2u * H, dn_pre);
}

// Phase 2: d(rh)_j = sum_i dn_pre_i W_hn[i, j] (the product s); dr = d(rh) * h_prev.
fn cell_2(t: u32, b: u32, j: u32, s: f32) {
  let H = dims.H;
  if (t >= row_len(b)) { return; }
  let row = t * dims.B + b;
  grad_st(dims.oDrh + row * H + j, s);
  let r = saved[dims.oGates + row * 3u * H + j];
  let dr_pre = s * saved[dims.oHprev + row * H + j] * r * (1.0 - r);
  grad_st(dims.oDgates + row * 3u * H + j, dr_pre);
  grad_st(dims.oDgh + row * 3u * H + j, dr_pre);
}

fn final_cell(b: u32, j: u32, rec: f32) {
  let H = dims.H;
  dinit[dims.oH0 + b * H + j] = grad_ld(dims.oDcarry + b * H + j) + rec + through_rh(first_step(row_len(b)), b, j);
}

// ---- rows b0..b0+3, unit j (forward) or units j0..j0+3 (backward) ----

fn forward_a(t: u32, b0: u32, j: u32) {
  let gh = forward_product_g(t, b0, j, 2u, 0u, dims.oHprev);
  let B = dims.B;
  cell_a(t, b0, j, gh[0]);
  if (b0 + 1u < B) { cell_a(t, b0 + 1u, j, gh[1]); }
  if (b0 + 2u < B) { cell_a(t, b0 + 2u, j, gh[2]); }
  if (b0 + 3u < B) { cell_a(t, b0 + 3u, j, gh[3]); }
}

fn forward_b(t: u32, b0: u32, j: u32) {
  let gn = forward_product_g(t, b0, j, 1u, 2u * dims.H, dims.oRh);
  let B = dims.B;
  cell_b(t, b0, j, gn[0].x);
  if (b0 + 1u < B) { cell_b(t, b0 + 1u, j, gn[1].x); }
  if (b0 + 2u < B) { cell_b(t, b0 + 2u, j, gn[2].x); }
  if (b0 + 3u < B) { cell_b(t, b0 + 3u, j, gn[3].x); }
}

fn quad_1(t: u32, b: u32, j0: u32, rec: vec4<f32>) {
  let H = dims.H;
  cell_1(t, b, j0, rec.x);
  if (j0 + 1u < H) { cell_1(t, b, j0 + 1u, rec.y); }
  if (j0 + 2u < H) { cell_1(t, b, j0 + 2u, rec.z); }
  if (j0 + 3u < H) { cell_1(t, b, j0 + 3u, rec.w); }
}

fn quad_2(t: u32, b: u32, j0: u32, s: vec4<f32>) {
  let H = dims.H;
  cell_2(t, b, j0, s.x);
  if (j0 + 1u < H) { cell_2(t, b, j0 + 1u, s.y); }
  if (j0 + 2u < H) { cell_2(t, b, j0 + 2u, s.z); }
  if (j0 + 3u < H) { cell_2(t, b, j0 + 3u, s.w); }
}

fn quad_final(b: u32, j0: u32, rec: vec4<f32>) {
  let H = dims.H;
  final_cell(b, j0, rec.x);
  if (j0 + 1u < H) { final_cell(b, j0 + 1u, rec.y); }
  if (j0 + 2u < H) { final_cell(b, j0 + 2u, rec.z); }
  if (j0 + 3u < H) { final_cell(b, j0 + 3u, rec.w); }
}

fn backward_1(t: u32, b0: u32, j0: u32) {
  let H = dims.H; let B = dims.B;
  let nt = next_clamped(t);
  let rec = backward_product_g(nt, nt, nt, nt, b0, j0, 2u * H, dims.oDgh, 3u * H, 0u);
  quad_1(t, b0, j0, rec[0]);
  if (b0 + 1u < B) { quad_1(t, b0 + 1u, j0, rec[1]); }
  if (b0 + 2u < B) { quad_1(t, b0 + 2u, j0, rec[2]); }
  if (b0 + 3u < B) { quad_1(t, b0 + 3u, j0, rec[3]); }
}

fn backward_2(t: u32, b0: u32, j0: u32) {
  let H = dims.H; let B = dims.B;
  let s = backward_product_g(t, t, t, t, b0, j0, H, dims.oDgates + 2u * H, 3u * H, 2u * H);
  quad_2(t, b0, j0, s[0]);
  if (b0 + 1u < B) { quad_2(t, b0 + 1u, j0, s[1]); }
  if (b0 + 2u < B) { quad_2(t, b0 + 2u, j0, s[2]); }
  if (b0 + 3u < B) { quad_2(t, b0 + 3u, j0, s[3]); }
}

fn final_units(b0: u32, j0: u32) {
  let H = dims.H; let B = dims.B;
  let f = vec4<u32>(first_step(row_len(b0)), first_step(row_len(min(b0 + 1u, B - 1u))),
                    first_step(row_len(min(b0 + 2u, B - 1u))), first_step(row_len(min(b0 + 3u, B - 1u))));
  let rec = backward_product_g(f.x, f.y, f.z, f.w, b0, j0, 2u * H, dims.oDgh, 3u * H, 0u);
  quad_final(b0, j0, rec[0]);
  if (b0 + 1u < B) { quad_final(b0 + 1u, j0, rec[1]); }
  if (b0 + 2u < B) { quad_final(b0 + 2u, j0, rec[2]); }
  if (b0 + 3u < B) { quad_final(b0 + 3u, j0, rec[3]); }
}

// ---- per step ----

@compute @workgroup_size(WG)
fn forward_init(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { init_unit(gid.y, gid.x); }
}

@compute @workgroup_size(WG)
fn forward_step(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { forward_a(dims.t, gid.y * ROWS, gid.x); }
}

@compute @workgroup_size(WG)
fn forward_step_b(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { forward_b(dims.t, gid.y * ROWS, gid.x); }
}

@compute @workgroup_size(WG)
fn backward_step(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x * 4u < dims.H) { backward_1(dims.t, gid.y * ROWS, gid.x * 4u); }
}

@compute @workgroup_size(WG)
fn backward_step_b(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x * 4u < dims.H) { backward_2(dims.t, gid.y * ROWS, gid.x * 4u); }
}

@compute @workgroup_size(WG)
fn backward_final(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x * 4u < dims.H) { final_units(gid.y * ROWS, gid.x * 4u); }
}

// ---- whole sequence: a workgroup owns ROWS batch rows; a storage barrier between phases ----

@compute @workgroup_size(WG)
fn forward_seq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b0 = wid.y * ROWS;
  for (var i = lid; i < ROWS * dims.H; i += WG) {
    let b = b0 + i / dims.H;
    if (b < dims.B) { init_unit(b, i % dims.H); }
  }
  storageBarrier();
  for (var s = 0u; s < dims.T; s++) {
    let t = select(s, dims.T - 1u - s, dims.reverse == 1u);
    for (var j = lid; j < dims.H; j += WG) { forward_a(t, b0, j); }
    storageBarrier();
    for (var j = lid; j < dims.H; j += WG) { forward_b(t, b0, j); }
    storageBarrier();
  }
}

@compute @workgroup_size(WG)
fn backward_seq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b0 = wid.y * ROWS;
  for (var s = 0u; s < dims.T; s++) {
    let t = select(dims.T - 1u - s, s, dims.reverse == 1u);
    for (var j0 = lid * 4u; j0 < dims.H; j0 += WG * 4u) { backward_1(t, b0, j0); }
    storageBarrier();
    for (var j0 = lid * 4u; j0 < dims.H; j0 += WG * 4u) { backward_2(t, b0, j0); }
    storageBarrier();
  }
  for (var j0 = lid * 4u; j0 < dims.H; j0 += WG * 4u) { final_units(b0, j0); }
}
