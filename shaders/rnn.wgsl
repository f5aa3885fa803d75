// Elman RNN, PyTorch's formula, one layer and direction:
//
//   gates = x W_ih^T + b_ih          (one GEMM over all T*B rows, before the loop)
//   h_t = act(gates[t] + h_{t-1} W_hh^T + b_hh),  act = tanh, or relu when RELU
//
// Layout and directions: recurrent.wgsl; entry points: recurrent_steps.wgsl; tensors: src/nn/cells.ts. G = 1; `gates`
// holds h_t after the step (the activation: all backward needs).
// Backward per step: dh = dOut[t] + sum_k dgates[next, k] W_hh[k, j] (or dhn at a row's
// last step); dgates[t] = dh * act'(h_t).

const G = 1u;
const PHASES = 1u;
override RELU: bool = false;

// #include recurrent
// #include recurrent_steps
// #include recurrent_one_phase

fn dgh_base() -> u32 { return dims.oDgates; }

fn init_unit(b: u32, j: u32) {
  let H = dims.H;
  act_st(dims.oHprev + (first_step(row_len(b)) * dims.B + b) * H + j, init[dims.oH0 + b * H + j]);
}

fn forward_cell(p: u32, t: u32, b: u32, j: u32, gh: vec4<f32>) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let o_at = dims.oOut + row * dims.ldOut + j;
  if (t >= l) { act_st(o_at, 0.0); return; }
  let g0 = dims.oGates + row * H + j;
  var pre = act_ld(g0) + gh.x;
  if (dims.hasBias != 0u) { pre += w[dims.oBhh + j]; }
  var h: f32;
  if (RELU) { h = max(pre, 0.0); } else { h = tanh(pre); }
  act_st(g0, h);
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
  let d0 = dims.oDgates + row * H + j;
  if (t >= l) {
    grad_st(d0, 0.0);
    if (dims.oDhs != NONE) { grad_st(dims.oDhs + row * H + j, 0.0); }
    return;
  }
  var dh = dOut[dims.offDOut + row * dims.ldOut + j];
  if (t == last_step(l)) {
    dh += dfin[dims.oHn + b * H + j];
  } else {
    dh += rec;
  }
  if (dims.oDhs != NONE) { grad_st(dims.oDhs + row * H + j, dh); }
  let h = saved[dims.oGates + row * H + j];
  if (RELU) { grad_st(d0, select(0.0, dh, h > 0.0)); } else { grad_st(d0, dh * (1.0 - h * h)); }
}

fn final_cell(b: u32, j: u32, rec: f32) {
  dinit[dims.oH0 + b * dims.H + j] = rec;
}
