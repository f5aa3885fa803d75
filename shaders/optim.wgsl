// Optimizers (torch.optim.SGD / Adam / AdamW) fused over a whole parameter
// arena, and gradient clipping (clip_grad_norm_, clip_grad_value_).
//
// One invocation per element of the flat arena (padding included: zero
// params, grads and state stay zero). Grid: ceil(n / WG) workgroups, folded
// into x/y above 65535 (see `flat`).
//
// Values that change every step live in the optimizer's "hyper" buffer, never
// in the uniforms (each distinct uniform set is interned once):
//   hyper[0] step t (an integer-valued f32: completed steps, counting this one)
//   hyper[1] lr              (written by the host before the step is recorded)
//   hyper[2] 1 - lr * weight_decay   (AdamW's decoupled decay factor; 1 otherwise)
//   hyper[3] 1 - beta1^t     (bias corrections, advanced by `bump`)
//   hyper[4] 1 - beta2^t
//
//   bump:  t += 1;  q_k += c_k * (1 - q_k) with c_k = 1 - beta_k, i.e.
//          q_k = 1 - beta_k^t without pow's cancellation (1 invocation; runs
//          before the update, which reads t and q_k).
//   sgd:   g = ±g (+ wd p); momentum: buf = t == 1 ? g : mu buf + (1 - damp) g;
//          g = nesterov ? g + mu buf : buf;  p -= lr g
//   adam:  g = ±g (+ wd p, L2) or p *= 1 - lr wd (decoupled); m = lerp(m, g, 1 - b1);
//          v = b2 v + (1 - b2) g^2; [amsgrad: vmax = max(vmax, v)];
//          p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)          (PyTorch's form)
//   clip_norm_finalize: norm[0] = sqrt(norm[0])  (the sum of squares -> the 2-norm)
//   clip_norm_scale:    coef = max_norm / (norm + 1e-6); if coef < 1: grad *= coef
//   clip_value:         grad = clamp(grad, -v, v)

@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> vmax: array<f32>;
@group(0) @binding(5) var<storage, read> hyper: array<f32>;
@group(0) @binding(6) var<storage, read_write> hyperW: array<f32>;

override WG: u32 = 64;

fn flat(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

// ------------------------------------------------------------- step counter

struct BumpDims {
  offHyperW: u32,
  c1: f32,   // 1 - beta1 (0 for SGD)
  c2: f32,   // 1 - beta2
}
@group(0) @binding(7) var<uniform> bdims: BumpDims;

@compute @workgroup_size(1)
fn bump() {
  let o = bdims.offHyperW;
  hyperW[o] = hyperW[o] + 1.0;
  let q1 = hyperW[o + 3u];
  let q2 = hyperW[o + 4u];
  hyperW[o + 3u] = q1 + bdims.c1 * (1.0 - q1);
  hyperW[o + 4u] = q2 + bdims.c2 * (1.0 - q2);
}

// ---------------------------------------------------------------------- SGD

struct SgdDims {
  n: u32,
  offP: u32, offG: u32, offM: u32, offHyper: u32,
  momentum: f32,
  dampening: f32,
  weightDecay: f32,
  nesterov: u32,
  maximize: u32,
}
@group(0) @binding(8) var<uniform> sdims: SgdDims;

// Without momentum: no buffer bound.
@compute @workgroup_size(WG)
fn sgd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i >= sdims.n) { return; }
  let lr = hyper[sdims.offHyper + 1u];
  let pi = sdims.offP + i;
  let pv = p[pi];
  var gv = g[sdims.offG + i];
  if (sdims.maximize != 0u) { gv = -gv; }
  if (sdims.weightDecay != 0.0) { gv = gv + sdims.weightDecay * pv; }
  p[pi] = pv - lr * gv;
}

@compute @workgroup_size(WG)
fn sgd_momentum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i >= sdims.n) { return; }
  let t = hyper[sdims.offHyper];
  let lr = hyper[sdims.offHyper + 1u];
  let pi = sdims.offP + i;
  let mi = sdims.offM + i;
  let pv = p[pi];
  var gv = g[sdims.offG + i];
  if (sdims.maximize != 0u) { gv = -gv; }
  if (sdims.weightDecay != 0.0) { gv = gv + sdims.weightDecay * pv; }
  var buf = gv;                                    // first step: buf = clone(g)
  if (t > 1.0) { buf = sdims.momentum * m[mi] + (1.0 - sdims.dampening) * gv; }
  m[mi] = buf;
  if (sdims.nesterov != 0u) { gv = gv + sdims.momentum * buf; } else { gv = buf; }
  p[pi] = pv - lr * gv;
}

// --------------------------------------------------------------- Adam, AdamW

struct AdamDims {
  n: u32,
  offP: u32, offG: u32, offM: u32, offV: u32, offVmax: u32, offHyper: u32,
  w1: f32,           // 1 - beta1: the lerp weight
  beta2: f32,
  w2: f32,           // 1 - beta2
  eps: f32,
  weightDecay: f32,  // L2 (Adam); AdamW decays through hyper[2]
  decoupled: u32,
  maximize: u32,
}
@group(0) @binding(9) var<uniform> adims: AdamDims;

// The shared part: the gradient with decay, the parameter after decoupled
// decay, and the new moments. Returns (p, g) after decay.
fn adam_grad(i: u32) -> vec2<f32> {
  var pv = p[adims.offP + i];
  var gv = g[adims.offG + i];
  if (adims.maximize != 0u) { gv = -gv; }
  if (adims.decoupled != 0u) {
    pv = pv * hyper[adims.offHyper + 2u];
  } else if (adims.weightDecay != 0.0) {
    gv = gv + adims.weightDecay * pv;
  }
  return vec2<f32>(pv, gv);
}

// torch.lerp(m, g, w) for w < 0.5 (its CPU formula): m + w (g - m).
fn adam_moments(i: u32, gv: f32) -> vec2<f32> {
  let mi = adims.offM + i;
  let vi = adims.offV + i;
  let mv = m[mi] + adims.w1 * (gv - m[mi]);
  let vv = adims.beta2 * v[vi] + adims.w2 * (gv * gv);
  m[mi] = mv;
  v[vi] = vv;
  return vec2<f32>(mv, vv);
}

fn adam_apply(i: u32, pv: f32, mv: f32, vv: f32) {
  let h = adims.offHyper;
  let stepSize = hyper[h + 1u] / hyper[h + 3u];
  let denom = sqrt(vv) / sqrt(hyper[h + 4u]) + adims.eps;
  p[adims.offP + i] = pv - stepSize * (mv / denom);
}

@compute @workgroup_size(WG)
fn adam(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i >= adims.n) { return; }
  let pg = adam_grad(i);
  let mv = adam_moments(i, pg.y);
  adam_apply(i, pg.x, mv.x, mv.y);
}

@compute @workgroup_size(WG)
fn adam_amsgrad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i >= adims.n) { return; }
  let pg = adam_grad(i);
  let mv = adam_moments(i, pg.y);
  let xi = adims.offVmax + i;
  let vm = max(vmax[xi], mv.y);
  vmax[xi] = vm;
  adam_apply(i, pg.x, mv.x, vm);
}

// ----------------------------------------------------------------- clipping

@group(0) @binding(10) var<storage, read_write> grad: array<f32>;
@group(0) @binding(11) var<storage, read> norm: array<f32>;
@group(0) @binding(12) var<storage, read_write> normW: array<f32>;

struct ClipDims {
  n: u32,
  offGrad: u32, offNorm: u32, offNormW: u32,
  limit: f32,   // max_norm, or the clip value
}
@group(0) @binding(13) var<uniform> cdims: ClipDims;

@compute @workgroup_size(1)
fn clip_norm_finalize() {
  normW[cdims.offNormW] = sqrt(normW[cdims.offNormW]);
}

@compute @workgroup_size(WG)
fn clip_norm_scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i >= cdims.n) { return; }
  let coef = cdims.limit / (norm[cdims.offNorm] + 1e-6);
  // clamp(coef, max=1) times g; coef >= 1 multiplies by 1: skip, bit-identical.
  if (coef < 1.0) {
    let gi = cdims.offGrad + i;
    grad[gi] = grad[gi] * coef;
  }
}

@compute @workgroup_size(WG)
fn clip_value(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i >= cdims.n) { return; }
  let gi = cdims.offGrad + i;
  grad[gi] = clamp(grad[gi], -cdims.limit, cdims.limit);
}
