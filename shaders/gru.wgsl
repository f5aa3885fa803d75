// GRU, PyTorch's formulas and gate order (r, z, n), one layer and direction.
//
//   gates = x W_ih^T + b_ih          (one GEMM over all T*B rows, before the loop)
//   gh = h_{t-1} W_hh^T + b_hh       (inside the step, per gate block)
//   r = sigmoid(gates_r + gh_r),  z = sigmoid(gates_z + gh_z)
//   n = tanh(gates_n + r * gh_n),  h_t = (1 - z) * n + z * h_{t-1}
//
// Same layout, directions, lengths and entry points as lstm.wgsl (G = 3), with
//   act:  ghn [T, B, H] (gh_n, needed for dr) instead of cprev
//   grad: dgx [T, B, 3H] (input side: d gates pre-activations),
//         dgh [T, B, 3H] (hidden side: equal to dgx except n: dn_pre * r),
//         dcarry [B, H] (dh_{t-1} through the z * h_{t-1} path)
// Backward per step: dh = dOut[t] + dcarry + sum_k dgh[next, k] W_hh[k, j] (or dhn at a row's last step).

struct GruDims {
  T: u32, B: u32, H: u32,
  t: u32,
  reverse: u32,
  ldOut: u32,
  oOut: u32, oGates: u32, oHprev: u32, oGhn: u32,   // in act / saved
  oHn: u32,                                         // in fin / dfin
  oH0: u32,                                         // in init / dinit
  oDgates: u32, oDgh: u32, oDcarry: u32,            // in grad
  oWhh: u32, oBhh: u32,                             // in w
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

fn forward_unit(t: u32, b: u32, j: u32) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let o_at = dims.oOut + row * dims.ldOut + j;
  if (t >= l) { act[o_at] = 0.0; return; }
  // gh for this unit's three gates: sum_k W_hh[g*H + j, k] * h_prev[k].
  let hp0 = dims.oHprev + row * H;
  let w0 = dims.oWhh + j * H;
  let gs = H * H;
  var acc = vec3<f32>(0.0);
  for (var k = 0u; k < H; k++) {
    let wk = w0 + k;
    acc = fma(vec3<f32>(w[wk], w[wk + gs], w[wk + 2u * gs]), vec3<f32>(act[hp0 + k]), acc);
  }
  if (dims.hasBias != 0u) {
    let bb = dims.oBhh + j;
    acc += vec3<f32>(w[bb], w[bb + H], w[bb + 2u * H]);
  }
  let g0 = dims.oGates + row * 3u * H + j;
  let r = sigmoid(act[g0] + acc.x);
  let z = sigmoid(act[g0 + H] + acc.y);
  let n = tanh(act[g0 + 2u * H] + r * acc.z);
  let hp = act[hp0 + j];
  let h = (1.0 - z) * n + z * hp;
  act[g0] = r; act[g0 + H] = z; act[g0 + 2u * H] = n;
  act[dims.oGhn + row * H + j] = acc.z;
  act[o_at] = h;
  if (t == last_step(l)) {
    fin[dims.oHn + b * H + j] = h;
  } else {
    act[dims.oHprev + (next_step(t) * B + b) * H + j] = h;
  }
}

// sum over the 3H gate rows k of dgh[step, b, k] * W_hh[k, j].
fn recurrent_grad(step: u32, b: u32, j: u32) -> f32 {
  let H = dims.H;
  let d0 = dims.oDgh + (step * dims.B + b) * 3u * H;
  let w0 = dims.oWhh + j;
  let gs = H * H;
  var acc = vec3<f32>(0.0);
  for (var k = 0u; k < H; k++) {
    let wk = w0 + k * H;
    let d = d0 + k;
    acc = fma(vec3<f32>(grad[d], grad[d + H], grad[d + 2u * H]), vec3<f32>(w[wk], w[wk + gs], w[wk + 2u * gs]), acc);
  }
  return acc.x + acc.y + acc.z;
}

fn backward_unit(t: u32, b: u32, j: u32) {
  let H = dims.H; let B = dims.B;
  let l = row_len(b);
  let row = t * B + b;
  let dx0 = dims.oDgates + row * 3u * H + j;
  let dh0_ = dims.oDgh + row * 3u * H + j;
  if (t >= l) {
    if (dims.oDhs != NONE) { grad[dims.oDhs + row * H + j] = 0.0; }
    grad[dx0] = 0.0; grad[dx0 + H] = 0.0; grad[dx0 + 2u * H] = 0.0;
    grad[dh0_] = 0.0; grad[dh0_ + H] = 0.0; grad[dh0_ + 2u * H] = 0.0;
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
  let r = saved[s0]; let z = saved[s0 + H]; let n = saved[s0 + 2u * H];
  let ghn = saved[dims.oGhn + row * H + j];
  let hp = saved[dims.oHprev + row * H + j];
  // h = (1 - z) n + z h_prev
  let dn_pre = dh * (1.0 - z) * (1.0 - n * n);          // n = tanh(gates_n + r gh_n)
  let dz_pre = dh * (hp - n) * z * (1.0 - z);           // z = sigmoid(.)
  let dr_pre = dn_pre * ghn * r * (1.0 - r);            // r = sigmoid(.)
  grad[dims.oDcarry + b * H + j] = dh * z;              // the z * h_prev path
  grad[dx0] = dr_pre; grad[dx0 + H] = dz_pre; grad[dx0 + 2u * H] = dn_pre;
  grad[dh0_] = dr_pre; grad[dh0_ + H] = dz_pre; grad[dh0_ + 2u * H] = dn_pre * r;
}

fn final_unit(b: u32, j: u32) {
  let H = dims.H;
  dinit[dims.oH0 + b * H + j] = grad[dims.oDcarry + b * H + j] + recurrent_grad(first_step(row_len(b)), b, j);
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
