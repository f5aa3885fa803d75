// WaveNet fast generation (Paine et al. 2016): sample by sample, each layer
// keeping a queue of its past inputs h, so a sample costs O(layers) work
// instead of recomputing the receptive field. One workgroup per batch row
// runs the whole network for `steps` consecutive time steps in one dispatch
// (workgroupBarrier between stages; never waits on another workgroup); the
// queues and the next input persist across dispatches, so generation goes on
// in chunks without a read-back.
//
// Step t (absolute, from 0) of row b:
//   x_t = prefix[b, t] for t < T0 (teacher forcing), else the input made from the last output
//   h = W_in x_t + b_in
//   per layer k (dilation d, kernel K; tap m reads h_k at t - (K-1-m) d; queue_k holds
//   the last (K-1) d values of h_k, a ring indexed by time, zeros before t = 0):
//     z = tanh(b_f + sum_m W_f[:, :, m] h_k(t - s_m)) * sigmoid(likewise with W_g, b_g)
//     skip += W_s z + b_s;  h_{k+1} = h_k + W_r z + b_r;  queue_k[t] = h_k
//   y = W_2 relu(W_1 relu(skip) + b_1) + b_2
//   from t = T0 - 1 on, y makes the next input (mode):
//     0 argmax, 1 softmax(y / temperature) sampled: a class c; the input is one-hot(c) (C_in = O),
//       or, with MULAW_INPUT, the mu-law decoded value of c (C_in = 1)
//     2 regression: the input is y itself (C_in = O)
//   samples[b, j] = c (or y[0] in regression), outputs[b, j, :] = y, j = t - (T0 - 1).
// Sampling draws u = pcg(j ^ pcg(b ^ pcg(seed))) >> 8 / 2^24, the same stream on every device
// (src/nn/wavenet_generate.ts has the CPU twin).
//
// Per-layer offsets come from `layers` (11 integers per layer, stored as f32):
//   oWf, oBf, oWg, oBg, oWr, oBr, oWs, oBs (in w), dilation, queue offset (in state), cond offset.

struct GenDims {
  B: u32, Cin: u32, R: u32, Dc: u32, S: u32, O: u32, K: u32, L: u32,
  T0: u32,         // prefix length
  t0: u32,         // absolute time of this dispatch's first step
  steps: u32,      // steps in this dispatch
  mode: u32,
  temperature: f32,
  seed: u32,
  nOut: u32,       // capacity of samples / outputs per row
  keepOutputs: u32,
  oWin: u32, oBin: u32, oW1: u32, oB1: u32, oW2: u32, oB2: u32,   // in w
  oX: u32,         // in state: the next input [B, Cin]
  offPrefix: u32, offSamples: u32,
  mulaw: u32,      // 1: the input is the mu-law decoded class (C_in = 1)
  hasCond: u32,    // 1: add cond[layer, b] (V_f c, V_g c) inside the nonlinearities
}

@group(0) @binding(0) var<storage, read_write> state: array<f32>;     // queues and next inputs
@group(0) @binding(1) var<storage, read_write> samples: array<f32>;   // [B, nOut], then outputs [B, nOut, O]
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> layers: array<f32>;
@group(0) @binding(4) var<storage, read> prefix: array<f32>;          // [B, T0, Cin]
@group(0) @binding(5) var<uniform> dims: GenDims;
@group(0) @binding(6) var<storage, read> cond: array<f32>;            // [L, B, 2, Dc]

override WG: u32 = 64;
override MAXC: u32 = 256;   // the largest channel count (C_in, R, Dc, S, O)

var<workgroup> wx: array<f32, MAXC>;
var<workgroup> wh: array<f32, MAXC>;
var<workgroup> wh2: array<f32, MAXC>;
var<workgroup> wz: array<f32, MAXC>;
var<workgroup> wskip: array<f32, MAXC>;
var<workgroup> wa: array<f32, MAXC>;
var<workgroup> wy: array<f32, MAXC>;
var<workgroup> wclass: u32;

fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }

// #include rng

fn mulaw_decode(q: u32) -> f32 {
  let mu = f32(dims.O - 1u);
  let f = 2.0 * f32(q) / mu - 1.0;
  return sign(f) * (pow(1.0 + mu, abs(f)) - 1.0) / mu;
}

fn mi(k: u32, field: u32) -> u32 { return u32(layers[k * 11u + field]); }

@compute @workgroup_size(WG)
fn generate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.y;
  let Cin = dims.Cin; let R = dims.R; let Dc = dims.Dc; let S = dims.S; let O = dims.O; let K = dims.K;
  for (var c = lid; c < Cin; c += WG) { wx[c] = state[dims.oX + b * Cin + c]; }
  workgroupBarrier();
  for (var step = 0u; step < dims.steps; step++) {
    let t = dims.t0 + step;
    if (t < dims.T0) {
      for (var c = lid; c < Cin; c += WG) { wx[c] = prefix[dims.offPrefix + (b * dims.T0 + t) * Cin + c]; }
    }
    workgroupBarrier();
    // h = W_in x + b_in;  skip = 0
    for (var r = lid; r < R; r += WG) {
      var a = w[dims.oBin + r];
      for (var c = 0u; c < Cin; c++) { a = fma(w[dims.oWin + r * Cin + c], wx[c], a); }
      wh[r] = a;
    }
    for (var s = lid; s < S; s += WG) { wskip[s] = 0.0; }
    workgroupBarrier();
    for (var k = 0u; k < dims.L; k++) {
      let d = mi(k, 8u);
      let qlen = (K - 1u) * d;
      let q0 = mi(k, 9u) + b * qlen * R;
      let oWf = mi(k, 0u); let oWg = mi(k, 2u);
      for (var o = lid; o < Dc; o += WG) {
        var f = w[mi(k, 1u) + o];
        var g = w[mi(k, 3u) + o];
        if (dims.hasCond != 0u) {
          let c = mi(k, 10u) + b * 2u * Dc + o;
          f += cond[c];
          g += cond[c + Dc];
        }
        for (var m = 0u; m < K; m++) {
          let sh = (K - 1u - m) * d;
          if (sh > t) { continue; }            // before the start: zero padding
          let wo = o * R * K + m;
          if (sh == 0u) {
            for (var i = 0u; i < R; i++) {
              f = fma(w[oWf + wo + i * K], wh[i], f);
              g = fma(w[oWg + wo + i * K], wh[i], g);
            }
          } else {
            let q = q0 + ((t - sh) % qlen) * R;
            for (var i = 0u; i < R; i++) {
              let hv = state[q + i];
              f = fma(w[oWf + wo + i * K], hv, f);
              g = fma(w[oWg + wo + i * K], hv, g);
            }
          }
        }
        wz[o] = tanh(f) * sigmoid(g);
      }
      workgroupBarrier();
      let oWr = mi(k, 4u); let oBr = mi(k, 5u); let oWs = mi(k, 6u); let oBs = mi(k, 7u);
      for (var r = lid; r < R; r += WG) {
        if (qlen > 0u) { state[q0 + (t % qlen) * R + r] = wh[r]; }
        var a = wh[r] + w[oBr + r];
        for (var o = 0u; o < Dc; o++) { a = fma(w[oWr + r * Dc + o], wz[o], a); }
        wh2[r] = a;
      }
      for (var s = lid; s < S; s += WG) {
        var a = wskip[s] + w[oBs + s];
        for (var o = 0u; o < Dc; o++) { a = fma(w[oWs + s * Dc + o], wz[o], a); }
        wskip[s] = a;
      }
      // The queue (storage) was written by some invocations and is read by others later.
      storageBarrier();
      workgroupBarrier();
      for (var r = lid; r < R; r += WG) { wh[r] = wh2[r]; }
      workgroupBarrier();
    }
    // head
    for (var s = lid; s < S; s += WG) { wa[s] = max(wskip[s], 0.0); }
    workgroupBarrier();
    for (var s = lid; s < S; s += WG) {
      var a = w[dims.oB1 + s];
      for (var i = 0u; i < S; i++) { a = fma(w[dims.oW1 + s * S + i], wa[i], a); }
      wh2[s] = max(a, 0.0);
    }
    workgroupBarrier();
    for (var o = lid; o < O; o += WG) {
      var a = w[dims.oB2 + o];
      for (var i = 0u; i < S; i++) { a = fma(w[dims.oW2 + o * S + i], wh2[i], a); }
      wy[o] = a;
    }
    workgroupBarrier();
    if (t + 1u >= dims.T0) {
      let j = t + 1u - dims.T0;
      if (lid == 0u) {
        var c = 0u;
        if (dims.mode == 0u) {
          for (var o = 1u; o < O; o++) { if (wy[o] > wy[c]) { c = o; } }
        } else if (dims.mode == 1u) {
          var mx = wy[0];
          for (var o = 1u; o < O; o++) { mx = max(mx, wy[o]); }
          var total = 0.0;
          for (var o = 0u; o < O; o++) { total += exp((wy[o] - mx) / dims.temperature); }
          let u = unit24(pcg(j ^ pcg(b ^ pcg(dims.seed))));
          let goal = u * total;
          var cum = 0.0;
          c = O - 1u;
          for (var o = 0u; o < O; o++) {
            cum += exp((wy[o] - mx) / dims.temperature);
            if (cum > goal) { c = o; break; }
          }
        }
        wclass = c;
        if (j < dims.nOut) {
          samples[dims.offSamples + b * dims.nOut + j] = select(f32(c), wy[0], dims.mode == 2u);
        }
      }
      if (dims.keepOutputs != 0u && j < dims.nOut) {
        let base = dims.offSamples + dims.B * dims.nOut + (b * dims.nOut + j) * O;
        for (var o = lid; o < O; o += WG) { samples[base + o] = wy[o]; }
      }
      workgroupBarrier();
      let cls = wclass;
      for (var c = lid; c < Cin; c += WG) {
        if (dims.mode == 2u) { wx[c] = wy[c]; }
        else if (dims.mulaw != 0u) { wx[c] = mulaw_decode(cls); }
        else { wx[c] = select(0.0, 1.0, c == cls); }
      }
    }
    workgroupBarrier();
  }
  for (var c = lid; c < Cin; c += WG) { state[dims.oX + b * Cin + c] = wx[c]; }
}
