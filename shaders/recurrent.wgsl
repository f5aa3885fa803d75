// Shared by the recurrent cells (rnn.wgsl, lstm.wgsl, gru.wgsl, gru_reset_before.wgsl,
// which include it, then recurrent_steps.wgsl): the uniform struct, bindings, direction and
// length bookkeeping and the matrix products of a step. recurrent_steps.wgsl has
// the entry points and the interface a cell implements (its formulas); the
// cell's description (gates, phases, tensors, weight-gradient GEMMs) is its
// entry in src/nn/cells.ts.
//
// Tensors are regions of a few buffers, located by element offsets (dims.o*):
//   act   (forward, read_write; `saved` is the same buffer, read-only, in backward):
//         out [T, B, ldOut] (h_t in columns 0..H-1 of a row: this direction's slice),
//         gates [T, B, G*H] (pre-activations in, activations out), hprev [T, B, H] (the
//         state each step started from), and the cell's own (cprev, ghn, rh)
//   fin / dfin:   final states / their upstream gradients;  init / dinit: initial states / their gradients
//   grad:  dgates [T, B, G*H] and the cell's own gradients and carries
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
// Paths: 'step' and 'sequence' compute the recurrent products inside the cell's kernels
// (forward_gh, backward_rec); 'gemm' has them computed by GEMM dispatches (src/ops.ts, the
// register-blocked kernel CPUs reward) into `prod`, and the cell's kernels only apply the formulas.
//
// Work split: an invocation owns ROWS batch rows (they share every W_hh load);
// forward one unit j, backward four units j0..j0+3 (W_hh rows are read along j).
// VEC4 (H % 4 == 0): W_hh, h and dgates are read 4 floats at a time.
// Accumulation: activation gradients are written (=); parameter gradients come from GEMMs after the loop.

// One struct for every cell. The runtime fills the offset of each tensor the
// cell's description names (`o` + its name) and NONE in the other cells'
// fields; a field named by no description is refused when the layer is built.
struct Dims {
  T: u32, B: u32, H: u32,
  t: u32,          // the timestep of this dispatch (per-step kernels)
  reverse: u32,    // 1: this direction runs T-1 -> 0
  ldOut: u32,      // row stride of out and dOut (D*H)
  oOut: u32, oGates: u32, oHprev: u32,          // in act / saved
  oCprev: u32,     // LSTM: the cell state each step started from [T, B, H]
  oGhn: u32,       // GRU: gh_n = W_hn h_prev + b_hn [T, B, H]
  oRh: u32,        // GRU, reset before: r * h_prev [T, B, H]
  oHn: u32, oCn: u32,                           // in fin / dfin
  oH0: u32, oC0: u32,                           // in init / dinit
  oDgates: u32,    // in grad: input-side gate gradients [T, B, G*H]
  oDgh: u32,       // GRU: hidden-side gate gradients [T, B, G*H]
  oDcarry: u32,    // LSTM: dc; GRU: dh through z * h_prev [B, H]
  oDrh: u32,       // GRU, reset before: d(r * h_prev) [T, B, H]
  oDhs: u32,       // in grad: where to keep dL/dh_t [T, B, H] (per-timestep norms); NONE: not kept
  oWhh: u32, oBhh: u32,                         // in w
  offDOut: u32, offLen: u32,
  hasBias: u32,
  ldProd: u32,     // 'gemm' path: row stride of prod (the phase's product rows * H)
  offProd: u32,
}

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
// 'gemm' path: this phase's recurrent product, computed by a GEMM dispatch before the cell's.
@group(0) @binding(12) var<storage, read> prod: array<f32>;

override WG: u32 = 64;
override VEC4: bool = false;
const ROWS = 4u;   // batch rows per invocation (the products below are unrolled for 4)
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

// The products below keep their four rows in named variables, unrolled by
// hand: SwiftShader does not unroll loops over private arrays, and indexing
// one with a loop counter costs a memory round trip per access.

// Loads the G gate rows' weights for one k (or k..k+3): unused gates are zero.
fn w_gates4(ng: u32, base: u32, stride: u32) -> array<vec4<f32>, 4> {
  var r: array<vec4<f32>, 4>;
  r[0] = w4[base];
  if (ng > 1u) { r[1] = w4[base + stride]; }
  if (ng > 2u) { r[2] = w4[base + 2u * stride]; }
  if (ng > 3u) { r[3] = w4[base + 3u * stride]; }
  return r;
}
fn w_gates(ng: u32, base: u32, stride: u32) -> vec4<f32> {
  var r = vec4<f32>(w[base], 0.0, 0.0, 0.0);
  if (ng > 1u) { r.y = w[base + stride]; }
  if (ng > 2u) { r.z = w[base + 2u * stride]; }
  if (ng > 3u) { r.w = w[base + 3u * stride]; }
  return r;
}
fn dots(wv: array<vec4<f32>, 4>, h: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(wv[0], h), dot(wv[1], h), dot(wv[2], h), dot(wv[3], h));
}

// The products of a single-phase cell. gh[r][g] = sum_k W_hh[g*H + j, k] * h_prev[row b0 + r, step t][k], for the G gates.
fn forward_product(t: u32, b0: u32, j: u32) -> array<vec4<f32>, 4> {
  return forward_product_g(t, b0, j, G, 0u, dims.oHprev);
}

// The same for ng gates whose rows start at W_hh row wrow0, and input vectors
// x[step t, row b] (H values) at xbase in act.
fn forward_product_g(t: u32, b0: u32, j: u32, ng: u32, wrow0: u32, xbase: u32) -> array<vec4<f32>, 4> {
  let H = dims.H; let B = dims.B;
  let p0 = xbase + (t * B + b0) * H;
  let p1 = xbase + (t * B + min(b0 + 1u, B - 1u)) * H;
  let p2 = xbase + (t * B + min(b0 + 2u, B - 1u)) * H;
  let p3 = xbase + (t * B + min(b0 + 3u, B - 1u)) * H;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  if (VEC4) {
    let H4 = H / 4u;
    let w0 = (dims.oWhh + (wrow0 + j) * H) / 4u;
    let q0 = p0 / 4u; let q1 = p1 / 4u; let q2 = p2 / 4u; let q3 = p3 / 4u;
    for (var k = 0u; k < H4; k++) {
      let wv = w_gates4(ng, w0 + k, H * H4);
      a0 += dots(wv, act[q0 + k]);
      a1 += dots(wv, act[q1 + k]);
      a2 += dots(wv, act[q2 + k]);
      a3 += dots(wv, act[q3 + k]);
    }
  } else {
    let w0 = dims.oWhh + (wrow0 + j) * H;
    for (var k = 0u; k < H; k++) {
      let wv = w_gates(ng, w0 + k, H * H);
      a0 = fma(wv, vec4<f32>(act_ld(p0 + k)), a0);
      a1 = fma(wv, vec4<f32>(act_ld(p1 + k)), a1);
      a2 = fma(wv, vec4<f32>(act_ld(p2 + k)), a2);
      a3 = fma(wv, vec4<f32>(act_ld(p3 + k)), a3);
    }
  }
  return array<vec4<f32>, 4>(a0, a1, a2, a3);
}

// rec[r][u] = sum over the G*H gate rows k of dgh[step s_r, row b0 + r, k] * W_hh[k, j0 + u],
// dgh at dbase in grad ([T, B, G*H]).
fn backward_product(s0: u32, s1: u32, s2: u32, s3: u32, b0: u32, j0: u32, dbase: u32) -> array<vec4<f32>, 4> {
  return backward_product_g(s0, s1, s2, s3, b0, j0, G * dims.H, dbase, G * dims.H, 0u);
}

// The first step of rows b0 .. b0+3 (rows past B repeat row B-1).
fn first_steps(b0: u32) -> vec4<u32> {
  let B = dims.B;
  return vec4<u32>(first_step(row_len(b0)), first_step(row_len(min(b0 + 1u, B - 1u))),
                   first_step(row_len(min(b0 + 2u, B - 1u))), first_step(row_len(min(b0 + 3u, B - 1u))));
}

// The same over nrows gate-gradient rows k (at dbase + (s * B + b) * stride + k in grad)
// against W_hh rows wrow0 + k. VEC4 needs nrows, stride and dbase multiples of 4.
fn backward_product_g(s0: u32, s1: u32, s2: u32, s3: u32, b0: u32, j0: u32,
                      nrows: u32, dbase: u32, stride: u32, wrow0: u32) -> array<vec4<f32>, 4> {
  let H = dims.H; let B = dims.B;
  let GH = nrows;
  let d0 = dbase + (s0 * B + b0) * stride;
  let d1 = dbase + (s1 * B + min(b0 + 1u, B - 1u)) * stride;
  let d2 = dbase + (s2 * B + min(b0 + 2u, B - 1u)) * stride;
  let d3 = dbase + (s3 * B + min(b0 + 3u, B - 1u)) * stride;
  var r0 = vec4<f32>(0.0); var r1 = vec4<f32>(0.0); var r2 = vec4<f32>(0.0); var r3 = vec4<f32>(0.0);
  if (VEC4) {
    // Four gate rows k at a time: dgh[.., k..k+3] as one vec4, W_hh rows k..k+3 at units j0..j0+3.
    let H4 = H / 4u;
    var wi = (dims.oWhh + wrow0 * H + j0) / 4u;
    let e0 = d0 / 4u; let e1 = d1 / 4u; let e2 = d2 / 4u; let e3 = d3 / 4u;
    for (var k = 0u; k < GH / 4u; k++) {
      let w0 = w4[wi]; let w1 = w4[wi + H4]; let w2 = w4[wi + 2u * H4]; let w3 = w4[wi + 3u * H4];
      wi += 4u * H4;
      let g0 = grad[e0 + k]; let g1 = grad[e1 + k]; let g2 = grad[e2 + k]; let g3 = grad[e3 + k];
      r0 = fma(w0, vec4<f32>(g0.x), fma(w1, vec4<f32>(g0.y), fma(w2, vec4<f32>(g0.z), fma(w3, vec4<f32>(g0.w), r0))));
      r1 = fma(w0, vec4<f32>(g1.x), fma(w1, vec4<f32>(g1.y), fma(w2, vec4<f32>(g1.z), fma(w3, vec4<f32>(g1.w), r1))));
      r2 = fma(w0, vec4<f32>(g2.x), fma(w1, vec4<f32>(g2.y), fma(w2, vec4<f32>(g2.z), fma(w3, vec4<f32>(g2.w), r2))));
      r3 = fma(w0, vec4<f32>(g3.x), fma(w1, vec4<f32>(g3.y), fma(w2, vec4<f32>(g3.z), fma(w3, vec4<f32>(g3.w), r3))));
    }
  } else {
    let lim = H - 1u - j0;  // units past H read unit H-1; their sums are never used
    for (var k = 0u; k < GH; k++) {
      let wk = dims.oWhh + (wrow0 + k) * H + j0;
      let wv = vec4<f32>(w[wk], w[wk + min(1u, lim)], w[wk + min(2u, lim)], w[wk + min(3u, lim)]);
      r0 = fma(wv, vec4<f32>(grad_ld(d0 + k)), r0);
      r1 = fma(wv, vec4<f32>(grad_ld(d1 + k)), r1);
      r2 = fma(wv, vec4<f32>(grad_ld(d2 + k)), r2);
      r3 = fma(wv, vec4<f32>(grad_ld(d3 + k)), r3);
    }
  }
  return array<vec4<f32>, 4>(r0, r1, r2, r3);
}

