// Entry points of every recurrent cell, included after recurrent.wgsl (see there for the
// layout). A step has PHASES phases (1, or 2 where a formula needs every unit of the row
// from the phase before: GRU with the reset gate before the product). The cell defines
// `const G`, `const PHASES` and, for phase p of a step:
//   init_unit(b, j)                           state at a row's first step <- h0 (c0)
//   forward_gh(p, t, b0, j) -> array<vec4, 4> recurrent products of unit j's gates, rows b0..b0+3 (no bias)
//   forward_cell(p, t, b, j, gh: vec4)        the formulas of unit j, row b
//   backward_rec(p, t, b0, j0) -> array<vec4, 4>  products reaching units j0..j0+3 of rows b0..b0+3
//   backward_cell(p, t, b, j, rec: f32)       gradients of unit j, row b
//   final_rec(b0, j0) -> array<vec4, 4>, final_cell(b, j, rec: f32)   gradients of the initial state
//
//   forward_init     state at each row's first step      grid ceil(H/WG) x B                 1 dispatch
//   forward_step     phase 0 of step t                   grid ceil(H/WG) x ceil(B/ROWS)      T dispatches
//   forward_step_b   phase 1 of step t (PHASES = 2)      as forward_step                     T
//   backward_step    phase 0 of step t, reverse order    grid ceil(H/4/WG) x ceil(B/ROWS)    T
//   backward_step_b  phase 1 (PHASES = 2)                as backward_step                    T
//   backward_final   gradients of h0 (c0)                as backward_step                    1
//   forward_seq, backward_seq: all T steps, a workgroup per ROWS batch rows, grid 1 x ceil(B/ROWS)
//   forward_cells(_b), backward_cells(_b): 'gemm' path, phase 0 (1) of step t with the product
//                    read from prod; one invocation per unit and row, grid ceil(H/WG) x B

fn forward_units(p: u32, t: u32, b0: u32, j: u32) {
  let gh = forward_gh(p, t, b0, j);
  let B = dims.B;
  forward_cell(p, t, b0, j, gh[0]);
  if (b0 + 1u < B) { forward_cell(p, t, b0 + 1u, j, gh[1]); }
  if (b0 + 2u < B) { forward_cell(p, t, b0 + 2u, j, gh[2]); }
  if (b0 + 3u < B) { forward_cell(p, t, b0 + 3u, j, gh[3]); }
}

fn backward_quad(p: u32, t: u32, b: u32, j0: u32, rec: vec4<f32>) {
  let H = dims.H;
  backward_cell(p, t, b, j0, rec.x);
  if (j0 + 1u < H) { backward_cell(p, t, b, j0 + 1u, rec.y); }
  if (j0 + 2u < H) { backward_cell(p, t, b, j0 + 2u, rec.z); }
  if (j0 + 3u < H) { backward_cell(p, t, b, j0 + 3u, rec.w); }
}

// Rows b0 .. b0+3 (< B), units j0 .. j0+3 (< H).
fn backward_units(p: u32, t: u32, b0: u32, j0: u32) {
  let rec = backward_rec(p, t, b0, j0);
  let B = dims.B;
  backward_quad(p, t, b0, j0, rec[0]);
  if (b0 + 1u < B) { backward_quad(p, t, b0 + 1u, j0, rec[1]); }
  if (b0 + 2u < B) { backward_quad(p, t, b0 + 2u, j0, rec[2]); }
  if (b0 + 3u < B) { backward_quad(p, t, b0 + 3u, j0, rec[3]); }
}

fn final_quad(b: u32, j0: u32, rec: vec4<f32>) {
  let H = dims.H;
  final_cell(b, j0, rec.x);
  if (j0 + 1u < H) { final_cell(b, j0 + 1u, rec.y); }
  if (j0 + 2u < H) { final_cell(b, j0 + 2u, rec.z); }
  if (j0 + 3u < H) { final_cell(b, j0 + 3u, rec.w); }
}

fn final_units(b0: u32, j0: u32) {
  let rec = final_rec(b0, j0);
  let B = dims.B;
  final_quad(b0, j0, rec[0]);
  if (b0 + 1u < B) { final_quad(b0 + 1u, j0, rec[1]); }
  if (b0 + 2u < B) { final_quad(b0 + 2u, j0, rec[2]); }
  if (b0 + 3u < B) { final_quad(b0 + 3u, j0, rec[3]); }
}

// ---- per step ----

@compute @workgroup_size(WG)
fn forward_init(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { init_unit(gid.y, gid.x); }
}

@compute @workgroup_size(WG)
fn forward_step(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { forward_units(0u, dims.t, gid.y * ROWS, gid.x); }
}

@compute @workgroup_size(WG)
fn forward_step_b(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { forward_units(1u, dims.t, gid.y * ROWS, gid.x); }
}

@compute @workgroup_size(WG)
fn backward_step(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x * 4u < dims.H) { backward_units(0u, dims.t, gid.y * ROWS, gid.x * 4u); }
}

@compute @workgroup_size(WG)
fn backward_step_b(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x * 4u < dims.H) { backward_units(1u, dims.t, gid.y * ROWS, gid.x * 4u); }
}

@compute @workgroup_size(WG)
fn backward_final(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x * 4u < dims.H) { final_units(gid.y * ROWS, gid.x * 4u); }
}

// ---- whole sequence: a workgroup owns ROWS batch rows ----
// A phase's results reach the next phase through storage memory and
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
    for (var p = 0u; p < PHASES; p++) {
      for (var j = lid; j < dims.H; j += WG) { forward_units(p, t, b0, j); }
      storageBarrier();
    }
  }
}

@compute @workgroup_size(WG)
fn backward_seq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b0 = wid.y * ROWS;
  for (var s = 0u; s < dims.T; s++) {
    let t = select(dims.T - 1u - s, s, dims.reverse == 1u);
    for (var p = 0u; p < PHASES; p++) {
      for (var j0 = lid * 4u; j0 < dims.H; j0 += WG * 4u) { backward_units(p, t, b0, j0); }
      storageBarrier();
    }
  }
  for (var j0 = lid * 4u; j0 < dims.H; j0 += WG * 4u) { final_units(b0, j0); }
}

// ---- 'gemm' path: the product of each phase is a GEMM dispatch's output, prod [B, ldProd] ----

// Forward: the phase's gates of unit j (ldProd / H of them), row b.
fn prod_gates(b: u32, j: u32) -> vec4<f32> {
  let H = dims.H;
  let at = dims.offProd + b * dims.ldProd + j;
  let ng = dims.ldProd / H;
  var r = vec4<f32>(prod[at], 0.0, 0.0, 0.0);
  if (ng > 1u) { r.y = prod[at + H]; }
  if (ng > 2u) { r.z = prod[at + 2u * H]; }
  if (ng > 3u) { r.w = prod[at + 3u * H]; }
  return r;
}

@compute @workgroup_size(WG)
fn forward_cells(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { forward_cell(0u, dims.t, gid.y, gid.x, prod_gates(gid.y, gid.x)); }
}

@compute @workgroup_size(WG)
fn forward_cells_b(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { forward_cell(1u, dims.t, gid.y, gid.x, prod_gates(gid.y, gid.x)); }
}

// Backward: prod [B, H] holds what reaches unit j of row b.
@compute @workgroup_size(WG)
fn backward_cells(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { backward_cell(0u, dims.t, gid.y, gid.x, prod[dims.offProd + gid.y * dims.ldProd + gid.x]); }
}

@compute @workgroup_size(WG)
fn backward_cells_b(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < dims.H) { backward_cell(1u, dims.t, gid.y, gid.x, prod[dims.offProd + gid.y * dims.ldProd + gid.x]); }
}
