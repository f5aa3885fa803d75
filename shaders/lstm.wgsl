// LSTM, PyTorch's formulas and gate order (i, f, g, o), one layer and direction:
//
//   gates = x W_ih^T + b_ih          (one GEMM over all T*B rows, before the loop; stored in `gates`)
//   i, f, o = sigmoid(.), g = tanh(.) of  gates[t] + h_{t-1} W_hh^T + b_hh
//   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)
//
// Layout and directions: recurrent.wgsl; entry points: recurrent_steps.wgsl; tensors: src/nn/cells.ts. G = 4; the cell's own tensors:
//   act:  cprev [T, B, H] (the cell state each step started from)
//   fin / init: hn, cn / h0, c0 [B, H] at oHn, oCn / oH0, oC0
//   grad: dgates [T, B, 4H], dcarry [B, H] (dc flowing to the previous step)
// Backward per step: dh = dOut[t] + sum_k dgates[next, k] W_hh[k, j] (or dhn at a row's last step),
// dc = dcarry (or dcn); dgates[t] through the gates; dcarry = dc * f.

const G = 4u;
const PHASES = 1u;

// #include recurrent
// #include recurrent_steps
// #include recurrent_one_phase

fn dgh_base() -> u32 { return dims.oDgates; }

fn init_unit(b: u32, j: u32) {
  let H = dims.H;
  let at = (first_step(row_len(b)) * dims.B + b) * H + j;
  act_st(dims.oHprev + at, init[dims.oH0 + b * H + j]);
  act_st(dims.oCprev + at, init[dims.oC0 + b * H + j]);
}

fn forward_cell(p: u32, t: u32, b: u32, j: u32, gh: vec4<f32>) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let o_at = dims.oOut + row * dims.ldOut + j;
  if (t >= l) { act_st(o_at, 0.0); return; }
  let g0 = dims.oGates + row * 4u * H + j;
  var pre = vec4<f32>(act_ld(g0), act_ld(g0 + H), act_ld(g0 + 2u * H), act_ld(g0 + 3u * H)) + gh;
  if (dims.hasBias != 0u) {
    let bb = dims.oBhh + j;
    pre += vec4<f32>(w[bb], w[bb + H], w[bb + 2u * H], w[bb + 3u * H]);
  }
  let ig = sigmoid(pre.x);
  let fg = sigmoid(pre.y);
  let gg = tanh(pre.z);
  let og = sigmoid(pre.w);
  let c = fg * act_ld(dims.oCprev + row * H + j) + ig * gg;
  let h = og * tanh(c);
  act_st(g0, ig); act_st(g0 + H, fg); act_st(g0 + 2u * H, gg); act_st(g0 + 3u * H, og);
  act_st(o_at, h);
  if (t == last_step(l)) {
    fin[dims.oHn + b * H + j] = h;
    fin[dims.oCn + b * H + j] = c;
  } else {
    let at = (next_step(t) * B + b) * H + j;
    act_st(dims.oHprev + at, h);
    act_st(dims.oCprev + at, c);
  }
}

fn backward_cell(p: u32, t: u32, b: u32, j: u32, rec: f32) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let d0 = dims.oDgates + row * 4u * H + j;
  if (t >= l) {
    if (dims.oDhs != NONE) { grad_st(dims.oDhs + row * H + j, 0.0); }
    grad_st(d0, 0.0); grad_st(d0 + H, 0.0); grad_st(d0 + 2u * H, 0.0); grad_st(d0 + 3u * H, 0.0);
    return;
  }
  var dh = dOut[dims.offDOut + row * dims.ldOut + j];
  var dc: f32;
  if (t == last_step(l)) {
    dh += dfin[dims.oHn + b * H + j];
    dc = dfin[dims.oCn + b * H + j];
  } else {
    dh += rec;
    dc = grad_ld(dims.oDcarry + b * H + j);
  }
  if (dims.oDhs != NONE) { grad_st(dims.oDhs + row * H + j, dh); }
  let s0 = dims.oGates + row * 4u * H + j;
  let ig = saved[s0]; let fg = saved[s0 + H]; let gg = saved[s0 + 2u * H]; let og = saved[s0 + 3u * H];
  let cp = saved[dims.oCprev + row * H + j];
  let c = fg * cp + ig * gg;                         // c_t = f * c_{t-1} + i * g
  let tc = tanh(c);                                  // h_t = o * tanh(c_t)
  dc += dh * og * (1.0 - tc * tc);
  grad_st(dims.oDcarry + b * H + j, dc * fg);        // dc_{t-1}
  grad_st(d0, dc * gg * ig * (1.0 - ig));            // i = sigmoid(.)
  grad_st(d0 + H, dc * cp * fg * (1.0 - fg));        // f = sigmoid(.)
  grad_st(d0 + 2u * H, dc * ig * (1.0 - gg * gg));   // g = tanh(.)
  grad_st(d0 + 3u * H, dh * tc * og * (1.0 - og));   // o = sigmoid(.)
}

fn final_cell(b: u32, j: u32, rec: f32) {
  let H = dims.H;
  dinit[dims.oH0 + b * H + j] = rec;
  dinit[dims.oC0 + b * H + j] = grad_ld(dims.oDcarry + b * H + j);
}
