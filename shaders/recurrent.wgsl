// Shared by the recurrent cells (rnn.wgsl, lstm.wgsl, gru.wgsl, which include
// it): bindings, direction and length bookkeeping, the two matrix products of
// a step, and the entry points. A cell file defines `struct Dims`, `const G`
// (its gate count) and the per-unit formulas:
//   init_unit(b, j)                     state at a row's first step <- h0 (c0)
//   forward_cell(t, b, j, gh: vec4)     gh = the recurrent products of unit j's G gates (no bias)
//   backward_cell(t, b, j, rec: f32)    rec = the gradient reaching h_prev of step next(t) ... see below
//   final_cell(b, j, rec: f32)          gradients of the initial state
//   dgh_base() -> u32                   where the hidden-side gate gradients start in grad
//
// Tensors are regions of a few buffers, located by element offsets (dims.o*):
//   act   (forward, read_write; `saved` is the same buffer, read-only, in backward):
//         out [T, B, ldOut] (h_t in columns 0..H-1 of a row: this direction's slice),
//         gates [T, B, G*H] (pre-activations in, activations out), hprev [T, B, H] (the
//         state each step started from), and the cell's own (cprev, gh_n)
//   fin / dfin:   final states / their upstream gradients;  init / dinit: initial states / their gradients
//   grad:  dgates [T, B, G*H] and the cell's gradient carries
//   w:     the parameter arena (W_hh [G*H, H] at oWhh, b_hh [G*H] at oBhh)
// act and grad are bound as vec4 arrays (the products read them 4 floats at a
// time; WebGPU forbids two writable views of one buffer), scalars through
// act_ld/act_st and grad_ld/grad_st.
//
// Directions and lengths: row b is active at time t iff t < len[b]. The forward
// direction runs t = 0..T-1 (first step 0, last len[b]-1); the reverse direction
// runs t = T-1..0 (first step len[b]-1, last 0). next(t) is the step after t in
// the direction's order. Inactive outputs and gradients are zero.
//
// Work split: an invocation owns ROWS batch rows (they share every W_hh load);
// forward one unit j, backward four units j0..j0+3 (W_hh rows are read along j).
//   forward_init    state at each row's first step              grid ceil(H/WG) x B            1 dispatch
//   forward_step    step t                                      grid ceil(H/WG) x ceil(B/ROWS)  T dispatches
//   backward_step   step t, in reverse order                    grid ceil(H/4/WG) x ceil(B/ROWS)  T
//   backward_final  gradients of h0 (c0)                        as backward_step                1 dispatch
//   forward_seq, backward_seq: all T steps, a workgroup per ROWS batch rows, grid 1 x ceil(B/ROWS)
// VEC4 (H % 4 == 0): W_hh, h and dgates are read 4 floats at a time.
// Accumulation: activation gradients are written (=); parameter gradients come from GEMMs after the loop.

@group(0) @binding(0) var<storage, read_write> act: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> fin: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dinit: array<f32>;
@group(0) @binding(4) var<storage, read> saved: array<f32>;
@group(0) @binding(5) var<storage, read> init: array<f32>;
@group(0) @binding(6) var<storage, read> dOut: array<f32>;
@group(0) @binding(7) var<storage, read> dfin: array<f32>;
@group(0) @binding(8) var<storage, read> w: array<f32>;
@group(0) @binding(9) var<storage, read> len: array<f32>;
@group(0) @binding(10) var<uniform> dims: Dims;
// The parameter buffer again, 4 floats at a time (read-only views may alias).
@group(0) @binding(11) var<storage, read> w4: array<vec4<f32>>;

override WG: u32 = 64;
override VEC4: bool = false;
const ROWS = 4u;
const NONE = 0xffffffffu;

fn act_ld(i: u32) -> f32 { return act[i >> 2u][i & 3u]; }
fn act_st(i: u32, v: f32) { act[i >> 2u][i & 3u] = v; }
fn grad_ld(i: u32) -> f32 { return grad[i >> 2u][i & 3u]; }
fn grad_st(i: u32, v: f32) { grad[i >> 2u][i & 3u] = v; }
fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }

fn row_len(b: u32) -> u32 { return u32(len[dims.offLen + b]); }
fn first_step(l: u32) -> u32 { return select(0u, l - 1u, dims.reverse == 1u); }
fn last_step(l: u32) -> u32 { return select(l - 1u, 0u, dims.reverse == 1u); }
fn next_step(t: u32) -> u32 { return select(t + 1u, t - 1u, dims.reverse == 1u); }
// next_step kept inside 0..T-1: the product is computed for every row, used only where t is not the row's last step.
fn next_clamped(t: u32) -> u32 {
  if (dims.reverse == 1u) { return select(t - 1u, 0u, t == 0u); }
  return min(t + 1u, dims.T - 1u);
}

// gh[r][g] = sum_k W_hh[g*H + j, k] * h_prev[row b0 + r, step t][k], for the G gates.
fn forward_product(t: u32, b0: u32, j: u32) -> array<vec4<f32>, ROWS> {
  let H = dims.H; let B = dims.B;
  var gh: array<vec4<f32>, ROWS>;
  var hp: array<u32, ROWS>;
  for (var r = 0u; r < ROWS; r++) { hp[r] = dims.oHprev + (t * B + min(b0 + r, B - 1u)) * H; }
  if (VEC4) {
    let H4 = H / 4u;
    let w0 = (dims.oWhh + j * H) / 4u;
    for (var k = 0u; k < H4; k++) {
      var wv: array<vec4<f32>, 4>;
      for (var g = 0u; g < G; g++) { wv[g] = w4[w0 + g * H * H4 + k]; }
      for (var r = 0u; r < ROWS; r++) {
        let h = act[hp[r] / 4u + k];
        var d = vec4<f32>(0.0);
        for (var g = 0u; g < G; g++) { d[g] = dot(wv[g], h); }
        gh[r] += d;
      }
    }
  } else {
    let w0 = dims.oWhh + j * H;
    for (var k = 0u; k < H; k++) {
      var wv = vec4<f32>(0.0);
      for (var g = 0u; g < G; g++) { wv[g] = w[w0 + g * H * H + k]; }
      for (var r = 0u; r < ROWS; r++) { gh[r] = fma(wv, vec4<f32>(act_ld(hp[r] + k)), gh[r]); }
    }
  }
  return gh;
}

// rec[r][u] = sum over the G*H gate rows k of dgh[steps[r], row b0 + r, k] * W_hh[k, j0 + u].
fn backward_product(steps: array<u32, ROWS>, b0: u32, j0: u32) -> array<vec4<f32>, ROWS> {
  let H = dims.H; let B = dims.B;
  let GH = G * H;
  var rec: array<vec4<f32>, ROWS>;
  var d0: array<u32, ROWS>;
  for (var r = 0u; r < ROWS; r++) { d0[r] = dgh_base() + (steps[r] * B + min(b0 + r, B - 1u)) * GH; }
  if (VEC4) {
    // Four gate rows k at a time: dgh[.., k..k+3] as one vec4, W_hh rows k..k+3 at units j0..j0+3.
    let H4 = H / 4u;
    var wi = (dims.oWhh + j0) / 4u;
    for (var k = 0u; k < GH; k += 4u) {
      let w0 = w4[wi]; let w1 = w4[wi + H4]; let w2 = w4[wi + 2u * H4]; let w3 = w4[wi + 3u * H4];
      wi += 4u * H4;
      for (var r = 0u; r < ROWS; r++) {
        let dg = grad[(d0[r] + k) / 4u];
        rec[r] = fma(w0, vec4<f32>(dg.x), fma(w1, vec4<f32>(dg.y), fma(w2, vec4<f32>(dg.z), fma(w3, vec4<f32>(dg.w), rec[r]))));
      }
    }
  } else {
    let lim = H - 1u - j0;  // units past H read unit H-1; their sums are never used
    for (var k = 0u; k < GH; k++) {
      let wk = dims.oWhh + k * H + j0;
      let wv = vec4<f32>(w[wk], w[wk + min(1u, lim)], w[wk + min(2u, lim)], w[wk + min(3u, lim)]);
      for (var r = 0u; r < ROWS; r++) { rec[r] = fma(wv, vec4<f32>(grad_ld(d0[r] + k)), rec[r]); }
    }
  }
  return rec;
}

fn forward_units(t: u32, b0: u32, j: u32) {
  let gh = forward_product(t, b0, j);
  for (var r = 0u; r < ROWS; r++) {
    if (b0 + r < dims.B) { forward_cell(t, b0 + r, j, gh[r]); }
  }
}

// Rows b0 .. b0+ROWS-1, units j0 .. j0+3.
fn backward_units(t: u32, b0: u32, j0: u32) {
  var steps: array<u32, ROWS>;
  let nt = next_clamped(t);
  for (var r = 0u; r < ROWS; r++) { steps[r] = nt; }
  let rec = backward_product(steps, b0, j0);
  for (var r = 0u; r < ROWS; r++) {
    if (b0 + r >= dims.B) { break; }
    for (var u = 0u; u < 4u; u++) {
      if (j0 + u < dims.H) { backward_cell(t, b0 + r, j0 + u, rec[r][u]); }
    }
  }
}

fn final_units(b0: u32, j0: u32) {
  var steps: array<u32, ROWS>;
  for (var r = 0u; r < ROWS; r++) { steps[r] = first_step(row_len(min(b0 + r, dims.B - 1u))); }
  let rec = backward_product(steps, b0, j0);
  for (var r = 0u; r < ROWS; r++) {
    if (b0 + r >= dims.B) { break; }
    for (var u = 0u; u < 4u; u++) {
      if (j0 + u < dims.H) { final_cell(b0 + r, j0 + u, rec[r][u]); }
    }
  }
}

// ---- per step ----

@compute @workgroup_size(WG)
fn forward_init(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { init_unit(gid.y, gid.x); }
}

@compute @workgroup_size(WG)
fn forward_step(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { forward_units(dims.t, gid.y * ROWS, gid.x); }
}

@compute @workgroup_size(WG)
fn backward_step(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x * 4u < dims.H) { backward_units(dims.t, gid.y * ROWS, gid.x * 4u); }
}

@compute @workgroup_size(WG)
fn backward_final(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x * 4u < dims.H) { final_units(gid.y * ROWS, gid.x * 4u); }
}

// ---- whole sequence: a workgroup owns ROWS batch rows ----
// A step's results reach the next step through storage memory and
// storageBarrier(), which WebGPU guarantees within a workgroup. Never waits on
// another workgroup.

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
    for (var j = lid; j < dims.H; j += WG) { forward_units(t, b0, j); }
    storageBarrier();
  }
}

@compute @workgroup_size(WG)
fn backward_seq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b0 = wid.y * ROWS;
  for (var s = 0u; s < dims.T; s++) {
    let t = select(dims.T - 1u - s, s, dims.reverse == 1u);
    for (var j0 = lid * 4u; j0 < dims.H; j0 += WG * 4u) { backward_units(t, b0, j0); }
    storageBarrier();
  }
  for (var j0 = lid * 4u; j0 < dims.H; j0 += WG * 4u) { final_units(b0, j0); }
}
