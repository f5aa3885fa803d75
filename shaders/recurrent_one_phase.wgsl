// The products of a single-phase cell (rnn, lstm, gru; included after recurrent_steps.wgsl):
// all G gates against h_prev forward; backward all G*H gate-gradient rows of the next step (at
// dgh_base() in grad, which the cell defines: its hidden-side gate gradients).
fn forward_gh(p: u32, t: u32, b0: u32, j: u32) -> array<vec4<f32>, 4> { return forward_product(t, b0, j); }
fn backward_rec(p: u32, t: u32, b0: u32, j0: u32) -> array<vec4<f32>, 4> {
  let n = next_clamped(t);
  return backward_product(n, n, n, n, b0, j0, dgh_base());
}
fn final_rec(b0: u32, j0: u32) -> array<vec4<f32>, 4> {
  let f = first_steps(b0);
  return backward_product(f.x, f.y, f.z, f.w, b0, j0, dgh_base());
}
