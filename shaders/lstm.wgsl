// LSTM, PyTorch's formulas and gate order (i, f, g, o), one layer and direction.
//
//   gates = x W_ih^T + b_ih          (one GEMM over all T*B rows, before the loop; stored in `gates`)
//   i, f, o = sigmoid(.), g = tanh(.) of  gates[t] + h_{t-1} W_hh^T + b_hh
//   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)
//
// Dimension letters: T timesteps, B batch, H hidden, G = 4 gates.
// Tensors are regions of a few buffers, located by element offsets (o*):
//   act   (forward, read_write; `saved` is the same buffer, read-only, in backward):
//         out [T, B, ldOut] (h_t in columns 0..H-1 of a row: this direction's slice),
//         gates [T, B, 4H] (pre-activations in, activations out),
//         hprev, cprev [T, B, H] (the state each step started from)
//   fin / dfin:   hn, cn [B, H] final states / their upstream gradients
//   init / dinit: h0, c0 [B, H] initial states / their gradients
//   grad:  dgates [T, B, 4H], dcarry [B, H] (dc flowing to the previous step)
//   w:     W_hh [4H, H], b_hh [4H] (the parameter arena)
//
// Directions and lengths: row b is active at time t iff t < len[b]. The
// forward direction runs t = 0..T-1 (first step 0, last len[b]-1); the
// reverse direction runs t = T-1..0 (first step len[b]-1, last 0). `next(t)`
// is the step after t in the direction's order. Inactive outputs are zero.
//
// Entry points (grid: ceil(H / WG) x B; one invocation per batch row and unit):
//   forward_init    hprev[first], cprev[first] = h0, c0                       1 dispatch
//   forward_step    step t: gates, c, h; h, c -> hprev/cprev[next], or hn/cn at the last step   T dispatches
//   backward_step   step t, in reverse order: dh, dc -> dgates[t], dcarry        T dispatches
//   backward_final  dh0 = dgates[first] W_hh, dc0 = dcarry                       1 dispatch
// Accumulation: activation gradients are written (=); parameter gradients come from GEMMs after the loop.

struct LstmDims {
  T: u32, B: u32, H: u32,
  t: u32,          // the timestep of this dispatch
  reverse: u32,    // 1: this direction runs T-1 -> 0
  ldOut: u32,      // row stride of out and dOut (D*H)
  oOut: u32, oGates: u32, oHprev: u32, oCprev: u32,   // in act / saved
  oHn: u32, oCn: u32,                                 // in fin / dfin
  oH0: u32, oC0: u32,                                 // in init / dinit
  oDgates: u32, oDcarry: u32,                         // in grad
  oWhh: u32, oBhh: u32,                               // in w
  offDOut: u32, offLen: u32,
  hasBias: u32,
  oDhs: u32,       // in grad: where to keep dL/dh_t [T, B, H] (for per-timestep norms); NONE: not kept
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
@group(0) @binding(10) var<uniform> dims: LstmDims;

override WG: u32 = 64;

fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }

fn row_len(b: u32) -> u32 { return u32(len[dims.offLen + b]); }
fn first_step(l: u32) -> u32 { return select(0u, l - 1u, dims.reverse == 1u); }
fn last_step(l: u32) -> u32 { return select(l - 1u, 0u, dims.reverse == 1u); }
fn next_step(t: u32) -> u32 { return select(t + 1u, t - 1u, dims.reverse == 1u); }

fn init_unit(b: u32, j: u32) {
  let H = dims.H;
  let at = (first_step(row_len(b)) * dims.B + b) * H + j;
  act[dims.oHprev + at] = init[dims.oH0 + b * H + j];
  act[dims.oCprev + at] = init[dims.oC0 + b * H + j];
}

fn forward_unit(t: u32, b: u32, j: u32) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let o_at = dims.oOut + row * dims.ldOut + j;
  if (t >= l) { act[o_at] = 0.0; return; }
  // Recurrent product for this unit's four gates: sum_k W_hh[g*H + j, k] * h_prev[k].
  let hp0 = dims.oHprev + row * H;
  let w0 = dims.oWhh + j * H;
  let gs = H * H;  // distance between the gate blocks of W_hh
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < H; k++) {
    let h = act[hp0 + k];
    let wk = w0 + k;
    acc = fma(vec4<f32>(w[wk], w[wk + gs], w[wk + 2u * gs], w[wk + 3u * gs]), vec4<f32>(h), acc);
  }
  let g0 = dims.oGates + row * 4u * H + j;
  var pre = vec4<f32>(act[g0], act[g0 + H], act[g0 + 2u * H], act[g0 + 3u * H]) + acc;
  if (dims.hasBias != 0u) {
    let bb = dims.oBhh + j;
    pre += vec4<f32>(w[bb], w[bb + H], w[bb + 2u * H], w[bb + 3u * H]);
  }
  let ig = sigmoid(pre.x);
  let fg = sigmoid(pre.y);
  let gg = tanh(pre.z);
  let og = sigmoid(pre.w);
  let c = fg * act[dims.oCprev + row * H + j] + ig * gg;
  let h = og * tanh(c);
  act[g0] = ig; act[g0 + H] = fg; act[g0 + 2u * H] = gg; act[g0 + 3u * H] = og;
  act[o_at] = h;
  if (t == last_step(l)) {
    fin[dims.oHn + b * H + j] = h;
    fin[dims.oCn + b * H + j] = c;
  } else {
    let at = (next_step(t) * B + b) * H + j;
    act[dims.oHprev + at] = h;
    act[dims.oCprev + at] = c;
  }
}

// The gradient reaching h_prev of step `step`: sum over the 4H gate rows k of dgates[step, b, k] * W_hh[k, j].
fn recurrent_grad(step: u32, b: u32, j: u32) -> f32 {
  let H = dims.H;
  let d0 = dims.oDgates + (step * dims.B + b) * 4u * H;
  let w0 = dims.oWhh + j;
  let gs = H * H;
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < H; k++) {
    let wk = w0 + k * H;
    let d = d0 + k;
    acc = fma(vec4<f32>(grad[d], grad[d + H], grad[d + 2u * H], grad[d + 3u * H]),
              vec4<f32>(w[wk], w[wk + gs], w[wk + 2u * gs], w[wk + 3u * gs]), acc);
  }
  return (acc.x + acc.y) + (acc.z + acc.w);
}

fn backward_unit(t: u32, b: u32, j: u32) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let d0 = dims.oDgates + row * 4u * H + j;
  if (t >= l) {
    if (dims.oDhs != NONE) { grad[dims.oDhs + row * H + j] = 0.0; }
    // Inactive: no gradient (the weight-gradient GEMMs read every row).
    grad[d0] = 0.0; grad[d0 + H] = 0.0; grad[d0 + 2u * H] = 0.0; grad[d0 + 3u * H] = 0.0;
    return;
  }
  var dh = dOut[dims.offDOut + row * dims.ldOut + j];
  var dc: f32;
  if (t == last_step(l)) {
    dh += dfin[dims.oHn + b * H + j];
    dc = dfin[dims.oCn + b * H + j];
  } else {
    dh += recurrent_grad(next_step(t), b, j);
    dc = grad[dims.oDcarry + b * H + j];
  }
  if (dims.oDhs != NONE) { grad[dims.oDhs + row * H + j] = dh; }
  let s0 = dims.oGates + row * 4u * H + j;
  let ig = saved[s0]; let fg = saved[s0 + H]; let gg = saved[s0 + 2u * H]; let og = saved[s0 + 3u * H];
  let cp = saved[dims.oCprev + row * H + j];
  let c = fg * cp + ig * gg;                      // c_t = f * c_{t-1} + i * g
  let tc = tanh(c);                               // h_t = o * tanh(c_t)
  dc += dh * og * (1.0 - tc * tc);
  grad[dims.oDcarry + b * H + j] = dc * fg;       // dc_{t-1}
  grad[d0] = dc * gg * ig * (1.0 - ig);           // i = sigmoid(.)
  grad[d0 + H] = dc * cp * fg * (1.0 - fg);       // f = sigmoid(.)
  grad[d0 + 2u * H] = dc * ig * (1.0 - gg * gg);  // g = tanh(.)
  grad[d0 + 3u * H] = dh * tc * og * (1.0 - og);  // o = sigmoid(.)
}

fn final_unit(b: u32, j: u32) {
  let H = dims.H;
  dinit[dims.oH0 + b * H + j] = recurrent_grad(first_step(row_len(b)), b, j);
  dinit[dims.oC0 + b * H + j] = grad[dims.oDcarry + b * H + j];
}

// ---- entry points: per step (grid ceil(H / WG) x B, one invocation per unit) ----

@compute @workgroup_size(WG)
fn forward_init(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { init_unit(gid.y, gid.x); }
}

@compute @workgroup_size(WG)
fn forward_step(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { forward_unit(dims.t, gid.y, gid.x); }
}

@compute @workgroup_size(WG)
fn backward_step(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { backward_unit(dims.t, gid.y, gid.x); }
}

@compute @workgroup_size(WG)
fn backward_final(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { final_unit(gid.y, gid.x); }
}

// ---- entry points: whole sequence (grid 1 x B: one workgroup owns batch row b) ----
// The workgroup's invocations share the row's H units; a step's results reach
// the next step through storage memory and storageBarrier(), which WebGPU
// guarantees within a workgroup. Never waits on another workgroup.

@compute @workgroup_size(WG)
fn forward_seq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.y;
  for (var j = lid; j < dims.H; j += WG) { init_unit(b, j); }
  storageBarrier();
  for (var s = 0u; s < dims.T; s++) {
    let t = select(s, dims.T - 1u - s, dims.reverse == 1u);
    for (var j = lid; j < dims.H; j += WG) { forward_unit(t, b, j); }
    storageBarrier();
  }
}

@compute @workgroup_size(WG)
fn backward_seq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.y;
  for (var s = 0u; s < dims.T; s++) {
    let t = select(dims.T - 1u - s, s, dims.reverse == 1u);
    for (var j = lid; j < dims.H; j += WG) { backward_unit(t, b, j); }
    storageBarrier();
  }
  for (var j = lid; j < dims.H; j += WG) { final_unit(b, j); }
}
