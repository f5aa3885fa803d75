// Picks the next token of every row of logits [B, V] on the GPU, so that
// autoregressive decoding needs no read-back per step:
//
//   mode 0: argmax (the first of equal maxima, as the CPU's argmax)
//   mode 1: a draw from softmax(logits / temperature) with
//           u = unit24(pcg(step ^ pcg(row ^ pcg(seed)))): WaveNet generation's stream
//
// The id (an f32 holding an integer) goes to tokens[b] (the next step's input)
// and to out[b * ldOut] (the sequence so far: bound at the step's column).
//
// One workgroup per row, WG (a power of two) invocations, each owning a
// contiguous chunk of the vocabulary: a tree reduction gives the maximum (and
// its first index); the chunks' sums of exp((x - max) / temperature) are
// scanned by one invocation to find the chunk holding u * total, and that
// chunk's owner scans its own elements. So a row costs O(V / WG + WG) steps
// per invocation: characters, digits or a word vocabulary alike.

struct PickDims {
  B: u32, V: u32,
  mode: u32,
  temperature: f32,
  seed: u32,
  step: u32,
  ldOut: u32,
  offLogits: u32, offTokens: u32, offOut: u32,
}

@group(0) @binding(0) var<uniform> dims: PickDims;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> tokens: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;

var<workgroup> red: array<f32, WG>;
var<workgroup> redIdx: array<u32, WG>;
var<workgroup> chosenChunk: u32;
var<workgroup> before: f32;

// #include rng

fn emit(b: u32, c: u32) {
  tokens[dims.offTokens + b] = f32(c);
  out[dims.offOut + b * dims.ldOut] = f32(c);
}

@compute @workgroup_size(WG)
fn pick_tokens(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.y * nwg.x + wid.x;   // the same for the whole workgroup: the barriers below stay uniform
  if (b >= dims.B) { return; }
  let base = dims.offLogits + b * dims.V;
  let chunk = (dims.V + WG - 1u) / WG;
  let lo = min(lid * chunk, dims.V);
  let hi = min(lo + chunk, dims.V);

  // The maximum and its first index.
  var m = 0.0;   // no value yet while mi == V
  var mi = dims.V;
  for (var o = lo; o < hi; o++) {
    let x = logits[base + o];
    if (x > m || mi == dims.V) { m = x; mi = o; }
  }
  red[lid] = m;
  redIdx[lid] = mi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let om = red[lid + s];
      let oi = redIdx[lid + s];
      if (oi != dims.V && (redIdx[lid] == dims.V || om > red[lid] || (om == red[lid] && oi < redIdx[lid]))) {
        red[lid] = om;
        redIdx[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  let mx = red[0];
  let best = redIdx[0];
  workgroupBarrier();
  if (dims.mode == 0u) {
    if (lid == 0u) { emit(b, best); }
    return;
  }

  // Each chunk's share of the softmax's denominator.
  var sum = 0.0;
  for (var o = lo; o < hi; o++) { sum += exp((logits[base + o] - mx) / dims.temperature); }
  red[lid] = sum;
  workgroupBarrier();
  let goal = unit24(pcg(dims.step ^ pcg(b ^ pcg(dims.seed))));
  if (lid == 0u) {
    var total = 0.0;
    for (var i = 0u; i < WG; i++) { total += red[i]; }
    let g = goal * total;
    var cum = 0.0;
    var k = (dims.V - 1u) / chunk;   // the last non-empty chunk, if rounding leaves the goal past every sum
    for (var i = 0u; i < WG; i++) {
      if (cum + red[i] > g) { k = i; break; }
      cum += red[i];
    }
    chosenChunk = k;
    before = cum - g;   // the chosen chunk starts this far below the goal (<= 0)
  }
  workgroupBarrier();
  if (lid == chosenChunk) {
    var c = hi - 1u;   // rounding: the chunk's last element
    var acc = before;
    for (var o = lo; o < hi; o++) {
      acc += exp((logits[base + o] - mx) / dims.temperature);
      if (acc > 0.0) { c = o; break; }
    }
    emit(b, c);
  }
}
