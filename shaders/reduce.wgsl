// Reductions: column sums (bias gradients) and sums of squares (global
// gradient norm, for clipping). Deterministic: fixed reduction order, no atomics.
//
// colsum:        out[g, j] = beta * out[g, j] + sum_{i < M} x[(g * M + i) * ldx + j]   (beta == 0: out is not read)
//                grid: ceil(N / WG) x groups, one column of one group per invocation.
// sumsq_partial: part[w] = sum over the w-th strided share of x of x^2
//                grid: P workgroups (P <= 65535); invocation g of workgroup w reads
//                x[g + k * P * WG], then the workgroup sums its WG values.
// sum_final:     out[0] = beta * out[0] + sum_{w < n} part[w]; grid: 1 workgroup.

struct ReduceDims {
  M: u32,       // colsum: rows
  N: u32,       // colsum: columns; sumsq_partial / sum_final: number of values
  ldx: u32,     // colsum: row stride of x
  offX: u32,
  offOut: u32,
  offPart: u32,
  beta: f32,
  groups: u32,  // colsum: row groups (grid y)
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<uniform> dims: ReduceDims;

override WG: u32 = 64;

var<workgroup> scratch: array<f32, WG>;

@compute @workgroup_size(WG)
fn colsum(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j >= dims.N) { return; }
  // Group gid.y (grid y = groups): rows gid.y*M .. gid.y*M + M-1 into out[gid.y * N + j].
  let grp = gid.y;
  // Four running sums break the add chain (faster on CPUs and GPUs alike).
  var s = vec4<f32>(0.0);
  var i = 0u;
  var at = dims.offX + grp * dims.M * dims.ldx + j;
  let ld = dims.ldx;
  for (; i + 4u <= dims.M; i += 4u) {
    s += vec4<f32>(x[at], x[at + ld], x[at + 2u * ld], x[at + 3u * ld]);
    at += 4u * ld;
  }
  for (; i < dims.M; i += 1u) {
    s.x += x[at];
    at += ld;
  }
  var total = (s.x + s.y) + (s.z + s.w);
  let o = dims.offOut + grp * dims.N + j;
  if (dims.beta != 0.0) { total += dims.beta * out[o]; }
  out[o] = total;
}

fn workgroup_sum(lid: u32, v: f32) -> f32 {
  scratch[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { scratch[lid] += scratch[lid + s]; }
    workgroupBarrier();
  }
  return scratch[0];
}

@compute @workgroup_size(WG)
fn sumsq_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let stride = nwg.x * WG;
  var acc = 0.0;
  for (var i = wid.x * WG + lid; i < dims.N; i += stride) {
    let v = x[dims.offX + i];
    acc = fma(v, v, acc);
  }
  let total = workgroup_sum(lid, acc);
  if (lid == 0u) { part[dims.offPart + wid.x] = total; }
}

@compute @workgroup_size(WG)
fn sum_final(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < dims.N; i += WG) { acc += part[dims.offPart + i]; }
  let total = workgroup_sum(lid, acc);
  if (lid == 0u) {
    var r = total;
    if (dims.beta != 0.0) { r += dims.beta * out[dims.offOut]; }
    out[dims.offOut] = r;
  }
}

// norms: out[i] = sqrt(sum_j x[i * ldx + j]^2) for i < M rows of N values
// (the per-timestep gradient norm); grid: ceil(M / WG), one row per invocation.
@compute @workgroup_size(WG)
fn row_norms(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= dims.M) { return; }
  var s = 0.0;
  let at = dims.offX + i * dims.ldx;
  for (var j = 0u; j < dims.N; j++) { let v = x[at + j]; s = fma(v, v, s); }
  out[dims.offOut + i] = sqrt(s);
}
