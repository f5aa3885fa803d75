// Embedding lookup (torch.nn.Embedding): out[n, :] = W[idx[n], :], indices stored as floats.
//   embed_forward:   one invocation per output element                       grid ceil(N*D / WG) (folded)
//   embed_backward:  dW[v, d] += sum over positions n with idx[n] == v of dy[n, d]
//                    one invocation per weight element, looping over the positions: deterministic
//                    (no atomics), the same order every time                  grid ceil(V*D / WG) (folded)
// Indices outside 0..V-1 were refused on the CPU side when uploaded; here they read row 0 / add nothing.

struct EmbDims { N: u32, V: u32, D: u32, offOut: u32, offDw: u32, offW: u32, offIdx: u32, offDy: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> idx: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<uniform> dims: EmbDims;

override WG: u32 = 64;

fn flat(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 { return (wid.y * nwg.x + wid.x) * WG + lid; }

@compute @workgroup_size(WG)
fn embed_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let e = flat(wid, nwg, lid);
  if (e >= dims.N * dims.D) { return; }
  let n = e / dims.D; let d = e % dims.D;
  let v = min(u32(max(idx[dims.offIdx + n], 0.0)), dims.V - 1u);
  out[dims.offOut + e] = w[dims.offW + v * dims.D + d];
}

@compute @workgroup_size(WG)
fn embed_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let e = flat(wid, nwg, lid);
  if (e >= dims.V * dims.D) { return; }
  let v = f32(e / dims.D); let d = e % dims.D;
  var s = 0.0;
  for (var n = 0u; n < dims.N; n++) {
    if (idx[dims.offIdx + n] == v) { s += dy[dims.offDy + n * dims.D + d]; }
  }
  dw[dims.offDw + e] += s;
}
