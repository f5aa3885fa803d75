// Picks the next token of every row of logits [B, V] on the GPU, so that
// autoregressive decoding needs no read-back per step:
//
//   mode 0: argmax (the first of equal maxima, as the CPU's argmax)
//   mode 1: a draw from softmax(logits / temperature) with
//           u = unit24(pcg(step ^ pcg(row ^ pcg(seed)))): WaveNet generation's stream
//
// The id (an f32 holding an integer) goes to tokens[b] (the next step's input)
// and to out[b * ldOut] (the sequence so far: bound at the step's column).
// One invocation per row: V is a vocabulary of characters or digits here
// (a large vocabulary would want a workgroup per row).

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

// #include rng

@compute @workgroup_size(WG)
fn pick_tokens(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x;
  if (b >= dims.B) { return; }
  let base = dims.offLogits + b * dims.V;
  var c = 0u;
  if (dims.mode == 0u) {
    for (var o = 1u; o < dims.V; o++) { if (logits[base + o] > logits[base + c]) { c = o; } }
  } else {
    var mx = logits[base];
    for (var o = 1u; o < dims.V; o++) { mx = max(mx, logits[base + o]); }
    var total = 0.0;
    for (var o = 0u; o < dims.V; o++) { total += exp((logits[base + o] - mx) / dims.temperature); }
    let goal = unit24(pcg(dims.step ^ pcg(b ^ pcg(dims.seed)))) * total;
    var cum = 0.0;
    c = dims.V - 1u;
    for (var o = 0u; o < dims.V; o++) {
      cum += exp((logits[base + o] - mx) / dims.temperature);
      if (cum > goal) { c = o; break; }
    }
  }
  tokens[dims.offTokens + b] = f32(c);
  out[dims.offOut + b * dims.ldOut] = f32(c);
}
