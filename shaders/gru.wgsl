// GRU, PyTorch's formulas and gate order (r, z, n), one layer and direction:
//
//   gates = x W_ih^T + b_ih          (one GEMM over all T*B rows, before the loop)
//   gh = h_{t-1} W_hh^T + b_hh       (inside the step, per gate block)
//   r = sigmoid(gates_r + gh_r),  z = sigmoid(gates_z + gh_z)
//   n = tanh(gates_n + r * gh_n),  h_t = (1 - z) * n + z * h_{t-1}
//
// Layout and directions: recurrent.wgsl; entry points: recurrent_steps.wgsl; tensors: src/nn/cells.ts. G = 3; the cell's own tensors:
//   act:  ghn [T, B, H] (gh_n, needed for dr)
//   grad: dgates [T, B, 3H] (input side: the gates' pre-activation gradients),
//         dgh [T, B, 3H] (hidden side: equal to dgates except n: dn_pre * r),
//         dcarry [B, H] (dh_{t-1} through the z * h_{t-1} path)
// Backward per step: dh = dOut[t] + dcarry + sum_k dgh[next, k] W_hh[k, j] (or dhn at a row's last step).

const G = 3u;
const PHASES = 1u;

// #include recurrent
// #include recurrent_steps
// #include recurrent_one_phase

fn dgh_base() -> u32 { return dims.oDgh; }

fn init_unit(b: u32, j: u32) {
  let H = dims.H;
  act_st(dims.oHprev + (first_step(row_len(b)) * dims.B + b) * H + j, init[dims.oH0 + b * H + j]);
}

fn forward_cell(p: u32, t: u32, b: u32, j: u32, gh_: vec4<f32>) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let o_at = dims.oOut + row * dims.ldOut + j;
  if (t >= l) { act_st(o_at, 0.0); return; }
  var gh = gh_.xyz;
  if (dims.hasBias != 0u) {
    let bb = dims.oBhh + j;
    gh += vec3<f32>(w[bb], w[bb + H], w[bb + 2u * H]);
  }
  let g0 = dims.oGates + row * 3u * H + j;
  let r = sigmoid(act_ld(g0) + gh.x);
  let z = sigmoid(act_ld(g0 + H) + gh.y);
  let n = tanh(act_ld(g0 + 2u * H) + r * gh.z);
  let hp = act_ld(dims.oHprev + row * H + j);
  let h = (1.0 - z) * n + z * hp;
  act_st(g0, r); act_st(g0 + H, z); act_st(g0 + 2u * H, n);
  act_st(dims.oGhn + row * H + j, gh.z);
  act_st(o_at, h);
  if (t == last_step(l)) {
    fin[dims.oHn + b * H + j] = h;
  } else {
    act_st(dims.oHprev + (next_step(t) * B + b) * H + j, h);
  }
}

fn backward_cell(p: u32, t: u32, b: u32, j: u32, rec: f32) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let dx0 = dims.oDgates + row * 3u * H + j;
  let dg0 = dims.oDgh + row * 3u * H + j;
  if (t >= l) {
    if (dims.oDhs != NONE) { grad_st(dims.oDhs + row * H + j, 0.0); }
    grad_st(dx0, 0.0); grad_st(dx0 + H, 0.0); grad_st(dx0 + 2u * H, 0.0);
    grad_st(dg0, 0.0); grad_st(dg0 + H, 0.0); grad_st(dg0 + 2u * H, 0.0);
    return;
  }
  var dh = dOut[dims.offDOut + row * dims.ldOut + j];
  if (t == last_step(l)) {
    dh += dfin[dims.oHn + b * H + j];
  } else {
    dh += grad_ld(dims.oDcarry + b * H + j) + rec;
  }
  if (dims.oDhs != NONE) { grad_st(dims.oDhs + row * H + j, dh); }
  let s0 = dims.oGates + row * 3u * H + j;
  let r = saved[s0]; let z = saved[s0 + H]; let n = saved[s0 + 2u * H];
  let ghn = saved[dims.oGhn + row * H + j];
  let hp = saved[dims.oHprev + row * H + j];
  // h = (1 - z) n + z h_prev
  let dn_pre = dh * (1.0 - z) * (1.0 - n * n);          // n = tanh(gates_n + r gh_n)
  let dz_pre = dh * (hp - n) * z * (1.0 - z);           // z = sigmoid(.)
  let dr_pre = dn_pre * ghn * r * (1.0 - r);            // r = sigmoid(.)
  grad_st(dims.oDcarry + b * H + j, dh * z);            // the z * h_prev path
  grad_st(dx0, dr_pre); grad_st(dx0 + H, dz_pre); grad_st(dx0 + 2u * H, dn_pre);
  grad_st(dg0, dr_pre); grad_st(dg0 + H, dz_pre); grad_st(dg0 + 2u * H, dn_pre * r);
}

fn final_cell(b: u32, j: u32, rec: f32) {
  let H = dims.H;
  dinit[dims.oH0 + b * H + j] = grad_ld(dims.oDcarry + b * H + j) + rec;
}
