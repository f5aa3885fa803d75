// Elementwise kernels over n f32 values: fill, copy, scale, axpy.
//
// Binding order: outputs, inputs, the dims uniform last. `offY`/`offX` are
// element offsets of the bound tensors (filled in by the runtime from the
// tensor views), so one bind group serves every view of a buffer.
// Grid: ceil(n / WG) workgroups, folded into x/y when above 65535 (see `flat`).

struct EwDims {
  n: u32,
  offY: u32,
  offX: u32,
  alpha: f32,   // scale, axpy: the multiplier; fill: the value
}

@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<uniform> dims: EwDims;

override WG: u32 = 64;

// Linear invocation index over a 2D grid of workgroups.
fn flat(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

// y = alpha
@compute @workgroup_size(WG)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i < dims.n) { y[dims.offY + i] = dims.alpha; }
}

// y = x
@compute @workgroup_size(WG)
fn copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i < dims.n) { y[dims.offY + i] = x[dims.offX + i]; }
}

// y = alpha * y
@compute @workgroup_size(WG)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i < dims.n) { y[dims.offY + i] = dims.alpha * y[dims.offY + i]; }
}

// y = y + alpha * x
@compute @workgroup_size(WG)
fn axpy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i < dims.n) { y[dims.offY + i] = fma(dims.alpha, x[dims.offX + i], y[dims.offY + i]); }
}

// y[n, j, i, f] = x[n, i, j, f] for x of shape [NB, A, C, F]: swaps two
// adjacent axes (batch-first <-> time-major, [B, C, T] <-> [B, T, C]).
struct SwapDims {
  NB: u32, A: u32, C: u32, F: u32,
  offY: u32, offX: u32,
}
@group(0) @binding(3) var<uniform> swap: SwapDims;

@compute @workgroup_size(WG)
fn swap_axes(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let o = flat(wid, nwg, lid);             // index into y, shape [NB, C, A, F]
  let F = swap.F; let A = swap.A; let C = swap.C;
  if (o >= swap.NB * A * C * F) { return; }
  let f = o % F;
  let rest = o / F;
  let i = rest % A;
  let j = (rest / A) % C;
  let n = rest / (A * C);
  y[swap.offY + o] = x[swap.offX + ((n * A + i) * C + j) * F + f];
}

// relu: y = max(x, 0);  relu_backward: y = dy * (x > 0), dy bound as `x2`.
@group(0) @binding(4) var<storage, read> x2: array<f32>;
struct ReluDims { n: u32, offY: u32, offX: u32, offX2: u32 }
@group(0) @binding(5) var<uniform> rdims: ReluDims;

@compute @workgroup_size(WG)
fn relu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i < rdims.n) { y[rdims.offY + i] = max(x[rdims.offX + i], 0.0); }
}

@compute @workgroup_size(WG)
fn relu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i < rdims.n) { y[rdims.offY + i] = select(0.0, x2[rdims.offX2 + i], x[rdims.offX + i] > 0.0); }
}

// tanh_act: y = tanh(x) (clamped: some tanh implementations overflow to NaN for large |x|);
// tanh_backward: y = dy * (1 - x^2), x the forward's output, dy bound as `x2`.
@compute @workgroup_size(WG)
fn tanh_act(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i < rdims.n) { y[rdims.offY + i] = tanh(clamp(x[rdims.offX + i], -15.0, 15.0)); }
}

@compute @workgroup_size(WG)
fn tanh_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i < rdims.n) { let t = x[rdims.offX + i]; y[rdims.offY + i] = x2[rdims.offX2 + i] * (1.0 - t * t); }
}
