// Dropout with a counter-based generator: the mask is a pure function of
// (seed, counter, stream, index), so the backward pass regenerates it instead
// of storing it, and the same seed gives the same masks on every device.
//
//   keep(i) = u(i) >= p,  u(i) = pcg(i ^ pcg(stream ^ pcg(seed ^ pcg(counter)))) / 2^32 (top 24 bits)
//   dropout:  y[i] = keep(i) ? x[i] * scale : 0        (scale = 1 / (1 - p))
//   bump:     counter += 1                              (once per training forward; 1 invocation)
//
// The counter lives on the GPU (ctr[offCtr], an f32 holding an integer below 2^24),
// so a training loop changes masks every step without a CPU write or a new uniform.

struct DropDims {
  n: u32,
  offY: u32, offX: u32, offCtr: u32, offCounter: u32,
  seed: u32,
  stream: u32,
  p: f32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read_write> counter: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> ctr: array<f32>;
@group(0) @binding(4) var<uniform> dims: DropDims;

override WG: u32 = 64;

// #include rng

fn uniform01(i: u32, c: u32) -> f32 {
  let h = pcg(i ^ pcg(dims.stream ^ pcg(dims.seed ^ pcg(c))));
  return unit24(h);
}

@compute @workgroup_size(WG)
fn dropout(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= dims.n) { return; }
  let c = u32(ctr[dims.offCtr]);
  let keep = uniform01(i, c) >= dims.p;
  y[dims.offY + i] = select(0.0, x[dims.offX + i] * dims.scale, keep);
}

@compute @workgroup_size(1)
fn bump() {
  counter[dims.offCounter] = counter[dims.offCounter] + 1.0;
}
