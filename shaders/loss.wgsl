// Losses, forward and backward fused: the loss is the last op of a step, so
// its gradient (dL/dloss = 1) is written in the same pass as the loss.
//
//   ce_rows:   for each position n of logits (C classes at logit(n, c), see index()):
//              lse = log sum_c exp(logit(n, c)); target y = targets[n];
//              valid = y != ignoreIndex (and mask[n] != 0 when hasMask): w = valid ? (mask[n] or 1) : 0
//              rowLoss[n] = w * (lse - logit(n, y));  grad(n, c) = w * (softmax(n, c) - [c == y])
//   mse_rows:  rowLoss[n] = w * sum over the row's F values (pred - target)^2,  grad = w * 2 (pred - target)
//              (w = mask[n] when hasMask, else 1; a row counts F elements)
//   reduce:    out[0] = sum(rowLoss) / sum(weights), out[1] = sum(weights)   (one workgroup)
//   scale:     grad *= 1 / out[1]          (the mean over valid positions / elements)
// Layout of logits: position n = (o, i) with o = n / inner, i = n % inner;
//   logit(n, c) = x[o * C * inner + c * inner + i]   ([N, C] rows: inner = 1; [B, C, T]: inner = T).

struct LossDims {
  N: u32, C: u32, inner: u32,
  ignoreIndex: i32,
  hasMask: u32,
  n: u32,            // scale: elements of grad
  offX: u32, offT: u32, offMask: u32, offGrad: u32, offRows: u32, offOut: u32, offStat: u32,
}

@group(0) @binding(0) var<storage, read_write> grad: array<f32>;
@group(0) @binding(1) var<storage, read_write> rows: array<f32>;   // [2N]: per-row loss, per-row weight
@group(0) @binding(2) var<storage, read_write> out: array<f32>;    // [2]: mean loss, total weight
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> t: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<f32>;
@group(0) @binding(6) var<storage, read> stat: array<f32>;         // out of the reduce, read by scale
@group(0) @binding(7) var<uniform> dims: LossDims;

override WG: u32 = 64;

var<workgroup> red: array<f32, WG>;
var<workgroup> red2: array<f32, WG>;

fn index(n: u32, c: u32) -> u32 {
  let o = n / dims.inner; let i = n % dims.inner;
  return (o * dims.C + c) * dims.inner + i;
}

fn row_weight(n: u32) -> f32 {
  if (dims.hasMask != 0u) { return mask[dims.offMask + n]; }
  return 1.0;
}

fn flat(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 { return (wid.y * nwg.x + wid.x) * WG + lid; }

@compute @workgroup_size(WG)
fn ce_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let n = flat(wid, nwg, lid);
  if (n >= dims.N) { return; }
  let y = i32(t[dims.offT + n]);
  var w = row_weight(n);
  if (y == dims.ignoreIndex) { w = 0.0; }
  var mx = x[dims.offX + index(n, 0u)];
  for (var c = 1u; c < dims.C; c++) { mx = max(mx, x[dims.offX + index(n, c)]); }
  var s = 0.0;
  for (var c = 0u; c < dims.C; c++) { s += exp(x[dims.offX + index(n, c)] - mx); }
  let lse = mx + log(s);
  let yc = u32(clamp(y, 0, i32(dims.C) - 1));
  rows[dims.offRows + n] = select(0.0, w * (lse - x[dims.offX + index(n, yc)]), w != 0.0);
  rows[dims.offRows + dims.N + n] = w;
  for (var c = 0u; c < dims.C; c++) {
    let at = index(n, c);
    let p = exp(x[dims.offX + at] - lse);
    grad[dims.offGrad + at] = w * (p - select(0.0, 1.0, i32(c) == y));
  }
}

@compute @workgroup_size(WG)
fn mse_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let n = flat(wid, nwg, lid);
  if (n >= dims.N) { return; }
  let w = row_weight(n);
  var s = 0.0;
  for (var c = 0u; c < dims.C; c++) {
    let at = n * dims.C + c;
    let d = x[dims.offX + at] - t[dims.offT + at];
    s = fma(d, d, s);
    grad[dims.offGrad + at] = w * 2.0 * d;
  }
  rows[dims.offRows + n] = w * s;
  rows[dims.offRows + dims.N + n] = w * f32(dims.C);
}

@compute @workgroup_size(WG)
fn reduce(@builtin(local_invocation_index) lid: u32) {
  var a = 0.0; var b = 0.0;
  for (var i = lid; i < dims.N; i += WG) {
    a += rows[dims.offRows + i];
    b += rows[dims.offRows + dims.N + i];
  }
  red[lid] = a; red2[lid] = b;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; red2[lid] += red2[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[dims.offOut] = select(0.0, red[0] / red2[0], red2[0] > 0.0);
    out[dims.offOut + 1u] = red2[0];
  }
}

@compute @workgroup_size(WG)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i >= dims.n) { return; }
  let total = stat[dims.offStat + 1u];
  grad[dims.offGrad + i] = select(0.0, grad[dims.offGrad + i] / total, total > 0.0);
}
