// PLACEHOLDER (simple 4x4 register block) until the tuned kernel lands.
struct GemmDims {
  M: u32, N: u32, K: u32,
  lda: u32, ldb: u32, ldc: u32,
  offA: u32, offB: u32, offC: u32, offBias: u32,
  alpha: f32, beta: f32,
  hasBias: u32,
}
@group(0) @binding(0) var<storage, read_write> c: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<uniform> dims: GemmDims;
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override WG_X: u32 = 8;
override WG_Y: u32 = 8;
const TM = 4u;
const TN = 4u;

fn loadA(i: u32, k: u32) -> f32 {
  if (TRANS_A) { return a[dims.offA + k * dims.lda + i]; }
  return a[dims.offA + i * dims.lda + k];
}
fn loadB(k: u32, j: u32) -> f32 {
  if (TRANS_B) { return b[dims.offB + j * dims.ldb + k]; }
  return b[dims.offB + k * dims.ldb + j];
}

@compute @workgroup_size(WG_X, WG_Y)
fn gemm_reg(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i0 = gid.y * TM;
  let j0 = gid.x * TN;
  if (i0 >= dims.M || j0 >= dims.N) { return; }
  var acc: array<array<f32, TN>, TM>;
  for (var k = 0u; k < dims.K; k++) {
    var av: array<f32, TM>;
    var bv: array<f32, TN>;
    for (var r = 0u; r < TM; r++) { av[r] = loadA(min(i0 + r, dims.M - 1u), k); }
    for (var s = 0u; s < TN; s++) { bv[s] = loadB(k, min(j0 + s, dims.N - 1u)); }
    for (var r = 0u; r < TM; r++) {
      for (var s = 0u; s < TN; s++) { acc[r][s] = fma(av[r], bv[s], acc[r][s]); }
    }
  }
  for (var r = 0u; r < TM; r++) {
    let i = i0 + r;
    if (i >= dims.M) { break; }
    for (var s = 0u; s < TN; s++) {
      let j = j0 + s;
      if (j >= dims.N) { break; }
      var v = dims.alpha * acc[r][s];
      if (dims.hasBias != 0u) { v += bias[dims.offBias + j]; }
      let ci = dims.offC + i * dims.ldc + j;
      if (dims.beta != 0.0) { v += dims.beta * c[ci]; }
      c[ci] = v;
    }
  }
}
