// Work split and entry points of the single-phase cells (rnn, lstm, gru), included after
// recurrent.wgsl; see there for the layout. The cell defines init_unit, forward_cell,
// backward_cell, final_cell and dgh_base.

fn forward_units(t: u32, b0: u32, j: u32) {
  let gh = forward_product(t, b0, j);
  let B = dims.B;
  forward_cell(t, b0, j, gh[0]);
  if (b0 + 1u < B) { forward_cell(t, b0 + 1u, j, gh[1]); }
  if (b0 + 2u < B) { forward_cell(t, b0 + 2u, j, gh[2]); }
  if (b0 + 3u < B) { forward_cell(t, b0 + 3u, j, gh[3]); }
}

fn backward_quad(t: u32, b: u32, j0: u32, rec: vec4<f32>) {
  let H = dims.H;
  backward_cell(t, b, j0, rec.x);
  if (j0 + 1u < H) { backward_cell(t, b, j0 + 1u, rec.y); }
  if (j0 + 2u < H) { backward_cell(t, b, j0 + 2u, rec.z); }
  if (j0 + 3u < H) { backward_cell(t, b, j0 + 3u, rec.w); }
}

fn final_quad(b: u32, j0: u32, rec: vec4<f32>) {
  let H = dims.H;
  final_cell(b, j0, rec.x);
  if (j0 + 1u < H) { final_cell(b, j0 + 1u, rec.y); }
  if (j0 + 2u < H) { final_cell(b, j0 + 2u, rec.z); }
  if (j0 + 3u < H) { final_cell(b, j0 + 3u, rec.w); }
}

// Rows b0 .. b0+3 (< B), units j0 .. j0+3 (< H).
fn backward_units(t: u32, b0: u32, j0: u32) {
  let nt = next_clamped(t);
  let rec = backward_product(nt, nt, nt, nt, b0, j0);
  let B = dims.B;
  backward_quad(t, b0, j0, rec[0]);
  if (b0 + 1u < B) { backward_quad(t, b0 + 1u, j0, rec[1]); }
  if (b0 + 2u < B) { backward_quad(t, b0 + 2u, j0, rec[2]); }
  if (b0 + 3u < B) { backward_quad(t, b0 + 3u, j0, rec[3]); }
}

fn final_units(b0: u32, j0: u32) {
  let B = dims.B;
  let f = vec4<u32>(first_step(row_len(b0)), first_step(row_len(min(b0 + 1u, B - 1u))),
                    first_step(row_len(min(b0 + 2u, B - 1u))), first_step(row_len(min(b0 + 3u, B - 1u))));
  let rec = backward_product(f.x, f.y, f.z, f.w, b0, j0);
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
