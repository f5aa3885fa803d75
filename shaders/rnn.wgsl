// Elman RNN, PyTorch's formula, one layer and direction:
//
//   gates = x W_ih^T + b_ih          (one GEMM over all T*B rows, before the loop)
//   h_t = act(gates[t] + h_{t-1} W_hh^T + b_hh),  act = tanh, or relu when RELU
//
// Same layout, directions, lengths and entry points as lstm.wgsl (G = 1);
// `gates` holds h_t after the step (the activation, all backward needs).
// Backward per step: dh = dOut[t] + sum_k dgates[next, k] W_hh[k, j] (or dhn at a row's
// last step); dgates[t] = dh * act'(h_t).

struct RnnDims {
  T: u32, B: u32, H: u32,
  t: u32,
  reverse: u32,
  ldOut: u32,
  oOut: u32, oGates: u32, oHprev: u32,   // in act / saved
  oHn: u32,                              // in fin / dfin
  oH0: u32,                              // in init / dinit
  oDgates: u32,                          // in grad
  oWhh: u32, oBhh: u32,                  // in w
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
@group(0) @binding(10) var<uniform> dims: RnnDims;

override WG: u32 = 64;
override RELU: bool = false;

fn row_len(b: u32) -> u32 { return u32(len[dims.offLen + b]); }
fn first_step(l: u32) -> u32 { return select(0u, l - 1u, dims.reverse == 1u); }
fn last_step(l: u32) -> u32 { return select(l - 1u, 0u, dims.reverse == 1u); }
fn next_step(t: u32) -> u32 { return select(t + 1u, t - 1u, dims.reverse == 1u); }

fn init_unit(b: u32, j: u32) {
  let H = dims.H;
  act[dims.oHprev + (first_step(row_len(b)) * dims.B + b) * H + j] = init[dims.oH0 + b * H + j];
}

fn forward_unit(t: u32, b: u32, j: u32) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let o_at = dims.oOut + row * dims.ldOut + j;
  if (t >= l) { act[o_at] = 0.0; return; }
  let hp0 = dims.oHprev + row * H;
  let w0 = dims.oWhh + j * H;
  var acc = vec4<f32>(0.0);
  var k = 0u;
  for (; k + 4u <= H; k += 4u) {
    acc = fma(vec4<f32>(w[w0 + k], w[w0 + k + 1u], w[w0 + k + 2u], w[w0 + k + 3u]),
              vec4<f32>(act[hp0 + k], act[hp0 + k + 1u], act[hp0 + k + 2u], act[hp0 + k + 3u]), acc);
  }
  var s = (acc.x + acc.y) + (acc.z + acc.w);
  for (; k < H; k++) { s = fma(w[w0 + k], act[hp0 + k], s); }
  let g0 = dims.oGates + row * H + j;
  var pre = act[g0] + s;
  if (dims.hasBias != 0u) { pre += w[dims.oBhh + j]; }
  var h: f32;
  if (RELU) { h = max(pre, 0.0); } else { h = tanh(pre); }
  act[g0] = h;
  act[o_at] = h;
  if (t == last_step(l)) {
    fin[dims.oHn + b * H + j] = h;
  } else {
    act[dims.oHprev + (next_step(t) * B + b) * H + j] = h;
  }
}

// sum over the H rows k of dgates[step, b, k] * W_hh[k, j].
fn recurrent_grad(step: u32, b: u32, j: u32) -> f32 {
  let H = dims.H;
  let d0 = dims.oDgates + (step * dims.B + b) * H;
  let w0 = dims.oWhh + j;
  var s = 0.0;
  for (var k = 0u; k < H; k++) { s = fma(grad[d0 + k], w[w0 + k * H], s); }
  return s;
}

fn backward_unit(t: u32, b: u32, j: u32) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let d0 = dims.oDgates + row * H + j;
  if (t >= l) {
    grad[d0] = 0.0;
    if (dims.oDhs != NONE) { grad[dims.oDhs + row * H + j] = 0.0; }
    return;
  }
  var dh = dOut[dims.offDOut + row * dims.ldOut + j];
  if (t == last_step(l)) {
    dh += dfin[dims.oHn + b * H + j];
  } else {
    dh += recurrent_grad(next_step(t), b, j);
  }
  if (dims.oDhs != NONE) { grad[dims.oDhs + row * H + j] = dh; }
  let h = saved[dims.oGates + row * H + j];
  if (RELU) { grad[d0] = select(0.0, dh, h > 0.0); } else { grad[d0] = dh * (1.0 - h * h); }
}

fn final_unit(b: u32, j: u32) {
  let H = dims.H;
  dinit[dims.oH0 + b * H + j] = recurrent_grad(first_step(row_len(b)), b, j);
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
