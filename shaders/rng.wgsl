// The counter-based generator shared by dropout, WaveNet's sampling and token
// picking: a PCG output permutation of a 32-bit input (hash chains of it give
// independent streams), and its top 24 bits as a uniform number in [0, 1).

fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

fn unit24(v: u32) -> f32 {
  return f32(v >> 8u) / 16777216.0;
}
