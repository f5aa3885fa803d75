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
// PHASES = 2: two dispatches per step, or a storage barrier between the phases
// (recurrent_steps.wgsl). Bindings, products and work split: recurrent.wgsl.
// Layout as gru.wgsl, with
//   act:  rh [T, B, H] (the input of W_hn) instead of gh_n
//   grad: drh [T, B, H] (d rh, read by the step before through r)
// Backward: dh_t = dOut[t] + dcarry + sum_{k in r,z rows} dgh[next, k] W_hh[k, j] + drh[next, j] * r[next, j].

const G = 3u;
const PHASES = 2u;

// #include recurrent
// #include recurrent_steps

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

// ---- the products of each phase (recurrent_steps.wgsl calls them) ----

fn forward_gh(p: u32, t: u32, b0: u32, j: u32) -> array<vec4<f32>, 4> {
  if (p == 0u) { return forward_product_g(t, b0, j, 2u, 0u, dims.oHprev); }   // rows r, z against h_prev
  return forward_product_g(t, b0, j, 1u, 2u * dims.H, dims.oRh);               // rows n against r * h_prev
}

fn forward_cell(p: u32, t: u32, b: u32, j: u32, gh: vec4<f32>) {
  if (p == 0u) { cell_a(t, b, j, gh); } else { cell_b(t, b, j, gh.x); }
}

fn backward_rec(p: u32, t: u32, b0: u32, j0: u32) -> array<vec4<f32>, 4> {
  let H = dims.H;
  if (p == 0u) {
    let n = next_clamped(t);  // the r and z rows at next(t)
    return backward_product_g(n, n, n, n, b0, j0, 2u * H, dims.oDgh, 3u * H, 0u);
  }
  // d(rh) at t: the n rows' pre-activation gradients of this step against W_hn
  return backward_product_g(t, t, t, t, b0, j0, H, dims.oDgates + 2u * H, 3u * H, 2u * H);
}

fn backward_cell(p: u32, t: u32, b: u32, j: u32, rec: f32) {
  if (p == 0u) { cell_1(t, b, j, rec); } else { cell_2(t, b, j, rec); }
}

fn final_rec(b0: u32, j0: u32) -> array<vec4<f32>, 4> {
  let f = first_steps(b0);
  return backward_product_g(f.x, f.y, f.z, f.w, b0, j0, 2u * dims.H, dims.oDgh, 3u * dims.H, 0u);
}
